//! The callbacks and the stats that travel with a success, on both paths.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
use aws_sdk_autoscaling::operation::RequestId;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
use aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder;
use aws_smithy_async::test_util::{InstantSleep, ManualTimeSource, instant_time_and_sleep};
use aws_smithy_async::time::TimeSource;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use instance_refresh_retry::RetryOutcome::{Cancelled, GaveUp, NotRetryable, Succeeded};
use instance_refresh_retry::{
    AutoScalingConfigExt, Classifier, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer,
    Jitter, ProvideErrorCode, RetryEvent, RetryOutcome, RetryPolicy, RetryPolicyBuilder,
    RetryStats, StartInstanceRefreshExt, StopReason, Verdict, retry_stats,
};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt, service_fn};

use crate::support::{StartError, in_progress, validation_error};

use Answer::{Blocked, ScalingActivity, Started, Throttling};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// Policies and expectations.

fn no_jitter() -> RetryPolicyBuilder {
    RetryPolicy::builder().jitter(Jitter::None)
}

/// The default policy without jitter: 5 s, 10 s, 20 s, ...
fn policy() -> RetryPolicy {
    no_jitter().build().unwrap()
}

fn layer() -> InstanceRefreshRetryLayer {
    InstanceRefreshRetryLayer::new(policy())
}

fn config() -> InstanceRefreshRetryConfig {
    InstanceRefreshRetryConfig::new(policy())
}

/// The stats of a call that made `attempts` attempts and spent all its time, `waited` seconds,
/// waiting.
fn finished(attempts: u32, waited: u64, outcome: RetryOutcome) -> RetryStats {
    RetryStats::new(attempts, secs(waited), secs(waited), outcome)
}

fn assert_in_progress(err: &StartError) {
    let service_error = err.as_service_error().unwrap();
    assert!(service_error.is_instance_refresh_in_progress_fault());
}

/// The message a panic's payload carries.
fn panic_message(payload: Box<dyn Any + Send>) -> Option<&'static str> {
    payload.downcast_ref::<&'static str>().copied()
}

/// Runs `future` on a task of its own, which must panic; returns the panic's message.
async fn panic_of<F>(future: F) -> Option<&'static str>
where
    F: Future + Send + 'static,
    F::Output: Send + std::fmt::Debug + 'static,
{
    let err = tokio::spawn(future).await.unwrap_err();
    assert!(err.is_panic(), "{err}");
    panic_message(err.into_panic())
}

// Recording the callbacks.

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

/// The events of waits on `in_progress("req-N")`, the Nth wait `delays[N - 1]` seconds long: what
/// [`blocked_then_ok`] and [`Answer::Blocked`] give.
fn blocked_waits(delays: &[u64]) -> Vec<Event> {
    let numbered = (1..).zip(delays);
    numbered
        .map(|(n, &d)| event(n, d, &format!("req-{n}")))
        .collect()
}

/// Records every `on_retry` event and every `on_finish` report of the callbacks it hands out.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    stats: Arc<Mutex<Vec<RetryStats>>>,
}

impl Recorder {
    fn on_retry(&self) -> impl Fn(&RetryEvent<'_>) + Send + Sync + 'static {
        let events = self.events.clone();
        move |e: &RetryEvent<'_>| {
            events.lock().unwrap().push(Event {
                attempt: e.attempt,
                delay: e.delay,
                error_code: e.error_code.map(str::to_string),
                request_id: e.request_id.map(str::to_string),
            })
        }
    }

    fn on_finish(&self) -> impl Fn(&RetryStats) + Send + Sync + 'static {
        let stats = self.stats.clone();
        move |st: &RetryStats| stats.lock().unwrap().push(*st)
    }

    /// A tower layer with `policy` and both callbacks recording here.
    fn layer(&self, policy: RetryPolicy) -> InstanceRefreshRetryLayer {
        let layer = InstanceRefreshRetryLayer::new(policy);
        layer.on_retry(self.on_retry()).on_finish(self.on_finish())
    }

    /// An SDK config with `policy` and both callbacks recording here.
    fn config(&self, policy: RetryPolicy) -> InstanceRefreshRetryConfig {
        let config = InstanceRefreshRetryConfig::new(policy);
        config.on_retry(self.on_retry()).on_finish(self.on_finish())
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn stats(&self) -> Vec<RetryStats> {
        self.stats.lock().unwrap().clone()
    }
}

