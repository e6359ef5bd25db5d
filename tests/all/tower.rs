//! The tower path: `InstanceRefreshRetryLayer` on paused tokio time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instance_refresh_retry::{
    Classifier, InstanceRefreshRetryLayer, Jitter, RetryOutcome, RetryPolicy, RetryStats,
    StopReason,
};
use tokio::time::Instant;
use tower::{Layer, ServiceExt, service_fn};

use crate::support::{Capture, StartError, in_progress, validation_error};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn no_jitter() -> instance_refresh_retry::RetryPolicyBuilder {
    RetryPolicy::builder().jitter(Jitter::None)
}

/// A fake StartInstanceRefresh that is blocked for the first `blocked` calls of each request.
/// The request is (request number, blocked calls); it records the virtual time of each call.
fn fake(
    log: Arc<Mutex<Vec<(u32, Duration)>>>,
    start: Instant,
) -> impl tower::Service<(u32, u32), Response = String, Error = StartError, Future: Send> + Clone {
    let calls: Arc<Mutex<std::collections::HashMap<u32, u32>>> = Arc::default();
    service_fn(move |(id, blocked): (u32, u32)| {
        let calls = calls.clone();
        let log = log.clone();
        async move {
            let n = {
                let mut calls = calls.lock().unwrap();
                let n = calls.entry(id).or_default();
                *n += 1;
                *n
            };
            log.lock().unwrap().push((id, start.elapsed()));
            if n <= blocked {
                Err(in_progress(&format!("req-{id}-{n}")))
            } else {
                Ok(format!("refresh-{id}"))
            }
        }
    })
}

fn stats_sink() -> (
    Arc<Mutex<Vec<RetryStats>>>,
    impl Fn(&RetryStats) + Send + Sync + 'static,
) {
    let sink: Arc<Mutex<Vec<RetryStats>>> = Arc::default();
    let s = sink.clone();
    (sink, move |st: &RetryStats| s.lock().unwrap().push(*st))
}

#[tokio::test(start_paused = true)]
async fn retries_until_success_with_exact_virtual_times() {
    let start = Instant::now();
    let log = Arc::default();
    let (stats, on_finish) = stats_sink();
    let policy = no_jitter().build().unwrap();
    let svc = InstanceRefreshRetryLayer::new(policy)
        .on_finish(on_finish)
        .layer(fake(Arc::clone(&log), start));

    let out = svc.oneshot((1, 4)).await.unwrap();

    assert_eq!(out, "refresh-1");
    // Waits 5, 10, 20, 40 s: calls at 0, 5, 15, 35, 75 s of virtual time.
    let times: Vec<u64> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.as_secs())
        .collect();
    assert_eq!(times, [0, 5, 15, 35, 75]);
    assert_eq!(start.elapsed(), secs(75));
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            5,
            secs(75),
            secs(75),
            RetryOutcome::Succeeded
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_waits_exactly_the_policy_delays() {
    let start = Instant::now();
    let log = Arc::default();
    let policy = RetryPolicy::builder()
        .jitter(Jitter::Decorrelated)
        .seed(2026)
        .build()
        .unwrap();
    let expected: Vec<Duration> = policy.delays().take(6).collect();
    let svc = InstanceRefreshRetryLayer::new(policy).layer(fake(Arc::clone(&log), start));

    svc.oneshot((1, 6)).await.unwrap();

    let times: Vec<Duration> = log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    let waits: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(waits, expected);
}

