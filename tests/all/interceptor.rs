//! SDK interceptor tests: the real SDK client, aws-smithy-mocks, virtual time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::{Builder, StalledStreamProtectionConfig};
use aws_sdk_autoscaling::operation::describe_instance_refreshes::{
    DescribeInstanceRefreshesError, DescribeInstanceRefreshesOutput,
};
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshOutput,
};
use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_async::test_util::{InstantSleep, instant_time_and_sleep};
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::{RetryConfig, RetrySpec};
use aws_smithy_types::timeout::TimeoutConfig;
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, Jitter,
    RetryOutcome, RetryPolicy, RetryStats, StartInstanceRefreshExt, StartInstanceRefreshService,
    StopReason, retry_stats, with_instance_refresh_retry,
};

use crate::support::{Capture, TokioTime};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn in_progress() -> StartInstanceRefreshError {
    StartInstanceRefreshError::InstanceRefreshInProgressFault(
        InstanceRefreshInProgressFault::builder().build(),
    )
}

fn throttling() -> StartInstanceRefreshError {
    StartInstanceRefreshError::generic(ErrorMetadata::builder().code("Throttling").build())
}

fn started() -> StartInstanceRefreshOutput {
    StartInstanceRefreshOutput::builder()
        .instance_refresh_id("r-1")
        .build()
}

fn describe_throttled() -> DescribeInstanceRefreshesError {
    DescribeInstanceRefreshesError::generic(ErrorMetadata::builder().code("Throttling").build())
}

/// The user's retry configurations every key test runs under: no spec (2.0 behaviour), spec 2.0
/// and spec 2.1. Static exponential base, so the SDK's own delays are exact.
fn specs() -> Vec<(&'static str, RetryConfig)> {
    let base = || RetryConfig::standard().with_use_static_exponential_base(true);
    vec![
        ("unset", base()),
        ("2.0", base().with_retry_spec(RetrySpec::v2_0())),
        ("2.1", base().with_retry_spec(RetrySpec::v2_1())),
    ]
}

/// A token bucket like the SDK's for this spec: 2.0 costs 5 (10 for timeouts), 2.1 costs 14
/// (5 for throttling).
fn bucket(spec: &str, capacity: usize) -> TokenBucket {
    let b = TokenBucket::builder().capacity(capacity);
    if spec == "2.1" {
        b.retry_cost(14)
            .throttling_retry_cost(5)
            .timeout_retry_cost(14)
            .build()
    } else {
        b.build()
    }
}

/// A mock client with virtual time, the given user RetryConfig and its own retry partition.
struct Harness {
    sleep: InstantSleep,
    builder: Builder,
}

impl Harness {
    fn new(rules: &[&Rule], retry: RetryConfig, bucket: &TokenBucket) -> Harness {
        Harness::with_mode(RuleMode::Sequential, rules, retry, bucket)
    }

    fn with_mode(
        mode: RuleMode,
        rules: &[&Rule],
        retry: RetryConfig,
        bucket: &TokenBucket,
    ) -> Harness {
        let mut mock = MockResponseInterceptor::new().rule_mode(mode);
        for rule in rules {
            mock = mock.with_rule(rule);
        }
        let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
        let builder = aws_sdk_autoscaling::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(mock)
            // Its body-throughput checks would log 100 ms sleeps of their own.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .sleep_impl(SharedAsyncSleep::new(sleep.clone()))
            .time_source(SharedTimeSource::new(time))
            .retry_config(retry)
            .retry_partition(
                RetryPartition::custom("interceptor-tests")
                    .token_bucket(bucket.clone())
                    .build(),
            );
        Harness { sleep, builder }
    }

    fn plain(&self) -> Client {
        Client::from_conf(self.builder.clone().build())
    }

    fn installed(&self, retry: &InstanceRefreshRetryConfig) -> Client {
        Client::from_conf(self.builder.clone().instance_refresh_retry(retry).build())
    }

    /// Sleeps logged since the last call.
    fn take_sleeps(&self, seen: &mut usize) -> Vec<Duration> {
        let logs = self.sleep.logs();
        let new = logs[*seen..].to_vec();
        *seen = logs.len();
        new
    }
}