/// A shared counter of calls.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU32>);

impl Counter {
    /// Counts one call more and returns its number, counting from 1.
    fn bump(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }

    /// An `on_finish` that counts its calls here, then does `then`.
    fn on_finish<F>(&self, then: F) -> impl Fn(&RetryStats) + Send + Sync + 'static
    where
        F: Fn(&RetryStats) + Send + Sync + 'static,
    {
        let calls = self.clone();
        move |stats| {
            calls.bump();
            then(stats)
        }
    }
}

// Tower: fake services and the SDK's test clock.

/// A fake StartInstanceRefresh, for the tower layer to wrap.
trait Fake<T>: Service<(), Response = T, Error = StartError, Future: Send> + Clone {}

impl<T, S> Fake<T> for S where S: Service<(), Response = T, Error = StartError, Future: Send> + Clone
{}

/// A fake whose `n`th call (counting from 1) answers with the future `answer(n)`, and its call
/// counter.
fn answering<T, F, Fut>(answer: F) -> (Counter, impl Fake<T>)
where
    F: Fn(u32) -> Fut + Clone,
    Fut: Future<Output = Result<T, StartError>> + Send,
{
    let calls = Counter::default();
    let c = calls.clone();
    (calls, service_fn(move |()| answer(c.bump())))
}

/// A fake that answers `in_progress("req-N")` to its first `blocked` calls (N counting from 1),
/// then "refresh-1"; and its call counter.
fn blocked_then_ok(blocked: u32) -> (Counter, impl Fake<&'static str>) {
    answering(move |n| async move {
        if n <= blocked {
            Err(in_progress(&format!("req-{n}")))
        } else {
            Ok("refresh-1")
        }
    })
}

/// A fake that always answers a validation error, which passes through.
fn always_invalid() -> impl Fake<()> {
    answering(|_| async { Err(validation_error()) }).1
}

/// The SDK's test clock: a sleep that returns at once and logs its duration, and a time source
/// the sleeps advance.
struct TestClock {
    time: ManualTimeSource,
    sleep: InstantSleep,
}

impl TestClock {
    fn new() -> Self {
        let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
        TestClock { time, sleep }
    }

    /// Makes `layer` sleep and measure on this clock.
    fn install<K>(&self, layer: InstanceRefreshRetryLayer<K>) -> InstanceRefreshRetryLayer<K> {
        layer
            .sleep_impl(self.sleep.clone())
            .time_source(self.time.clone())
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.sleep.logs()
    }
}

// SDK path: mocked answers.

/// One answer of the mocked StartInstanceRefresh: `Blocked(n)` is `in_progress("req-n")`,
/// `ScalingActivity` [`scaling_activity`], `Throttling` an error the SDK retries on its own, and
/// `Started` [`started`].
#[derive(Clone, Copy)]
enum Answer {
    Blocked(u32),
    ScalingActivity,
    Throttling,
    Started,
}

/// A rule that gives `answers` in order, one a call.
fn answers(answers: &[Answer]) -> Rule {
    let mut seq = mock!(Client::start_instance_refresh).sequence();
    for &answer in answers {
        seq = match answer {
            Blocked(n) => seq.error(blocked(n)),
            ScalingActivity => seq.error(scaling_activity),
            Throttling => seq.error(|| {
                StartInstanceRefreshError::generic(
                    ErrorMetadata::builder().code("Throttling").build(),
                )
            }),
            Started => seq.output(started),
        };
    }
    seq.build()
}

