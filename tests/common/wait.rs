//! Wait efficiency on the simulator's virtual time, shared by the CI test
//! (`tests/all/wait_comparison.rs`, a small run and the milestone) and the bench
//! (`benches/wait.rs`, at least 1,000 runs, the table and the chart): seeded blockers, the six
//! strategies that wait them out (or not), and what they cost.
//!
//! Both include this file with `#[path]` beside `tests/all/support.rs`, whose helpers it uses as
//! `crate::support`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::retry::RetryConfig;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshInput,
};
use aws_sdk_autoscaling::types::{InstanceRefreshStatus, RefreshPreferences};
use aws_smithy_async::time::TimeSource as _;
use aws_smithy_runtime::client::retries::RetryPartition;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::retry::ErrorKind;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig, RefreshStatus};
use instance_refresh_retry::{AutoScalingConfigExt, Refresher, RetryPolicy};
use tokio::time::{Instant, sleep};

use crate::support::{
    StartError, TokioTime, secs, send_cancel, send_start, sim_with, start_refresh,
};

/// The budget of our strategies: it outlasts every blocker here (2 h at most, plus its pending
/// time).
pub const BUDGET: Duration = Duration::from_secs(3 * 3600);

/// One seeded blocker: its group, its request's preferences, and how much of it is left when we
/// come.
#[derive(Debug, Clone)]
pub struct Blocker {
    pub config: GroupConfig,
    pub preferences: RefreshPreferences,
    pub remaining: Duration,
}

/// Refreshes shaped like real ones: 2 to 20 instances replaced in batches (a launch minute plus
/// a warmup of 30 s to 5 min each, the batch size from `MinHealthyPercentage`), often with
/// checkpoints (5 to 30 min each), often with a bake time (1 to 30 min); and 1 to 120 minutes of
/// it left when we come.
pub fn blocker(rng: &mut fastrand::Rng) -> Blocker {
    let mut preferences = RefreshPreferences::builder()
        .instance_warmup(rng.i32(30..=300))
        .min_healthy_percentage(*rng.choice(&[50, 66, 80, 90, 90, 90]).unwrap());
    if rng.u8(0..10) < 3 {
        // A full refresh: the last checkpoint is 100.
        let checkpoints: &[i32] = rng
            .choice([&[50, 100][..], &[25, 50, 75, 100][..], &[33, 66, 100][..]])
            .unwrap();
        for c in checkpoints {
            preferences = preferences.checkpoint_percentages(*c);
        }
        preferences = preferences.checkpoint_delay(rng.i32(5..=30) * 60);
    }
    if rng.u8(0..10) < 4 {
        preferences = preferences.bake_time(rng.i32(1..=30) * 60);
    }
    let config = GroupConfig::default()
        .instances(rng.u32(2..=20))
        .pending_duration(Duration::from_secs(rng.u64(10..=60)));
    Blocker {
        config,
        preferences: preferences.build(),
        remaining: Duration::from_secs(rng.u64(60..=120 * 60)),
    }
}

impl Blocker {
    /// "plain", "checkpoints", "bake" or "both": what shapes its end.
    pub fn kind(&self) -> &'static str {
        let checkpoints = !self.preferences.checkpoint_percentages().is_empty();
        match (checkpoints, self.preferences.bake_time().is_some()) {
            (false, false) => "plain",
            (true, false) => "checkpoints",
            (false, true) => "bake",
            (true, true) => "both",
        }
    }
}

/// `runs` blockers from `seed`.
pub fn blockers(runs: u64, seed: u64) -> Vec<Blocker> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..runs).map(|_| blocker(&mut rng)).collect()
}

/// `name` from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Who waits the blocker out, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// A real client with `RetryConfig::standard()` (3 attempts, 1 s base, 20 s cap, full
    /// jitter, token bucket) and a retry classifier that makes `InstanceRefreshInProgress`
    /// retryable.
    SdkStandard,
    /// amazon.aws `AWSRetry.jittered_backoff()`: 10 retries, `randint(0, min(60, 3·2ⁿ))` s.
    Ansible,
    /// The Terraform AWS provider: cancel the blocker and start ours; polls every
    /// 0.1 s·2ⁿ clamped to 0.5..10 s, for 15 min.
    Terraform,
    /// backon's `ExponentialBuilder::default().with_jitter()` (1 s, ×2, 60 s cap, 3 retries),
    /// retrying only `InstanceRefreshInProgress`.
    Backon,
    /// Our interceptor with `RetryPolicy::default()` (5 s, ×2, 2 min cap, full jitter), 3 h.
    Exponential,
    /// Our status-aware `Refresher` with `Refresher::default_policy()`, 3 h.
    StatusAware,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::SdkStandard,
        Strategy::Ansible,
        Strategy::Terraform,
        Strategy::Backon,
        Strategy::Exponential,
        Strategy::StatusAware,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Strategy::SdkStandard => "SDK standard + classifier",
            Strategy::Ansible => "amazon.aws jittered_backoff",
            Strategy::Terraform => "Terraform (cancel and replace)",
            Strategy::Backon => "backon exponential + jitter",
            Strategy::Exponential => "ours: exponential (interceptor)",
            Strategy::StatusAware => "ours: status-aware Refresher",
        }
    }
}

