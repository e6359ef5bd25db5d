//! How refreshes progress: batches from the healthy percentages and the warmup, checkpoints,
//! bake times, and the faults that fail or stall a refresh. Paused tokio time, exact instants,
//! through the real SDK client.

use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus as S, RefreshPreferences};
use instance_refresh_retry::sim::{GroupConfig, RefreshStatus, SimError};

use super::{TEN_O_CLOCK, Timeline, batches, end_secs, latest, launching, ten_o_clock_plus};
use crate::support::{secs, send_cancel, send_start, start_refresh};

async fn start_with(c: &Client, group: &str, preferences: RefreshPreferences) -> String {
    start_refresh(c, group, None, Some(preferences)).await
}

/// (Status, PercentageComplete, InstancesToUpdate), as the SDK parsed them, after checking
/// that the live pool's progress agrees and that no warm pool progress is reported.
fn progress(r: &InstanceRefresh) -> (S, i32, i32) {
    let live = r
        .progress_details()
        .and_then(|d| d.live_pool_progress())
        .expect("LivePoolProgress");
    assert_eq!(live.percentage_complete(), r.percentage_complete());
    assert_eq!(live.instances_to_update(), r.instances_to_update());
    assert!(
        r.progress_details()
            .and_then(|d| d.warm_pool_progress())
            .is_none()
    );
    super::progress(r)
}

/// At each `(seconds, progress)` in turn, `web`'s newest refresh has that progress.
async fn assert_progress_at(t: &Timeline, expected: &[(u64, (S, i32, i32))]) {
    for (at, expected) in expected {
        assert_eq!(progress(&t.latest_at(*at).await), *expected, "at {at} s");
    }
}

/// `web`'s newest refresh `at` seconds in, after checking its progress and the checkpoint the
/// simulator has it paused at (`None`: at none).
async fn assert_checkpoint_at(
    t: &Timeline,
    at: u64,
    expected: (S, i32, i32),
    checkpoint: Option<u32>,
) -> InstanceRefresh {
    let r = t.latest_at(at).await;
    assert_eq!(progress(&r), expected, "at {at} s");
    assert_eq!(t.snapshot("web").checkpoint, checkpoint, "at {at} s");
    r
}

const WARMING_UP: &str = "Waiting for instances to warm up before continuing. For example: i-";

#[tokio::test(start_paused = true)]
async fn batches_follow_min_healthy_and_warmup_with_exact_percentages() {
    let t = Timeline::new(launching(10, 60).pending_duration(secs(30))).await;
    // 80 % of 10 stay healthy: 2 at a time. 60 s launch + 240 s warmup: 300 s a batch.
    start_with(&t.client, "web", batches(80, 240).build()).await;

    let r = t.latest().await;
    assert_eq!(progress(&r), (S::Pending, 0, 10));
    assert_eq!(
        r.status_reason(),
        Some("Waiting for the instance refresh to start.")
    );
    let start = r.start_time().expect("start");
    assert_eq!((start.secs(), start.subsec_nanos()), (TEN_O_CLOCK, 0));
    assert_eq!(t.snapshot("web").batch_size, Some(2));

    let mut reasons = Vec::new();
    for (at, expected) in [
        (30, (S::InProgress, 0, 10)),
        (329, (S::InProgress, 0, 10)),
        (330, (S::InProgress, 20, 8)),
        (629, (S::InProgress, 20, 8)),
        (630, (S::InProgress, 40, 6)),
        (930, (S::InProgress, 60, 4)),
        (1230, (S::InProgress, 80, 2)),
        (1529, (S::InProgress, 80, 2)),
    ] {
        let r = t.latest_at(at).await;
        assert_eq!(progress(&r), expected, "at {at} s");
        let reason = r.status_reason().expect("reason").to_owned();
        assert!(
            reason.starts_with(WARMING_UP) && reason.ends_with(" is warming up."),
            "{reason}"
        );
        assert_eq!(r.end_time(), None);
        reasons.push(reason);
    }
    // The instance named is one of the current batch: it changes with the batch.
    assert_eq!(reasons[0], reasons[1]);
    assert_ne!(reasons[1], reasons[2]);

    let r = t.latest_at(1530).await;
    assert_eq!(progress(&r), (S::Successful, 100, 0));
    assert_eq!(r.status_reason(), None);
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 1530));
    let snapshot = t.snapshot("web");
    assert_eq!(snapshot.status, RefreshStatus::Successful);
    assert_eq!(snapshot.end_time, Some(ten_o_clock_plus(secs(1530))));
}

