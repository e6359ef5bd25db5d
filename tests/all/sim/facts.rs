//! The public facts of `AWS-FACTS.md`, each through the real SDK on paused time, each test
//! naming its source: `InstancesToUpdate` in AWS's own samples, `PercentageComplete` counting
//! instances healthy and past warmup one at a time, checkpoints overshooting and holding the
//! percentage, the warmup sentence, `MaxHealthyPercentage` omitted versus 100, lifecycle hooks,
//! health-check failures, cancelling with or without waiting, and failing after an hour.

use std::time::Duration;

use aws_sdk_autoscaling::types::{
    Activity, InstanceRefreshStatus as S, ScalingActivityStatusCode as Code,
};
use instance_refresh_retry::sim::{ActivityEnd, ItuReading, RefreshStatus, Rounding, Unknowns};

use super::{
    TEN_O_CLOCK, Timeline, batches, end_secs, latest, launching, progress, scaling_activities,
    start_with, ten_o_clock_plus,
};
use crate::support::secs;

/// Launch activities of `activities` in this state.
fn launches_with(activities: &[Activity], code: &Code) -> usize {
    activities
        .iter()
        .filter(|a| {
            a.description()
                .is_some_and(|d| d.starts_with("Launching a new EC2 instance: i-"))
                && a.status_code() == Some(code)
        })
        .count()
}

/// The activity that launches or terminates `instance`, if any.
fn activity_of<'a>(activities: &'a [Activity], verb: &str, instance: &str) -> Option<&'a Activity> {
    activities
        .iter()
        .find(|a| a.description() == Some(&format!("{verb}: {instance}")))
}

/// The CLI's `describe-instance-refreshes` example (`InProgress`, 0 %, `InstancesToUpdate` 0)
/// and the UG's "Check the status of an instance refresh" example (`InProgress`, 50 %, 0, with
/// Min 90 / Max 120 and a warmup of 60 s): `InstancesToUpdate` counts the instances not yet
/// taken into a batch. The other reading (not yet replaced) is a drawn unknown.
#[tokio::test(start_paused = true)]
async fn instances_to_update_is_zero_while_in_progress() {
    // 5 instances, MinHealthyPercentage 0: all in the first batch.
    let t = Timeline::new(launching(5, 60)).await;
    start_with(&t.client, "web", batches(0, 60).build()).await;
    // 2 instances, Min 90 / Max 120: one at a time, launched before the old one goes.
    let ug = batches(90, 60).max_healthy_percentage(120).build();
    t.sim.create_group("ug", launching(2, 60));
    start_with(&t.client, "ug", ug.clone()).await;
    let replaced = Unknowns::default().with_instances_to_update(ItuReading::NotYetReplaced);
    t.sim
        .create_group("replaced", launching(2, 60).unknowns(replaced));
    start_with(&t.client, "replaced", ug).await;

    assert_eq!(progress(&t.latest_at(10).await), (S::InProgress, 0, 0));
    t.sleep_until(130).await;
    let r = latest(&t.client, "ug").await;
    assert_eq!(progress(&r), (S::InProgress, 50, 0));
    assert_eq!(
        progress(&latest(&t.client, "replaced").await),
        (S::InProgress, 50, 1)
    );
    assert_eq!(progress(&t.latest_at(240).await), (S::Successful, 100, 0));
}

