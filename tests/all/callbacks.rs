//! The callbacks and the stats that travel with a success, on both paths.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshOutput,
};
use aws_smithy_async::test_util::{InstantSleep, ManualTimeSource, instant_time_and_sleep};
use aws_smithy_async::time::TimeSource;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use instance_refresh_retry::{
    Classifier, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, Jitter, ProvideErrorCode,
    RetryEvent, RetryOutcome, RetryPolicy, RetryStats, StartInstanceRefreshExt, StopReason,
    Verdict, retry_stats,
};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt, service_fn};

use crate::support::{StartError, in_progress, validation_error};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn no_jitter() -> instance_refresh_retry::RetryPolicyBuilder {
    RetryPolicy::builder().jitter(Jitter::None)
}

/// A [`RetryEvent`] with owned strings, so it outlives the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    attempt: u32,
    delay: Duration,
    error_code: Option<String>,
    request_id: Option<String>,
}

fn event(attempt: u32, delay: u64, request_id: &str) -> Event {
    Event {
        attempt,
        delay: secs(delay),
        error_code: Some("InstanceRefreshInProgress".to_string()),
        request_id: Some(request_id.to_string()),
    }
}

type Events = Arc<Mutex<Vec<Event>>>;

/// Records every `on_retry` event.
fn events_sink() -> (Events, impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) {
    let sink: Events = Arc::default();
    let s = sink.clone();
    (sink, move |e: &RetryEvent<'_>| {
        s.lock().unwrap().push(Event {
            attempt: e.attempt,
            delay: e.delay,
            error_code: e.error_code.map(str::to_string),
            request_id: e.request_id.map(str::to_string),
        })
    })
}

type Stats = Arc<Mutex<Vec<RetryStats>>>;

/// Records every `on_finish` report.
fn stats_sink() -> (Stats, impl Fn(&RetryStats) + Send + Sync + 'static) {
    let sink: Stats = Arc::default();
    let s = sink.clone();
    (sink, move |st: &RetryStats| s.lock().unwrap().push(*st))
}

/// A fake StartInstanceRefresh that answers `in_progress("req-N")` to its first `blocked` calls
/// (N counting from 1), then "refresh-1". Returns the call counter too.
fn blocked_then_ok(
    blocked: u32,
) -> (
    Arc<AtomicU32>,
    impl tower::Service<(), Response = &'static str, Error = StartError, Future: Send> + Clone,
) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let svc = service_fn(move |()| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n <= blocked {
                Err(in_progress(&format!("req-{n}")))
            } else {
                Ok("refresh-1")
            }
        }
    });
    (calls, svc)
}

fn raw(status: u16) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
}

/// An error with the code `ScalingActivityInProgress`, which the default classifier passes through.
fn scaling_activity() -> StartInstanceRefreshError {
    StartInstanceRefreshError::generic(
        ErrorMetadata::builder()
            .code("ScalingActivityInProgress")
            .custom("aws_request_id", "req-scaling")
            .build(),
    )
}

/// The operation error of `in_progress(request_id)`: code and request id in its metadata, for
/// aws-smithy-mocks.
fn blocked(request_id: &'static str) -> impl Fn() -> StartInstanceRefreshError + Send + Sync {
    move || in_progress(request_id).into_service_error()
}

fn started() -> StartInstanceRefreshOutput {
    StartInstanceRefreshOutput::builder()
        .instance_refresh_id("r-1")
        .build()
}

/// A mock client on the SDK's test clock, with nothing of this crate installed.
fn mock_start(rule: &Rule, time: &ManualTimeSource, sleep: &InstantSleep) -> Client {
    mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [rule], |c| c
        // Its body-throughput checks would log sleeps of their own.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .sleep_impl(sleep.clone())
        .time_source(time.clone()))
}

/// Waits on `ScalingActivityInProgress` too, and hands everything else to the default classifier.
fn scaling_too() -> Classifier {
    Classifier::from_fn(|err: &dyn ProvideErrorCode| match err.error_code() {
        Some("ScalingActivityInProgress") => Verdict::RetryAfterWait,
        _ => Classifier::default().classify(err),
    })
}

// 1. Tower: on_retry.

