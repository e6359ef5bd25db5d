//! The Refresher against the simulator over HTTP, on paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{InstanceRefreshStatus, RefreshPreferences};
use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig, RefreshStatus};
use instance_refresh_retry::{
    Adoption, NotAdoptable, OnConflict, Progress, RefreshError, RefreshErrorKind, Refresher,
    RetryOutcome, RetryPolicy, Started, StopReason,
};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::support::{
    TokioTime, e2e_policy, fixed_time, named_template_version, secs, send_cancel, send_rollback,
    sim_with_clock, sim_with_clock_at, start_refresh,
};

const START: &str = "StartInstanceRefresh";
const DESCRIBE: &str = "DescribeInstanceRefreshes";

/// A simulator, and a clock that reads the same wall-clock time as its timestamps.
struct Sim {
    sim: AutoScalingSim,
    clock: TokioTime,
}

impl std::ops::Deref for Sim {
    type Target = AutoScalingSim;

    fn deref(&self) -> &AutoScalingSim {
        &self.sim
    }
}

async fn started_sim(seed: u64) -> Sim {
    let (sim, clock) = sim_with_clock(seed).await;
    Sim { sim, clock }
}

/// A group whose refreshes take 5 s pending + `work` (+ `bake`).
async fn sim(work: Duration, bake: Duration) -> Sim {
    let sim = started_sim(8).await;
    sim.create_group(
        "web",
        GroupConfig::default()
            .pending_duration(secs(5))
            .refresh_duration(work)
            .bake_duration(bake),
    );
    sim
}

/// Someone else's refresh, started over the API with these preferences (Auto Scaling echoes
/// them, `BakeTime` included); the group's configuration times it.
async fn start_blocker(sim: &Sim, preferences: RefreshPreferences) -> String {
    start_refresh(&sim.client(), "web", None, Some(preferences)).await
}

/// Someone else's refresh, started from Rust and timed by `config`.
fn start_theirs(sim: &Sim, config: GroupConfig) -> String {
    sim.start_refresh("web", config).unwrap()
}

fn baking(seconds: i32) -> RefreshPreferences {
    RefreshPreferences::builder().bake_time(seconds).build()
}

fn input() -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap()
}

/// The Refresher's default policy on the simulator's clock, and a client with the SDK's own
/// retry off (one SDK call, one request).
fn refresher(sim: &Sim) -> Refresher {
    refresher_with(sim, sim.client(), Refresher::default_policy())
}

fn refresher_with(
    sim: &Sim,
    client: aws_sdk_autoscaling::Client,
    policy: RetryPolicy,
) -> Refresher {
    Refresher::new(client, policy).time_source(sim.clock)
}

/// A client with the SDK's own retry on.
fn retrying_client(sim: &Sim) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::from_conf(sim.sdk_config_builder().build())
}

/// Starts `web`'s refresh with `refresher`: the result, and the progress reports it made.
async fn start_reporting(refresher: Refresher) -> (Result<Started, RefreshError>, Vec<Progress>) {
    let reports = Reports::default();
    let result = refresher.on_progress(reports.sink()).start(input()).await;
    (result, reports.all())
}

/// Starts `input` with `refresher`: the refresh id.
async fn start_id(refresher: &Refresher, input: StartInstanceRefreshInput) -> String {
    refresher
        .start(input)
        .await
        .unwrap()
        .instance_refresh_id()
        .to_owned()
}

#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<Progress>>>);

impl Reports {
    fn sink(&self) -> impl Fn(&Progress) + Send + Sync + 'static {
        let sink = self.0.clone();
        move |p| sink.lock().unwrap().push(p.clone())
    }

    fn all(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}

fn calls(sim: &AutoScalingSim, operation: &str) -> Vec<(u64, Option<String>)> {
    sim.calls()
        .iter()
        .filter(|c| c.is(operation))
        .map(|c| (c.at.as_secs(), c.error_code().map(str::to_owned)))
        .collect()
}

/// When the StartInstanceRefresh requests came, in seconds.
fn start_times(sim: &AutoScalingSim) -> Vec<u64> {
    calls(sim, START).iter().map(|c| c.0).collect()
}

