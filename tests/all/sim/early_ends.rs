//! Refreshes that end before their natural end, at a seeded moment (`AWS-FACTS.md`, "Early
//! ends": nothing announces when a refresh will end): cancelled by another actor, failed by an
//! alarm, rolled back by an alarm with `AutoRollback`, or stalled for an hour, then `Failed`.
//! Paused time, exact instants, through the real SDK.

use aws_sdk_autoscaling::types::{InstanceRefreshStatus as S, ScalingActivityStatusCode as Code};
use instance_refresh_retry::sim::{
    EarlyEnd, EarlyEndKind, GroupConfig, ReasonWording, RefreshStatus, Unknowns,
};

use super::{
    TEN_O_CLOCK, Timeline, batches, end_secs, latest, launching, progress, scaling_activities,
    start_with, ten_o_clock_plus,
};
use crate::support::{secs, send_cancel, start_refresh, template_version};

/// 4 instances, 2 at a time, 100 s each, no pending time: 50 % at 100 s, done at 200 s, ending
/// early as `kind` at `at` seconds.
fn ending(kind: EarlyEndKind, at: u64) -> GroupConfig {
    launching(4, 100).unknowns(Unknowns::default().with_early_end(EarlyEnd::new(kind, secs(at))))
}

/// API `CancelInstanceRefresh` (and UG "Cancel an instance refresh"): another operator's cancel
/// makes the refresh `Cancelling` until the instances in flight are done, then `Cancelled`;
/// without waiting, `Cancelled` at once. Progress stays where it was.
#[tokio::test(start_paused = true)]
async fn cancelled_by_another_actor_with_or_without_waiting() {
    let waits = EarlyEndKind::Cancelled {
        wait_for_transitioning_instances: true,
    };
    let t = Timeline::new(ending(waits, 130)).await;
    let at_once = EarlyEndKind::Cancelled {
        wait_for_transitioning_instances: false,
    };
    t.sim.create_group("at-once", ending(at_once, 130));
    for group in ["web", "at-once"] {
        start_with(&t.client, group, batches(50, 0).build()).await;
    }

    assert_eq!(progress(&t.latest_at(129).await), (S::InProgress, 50, 0));
    assert_eq!(progress(&t.latest_at(130).await), (S::Cancelling, 50, 0));
    let r = latest(&t.client, "at-once").await;
    assert_eq!(progress(&r), (S::Cancelled, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 130));
    // The second batch's launches are InService at 200 s.
    assert_eq!(progress(&t.latest_at(199).await).0, S::Cancelling);
    let r = t.latest_at(200).await;
    assert_eq!(progress(&r), (S::Cancelled, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 200));
    // The natural end it would have had.
    assert_eq!(
        t.snapshot("web").planned_end,
        Some(ten_o_clock_plus(secs(200)))
    );
    // A cancelled refresh no longer blocks the group.
    start_with(&t.client, "web", batches(50, 0).build()).await;
}

/// API `RefreshPreferences` (`AlarmSpecification`), UG "Undo changes with a rollback": an alarm
/// in ALARM fails the refresh at once, progress frozen. No `StatusReason` is on record: none
/// by default, a drawn sentence otherwise.
#[tokio::test(start_paused = true)]
async fn an_alarm_fails_the_refresh() {
    let t = Timeline::new(ending(EarlyEndKind::AlarmFailed, 150)).await;
    let worded = Unknowns::default()
        .with_status_reasons(ReasonWording::Variant(1))
        .with_early_end(EarlyEnd::new(EarlyEndKind::AlarmFailed, secs(150)));
    t.sim
        .create_group("worded", launching(4, 100).unknowns(worded));
    for group in ["web", "worded"] {
        start_with(&t.client, group, batches(50, 0).build()).await;
    }

    assert_eq!(progress(&t.latest_at(149).await), (S::InProgress, 50, 0));
    let r = t.latest_at(150).await;
    assert_eq!(progress(&r), (S::Failed, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 150));
    assert_eq!(r.status_reason(), None);
    assert_eq!(progress(&t.latest_at(5000).await), (S::Failed, 50, 0));
    let worded = latest(&t.client, "worded").await;
    assert_eq!(progress(&worded), (S::Failed, 50, 0));
    assert!(worded.status_reason().is_some_and(|r| !r.is_empty()));
    // The launches in flight were cut short.
    let activities = scaling_activities(&t.client, "web").await;
    let failed = activities
        .iter()
        .filter(|a| a.status_code() == Some(&Code::Failed))
        .count();
    assert_eq!(failed, 2);
}