#[tokio::test(start_paused = true)]
async fn tower_on_retry_sees_each_wait_with_its_exact_delay_and_request_id() {
    let (events, on_retry) = events_sink();
    let (stats, on_finish) = stats_sink();
    let (calls, inner) = blocked_then_ok(2);
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .on_retry(on_retry)
        .on_finish(on_finish)
        .layer(inner);
    let start = Instant::now();

    let out = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        *events.lock().unwrap(),
        [event(1, 5, "req-1"), event(2, 10, "req-2")]
    );
    // The delays the events announced are the delays that were waited.
    assert_eq!(start.elapsed(), secs(15));
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            3,
            secs(15),
            secs(15),
            RetryOutcome::Succeeded
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn tower_on_retry_is_not_called_for_a_pass_through_or_for_giving_up() {
    let (events, on_retry) = events_sink();
    let layer = InstanceRefreshRetryLayer::new(no_jitter().max_attempts(2).build().unwrap())
        .on_retry(on_retry);

    // A validation error: no wait at all.
    let err = layer
        .clone()
        .layer(service_fn(|()| async { Err::<(), _>(validation_error()) }))
        .oneshot(())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert!(events.lock().unwrap().is_empty());

    // Always blocked, two attempts: one wait, none after the last attempt.
    let (_, inner) = blocked_then_ok(u32::MAX);
    let err = layer.layer(inner).oneshot(()).await.unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(*events.lock().unwrap(), [event(1, 5, "req-1")]);
}

// 2. SDK path: on_retry.

#[tokio::test]
async fn sdk_on_retry_sees_each_wait_with_its_exact_delay_and_request_id() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .error(blocked("req-2"))
        .error(blocked("req-3"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let (events, on_retry) = events_sink();
    let (stats, on_finish) = stats_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().build().unwrap())
        .on_retry(on_retry)
        .on_finish(on_finish);

    let out = client
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .send_with_retry(&retry)
        .await
        .unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(rule.num_calls(), 4);
    assert_eq!(
        *events.lock().unwrap(),
        [
            event(1, 5, "req-1"),
            event(2, 10, "req-2"),
            event(3, 20, "req-3")
        ]
    );
    assert_eq!(sleep.logs(), [secs(5), secs(10), secs(20)]);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            4,
            secs(35),
            secs(35),
            RetryOutcome::Succeeded
        )]
    );
}