/// A rule that answers `in_progress("req-n")` to every call.
fn always_blocked(n: u32) -> Rule {
    let seq = mock!(Client::start_instance_refresh).sequence();
    seq.error(blocked(n)).repeatedly().build()
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

/// The operation error of `in_progress("req-n")`: code and request id in its metadata, for
/// aws-smithy-mocks.
fn blocked(n: u32) -> impl Fn() -> StartInstanceRefreshError + Send + Sync {
    move || in_progress(&format!("req-{n}")).into_service_error()
}

fn started() -> StartInstanceRefreshOutput {
    StartInstanceRefreshOutput::builder()
        .instance_refresh_id("r-1")
        .build()
}

/// A client answered by a mock rule, on the SDK's test clock.
struct MockSdk {
    rule: Rule,
    clock: TestClock,
    client: Client,
}

impl MockSdk {
    /// Nothing of this crate installed.
    fn new(rule: Rule) -> Self {
        Self::with_client_wide(rule, None)
    }

    /// `client_wide`, if any, installed on the client.
    fn with_client_wide(rule: Rule, client_wide: Option<&InstanceRefreshRetryConfig>) -> Self {
        let clock = TestClock::new();
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| {
            let c = c
                // Its body-throughput checks would log sleeps of their own.
                .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
                .sleep_impl(clock.sleep.clone())
                .time_source(clock.time.clone());
            match client_wide {
                Some(retry) => c.instance_refresh_retry(retry),
                None => c,
            }
        });
        MockSdk {
            rule,
            clock,
            client,
        }
    }

    fn start(&self) -> StartInstanceRefreshFluentBuilder {
        self.client.start_instance_refresh()
    }

    /// How often the rule answered, and what the client slept, in seconds.
    fn assert_answered(&self, calls: usize, sleeps: &[u64]) {
        assert_eq!(self.rule.num_calls(), calls);
        assert_eq!(
            self.clock.sleeps(),
            sleeps.iter().copied().map(secs).collect::<Vec<_>>()
        );
    }
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
    let rec = Recorder::default();
    let (calls, inner) = blocked_then_ok(2);
    let svc = rec.layer(policy()).layer(inner);
    let start = Instant::now();

    let out = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(calls.get(), 3);
    assert_eq!(rec.events(), blocked_waits(&[5, 10]));
    // The delays the events announced are the delays that were waited.
    assert_eq!(start.elapsed(), secs(15));
    assert_eq!(rec.stats(), [finished(3, 15, Succeeded)]);
}

#[tokio::test(start_paused = true)]
async fn tower_on_retry_is_not_called_for_a_pass_through_or_for_giving_up() {
    let rec = Recorder::default();
    let layer = InstanceRefreshRetryLayer::new(no_jitter().max_attempts(2).build().unwrap())
        .on_retry(rec.on_retry());

    // A validation error: no wait at all.
    let err = layer.clone().layer(always_invalid()).oneshot(()).await;
    assert_eq!(err.unwrap_err().code(), Some("ValidationError"));
    assert!(rec.events().is_empty());

    // Always blocked, two attempts: one wait, none after the last attempt.
    let (_, inner) = blocked_then_ok(u32::MAX);
    let err = layer.layer(inner).oneshot(()).await.unwrap_err();
    assert_in_progress(&err);
    assert_eq!(rec.events(), blocked_waits(&[5]));
}

// 2. SDK path: on_retry.

#[tokio::test]
async fn sdk_on_retry_sees_each_wait_with_its_exact_delay_and_request_id() {
    let sdk = MockSdk::new(answers(&[Blocked(1), Blocked(2), Blocked(3), Started]));
    let rec = Recorder::default();
    let retry = rec.config(policy());

    let web = sdk.start().auto_scaling_group_name("web");
    let out = web.send_with_retry(&retry).await.unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(rec.events(), blocked_waits(&[5, 10, 20]));
    sdk.assert_answered(4, &[5, 10, 20]);
    assert_eq!(rec.stats(), [finished(4, 35, Succeeded)]);
}

#[tokio::test]
async fn both_paths_report_the_same_events_for_the_same_answers() {
    // Tower path, on the SDK's test clock.
    let tower = Recorder::default();
    let clock = TestClock::new();
    let layer = clock.install(layer()).on_retry(tower.on_retry());
    layer.layer(blocked_then_ok(3).1).oneshot(()).await.unwrap();

    // SDK path, same answers.
    let sdk = MockSdk::new(answers(&[Blocked(1), Blocked(2), Blocked(3), Started]));
    let rec = Recorder::default();
    let retry = config().on_retry(rec.on_retry());
    sdk.start().send_with_retry(retry).await.unwrap();

    assert_eq!(tower.events(), rec.events());
    assert_eq!(tower.events().len(), 3);
    assert_eq!(clock.sleeps(), sdk.clock.sleeps());
}

// 3. Tower: with_stats.