/// What one strategy did against one blocker.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// From the blocker's end (natural, or cancelled) to our successful start; `None` if we
    /// never started.
    pub latency: Option<Duration>,
    /// `StartInstanceRefresh` plus `DescribeInstanceRefreshes` calls.
    pub calls: u32,
    /// `CancelInstanceRefresh` calls.
    pub cancels: u32,
    /// From our arrival to the end of our call.
    pub waited: Duration,
    /// The blocker ended `Cancelled`: someone else's deployment stopped half-way.
    pub destroyed: bool,
}

/// A simulator with a clock that agrees with it, and `blocker`'s refresh just started.
/// Every run starts at the same whole second of wall-clock time, so that it repeats exactly.
async fn sim_with_blocker(blocker: &Blocker, seed: u64) -> (AutoScalingSim, TokioTime, String) {
    let base = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let (sim, clock) = sim_with(seed, TokioTime::starting_at(base)).await;
    sim.create_group("web", blocker.config.clone());
    let preferences = blocker.preferences.clone();
    let id = start_refresh(&sim.client(), "web", None, Some(preferences)).await;
    (sim, clock, id)
}

/// How long the blocker's refresh takes from start to end, measured on a simulator of its own.
pub async fn total(blocker: &Blocker) -> Duration {
    let (sim, _, _) = sim_with_blocker(blocker, 0).await;
    sleep(secs(48 * 3600)).await;
    let r = &sim.refreshes("web").unwrap()[0];
    let total = r.end_time.unwrap().duration_since(r.start_time).unwrap();
    sim.shutdown().await;
    total
}

/// Runs `strategy` against `blocker` (which takes `total`), arriving with `remaining` of it left.
pub async fn run(blocker: &Blocker, total: Duration, strategy: Strategy, seed: u64) -> Outcome {
    let (sim, clock, blocker_id) = sim_with_blocker(blocker, seed).await;
    let remaining = blocker.remaining.min(total);
    sleep(total - remaining).await;
    let came = Instant::now();
    let before = sim.calls().len();
    let started = match strategy {
        Strategy::SdkStandard => sdk_standard(&sim, clock, seed).await,
        Strategy::Ansible => ansible(&sim.client(), seed).await,
        Strategy::Terraform => terraform(&sim.client()).await,
        Strategy::Backon => backon(&sim.client(), seed).await,
        Strategy::Exponential => exponential(&sim, clock, seed).await,
        Strategy::StatusAware => status_aware(&sim, clock, seed).await,
    };
    let done = clock.now();
    let waited = Instant::now() - came;
    let calls = sim.calls();
    let count = |ops: &[&str]| {
        let n = calls[before..]
            .iter()
            .filter(|c| c.operation.as_deref().is_some_and(|op| ops.contains(&op)))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let refreshes = sim.refreshes("web").unwrap();
    let theirs = refreshes.iter().find(|r| r.id == blocker_id).unwrap();
    let ended: Option<SystemTime> = theirs.end_time;
    let outcome = Outcome {
        latency: started.then(|| {
            ended.map_or(Duration::ZERO, |end| {
                done.duration_since(end).unwrap_or_default()
            })
        }),
        calls: count(&["StartInstanceRefresh", "DescribeInstanceRefreshes"]),
        cancels: count(&["CancelInstanceRefresh"]),
        waited,
        destroyed: theirs.status == RefreshStatus::Cancelled,
    };
    sim.shutdown().await;
    outcome
}

fn blocked(err: &StartError) -> bool {
    err.as_service_error()
        .is_some_and(StartInstanceRefreshError::is_instance_refresh_in_progress_fault)
}

/// What an SDK user writes to make the standard strategy retry the conflict.
#[derive(Debug)]
struct InProgressIsRetryable;

impl ClassifyRetry for InProgressIsRetryable {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let in_progress = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|e| e.as_operation_error())
            .and_then(|e| e.downcast_ref::<StartInstanceRefreshError>())
            .is_some_and(StartInstanceRefreshError::is_instance_refresh_in_progress_fault);
        if in_progress {
            RetryAction::retryable_error(ErrorKind::ServerError)
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "InstanceRefreshInProgress is retryable"
    }
}