#[tokio::test]
async fn both_paths_report_the_same_events_for_the_same_answers() {
    // Tower path, on the SDK's test clock.
    let (tower_events, on_retry) = events_sink();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let (_, inner) = blocked_then_ok(3);
    InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .sleep_impl(sleep.clone())
        .time_source(time)
        .on_retry(on_retry)
        .layer(inner)
        .oneshot(())
        .await
        .unwrap();
    let tower_sleeps = sleep.logs();

    // SDK path, same answers.
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .error(blocked("req-2"))
        .error(blocked("req-3"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let (sdk_events, on_retry) = events_sink();
    mock_start(&rule, &time, &sleep)
        .start_instance_refresh()
        .send_with_retry(
            InstanceRefreshRetryConfig::new(no_jitter().build().unwrap()).on_retry(on_retry),
        )
        .await
        .unwrap();

    assert_eq!(*tower_events.lock().unwrap(), *sdk_events.lock().unwrap());
    assert_eq!(tower_events.lock().unwrap().len(), 3);
    assert_eq!(tower_sleeps, sleep.logs());
}

// 3. Tower: with_stats.

#[tokio::test(start_paused = true)]
async fn tower_with_stats_hands_back_the_stats_on_finish_sees() {
    let (seen, on_finish) = stats_sink();
    let (_, inner) = blocked_then_ok(2);
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .on_finish(on_finish)
        .with_stats()
        .layer(inner);
    let start = Instant::now();

    let (out, stats) = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(
        stats,
        RetryStats::new(3, secs(15), secs(15), RetryOutcome::Succeeded)
    );
    assert_eq!(stats.retries(), 2);
    assert_eq!(start.elapsed(), secs(15));
    assert_eq!(*seen.lock().unwrap(), [stats]);
}

#[tokio::test(start_paused = true)]
async fn tower_with_stats_still_returns_the_sdk_error_unchanged() {
    let (seen, on_finish) = stats_sink();
    let (calls, inner) = blocked_then_ok(u32::MAX);
    // `with_stats` before the options: they carry over to the typed layer.
    let svc = InstanceRefreshRetryLayer::new(no_jitter().max_attempts(2).build().unwrap())
        .with_stats()
        .on_finish(on_finish)
        .layer(inner);

    let err: StartError = svc.oneshot(()).await.unwrap_err();

    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(err.code(), Some("InstanceRefreshInProgress"));
    assert_eq!(
        aws_sdk_autoscaling::operation::RequestId::request_id(err.as_service_error().unwrap()),
        Some("req-2")
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [RetryStats::new(
            2,
            secs(5),
            secs(5),
            RetryOutcome::GaveUp(StopReason::MaxAttempts)
        )]
    );

    // A pass-through error too.
    let (seen, on_finish) = stats_sink();
    let svc = InstanceRefreshRetryLayer::new(RetryPolicy::default())
        .with_stats()
        .on_finish(on_finish)
        .layer(service_fn(|()| async { Err::<(), _>(validation_error()) }));
    let err = svc.oneshot(()).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(
        *seen.lock().unwrap(),
        [RetryStats::new(
            1,
            Duration::ZERO,
            Duration::ZERO,
            RetryOutcome::NotRetryable
        )]
    );
}

// 4. SDK path: send_with_stats.

#[tokio::test]
async fn sdk_send_with_stats_hands_back_the_output_and_its_stats() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .times(2)
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let policy = no_jitter().build().unwrap();

    let (out, stats) = client
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .send_with_stats(&policy)
        .await
        .unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(sleep.logs(), [secs(5), secs(10)]);
    assert_eq!(
        stats,
        RetryStats::new(3, secs(15), secs(15), RetryOutcome::Succeeded)
    );
}

#[tokio::test]
async fn sdk_send_with_stats_matches_on_finish_which_fires_once() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .times(3)
        .output(started)
        .times(2)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let (seen, on_finish) = stats_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().build().unwrap()).on_finish(on_finish);

    let (out, stats) = client
        .start_instance_refresh()
        .send_with_stats(&retry)
        .await
        .unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(
        stats,
        RetryStats::new(4, secs(35), secs(35), RetryOutcome::Succeeded)
    );
    assert_eq!(*seen.lock().unwrap(), [stats]);
    assert_eq!(sleep.logs(), [secs(5), secs(10), secs(20)]);

    // The same config, passed by value, on a second call: once more, and only once.
    let (out, stats2) = client
        .start_instance_refresh()
        .send_with_stats(retry)
        .await
        .unwrap();
    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(
        stats2,
        RetryStats::new(1, Duration::ZERO, Duration::ZERO, RetryOutcome::Succeeded)
    );
    assert_eq!(*seen.lock().unwrap(), [stats, stats2]);
}

#[tokio::test]
async fn sdk_send_with_stats_takes_a_policy_by_value_or_reference() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .output(started)
        .error(blocked("req-2"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let policy = no_jitter().build().unwrap();
    let expected = RetryStats::new(2, secs(5), secs(5), RetryOutcome::Succeeded);

    let (_, by_ref) = client
        .start_instance_refresh()
        .send_with_stats(&policy)
        .await
        .unwrap();
    let (_, by_value) = client
        .start_instance_refresh()
        .send_with_stats(policy)
        .await
        .unwrap();

    assert_eq!((by_ref, by_value), (expected, expected));
    assert_eq!(sleep.logs(), [secs(5), secs(5)]);
}

#[tokio::test]
async fn sdk_send_with_stats_failure_returns_the_sdk_error_with_stats_beside_it() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .repeatedly()
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let (seen, on_finish) = stats_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().max_attempts(2).build().unwrap())
        .on_finish(on_finish);

    let err = client
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .send_with_stats(&retry)
        .await
        .unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(rule.num_calls(), 2);
    assert_eq!(sleep.logs(), [secs(5)]);
    let stats = retry_stats(&err).unwrap();
    assert_eq!(stats.attempts, 2);
    assert_eq!(stats.outcome, RetryOutcome::GaveUp(StopReason::MaxAttempts));
    assert_eq!((stats.waited, stats.elapsed), (secs(5), secs(5)));
    assert_eq!(*seen.lock().unwrap(), [stats]);

    // A policy alone gives the same.
    let err = client
        .start_instance_refresh()
        .send_with_stats(retry.policy())
        .await
        .unwrap_err();
    assert_eq!(retry_stats(&err), Some(stats));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

// 5. Tower: the SDK's test clock as sleep and time source.

