//! The success-path overhead of both integrations, side by side in one run.
//!
//! - `overhead_tower`: `call` plus ONE poll (with a no-op waker, inside a tokio runtime context)
//!   of a service whose future is `std::future::ready(Ok(..))`: bare, wrapped in
//!   `tower::retry::Retry` with a policy that never retries, wrapped in
//!   `InstanceRefreshRetryLayer`, and the same with an `on_finish` callback (which reads the
//!   clock). Target: ours ≤ `tower::retry` + 2 ns.
//! - `overhead_sdk`: one `StartInstanceRefresh` against an in-memory HTTP client answering 200
//!   with a valid body, without and with `.instance_refresh_retry(..)`. Target: ≤ ×1.02.
//!
//! After the criterion groups, a markdown summary puts the medians side by side: criterion's
//! medians (read back from its `estimates.json` files written by this run) and, separately and
//! labelled as such, medians of interleaved `std::time::Instant` loops.
//!
//! Run with `cargo bench --bench overhead` (about a minute of measuring).

// `SdkError` is large; it is the error type being measured, so boxing it would change the subject.
#![allow(clippy::result_large_err)]

use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_autoscaling::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use criterion::Criterion;

#[path = "report/mod.rs"]
mod report;
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryLayer, RetryPolicy, StartInstanceRefreshSdkError,
};
use tokio::runtime::Runtime;
use tower::retry::{Policy, Retry};
use tower::{Layer, Service, service_fn};

const TOWER_GROUP: &str = "overhead_tower";
const SDK_GROUP: &str = "overhead_sdk";

/// tests/fixtures/wire/start_ok.xml, with a short request id.
const START_OK: &str = concat!(
    r#"<StartInstanceRefreshResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">"#,
    "<StartInstanceRefreshResult>",
    "<InstanceRefreshId>a6daf44f-3a2a-47a6-ae05-153de6c69b78</InstanceRefreshId>",
    "</StartInstanceRefreshResult>",
    "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>",
    "</StartInstanceRefreshResponse>",
);

type Err = StartInstanceRefreshSdkError;

/// A `tower::retry` policy that never retries: the baseline for "a retry layer that did nothing".
#[derive(Clone, Copy, Debug)]
struct NeverRetry;

impl<Req: Clone, Res, E> Policy<Req, Res, E> for NeverRetry {
    type Future = Ready<()>;

    fn retry(&mut self, _req: &mut Req, _result: &mut Result<Res, E>) -> Option<Self::Future> {
        None
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

fn inner_fn(x: u64) -> Ready<Result<u64, Err>> {
    ready(Ok(x + 1))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Drives `svc` to readiness once; every service here is always ready, so the measured work
/// can be `call` plus one poll.
fn make_ready<S: Service<u64>>(mut svc: S) -> S
where
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(r) => r.unwrap(),
        Poll::Pending => panic!("the service is not ready"),
    }
    svc
}

/// The measured unit of the tower group: `call` and ONE poll of the returned future, which must
/// complete on that poll (the future is dropped inside the measurement too).
#[inline(always)]
fn call_once<S>(svc: &mut S, cx: &mut Context<'_>) -> u64
where
    S: Service<u64, Response = u64, Error = Err>,
{
    let fut = pin!(svc.call(black_box(1)));
    match fut.poll(cx) {
        Poll::Ready(Ok(v)) => v,
        Poll::Ready(Err(e)) => panic!("the call failed: {e}"),
        Poll::Pending => panic!("the call did not complete on its first poll"),
    }
}

/// The four tower variants behind one closure type each, for the `Instant` loops, where every
/// variant pays the same indirect call. (Criterion measures the concrete services.)
struct TowerVariants {
    bare: Box<dyn FnMut() -> u64>,
    tower_retry: Box<dyn FnMut() -> u64>,
    ours: Box<dyn FnMut() -> u64>,
    ours_on_finish: Box<dyn FnMut() -> u64>,
}

/// Our layer over `inner_fn`, as measured: with the defaults, or with an `on_finish`.
fn ours(variant: &str) -> impl Service<u64, Response = u64, Error = Err> + 'static {
    let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default());
    let layer = match variant {
        "ours" => layer,
        "ours_on_finish" => layer.on_finish(|_| {}),
        other => unreachable!("no variant {other}"),
    };
    make_ready(layer.layer(service_fn(inner_fn)))
}

