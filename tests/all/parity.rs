//! Both paths mean the same thing: the same answers from Auto Scaling (over HTTP, from the
//! simulator, on paused tokio time) make them send the same requests at the same times and report
//! the same stats; and the duplicate guard spans the whole call on both.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::config::retry::RetryConfig;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig};
use instance_refresh_retry::{
    AutoScalingConfigExt, Classifier, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer,
    RetryEvent, RetryOutcome, RetryPolicy, RetryStats, StartInstanceRefreshSdkError,
    StartInstanceRefreshService, StopReason,
};
use tower::{ServiceBuilder, ServiceExt};

use crate::support::{TokioTime, e2e_policy as policy, send_start};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const START: &str = "StartInstanceRefresh";
const BLOCKED: Option<&str> = Some("InstanceRefreshInProgress");
const THROTTLED: Option<&str> = Some("Throttling");

/// The SDK's standard retry (3 attempts, 1 s then 2 s), without its jitter.
fn sdk_retry() -> RetryConfig {
    RetryConfig::standard().with_use_static_exponential_base(true)
}

/// What one path did: the StartInstanceRefresh requests (time in ms since the simulator started,
/// error code), its stats, its waits (attempt, delay), the result (refresh id or error code), and
/// the refreshes the group has.
#[derive(Debug, PartialEq)]
struct Run {
    requests: Vec<(u128, Option<String>)>,
    stats: Vec<RetryStats>,
    waits: Vec<(u32, Duration)>,
    result: Result<String, Option<String>>,
    refreshes: usize,
}

/// A scenario: the group, its blocker and the faults, set up on a fresh simulator.
struct Scenario {
    /// Time left on someone else's refresh; none when `None`.
    blocker: Option<Duration>,
    /// Duration of the refreshes this call starts.
    refresh: Duration,
    faults: Vec<FaultRule>,
    policy: RetryPolicy,
    classifier: Classifier,
    /// The inner client's (tower path) and the client's (SDK path) own retry.
    sdk_retry: RetryConfig,
}

impl Scenario {
    fn new(blocker: Option<Duration>, faults: Vec<FaultRule>) -> Self {
        Scenario {
            blocker,
            refresh: secs(600),
            faults,
            policy: policy(),
            classifier: Classifier::default(),
            sdk_retry: sdk_retry(),
        }
    }

    async fn sim(&self) -> AutoScalingSim {
        let sim = AutoScalingSim::builder().seed(3).start().await.unwrap();
        sim.create_group("web", GroupConfig::default().refresh_duration(self.refresh));
        if let Some(remaining) = self.blocker {
            sim.seed_running_refresh("web", remaining).unwrap();
        }
        for rule in &self.faults {
            sim.inject(rule.clone());
        }
        sim
    }

    fn finish(
        &self,
        sim: &AutoScalingSim,
        recorder: &Recorder,
        result: Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>,
    ) -> Run {
        let result = result
            .map(|out| out.instance_refresh_id().unwrap().to_owned())
            .map_err(|e| e.code().map(str::to_owned));
        let requests = sim
            .calls()
            .iter()
            .filter(|c| c.is(START))
            .map(|c| (c.at.as_millis(), c.error_code().map(str::to_owned)))
            .collect();
        let refreshes = sim.refreshes("web").unwrap().len() - usize::from(self.blocker.is_some());
        Run {
            requests,
            stats: std::mem::take(&mut recorder.stats.lock().unwrap()),
            waits: std::mem::take(&mut recorder.waits.lock().unwrap()),
            result,
            refreshes,
        }
    }

    /// The client configuration both paths start from: the simulator's, with `sdk_retry`.
    fn sdk_config(&self, sim: &AutoScalingSim) -> aws_sdk_autoscaling::config::Builder {
        sim.sdk_config_builder()
            .retry_config(self.sdk_retry.clone())
    }

    /// The tower path: the layer over StartInstanceRefreshService over a client with the SDK's
    /// own retry.
    async fn tower(&self) -> Run {
        let sim = self.sim().await;
        let recorder = Recorder::default();
        let layer = InstanceRefreshRetryLayer::new(self.policy.clone())
            .classifier(self.classifier.clone())
            .on_finish(recorder.on_finish())
            .on_retry(recorder.on_retry());
        let client = aws_sdk_autoscaling::Client::from_conf(self.sdk_config(&sim).build());
        let svc = ServiceBuilder::new()
            .layer(layer)
            .service(StartInstanceRefreshService::new(client));
        let input = StartInstanceRefreshInput::builder()
            .auto_scaling_group_name("web")
            .build()
            .unwrap();
        let result = svc.oneshot(input).await;
        self.finish(&sim, &recorder, result)
    }

