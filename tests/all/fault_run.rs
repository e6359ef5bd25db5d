//! Randomized fault runs: seeded scenarios on the simulator, over HTTP, on paused tokio time,
//! through the SDK interceptor path, the tower path (the layer over `StartInstanceRefreshService`)
//! and the `Refresher`.
//!
//! Each run draws, from its seed: a blocking refresh (none, linear, in batches, with checkpoints,
//! with a bake time, rolling back, or the refresh of an earlier run of the same deploy that was
//! killed: the call's very request, started up to 15 min before) of random length; random faults on every call (throttling,
//! 5xx including `ResourceContention`, dropped connections, responses lost after the start was
//! applied, answers slower than the client's attempt timeout); another deployer that may start a
//! refresh at a random moment, with the very request of the call or a different one; the
//! policy (seeded jitter), the SDK's own `max_attempts` (1 to 3), the Refresher's conflict
//! strategy, and the path. Then it checks what each path guarantees:
//!
//! - **Never two.** The call starts at most one refresh (counted in the simulator's call log:
//!   applied `StartInstanceRefresh` requests, and the refreshes the group has). The call's own
//!   refreshes take over an hour, so the SDK's quick retry inside one attempt (the exception the
//!   crate docs describe) never meets one that has already ended.
//! - **SDK and tower paths.** `Ok` carries the one refresh the call started. An `Err` comes with
//!   no refresh of the call's, or says that the outcome is unknown
//!   (`ProvideErrorCode::may_have_started_refresh`): `GaveUp(PossiblyOwnRefresh)` when the
//!   SDK's retry met the refresh, or the SDK's own error (dropped connection, timeout, 5xx) when
//!   its retries ran out or were off. Every failed call reports its stats. These paths never
//!   describe the group, so they cannot adopt: the other deployer's refresh, identical or not,
//!   is one more blocker, waited out, or, once the call's own outcome is unknown, a reason to
//!   stop with `GaveUp(PossiblyOwnRefresh)` although nothing of the call's was applied (the
//!   error says "may have").
//! - **Refresher.** `Ok` carries the refresh the call started, or adopted: its own (applied,
//!   answer lost) or, when none of its own was applied, the other deployer's *identical* one
//!   (started after the call began, less the clock skew, and after an attempt whose outcome is
//!   unknown: nothing tells them apart, as the crate docs say), or the killed earlier run's (the
//!   same request). It never adopts a refresh whose request differs. Under `OnConflict::Adopt`
//!   (a re-run), once a describe was answered while the earlier run's refresh was running, the
//!   call ends with that refresh, adopted: the fleet is never rolled twice for one deploy, unless
//!   that refresh ended before any describe of the call saw it (then the call starts one more,
//!   which `SkipMatching` makes end at once; counted). An `Err` comes with no refresh of the call's, unless it is
//!   `GaveUp(PossiblyOwnRefresh)` (it could not describe the group before the budget ran out).
//! - **Time.** The schedule counts `max_elapsed` from the first blocked answer on the SDK and
//!   tower paths, from the call's start in the Refresher. After that the call ends within one
//!   attempt: one SDK call with its own retries (up to three requests of at most the attempt
//!   timeout, 1 s and 2 s apart). The Refresher's last wait ends at the deadline, and after it
//!   come up to four SDK calls: a describe of the blocker; if it has ended, a start; if that
//!   start's outcome is unknown, a describe for its own refresh; if none, a describe of the new
//!   blocker before the policy stops. (The last one could be skipped; it is allowed here, and
//!   the test prints the longest time any path ran past its budget.)
//!
//! `FAULT_RUNS=N` sets the number of runs (default 510: 170 per path), `FAULT_SEED=S` the
//! first seed. A failing run prints its seed; `FAULT_SEED=S FAULT_RUNS=1` replays it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::retry::RetryConfig;
use aws_sdk_autoscaling::config::timeout::TimeoutConfig;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshInput, StartInstanceRefreshOutput,
};
use aws_sdk_autoscaling::types::RefreshPreferences;
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use instance_refresh_retry::sim::{AutoScalingSim, Fault, GroupConfig};
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, Jitter,
    OnConflict, ProvideErrorCode, RefreshErrorKind, Refresher, RetryOutcome, RetryPolicy,
    RetryStats, StartInstanceRefreshSdkError, StartInstanceRefreshService, StopReason,
};
use tokio::time::Instant;
use tower::{ServiceBuilder, ServiceExt};