fn recorder() -> (Arc<Mutex<Vec<RetryStats>>>, InstanceRefreshRetryConfig) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (
        seen,
        InstanceRefreshRetryConfig::new(RetryPolicy::default()),
    )
}

fn with_recorder(policy: RetryPolicy) -> (Arc<Mutex<Vec<RetryStats>>>, InstanceRefreshRetryConfig) {
    let (seen, _) = recorder();
    let s = seen.clone();
    let config =
        InstanceRefreshRetryConfig::new(policy).on_finish(move |st| s.lock().unwrap().push(*st));
    (seen, config)
}

/// Long, jittered, seeded waits: minutes each, far past the SDK's 20 s `max_backoff` and its
/// spec-2.1 clamp.
fn long_policy(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .initial_delay(secs(60))
        .max_delay(secs(15 * 60))
        .jitter(Jitter::Equal)
        .seed(7)
        .max_attempts(attempts)
        .max_elapsed(secs(6 * 3600))
        .build()
        .unwrap()
}

#[tokio::test]
async fn waits_exactly_on_the_policy_schedule_under_every_spec() {
    for (spec, retry) in specs() {
        let policy = long_policy(100);
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(6)
            .output(started)
            .build();
        let tb = bucket(spec, 500);
        let h = Harness::new(&[&rule], retry, &tb);
        let (seen, config) = with_recorder(policy.clone());
        let out = h
            .installed(&config)
            .start_instance_refresh()
            .auto_scaling_group_name("web")
            .send()
            .await
            .unwrap();
        assert_eq!(out.instance_refresh_id(), Some("r-1"), "{spec}");
        let expected: Vec<Duration> = policy.delays().take(6).collect();
        assert!(
            expected.iter().all(|d| *d >= secs(30)),
            "{spec}: {expected:?}"
        );
        assert_eq!(h.sleep.logs(), expected, "{spec}");
        assert_eq!(rule.num_calls(), 7, "{spec}");
        let total: Duration = expected.iter().sum();
        assert_eq!(
            *seen.lock().unwrap(),
            [RetryStats::new(7, total, total, RetryOutcome::Succeeded)],
            "{spec}"
        );
        assert!(tb.is_full(), "{spec}: waits took retry quota");
    }
}

#[tokio::test]
async fn gives_up_at_max_attempts_with_the_sdk_error_and_stats() {
    let capture = Capture::default();
    let _guard = capture.install();
    for (spec, retry) in specs() {
        let policy = RetryPolicy::builder()
            .jitter(Jitter::None)
            .max_attempts(4)
            .build()
            .unwrap();
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(10)
            .build();
        let h = Harness::new(&[&rule], retry, &bucket(spec, 500));
        let err = h
            .plain()
            .start_instance_refresh()
            .auto_scaling_group_name("web")
            .send_with_retry(&policy)
            .await
            .unwrap_err();
        assert!(
            err.as_service_error()
                .unwrap()
                .is_instance_refresh_in_progress_fault(),
            "{spec}: {err:?}"
        );
        assert_eq!(rule.num_calls(), 4, "{spec}");
        assert_eq!(h.sleep.logs(), [secs(5), secs(10), secs(20)], "{spec}");
        assert_eq!(
            retry_stats(&err),
            Some(RetryStats::new(
                4,
                secs(35),
                secs(35),
                RetryOutcome::GaveUp(StopReason::MaxAttempts)
            )),
            "{spec}"
        );
    }
    // Same tracing events as the tower path: one INFO per wait, one WARN when giving up.
    let events = capture.all();
    let waits: Vec<_> = events
        .iter()
        .filter(|e| e.name == "operation blocked; retrying after a wait")
        .collect();
    assert_eq!(waits.len(), 9);
    assert_eq!(waits[0].field("attempt"), Some("1"));
    assert_eq!(waits[0].field("delay_ms"), Some("5000"));
    assert_eq!(
        waits[0].field("error_code"),
        Some("InstanceRefreshInProgress")
    );
    assert_eq!(waits[2].field("delay_ms"), Some("20000"));
    let gave_up: Vec<_> = events
        .iter()
        .filter(|e| e.name == "giving up; returning the last error")
        .collect();
    assert_eq!(gave_up.len(), 3);
    assert_eq!(gave_up[0].field("attempts"), Some("4"));
    assert_eq!(gave_up[0].field("waited_ms"), Some("35000"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "span" && e.name == "instance_refresh_retry")
            .count(),
        3
    );
}