/// Each run in a retry partition of its own, as in a fresh process: the SDK shares a partition's
/// token bucket between all clients of the process, and 1,000 runs of refusals would drain it.
async fn sdk_standard(sim: &AutoScalingSim, clock: TokioTime, seed: u64) -> bool {
    let client = Client::from_conf(
        sim.sdk_config_builder()
            .retry_config(RetryConfig::standard())
            .retry_partition(RetryPartition::new(format!("wait-{seed}")))
            .retry_classifier(InProgressIsRetryable)
            .time_source(clock)
            .build(),
    );
    send_start(&client, "web").await.is_ok()
}

/// amazon.aws `AWSRetry.jittered_backoff(retries=10, delay=3, max_delay=60)`: before retry `n`
/// (0-based) it sleeps `randint(0, min(max_delay, delay * 2 ** n))` whole seconds; after the 10th
/// retry the error is raised.
async fn ansible(client: &Client, seed: u64) -> bool {
    let mut rng = fastrand::Rng::with_seed(seed);
    for retry in 0..=10_u32 {
        match send_start(client, "web").await {
            Ok(_) => return true,
            Err(err) if blocked(&err) && retry < 10 => {
                sleep(secs(rng.u64(0..=(3_u64 << retry).min(60)))).await;
            }
            Err(_) => return false,
        }
    }
    false
}

/// The Terraform AWS provider: on `InstanceRefreshInProgress`, cancel the running refresh, wait
/// until it is no longer active, and start again; every wait is 0.1 s·2ⁿ clamped to 0.5..10 s,
/// and the whole start gives up after 15 min.
async fn terraform(client: &Client) -> bool {
    let deadline = Instant::now() + secs(15 * 60);
    let delay = |n: u32| {
        Duration::from_millis(100 << n.min(10)).clamp(Duration::from_millis(500), secs(10))
    };
    let mut retry = 0;
    while Instant::now() < deadline {
        match send_start(client, "web").await {
            Ok(_) => return true,
            Err(err) if blocked(&err) => {}
            Err(_) => return false,
        }
        // "ActiveInstanceRefreshNotFound": it just ended; start again.
        let _ = send_cancel(client, "web").await;
        let mut poll = 0;
        while Instant::now() < deadline && active(client).await {
            sleep(delay(poll)).await;
            poll += 1;
        }
        sleep(delay(retry)).await;
        retry += 1;
    }
    false
}

/// Whether the newest refresh of the group is still active (`Pending`, `InProgress`,
/// `Cancelling`, ...).
async fn active(client: &Client) -> bool {
    let out = client
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await;
    out.ok()
        .and_then(|o| {
            o.instance_refreshes()
                .first()
                .and_then(|r| r.status().cloned())
        })
        .is_some_and(|s| {
            !matches!(
                s,
                InstanceRefreshStatus::Successful
                    | InstanceRefreshStatus::Failed
                    | InstanceRefreshStatus::Cancelled
                    | InstanceRefreshStatus::RollbackSuccessful
                    | InstanceRefreshStatus::RollbackFailed
            )
        })
}

/// backon as a Rust user wires it by hand around the SDK call (seeded, to repeat).
async fn backon(client: &Client, seed: u64) -> bool {
    use backon::{ExponentialBuilder, Retryable};
    let start = || send_start(client, "web");
    start
        .retry(
            ExponentialBuilder::default()
                .with_jitter()
                .with_jitter_seed(seed),
        )
        .sleep(sleep)
        .when(blocked)
        .await
        .is_ok()
}

/// `policy` with our 3 h budget, its jitter seeded with `seed`.
fn ours(policy: RetryPolicy, seed: u64) -> RetryPolicy {
    policy
        .to_builder()
        .max_elapsed(BUDGET)
        .seed(seed)
        .build()
        .unwrap()
}

