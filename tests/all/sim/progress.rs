//! How refreshes progress: batches from the healthy percentages and the warmup, checkpoints,
//! bake times, and the faults that fail or stall a refresh. Paused tokio time, exact instants,
//! through the real SDK client.

use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus as S, RefreshPreferences};
use instance_refresh_retry::sim::{GroupConfig, RefreshStatus, SimError, Unknowns};

use super::{
    TEN_O_CLOCK, Timeline, batches, end_secs, latest, launching, legacy, ten_o_clock_plus,
};
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

/// UG "How instance refresh works": batches from the minimum healthy percentage, each ending
/// when its instances are healthy and past warmup; `InstancesToUpdate` counts the instances not
/// yet taken into a batch (the shape of the CLI `describe-instance-refreshes` example and of the
/// UG's "Check the status of an instance refresh" example).
#[tokio::test(start_paused = true)]
async fn batches_follow_min_healthy_and_warmup_with_exact_percentages() {
    let t = Timeline::new(launching(10, 60).pending_duration(secs(30))).await;
    // 80 % of 10 stay healthy: 2 at a time. 60 s launch + 240 s warmup: 300 s a batch.
    start_with(&t.client, "web", batches(80, 240).build()).await;

    let r = t.latest().await;
    assert_eq!(progress(&r), (S::Pending, 0, 10));
    // No text is on record for Pending: none by default.
    assert_eq!(r.status_reason(), None);
    let start = r.start_time().expect("start");
    assert_eq!((start.secs(), start.subsec_nanos()), (TEN_O_CLOCK, 0));
    assert_eq!(t.snapshot("web").batch_size, Some(2));

    for (at, expected) in [
        (30, (S::InProgress, 0, 8)),
        (329, (S::InProgress, 0, 8)),
        (330, (S::InProgress, 20, 6)),
        (629, (S::InProgress, 20, 6)),
        (630, (S::InProgress, 40, 4)),
        (930, (S::InProgress, 60, 2)),
        (1230, (S::InProgress, 80, 0)),
    ] {
        let r = t.latest_at(at).await;
        assert_eq!(progress(&r), expected, "at {at} s");
        assert_eq!(r.end_time(), None);
    }

    // While its instances launch, a batch has no StatusReason (none on record); once they are
    // InService and warming up, the documented sentence names one of them.
    assert_eq!(t.latest_at(1289).await.status_reason(), None);
    let mut reasons = Vec::new();
    for at in [1290, 1400, 1529] {
        let reason = t
            .latest_at(at)
            .await
            .status_reason()
            .expect("reason")
            .to_owned();
        assert!(
            reason.starts_with(WARMING_UP) && reason.ends_with(" is warming up."),
            "{reason}"
        );
        reasons.push(reason);
    }
    assert_eq!(reasons[0], reasons[2]);
    assert_eq!(progress(&t.latest().await), (S::InProgress, 80, 0));

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
        &[(59, (S::InProgress, 0, 2)), (60, (S::InProgress, 50, 0))],
    )
    .await;
    assert_eq!(t.snapshot("one-by-one").percentage_complete, 25);
    assert_eq!(progress(&t.latest_at(120).await), (S::Successful, 100, 0));
    assert_eq!(t.snapshot("one-by-one").percentage_complete, 50);
    t.sleep_until(240).await;
    assert_eq!(t.snapshot("one-by-one").status, RefreshStatus::Successful);
}