fn assert_gave_up_at_max_elapsed(err: &RefreshError) {
    assert_eq!(
        err.kind(),
        &RefreshErrorKind::GaveUp(StopReason::MaxElapsed)
    );
}

#[tokio::test(start_paused = true)]
async fn a_free_group_starts_at_once() {
    let sim = sim(secs(600), Duration::ZERO).await;
    let started = refresher(&sim).start(input()).await.unwrap();

    assert!(!started.adopted());
    assert_eq!(
        Some(started.instance_refresh_id()),
        sim.refreshes("web").unwrap().first().map(|r| r.id.as_str())
    );
    let stats = started.stats();
    assert_eq!(
        (stats.attempts, stats.describe_calls, stats.waited),
        (1, 0, Duration::ZERO)
    );
    assert_eq!(stats.outcome, RetryOutcome::Succeeded);
}

/// The same blocker from a client whose clock is `offset` past the whole second the wire's
/// timestamps (`StartTime`, the activities' times) are cut to.
async fn watch_an_in_progress_blocker(offset: Duration) {
    // Someone else's refresh, as Auto Scaling runs one (batches from MinHealthyPercentage 90:
    // 2 of 20 instances at a time, each launching in its own time around 170 s, no warmup),
    // started just now: about half an hour of work.
    let (sim, clock) = sim_with_clock_at(8, fixed_time() + offset).await;
    let sim = Sim { sim, clock };
    sim.create_group(
        "web",
        GroupConfig::default()
            .pending_duration(secs(5))
            .refresh_duration(secs(3600)),
    );
    let config = GroupConfig::default()
        .instances(20)
        .pending_duration(secs(5))
        .launch_duration(secs(170));
    let blocker = start_theirs(&sim, config);

    let (started, reports) = start_reporting(refresher(&sim)).await;

    let started = started.unwrap();
    let refreshes = sim.refreshes("web").unwrap();
    let ended = refreshes[1].end_time.expect("the blocker ended");
    let latency = refreshes[0].start_time.duration_since(ended).unwrap();
    assert!(
        latency <= secs(30),
        "{offset:?}: started {latency:?} after the blocker ended"
    );
    let starts = calls(&sim, START);
    // Near the end the estimator looks with a start (a probe) instead of a describe: every
    // start but the last was refused, and only the last started a refresh.
    let (last, refused) = starts.split_last().unwrap();
    assert!(last.1.is_none(), "{starts:?}");
    assert!(
        refused
            .iter()
            .all(|(_, code)| code.as_deref() == Some("InstanceRefreshInProgress")),
        "{starts:?}"
    );
    let describes = calls(&sim, DESCRIBE);
    assert!(
        describes.len() + starts.len() <= 40,
        "{offset:?}: {} describes and {} starts for a half-hour blocker",
        describes.len(),
        starts.len()
    );
    assert_eq!(started.stats().describe_calls as usize, describes.len());
    assert!(reports.iter().all(|p| p.refresh_id == blocker));
    assert!(
        reports
            .iter()
            .any(|p| p.status == Some(InstanceRefreshStatus::InProgress)
                && p.estimated_end.is_some())
    );
    // Long sleeps in the middle, never longer than max_check_interval (5 min by default); the
    // end is followed closely (above).
    let longest = reports.iter().map(|p| p.next_check).max().unwrap();
    assert_eq!(longest, secs(300));
    // ... and the checks (probes, mostly) come seconds apart through the minute before the
    // end: from the last check before that minute to the start. (A window may open earlier and
    // prove early: a probe, a describe, and a longer sleep to the next window are fine there.)
    let ended_at = ended.duration_since(sim.clock.base()).unwrap().as_secs();
    let mut checks: Vec<u64> = starts.iter().chain(&describes).map(|(at, _)| *at).collect();
    checks.sort_unstable();
    let from = checks
        .iter()
        .rposition(|at| *at + 60 <= ended_at)
        .unwrap_or(0);
    assert!(
        checks[from..].windows(2).all(|w| w[1] - w[0] <= 10),
        "{offset:?}: checks at {:?}, the blocker ended at {ended_at}",
        &checks[from..]
    );
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[1].status, RefreshStatus::Successful);
}