#[tokio::test]
async fn gives_up_at_max_elapsed_measured_with_the_client_time_source() {
    let policy = RetryPolicy::builder()
        .jitter(Jitter::None)
        .max_elapsed(secs(100))
        .build()
        .unwrap();
    for (spec, retry) in specs() {
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(20)
            .build();
        let h = Harness::new(&[&rule], retry, &bucket(spec, 500));
        let client = with_instance_refresh_retry(&h.plain(), policy.clone());
        let err = client.start_instance_refresh().send().await.unwrap_err();
        // 5 + 10 + 20 + 40 + 25 (cut to the budget) = 100 s, then one last attempt.
        assert_eq!(
            h.sleep.logs(),
            [secs(5), secs(10), secs(20), secs(40), secs(25)],
            "{spec}"
        );
        assert_eq!(rule.num_calls(), 6, "{spec}");
        let stats = retry_stats(&err).unwrap();
        assert_eq!(stats.outcome, RetryOutcome::GaveUp(StopReason::MaxElapsed));
        assert_eq!(
            (stats.attempts, stats.waited, stats.elapsed),
            (6, secs(100), secs(100))
        );
    }
}

#[tokio::test]
async fn a_hundred_waits_leave_the_quota_and_other_operations_untouched() {
    let policy = RetryPolicy::builder()
        .initial_delay(secs(30))
        .jitter(Jitter::None)
        .multiplier(1.0)
        .max_delay(secs(30))
        .unlimited_elapsed()
        .max_attempts(1000)
        .build()
        .unwrap();
    for (spec, retry) in specs() {
        // Baseline: a client without the interceptor; DescribeInstanceRefreshes is throttled
        // three times. Capacity 10 allows exactly two throttling retries (5 tokens each).
        let describe = || {
            mock!(Client::describe_instance_refreshes)
                .sequence()
                .error(describe_throttled)
                .times(3)
                .output(|| DescribeInstanceRefreshesOutput::builder().build())
                .build()
        };
        let baseline_rule = describe();
        let baseline_bucket = bucket(spec, 10);
        let baseline = Harness::new(&[&baseline_rule], retry.clone(), &baseline_bucket);
        // Keep the client alive: its retry strategy holds the last retry's tokens until the
        // next call or until it is dropped.
        let baseline_client = baseline.plain();
        let r = baseline_client.describe_instance_refreshes().send().await;
        assert!(r.is_err(), "{spec}");
        let baseline_sleeps = baseline.sleep.logs();
        assert_eq!(baseline_rule.num_calls(), 3, "{spec}");
        assert_eq!(baseline_sleeps, [secs(1), secs(2)], "{spec}");
        assert!(baseline_bucket.is_empty(), "{spec}");

        // Same, after 100 waits on StartInstanceRefresh through the same client.
        let start = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(100)
            .output(started)
            .build();
        let describe_rule = describe();
        let tb = bucket(spec, 10);
        let h = Harness::new(&[&start, &describe_rule], retry, &tb);
        let client = h.installed(&InstanceRefreshRetryConfig::new(policy.clone()));
        let mut seen = 0;
        client.start_instance_refresh().send().await.unwrap();
        assert_eq!(start.num_calls(), 101, "{spec}");
        assert_eq!(h.take_sleeps(&mut seen), vec![secs(30); 100], "{spec}");
        assert!(tb.is_full(), "{spec}: 100 waits took retry quota");

        let r = client.describe_instance_refreshes().send().await;
        assert!(r.is_err(), "{spec}");
        assert_eq!(describe_rule.num_calls(), 3, "{spec}: attempts changed");
        assert_eq!(
            h.take_sleeps(&mut seen),
            baseline_sleeps,
            "{spec}: delays changed"
        );
        assert!(tb.is_empty(), "{spec}: quota use changed");
    }
}