/// API `InstanceRefresh` and UG "Check the status": `PercentageComplete` counts instances that
/// are healthy and past their warmup, so inside a batch it moves one instance at a time; in a
/// group of 500 it moves 1 % per 5 instances. Its rounding is a drawn unknown. The launch
/// activities tell which instances are done.
#[tokio::test(start_paused = true)]
async fn percentage_moves_one_instance_at_a_time_inside_a_batch() {
    // 500 instances, all in one batch (Min 0), launches of 30 to 90 s, no warmup.
    let spread = Unknowns::default().with_launch(secs(60), 0.5);
    let t = Timeline::new(launching(500, 60).unknowns(spread.clone())).await;
    let nearest = spread.with_rounding(Rounding::Nearest);
    t.sim
        .create_group("nearest", launching(500, 60).unknowns(nearest));
    for group in ["web", "nearest"] {
        start_with(&t.client, group, batches(0, 0).build()).await;
    }
    assert_eq!(t.snapshot("web").batch_size, Some(500));

    let mut seen = Vec::new();
    for at in (25..=95).step_by(5) {
        t.sleep_until(at).await;
        for (group, rounding) in [("web", Rounding::Floor), ("nearest", Rounding::Nearest)] {
            let done = launches_with(
                &scaling_activities(&t.client, group).await,
                &Code::Successful,
            );
            let expected = match rounding {
                Rounding::Floor => done * 100 / 500,
                _ => (done * 100 + 250) / 500,
            };
            let r = latest(&t.client, group).await;
            assert_eq!(
                r.percentage_complete(),
                Some(i32::try_from(expected).unwrap()),
                "{group} at {at} s with {done} done"
            );
            if group == "web" {
                seen.push(done);
            }
        }
    }
    // The batch ended one instance at a time, not all at once.
    assert_eq!(seen.first(), Some(&0));
    assert_eq!(seen.last(), Some(&500));
    assert!(
        seen.iter().filter(|&&d| d > 0 && d < 500).count() >= 8,
        "{seen:?}"
    );
    assert_eq!(t.snapshot("web").status, RefreshStatus::Successful);
}

/// UG "Add checkpoints": a checkpoint is reached when the share of new instances reaches it,
/// so the percentage can overshoot it: 4 instances with a 20 % checkpoint show 25 %.
#[tokio::test(start_paused = true)]
async fn a_20_percent_checkpoint_of_4_instances_shows_25_percent() {
    let t = Timeline::new(launching(4, 60)).await;
    let preferences = batches(0, 0)
        .checkpoint_percentages(20)
        .checkpoint_percentages(100)
        .build();
    start_with(&t.client, "web", preferences).await;
    // Min 0 would take all 4 at once; the checkpoint takes 1.
    assert_eq!(progress(&t.latest_at(59).await), (S::InProgress, 0, 3));
    assert_eq!(progress(&t.latest_at(60).await), (S::InProgress, 25, 3));
    assert_eq!(t.snapshot("web").checkpoint, Some(20));
    assert_eq!(
        progress(&t.latest_at(60 + 3600).await),
        (S::InProgress, 25, 0)
    );
    assert_eq!(
        progress(&t.latest_at(60 + 3600 + 60).await),
        (S::Successful, 100, 0)
    );
}

/// UG "Add checkpoints": "After a checkpoint is reached, the overall percentage complete
/// doesn't display the latest status until after the instances finish warming up": in a batch
/// that reaches a checkpoint, the percentage stands until the batch is done.
#[tokio::test(start_paused = true)]
async fn the_percentage_does_not_move_in_a_batch_that_reaches_a_checkpoint() {
    let spread = Unknowns::default().with_launch(secs(60), 0.5);
    let t = Timeline::new(launching(10, 60).unknowns(spread.clone())).await;
    t.sim
        .create_group("free", launching(10, 60).unknowns(spread));
    let preferences = batches(50, 0)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100);
    start_with(&t.client, "web", preferences.build()).await;
    start_with(&t.client, "free", batches(50, 0).build()).await;

    let mut free_moved_inside = false;
    for at in 0..=95 {
        t.sleep_until(at).await;
        let held = t.snapshot("web");
        let expected = if held.checkpoint == Some(50) { 50 } else { 0 };
        assert_eq!(held.percentage_complete, expected, "at {at} s");
        let free = t.snapshot("free").percentage_complete;
        free_moved_inside |= free > 0 && free < 50;
    }
    assert_eq!(t.snapshot("web").checkpoint, Some(50));
    assert!(free_moved_inside);
}