#[tokio::test]
async fn tower_on_the_sdk_test_clock_waits_and_measures_exactly() {
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let (seen, on_finish) = stats_sink();
    let (calls, inner) = blocked_then_ok(2);
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .sleep_impl(sleep.clone())
        .time_source(time.clone())
        .on_finish(on_finish)
        .with_stats()
        .layer(inner);

    let (out, stats) = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(sleep.logs(), [secs(5), secs(10)]);
    assert_eq!(time.now(), UNIX_EPOCH + secs(15));
    assert_eq!(
        stats,
        RetryStats::new(3, secs(15), secs(15), RetryOutcome::Succeeded)
    );
    assert_eq!(*seen.lock().unwrap(), [stats]);
}

#[tokio::test]
async fn tower_max_elapsed_is_measured_on_the_given_time_source() {
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let (seen, on_finish) = stats_sink();
    let (events, on_retry) = events_sink();
    let (calls, inner) = blocked_then_ok(u32::MAX);
    let svc = InstanceRefreshRetryLayer::new(no_jitter().max_elapsed(secs(12)).build().unwrap())
        .sleep_impl(sleep.clone())
        .time_source(time.clone())
        .on_retry(on_retry)
        .on_finish(on_finish)
        .layer(inner);

    let err = svc.oneshot(()).await.unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    // 5 s, then 10 s cut to the 7 s left of the budget; the third attempt gives up.
    assert_eq!(sleep.logs(), [secs(5), secs(7)]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        *events.lock().unwrap(),
        [event(1, 5, "req-1"), event(2, 7, "req-2")]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [RetryStats::new(
            3,
            secs(12),
            secs(12),
            RetryOutcome::GaveUp(StopReason::MaxElapsed)
        )]
    );
}

// 6. Panics.

#[tokio::test(start_paused = true)]
async fn an_inner_future_that_panics_is_not_reported_as_cancelled() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let (events, on_retry) = events_sink();
    let layer = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .on_retry(on_retry)
        .on_finish(move |_| {
            f.fetch_add(1, Ordering::SeqCst);
        });
    // Blocked once, then the second attempt's future panics.
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let panicking = layer.clone().layer(service_fn(move |()| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if n == 1 {
                Err::<(), _>(in_progress("req-1"))
            } else {
                panic!("inner attempt panicked")
            }
        }
    }));

    let joined = tokio::spawn(panicking.oneshot(())).await;

    let err = joined.unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert_eq!(
        err.into_panic().downcast_ref::<&str>(),
        Some(&"inner attempt panicked")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(*events.lock().unwrap(), [event(1, 5, "req-1")]);
    assert_eq!(finished.load(Ordering::SeqCst), 0, "reported during unwind");

    // The same layer reports an ordinary call: the counter above could have moved.
    let (_, inner) = blocked_then_ok(0);
    layer.layer(inner).oneshot(()).await.unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_on_finish_that_panics_propagates_once() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let (_, inner) = blocked_then_ok(1);
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .on_finish(move |_| {
            f.fetch_add(1, Ordering::SeqCst);
            panic!("on_finish panicked");
        })
        .layer(inner);

    let joined = tokio::spawn(svc.oneshot(())).await;

    let err = joined.unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert_eq!(
        err.into_panic().downcast_ref::<&str>(),
        Some(&"on_finish panicked")
    );
    // Not again from Drop, and the process is still here.
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_on_finish_that_panics_on_a_cancellation_runs_once() {
    let finished = Arc::new(AtomicUsize::new(0));
    let f = finished.clone();
    let (_, inner) = blocked_then_ok(0);
    let mut svc = InstanceRefreshRetryLayer::new(RetryPolicy::default())
        .on_finish(move |stats| {
            f.fetch_add(1, Ordering::SeqCst);
            assert_eq!(stats.outcome, RetryOutcome::Cancelled);
            panic!("on_finish panicked in drop");
        })
        .layer(inner);
    let future = svc.ready().await.unwrap().call(());

    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(future)));

    let payload = dropped.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"on_finish panicked in drop")
    );
    assert_eq!(finished.load(Ordering::SeqCst), 1);
}

// 7. A from_fn classifier that hands back to the default.