/// API `InstanceRefresh` ("PercentageComplete ... gradually goes back down to zero"), UG "Undo
/// changes with a rollback": an alarm with `AutoRollback` turns the refresh into
/// `RollbackInProgress`, which replaces the updated instances again (those in flight first),
/// taking about as long as they took, then `RollbackSuccessful`, with `RollbackDetails`.
#[tokio::test(start_paused = true)]
async fn an_alarm_with_auto_rollback_rolls_back_and_the_percentage_goes_down() {
    // 4 instances, one at a time (Min 75), 100 s each: 50 % at 200 s; the alarm at 250 s.
    let t = Timeline::new(ending(EarlyEndKind::AlarmRolledBack, 250)).await;
    let preferences = batches(75, 0).auto_rollback(true).build();
    start_refresh(
        &t.client,
        "web",
        Some(template_version("7")),
        Some(preferences),
    )
    .await;
    // Without a desired configuration to go back to, the alarm fails the refresh.
    t.sim
        .create_group("irreversible", ending(EarlyEndKind::AlarmRolledBack, 250));
    start_with(&t.client, "irreversible", batches(75, 0).build()).await;

    assert_eq!(progress(&t.latest_at(249).await), (S::InProgress, 50, 1));
    let r = t.latest_at(250).await;
    assert_eq!(progress(&r), (S::RollbackInProgress, 50, 1));
    let details = r.rollback_details().expect("RollbackDetails");
    assert_eq!(
        details.rollback_start_time().map(|t| t.secs()),
        Some(TEN_O_CLOCK + 250)
    );
    assert_eq!(details.percentage_complete_on_rollback(), Some(50));
    assert_eq!(details.instances_to_update_on_rollback(), Some(1));
    // No RollbackReason is on record: none by default.
    assert_eq!(details.rollback_reason(), None);
    assert_eq!(
        progress(&latest(&t.client, "irreversible").await),
        (S::Failed, 50, 1)
    );

    // The instance in flight goes back first (250-350 s), then one per 100 s.
    for (at, expected) in [
        (349, (S::RollbackInProgress, 50, 1)),
        (350, (S::RollbackInProgress, 50, 1)),
        (449, (S::RollbackInProgress, 50, 1)),
        (450, (S::RollbackInProgress, 25, 1)),
        (549, (S::RollbackInProgress, 25, 1)),
        (550, (S::RollbackSuccessful, 0, 1)),
    ] {
        assert_eq!(progress(&t.latest_at(at).await), expected, "at {at} s");
    }
    assert_eq!(end_secs(&t.latest().await), Some(TEN_O_CLOCK + 550));
    let activities = scaling_activities(&t.client, "web").await;
    let rollback_launches = activities
        .iter()
        .filter(|a| {
            a.cause()
                .is_some_and(|c| c.contains("instance refresh rollback"))
        })
        .count();
    // 3 instances undone: a terminate and a launch each.
    assert_eq!(rollback_launches, 6);
}

/// UG "How instance refresh works": a refresh that cannot make progress "keeps retrying for an
/// hour", then fails. It stays `InProgress`, its progress frozen, meanwhile.
#[tokio::test(start_paused = true)]
async fn a_stalled_refresh_fails_an_hour_later() {
    let t = Timeline::new(ending(EarlyEndKind::Stalled, 150)).await;
    // Stalled while Pending: the stall starts with InProgress.
    let pending = launching(4, 100).pending_duration(secs(30)).unknowns(
        Unknowns::default().with_early_end(EarlyEnd::new(EarlyEndKind::Stalled, secs(10))),
    );
    t.sim.create_group("pending", pending);
    for group in ["web", "pending"] {
        start_with(&t.client, group, batches(50, 0).build()).await;
    }

    assert_eq!(progress(&t.latest_at(150).await), (S::InProgress, 50, 0));
    let r = t.latest_at(150 + 3599).await;
    assert_eq!(progress(&r), (S::InProgress, 50, 0));
    assert_eq!(r.status_reason(), None);
    assert!(t.snapshot("web").stalled);
    let stuck = scaling_activities(&t.client, "web").await;
    assert_eq!(
        stuck
            .iter()
            .filter(|a| a.status_code() == Some(&Code::PreInService))
            .count(),
        2
    );
    let r = t.latest_at(150 + 3600).await;
    assert_eq!(progress(&r), (S::Failed, 50, 0));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 150 + 3600));
    let pending = t.snapshot("pending");
    assert_eq!(
        (pending.status, pending.percentage_complete),
        (RefreshStatus::Failed, 0)
    );
    assert_eq!(pending.end_time, Some(ten_o_clock_plus(secs(30 + 3600))));
}

/// An early end whose moment comes after the refresh ended does nothing, and an API call that
/// ends the refresh first wins; a stall can still be cancelled.
#[tokio::test(start_paused = true)]
async fn an_early_end_after_the_end_or_after_a_cancel_does_nothing() {
    let t = Timeline::new(ending(EarlyEndKind::AlarmFailed, 10_000)).await;
    t.sim
        .create_group("cancelled", ending(EarlyEndKind::AlarmFailed, 500));
    t.sim
        .create_group("stalled", ending(EarlyEndKind::Stalled, 50));
    for group in ["web", "cancelled", "stalled"] {
        start_with(&t.client, group, batches(50, 0).build()).await;
    }
    t.sleep_until(150).await;
    for group in ["cancelled", "stalled"] {
        send_cancel(&t.client, group).await.expect("cancel");
    }
    t.sleep_until(20_000).await;
    assert_eq!(t.snapshot("web").status, RefreshStatus::Successful);
    assert_eq!(
        t.snapshot("web").end_time,
        Some(ten_o_clock_plus(secs(200)))
    );
    let cancelled = t.snapshot("cancelled");
    assert_eq!(cancelled.status, RefreshStatus::Cancelled);
    assert_eq!(cancelled.end_time, Some(ten_o_clock_plus(secs(200))));
    let stalled = t.snapshot("stalled");
    assert_eq!(
        (stalled.status, stalled.percentage_complete),
        (RefreshStatus::Cancelled, 0)
    );
}