use crate::sim::ten_o_clock_plus;
use crate::support::{
    TokioTime, named_template_version, secs, send_rollback, send_start_with, sim_with_clock_at,
    start_refresh,
};

const GROUP: &str = "web";
const START: &str = "StartInstanceRefresh";
const BLOCKED: &str = "InstanceRefreshInProgress";
/// The launch template of every request here; the call's own version, and another.
const TEMPLATE: &str = "app";
const OURS: &str = "7";
const OTHER: &str = "6";
/// The client's `operation_attempt_timeout`; `Fault::Slow` answers later than this.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RUNS: u64 = 510;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?}: not a number"))
        })
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Sdk,
    Tower,
    Refresher,
}

const PATHS: [Path; 3] = [Path::Sdk, Path::Tower, Path::Refresher];

#[derive(Debug, Clone, Copy)]
enum BlockerKind {
    Linear,
    Batched,
    Checkpoints,
    Bake,
    Rollback,
    /// The refresh of an earlier run of the same deploy (the call's very request), which was
    /// killed `age` before the call began.
    Earlier {
        age: Duration,
    },
}

/// Someone else's refresh at the start: its kind and its main duration (work, warmup,
/// checkpoint delay or bake time, by kind).
#[derive(Debug, Clone, Copy)]
struct Blocker {
    kind: BlockerKind,
    length: Duration,
}

/// Another deployer's start, `at` after the call began.
#[derive(Debug, Clone, Copy)]
enum Theirs {
    /// The call's own request (same launch template version).
    Identical,
    /// Another launch template version.
    OtherVersion,
    /// No desired configuration at all.
    Plain,
}

#[derive(Debug, Clone)]
struct Deployer {
    at: Duration,
    request: Theirs,
    length: Duration,
}

/// Everything a seed decides.
#[derive(Debug, Clone)]
struct Scenario {
    seed: u64,
    path: Path,
    blocker: Option<Blocker>,
    deployer: Option<Deployer>,
    fault_rate: f64,
    slow: Duration,
    policy: RetryPolicy,
    on_conflict: OnConflict,
    /// The SDK's own `max_attempts` (1: its retry is off).
    sdk_attempts: u32,
}

impl Scenario {
    fn new(seed: u64) -> Scenario {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut between = |lo: u64, hi: u64| secs(rng.u64(lo..=hi));
        let max_elapsed = between(300, 2 * 3600);
        let initial = between(1, 60);
        let max_delay = between(60, 1800);
        let blocker_length = between(30, 5400);
        // Half the time within the first 3 s, mostly with no blocker: between the call's first
        // request and the SDK's quick retries of it.
        let early = between(0, 3000) / 1000;
        let late = between(0, max_elapsed.as_secs() + 600);
        let deployer_early = between(0, 1).is_zero();
        let deployer_at = if deployer_early { early } else { late };
        let deployer_length = between(60, 3600);
        let slow = ATTEMPT_TIMEOUT + between(1, 120);
        let age = between(1, 900);
        let kinds = [
            BlockerKind::Linear,
            BlockerKind::Batched,
            BlockerKind::Checkpoints,
            BlockerKind::Bake,
            BlockerKind::Rollback,
            // A re-run is the common case in pipelines that cancel the job in progress.
            BlockerKind::Earlier { age },
            BlockerKind::Earlier { age },
        ];
        let no_blocker = if deployer_early { 7 } else { 1 };
        let blocker = (rng.u8(..10) >= no_blocker).then(|| Blocker {
            kind: kinds[rng.usize(..kinds.len())],
            length: blocker_length,
        });
        let deployer = (rng.u8(..10) < 7).then(|| Deployer {
            at: deployer_at,
            request: [Theirs::Identical, Theirs::OtherVersion, Theirs::Plain][rng.usize(..3)],
            length: deployer_length,
        });
        let jitter = [Jitter::None, Jitter::Full, Jitter::Equal][rng.usize(..3)];
        let policy = RetryPolicy::builder()
            .initial_delay(initial)
            .max_delay(max_delay)
            .jitter(jitter)
            .max_elapsed(max_elapsed)
            .seed(rng.u64(..))
            .build()
            .expect("policy");
        let on_conflict = match rng.u8(..10) {
            0 => OnConflict::Fail,
            1 => OnConflict::CancelAndReplace,
            2..=5 => OnConflict::Adopt,
            _ => OnConflict::Wait,
        };
        Scenario {
            seed,
            path: PATHS[(seed % 3) as usize],
            blocker,
            deployer,
            fault_rate: rng.f64() * 0.5,
            slow,
            policy,
            on_conflict,
            sdk_attempts: rng.u32(1..=3),
        }
    }

