//! End to end over HTTP: the real SDK client against the embedded simulator, on paused tokio
//! time, through the tower path. (The SDK interceptor path has its own module.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig, RefreshStatus};
use instance_refresh_retry::{
    InstanceRefreshRetryLayer, RetryOutcome, RetryPolicy, RetryStats, StartInstanceRefreshService,
    StopReason,
};
use tower::{ServiceBuilder, ServiceExt};

use crate::support::{TokioTime, e2e_policy as policy, send_start};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

async fn sim_with_running_refresh(remaining: Duration) -> (AutoScalingSim, String) {
    let sim = AutoScalingSim::builder().seed(11).start().await.unwrap();
    sim.create_group("web", GroupConfig::default().refresh_duration(secs(600)));
    let running = sim.seed_running_refresh("web", remaining).unwrap();
    (sim, running)
}

fn input(group: &str) -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(group)
        .build()
        .unwrap()
}

type Stats = Arc<Mutex<Vec<RetryStats>>>;

fn layer(policy: RetryPolicy) -> (InstanceRefreshRetryLayer, Stats) {
    let stats: Stats = Arc::default();
    let sink = stats.clone();
    let layer =
        InstanceRefreshRetryLayer::new(policy).on_finish(move |s| sink.lock().unwrap().push(*s));
    (layer, stats)
}

fn starts(sim: &AutoScalingSim) -> Vec<(u64, Option<String>)> {
    sim.calls()
        .iter()
        .filter(|c| c.is("StartInstanceRefresh"))
        .map(|c| (c.at.as_secs(), c.error_code().map(str::to_owned)))
        .collect()
}

/// Calls at 0, 10, 30, 70 s are blocked; the one at 130 s (after 60 s, the cap) succeeds.
fn assert_blocked_until_130_s(sim: &AutoScalingSim) {
    let ipr = Some("InstanceRefreshInProgress".to_owned());
    let expected = [0, 10, 30, 70].map(|t| (t, ipr.clone()));
    let mut expected = expected.to_vec();
    expected.push((130, None));
    assert_eq!(starts(sim), expected);
}

/// Exactly one refresh was started besides `running`, and it is the one returned.
fn assert_one_new_refresh(sim: &AutoScalingSim, running: &str, returned: Option<&str>) {
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(
        refreshes.len(),
        2,
        "exactly one refresh was started: {refreshes:#?}"
    );
    assert_eq!(refreshes[1].id, running);
    assert_eq!(Some(refreshes[0].id.as_str()), returned);
}

/// StartInstanceRefresh calls by outcome: (throttled, blocked, succeeded).
fn start_outcomes(sim: &AutoScalingSim) -> (usize, usize, usize) {
    let codes: Vec<Option<String>> = starts(sim).into_iter().map(|(_, c)| c).collect();
    let count = |code: Option<&str>| codes.iter().filter(|c| c.as_deref() == code).count();
    (
        count(Some("Throttling")),
        count(Some("InstanceRefreshInProgress")),
        count(None),
    )
}

#[tokio::test(start_paused = true)]
async fn tower_blocked_then_succeeds() {
    let (sim, running) = sim_with_running_refresh(secs(100)).await;
    let (layer, stats) = layer(policy());
    let svc = ServiceBuilder::new()
        .layer(layer)
        .timeout(secs(30))
        .service(StartInstanceRefreshService::new(sim.client()));

    let out = svc.oneshot(input("web")).await.unwrap();

    // Calls at 0, 10, 30, 70 s are blocked; the one at 130 s (after 60 s, the cap) succeeds.
    assert_blocked_until_130_s(&sim);
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(Some(refreshes[0].id.as_str()), out.instance_refresh_id());
    assert_eq!(refreshes[1].id, running);
    assert_eq!(refreshes[1].status, RefreshStatus::Successful);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            5,
            secs(130),
            secs(130),
            RetryOutcome::Succeeded
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn tower_gives_up_at_max_elapsed() {
    let (sim, _) = sim_with_running_refresh(secs(5 * 3600)).await;
    let (layer, stats) = layer(policy());
    let svc = layer_service(layer, &sim);

    let err = svc.oneshot(input("web")).await.unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(err.code(), Some("InstanceRefreshInProgress"));
    let starts = starts(&sim);
    // 10+20+40 = 70 s, then 58 waits of 60 s reach 3550 s, and the last wait is cut to 50 s so
    // the final call is at exactly 1 h.
    assert_eq!(starts.first().unwrap().0, 0);
    assert_eq!(starts.last().unwrap().0, 3600);
    assert_eq!(starts.len(), 1 + 3 + 58 + 1);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            63,
            secs(3600),
            secs(3600),
            RetryOutcome::GaveUp(StopReason::MaxElapsed)
        )]
    );
    assert_eq!(
        sim.refreshes("web").unwrap().len(),
        1,
        "nothing new was started"
    );
}