#[tokio::test(start_paused = true)]
async fn gives_up_at_max_elapsed_with_the_last_error_unchanged() {
    let start = Instant::now();
    let log = Arc::default();
    let (stats, on_finish) = stats_sink();
    let policy = no_jitter().max_elapsed(secs(3 * 3600)).build().unwrap();
    let svc = InstanceRefreshRetryLayer::new(policy)
        .on_finish(on_finish)
        .layer(fake(Arc::clone(&log), start));

    let err = svc.oneshot((7, u32::MAX)).await.unwrap_err();

    // Three hours of waiting, not a second more.
    assert_eq!(start.elapsed(), secs(3 * 3600));
    // 5+10+20+40+80 = 155 s, then 120 s waits: 88 of them reach 10 715 s, the last is cut to 85 s.
    let calls = log.lock().unwrap().len();
    assert_eq!(calls, 1 + 5 + 88 + 1);
    let last = log.lock().unwrap().last().unwrap().1;
    assert_eq!(last, secs(3 * 3600));
    // The caller gets the SDK error itself, from the last attempt.
    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(
        aws_sdk_autoscaling::operation::RequestId::request_id(err.as_service_error().unwrap()),
        Some(format!("req-7-{calls}").as_str())
    );
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            calls as u32,
            secs(3 * 3600),
            secs(3 * 3600),
            RetryOutcome::GaveUp(StopReason::MaxElapsed)
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn gives_up_at_max_attempts() {
    let start = Instant::now();
    let log = Arc::default();
    let policy = no_jitter().max_attempts(3).build().unwrap();
    let svc = InstanceRefreshRetryLayer::new(policy).layer(fake(Arc::clone(&log), start));

    let err = svc.oneshot((1, u32::MAX)).await.unwrap_err();

    assert!(
        err.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(log.lock().unwrap().len(), 3);
    assert_eq!(start.elapsed(), secs(15));
}

#[tokio::test(start_paused = true)]
async fn non_retryable_error_passes_through_after_one_call() {
    let calls = Arc::new(AtomicU32::new(0));
    let (stats, on_finish) = stats_sink();
    let c = calls.clone();
    let inner = service_fn(move |_: ()| {
        c.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>(validation_error()) }
    });
    let start = Instant::now();
    let svc = InstanceRefreshRetryLayer::new(RetryPolicy::default())
        .on_finish(on_finish)
        .layer(inner);

    let err = svc.oneshot(()).await.unwrap_err();

    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&err),
        Some("ValidationError")
    );
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
async fn extra_codes_are_retried() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let inner = service_fn(move |_: ()| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                let meta = aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ResourceContention")
                    .build();
                Err(StartError::service_error(
                    aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError::generic(meta),
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
                        500.try_into().unwrap(),
                        aws_smithy_types::body::SdkBody::empty(),
                    ),
                ))
            } else {
                Ok(())
            }
        }
    });
    let start = Instant::now();
    let svc = InstanceRefreshRetryLayer::new(no_jitter().build().unwrap())
        .classifier(Classifier::default().with_code("ResourceContention"))
        .layer(inner);
    svc.oneshot(()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), secs(15));
}

#[tokio::test(start_paused = true)]
async fn hundred_concurrent_calls_stay_independent() {
    let start = Instant::now();
    let log: Arc<Mutex<Vec<(u32, Duration)>>> = Arc::default();
    let (stats, on_finish) = stats_sink();
    let policy = no_jitter().max_attempts(6).build().unwrap();
    let svc = InstanceRefreshRetryLayer::new(policy)
        .on_finish(on_finish)
        .layer(fake(Arc::clone(&log), start));

    // Request i is blocked i % 7 times: up to 5 blocked calls succeed on a later attempt; 6 exhausts
    // the 6 attempts.
    let calls = (0..100u32).map(|i| svc.clone().oneshot((i, i % 7)));
    let results = futures_join_all(calls).await;

    let cumulative = [0u64, 5, 15, 35, 75, 155];
    for (i, result) in results.iter().enumerate() {
        let i = i as u32;
        let blocked = i % 7;
        let times: Vec<u64> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| *id == i)
            .map(|(_, t)| t.as_secs())
            .collect();
        if blocked <= 5 {
            assert!(result.is_ok(), "request {i}: {result:?}");
            assert_eq!(times, cumulative[..=blocked as usize], "request {i}");
        } else {
            assert!(result.is_err(), "request {i}");
            assert_eq!(times, cumulative, "request {i}");
        }
    }
    let stats = stats.lock().unwrap();
    assert_eq!(stats.len(), 100);
    let gave_up = stats
        .iter()
        .filter(|s| s.outcome == RetryOutcome::GaveUp(StopReason::MaxAttempts))
        .count();
    assert_eq!(gave_up, (0..100).filter(|i| i % 7 == 6).count());
    // The whole batch took as long as the slowest single call.
    assert_eq!(start.elapsed(), secs(155));
}