    /// The longest one attempt takes: the SDK's requests (each cut at the attempt timeout),
    /// 1 s, 2 s... apart (its standard retry with a static base, so runs replay exactly).
    fn one_attempt(&self) -> Duration {
        self.sdk_attempts * ATTEMPT_TIMEOUT + secs((1 << (self.sdk_attempts - 1)) - 1)
    }

    fn max_elapsed(&self) -> Duration {
        self.policy.max_elapsed().expect("bounded")
    }

    /// The group, the blocker (started over HTTP before any fault), then the configuration of
    /// the call's own refreshes (1 h, long past any quick retry of the SDK) and the faults.
    /// Returns the blocker's id and the call log's length before the call.
    async fn set_up(&self, sim: &AutoScalingSim) -> (Option<String>, usize) {
        let length = self.blocker.map_or(secs(60), |b| b.length);
        let config = GroupConfig::default()
            .instances(10)
            .pending_duration(secs(10))
            .refresh_duration(length)
            .rollback_duration(length / 2)
            .health_check_grace_period(secs(120));
        sim.create_group(GROUP, config);
        let blocker = match self.blocker {
            None => None,
            Some(blocker) => Some(start_blocker(sim, blocker).await),
        };
        let ours = GroupConfig::default()
            .pending_duration(secs(30))
            .refresh_duration(secs(3600));
        sim.set_group_config(GROUP, ours).expect("group");
        let mark = sim.calls().len();
        let kinds = [
            Fault::Throttling,
            Fault::InternalFailure,
            Fault::ServiceUnavailable,
            Fault::ResourceContention,
            Fault::CloseConnection,
            Fault::ResponseLost,
            Fault::AppliedInternalFailure,
            Fault::Slow(self.slow),
        ];
        sim.set_fault_rate(self.seed, self.fault_rate, kinds);
        (blocker, mark)
    }
}

async fn start_blocker(sim: &AutoScalingSim, blocker: Blocker) -> String {
    let client = sim.client();
    let seconds = i32::try_from(blocker.length.as_secs()).expect("fits");
    let preferences = match blocker.kind {
        BlockerKind::Linear | BlockerKind::Rollback | BlockerKind::Earlier { .. } => None,
        BlockerKind::Batched => Some(
            RefreshPreferences::builder()
                .min_healthy_percentage(80)
                .instance_warmup(seconds / 5)
                .build(),
        ),
        BlockerKind::Checkpoints => Some(
            RefreshPreferences::builder()
                .instance_warmup(60)
                .checkpoint_percentages(30)
                .checkpoint_percentages(100)
                .checkpoint_delay(seconds)
                .build(),
        ),
        BlockerKind::Bake => Some(RefreshPreferences::builder().bake_time(seconds).build()),
    };
    // A rollback needs a pinned version; not the call's own, so never adopted.
    let desired = match blocker.kind {
        BlockerKind::Rollback => Some(named_template_version(TEMPLATE, "5")),
        // The earlier run sent the very request of the call.
        BlockerKind::Earlier { .. } => input().desired_configuration().cloned(),
        _ => None,
    };
    let id = start_refresh(&client, GROUP, desired, preferences).await;
    match blocker.kind {
        BlockerKind::Rollback => {
            tokio::time::sleep(blocker.length / 4).await;
            send_rollback(&client, GROUP).await.expect("rollback");
        }
        BlockerKind::Earlier { age } => tokio::time::sleep(age).await,
        _ => {}
    }
    id
}