#[tokio::test]
async fn throttling_while_waiting_keeps_the_sdk_limits_and_quota() {
    let policy = long_policy(1000);
    let waits: Vec<Duration> = policy.delays().take(3).collect();
    for (spec, retry) in specs() {
        // Baseline: throttled three times on a plain client: two retries, 1 s and 2 s.
        let baseline_rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(throttling)
            .times(3)
            .build();
        let baseline_bucket = bucket(spec, 10);
        let baseline = Harness::new(&[&baseline_rule], retry.clone(), &baseline_bucket);
        let baseline_client = baseline.plain();
        baseline_client
            .start_instance_refresh()
            .send()
            .await
            .unwrap_err();
        assert_eq!(baseline_rule.num_calls(), 3);
        assert_eq!(baseline.sleep.logs(), [secs(1), secs(2)], "{spec}");
        assert!(baseline_bucket.is_empty());

        // Three waits, then the same throttling: the same two retries, the same delays and the
        // same quota, not hundreds of retries.
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(3)
            .error(throttling)
            .times(3)
            .output(started)
            .build();
        let tb = bucket(spec, 10);
        let h = Harness::new(&[&rule], retry.clone(), &tb);
        let (seen, config) = with_recorder(policy.clone());
        let client = h.installed(&config);
        let err = client.start_instance_refresh().send().await.unwrap_err();
        assert_eq!(err.code(), Some("Throttling"), "{spec}");
        assert_eq!(rule.num_calls(), 6, "{spec}");
        let mut expected = waits.clone();
        expected.extend([secs(1), secs(2)]);
        assert_eq!(h.sleep.logs(), expected, "{spec}");
        assert!(tb.is_empty(), "{spec}: throttling retries must take quota");
        let stats = retry_stats(&err).unwrap();
        assert_eq!(stats.outcome, RetryOutcome::NotRetryable);
        // Three blocked attempts, and a fourth that the SDK retried twice: the SDK's own retries
        // belong to the attempt they retry.
        assert_eq!(stats.attempts, 4);
        assert_eq!(stats.waited, waits.iter().sum::<Duration>());
        assert_eq!(seen.lock().unwrap().as_slice(), [stats]);

        // Interleaved: the SDK's budget and backoff apply to each attempt on its own, as they
        // do to each inner call on the tower path (the same answers send the same requests on
        // both paths).
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(throttling)
            .error(in_progress)
            .error(throttling)
            .error(in_progress)
            .error(throttling)
            .output(started)
            .build();
        let h = Harness::new(&[&rule], retry.clone(), &bucket(spec, 500));
        let (seen, config) = with_recorder(policy.clone());
        let out = h
            .installed(&config)
            .start_instance_refresh()
            .send()
            .await
            .unwrap();
        assert_eq!(out.instance_refresh_id(), Some("r-1"), "{spec}");
        assert_eq!(rule.num_calls(), 6, "{spec}");
        assert_eq!(
            h.sleep.logs(),
            [secs(1), waits[0], secs(1), waits[1], secs(1)],
            "{spec}"
        );
        let stats = seen.lock().unwrap()[0];
        assert_eq!(
            (stats.attempts, stats.outcome),
            (3, RetryOutcome::Succeeded)
        );
    }
}

#[tokio::test]
async fn server_errors_while_waiting_take_quota_like_without_the_interceptor() {
    for (spec, retry) in specs() {
        // Capacity 14 pays for exactly one 500 retry (10 tokens under 2.0, 14 under 2.1).
        let baseline_rule = mock!(Client::start_instance_refresh)
            .sequence()
            .http_status(500, None)
            .times(3)
            .build();
        let baseline_bucket = bucket(spec, 14);
        let baseline = Harness::new(&[&baseline_rule], retry.clone(), &baseline_bucket);
        let baseline_client = baseline.plain();
        baseline_client
            .start_instance_refresh()
            .send()
            .await
            .unwrap_err();
        let baseline_sleeps = baseline.sleep.logs();
        assert_eq!(baseline_rule.num_calls(), 2, "{spec}");

        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(2)
            .http_status(500, None)
            .times(3)
            .build();
        let tb = bucket(spec, 14);
        let h = Harness::new(&[&rule], retry, &tb);
        let policy = RetryPolicy::builder().jitter(Jitter::None).build().unwrap();
        let client = h.installed(&InstanceRefreshRetryConfig::new(policy));
        let err = client.start_instance_refresh().send().await.unwrap_err();
        assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
        assert_eq!(rule.num_calls(), 4, "{spec}");
        let mut expected = vec![secs(5), secs(10)];
        expected.extend(baseline_sleeps);
        assert_eq!(h.sleep.logs(), expected, "{spec}");
        // One 500 retry paid from the client's quota, exactly like the baseline.
        assert!(!tb.is_full() && !baseline_bucket.is_full(), "{spec}");
        drop((client, baseline_client));
        assert!(tb.is_full() && baseline_bucket.is_full(), "{spec}");
    }
}