fn layer_service(
    layer: InstanceRefreshRetryLayer,
    sim: &AutoScalingSim,
) -> instance_refresh_retry::InstanceRefreshRetry<StartInstanceRefreshService> {
    ServiceBuilder::new()
        .layer(layer)
        .service(StartInstanceRefreshService::new(sim.client()))
}

#[tokio::test(start_paused = true)]
async fn tower_validation_error_passes_through_after_one_call() {
    let (sim, _) = sim_with_running_refresh(secs(100)).await;
    let (layer, stats) = layer(policy());
    let svc = layer_service(layer, &sim);

    let err = svc.oneshot(input("nope")).await.unwrap_err();

    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(
        err.message(),
        Some("AutoScalingGroup name not found - AutoScalingGroup 'nope' not found")
    );
    assert_eq!(starts(&sim), [(0, Some("ValidationError".to_owned()))]);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            1,
            Duration::ZERO,
            Duration::ZERO,
            RetryOutcome::NotRetryable
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn tower_throttling_on_a_blocked_start_ends_in_one_refresh() {
    let (sim, running) = sim_with_running_refresh(secs(100)).await;
    // Throttle the first two calls. With the SDK's own retry on (3 attempts), the SDK retries
    // them; our layer only waits out InstanceRefreshInProgress.
    sim.inject(
        FaultRule::new(Fault::Throttling)
            .on("StartInstanceRefresh")
            .times(2),
    );
    let client = aws_sdk_autoscaling::Client::from_conf(sim.sdk_config_builder().build());
    let (layer, _stats) = layer(policy());
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(StartInstanceRefreshService::new(client));

    let out = svc.oneshot(input("web")).await.unwrap();

    assert_one_new_refresh(&sim, &running, out.instance_refresh_id());
    let (throttled, blocked, ok) = start_outcomes(&sim);
    assert_eq!((throttled, ok), (2, 1));
    assert!(blocked >= 1);
}

// ---- The SDK interceptor path ----

use instance_refresh_retry::{AutoScalingConfigExt, InstanceRefreshRetryConfig, retry_stats};

/// A client with the interceptor installed; the SDK's own retry left at its defaults.
fn sdk_client(
    sim: &AutoScalingSim,
    retry: &InstanceRefreshRetryConfig,
) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::from_conf(
        sim.sdk_config_builder()
            .time_source(TokioTime::new())
            .instance_refresh_retry(retry)
            .build(),
    )
}

fn sdk_retry(policy: RetryPolicy) -> (InstanceRefreshRetryConfig, Stats) {
    let stats: Stats = Arc::default();
    let sink = stats.clone();
    let retry =
        InstanceRefreshRetryConfig::new(policy).on_finish(move |s| sink.lock().unwrap().push(*s));
    (retry, stats)
}