fn tower_variants() -> TowerVariants {
    fn boxed<S>(mut svc: S) -> Box<dyn FnMut() -> u64>
    where
        S: Service<u64, Response = u64, Error = Err> + 'static,
    {
        let mut cx = Context::from_waker(Waker::noop());
        Box::new(move || call_once(&mut svc, &mut cx))
    }
    TowerVariants {
        bare: boxed(make_ready(service_fn(inner_fn))),
        tower_retry: boxed(make_ready(Retry::new(NeverRetry, service_fn(inner_fn)))),
        ours: boxed(ours("ours")),
        ours_on_finish: boxed(ours("ours_on_finish")),
    }
}

fn tower_group(c: &mut Criterion, rt: &Runtime) {
    let _guard = rt.enter();
    let mut cx = Context::from_waker(Waker::noop());
    let mut group = c.benchmark_group(TOWER_GROUP);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(100);

    let mut bare = make_ready(service_fn(inner_fn));
    group.bench_function("bare", |b| b.iter(|| call_once(&mut bare, &mut cx)));

    let mut tower_retry = make_ready(Retry::new(NeverRetry, service_fn(inner_fn)));
    group.bench_function("tower_retry", |b| {
        b.iter(|| call_once(&mut tower_retry, &mut cx))
    });

    for variant in ["ours", "ours_on_finish"] {
        let mut svc = ours(variant);
        group.bench_function(variant, |b| b.iter(|| call_once(&mut svc, &mut cx)));
    }

    group.finish();
}

/// An SDK client over an in-memory HTTP client that answers every request with 200 and
/// `START_OK`; `with_retry` installs the interceptor.
fn sdk_client(with_retry: bool) -> aws_sdk_autoscaling::Client {
    let http_client = infallible_client_fn(|_req| {
        HttpResponse::new(200.try_into().unwrap(), SdkBody::from(START_OK.as_bytes()))
            .try_into_http1x()
            .unwrap()
    });
    let builder = aws_sdk_autoscaling::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
        .http_client(http_client);
    let builder = if with_retry {
        builder.instance_refresh_retry(RetryPolicy::default())
    } else {
        builder
    };
    aws_sdk_autoscaling::Client::from_conf(builder.build())
}

fn sdk_call(rt: &Runtime, client: &aws_sdk_autoscaling::Client) -> usize {
    let out = rt
        .block_on(
            client
                .start_instance_refresh()
                .auto_scaling_group_name(black_box("web"))
                .send(),
        )
        .expect("StartInstanceRefresh succeeds against the in-memory client");
    out.instance_refresh_id().map_or(0, str::len)
}

fn sdk_group(c: &mut Criterion, rt: &Runtime) {
    let plain = sdk_client(false);
    let with_retry = sdk_client(true);
    // Both answer, and the same thing.
    assert_eq!(sdk_call(rt, &plain), sdk_call(rt, &with_retry));

    let mut group = c.benchmark_group(SDK_GROUP);
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .sample_size(100);
    group.bench_function("plain", |b| b.iter(|| sdk_call(rt, &plain)));
    group.bench_function("with_interceptor", |b| b.iter(|| sdk_call(rt, &with_retry)));
    group.finish();
}