#[tokio::test(start_paused = true)]
async fn tower_from_fn_classifier_waits_on_its_code_and_the_default_one() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    // ScalingActivityInProgress, then InstanceRefreshInProgress, then a validation error.
    let inner = service_fn(move |()| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            match n {
                1 => Err::<(), _>(StartError::service_error(scaling_activity(), raw(400))),
                2 => Err(in_progress("req-2")),
                _ => Err(validation_error()),
            }
        }
    });
    let (events, on_retry) = events_sink();
    let (seen, on_finish) = stats_sink();
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .classifier(scaling_too())
        .on_retry(on_retry)
        .on_finish(on_finish)
        .layer(inner.clone());
    let start = Instant::now();

    let err = svc.oneshot(()).await.unwrap_err();

    // Anything else still passes through, through the default classifier.
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), secs(15));
    assert_eq!(
        *events.lock().unwrap(),
        [
            Event {
                error_code: Some("ScalingActivityInProgress".to_string()),
                ..event(1, 5, "req-scaling")
            },
            event(2, 10, "req-2"),
        ]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [RetryStats::new(
            3,
            secs(15),
            secs(15),
            RetryOutcome::NotRetryable
        )]
    );

    // Control: the default classifier alone passes ScalingActivityInProgress through.
    calls.store(0, Ordering::SeqCst);
    let err = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .layer(inner)
        .oneshot(())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ScalingActivityInProgress"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn sdk_from_fn_classifier_waits_on_its_code_and_the_default_one() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(scaling_activity)
        .error(blocked("req-2"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let (events, on_retry) = events_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().build().unwrap())
        .classifier(scaling_too())
        .on_retry(on_retry);

    let (out, stats) = client
        .start_instance_refresh()
        .send_with_stats(&retry)
        .await
        .unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(sleep.logs(), [secs(5), secs(10)]);
    assert_eq!(
        stats,
        RetryStats::new(3, secs(15), secs(15), RetryOutcome::Succeeded)
    );
    assert_eq!(
        events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.error_code.as_deref())
            .collect::<Vec<_>>(),
        [
            Some("ScalingActivityInProgress"),
            Some("InstanceRefreshInProgress")
        ]
    );
}

// Around the callbacks.

#[tokio::test]
async fn sdk_on_retry_counts_the_sdks_own_retries_in_the_attempt_they_retry() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(|| {
            StartInstanceRefreshError::generic(ErrorMetadata::builder().code("Throttling").build())
        })
        .error(blocked("req-2"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let client = mock_start(&rule, &time, &sleep);
    let (events, on_retry) = events_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().build().unwrap()).on_retry(on_retry);

    let (_, stats) = client
        .start_instance_refresh()
        .send_with_stats(&retry)
        .await
        .unwrap();

    assert_eq!(rule.num_calls(), 3);
    // The SDK's throttling retry (its own jittered backoff) and then our 5 s wait.
    let sleeps = sleep.logs();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert_eq!(sleeps[1], secs(5));
    // The blocked request was still the first attempt.
    assert_eq!(*events.lock().unwrap(), [event(1, 5, "req-2")]);
    assert_eq!(
        stats,
        RetryStats::new(2, secs(5), sleeps.iter().sum(), RetryOutcome::Succeeded)
    );
}

#[tokio::test]
async fn sdk_per_call_config_acts_alone_over_a_client_wide_one() {
    use instance_refresh_retry::AutoScalingConfigExt;
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(blocked("req-1"))
        .output(started)
        .build();
    let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    let (wide, wide_finish) = stats_sink();
    let (wide_events, wide_retry) = events_sink();
    let wide_cfg =
        InstanceRefreshRetryConfig::new(no_jitter().initial_delay(secs(7)).build().unwrap())
            .on_retry(wide_retry)
            .on_finish(wide_finish);
    let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .sleep_impl(sleep.clone())
        .time_source(time.clone())
        .instance_refresh_retry(&wide_cfg));
    let (events, on_retry) = events_sink();
    let (seen, on_finish) = stats_sink();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().build().unwrap())
        .on_retry(on_retry)
        .on_finish(on_finish);

    let (_, stats) = client
        .start_instance_refresh()
        .send_with_stats(&retry)
        .await
        .unwrap();

    // The per-call policy's 5 s, not the client-wide 7 s; only the per-call callbacks ran.
    assert_eq!(sleep.logs(), [secs(5)]);
    assert_eq!(
        stats,
        RetryStats::new(2, secs(5), secs(5), RetryOutcome::Succeeded)
    );
    assert_eq!(*seen.lock().unwrap(), [stats]);
    assert_eq!(*events.lock().unwrap(), [event(1, 5, "req-1")]);
    assert!(wide.lock().unwrap().is_empty());
    assert!(wide_events.lock().unwrap().is_empty());
}