#[tokio::test(start_paused = true)]
async fn tower_with_stats_hands_back_the_stats_on_finish_sees() {
    let rec = Recorder::default();
    let (_, inner) = blocked_then_ok(2);
    let svc = layer().on_finish(rec.on_finish()).with_stats().layer(inner);
    let start = Instant::now();

    let (out, stats) = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(stats, finished(3, 15, Succeeded));
    assert_eq!(stats.retries(), 2);
    assert_eq!(start.elapsed(), secs(15));
    assert_eq!(rec.stats(), [stats]);
}

#[tokio::test(start_paused = true)]
async fn tower_with_stats_still_returns_the_sdk_error_unchanged() {
    let rec = Recorder::default();
    let (calls, inner) = blocked_then_ok(u32::MAX);
    // `with_stats` before the options: they carry over to the typed layer.
    let svc = InstanceRefreshRetryLayer::new(no_jitter().max_attempts(2).build().unwrap())
        .with_stats()
        .on_finish(rec.on_finish())
        .layer(inner);

    let err: StartError = svc.oneshot(()).await.unwrap_err();

    assert_eq!(calls.get(), 2);
    assert_in_progress(&err);
    assert_eq!(err.code(), Some("InstanceRefreshInProgress"));
    let request_id = RequestId::request_id(err.as_service_error().unwrap());
    assert_eq!(request_id, Some("req-2"));
    let gave_up = GaveUp(StopReason::MaxAttempts);
    assert_eq!(rec.stats(), [finished(2, 5, gave_up)]);

    // A pass-through error too.
    let rec = Recorder::default();
    let svc = InstanceRefreshRetryLayer::new(RetryPolicy::default())
        .with_stats()
        .on_finish(rec.on_finish())
        .layer(always_invalid());
    let err = svc.oneshot(()).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(rec.stats(), [finished(1, 0, NotRetryable)]);
}

// 4. SDK path: send_with_stats.

#[tokio::test]
async fn sdk_send_with_stats_hands_back_the_output_and_its_stats() {
    let sdk = MockSdk::new(answers(&[Blocked(1), Blocked(1), Started]));

    let web = sdk.start().auto_scaling_group_name("web");
    let (out, stats) = web.send_with_stats(&policy()).await.unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    sdk.assert_answered(3, &[5, 10]);
    assert_eq!(stats, finished(3, 15, Succeeded));
}

#[tokio::test]
async fn sdk_send_with_stats_matches_on_finish_which_fires_once() {
    let rule = answers(&[Blocked(1), Blocked(1), Blocked(1), Started, Started]);
    let sdk = MockSdk::new(rule);
    let rec = Recorder::default();
    let retry = config().on_finish(rec.on_finish());

    let (out, stats) = sdk.start().send_with_stats(&retry).await.unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(stats, finished(4, 35, Succeeded));
    assert_eq!(rec.stats(), [stats]);
    assert_eq!(sdk.clock.sleeps(), [secs(5), secs(10), secs(20)]);

    // The same config, passed by value, on a second call: once more, and only once.
    let (out, stats2) = sdk.start().send_with_stats(retry).await.unwrap();
    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    assert_eq!(stats2, finished(1, 0, Succeeded));
    assert_eq!(rec.stats(), [stats, stats2]);
}

#[tokio::test]
async fn sdk_send_with_stats_takes_a_policy_by_value_or_reference() {
    let sdk = MockSdk::new(answers(&[Blocked(1), Started, Blocked(2), Started]));
    let policy = policy();
    let expected = finished(2, 5, Succeeded);

    let (_, by_ref) = sdk.start().send_with_stats(&policy).await.unwrap();
    let (_, by_value) = sdk.start().send_with_stats(policy).await.unwrap();

    assert_eq!((by_ref, by_value), (expected, expected));
    assert_eq!(sdk.clock.sleeps(), [secs(5), secs(5)]);
}

#[tokio::test]
async fn sdk_send_with_stats_failure_returns_the_sdk_error_with_stats_beside_it() {
    let sdk = MockSdk::new(always_blocked(1));
    let rec = Recorder::default();
    let retry = InstanceRefreshRetryConfig::new(no_jitter().max_attempts(2).build().unwrap())
        .on_finish(rec.on_finish());

    let web = sdk.start().auto_scaling_group_name("web");
    let err = web.send_with_stats(&retry).await.unwrap_err();

    assert_in_progress(&err);
    sdk.assert_answered(2, &[5]);
    let stats = retry_stats(&err).unwrap();
    assert_eq!(stats.attempts, 2);
    assert_eq!(stats.outcome, GaveUp(StopReason::MaxAttempts));
    assert_eq!((stats.waited, stats.elapsed), (secs(5), secs(5)));
    assert_eq!(rec.stats(), [stats]);

    // A policy alone gives the same.
    let err = sdk.start().send_with_stats(retry.policy()).await;
    assert_eq!(retry_stats(&err.unwrap_err()), Some(stats));
    assert_eq!(rec.stats().len(), 1);
}