/// The other deployer: waits, then starts its refresh from Rust (no HTTP, no faults) if the
/// group is free. Returns its refresh's id.
async fn deploy(sim: &AutoScalingSim, deployer: Option<Deployer>) -> Option<String> {
    let deployer = deployer?;
    tokio::time::sleep(deployer.at).await;
    let config = GroupConfig::default()
        .pending_duration(secs(10))
        .refresh_duration(deployer.length);
    let started = match deployer.request {
        Theirs::Identical => sim.start_refresh_with_launch_template(GROUP, config, TEMPLATE, OURS),
        Theirs::OtherVersion => {
            sim.start_refresh_with_launch_template(GROUP, config, TEMPLATE, OTHER)
        }
        Theirs::Plain => sim.start_refresh(GROUP, config),
    };
    started.ok()
}

/// How a call ended.
#[derive(Debug)]
enum Ended {
    Started {
        id: String,
        adopted: bool,
    },
    Failed {
        /// The error says that the call may have started a refresh.
        unknown: bool,
        /// What the call's stats said, when it reported them.
        outcome: Option<RetryOutcome>,
        error: String,
    },
}

fn input() -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(GROUP)
        .desired_configuration(named_template_version(TEMPLATE, OURS))
        .build()
        .expect("input")
}

/// The client of every path: the simulator's, with the SDK's standard retry (static base, so
/// that runs replay exactly) and a retry quota of its own (the default partition's is shared
/// by every client of the process, and runs must not drain each other's), the attempt
/// timeout, and tokio's clock.
fn sdk_config(
    sc: &Scenario,
    sim: &AutoScalingSim,
    clock: TokioTime,
) -> aws_sdk_autoscaling::config::Builder {
    let retry = RetryConfig::standard()
        .with_use_static_exponential_base(true)
        .with_max_attempts(sc.sdk_attempts);
    sim.sdk_config_builder()
        .retry_config(retry)
        .retry_partition(
            RetryPartition::custom("fault-run")
                .token_bucket(TokenBucket::default())
                .build(),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .time_source(clock)
}

/// Runs the call on the scenario's path.
async fn call(sc: &Scenario, sim: &AutoScalingSim, clock: TokioTime) -> Ended {
    let finished: Arc<Mutex<Option<RetryStats>>> = Arc::default();
    let sink = finished.clone();
    let on_finish = move |s: &RetryStats| *sink.lock().unwrap() = Some(*s);
    let outcome = || finished.lock().unwrap().map(|s| s.outcome);
    match sc.path {
        Path::Sdk => {
            let retry = InstanceRefreshRetryConfig::new(sc.policy.clone()).on_finish(on_finish);
            let client = Client::from_conf(
                sdk_config(sc, sim, clock)
                    .instance_refresh_retry(retry)
                    .build(),
            );
            let desired = input().desired_configuration().cloned();
            let result = send_start_with(&client, GROUP, desired, None).await;
            ended(result, outcome())
        }
        Path::Tower => {
            let client = Client::from_conf(sdk_config(sc, sim, clock).build());
            let svc = ServiceBuilder::new()
                .layer(InstanceRefreshRetryLayer::new(sc.policy.clone()).on_finish(on_finish))
                .service(StartInstanceRefreshService::new(client));
            let result = svc.oneshot(input()).await;
            ended(result, outcome())
        }
        Path::Refresher => {
            let client = Client::from_conf(sdk_config(sc, sim, clock).build());
            let refresher = Refresher::new(client, sc.policy.clone())
                .on_conflict(sc.on_conflict)
                .time_source(clock);
            match refresher.start(input()).await {
                Ok(s) => Ended::Started {
                    id: s.instance_refresh_id().to_owned(),
                    adopted: s.adopted(),
                },
                Err(err) => Ended::Failed {
                    unknown: matches!(
                        err.kind(),
                        RefreshErrorKind::GaveUp(StopReason::PossiblyOwnRefresh)
                    ),
                    outcome: Some(err.stats().outcome),
                    error: format!("{:?}: {err}", err.kind()),
                },
            }
        }
    }
}

/// How a call of the SDK or tower path ended, with the outcome its stats reported.
fn ended(
    result: Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>,
    outcome: Option<RetryOutcome>,
) -> Ended {
    match result {
        Ok(out) => Ended::Started {
            id: out.instance_refresh_id().expect("an id").to_owned(),
            adopted: false,
        },
        Err(err) => Ended::Failed {
            unknown: err.may_have_started_refresh(),
            outcome,
            error: format!("{err:?}"),
        },
    }
}

/// What the runs counted.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    faults: usize,
    started: usize,
    adopted_own: usize,
    adopted_identical: usize,
    /// Re-runs (`Adopt` after a killed earlier run): adopted its refresh; started one more
    /// after it ended unseen.
    rerun_adopted: usize,
    rerun_started_after_it_ended: usize,
    unknown_with_refresh: usize,
    failed_none_started: usize,
    deployer_refreshes: usize,
    /// The longest time past the schedule's budget, by path.
    past_budget: [Duration; 3],
}