/// API `RefreshPreferences`: the warmup is the request's `InstanceWarmup`, else the group's
/// `DefaultInstanceWarmup`, else its `HealthCheckGracePeriod`, which is 0 s for groups made by
/// the CLI or an SDK. Batches are the default; linear progress is a test convenience.
#[tokio::test(start_paused = true)]
async fn batches_are_the_default_and_the_warmup_falls_back_to_a_zero_grace_period() {
    // 90 % of 3 stay healthy (rounded up: all 3), so 1 at a time; 60 s + 30 s each.
    let config = launching(3, 60)
        .pending_duration(secs(5))
        .default_warmup(secs(30));
    let t = Timeline::new(config).await;
    // Without a default warmup, the health check grace period is the warmup...
    t.sim.create_group(
        "grace",
        launching(1, 60).health_check_grace_period(secs(120)),
    );
    // ... and it is 0 s unless set.
    t.sim.create_group("cli-made", launching(1, 60));
    // Linear over refresh_duration, unless forced into batches.
    let linear = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(secs(100));
    t.sim.create_group("linear", linear.clone());
    t.sim.create_group("forced", linear.batched(true));
    for group in ["web", "grace", "cli-made", "linear", "forced"] {
        send_start(&t.client, group).await.expect("start");
    }
    assert_eq!(t.snapshot("web").batch_size, Some(1));
    assert_eq!(t.snapshot("forced").batch_size, Some(1));
    assert_eq!(t.snapshot("linear").batch_size, None);

    assert_progress_at(
        &t,
        &[(94, (S::InProgress, 0, 2)), (95, (S::InProgress, 33, 1))],
    )
    .await;
    assert_eq!(t.snapshot("linear").percentage_complete, 95);
    assert_eq!(
        t.snapshot("cli-made").end_time,
        Some(ten_o_clock_plus(secs(60)))
    );
    assert_eq!(t.snapshot("forced").end_time, None);
    assert_eq!(
        t.snapshot("forced").planned_end,
        Some(ten_o_clock_plus(secs(2 * 60)))
    );
    assert_eq!(progress(&t.latest_at(184).await), (S::InProgress, 33, 1));
    assert_eq!(t.snapshot("grace").status, RefreshStatus::Successful);
    assert_progress_at(
        &t,
        &[
            (185, (S::InProgress, 66, 0)),
            (274, (S::InProgress, 66, 0)),
            (275, (S::Successful, 100, 0)),
        ],
    )
    .await;
    assert_eq!(
        t.snapshot("grace").end_time,
        Some(ten_o_clock_plus(secs(60 + 120)))
    );
}