/// `futures::future::join_all` without the dependency: spawn and await in order.
async fn futures_join_all<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn one_span_per_call_and_one_event_per_retry() {
    let capture = Capture::default();
    let _guard = capture.install();
    let start = Instant::now();
    let svc = InstanceRefreshRetryLayer::new(no_jitter().max_attempts(3).build().unwrap())
        .layer(fake(Arc::default(), start));

    let _ = svc.oneshot((9, u32::MAX)).await.unwrap_err();

    let all = capture.all();
    let spans: Vec<_> = all.iter().filter(|c| c.kind == "span").collect();
    assert_eq!(spans.len(), 1, "{all:#?}");
    assert_eq!(spans[0].name, "instance_refresh_retry");
    let retries: Vec<_> = all
        .iter()
        .filter(|c| c.kind == "event" && c.name.contains("retrying"))
        .collect();
    assert_eq!(retries.len(), 2, "{all:#?}");
    for (n, e) in retries.iter().enumerate() {
        assert_eq!(e.field("attempt"), Some((n + 1).to_string().as_str()));
        assert_eq!(e.field("delay_ms"), Some(["5000", "10000"][n]));
        assert_eq!(e.field("error_code"), Some("InstanceRefreshInProgress"));
        assert_eq!(
            e.field("request_id"),
            Some(format!("req-9-{}", n + 1).as_str())
        );
    }
    let gave_up: Vec<_> = all
        .iter()
        .filter(|c| c.name.contains("giving up"))
        .collect();
    assert_eq!(gave_up.len(), 1);
    assert_eq!(gave_up[0].field("attempts"), Some("3"));
    assert_eq!(gave_up[0].field("waited_ms"), Some("15000"));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_above_the_layer_reports_cancelled_with_the_time_actually_waited() {
    let start = Instant::now();
    let log = Arc::default();
    let (stats, on_finish) = stats_sink();
    let svc = tower::ServiceBuilder::new()
        .timeout(secs(100))
        .layer(InstanceRefreshRetryLayer::new(no_jitter().build().unwrap()).on_finish(on_finish))
        .service(fake(Arc::clone(&log), start));

    let err = svc.oneshot((1, u32::MAX)).await.unwrap_err();

    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    assert_eq!(start.elapsed(), secs(100));
    // Calls at 0, 5, 15, 35 and 75 s; the 80 s wait that followed was cut after 25 s.
    assert_eq!(log.lock().unwrap().len(), 5);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            5,
            secs(100),
            secs(100),
            RetryOutcome::Cancelled
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_during_an_attempt_reports_that_attempt() {
    let (stats, on_finish) = stats_sink();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    // Blocked once, then the second attempt hangs for 50 s.
    let inner = service_fn(move |_: ()| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                return Err(in_progress("req-1"));
            }
            tokio::time::sleep(secs(50)).await;
            Ok(())
        }
    });
    let start = Instant::now();
    let svc = tower::ServiceBuilder::new()
        .timeout(secs(30))
        .layer(InstanceRefreshRetryLayer::new(no_jitter().build().unwrap()).on_finish(on_finish))
        .service(inner);

    let err = svc.oneshot(()).await.unwrap_err();

    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), secs(30));
    // The 5 s wait, then the second attempt was in flight for 25 s.
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            2,
            secs(5),
            secs(30),
            RetryOutcome::Cancelled
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn a_future_dropped_unpolled_reports_the_call_it_made() {
    let (stats, on_finish) = stats_sink();
    let mut svc = InstanceRefreshRetryLayer::new(RetryPolicy::default())
        .on_finish(on_finish)
        .layer(service_fn(|_: ()| async { Ok::<_, StartError>(()) }));
    let future = tower::Service::call(&mut svc, ());
    drop(future);
    assert_eq!(
        *stats.lock().unwrap(),
        [RetryStats::new(
            1,
            Duration::ZERO,
            Duration::ZERO,
            RetryOutcome::Cancelled
        )]
    );
}
