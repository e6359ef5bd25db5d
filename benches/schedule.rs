//! The cost of the policy core and of the tower layer on the happy path.

// `SdkError` is large; it is the error type being measured, so boxing it would change the subject.
#![allow(clippy::result_large_err)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use instance_refresh_retry::{Decision, InstanceRefreshRetryLayer, Jitter, RetryPolicy};
use tower::{Layer, Service, ServiceExt, service_fn};

fn schedule(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule/on_failure x100");
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let policy = RetryPolicy::builder()
            .jitter(jitter)
            .seed(1)
            .unlimited_elapsed()
            .build()
            .unwrap();
        group.bench_function(format!("{jitter:?}"), |b| {
            b.iter(|| {
                let mut s = policy.schedule();
                let mut total = Duration::ZERO;
                for _ in 0..100 {
                    if let Decision::RetryAfter(d) = s.on_failure(total) {
                        total += d;
                    }
                }
                black_box(total)
            })
        });
    }
    group.finish();
}

fn layer_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    type Err = aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >;
    let inner = service_fn(|x: u64| async move { Ok::<_, Err>(x + 1) });
    let mut wrapped = InstanceRefreshRetryLayer::new(RetryPolicy::default()).layer(inner);
    let mut bare = inner;
    let mut group = c.benchmark_group("tower/success, first attempt");
    group.bench_function("bare service", |b| {
        b.iter(|| rt.block_on(async { bare.ready().await.unwrap().call(black_box(1)).await }))
    });
    group.bench_function("with InstanceRefreshRetryLayer", |b| {
        b.iter(|| rt.block_on(async { wrapped.ready().await.unwrap().call(black_box(1)).await }))
    });
    group.finish();
}

criterion_group!(benches, schedule, layer_overhead);
criterion_main!(benches);