    /// The SDK path: the interceptor on a client with the same own retry.
    async fn sdk(&self) -> Run {
        let sim = self.sim().await;
        let recorder = Recorder::default();
        let retry = InstanceRefreshRetryConfig::new(self.policy.clone())
            .classifier(self.classifier.clone())
            .on_finish(recorder.on_finish())
            .on_retry(recorder.on_retry());
        let config = self
            .sdk_config(&sim)
            .time_source(TokioTime::new())
            .instance_refresh_retry(retry);
        let client = aws_sdk_autoscaling::Client::from_conf(config.build());
        let result = send_start(&client, "web").await;
        self.finish(&sim, &recorder, result)
    }

    /// Runs both paths and checks that they did the same; returns what they did.
    async fn both(&self) -> Run {
        let tower = self.tower().await;
        let sdk = self.sdk().await;
        assert_eq!(tower, sdk, "the two paths differ");
        tower
    }
}

/// What the callbacks of one path saw: every call's stats, and every wait (attempt, delay).
#[derive(Default)]
struct Recorder {
    stats: Arc<Mutex<Vec<RetryStats>>>,
    waits: Arc<Mutex<Vec<(u32, Duration)>>>,
}

impl Recorder {
    fn on_finish(&self) -> impl Fn(&RetryStats) + Send + Sync + 'static {
        let sink = self.stats.clone();
        move |s| sink.lock().unwrap().push(*s)
    }

    fn on_retry(&self) -> impl Fn(&RetryEvent<'_>) + Send + Sync + 'static {
        let sink = self.waits.clone();
        move |e| sink.lock().unwrap().push((e.attempt, e.delay))
    }
}

/// What a path reports for its one call: `RetryStats::new(attempts, waited, elapsed, outcome)`.
fn one_call(
    attempts: u32,
    waited: Duration,
    elapsed: Duration,
    outcome: RetryOutcome,
) -> [RetryStats; 1] {
    [RetryStats::new(attempts, waited, elapsed, outcome)]
}

fn throttle(after: u32, times: u32) -> FaultRule {
    FaultRule::new(Fault::Throttling)
        .on(START)
        .after(after)
        .times(times)
}