/// The only `StatusReason` on record (CLI example, UG "Check the status"): `Waiting for
/// instances to warm up before continuing. For example: i-0123456789abcdef0 is warming up.`,
/// naming an instance that is warming up (its launch activity says so when it stays open
/// through the warmup, one of the drawn readings).
#[tokio::test(start_paused = true)]
async fn the_warmup_sentence_names_an_instance_that_is_warming_up() {
    let through = Unknowns::default().with_launch_activity_ends(ActivityEnd::AfterWarmup);
    let t = Timeline::new(launching(2, 60).unknowns(through)).await;
    start_with(&t.client, "web", batches(0, 120).build()).await;

    assert_eq!(t.latest_at(59).await.status_reason(), None);
    let reason = t
        .latest_at(60)
        .await
        .status_reason()
        .expect("reason")
        .to_owned();
    let instance = reason
        .strip_prefix("Waiting for instances to warm up before continuing. For example: ")
        .and_then(|rest| rest.strip_suffix(" is warming up."))
        .expect("the documented sentence");
    assert_eq!(instance.len(), "i-0123456789abcdef0".len());
    assert!(instance.starts_with("i-") && instance[2..].chars().all(|c| c.is_ascii_hexdigit()));
    let activities = scaling_activities(&t.client, "web").await;
    let launch =
        activity_of(&activities, "Launching a new EC2 instance", instance).expect("launched");
    assert_eq!(launch.status_code(), Some(&Code::WaitingForInstanceWarmup));
    assert_eq!(
        t.latest_at(179).await.status_reason(),
        Some(reason.as_str())
    );
    let r = t.latest_at(180).await;
    assert_eq!(
        (progress(&r), r.status_reason()),
        ((S::Successful, 100, 0), None)
    );
    let activities = scaling_activities(&t.client, "web").await;
    let launch =
        activity_of(&activities, "Launching a new EC2 instance", instance).expect("launched");
    assert_eq!(launch.status_code(), Some(&Code::Successful));
    assert_eq!(launch.end_time().map(|e| e.secs()), Some(TEN_O_CLOCK + 180));
}

/// API `RefreshPreferences`: "Explicitly setting MaxHealthyPercentage to 100 is not equivalent
/// to omitting it": omitted, Auto Scaling terminates an instance and launches its replacement
/// at the same time; set, when no instance may go out of service, it launches first.
#[tokio::test(start_paused = true)]
async fn max_healthy_omitted_terminates_at_once_but_100_launches_first() {
    let t = Timeline::new(launching(2, 60)).await;
    t.sim.create_group("launch-first", launching(2, 60));
    start_with(&t.client, "web", batches(100, 0).build()).await;
    let explicit = batches(100, 0).max_healthy_percentage(100).build();
    start_with(&t.client, "launch-first", explicit).await;

    t.sleep_until(10).await;
    let terminating = |activities: &[Activity]| {
        activities
            .iter()
            .filter(|a| {
                a.description()
                    .is_some_and(|d| d.starts_with("Terminating EC2 instance: "))
            })
            .map(|a| a.start_time().expect("start").secs() - TEN_O_CLOCK)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        terminating(&scaling_activities(&t.client, "web").await),
        [0]
    );
    assert!(terminating(&scaling_activities(&t.client, "launch-first").await).is_empty());
    t.sleep_until(60).await;
    // Both replace one instance at a time.
    assert_eq!(
        terminating(&scaling_activities(&t.client, "web").await),
        [60, 0]
    );
    assert_eq!(
        terminating(&scaling_activities(&t.client, "launch-first").await),
        [60]
    );
    assert_eq!(t.snapshot("web").batch_size, Some(1));
    assert_eq!(t.snapshot("launch-first").batch_size, Some(1));
}

/// UG "How instance refresh works": the warmup counts from `InService`, after any launch
/// lifecycle hook, so a hook adds to every instance's time; its activity is
/// `MidLifecycleAction` meanwhile (API `Activity`).
#[tokio::test(start_paused = true)]
async fn a_lifecycle_hook_adds_to_each_instance() {
    let hooked = Unknowns::default().with_lifecycle_hook(Some(secs(600)));
    let t = Timeline::new(launching(1, 60).unknowns(hooked)).await;
    start_with(&t.client, "web", batches(0, 30).build()).await;

    let code = |activities: Vec<Activity>| {
        activities
            .iter()
            .find(|a| a.description().is_some_and(|d| d.starts_with("Launching")))
            .and_then(|a| a.status_code().cloned())
    };
    t.sleep_until(59).await;
    assert_eq!(
        code(scaling_activities(&t.client, "web").await),
        Some(Code::PreInService)
    );
    t.sleep_until(60).await;
    assert_eq!(
        code(scaling_activities(&t.client, "web").await),
        Some(Code::MidLifecycleAction)
    );
    t.sleep_until(660).await;
    assert_eq!(
        code(scaling_activities(&t.client, "web").await),
        Some(Code::Successful)
    );
    assert_eq!(progress(&t.latest_at(689).await), (S::InProgress, 0, 0));
    assert_eq!(progress(&t.latest_at(690).await), (S::Successful, 100, 0));
}