#[tokio::test(start_paused = true)]
async fn max_healthy_above_100_replaces_more_instances_at_once() {
    let config = launching(4, 60);
    let t = Timeline::new(config.clone()).await;
    t.sim.create_group("one-by-one", config);
    // Launch before terminating, up to 150 %: 2 new instances at a time.
    let up_to_150 = batches(100, 0).max_healthy_percentage(150).build();
    start_with(&t.client, "web", up_to_150).await;
    // 100 % healthy and no room above: 1 at a time.
    start_with(&t.client, "one-by-one", batches(100, 0).build()).await;
    assert_eq!(t.snapshot("web").batch_size, Some(2));
    assert_eq!(t.snapshot("one-by-one").batch_size, Some(1));

    assert_progress_at(
        &t,
        &[(59, (S::InProgress, 0, 4)), (60, (S::InProgress, 50, 2))],
    )
    .await;
    assert_eq!(t.snapshot("one-by-one").percentage_complete, 25);
    assert_eq!(progress(&t.latest_at(120).await), (S::Successful, 100, 0));
    assert_eq!(t.snapshot("one-by-one").percentage_complete, 50);
    t.sleep_until(240).await;
    assert_eq!(t.snapshot("one-by-one").status, RefreshStatus::Successful);
}

#[tokio::test(start_paused = true)]
async fn a_group_can_opt_in_to_batches_without_preferences() {
    // 90 % of 3 stay healthy (rounded up: all 3), so 1 at a time; 60 s + 30 s a batch.
    let config = launching(3, 60)
        .pending_duration(secs(5))
        .batched(true)
        .default_warmup(secs(30));
    let t = Timeline::new(config).await;
    // Without a default warmup, the health check grace period is the warmup.
    t.sim.create_group(
        "grace",
        GroupConfig::default()
            .instances(1)
            .pending_duration(Duration::ZERO)
            .batched(true)
            .health_check_grace_period(secs(120)),
    );
    // Without the opt-in and without preferences: linear over refresh_duration.
    t.sim.create_group(
        "linear",
        GroupConfig::default()
            .pending_duration(Duration::ZERO)
            .refresh_duration(secs(100)),
    );
    for group in ["web", "grace", "linear"] {
        send_start(&t.client, group).await.expect("start");
    }
    assert_eq!(t.snapshot("web").batch_size, Some(1));
    assert_eq!(t.snapshot("linear").batch_size, None);

    assert_progress_at(
        &t,
        &[(94, (S::InProgress, 0, 3)), (95, (S::InProgress, 33, 2))],
    )
    .await;
    assert_eq!(t.snapshot("linear").percentage_complete, 95);
    assert_eq!(progress(&t.latest_at(184).await), (S::InProgress, 33, 2));
    assert_eq!(t.snapshot("grace").status, RefreshStatus::Successful);
    assert_progress_at(
        &t,
        &[
            (185, (S::InProgress, 66, 1)),
            (274, (S::InProgress, 66, 1)),
            (275, (S::Successful, 100, 0)),
        ],
    )
    .await;
    assert_eq!(
        t.snapshot("grace").end_time,
        Some(ten_o_clock_plus(secs(60 + 120)))
    );
}