/// Prints the seed of a run that panics.
struct Replay(u64);

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "fault_run failed at seed {0}; replay: FAULT_SEED={0} FAULT_RUNS=1 cargo test --all-features --test all fault_run -- --nocapture",
                self.0
            );
        }
    }
}

/// One seeded run: sets it up, runs the call (and the other deployer beside it), checks every
/// invariant, and counts.
async fn run(seed: u64, tally: &mut Tally) {
    let _replay = Replay(seed);
    let sc = Scenario::new(seed);
    let (sim, clock) = sim_with_clock_at(seed, ten_o_clock_plus(Duration::ZERO)).await;
    let (blocker, mark) = sc.set_up(&sim).await;
    let began = sim.elapsed();
    let timed = async {
        let t0 = Instant::now();
        let ended = call(&sc, &sim, clock).await;
        (ended, t0.elapsed())
    };
    let ((ended, elapsed), theirs) = tokio::join!(timed, deploy(&sim, sc.deployer.clone()));

    let calls = sim.calls().split_off(mark);
    let others: BTreeSet<&str> = blocker.iter().chain(&theirs).map(String::as_str).collect();
    let ours: Vec<String> = sim
        .refreshes(GROUP)
        .expect("group")
        .into_iter()
        .map(|r| r.id)
        .filter(|id| !others.contains(id.as_str()))
        .collect();
    let applied = calls.iter().filter(|c| c.is(START) && c.applied).count();
    let log: Vec<String> = calls
        .iter()
        .map(|c| {
            let op = c.operation.as_deref().unwrap_or("?");
            let fault = c.fault.as_ref().map_or("", |f| f.name());
            let applied = if c.applied { " applied" } else { "" };
            format!("{:?} {op} {:?} {fault}{applied}", c.at - began, c.outcome)
        })
        .collect();
    let context = format!(
        "{sc:#?}\n{ended:#?}\nours: {ours:?}\ncalls:\n{}",
        log.join("\n")
    );
    assert_eq!(
        ours.len(),
        applied,
        "refreshes vs applied starts\n{context}"
    );
    assert!(ours.len() <= 1, "two refreshes started\n{context}");

    match &ended {
        Ended::Started { id, adopted: false } => {
            assert_eq!(
                ours,
                std::slice::from_ref(id),
                "the refresh returned\n{context}"
            );
            tally.started += 1;
        }
        Ended::Started { id, adopted: true } => {
            assert_eq!(
                sc.path,
                Path::Refresher,
                "only the Refresher adopts\n{context}"
            );
            let earlier = matches!(
                sc.blocker,
                Some(Blocker {
                    kind: BlockerKind::Earlier { .. },
                    ..
                })
            );
            if ours.is_empty() && earlier && blocker.as_ref() == Some(id) {
                // The killed earlier run's refresh: the very same request.
                tally.rerun_adopted += usize::from(sc.on_conflict == OnConflict::Adopt);
            } else if ours.is_empty() {
                // None of its own was applied: only the identical refresh of the other
                // deployer can be taken for its own.
                assert!(
                    matches!(
                        sc.deployer,
                        Some(Deployer {
                            request: Theirs::Identical,
                            ..
                        })
                    ) && theirs.as_ref() == Some(id),
                    "adopted a refresh that is not its own\n{context}"
                );
                tally.adopted_identical += 1;
            } else {
                assert_eq!(ours, std::slice::from_ref(id), "adopted\n{context}");
                tally.adopted_own += 1;
            }
        }
        Ended::Failed {
            unknown,
            outcome,
            error,
        } => {
            // Every call that runs to completion reports its stats (on_finish on both paths).
            assert!(outcome.is_some(), "{error}: no stats\n{context}");
            if outcome == &Some(RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)) {
                assert!(
                    unknown,
                    "{error} gave up for a possible own refresh\n{context}"
                );
            }
            if ours.is_empty() {
                tally.failed_none_started += 1;
            } else {
                assert!(unknown, "{error} hides the refresh it started\n{context}");
                tally.unknown_with_refresh += 1;
            }
        }
    }

    // A re-run: once a describe was answered while the earlier run's refresh ran, the call
    // adopted that refresh.
    if let (
        OnConflict::Adopt,
        Path::Refresher,
        Some(Blocker {
            kind: BlockerKind::Earlier { .. },
            ..
        }),
        Some(r),
    ) = (sc.on_conflict, sc.path, sc.blocker, blocker.as_ref())
    {
        let snapshot = sim
            .refreshes(GROUP)
            .expect("group")
            .into_iter()
            .find(|s| s.id == *r)
            .expect("the earlier run's refresh");
        let base = ten_o_clock_plus(Duration::ZERO);
        let seen_running = calls.iter().any(|c| {
            c.is("DescribeInstanceRefreshes")
                && c.fault.is_none()
                && c.outcome.status() == Some(200)
                && snapshot.end_time.is_none_or(|end| base + c.at < end)
        });
        let adopted_it = matches!(&ended, Ended::Started { id, adopted: true } if id == r);
        if seen_running {
            assert!(
                adopted_it,
                "a re-run saw its earlier refresh running and did not adopt it\n{context}"
            );
        } else if matches!(ended, Ended::Started { adopted: false, .. }) {
            tally.rerun_started_after_it_ended += 1;
        }
    }

    // Time: the schedule's budget, then one attempt (the Refresher: up to four calls). On
    // the SDK and tower paths the budget starts with the first blocked answer the client read;
    // without one, the call was one attempt.
    let first_blocked = calls
        .iter()
        .find(|c| c.is(START) && c.error_code() == Some(BLOCKED) && c.fault.is_none())
        .map(|c| c.at - began);
    let budget = match sc.path {
        Path::Refresher => Some(sc.max_elapsed()),
        Path::Sdk | Path::Tower => first_blocked.map(|at| at + sc.max_elapsed()),
    };
    let past_budget = elapsed.saturating_sub(budget.unwrap_or_default());
    let allowed = match sc.path {
        Path::Refresher => 4 * sc.one_attempt(),
        Path::Sdk | Path::Tower => sc.one_attempt(),
    };
    assert!(
        past_budget <= allowed,
        "took {elapsed:?}: {past_budget:?} past the budget, more than {allowed:?}\n{context}"
    );
    let longest = &mut tally.past_budget[sc.path as usize];
    *longest = (*longest).max(past_budget);

    tally.runs += 1;
    tally.faults += calls.iter().filter(|c| c.fault.is_some()).count();
    tally.deployer_refreshes += usize::from(theirs.is_some());
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_run() {
    let runs = env_u64("FAULT_RUNS", DEFAULT_RUNS);
    let first = env_u64("FAULT_SEED", 0);
    let mut tally = Tally::default();
    for seed in first..first.saturating_add(runs) {
        run(seed, &mut tally).await;
    }
    let Tally {
        runs,
        faults,
        started,
        adopted_own,
        adopted_identical,
        rerun_adopted,
        rerun_started_after_it_ended,
        unknown_with_refresh,
        failed_none_started,
        deployer_refreshes,
        past_budget,
    } = tally;
    println!(
        "fault_run: {runs} runs from seed {first}, {faults} faults, refreshes: {started} started, \
         {adopted_own} adopted (own), {adopted_identical} adopted (identical other deployer), \
         {rerun_adopted} re-runs (Adopt) adopted the killed run's refresh, \
         {rerun_started_after_it_ended} re-runs started one more after it ended unseen, \
         {unknown_with_refresh} behind an unknown-outcome error; {failed_none_started} typed \
         errors with none started; {deployer_refreshes} refreshes of the other deployer; \
         longest past the budget: {past_budget:?} (SDK, tower, Refresher)"
    );
    assert_eq!(runs, env_u64("FAULT_RUNS", DEFAULT_RUNS));
    assert!(
        runs < 100 || rerun_adopted > 0,
        "no re-run adopted the earlier run's refresh: the runs miss the case"
    );
}