/// UG "How instance refresh works": new instances that fail their health checks are replaced
/// (a new launch, taking its own time); the activities show each replacement.
#[tokio::test(start_paused = true)]
async fn instances_that_fail_their_health_check_are_replaced() {
    let failing = Unknowns::default().with_health_check_failures(0.5);
    let t = Timeline::new(launching(20, 60).unknowns(failing)).await;
    start_with(&t.client, "web", batches(0, 0).build()).await;
    t.sleep_until(3000).await;
    assert_eq!(t.snapshot("web").status, RefreshStatus::Successful);
    let activities = scaling_activities(&t.client, "web").await;
    let launches = launches_with(&activities, &Code::Successful);
    let failed: Vec<&Activity> = activities
        .iter()
        .filter(|a| {
            a.cause()
                .is_some_and(|c| c.contains("in response to an EC2 instance status checks failure"))
        })
        .collect();
    assert!(!failed.is_empty());
    assert_eq!(launches, 20 + failed.len());
    // The refresh lasted as long as its slowest instance: a multiple of 60 s.
    let end = t.snapshot("web").end_time.expect("end");
    let took = end
        .duration_since(ten_o_clock_plus(Duration::ZERO))
        .unwrap();
    assert!(took >= secs(120) && took.as_secs() % 60 == 0, "{took:?}");
}

/// UG "How instance refresh works": a refresh that cannot continue "keeps retrying for an
/// hour", then fails.
#[tokio::test(start_paused = true)]
async fn an_hour_without_a_healthy_instance_fails_the_refresh() {
    let hopeless = Unknowns::default().with_health_check_failures(1.0);
    let t = Timeline::new(launching(2, 100).unknowns(hopeless)).await;
    start_with(&t.client, "web", batches(50, 0).build()).await;

    assert_eq!(progress(&t.latest_at(3599).await), (S::InProgress, 0, 1));
    assert_eq!(
        t.snapshot("web").planned_end,
        Some(ten_o_clock_plus(secs(3600)))
    );
    let r = t.latest_at(3600).await;
    assert_eq!(progress(&r), (S::Failed, 0, 1));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 3600));
    // No text is on record for Failed.
    assert_eq!(r.status_reason(), None);
    let activities = scaling_activities(&t.client, "web").await;
    assert_eq!(launches_with(&activities, &Code::Successful), 36);
    assert!(activities.iter().all(|a| {
        a.start_time()
            .is_some_and(|s| s.secs() < TEN_O_CLOCK + 3600)
    }));
}

/// API `CancelInstanceRefresh`: `Cancelling`, then `Cancelled`, waiting for the instances in
/// flight by default; with `WaitForTransitioningInstances=false`, `Cancelled` at once while
/// the launches in flight go on.
#[tokio::test(start_paused = true)]
async fn cancel_waits_for_transitioning_instances_unless_told_not_to() {
    let t = Timeline::new(launching(4, 100)).await;
    t.sim.create_group("at-once", launching(4, 100));
    for group in ["web", "at-once"] {
        start_with(&t.client, group, batches(50, 0).build()).await;
    }
    t.sleep_until(130).await;
    crate::support::send_cancel(&t.client, "web")
        .await
        .expect("cancel");
    t.client
        .cancel_instance_refresh()
        .auto_scaling_group_name("at-once")
        .wait_for_transitioning_instances(false)
        .send()
        .await
        .expect("cancel");
    let calls = t.sim.calls();
    let cancel = calls.last().expect("a call");
    assert!(cancel.is("CancelInstanceRefresh") && cancel.applied);
    assert_eq!(
        cancel
            .params
            .get("WaitForTransitioningInstances")
            .map(String::as_str),
        Some("false")
    );

    let r = t.latest().await;
    assert_eq!(progress(&r), (S::Cancelling, 50, 0));
    let r = latest(&t.client, "at-once").await;
    assert_eq!(progress(&r), (S::Cancelled, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 130));

    // The second batch's launches are InService at 200 s.
    assert_eq!(progress(&t.latest_at(199).await).0, S::Cancelling);
    let r = t.latest_at(200).await;
    assert_eq!(progress(&r), (S::Cancelled, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 200));
    // They went on in the background of the group cancelled at once, too.
    let activities = scaling_activities(&t.client, "at-once").await;
    assert_eq!(launches_with(&activities, &Code::Successful), 4);
}