#[tokio::test(start_paused = true)]
async fn checkpoints_pause_and_resume_like_the_user_guide_example() {
    // The AWS user guide's example: 10 instances, checkpoints [20, 50], 15 minutes of delay,
    // minimum healthy 80 %, 10 minutes per replacement.
    let t = Timeline::new(launching(10, 60)).await;
    let preferences = batches(80, 540)
        .checkpoint_percentages(20)
        .checkpoint_percentages(50)
        .checkpoint_delay(900)
        .build();
    start_with(&t.client, "web", preferences).await;

    let checkpoint_reason = "Waiting for the checkpoint delay to elapse. Checkpoint 20% reached.";
    for (at, expected, checkpoint) in [
        (599, (S::InProgress, 0, 10), None),
        (600, (S::InProgress, 20, 8), Some(20)),
        (1499, (S::InProgress, 20, 8), Some(20)),
        (1500, (S::InProgress, 20, 8), None),
        (2099, (S::InProgress, 20, 8), None),
        (2100, (S::InProgress, 40, 6), None),
        (2699, (S::InProgress, 40, 6), None),
    ] {
        let r = assert_checkpoint_at(&t, at, expected, checkpoint).await;
        let reason = r.status_reason().expect("reason");
        if checkpoint.is_some() {
            assert_eq!(reason, checkpoint_reason, "at {at} s");
        } else {
            assert!(reason.starts_with(WARMING_UP), "at {at} s: {reason}");
        }
    }
    // The last checkpoint (50) ends the refresh, without a delay: a partial refresh.
    let r = t.latest_at(2700).await;
    assert_eq!(progress(&r), (S::Successful, 50, 5));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 2700));
    let p = r.preferences().expect("preferences");
    assert_eq!(p.checkpoint_percentages(), [20, 50]);
    assert_eq!(p.checkpoint_delay(), Some(900));
}

#[tokio::test(start_paused = true)]
async fn a_last_checkpoint_of_100_ends_without_a_wait_and_the_delay_defaults_to_an_hour() {
    let t = Timeline::new(launching(2, 60)).await;
    let preferences = batches(50, 0)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100)
        .build();
    start_with(&t.client, "web", preferences).await;
    let delay = t
        .latest()
        .await
        .preferences()
        .and_then(|p| p.checkpoint_delay());
    assert_eq!(delay, Some(3600));

    for (at, expected, checkpoint) in [
        (60, (S::InProgress, 50, 1), Some(50)),
        (3659, (S::InProgress, 50, 1), Some(50)),
        (3660, (S::InProgress, 50, 1), None),
        (3719, (S::InProgress, 50, 1), None),
        (3720, (S::Successful, 100, 0), None),
    ] {
        assert_checkpoint_at(&t, at, expected, checkpoint).await;
    }
    assert_eq!(end_secs(&t.latest().await), Some(TEN_O_CLOCK + 3720));
}

#[tokio::test(start_paused = true)]
async fn bake_time_from_the_request_then_successful() {
    // The group's bake_duration is only a fallback: the request's BakeTime wins.
    let t = Timeline::new(launching(1, 60).bake_duration(secs(1000))).await;
    t.sim.create_group(
        "fallback",
        GroupConfig::default()
            .pending_duration(Duration::ZERO)
            .refresh_duration(secs(10))
            .bake_duration(secs(50)),
    );
    let bake_120 = RefreshPreferences::builder()
        .instance_warmup(0)
        .bake_time(120)
        .build();
    start_with(&t.client, "web", bake_120).await;
    send_start(&t.client, "fallback").await.expect("start");

    assert_eq!(progress(&t.latest_at(59).await), (S::InProgress, 0, 1));
    // The fallback group bakes from 10 s to 60 s.
    assert_eq!(t.snapshot("fallback").status, RefreshStatus::Baking);
    let r = t.latest_at(60).await;
    assert_eq!(progress(&r), (S::Baking, 100, 0));
    assert!(
        r.status_reason().expect("reason").contains("bake time"),
        "{r:?}"
    );
    assert_eq!(r.end_time(), None);
    assert_eq!(r.preferences().and_then(|p| p.bake_time()), Some(120));
    assert_eq!(t.snapshot("fallback").status, RefreshStatus::Successful);

    assert_eq!(progress(&t.latest_at(179).await), (S::Baking, 100, 0));
    let r = t.latest_at(180).await;
    assert_eq!(progress(&r), (S::Successful, 100, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 180));

    // The fallback bake is echoed as the BakeTime in effect.
    let r = latest(&t.client, "fallback").await;
    assert_eq!(progress(&r), (S::Successful, 100, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 60));
    assert_eq!(r.preferences().and_then(|p| p.bake_time()), Some(50));
}

/// 4 instances, 2 at a time, 100 s a batch, no pending time: 50 % at 100 s, done at 200 s.
async fn two_batches_of_100_s() -> Timeline {
    let t = Timeline::new(launching(4, 100)).await;
    start_with(&t.client, "web", batches(50, 0).build()).await;
    t
}