#[tokio::test(start_paused = true)]
async fn sdk_blocked_then_succeeds() {
    let (sim, running) = sim_with_running_refresh(secs(100)).await;
    let (retry, stats) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    let out = send_start(&client, "web").await.unwrap();

    assert_blocked_until_130_s(&sim);
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(Some(refreshes[0].id.as_str()), out.instance_refresh_id());
    assert_eq!(refreshes[1].id, running);
    let stats = stats.lock().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].attempts, stats[0].waited), (5, secs(130)));
    assert_eq!(stats[0].outcome, RetryOutcome::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn sdk_gives_up_at_max_elapsed() {
    let (sim, _) = sim_with_running_refresh(secs(5 * 3600)).await;
    let (retry, stats) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    let err = send_start(&client, "web").await.unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    let starts = starts(&sim);
    assert_eq!(starts.len(), 1 + 3 + 58 + 1);
    assert_eq!(starts.last().unwrap().0, 3600);
    let expected = RetryOutcome::GaveUp(StopReason::MaxElapsed);
    let attached = retry_stats(&err).expect("stats travel beside the error");
    assert_eq!(
        (attached.attempts, attached.waited, attached.outcome),
        (63, secs(3600), expected)
    );
    assert_eq!(stats.lock().unwrap().len(), 1);
    assert_eq!(
        sim.refreshes("web").unwrap().len(),
        1,
        "nothing new was started"
    );
}

#[tokio::test(start_paused = true)]
async fn sdk_validation_error_passes_through_after_one_call() {
    let (sim, _) = sim_with_running_refresh(secs(100)).await;
    let (retry, _) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    let err = send_start(&client, "nope").await.unwrap_err();

    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(starts(&sim), [(0, Some("ValidationError".to_owned()))]);
}

#[tokio::test(start_paused = true)]
async fn sdk_throttling_on_a_blocked_start_ends_in_one_refresh() {
    let (sim, running) = sim_with_running_refresh(secs(100)).await;
    sim.inject(
        FaultRule::new(Fault::Throttling)
            .on("StartInstanceRefresh")
            .times(2),
    );
    let (retry, _) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    let out = send_start(&client, "web").await.unwrap();

    assert_one_new_refresh(&sim, &running, out.instance_refresh_id());
    let (throttled, blocked, ok) = start_outcomes(&sim);
    assert_eq!((throttled, ok), (2, 1));
    assert!(blocked >= 1);
}

// ---- No duplicate refresh after an attempt with an unknown outcome ----

/// The first StartInstanceRefresh is applied but its response is lost; the SDK's own retry then
/// meets the refresh that attempt started.
async fn sim_losing_the_first_response() -> AutoScalingSim {
    let sim = AutoScalingSim::builder().seed(5).start().await.unwrap();
    sim.create_group("web", GroupConfig::default().refresh_duration(secs(600)));
    sim.inject(
        FaultRule::new(Fault::ResponseLost)
            .on("StartInstanceRefresh")
            .times(1),
    );
    sim
}

fn assert_one_refresh_and_two_starts(sim: &AutoScalingSim) {
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(
        refreshes.len(),
        1,
        "a second refresh was started: {refreshes:#?}"
    );
    let ipr = Some("InstanceRefreshInProgress".to_owned());
    let calls = sim.calls();
    let applied: Vec<bool> = calls.iter().map(|c| c.applied).collect();
    assert_eq!(applied, [true, false], "{calls:#?}");
    let codes: Vec<_> = starts(sim).into_iter().map(|(_, c)| c).collect();
    assert_eq!(codes, [None, ipr]);
}

#[tokio::test(start_paused = true)]
async fn sdk_does_not_wait_out_its_own_refresh_after_a_lost_response() {
    let sim = sim_losing_the_first_response().await;
    let (retry, seen) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    let err = send_start(&client, "web").await.unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_one_refresh_and_two_starts(&sim);
    let stats = retry_stats(&err).unwrap();
    assert_eq!(
        stats.outcome,
        RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)
    );
    // One attempt: the SDK retried the lost response inside it (as on the tower path).
    assert_eq!((stats.attempts, stats.waited), (1, Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn tower_does_not_wait_out_its_own_refresh_after_a_lost_response() {
    let sim = sim_losing_the_first_response().await;
    // The SDK's own retry is on: it retries the lost response inside one inner call.
    let client = aws_sdk_autoscaling::Client::from_conf(sim.sdk_config_builder().build());
    let (layer, stats) = layer(policy());
    let svc = ServiceBuilder::new()
        .layer(layer)
        .timeout(secs(30))
        .service(StartInstanceRefreshService::new(client));

    let err = svc.oneshot(input("web")).await.unwrap_err();

    let sdk_err = err
        .downcast_ref::<instance_refresh_retry::StartInstanceRefreshSdkError>()
        .expect("the SDK error, unchanged inside tower's BoxError");
    assert!(
        sdk_err
            .as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_one_refresh_and_two_starts(&sim);
    let stats = stats.lock().unwrap();
    assert_eq!(stats.len(), 1);
    // One inner call (the SDK retried inside it, after its own jittered backoff), no wait.
    assert_eq!((stats[0].attempts, stats[0].waited), (1, Duration::ZERO));
    assert_eq!(
        stats[0].outcome,
        RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_first_attempt_is_not_ambiguous() {
    // Throttling means the request was not applied: the refresh in progress is someone else's and
    // is waited out as usual.
    let (sim, _) = sim_with_running_refresh(secs(15)).await;
    sim.inject(
        FaultRule::new(Fault::Throttling)
            .on("StartInstanceRefresh")
            .times(1),
    );
    let (retry, stats) = sdk_retry(policy());
    let client = sdk_client(&sim, &retry);

    send_start(&client, "web").await.unwrap();

    assert_eq!(sim.refreshes("web").unwrap().len(), 2);
    assert_eq!(stats.lock().unwrap()[0].outcome, RetryOutcome::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn sdk_attempt_timeout_is_not_reported_as_the_operation_timeout() {
    let sim = AutoScalingSim::builder().seed(1).start().await.unwrap();
    sim.create_group("web", GroupConfig::default());
    sim.inject(
        FaultRule::new(Fault::Slow(secs(30)))
            .on("StartInstanceRefresh")
            .always(),
    );
    let (retry, seen) = sdk_retry(policy());
    let client = aws_sdk_autoscaling::Client::from_conf(
        sim.sdk_config_builder()
            .time_source(TokioTime::new())
            .retry_config(aws_sdk_autoscaling::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(secs(2))
                    .build(),
            )
            .instance_refresh_retry(&retry)
            .build(),
    );

    let err = send_start(&client, "web").await.unwrap_err();

    assert!(
        matches!(
            err,
            aws_smithy_runtime_api::client::result::SdkError::TimeoutError(_)
        ),
        "{err:?}"
    );
    // Not the operation timeout's message, which the interceptor reads as TimedOut.
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        source
            .as_deref()
            .is_some_and(|s| s.starts_with("operation attempt timeout (")),
        "{source:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].attempts, seen[0].outcome),
        (1, RetryOutcome::NotRetryable)
    );
}

#[tokio::test(start_paused = true)]
async fn a_500_first_attempt_is_ambiguous_but_resource_contention_is_not() {
    for (fault, refreshes_expected, outcome) in [
        (
            Fault::InternalFailure,
            1,
            RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh),
        ),
        (Fault::ResourceContention, 2, RetryOutcome::Succeeded),
    ] {
        // A running refresh that is someone else's, ending at 15 s.
        let (sim, _) = sim_with_running_refresh(secs(15)).await;
        sim.inject(
            FaultRule::new(fault.clone())
                .on("StartInstanceRefresh")
                .times(1),
        );
        let (retry, stats) = sdk_retry(policy());
        let client = sdk_client(&sim, &retry);

        let _ = client
            .start_instance_refresh()
            .auto_scaling_group_name("web")
            .send()
            .await;

        // After a 500 the refresh in progress could be ours: no waiting. ResourceContention is a
        // definite refusal: the other refresh is waited out and ours starts.
        assert_eq!(
            sim.refreshes("web").unwrap().len(),
            refreshes_expected,
            "{fault:?}"
        );
        assert_eq!(stats.lock().unwrap()[0].outcome, outcome, "{fault:?}");
    }
}