#[tokio::test]
async fn concurrent_calls_keep_their_own_schedules() {
    let policy = RetryPolicy::builder()
        .jitter(Jitter::Full)
        .seed(3)
        .build()
        .unwrap();
    let rules: Vec<Rule> = ["a", "b", "c"]
        .into_iter()
        .map(|g| {
            mock!(Client::start_instance_refresh)
                .match_requests(move |r| r.auto_scaling_group_name() == Some(g))
                .sequence()
                .error(in_progress)
                .times(3)
                .output(started)
                .build()
        })
        .collect();
    let rules: Vec<&Rule> = rules.iter().collect();
    let h = Harness::with_mode(
        RuleMode::MatchAny,
        &rules,
        RetryConfig::standard(),
        &TokenBucket::new(500),
    );
    let (seen, config) = with_recorder(policy.clone());
    let client = h.installed(&config);
    let call = |g: &'static str| {
        client
            .start_instance_refresh()
            .auto_scaling_group_name(g)
            .send()
    };
    let (a, b, c) = tokio::join!(call("a"), call("b"), call("c"));
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    let expected: Duration = policy.delays().take(3).sum();
    let stats = seen.lock().unwrap().clone();
    assert_eq!(stats.len(), 3);
    for s in stats {
        assert_eq!((s.attempts, s.waited), (4, expected));
    }
    assert!(rules.iter().all(|r| r.num_calls() == 4));
}

#[tokio::test]
async fn related_operations_are_opt_in() {
    use aws_sdk_autoscaling::operation::attach_load_balancer_target_groups::{
        AttachLoadBalancerTargetGroupsError, AttachLoadBalancerTargetGroupsOutput,
    };
    use aws_sdk_autoscaling::operation::attach_load_balancers::{
        AttachLoadBalancersError, AttachLoadBalancersOutput,
    };
    use aws_sdk_autoscaling::operation::attach_traffic_sources::{
        AttachTrafficSourcesError, AttachTrafficSourcesOutput,
    };
    use aws_sdk_autoscaling::operation::put_warm_pool::{PutWarmPoolError, PutWarmPoolOutput};

    macro_rules! check {
        ($op:ident, $err:ident, $out:ident) => {{
            let fault = || {
                $err::InstanceRefreshInProgressFault(
                    InstanceRefreshInProgressFault::builder().build(),
                )
            };
            let policy = RetryPolicy::builder().jitter(Jitter::None).build().unwrap();
            for related in [false, true] {
                let rule = mock!(Client::$op)
                    .sequence()
                    .error(fault)
                    .times(2)
                    .output(|| $out::builder().build())
                    .build();
                let h = Harness::new(&[&rule], RetryConfig::standard(), &TokenBucket::new(500));
                let config =
                    InstanceRefreshRetryConfig::new(policy.clone()).related_operations(related);
                let result = h.installed(&config).$op().send().await;
                if related {
                    assert!(result.is_ok(), "{}", stringify!($op));
                    assert_eq!(rule.num_calls(), 3);
                    assert_eq!(h.sleep.logs(), [secs(5), secs(10)]);
                } else {
                    let err = result.unwrap_err();
                    assert!(
                        err.as_service_error()
                            .unwrap()
                            .is_instance_refresh_in_progress_fault()
                    );
                    assert_eq!(retry_stats(&err), None);
                    assert_eq!(rule.num_calls(), 1);
                    assert!(h.sleep.logs().is_empty());
                }
            }
        }};
    }
    check!(put_warm_pool, PutWarmPoolError, PutWarmPoolOutput);
    check!(
        attach_load_balancers,
        AttachLoadBalancersError,
        AttachLoadBalancersOutput
    );
    check!(
        attach_load_balancer_target_groups,
        AttachLoadBalancerTargetGroupsError,
        AttachLoadBalancerTargetGroupsOutput
    );
    check!(
        attach_traffic_sources,
        AttachTrafficSourcesError,
        AttachTrafficSourcesOutput
    );
}