#[tokio::test(start_paused = true)]
async fn in_progress_blocker_is_watched_and_the_start_follows_its_end_closely() {
    // Our clock and Auto Scaling's whole seconds need not line up: the same blocker, seen
    // from four points inside the second.
    for millis in [0, 250, 500, 750] {
        watch_an_in_progress_blocker(Duration::from_millis(millis)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_baking_blocker_is_waited_out_for_the_rest_of_its_bake_time() {
    let sim = sim(secs(60), secs(1800)).await;
    start_blocker(&sim, baking(1800)).await;
    // Let it reach Baking before we come.
    tokio::time::sleep(secs(600)).await;
    let t0 = Instant::now();

    let (started, reports) = start_reporting(refresher(&sim)).await;

    started.unwrap();
    // It ends 1265 s after we came.
    let latency = t0.elapsed().saturating_sub(secs(1265));
    assert!(latency <= secs(30), "{latency:?}");
    assert!(
        reports
            .iter()
            .all(|p| p.status == Some(InstanceRefreshStatus::Baking))
    );
    assert!(calls(&sim, DESCRIBE).len() <= 20);
}

#[tokio::test(start_paused = true)]
async fn cancelling_and_rollback_blockers_are_estimated_from_their_progress_not_polled() {
    for rollback in [false, true] {
        let sim = sim(secs(600), Duration::ZERO).await;
        let config = GroupConfig::default()
            .refresh_duration(secs(600))
            .cancel_duration(secs(120))
            .rollback_duration(secs(120));
        sim.set_group_config("web", config.clone()).unwrap();
        let theirs = config.pending_duration(Duration::ZERO);
        sim.start_refresh_with_launch_template("web", theirs, "web", "1")
            .unwrap();
        tokio::time::sleep(secs(300)).await;
        if rollback {
            send_rollback(&sim.client(), "web").await.unwrap();
        } else {
            send_cancel(&sim.client(), "web").await.unwrap();
        }
        let t0 = Instant::now();

        let (started, reports) = start_reporting(refresher(&sim)).await;

        started.unwrap();
        // Both take 120 s. Checks spread out as the phase lasts (a rollback's as its
        // percentage falls), so the start comes within half the time waited, and after fewer
        // checks than polling every 15 s would make.
        let took = t0.elapsed();
        assert!(
            took >= secs(120) && took <= secs(180),
            "{rollback}: {took:?}"
        );
        let expected = if rollback {
            InstanceRefreshStatus::RollbackInProgress
        } else {
            InstanceRefreshStatus::Cancelling
        };
        assert!(!reports.is_empty());
        assert!(
            reports.iter().all(|p| p.status == Some(expected.clone())),
            "{reports:?}"
        );
        let describes = calls(&sim, DESCRIBE).len();
        assert!(describes < 120 / 15, "{rollback}: {describes} describes");
    }
}

#[tokio::test(start_paused = true)]
async fn a_pending_blocker_and_one_that_ends_between_start_and_describe() {
    // Pending for 40 s, then done at once.
    let sim = sim(secs(1), Duration::ZERO).await;
    let config = GroupConfig::default()
        .pending_duration(secs(40))
        .refresh_duration(Duration::ZERO);
    start_theirs(&sim, config);
    let t0 = Instant::now();

    let (started, reports) = start_reporting(refresher(&sim)).await;

    started.unwrap();
    assert!(
        reports
            .iter()
            .any(|p| p.status == Some(InstanceRefreshStatus::Pending))
    );
    // Pending for 40 s, then done at once: started within a short check of that.
    let took = t0.elapsed();
    assert!(took >= secs(40) && took <= secs(60), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn fail_names_the_blocker_after_one_start() {
    let sim = sim(secs(600), Duration::ZERO).await;
    let blocker = start_theirs(&sim, GroupConfig::default());

    let err = refresher(&sim)
        .on_conflict(OnConflict::Fail)
        .start(input())
        .await
        .unwrap_err();

    assert_eq!(
        err.kind(),
        &RefreshErrorKind::Conflict {
            refresh_id: Some(blocker.clone()),
            status: Some(InstanceRefreshStatus::Pending),
        }
    );
    assert!(err.to_string().contains(&blocker), "{err}");
    assert_eq!(calls(&sim, START).len(), 1);
    let sdk = err
        .sdk_error::<instance_refresh_retry::StartInstanceRefreshSdkError>()
        .expect("the SDK error is the source");
    assert!(
        sdk.as_service_error()
            .unwrap()
            .is_instance_refresh_in_progress_fault()
    );
    assert_eq!(err.stats().attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn cancel_and_replace_cancels_the_blocker_then_starts() {
    let sim = sim(secs(3600), Duration::ZERO).await;
    let config = GroupConfig::default()
        .refresh_duration(secs(3600))
        .cancel_duration(secs(30));
    let blocker = start_theirs(&sim, config);
    let t0 = Instant::now();

    let started = refresher(&sim)
        .on_conflict(OnConflict::CancelAndReplace)
        .start(input())
        .await
        .unwrap();

    assert_eq!(calls(&sim, "CancelInstanceRefresh").len(), 1);
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[0].id, started.instance_refresh_id());
    assert_eq!(
        (refreshes[1].id.as_str(), refreshes[1].status),
        (blocker.as_str(), RefreshStatus::Cancelled)
    );
    // Cancelling takes 30 s; the start follows within a short check.
    let took = t0.elapsed();
    assert!(took >= secs(30) && took <= secs(60), "{took:?}");
}

/// `started` was adopted, and it is the group's only refresh.
fn assert_adopted_the_only_refresh(sim: &AutoScalingSim, started: &Started) {
    assert!(started.adopted());
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 1, "exactly one refresh: {refreshes:#?}");
    assert_eq!(refreshes[0].id, started.instance_refresh_id());
}

#[tokio::test(start_paused = true)]
async fn a_lost_response_is_adopted_not_duplicated() {
    let sim = sim(secs(600), Duration::ZERO).await;
    sim.inject(FaultRule::new(Fault::ResponseLost).on(START));
    // The SDK's own retry is on: it retries the lost request and meets the refresh it started.
    let client = retrying_client(&sim);

    let started = refresher_with(&sim, client, Refresher::default_policy())
        .start(input())
        .await
        .unwrap();

    assert_adopted_the_only_refresh(&sim, &started);
    let log = sim.calls();
    assert_eq!(log.iter().filter(|c| c.is(START) && c.applied).count(), 1);
}

/// Found by `fault_run` (seed 377): without the SDK's own retry, the lost start is the call's
/// last answer, a dropped connection, not a refusal. When the describe that should find the
/// refresh failed too, the call used to end with `RefreshErrorKind::Aws` ("refused") while its
/// refresh ran. It looks again on the plain schedule and adopts it.
#[tokio::test(start_paused = true)]
async fn a_lost_response_then_a_failed_describe_is_looked_at_again_and_adopted() {
    let sim = sim(secs(600), Duration::ZERO).await;
    sim.inject(FaultRule::new(Fault::ResponseLost).on(START));
    sim.inject(FaultRule::new(Fault::ResponseLost).on(DESCRIBE));
    // 10 s, doubling, 60 s cap, no jitter, 1 h.
    let started = refresher_with(&sim, sim.client(), e2e_policy())
        .start(input())
        .await
        .unwrap();

    assert_adopted_the_only_refresh(&sim, &started);
    assert_eq!(start_times(&sim), [0]);
    // The lost describe at 0 s, the one that finds it after the first wait.
    assert_eq!(calls(&sim, DESCRIBE), [(0, None), (10, None)]);
    assert_eq!(started.stats().waited, secs(10));
}

/// When the group cannot be described until the budget runs out, the call says that the
/// refresh may be its own.
#[tokio::test(start_paused = true)]
async fn a_lost_response_with_no_describe_until_max_elapsed_gives_up_as_possibly_own() {
    let sim = sim(secs(600), Duration::ZERO).await;
    sim.inject(FaultRule::new(Fault::ResponseLost).on(START));
    sim.inject(FaultRule::new(Fault::InternalFailure).on(DESCRIBE).always());

    let err = refresher_with(&sim, sim.client(), e2e_policy())
        .start(input())
        .await
        .unwrap_err();

    assert_eq!(
        err.kind(),
        &RefreshErrorKind::GaveUp(StopReason::PossiblyOwnRefresh)
    );
    assert_eq!(
        err.stats().outcome,
        RetryOutcome::GaveUp(StopReason::PossiblyOwnRefresh)
    );
    assert_eq!(err.stats().elapsed, secs(3600));
    assert_eq!(start_times(&sim), [0]);
    assert_eq!(sim.refreshes("web").unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refresh_someone_else_starts_after_our_lost_request_is_waited_out_not_adopted() {
    let sim = sim(secs(300), Duration::ZERO).await;
    // Someone else's refresh, started as our request went out; ours is dropped unapplied, and
    // the SDK's own retry meets theirs.
    let theirs = start_theirs(&sim, GroupConfig::default().refresh_duration(secs(300)));
    sim.inject(FaultRule::new(Fault::CloseConnection).on(START));
    let client = retrying_client(&sim);
    let ours = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .preferences(RefreshPreferences::builder().instance_warmup(60).build())
        .build()
        .unwrap();

    let started = refresher_with(&sim, client, Refresher::default_policy())
        .start(ours)
        .await
        .unwrap();

    assert!(!started.adopted());
    assert_ne!(started.instance_refresh_id(), theirs);
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(
        refreshes[1].status,
        RefreshStatus::Successful,
        "theirs ran to its end"
    );
}

#[tokio::test(start_paused = true)]
async fn when_describe_fails_the_plain_schedule_takes_over() {
    let sim = sim(secs(100), Duration::ZERO).await;
    start_theirs(&sim, GroupConfig::default().refresh_duration(secs(100)));
    sim.inject(FaultRule::new(Fault::Throttling).on(DESCRIBE).always());
    // 10 s, doubling, 60 s cap, no jitter, 1 h.
    let policy = e2e_policy();

    let started = refresher_with(&sim, sim.client(), policy)
        .start(input())
        .await
        .unwrap();

    // Blocked at 0, 10, 30, 70 s; the blocker ends at 105 s; the start at 130 s succeeds.
    assert_eq!(start_times(&sim), [0, 10, 30, 70, 130]);
    assert_eq!(started.stats().attempts, 5);
    assert!(started.stats().describe_calls >= 4);
}

#[tokio::test(start_paused = true)]
async fn a_blocker_that_cannot_end_in_time_fails_fast() {
    let sim = sim(secs(600), Duration::ZERO).await;
    // Someone else's refresh with a 48 h bake time.
    sim.set_group_config(
        "web",
        GroupConfig::default()
            .refresh_duration(secs(600))
            .bake_duration(secs(48 * 3600)),
    )
    .unwrap();
    let blocker = start_blocker(&sim, baking(48 * 3600)).await;
    // Let it reach Baking.
    tokio::time::sleep(secs(700)).await;
    let t0 = Instant::now();

    let err = refresher(&sim).start(input()).await.unwrap_err();

    assert!(
        matches!(err.kind(), RefreshErrorKind::WontEndInTime { refresh_id, .. } if *refresh_id == blocker),
        "{err}"
    );
    assert_eq!(t0.elapsed(), Duration::ZERO, "no budget spent");
    assert_eq!(calls(&sim, DESCRIBE).len(), 1);

    // Waiting anyway runs into max_elapsed instead.
    let err = refresher(&sim)
        .fail_fast(false)
        .start(input())
        .await
        .unwrap_err();
    assert_gave_up_at_max_elapsed(&err);
}

#[tokio::test(start_paused = true)]
async fn the_refresher_is_a_tower_service() {
    let sim = sim(secs(60), Duration::ZERO).await;
    let svc = tower::ServiceBuilder::new()
        .concurrency_limit(1)
        .service(refresher(&sim));
    let started = svc.oneshot(input()).await.unwrap();
    assert!(!started.instance_refresh_id().is_empty());
}

// ---- wait_for_completion ----

#[tokio::test(start_paused = true)]
async fn wait_for_completion_follows_a_refresh_to_success() {
    let sim = sim(secs(1800), secs(300)).await;
    let r = refresher(&sim);
    let mut with_bake = input();
    with_bake.preferences = Some(baking(300));
    let started = r.start(with_bake).await.unwrap();
    let reports = Reports::default();
    let t0 = Instant::now();

    let done = r
        .on_progress(reports.sink())
        .wait_for_completion("web", started.instance_refresh_id(), secs(4 * 3600))
        .await
        .unwrap();

    assert!(done.is_successful());
    assert_eq!(done.status(), &InstanceRefreshStatus::Successful);
    let latency = t0.elapsed().saturating_sub(secs(5 + 1800 + 300));
    assert!(latency <= secs(30), "{latency:?}");
    assert!(done.stats().describe_calls <= 30, "{}", done.stats());
    let last = reports.all().pop().unwrap();
    assert_eq!(
        (last.status, last.next_check),
        (Some(InstanceRefreshStatus::Successful), Duration::ZERO)
    );
}

#[tokio::test(start_paused = true)]
async fn every_terminal_status_is_a_completion() {
    for (outcome, expected) in [
        ("fail", InstanceRefreshStatus::Failed),
        ("cancel", InstanceRefreshStatus::Cancelled),
        ("rollback", InstanceRefreshStatus::RollbackSuccessful),
    ] {
        let sim = started_sim(2).await;
        let mut config = GroupConfig::default().refresh_duration(secs(600));
        if outcome == "fail" {
            config = config.fail_after(secs(100));
        }
        sim.create_group("web", config);
        let r = refresher(&sim);
        // A pinned launch template version: what makes a refresh reversible.
        let mut pinned = input();
        pinned.desired_configuration = Some(named_template_version("web", "2"));
        let id = start_id(&r, pinned).await;
        match outcome {
            "cancel" => drop(send_cancel(&sim.client(), "web").await.unwrap()),
            "rollback" => drop(send_rollback(&sim.client(), "web").await.unwrap()),
            _ => {}
        }

        let done = r.wait_for_completion("web", &id, secs(3600)).await.unwrap();
        assert_eq!(done.status(), &expected, "{outcome}");
        assert!(!done.is_successful());
    }
}

#[tokio::test(start_paused = true)]
async fn wait_for_completion_errors_max_wait_and_not_found() {
    let sim = sim(secs(3600), Duration::ZERO).await;
    let r = refresher(&sim);
    let id = start_id(&r, input()).await;
    let t0 = Instant::now();

    let err = r
        .wait_for_completion("web", &id, secs(600))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), RefreshErrorKind::MaxWait { refresh_id, status: Some(InstanceRefreshStatus::InProgress) } if *refresh_id == id),
        "{err}"
    );
    assert_eq!(t0.elapsed(), secs(600));

    let err = r
        .wait_for_completion("web", "no-such-refresh", secs(600))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &RefreshErrorKind::NotFound {
            refresh_id: "no-such-refresh".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_completion_rides_out_throttled_describes() {
    let sim = sim(secs(120), Duration::ZERO).await;
    let r = refresher(&sim);
    let id = start_id(&r, input()).await;
    sim.inject(FaultRule::new(Fault::Throttling).on(DESCRIBE).times(3));

    let done = r.wait_for_completion("web", &id, secs(3600)).await.unwrap();

    assert!(done.is_successful());
    let throttled = calls(&sim, DESCRIBE)
        .iter()
        .filter(|c| c.1.is_some())
        .count();
    assert_eq!(throttled, 3);
}

#[tokio::test(start_paused = true)]
async fn rollback_failed_is_a_completion_too() {
    // The simulator does not model a failing rollback: serve Auto Scaling's answer for one.
    let sim = sim(secs(600), Duration::ZERO).await;
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wire/describe_cancelled.xml"
    ))
    .unwrap();
    let body = sample
        .replace("<Status>Cancelled</Status>", "<Status>RollbackFailed</Status>")
        .replace(
            "<InstancesToUpdate>",
            "<StatusReason>Rollback failed: the previous launch template version was deleted.</StatusReason><InstancesToUpdate>",
        );
    sim.inject(FaultRule::new(Fault::Raw { status: 200, body }).on(DESCRIBE));

    let done = refresher(&sim)
        .wait_for_completion("web", "a6daf44f-3a2a-47a6-ae05-153de6c69b78", secs(600))
        .await
        .unwrap();

    assert_eq!(done.status(), &InstanceRefreshStatus::RollbackFailed);
    assert_eq!(
        done.status_reason(),
        Some("Rollback failed: the previous launch template version was deleted.")
    );
    assert_eq!(done.stats().describe_calls, 1);
}

#[tokio::test(start_paused = true)]
async fn the_waiter_in_the_style_of_the_sdk() {
    use instance_refresh_retry::InstanceRefreshWaiterExt;

    let sim = sim(secs(300), Duration::ZERO).await;
    let id = start_id(&refresher(&sim), input()).await;
    let checks = Reports::default();

    let done = sim
        .client()
        .wait_until_instance_refresh_complete()
        .auto_scaling_group_name("web")
        .instance_refresh_id(&id)
        .on_progress(checks.sink())
        .wait(secs(3600))
        .await
        .unwrap();

    assert!(done.is_successful());
    assert!(!checks.all().is_empty());
    // Without a refresh id nothing is asked.
    let before = sim.calls().len();
    let err = sim
        .client()
        .wait_until_instance_refresh_complete()
        .auto_scaling_group_name("web")
        .wait(secs(60))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), RefreshErrorKind::NotFound { .. }));
    assert_eq!(sim.calls().len(), before);
}

#[tokio::test(start_paused = true)]
async fn refused_while_nothing_shows_active_does_not_loop() {
    // Auto Scaling refuses every start, yet describes nothing active (a lagging describe).
    let sim = sim(secs(60), Duration::ZERO).await;
    sim.inject(
        FaultRule::new(Fault::Error {
            status: 400,
            code: "InstanceRefreshInProgress".into(),
            message: "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.".into(),
        })
        .on(START)
        .always(),
    );
    // 10 s, doubling, 60 s cap, no jitter, 10 min.
    let policy = e2e_policy()
        .to_builder()
        .max_elapsed(secs(600))
        .build()
        .unwrap();

    let err = refresher_with(&sim, sim.client(), policy)
        .start(input())
        .await
        .unwrap_err();

    assert_gave_up_at_max_elapsed(&err);
    // One immediate retry, then the plain schedule: 0, 0, then 10, 30, 70, ... s.
    let starts = start_times(&sim);
    assert_eq!(&starts[..5], [0, 0, 10, 30, 70]);
    assert!(starts.len() <= 15, "{starts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_blocker_that_stopped_moving_is_flagged_stalled() {
    // Someone else's refresh, batched; its Launch process gets suspended after the first batch.
    let sim = sim(secs(600), Duration::ZERO).await;
    start_blocker(
        &sim,
        RefreshPreferences::builder().instance_warmup(60).build(),
    )
    .await;
    tokio::time::sleep(secs(200)).await;
    sim.suspend_launch("web").unwrap();
    let policy = Refresher::default_policy()
        .to_builder()
        .max_elapsed(secs(2 * 3600))
        .build()
        .unwrap();

    let (result, reports) = start_reporting(refresher_with(&sim, sim.client(), policy)).await;

    assert_gave_up_at_max_elapsed(&result.unwrap_err());
    let frozen = reports[0].percentage;
    assert!(reports.iter().all(|p| p.percentage == frozen));
    assert!(!reports[0].stalled);
    assert!(reports.last().unwrap().stalled, "{:?}", reports.last());
}

/// A request to roll out launch template `app` at `version`, skipping matching instances.
fn deploy(version: &str) -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .desired_configuration(named_template_version("app", version))
        .preferences(RefreshPreferences::builder().skip_matching(true).build())
        .build()
        .unwrap()
}

/// Run 1 of a deploy started its refresh, then was killed: its refresh runs on.
async fn killed_run(sim: &Sim, version: &str) -> String {
    let input = deploy(version);
    let id = start_refresh(
        &sim.client(),
        "web",
        input.desired_configuration().cloned(),
        input.preferences().cloned(),
    )
    .await;
    tokio::time::sleep(secs(90)).await;
    id
}

#[tokio::test(start_paused = true)]
async fn a_rerun_adopts_the_refresh_its_killed_run_started() {
    let sim = sim(secs(600), Duration::ZERO).await;
    let r = killed_run(&sim, "7").await;
    let started_r = sim.refreshes("web").unwrap()[0].start_time;

    let started = refresher(&sim)
        .on_conflict(OnConflict::Adopt)
        .start(deploy("7"))
        .await
        .unwrap();

    assert_eq!(started.instance_refresh_id(), r);
    assert_eq!(started.adoption(), Some(Adoption::MatchingRefresh));
    // Whole seconds on the wire.
    let whole =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(started.start_time().map(whole), Some(whole(started_r)));
    assert_adopted_the_only_refresh(&sim, &started);
    // One refused start, one describe that matched it; no waiting.
    assert_eq!(start_times(&sim).len(), 2);
    assert_eq!(calls(&sim, DESCRIBE).len(), 1);
    assert_eq!(started.stats().waited, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn adopt_waits_out_a_refresh_of_another_version_then_starts() {
    let sim = sim(secs(600), Duration::ZERO).await;
    let other = killed_run(&sim, "6").await;

    let started = refresher(&sim)
        .on_conflict(OnConflict::Adopt)
        .start(deploy("7"))
        .await
        .unwrap();

    assert!(!started.adopted());
    assert_eq!(started.adoption(), None);
    assert_eq!(started.start_time(), None);
    assert_ne!(started.instance_refresh_id(), other);
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[1].status, RefreshStatus::Successful);
    assert!(started.stats().waited > secs(400), "{}", started.stats());
}

#[tokio::test(start_paused = true)]
async fn adopt_without_a_pinned_version_waits_as_wait_does() {
    let sim = sim(secs(600), Duration::ZERO).await;
    // The very same request, but `$Latest` moves: it cannot be told to roll out the same.
    let latest = killed_run(&sim, "$Latest").await;
    assert!(matches!(
        Refresher::adoptable(&deploy("$Latest")),
        Err(NotAdoptable::FloatingVersion(v)) if v == "$Latest"
    ));

    let started = refresher(&sim)
        .on_conflict(OnConflict::Adopt)
        .start(deploy("$Latest"))
        .await
        .unwrap();

    assert!(!started.adopted());
    assert_ne!(started.instance_refresh_id(), latest);
    assert_eq!(sim.refreshes("web").unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn status_cancel_and_rollback_through_the_refresher() {
    let sim = sim(secs(600), Duration::ZERO).await;
    let refresher = refresher(&sim);
    assert_eq!(refresher.status("web").await.unwrap(), None);
    let r = killed_run(&sim, "7").await;
    let current = refresher.status("web").await.unwrap().unwrap();
    assert_eq!(current.instance_refresh_id(), r);
    assert!(current.is_active());
    assert_eq!(current.status(), Some(&InstanceRefreshStatus::InProgress));

    assert_eq!(refresher.rollback("web").await.unwrap(), r);
    let done = refresher
        .wait_for_completion("web", &r, secs(3600))
        .await
        .unwrap();
    assert_eq!(done.status(), &InstanceRefreshStatus::RollbackSuccessful);
    let current = refresher.status("web").await.unwrap().unwrap();
    assert!(!current.is_active());
    assert!(current.end_time().is_some());

    // Nothing to roll back, or to cancel: Auto Scaling's refusal, with its code.
    let err = refresher.rollback("web").await.unwrap_err();
    assert_eq!(err.kind(), &RefreshErrorKind::Aws);
    let err = refresher.cancel("web", false).await.unwrap_err();
    assert_eq!(err.kind(), &RefreshErrorKind::Aws);

    let next = killed_run(&sim, "8").await;
    assert_eq!(refresher.cancel("web", false).await.unwrap(), next);
    let cancel = sim
        .calls()
        .into_iter()
        .rfind(|c| c.is("CancelInstanceRefresh"))
        .unwrap();
    assert_eq!(
        cancel
            .params
            .get("WaitForTransitioningInstances")
            .map(String::as_str),
        Some("false")
    );
    assert_eq!(
        sim.refreshes("web").unwrap()[0].status,
        RefreshStatus::Cancelled
    );
}