/// The example of UG "Add checkpoints to an instance refresh": 10 instances, checkpoints
/// [20, 50], 15 minutes of delay, minimum healthy 80 %, 10 minutes per replacement; a last
/// checkpoint below 100 ends the refresh there.
#[tokio::test(start_paused = true)]
async fn checkpoints_pause_and_resume_like_the_user_guide_example() {
    let t = Timeline::new(launching(10, 60)).await;
    let preferences = batches(80, 540)
        .checkpoint_percentages(20)
        .checkpoint_percentages(50)
        .checkpoint_delay(900)
        .build();
    start_with(&t.client, "web", preferences.clone()).await;
    // The same refresh with the old invented checkpoint sentence, one of the drawn wordings.
    t.sim
        .create_group("worded", launching(10, 60).unknowns(legacy()));
    start_with(&t.client, "worded", preferences).await;

    // (seconds, progress, checkpoint paused at, an instance warming up)
    for (at, expected, checkpoint, warming) in [
        (599, (S::InProgress, 0, 8), None, true),
        (600, (S::InProgress, 20, 8), Some(20), false),
        (1499, (S::InProgress, 20, 8), Some(20), false),
        (1500, (S::InProgress, 20, 6), None, false),
        (2099, (S::InProgress, 20, 6), None, true),
        (2100, (S::InProgress, 40, 5), None, false),
        (2699, (S::InProgress, 40, 5), None, true),
    ] {
        let r = assert_checkpoint_at(&t, at, expected, checkpoint).await;
        let reason = r.status_reason().unwrap_or_default();
        // Only the warmup sentence is on record: nothing while paused or launching.
        assert_eq!(
            reason.starts_with(WARMING_UP),
            warming,
            "at {at} s: {reason}"
        );
        assert_eq!(reason.is_empty(), !warming, "at {at} s: {reason}");
        if checkpoint.is_some() {
            assert_eq!(
                t.snapshot("worded").status_reason.as_deref(),
                Some("Waiting for the checkpoint delay to elapse. Checkpoint 20% reached.")
            );
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

/// UG "Add checkpoints": whether a last checkpoint of 100 % pauses is not stated, so it is a
/// drawn guess; either way `InstancesToUpdate` is 0 while still `InProgress` at 50 % (the
/// shape of the UG's "Check the status" example).
#[tokio::test(start_paused = true)]
async fn a_last_checkpoint_of_100_pauses_only_if_drawn_so_and_the_delay_defaults_to_an_hour() {
    let t = Timeline::new(launching(2, 60)).await;
    let pauses = Unknowns::default().with_hundred_percent_checkpoint_pauses(true);
    t.sim
        .create_group("pauses", launching(2, 60).unknowns(pauses));
    let preferences = batches(50, 0)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100)
        .build();
    start_with(&t.client, "web", preferences.clone()).await;
    start_with(&t.client, "pauses", preferences).await;
    let delay = t
        .latest()
        .await
        .preferences()
        .and_then(|p| p.checkpoint_delay());
    assert_eq!(delay, Some(3600));

    for (at, expected, checkpoint) in [
        (60, (S::InProgress, 50, 1), Some(50)),
        (3659, (S::InProgress, 50, 1), Some(50)),
        (3660, (S::InProgress, 50, 0), None),
        (3719, (S::InProgress, 50, 0), None),
        (3720, (S::Successful, 100, 0), None),
    ] {
        assert_checkpoint_at(&t, at, expected, checkpoint).await;
    }
    assert_eq!(end_secs(&t.latest().await), Some(TEN_O_CLOCK + 3720));
    let paused = t.snapshot("pauses");
    assert_eq!(
        (paused.status, paused.percentage_complete, paused.checkpoint),
        (RefreshStatus::InProgress, 100, Some(100))
    );
    t.sleep_until(3720 + 3600).await;
    let done = t.snapshot("pauses");
    assert_eq!(done.status, RefreshStatus::Successful);
    assert_eq!(done.end_time, Some(ten_o_clock_plus(secs(3720 + 3600))));
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

    assert_eq!(progress(&t.latest_at(59).await), (S::InProgress, 0, 0));
    // The fallback group bakes from 10 s to 60 s.
    assert_eq!(t.snapshot("fallback").status, RefreshStatus::Baking);
    let r = t.latest_at(60).await;
    assert_eq!(progress(&r), (S::Baking, 100, 0));
    // No text is on record for Baking.
    assert_eq!(r.status_reason(), None);
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
    two_batches_of_100_s_with(Unknowns::default()).await
}

async fn two_batches_of_100_s_with(unknowns: Unknowns) -> Timeline {
    let t = Timeline::new(launching(4, 100).unknowns(unknowns)).await;
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
    assert_eq!(progress(&r), (S::Failed, 50, 0));
    assert_eq!(r.status_reason(), Some(reason));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 150));
    assert_eq!(progress(&t.latest_at(1000).await), (S::Failed, 50, 0));
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

    assert_eq!(progress(&t.latest_at(159).await), (S::InProgress, 50, 0));
    let r = t.latest_at(160).await;
    assert_eq!(progress(&r), (S::Failed, 50, 0));
    assert_eq!(r.status_reason(), Some(reason));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 160));
}

#[tokio::test(start_paused = true)]
async fn a_suspended_launch_process_stalls_the_refresh_until_resumed() {
    // A wording that says why, and InstancesToUpdate counting what is not replaced.
    let t = two_batches_of_100_s_with(legacy()).await;
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
    // Launching again (that wording has no text for it).
    assert_eq!(r.status_reason(), None);
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

/// No text is on record for `Cancelling` or `Cancelled`: none by default, a drawn sentence
/// otherwise.
#[tokio::test(start_paused = true)]
async fn cancelling_and_cancelled_reasons_follow_the_drawn_wording() {
    let config = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(secs(100))
        .cancel_duration(secs(10));
    let t = Timeline::new(config.clone().unknowns(legacy())).await;
    t.sim.create_group("plain", config);
    send_start(&t.client, "web").await.expect("start");
    send_start(&t.client, "plain").await.expect("start");
    t.sleep_until(50).await;
    send_cancel(&t.client, "web").await.expect("cancel");
    send_cancel(&t.client, "plain").await.expect("cancel");
    assert_eq!(latest(&t.client, "plain").await.status_reason(), None);

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
    let plain = latest(&t.client, "plain").await;
    assert_eq!(progress(&plain), (S::Cancelled, 50, 1));
    assert_eq!(plain.status_reason(), None);
}