#[tokio::test]
async fn per_call_settings_win_over_the_client_wide_ones() {
    let client_wide = RetryPolicy::builder().max_attempts(2).build().unwrap();
    let per_call = RetryPolicy::builder()
        .jitter(Jitter::None)
        .max_attempts(4)
        .build()
        .unwrap();
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(in_progress)
        .times(3)
        .output(started)
        .build();
    let h = Harness::new(&[&rule], RetryConfig::standard(), &TokenBucket::new(500));
    let client = h.installed(&InstanceRefreshRetryConfig::new(client_wide));
    client
        .start_instance_refresh()
        .send_with_retry(&per_call)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 4);
    assert_eq!(h.sleep.logs(), [secs(5), secs(10), secs(20)]);
}

#[tokio::test]
async fn custom_classifier_waits_out_extra_codes() {
    let rule = mock!(Client::start_instance_refresh)
        .sequence()
        .error(|| {
            StartInstanceRefreshError::ResourceContentionFault(
                aws_sdk_autoscaling::types::error::ResourceContentionFault::builder().build(),
            )
        })
        .times(2)
        .output(started)
        .build();
    let h = Harness::new(&[&rule], RetryConfig::standard(), &TokenBucket::new(500));
    let config = InstanceRefreshRetryConfig::new(
        RetryPolicy::builder().jitter(Jitter::None).build().unwrap(),
    )
    .classifier(instance_refresh_retry::Classifier::default().with_code("ResourceContention"));
    h.plain()
        .start_instance_refresh()
        .send_with_retry(&config)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 3);
    assert_eq!(h.sleep.logs(), [secs(5), secs(10)]);
}

#[tokio::test(start_paused = true)]
async fn operation_timeout_bounds_the_whole_wait() {
    for (spec, retry) in specs() {
        let rule = mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(20)
            .build();
        let mock = MockResponseInterceptor::new().with_rule(&rule);
        let (seen, config) =
            with_recorder(RetryPolicy::builder().jitter(Jitter::None).build().unwrap());
        let start = tokio::time::Instant::now();
        let client = Client::from_conf(
            aws_sdk_autoscaling::Config::builder()
                .with_test_defaults_v2()
                .http_client(create_mock_http_client())
                .interceptor(mock)
                .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
                .time_source(SharedTimeSource::new(TokioTime::new()))
                .retry_config(retry)
                .timeout_config(TimeoutConfig::builder().operation_timeout(secs(60)).build())
                .instance_refresh_retry(&config)
                .build(),
        );
        let err = client.start_instance_refresh().send().await.unwrap_err();
        assert!(matches!(err, SdkError::TimeoutError(_)), "{spec}: {err:?}");
        // The interceptor tells the operation timeout from an attempt timeout by this message
        // (its own clock can read a little less than the timeout's on a real clock).
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            source
                .as_deref()
                .is_some_and(|s| s.starts_with("operation timeout (")),
            "{spec}: {source:?}"
        );
        assert_eq!(start.elapsed(), secs(60), "{spec}");
        // Attempts at 0, 5, 15 and 35 s; the 40 s wait is cut at 60 s.
        assert_eq!(rule.num_calls(), 4, "{spec}");
        assert_eq!(retry_stats(&err), None);
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            [RetryStats::new(
                4,
                secs(60),
                secs(60),
                RetryOutcome::TimedOut
            )],
            "{spec}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn sdk_path_and_tower_path_wait_the_same_delays() {
    let policy = RetryPolicy::builder()
        .jitter(Jitter::Full)
        .seed(2024)
        .max_attempts(12)
        .build()
        .unwrap();
    let expected: Vec<Duration> = policy.delays().collect();
    assert_eq!(expected.len(), 11);
    let rule = || {
        mock!(Client::start_instance_refresh)
            .sequence()
            .error(in_progress)
            .times(11)
            .output(started)
            .build()
    };

    // SDK path: the interceptor, instant virtual time.
    let sdk_rule = rule();
    let h = Harness::new(
        &[&sdk_rule],
        RetryConfig::standard(),
        &TokenBucket::new(500),
    );
    let (sdk_seen, config) = with_recorder(policy.clone());
    h.installed(&config)
        .start_instance_refresh()
        .send()
        .await
        .unwrap();
    assert_eq!(h.sleep.logs(), expected);

    // Tower path: the layer over the SDK service, on paused tokio time. Each attempt records the
    // instant it starts.
    let tower_rule = rule();
    let plain = Harness::new(
        &[&tower_rule],
        RetryConfig::disabled(),
        &TokenBucket::new(500),
    )
    .plain();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let tower_seen = Arc::new(Mutex::new(Vec::new()));
    let s = tower_seen.clone();
    let recorded = starts.clone();
    let svc = tower::ServiceBuilder::new()
        .layer(
            InstanceRefreshRetryLayer::new(policy.clone())
                .on_finish(move |st| s.lock().unwrap().push(*st)),
        )
        .map_request(move |req| {
            recorded.lock().unwrap().push(tokio::time::Instant::now());
            req
        })
        .service(StartInstanceRefreshService::new(plain));
    use tower::ServiceExt;
    let input =
        aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput::builder(
        )
        .auto_scaling_group_name("web")
        .build()
        .unwrap();
    svc.oneshot(input).await.unwrap();
    let starts = starts.lock().unwrap().clone();
    let tower_delays: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(tower_delays, expected);

    let sdk = sdk_seen.lock().unwrap()[0];
    let tower = tower_seen.lock().unwrap()[0];
    assert_eq!(
        (sdk.attempts, sdk.waited, sdk.outcome),
        (tower.attempts, tower.waited, tower.outcome)
    );
    assert_eq!(sdk.waited, expected.iter().sum::<Duration>());
}

