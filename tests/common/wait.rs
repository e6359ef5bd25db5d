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
use instance_refresh_retry::sim::{
    AutoScalingSim, CallRecord, EarlyEnd, EarlyEndKind, GroupConfig, RefreshStatus, Unknowns,
};
use instance_refresh_retry::{AutoScalingConfigExt, Refresher, RetryPolicy};
use tokio::time::{Instant, sleep};

use crate::support::{
    StartError, TokioTime, named_template_version, secs, send_cancel, send_start, sim_with,
    start_refresh,
};

/// The budget of our strategies: it outlasts every blocker here (2 h at most to its natural end;
/// a stalled one fails an hour after it stalls; a rollback takes about as long as the
/// replacements it undoes, which can be the refresh's whole 4 h).
pub const BUDGET: Duration = Duration::from_secs(8 * 3600);

/// One seeded blocker: its group (with the guesses no public source settles, drawn from the
/// simulator's varied family), its request's preferences, how much of it is left when we come,
/// and, for some, how it ends early.
#[derive(Debug, Clone)]
pub struct Blocker {
    pub instances: u32,
    pub unknowns: Unknowns,
    pub preferences: RefreshPreferences,
    pub remaining: Duration,
    /// How it ends early, and when: the share of `remaining` after we come.
    pub early: Option<(EarlyEndKind, f64)>,
}

/// The share of blockers that end early.
pub const EARLY_SHARE: f64 = 0.15;

/// A blocker of the varied family: the guesses drawn per refresh ([`Unknowns::draw`]); 2 to 500
/// instances (log-uniform: small groups are as common as large ones); replaced in batches from
/// `MinHealthyPercentage`, each instance warming up for 30 s to 5 min; often with checkpoints
/// (5 to 30 min each), often with a bake time (1 to 30 min); 1 to 120 minutes of it left when
/// we come; and one in [`EARLY_SHARE`] ending early, in one of the four ways (cancelled by
/// another actor, failed by an alarm, rolled back by an alarm, stalled), at any moment of our
/// wait.
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
    let instances = (2.0_f64 * 250.0_f64.powf(rng.f64())).round() as u32;
    let unknowns = Unknowns::draw(rng);
    let remaining = Duration::from_secs(rng.u64(60..=120 * 60));
    let early = (rng.f64() < EARLY_SHARE).then(|| {
        let kind = match rng.u8(0..4) {
            0 => EarlyEndKind::Cancelled {
                wait_for_transitioning_instances: rng.bool(),
            },
            1 => EarlyEndKind::AlarmFailed,
            2 => EarlyEndKind::AlarmRolledBack,
            _ => EarlyEndKind::Stalled,
        };
        (kind, rng.f64())
    });
    Blocker {
        instances: instances.clamp(2, 500),
        unknowns,
        preferences: preferences.build(),
        remaining,
        early,
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

    /// How it ends early, if it does: "cancelled", "alarm failed", "rolled back", "stalled".
    pub fn early_kind(&self) -> Option<&'static str> {
        self.early.map(|(kind, _)| match kind {
            EarlyEndKind::Cancelled { .. } => "cancelled",
            EarlyEndKind::AlarmFailed => "alarm failed",
            EarlyEndKind::AlarmRolledBack => "rolled back",
            _ => "stalled",
        })
    }

    /// The slices of the family this blocker is in: (unknown, value), one for each unknown.
    pub fn slices(&self) -> Vec<(&'static str, String)> {
        let u = &self.unknowns;
        let bin = |x: f64, edges: &[(f64, &str)]| {
            edges
                .iter()
                .find(|(edge, _)| x < *edge)
                .map_or("?", |(_, name)| name)
                .to_owned()
        };
        vec![
            ("wording", format!("{:?}", u.status_reasons)),
            ("rounding", format!("{:?}", u.rounding)),
            (
                "launch spread",
                bin(
                    u.launch_spread,
                    &[(0.17, "0-0.17"), (0.34, "0.17-0.34"), (2.0, "0.34-0.5")],
                ),
            ),
            (
                "lifecycle hook",
                if u.lifecycle_hook.is_some() {
                    "hook"
                } else {
                    "none"
                }
                .to_owned(),
            ),
            (
                "group size",
                bin(
                    f64::from(self.instances),
                    &[
                        (10.0, "2-9"),
                        (50.0, "10-49"),
                        (200.0, "50-199"),
                        (1e9, "200-500"),
                    ],
                ),
            ),
            (
                "health-check failures",
                bin(
                    u.health_check_failures,
                    &[(0.034, "0-3 %"), (0.067, "3-7 %"), (2.0, "7-10 %")],
                ),
            ),
            ("InstancesToUpdate", format!("{:?}", u.instances_to_update)),
            (
                "launch activity ends",
                format!("{:?}", u.launch_activity_ends),
            ),
            ("scaling activities", format!("{:?}", u.activities)),
            ("warmup hint names", format!("{:?}", u.warmup_hint_names)),
            ("warmup sentence", format!("{:?}", u.warmup_sentence)),
            (
                "100 % checkpoint pauses",
                u.hundred_percent_checkpoint_pauses.to_string(),
            ),
            ("preferences", self.kind().to_owned()),
            ("early end", self.early_kind().unwrap_or("none").to_owned()),
        ]
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
    /// Our interceptor with `RetryPolicy::default()` (5 s, ×2, 2 min cap, full jitter), 8 h:
    /// plain exponential backoff.
    Exponential,
    /// Our status-aware `Refresher` with `Refresher::default_policy()` and its default
    /// `max_check_interval` (5 min), 8 h.
    StatusAware,
    /// The same with another `max_check_interval`, in seconds (the frontier).
    StatusAwareEvery(u64),
    /// The simplest poller: `StartInstanceRefresh` every so many seconds, 8 h.
    Fixed(u64),
}