fn requests(expected: &[(u64, Option<&str>)]) -> Vec<(u128, Option<String>)> {
    expected
        .iter()
        .map(|(s, code)| (u128::from(*s) * 1000, code.map(str::to_owned)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn blocked_throttled_and_retried_by_the_sdk_blocked_then_started() {
    // Someone else's refresh ends at 60 s. The 2nd request is throttled (the SDK retries it after
    // 1 s), the 4th and 5th too (1 s, then 2 s).
    let run = Scenario::new(Some(secs(60)), vec![throttle(1, 1), throttle(3, 2)])
        .both()
        .await;

    assert_eq!(
        run.requests,
        requests(&[
            (0, BLOCKED),
            (10, THROTTLED),
            (11, BLOCKED),
            (31, THROTTLED),
            (32, THROTTLED),
            (34, BLOCKED),
            (74, None),
        ])
    );
    // Four attempts: the SDK's own retries belong to the attempt they retry.
    assert_eq!(
        run.stats,
        one_call(4, secs(70), secs(74), RetryOutcome::Succeeded)
    );
    assert_eq!(run.waits, [(1, secs(10)), (2, secs(20)), (3, secs(40))]);
    assert!(run.result.is_ok());
    assert_eq!(run.refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn the_sdk_runs_out_of_retries_in_the_second_attempt() {
    let run = Scenario::new(Some(secs(3600)), vec![throttle(1, 3)])
        .both()
        .await;

    assert_eq!(
        run.requests,
        requests(&[
            (0, BLOCKED),
            (10, THROTTLED),
            (11, THROTTLED),
            (13, THROTTLED)
        ])
    );
    assert_eq!(
        run.stats,
        one_call(2, secs(10), secs(13), RetryOutcome::NotRetryable)
    );
    assert_eq!(run.result, Err(THROTTLED.map(str::to_owned)));
    assert_eq!(run.refreshes, 0);
}

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_attempts_not_requests() {
    let mut scenario = Scenario::new(Some(secs(3600)), vec![throttle(1, 1)]);
    scenario.policy = policy().to_builder().max_attempts(3).build().unwrap();
    let run = scenario.both().await;

    assert_eq!(
        run.requests,
        requests(&[(0, BLOCKED), (10, THROTTLED), (11, BLOCKED), (31, BLOCKED)])
    );
    // Four requests, three attempts: max_attempts(3) ends with attempts 3 on both paths.
    assert_eq!(
        run.stats,
        one_call(
            3,
            secs(30),
            secs(31),
            RetryOutcome::GaveUp(StopReason::MaxAttempts)
        )
    );
    assert_eq!(run.result, Err(BLOCKED.map(str::to_owned)));
}

#[tokio::test(start_paused = true)]
async fn resource_contention_is_a_refusal_and_is_waited_past() {
    let contention = FaultRule::new(Fault::ResourceContention).on(START).after(1);
    let run = Scenario::new(Some(secs(20)), vec![contention]).both().await;

    assert_eq!(
        run.requests,
        requests(&[
            (0, BLOCKED),
            (10, Some("ResourceContention")),
            (11, BLOCKED),
            (31, None)
        ])
    );
    assert_eq!(
        run.stats,
        one_call(3, secs(30), secs(31), RetryOutcome::Succeeded)
    );
    assert_eq!(run.refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn after_a_lost_response_neither_path_waits_out_its_own_refresh() {
    // The first request starts a refresh but its response is lost; the SDK's retry meets it.
    let lost = FaultRule::new(Fault::ResponseLost).on(START);
    let run = Scenario::new(None, vec![lost]).both().await;

    assert_eq!(run.requests.len(), 2);
    assert_eq!(run.requests[1].1.as_deref(), BLOCKED);
    assert_eq!(
        run.stats,
        one_call(
            1,
            Duration::ZERO,
            secs(1),
            RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)
        )
    );
    assert_eq!(
        run.refreshes, 1,
        "exactly the refresh the lost request started"
    );
}

// ---- The duplicate guard spans the whole call, for any classifier ----

/// The first request starts a refresh (that takes `refresh`) and answers 500; the client's own
/// retry is off, and the user's classifier waits on `InternalFailure`.
fn applied_500_waited_on(refresh: Duration) -> Scenario {
    let applied_500 = FaultRule::new(Fault::AppliedInternalFailure).on(START);
    let mut scenario = Scenario::new(None, vec![applied_500]);
    scenario.refresh = refresh;
    scenario.classifier = Classifier::default().with_code("InternalFailure");
    scenario.sdk_retry = RetryConfig::disabled();
    scenario
}

fn assert_stopped_after_the_500(run: &Run) {
    assert_eq!(run.requests, requests(&[(0, Some("InternalFailure"))]));
    assert_eq!(
        run.stats,
        one_call(
            1,
            Duration::ZERO,
            Duration::ZERO,
            RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)
        )
    );
    assert_eq!(run.result, Err(Some("InternalFailure".to_owned())));
    assert!(run.waits.is_empty());
    assert_eq!(run.refreshes, 1, "one call started two refreshes");
}

#[tokio::test(start_paused = true)]
async fn tower_one_call_never_starts_two_refreshes_after_an_applied_500() {
    // Before the guard spanned the whole tower call, the layer waited after the 500, met the
    // call's own refresh as InstanceRefreshInProgress, waited it out and started a second one.
    assert_stopped_after_the_500(&applied_500_waited_on(secs(600)).tower().await);
}

#[tokio::test(start_paused = true)]
async fn neither_path_retries_after_an_applied_500_even_when_its_refresh_ends_during_the_wait() {
    // The refresh the 500 started is over long before the first wait (10 s) would end: a retry
    // would meet no refresh in progress and start a second one.
    assert_stopped_after_the_500(&applied_500_waited_on(secs(2)).both().await);
}

// ---- No valid policy panics, on either path ----

#[tokio::test(start_paused = true)]
async fn the_longest_delays_saturate_on_both_paths() {
    // Every wait is Duration::MAX (to the millisecond): the sums of waits saturate instead of
    // overflowing, and the sleeps (tokio's, on both paths) cap each wait at about 30 years.
    let two_centuries = secs(200 * 365 * 86_400);
    let mut scenario = Scenario::new(Some(two_centuries), vec![]);
    scenario.policy = RetryPolicy::builder()
        .initial_delay(Duration::MAX)
        .max_delay(Duration::MAX)
        .jitter(instance_refresh_retry::Jitter::Decorrelated)
        .unlimited_elapsed()
        .max_attempts(3)
        .build()
        .unwrap();
    for run in [scenario.tower().await, scenario.sdk().await] {
        assert_eq!(run.requests.len(), 3, "{run:?}");
        assert!(
            run.requests
                .iter()
                .all(|(_, code)| code.as_deref() == BLOCKED)
        );
        let [stats] = run.stats.as_slice() else {
            panic!("one call, one report: {run:?}");
        };
        assert_eq!(
            (stats.attempts, stats.waited, stats.outcome),
            (
                3,
                Duration::MAX,
                RetryOutcome::GaveUp(StopReason::MaxAttempts)
            )
        );
        let longest = Duration::MAX - Duration::from_nanos(999_999);
        assert_eq!(run.waits, [(1, longest), (2, longest)]);
    }
}