// 5. Tower: the SDK's test clock as sleep and time source.

#[tokio::test]
async fn tower_on_the_sdk_test_clock_waits_and_measures_exactly() {
    let (rec, clock) = (Recorder::default(), TestClock::new());
    let (calls, inner) = blocked_then_ok(2);
    let svc = clock
        .install(layer())
        .on_finish(rec.on_finish())
        .with_stats()
        .layer(inner);

    let (out, stats) = svc.oneshot(()).await.unwrap();

    assert_eq!(out, "refresh-1");
    assert_eq!(calls.get(), 3);
    assert_eq!(clock.sleeps(), [secs(5), secs(10)]);
    assert_eq!(clock.time.now(), UNIX_EPOCH + secs(15));
    assert_eq!(stats, finished(3, 15, Succeeded));
    assert_eq!(rec.stats(), [stats]);
}

#[tokio::test]
async fn tower_max_elapsed_is_measured_on_the_given_time_source() {
    let (rec, clock) = (Recorder::default(), TestClock::new());
    let (calls, inner) = blocked_then_ok(u32::MAX);
    let policy = no_jitter().max_elapsed(secs(12)).build().unwrap();
    let svc = clock.install(rec.layer(policy)).layer(inner);

    let err = svc.oneshot(()).await.unwrap_err();

    assert_in_progress(&err);
    // 5 s, then 10 s cut to the 7 s left of the budget; the third attempt gives up.
    assert_eq!(clock.sleeps(), [secs(5), secs(7)]);
    assert_eq!(calls.get(), 3);
    assert_eq!(rec.events(), blocked_waits(&[5, 7]));
    let gave_up = GaveUp(StopReason::MaxElapsed);
    assert_eq!(rec.stats(), [finished(3, 12, gave_up)]);
}

// 6. Panics.