impl Strategy {
    /// The peers and ours, for the table.
    pub const ALL: [Strategy; 6] = [
        Strategy::SdkStandard,
        Strategy::Ansible,
        Strategy::Terraform,
        Strategy::Backon,
        Strategy::Exponential,
        Strategy::StatusAware,
    ];

    /// The frontier's points beside `Exponential` and `StatusAware` (5 min).
    pub const FRONTIER: [Strategy; 6] = [
        Strategy::StatusAwareEvery(60),
        Strategy::StatusAwareEvery(120),
        Strategy::StatusAwareEvery(600),
        Strategy::Fixed(60),
        Strategy::Fixed(120),
        Strategy::Fixed(300),
    ];

    pub fn label(self) -> String {
        match self {
            Strategy::SdkStandard => "SDK standard + classifier".into(),
            Strategy::Ansible => "amazon.aws jittered_backoff".into(),
            Strategy::Terraform => "Terraform (cancel and replace)".into(),
            Strategy::Backon => "backon exponential + jitter".into(),
            Strategy::Exponential => "ours: exponential (interceptor)".into(),
            Strategy::StatusAware => "ours: status-aware Refresher (5 min)".into(),
            Strategy::StatusAwareEvery(s) => {
                format!("ours: status-aware Refresher ({} min)", s / 60)
            }
            Strategy::Fixed(s) => format!("fixed interval ({} min)", s / 60),
        }
    }
}

/// What one strategy did against one blocker.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// From the blocker's end (natural, or early) to our successful start; `None` if we never
    /// started.
    pub latency: Option<Duration>,
    /// `StartInstanceRefresh`, `DescribeInstanceRefreshes` and `DescribeScalingActivities`
    /// calls.
    pub calls: u32,
    /// `CancelInstanceRefresh` calls.
    pub cancels: u32,
    /// From our arrival to the end of our call.
    pub waited: Duration,
    /// The blocker ended `Cancelled` by our call: someone else's deployment stopped half-way.
    pub destroyed: bool,
    /// The blocker ran to its natural end (`Successful`), not cut short.
    pub natural: bool,
    /// Calls by the gap since the call before: under 10 s, 10–30 s, 30–120 s, 120–280 s, more.
    pub gaps: [u32; 5],
    /// `DescribeScalingActivities` calls.
    pub reads: u32,
    /// `StartInstanceRefresh` calls.
    pub starts: u32,
    /// Calls in the blocker's last 10 minutes and after its end.
    pub near: u32,
    /// Calls more than 10 min before the blocker's end that came under 2 min after the one
    /// before (the checks that cost more than the 5-min floor, far from the end).
    pub far_dense: u32,
    /// Of those, `StartInstanceRefresh` probes.
    pub far_probes: u32,
}