/// Criterion's median for `group/function` in ns, if this run wrote it (not a stale file from an
/// earlier run or a filtered-out benchmark).
fn criterion_median(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let base = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .or_else(|| {
            // target/release/deps/overhead-<hash> → target/criterion
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let path = base.join(group).join(function).join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Medians over `rounds` of ns per iteration, each round running every variant for `iters`
/// iterations in turn (interleaved, so drift on a busy machine hits all variants alike).
fn interleaved_medians(
    variants: &mut [&mut dyn FnMut() -> u64],
    rounds: usize,
    iters: u32,
) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        // Alternate the order too, so no variant always runs first.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..variants.len()).collect()
        } else {
            (0..variants.len()).rev().collect()
        };
        for i in order {
            let f = &mut variants[i];
            let start = Instant::now();
            let mut acc = 0u64;
            for _ in 0..iters {
                acc = acc.wrapping_add(f());
            }
            let elapsed = start.elapsed();
            black_box(acc);
            samples[i].push(elapsed.as_nanos() as f64 / f64::from(iters));
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

fn fmt_ns(v: Option<f64>) -> String {
    match v {
        Some(ns) if ns >= 10_000.0 => format!("{:.2} µs", ns / 1000.0),
        Some(ns) => format!("{ns:.2} ns"),
        None => "–".to_owned(),
    }
}

/// The side-by-side table (markdown), and the medians the charts draw: criterion's where this run
/// wrote them, else the `Instant` loops'.
struct Summary {
    markdown: String,
    tower: Vec<(&'static str, f64)>,
    sdk: Vec<(&'static str, f64)>,
}

fn summary(rt: &Runtime, since: SystemTime) -> Summary {
    let mut out = String::new();
    // One line of the report.
    macro_rules! say {
        ($($arg:tt)*) => {{
            out.push_str(&format!($($arg)*));
            out.push('\n');
        }};
    }
    const TOWER_ROUNDS: usize = 21;
    const TOWER_ITERS: u32 = 200_000;
    const SDK_ROUNDS: usize = 21;
    const SDK_ITERS: u32 = 1_000;

    // Instant loops, tower: interleaved rounds of 200k call+poll each.
    let tower_instant = {
        let _guard = rt.enter();
        let TowerVariants {
            mut bare,
            mut tower_retry,
            mut ours,
            mut ours_on_finish,
        } = tower_variants();
        let mut all: [&mut dyn FnMut() -> u64; 4] =
            [&mut bare, &mut tower_retry, &mut ours, &mut ours_on_finish];
        interleaved_medians(&mut all, 1, 20_000); // warm-up
        interleaved_medians(&mut all, TOWER_ROUNDS, TOWER_ITERS)
    };

    // Instant loops, SDK: interleaved rounds of 1k calls each.
    let sdk_instant = {
        let plain = sdk_client(false);
        let with_retry = sdk_client(true);
        let mut f_plain = || sdk_call(rt, &plain) as u64;
        let mut f_with = || sdk_call(rt, &with_retry) as u64;
        interleaved_medians(&mut [&mut f_plain, &mut f_with], 1, 200); // warm-up
        interleaved_medians(&mut [&mut f_plain, &mut f_with], SDK_ROUNDS, SDK_ITERS)
    };

    let crit = |g: &str, f: &str| criterion_median(g, f, since);
    let tower_names = ["bare", "tower_retry", "ours", "ours_on_finish"];
    let tower_crit: Vec<Option<f64>> = tower_names.iter().map(|f| crit(TOWER_GROUP, f)).collect();
    let sdk_names = ["plain", "with_interceptor"];
    let sdk_crit: Vec<Option<f64>> = sdk_names.iter().map(|f| crit(SDK_GROUP, f)).collect();

    let diff = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
    let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
    let signed = |v: Option<f64>| v.map_or("–".to_owned(), |d| format!("{d:+.2} ns"));
    let times = |v: Option<f64>| v.map_or("–".to_owned(), |r| format!("×{r:.4}"));

    out.push('\n');
    say!("## Success-path overhead");
    out.push('\n');
    say!("(a) tower: `call` + one poll, ready inner future. Target: ours − tower::retry ≤ +2 ns.");
    say!(
        "Criterion: median of its samples. Instant loops: median over {TOWER_ROUNDS} interleaved \
         rounds of {TOWER_ITERS} iterations, through a boxed closure (same indirection for all)."
    );
    out.push('\n');
    say!("| variant | criterion median | Instant-loop median |");
    say!("|---|---:|---:|");
    for (i, name) in tower_names.iter().enumerate() {
        say!(
            "| {name} | {} | {} |",
            fmt_ns(tower_crit[i]),
            fmt_ns(Some(tower_instant[i]))
        );
    }
    let ti: Vec<Option<f64>> = tower_instant.iter().copied().map(Some).collect();
    say!(
        "| **ours − tower_retry** | **{}** | **{}** |",
        signed(diff(tower_crit[2], tower_crit[1])),
        signed(diff(ti[2], ti[1]))
    );
    say!(
        "| **ours_on_finish − tower_retry** | **{}** | **{}** |",
        signed(diff(tower_crit[3], tower_crit[1])),
        signed(diff(ti[3], ti[1]))
    );
    say!(
        "| tower_retry − bare | {} | {} |",
        signed(diff(tower_crit[1], tower_crit[0])),
        signed(diff(ti[1], ti[0]))
    );
    out.push('\n');
    say!(
        "(b) SDK: one `StartInstanceRefresh`, in-memory HTTP 200, `block_on` on a current-thread \
         runtime. Target: with / without ≤ ×1.02."
    );
    say!("Instant loops: median over {SDK_ROUNDS} interleaved rounds of {SDK_ITERS} calls.");
    out.push('\n');
    say!("| variant | criterion median | Instant-loop median |");
    say!("|---|---:|---:|");
    for (i, name) in sdk_names.iter().enumerate() {
        say!(
            "| {name} | {} | {} |",
            fmt_ns(sdk_crit[i]),
            fmt_ns(Some(sdk_instant[i]))
        );
    }
    say!(
        "| **with_interceptor / plain** | **{}** | **{}** |",
        times(ratio(sdk_crit[1], sdk_crit[0])),
        times(ratio(Some(sdk_instant[1]), Some(sdk_instant[0])))
    );
    out.push('\n');
    let pick = |crit: &[Option<f64>], instant: &[f64], names: &[&'static str]| {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, crit[i].unwrap_or(instant[i])))
            .collect()
    };
    Summary {
        tower: pick(&tower_crit, &tower_instant, &tower_names),
        sdk: pick(&sdk_crit, &sdk_instant, &sdk_names),
        markdown: out,
    }
}

/// `docs/overhead.md` and two bar charts beside it.
fn write_report(summary: &Summary) -> Result<(), Box<dyn std::error::Error>> {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(
        docs.join("overhead.md"),
        format!(
            "<!-- written by `cargo bench --bench overhead` -->\n{}",
            summary.markdown
        ),
    )?;
    report::bars_svg(
        &docs.join("overhead-tower.svg"),
        "tower: call + one poll of a call that succeeds at once (median)",
        &summary.tower,
        "ns",
    )?;
    let sdk: Vec<(&str, f64)> = summary.sdk.iter().map(|(n, v)| (*n, v / 1000.0)).collect();
    report::bars_svg(
        &docs.join("overhead-sdk.svg"),
        "SDK: one StartInstanceRefresh against an in-memory HTTP 200 (median)",
        &sdk,
        "µs",
    )?;
    println!("wrote docs/overhead.md, docs/overhead-tower.svg and docs/overhead-sdk.svg");
    Ok(())
}

fn main() {
    let since = SystemTime::now();
    let rt = runtime();
    let mut c = Criterion::default().configure_from_args();
    tower_group(&mut c, &rt);
    sdk_group(&mut c, &rt);
    c.final_summary();

    // Like criterion: only `cargo bench` measures; `cargo bench -- --test`, `--list`,
    // `--profile-time` and `cargo test --benches` (no `--bench`) skip the summary.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    if has("--bench") && !has("--test") && !has("--list") && !has("--profile-time") {
        let summary = summary(&rt, since);
        print!("{}", summary.markdown);
        // A filtered run (`cargo bench --bench overhead -- tower`) prints only.
        if args.iter().skip(1).all(|a| a.starts_with('-')) {
            write_report(&summary).expect("write docs/overhead.md and its charts");
        }
    }
}