/// Pins the one quota effect a wait has, as documented under "Differences from the SDK's retry":
/// the SDK's strategy holds a single retry permit per client, and every retry it grants, a wait
/// included, replaces (forfeits) the permit it held. A throttling retry followed directly by a
/// wait therefore loses the refund that a later success would have given it. The wait itself
/// takes nothing.
#[tokio::test]
async fn a_wait_right_after_a_throttling_retry_forfeits_that_retrys_refund() {
    /// Runs one StartInstanceRefresh that fails with `errors` in turn, then succeeds, against a
    /// bucket that holds exactly one throttling retry; returns that bucket.
    async fn bucket_after(
        spec: &str,
        retry: &RetryConfig,
        errors: &[fn() -> StartInstanceRefreshError],
        install: Option<&InstanceRefreshRetryConfig>,
    ) -> TokenBucket {
        let mut sequence = mock!(Client::start_instance_refresh).sequence();
        for error in errors {
            sequence = sequence.error(*error);
        }
        let rule = sequence.output(started).build();
        let tb = bucket(spec, 5);
        let h = Harness::new(&[&rule], retry.clone(), &tb);
        let client = install.map_or_else(|| h.plain(), |config| h.installed(config));
        client.start_instance_refresh().send().await.unwrap();
        assert_eq!(rule.num_calls(), errors.len() + 1, "{spec}");
        tb
    }

    let config = InstanceRefreshRetryConfig::new(
        RetryPolicy::builder().jitter(Jitter::None).build().unwrap(),
    );
    for (spec, retry) in specs() {
        // Plain SDK: throttled, retried (5 tokens held), and the success refunds them.
        let tb = bucket_after(spec, &retry, &[throttling], None).await;
        assert!(
            tb.is_full(),
            "{spec}: the success refunds the throttling retry"
        );
        // Throttled, then blocked and waited out, then success: the wait's permit replaced the
        // throttling retry's, so its 5 tokens are not refunded.
        let tb = bucket_after(spec, &retry, &[throttling, in_progress], Some(&config)).await;
        assert!(
            tb.is_empty(),
            "{spec}: the throttling retry's tokens were forfeited"
        );
        // Blocked first, then throttled, then success: the wait took nothing, the refund arrived.
        let tb = bucket_after(spec, &retry, &[in_progress, throttling], Some(&config)).await;
        assert!(tb.is_full(), "{spec}: nothing lost");
    }
}