/// The wall-clock time every run starts at (a whole second: the wire's whole-second
/// timestamps lose nothing), so that a seeded run repeats exactly.
fn base() -> SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A simulator with a clock that agrees with it, and `blocker`'s refresh just started (ending
/// early as `early` says).
pub async fn sim_with_blocker(
    blocker: &Blocker,
    seed: u64,
    early: Option<EarlyEnd>,
) -> (AutoScalingSim, TokioTime, String) {
    let (sim, clock) = sim_with(seed, TokioTime::starting_at(base())).await;
    let unknowns = match early {
        Some(e) => blocker.unknowns.clone().with_early_end(e),
        None => blocker.unknowns.clone().without_early_end(),
    };
    sim.create_group(
        "web",
        GroupConfig::default()
            .instances(blocker.instances)
            .unknowns(unknowns),
    );
    // A numbered launch template version: what lets an alarm roll it back.
    let desired = named_template_version("web", "2");
    let preferences = blocker.preferences.clone();
    let id = start_refresh(&sim.client(), "web", Some(desired), Some(preferences)).await;
    (sim, clock, id)
}

/// How long the blocker's refresh takes from its start to its natural end (the same seed gives
/// the same refresh id, so the same instance times).
pub async fn total(blocker: &Blocker, seed: u64) -> Duration {
    let (sim, _, _) = sim_with_blocker(blocker, seed, None).await;
    let r = &sim.refreshes("web").unwrap()[0];
    let total = r
        .planned_end
        .and_then(|end| end.duration_since(r.start_time).ok())
        .unwrap_or_default();
    sim.shutdown().await;
    total
}