async fn exponential(sim: &AutoScalingSim, clock: TokioTime, seed: u64) -> bool {
    let policy = ours(RetryPolicy::default(), seed);
    let client = Client::from_conf(
        sim.sdk_config_builder()
            .time_source(clock)
            .instance_refresh_retry(policy)
            .build(),
    );
    send_start(&client, "web").await.is_ok()
}

async fn status_aware(sim: &AutoScalingSim, clock: TokioTime, seed: u64) -> bool {
    let policy = ours(Refresher::default_policy(), seed);
    let refresher = Refresher::new(sim.client(), policy)
        .fail_fast(false)
        .time_source(clock);
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap();
    refresher.start(input).await.is_ok()
}

/// Every strategy over the same blockers: each blocker's total length is measured once, and run
/// `i` of every strategy uses seed `seed ^ i`.
pub async fn compare(
    blockers: &[Blocker],
    strategies: &[Strategy],
    seed: u64,
) -> Vec<(Strategy, Vec<Outcome>)> {
    let mut totals = Vec::new();
    for b in blockers {
        totals.push(total(b).await);
    }
    let mut all = Vec::new();
    for &strategy in strategies {
        let mut outcomes = Vec::new();
        for (i, (b, total)) in blockers.iter().zip(&totals).enumerate() {
            outcomes.push(run(b, *total, strategy, seed ^ i as u64).await);
        }
        // WAIT_DEBUG=1 shows the three slowest starts.
        if std::env::var("WAIT_DEBUG").is_ok() {
            let mut worst: Vec<_> = outcomes.iter().zip(blockers).collect();
            worst.sort_by_key(|(o, _)| std::cmp::Reverse(o.latency));
            for (o, b) in worst.iter().take(3) {
                println!("{strategy:?} {o:?} {b:?}");
            }
            // ...and the metrics by kind of blocker.
            for kind in ["plain", "checkpoints", "bake", "both"] {
                let of_kind: Vec<Outcome> = outcomes
                    .iter()
                    .zip(blockers)
                    .filter(|(_, b)| b.kind() == kind)
                    .map(|(o, _)| *o)
                    .collect();
                let m = summarize(&of_kind);
                println!(
                    "{strategy:?} {kind}: {} runs, p50/p95 {:?}/{:?}, {:.1} calls per run, {:.1} per hour",
                    m.runs, m.p50, m.p95, m.calls_per_run, m.calls_per_hour
                );
            }
        }
        all.push((strategy, outcomes));
    }
    all
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub started: usize,
    pub runs: usize,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub calls_per_run: f64,
    pub calls_per_hour: f64,
    pub cancels: u32,
    pub destroyed: usize,
}

pub fn summarize(outcomes: &[Outcome]) -> Summary {
    let mut latencies: Vec<Duration> = outcomes.iter().filter_map(|o| o.latency).collect();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    let calls: u32 = outcomes.iter().map(|o| o.calls).sum();
    let hours: f64 = outcomes.iter().map(|o| o.waited.as_secs_f64()).sum::<f64>() / 3600.0;
    Summary {
        started: latencies.len(),
        runs: outcomes.len(),
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
        calls_per_run: f64::from(calls) / outcomes.len().max(1) as f64,
        calls_per_hour: f64::from(calls) / hours.max(f64::EPSILON),
        cancels: outcomes.iter().map(|o| o.cancels).sum(),
        destroyed: outcomes.iter().filter(|o| o.destroyed).count(),
    }
}

/// The markdown table.
pub fn table(runs: usize, seed: u64, rows: &[(Strategy, Summary)]) -> String {
    let mut out = format!(
        "{runs} blockers (seed {seed}), 1 to 120 min left, in batches, with checkpoints and bake times; ours with a 3 h budget, the peers with their own limits.\n\n"
    );
    out.push_str("| strategy | started | start latency after the blocker ends, p50 / p95 / p99 | Start + Describe calls per run | per hour waited | refreshes destroyed |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    let s =
        |d: Option<Duration>| d.map_or("–".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
    for (strategy, m) in rows {
        let _ = writeln!(
            out,
            "| {} | {}/{} ({:.1} %) | {} / {} / {} | {:.1} | {:.1} | {}{} |",
            strategy.label(),
            m.started,
            m.runs,
            100.0 * m.started as f64 / m.runs.max(1) as f64,
            s(m.p50),
            s(m.p95),
            s(m.p99),
            m.calls_per_run,
            m.calls_per_hour,
            m.destroyed,
            if m.cancels > 0 {
                format!(" ({} cancel calls)", m.cancels)
            } else {
                String::new()
            },
        );
    }
    out
}