#[tokio::test(start_paused = true)]
async fn fail_refresh_freezes_progress_with_a_status_reason() {
    let t = two_batches_of_100_s().await;
    let reason = "Instance i-0123456789abcdef0 failed to launch: the AMI is not available.";
    t.sleep_until(150).await;
    let id = t.sim.fail_refresh("web", reason).expect("failed");

    let r = t.latest().await;
    assert_eq!(r.instance_refresh_id(), Some(id.as_str()));
    assert_eq!(progress(&r), (S::Failed, 50, 2));
    assert_eq!(r.status_reason(), Some(reason));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 150));
    assert_eq!(progress(&t.latest_at(1000).await), (S::Failed, 50, 2));
    assert_eq!(t.snapshot("web").status_reason.as_deref(), Some(reason));

    assert_eq!(
        t.sim.fail_refresh("web", reason),
        Err(SimError::NoActiveRefresh("web".to_owned()))
    );
    assert_eq!(
        t.sim.fail_refresh("nope", reason),
        Err(SimError::UnknownGroup("nope".to_owned()))
    );
    // A failed refresh no longer blocks the group.
    send_start(&t.client, "web").await.expect("start again");
}

#[tokio::test(start_paused = true)]
async fn fail_after_fails_a_batched_refresh_at_its_time() {
    let reason = "Launching a new EC2 instance failed.";
    let config = launching(4, 100)
        .pending_duration(secs(10))
        .fail_after(secs(160))
        .fail_reason(reason);
    let t = Timeline::new(config).await;
    start_with(&t.client, "web", batches(50, 0).build()).await;

    assert_eq!(progress(&t.latest_at(159).await), (S::InProgress, 50, 2));
    let r = t.latest_at(160).await;
    assert_eq!(progress(&r), (S::Failed, 50, 2));
    assert_eq!(r.status_reason(), Some(reason));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 160));
}

#[tokio::test(start_paused = true)]
async fn a_suspended_launch_process_stalls_the_refresh_until_resumed() {
    let t = two_batches_of_100_s().await;
    t.sleep_until(150).await;
    t.sim.suspend_launch("web").expect("suspend");
    t.sim
        .suspend_launch("web")
        .expect("suspending twice is a no-op");

    let r = t.latest_at(10_000).await;
    assert_eq!(progress(&r), (S::InProgress, 50, 2));
    assert!(
        r.status_reason()
            .expect("reason")
            .contains("Launch process to be resumed"),
        "{r:?}"
    );
    assert!(t.snapshot("web").stalled);
    // Still active: a new refresh is refused.
    let e = send_start(&t.client, "web").await.expect_err("blocked");
    assert_eq!(e.code(), Some("InstanceRefreshInProgress"));

    t.sim.resume_launch("web").expect("resume");
    // The 50 s left of the second batch run from here.
    let r = t.latest_at(10_049).await;
    assert_eq!(progress(&r), (S::InProgress, 50, 2));
    assert!(r.status_reason().expect("reason").starts_with(WARMING_UP));
    assert!(!t.snapshot("web").stalled);
    let r = t.latest_at(10_050).await;
    assert_eq!(progress(&r), (S::Successful, 100, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 10_050));

    assert_eq!(
        t.sim.suspend_launch("nope"),
        Err(SimError::UnknownGroup("nope".to_owned()))
    );
    assert_eq!(
        t.sim.resume_launch("nope"),
        Err(SimError::UnknownGroup("nope".to_owned()))
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_and_cancelled_have_status_reasons() {
    let config = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(secs(100))
        .cancel_duration(secs(10));
    let t = Timeline::new(config).await;
    send_start(&t.client, "web").await.expect("start");
    t.sleep_until(50).await;
    send_cancel(&t.client, "web").await.expect("cancel");

    let r = t.latest().await;
    assert_eq!(progress(&r), (S::Cancelling, 50, 1));
    assert_eq!(
        r.status_reason(),
        Some("Cancelling the instance refresh as requested.")
    );
    let r = t.latest_at(60).await;
    assert_eq!(progress(&r), (S::Cancelled, 50, 1));
    assert_eq!(
        r.status_reason(),
        Some("The instance refresh was cancelled as requested.")
    );
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 60));
}