#[tokio::test(start_paused = true)]
async fn an_inner_future_that_panics_is_not_reported_as_cancelled() {
    let (rec, finishes) = (Recorder::default(), Counter::default());
    let on_finish = finishes.on_finish(|_| {});
    let layer = layer().on_retry(rec.on_retry()).on_finish(on_finish);
    // Blocked once, then the second attempt's future panics.
    let (calls, inner) = answering(|n| async move {
        match n {
            1 => Err::<(), _>(in_progress("req-1")),
            _ => panic!("inner attempt panicked"),
        }
    });

    let panic = panic_of(layer.clone().layer(inner).oneshot(())).await;

    assert_eq!(panic, Some("inner attempt panicked"));
    assert_eq!(calls.get(), 2);
    assert_eq!(rec.events(), blocked_waits(&[5]));
    assert_eq!(finishes.get(), 0, "reported during unwind");

    // The same layer reports an ordinary call: the counter above could have moved.
    let (_, inner) = blocked_then_ok(0);
    layer.layer(inner).oneshot(()).await.unwrap();
    assert_eq!(finishes.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_on_finish_that_panics_propagates_once() {
    let finishes = Counter::default();
    let on_finish = finishes.on_finish(|_| panic!("on_finish panicked"));
    let svc = layer().on_finish(on_finish).layer(blocked_then_ok(1).1);

    let panic = panic_of(svc.oneshot(())).await;

    assert_eq!(panic, Some("on_finish panicked"));
    // Not again from Drop, and the process is still here.
    assert_eq!(finishes.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_on_finish_that_panics_on_a_cancellation_runs_once() {
    let finishes = Counter::default();
    let on_finish = finishes.on_finish(|stats| {
        assert_eq!(stats.outcome, Cancelled);
        panic!("on_finish panicked in drop");
    });
    let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default()).on_finish(on_finish);
    let mut svc = layer.layer(blocked_then_ok(0).1);
    let future = svc.ready().await.unwrap().call(());

    let dropped = catch_unwind(AssertUnwindSafe(|| drop(future)));

    let panic = panic_message(dropped.unwrap_err());
    assert_eq!(panic, Some("on_finish panicked in drop"));
    assert_eq!(finishes.get(), 1);
}

// 7. A from_fn classifier that hands back to the default.

#[tokio::test(start_paused = true)]
async fn tower_from_fn_classifier_waits_on_its_code_and_the_default_one() {
    // ScalingActivityInProgress, then InstanceRefreshInProgress, then a validation error.
    let (calls, inner) = answering(|n| async move {
        match n {
            1 => Err::<(), _>(StartError::service_error(scaling_activity(), raw(400))),
            2 => Err(in_progress("req-2")),
            _ => Err(validation_error()),
        }
    });
    let rec = Recorder::default();
    let svc = rec
        .layer(policy())
        .classifier(scaling_too())
        .layer(inner.clone());
    let start = Instant::now();

    let err = svc.oneshot(()).await.unwrap_err();

    // Anything else still passes through, through the default classifier.
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(calls.get(), 3);
    assert_eq!(start.elapsed(), secs(15));
    let scaling = Event {
        error_code: Some("ScalingActivityInProgress".to_string()),
        ..event(1, 5, "req-scaling")
    };
    assert_eq!(rec.events(), [scaling, event(2, 10, "req-2")]);
    assert_eq!(rec.stats(), [finished(3, 15, NotRetryable)]);

    // Control: the default classifier alone passes ScalingActivityInProgress through.
    calls.reset();
    let err = layer().layer(inner).oneshot(()).await.unwrap_err();
    assert_eq!(err.code(), Some("ScalingActivityInProgress"));
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn sdk_from_fn_classifier_waits_on_its_code_and_the_default_one() {
    let sdk = MockSdk::new(answers(&[ScalingActivity, Blocked(2), Started]));
    let rec = Recorder::default();
    let retry = config().classifier(scaling_too()).on_retry(rec.on_retry());

    let (out, stats) = sdk.start().send_with_stats(&retry).await.unwrap();

    assert_eq!(out.instance_refresh_id(), Some("r-1"));
    sdk.assert_answered(3, &[5, 10]);
    assert_eq!(stats, finished(3, 15, Succeeded));
    let events = rec.events();
    let codes: Vec<_> = events.iter().map(|e| e.error_code.as_deref()).collect();
    assert_eq!(
        codes,
        [
            Some("ScalingActivityInProgress"),
            Some("InstanceRefreshInProgress")
        ]
    );
}

// Around the callbacks.

#[tokio::test]
async fn sdk_on_retry_counts_the_sdks_own_retries_in_the_attempt_they_retry() {
    let sdk = MockSdk::new(answers(&[Throttling, Blocked(2), Started]));
    let rec = Recorder::default();
    let retry = config().on_retry(rec.on_retry());

    let (_, stats) = sdk.start().send_with_stats(&retry).await.unwrap();

    assert_eq!(sdk.rule.num_calls(), 3);
    // The SDK's throttling retry (its own jittered backoff) and then our 5 s wait.
    let sleeps = sdk.clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert_eq!(sleeps[1], secs(5));
    // The blocked request was still the first attempt.
    assert_eq!(rec.events(), [event(1, 5, "req-2")]);
    let elapsed = sleeps.iter().sum();
    assert_eq!(stats, RetryStats::new(2, secs(5), elapsed, Succeeded));
}

#[tokio::test]
async fn sdk_per_call_config_acts_alone_over_a_client_wide_one() {
    let wide = Recorder::default();
    let wide_policy = no_jitter().initial_delay(secs(7)).build().unwrap();
    let rule = answers(&[Blocked(1), Started]);
    let sdk = MockSdk::with_client_wide(rule, Some(&wide.config(wide_policy)));
    let rec = Recorder::default();
    let retry = rec.config(policy());

    let (_, stats) = sdk.start().send_with_stats(&retry).await.unwrap();

    // The per-call policy's 5 s, not the client-wide 7 s; only the per-call callbacks ran.
    assert_eq!(sdk.clock.sleeps(), [secs(5)]);
    assert_eq!(stats, finished(2, 5, Succeeded));
    assert_eq!(rec.stats(), [stats]);
    assert_eq!(rec.events(), blocked_waits(&[5]));
    assert!(wide.stats().is_empty());
    assert!(wide.events().is_empty());
}