/// Runs `strategy` against `blocker` (which takes `total` to its natural end), arriving with
/// `remaining` of it left.
pub async fn run(blocker: &Blocker, total: Duration, strategy: Strategy, seed: u64) -> Outcome {
    let remaining = blocker.remaining.min(total);
    let arrival = total - remaining;
    let early = blocker
        .early
        .map(|(kind, share)| EarlyEnd::new(kind, arrival + remaining.mul_f64(share)));
    let (sim, clock, blocker_id) = sim_with_blocker(blocker, seed, early).await;
    sleep(arrival).await;
    let came = Instant::now();
    let before = sim.calls().len();
    let started = match strategy {
        Strategy::SdkStandard => sdk_standard(&sim, clock, seed).await,
        Strategy::Ansible => ansible(&sim.client(), seed).await,
        Strategy::Terraform => terraform(&sim.client()).await,
        Strategy::Backon => backon(&sim.client(), seed).await,
        Strategy::Exponential => exponential(&sim, clock, seed).await,
        Strategy::StatusAware => status_aware(&sim, clock, seed, None).await,
        Strategy::StatusAwareEvery(s) => status_aware(&sim, clock, seed, Some(secs(s))).await,
        Strategy::Fixed(s) => fixed(&sim.client(), secs(s)).await,
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
    if std::env::var("WAIT_ONE").is_ok() {
        let came_at = sim.elapsed() - waited;
        let end_at = ended.and_then(|e| e.duration_since(theirs.start_time).ok());
        println!(
            "  came at {:.0} s after its start; it ended {:?} after its start ({:?}); calls:",
            came_at.as_secs_f64(),
            end_at,
            theirs.status
        );
        for c in &calls[before..] {
            println!(
                "    {:>8.1} {} {:?}",
                (c.at.saturating_sub(came_at)).as_secs_f64(),
                c.operation.as_deref().unwrap_or("?"),
                c.error_code()
            );
        }
    }
    let cancels = count(&["CancelInstanceRefresh"]);
    // The blocker's last 10 minutes, and after: from 10 min before it ended (or before our last
    // call, if we did not start) on the simulator's clock.
    let near_from = {
        let last = calls.last().map_or(Duration::ZERO, |c| c.at);
        let since_end = match (started, ended) {
            (true, Some(end)) => done.duration_since(end).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        last.saturating_sub(since_end + Duration::from_secs(600))
    };
    let outcome = Outcome {
        latency: started.then(|| {
            ended.map_or(Duration::ZERO, |end| {
                done.duration_since(end).unwrap_or_default()
            })
        }),
        calls: count(&[
            "StartInstanceRefresh",
            "DescribeInstanceRefreshes",
            "DescribeScalingActivities",
        ]),
        cancels,
        waited,
        destroyed: cancels > 0 && theirs.status == RefreshStatus::Cancelled,
        natural: theirs.status == RefreshStatus::Successful,
        reads: count(&["DescribeScalingActivities"]),
        starts: count(&["StartInstanceRefresh"]),
        near: u32::try_from(calls[before..].iter().filter(|c| c.at >= near_from).count())
            .unwrap_or(u32::MAX),
        far_dense: far_dense(&calls[before..], near_from, None),
        far_probes: far_dense(&calls[before..], near_from, Some("StartInstanceRefresh")),
        gaps: {
            let mut gaps = [0; 5];
            let mut last: Option<Duration> = None;
            for c in &calls[before..] {
                if let Some(l) = last {
                    let g = c.at.saturating_sub(l).as_secs_f64();
                    let k = [10.0, 30.0, 120.0, 280.0]
                        .iter()
                        .position(|e| g < *e)
                        .unwrap_or(4);
                    gaps[k] += 1;
                }
                last = Some(c.at);
            }
            gaps
        },
    };
    sim.shutdown().await;
    outcome
}

/// The calls (of `operation`, if given) before `near_from` that came under 2 min after the one
/// before: the checks that cost more than the 5-min floor, far from the end.
fn far_dense(calls: &[CallRecord], near_from: Duration, operation: Option<&str>) -> u32 {
    let dense = calls.windows(2).filter(|w| {
        w[1].at < near_from
            && w[1].at.saturating_sub(w[0].at) < Duration::from_secs(120)
            && operation.is_none_or(|op| w[1].operation.as_deref() == Some(op))
    });
    u32::try_from(dense.count()).unwrap_or(u32::MAX)
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

async fn status_aware(
    sim: &AutoScalingSim,
    clock: TokioTime,
    seed: u64,
    every: Option<Duration>,
) -> bool {
    let policy = ours(Refresher::default_policy(), seed);
    let mut refresher = Refresher::new(sim.client(), policy)
        .fail_fast(false)
        .time_source(clock);
    if let Some(every) = every {
        refresher = refresher.max_check_interval(every);
    }
    // WAIT_TRACE=1 prints every check of the status-aware runs.
    if std::env::var("WAIT_TRACE").is_ok() {
        let start = clock.now();
        refresher = refresher.on_progress(move |p| {
            let at = |t: SystemTime| match t.duration_since(start) {
                Ok(d) => d.as_secs_f64(),
                Err(e) => -e.duration().as_secs_f64(),
            };
            println!(
                "  {:>7.1} {:?} {}% next {:.1}s window {:?} earliest {:?} {:?} {}",
                at(clock.now()),
                p.status.as_ref().map(|s| s.as_str()),
                p.percentage,
                p.next_check.as_secs_f64(),
                p.end_window.map(|(a, b)| (at(a), at(b))),
                p.earliest_end.map(at),
                p.evidence,
                p.status_reason
                    .as_deref()
                    .map_or("", |r| r.get(..60).unwrap_or(r)),
            )
        });
    }
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap();
    refresher.start(input).await.is_ok()
}

/// The simplest poller: `StartInstanceRefresh` every `every`, until it starts or [`BUDGET`]
/// runs out.
async fn fixed(client: &Client, every: Duration) -> bool {
    let deadline = Instant::now() + BUDGET;
    loop {
        match send_start(client, "web").await {
            Ok(_) => return true,
            Err(err) if blocked(&err) && Instant::now() + every <= deadline => sleep(every).await,
            Err(_) => return false,
        }
    }
}

/// Every strategy over the same blockers: run `i` of every strategy uses seed `seed ^ i`, and
/// each blocker's length to its natural end is measured once, with that seed.
pub async fn compare(
    blockers: &[Blocker],
    strategies: &[Strategy],
    seed: u64,
) -> Vec<(Strategy, Vec<Outcome>)> {
    let mut totals = Vec::new();
    for (i, b) in blockers.iter().enumerate() {
        totals.push(total(b, seed ^ i as u64).await);
    }
    let mut all = Vec::new();
    // WAIT_ONE=i runs blocker i only, and tells what it was.
    let one: Option<usize> = std::env::var("WAIT_ONE").ok().and_then(|v| v.parse().ok());
    for &strategy in strategies {
        let mut outcomes = Vec::new();
        for (i, (b, total)) in blockers.iter().zip(&totals).enumerate() {
            if one.is_some_and(|one| one != i) {
                continue;
            }
            if one.is_some() {
                println!("{strategy:?} #{i}: total {total:?}, {b:#?}");
            } else if std::env::var("WAIT_TRACE").is_ok() {
                println!(
                    "RUN {i} remaining {:.3} early {:?} W {:?} n {} {} {:?} hook {}",
                    b.remaining.min(*total).as_secs_f64(),
                    b.early.map(|e| e.0),
                    b.preferences.instance_warmup(),
                    b.instances,
                    b.kind(),
                    b.unknowns.activities,
                    b.unknowns.lifecycle_hook.is_some()
                );
            }
            let o = run(b, *total, strategy, seed ^ i as u64).await;
            if one.is_none() && std::env::var("WAIT_TRACE").is_ok() {
                println!(
                    "OUT {i} {} {:.3}",
                    o.natural,
                    o.latency.map_or(-1.0, |l| l.as_secs_f64())
                );
            }
            if one.is_some() {
                println!("{o:?}");
            }
            outcomes.push(o);
        }
        // WAIT_DEBUG=1 shows the latest natural-end starts, the costliest runs, and where the
        // calls went (by the gap before each).
        if std::env::var("WAIT_DEBUG").is_ok() {
            let mut gaps = [0_u32; 5];
            for o in &outcomes {
                for (k, g) in o.gaps.iter().enumerate() {
                    gaps[k] += g;
                }
            }
            let reads: u32 = outcomes.iter().map(|o| o.reads).sum();
            let starts: u32 = outcomes.iter().map(|o| o.starts).sum();
            let hours: f64 = outcomes.iter().map(|o| o.waited.as_secs_f64()).sum::<f64>() / 3600.0;
            let calls: u32 = outcomes.iter().map(|o| o.calls).sum();
            let near: u32 = outcomes.iter().filter(|o| o.natural).map(|o| o.near).sum();
            let natural_calls: u32 = outcomes.iter().filter(|o| o.natural).map(|o| o.calls).sum();
            println!(
                "calls {strategy:?}: {calls} in {hours:.1} h: starts {starts}, reads {reads}, describes {}; natural ends {natural_calls}, of which in the last 10 min and after {near}",
                calls - starts - reads
            );
            println!(
                "gaps {strategy:?}: <10 s {}, 10-30 s {}, 30-120 s {}, 120-280 s {}, >=280 s {}; activity reads {reads}",
                gaps[0], gaps[1], gaps[2], gaps[3], gaps[4]
            );
            let mut worst: Vec<_> = outcomes
                .iter()
                .zip(blockers)
                .enumerate()
                .filter(|(_, (o, _))| o.natural)
                .collect();
            worst.sort_by_key(|(_, (o, _))| std::cmp::Reverse(o.latency));
            for (i, (o, b)) in worst.iter().take(20) {
                let u = &b.unknowns;
                println!(
                    "late {strategy:?} #{i}: {:.1} s, {} calls in {:.0} s; {} n={} {:?} {:?} spread {:.2} hook {:?} {:?} {:?} {:?} pauses100 {} W {:?} min {:?}",
                    o.latency.unwrap_or_default().as_secs_f64(),
                    o.calls,
                    o.waited.as_secs_f64(),
                    b.kind(),
                    b.instances,
                    u.activities,
                    u.instances_to_update,
                    u.launch_spread,
                    u.lifecycle_hook.map(|h| h.as_secs()),
                    u.launch_activity_ends,
                    u.rounding,
                    u.status_reasons,
                    u.hundred_percent_checkpoint_pauses,
                    b.preferences.instance_warmup(),
                    b.preferences.min_healthy_percentage(),
                );
            }
            for access in ["Served", "AccessDenied", "Empty"] {
                let of: Vec<_> = outcomes
                    .iter()
                    .zip(blockers)
                    .filter(|(o, b)| o.natural && format!("{:?}", b.unknowns.activities) == access)
                    .collect();
                let n = of.len().max(1) as f64;
                let calls: f64 = of.iter().map(|(o, _)| f64::from(o.calls)).sum::<f64>() / n;
                let near: f64 = of.iter().map(|(o, _)| f64::from(o.near)).sum::<f64>() / n;
                let base: f64 = of
                    .iter()
                    .map(|(o, _)| o.waited.as_secs_f64() / 300.0)
                    .sum::<f64>()
                    / n;
                let reads: f64 = of.iter().map(|(o, _)| f64::from(o.reads)).sum::<f64>() / n;
                let starts: f64 = of.iter().map(|(o, _)| f64::from(o.starts)).sum::<f64>() / n;
                println!(
                    "natural {access}: {n} runs, per run {calls:.1} calls, {near:.1} near the end, {base:.1} at 5 min, {reads:.1} reads, {starts:.1} starts"
                );
            }
            let far: u32 = outcomes
                .iter()
                .filter(|o| o.natural)
                .map(|o| o.far_dense)
                .sum();
            let fp: u32 = outcomes
                .iter()
                .filter(|o| o.natural)
                .map(|o| o.far_probes)
                .sum();
            println!("far dense (natural): {far}, of which probes {fp}");
            // WAIT_DUMP=file writes one line per run: index, calls, seconds waited, natural,
            // latency, instances, kind, far-dense calls, activities, hook, calls near the end.
            if let Ok(path) = std::env::var("WAIT_DUMP") {
                let mut out = String::new();
                for (i, (o, b)) in outcomes.iter().zip(blockers).enumerate() {
                    out.push_str(&format!(
                        "{i} {} {:.1} {} {:.1} {} {} {} {:?} {:?} {}\n",
                        o.calls,
                        o.waited.as_secs_f64(),
                        o.natural,
                        o.latency.map_or(-1.0, |l| l.as_secs_f64()),
                        b.instances,
                        b.kind(),
                        o.far_dense,
                        b.unknowns.activities,
                        b.unknowns.lifecycle_hook.is_some(),
                        o.near
                    ));
                }
                std::fs::write(path, out).unwrap();
            }
            let mut fd: Vec<_> = outcomes
                .iter()
                .zip(blockers)
                .enumerate()
                .filter(|(_, (o, _))| o.natural)
                .collect();
            fd.sort_by_key(|(_, (o, _))| std::cmp::Reverse(o.far_dense));
            for (i, (o, b)) in fd.iter().take(12) {
                println!(
                    "far {strategy:?} #{i}: {} far-dense of {} calls in {:.0} s; {} n={} {:?} {:?} {:?} hook {:?} W {:?} min {:?}",
                    o.far_dense,
                    o.calls,
                    o.waited.as_secs_f64(),
                    b.kind(),
                    b.instances,
                    b.unknowns.activities,
                    b.unknowns.instances_to_update,
                    b.unknowns.launch_activity_ends,
                    b.unknowns.lifecycle_hook.map(|h| h.as_secs()),
                    b.preferences.instance_warmup(),
                    b.preferences.min_healthy_percentage(),
                );
            }
            let mut costly: Vec<_> = outcomes.iter().zip(blockers).enumerate().collect();
            costly.sort_by_key(|(_, (o, _))| {
                std::cmp::Reverse(
                    i64::from(o.calls) - i64::from(o.near) - (o.waited.as_secs() / 300) as i64,
                )
            });
            for (i, (o, b)) in costly.iter().take(8) {
                println!(
                    "costly {strategy:?} #{i}: {} calls ({} near the end) in {:.0} s, latency {:?}, {} {:?} {} {:?} {:?} {:?}",
                    o.calls,
                    o.near,
                    o.waited.as_secs_f64(),
                    o.latency,
                    b.kind(),
                    b.early_kind(),
                    b.instances,
                    b.unknowns.activities,
                    b.unknowns.instances_to_update,
                    b.unknowns.launch_activity_ends,
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

/// The outcomes of blockers that ran to their natural end (`true`) or ended early.
pub fn ends(outcomes: &[Outcome], natural: bool) -> Vec<Outcome> {
    outcomes
        .iter()
        .filter(|o| o.natural == natural)
        .copied()
        .collect()
}

/// Overall, natural-end and early-end summaries of one strategy.
#[derive(Debug, Clone, Copy)]
pub struct Rows {
    pub all: Summary,
    pub natural: Summary,
    pub early: Summary,
}

pub fn rows(outcomes: &[Outcome]) -> Rows {
    Rows {
        all: summarize(outcomes),
        natural: summarize(&ends(outcomes, true)),
        early: summarize(&ends(outcomes, false)),
    }
}

fn s(d: Option<Duration>) -> String {
    d.map_or("–".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
}

fn started(m: &Summary) -> String {
    format!(
        "{}/{} ({:.1} %)",
        m.started,
        m.runs,
        100.0 * m.started as f64 / m.runs.max(1) as f64
    )
}

/// The markdown tables: every strategy (overall, natural and early ends), then the status-aware
/// Refresher's overall, natural-end and early-end rows.
pub fn table(blockers: &[Blocker], seed: u64, results: &[(Strategy, Rows)]) -> String {
    let early = blockers.iter().filter(|b| b.early.is_some()).count();
    let mut out = format!(
        "{} blockers (seed {seed}) of the simulator's varied family (`Unknowns::draw` per blocker): 2 to 500 instances in batches, with checkpoints and bake times, 1 to 120 min left; {early} set to end early (cancelled, failed or rolled back by an alarm, stalled) at a seeded moment of the wait. Ours with an 8 h budget, the peers with their own limits. Latency: from the blocker's end (natural or early) to our successful start; calls: `StartInstanceRefresh`, `DescribeInstanceRefreshes` and `DescribeScalingActivities`.\n\n",
        blockers.len()
    );
    out.push_str("| strategy | started | latency p50 / p95 / p99, all | natural ends | early ends | calls per run | per hour waited | refreshes destroyed |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    let triple = |m: &Summary| format!("{} / {} / {}", s(m.p50), s(m.p95), s(m.p99));
    for (strategy, r) in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {}{} |",
            strategy.label(),
            started(&r.all),
            triple(&r.all),
            triple(&r.natural),
            triple(&r.early),
            r.all.calls_per_run,
            r.all.calls_per_hour,
            r.all.destroyed,
            if r.all.cancels > 0 {
                format!(" ({} cancel calls)", r.all.cancels)
            } else {
                String::new()
            },
        );
    }
    if let Some((strategy, r)) = results.iter().find(|(s, _)| *s == Strategy::StatusAware) {
        let _ = write!(
            out,
            "\n{}:\n\n| ends | started | latency p50 / p95 / p99 | calls per run | per hour waited |\n|---|---|---|---|---|\n",
            strategy.label()
        );
        for (name, m) in [("all", r.all), ("natural", r.natural), ("early", r.early)] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {:.1} | {:.1} |",
                started(&m),
                triple(&m),
                m.calls_per_run,
                m.calls_per_hour
            );
        }
    }
    out
}

/// The per-slice table of one strategy: for each unknown, each value's natural-end and
/// early-end latencies and calls per hour.
pub fn slice_table(blockers: &[Blocker], outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| unknown | value | natural ends | p50 / p95 / p99 | early ends | p95 | calls per hour |\n|---|---|---|---|---|---|---|\n",
    );
    let mut keys: Vec<(&'static str, String)> = Vec::new();
    for b in blockers {
        for k in b.slices() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let order: Vec<&'static str> = blockers
        .first()
        .map(|b| b.slices().iter().map(|(u, _)| *u).collect())
        .unwrap_or_default();
    keys.sort_by(|a, b| {
        let pos = |u: &str| order.iter().position(|o| *o == u);
        pos(a.0).cmp(&pos(b.0)).then_with(|| a.1.cmp(&b.1))
    });
    for (unknown, value) in keys {
        let of: Vec<Outcome> = outcomes
            .iter()
            .zip(blockers)
            .filter(|(_, b)| b.slices().contains(&(unknown, value.clone())))
            .map(|(o, _)| *o)
            .collect();
        let (natural, early) = (summarize(&ends(&of, true)), summarize(&ends(&of, false)));
        let _ = writeln!(
            out,
            "| {unknown} | {value} | {} | {} / {} / {} | {} | {} | {:.1} |",
            natural.runs,
            s(natural.p50),
            s(natural.p95),
            s(natural.p99),
            early.runs,
            s(early.p95),
            summarize(&of).calls_per_hour,
        );
    }
    out
}

/// The slice with the worst natural-end p95: (unknown, value, p95).
pub fn worst_slice(blockers: &[Blocker], outcomes: &[Outcome]) -> Option<(String, Duration)> {
    let mut worst: Option<(String, Duration)> = None;
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    for b in blockers {
        for k in b.slices() {
            if seen.contains(&k) || k.0 == "early end" {
                continue;
            }
            seen.push(k.clone());
            let of: Vec<Outcome> = outcomes
                .iter()
                .zip(blockers)
                .filter(|(o, b)| o.natural && b.slices().contains(&k))
                .map(|(o, _)| *o)
                .collect();
            if let Some(p95) = summarize(&of).p95
                && worst.as_ref().is_none_or(|(_, w)| p95 > *w)
            {
                worst = Some((format!("{} {}", k.0, k.1), p95));
            }
        }
    }
    worst
}
