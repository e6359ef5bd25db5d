//! Rollbacks over HTTP, parsed by the real SDK: `RollbackDetails`, `PercentageComplete` going
//! back down to 0, `IrreversibleInstanceRefresh`, and automatic rollbacks after a failure.

use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::InstanceRefreshStatus as S;
use instance_refresh_retry::sim::{GroupConfig, RefreshStatus};

use super::{
    TEN_O_CLOCK, Timeline, batches, end_secs, latest, launching, legacy, progress, ten_o_clock_plus,
};
use crate::support::{secs, send_rollback, send_start, start_refresh, template_version};

/// `RollbackInstanceRefresh` for `group`: the id of the refresh rolled back, or the code of the
/// 400 `IrreversibleInstanceRefresh` error.
async fn rollback(c: &Client, group: &str) -> Result<String, String> {
    send_rollback(c, group)
        .await
        .map(|out| out.instance_refresh_id().expect("id").to_owned())
        .map_err(|e| {
            let service = e.as_service_error().expect("service error");
            assert!(
                service.is_irreversible_instance_refresh_fault(),
                "{service:?}"
            );
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
            e.code().expect("code").to_owned()
        })
}

#[tokio::test(start_paused = true)]
async fn rollback_reports_rollback_details_and_goes_back_down_to_zero() {
    // 6 instances, 60 % healthy: 2 at a time, 100 s a batch (33 % at 100 s, 66 % at 200 s).
    // A wording with a RollbackReason, and InstancesToUpdate counting what is not replaced.
    let t = Timeline::new(launching(6, 100).unknowns(legacy())).await;
    let preferences = batches(60, 0).build();
    let id = start_refresh(
        &t.client,
        "web",
        Some(template_version("3")),
        Some(preferences),
    )
    .await;
    t.sleep_until(250).await;
    assert_eq!(rollback(&t.client, "web").await, Ok(id.clone()));

    let r = t.latest().await;
    assert_eq!(progress(&r), (S::RollbackInProgress, 66, 2));
    assert!(r.status_reason().is_some());
    assert_eq!(r.desired_configuration(), Some(&template_version("3")));
    let details = r.rollback_details().expect("RollbackDetails");
    assert_eq!(details.rollback_reason(), Some("Rollback started by user"));
    let at = details.rollback_start_time().expect("start");
    assert_eq!((at.secs(), at.subsec_nanos()), (TEN_O_CLOCK + 250, 0));
    assert_eq!(details.percentage_complete_on_rollback(), Some(66));
    assert_eq!(details.instances_to_update_on_rollback(), Some(2));
    let live = details
        .progress_details_on_rollback()
        .and_then(|p| p.live_pool_progress())
        .expect("ProgressDetailsOnRollback");
    assert_eq!(
        (live.percentage_complete(), live.instances_to_update()),
        (Some(66), Some(2))
    );

    // The 4 replaced instances plus the 2 of the batch in flight go back, 2 per 100 s (those in
    // flight first); InstancesToUpdate stays at what the refresh had not replaced.
    for (at, expected) in [
        (349, (S::RollbackInProgress, 66, 2)),
        (350, (S::RollbackInProgress, 66, 2)),
        (450, (S::RollbackInProgress, 33, 2)),
        (549, (S::RollbackInProgress, 33, 2)),
        (550, (S::RollbackSuccessful, 0, 2)),
    ] {
        assert_eq!(progress(&t.latest_at(at).await), expected, "at {at} s");
    }
    let r = t.latest().await;
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 550));
    assert_eq!(r.status_reason(), None);
    assert_eq!(
        r.rollback_details()
            .and_then(|d| d.percentage_complete_on_rollback()),
        Some(66)
    );
    let snapshot = t.snapshot("web");
    assert_eq!(snapshot.status, RefreshStatus::RollbackSuccessful);
    let details = snapshot.rollback.expect("rollback");
    assert_eq!(details.start_time, ten_o_clock_plus(secs(250)));
    assert_eq!(
        (
            details.percentage_complete_on_rollback,
            details.instances_to_update_on_rollback
        ),
        (66, 2)
    );

    // Nothing left to roll back.
    let e = send_rollback(&t.client, "web").await.expect_err("done");
    assert_eq!(e.code(), Some("ActiveInstanceRefreshNotFound"));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_without_a_pinned_desired_configuration_is_irreversible() {
    let config = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(secs(100));
    let t = Timeline::new(config.clone()).await;
    for group in ["latest", "rust", "pinned"] {
        t.sim.create_group(group, config.clone());
    }
    send_start(&t.client, "web").await.expect("start");
    start_refresh(&t.client, "latest", Some(template_version("$Latest")), None).await;
    t.sim.start_refresh("rust", config.clone()).expect("rust");
    let pinned = t
        .sim
        .start_refresh_with_launch_template("pinned", config.clone(), "web-template", "4")
        .expect("pinned");
    t.sleep_until(10).await;

    for group in ["web", "latest", "rust"] {
        assert_eq!(
            rollback(&t.client, group).await,
            Err("IrreversibleInstanceRefresh".to_owned()),
            "{group}"
        );
        // Nothing changed: the refresh goes on.
        let snapshot = t.snapshot(group);
        assert_eq!(snapshot.status, RefreshStatus::InProgress, "{group}");
        assert_eq!(snapshot.rollback, None);
    }
    let e = send_rollback(&t.client, "web")
        .await
        .expect_err("irreversible");
    assert_eq!(
        e.message(),
        Some(
            "The request failed because a desired configuration was not found or an incompatible launch template (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) is present on the Auto Scaling group."
        )
    );
    assert!(
        t.sim
            .calls()
            .iter()
            .filter(|call| call.is("RollbackInstanceRefresh"))
            .all(|call| call.error_code() == Some("IrreversibleInstanceRefresh") && !call.applied)
    );

    // A refresh started from Rust with a pinned launch template can be rolled back, and its
    // desired configuration is echoed.
    assert_eq!(rollback(&t.client, "pinned").await, Ok(pinned));
    let r = latest(&t.client, "pinned").await;
    assert_eq!(r.status(), Some(&S::RollbackInProgress));
    let template = r
        .desired_configuration()
        .and_then(|d| d.launch_template())
        .expect("launch template");
    assert_eq!(
        (template.launch_template_name(), template.version()),
        (Some("web-template"), Some("4"))
    );
}

#[tokio::test(start_paused = true)]
async fn auto_rollback_turns_a_failure_into_a_rollback() {
    let reason = "Instance i-0a1b2c3d4e5f60718 failed its health checks.";
    // A wording that quotes the failure in the RollbackReason, and InstancesToUpdate counting
    // what is not replaced.
    let config = launching(4, 100)
        .fail_after(secs(150))
        .fail_reason(reason)
        .unknowns(legacy());
    let t = Timeline::new(config).await;
    let preferences = batches(50, 0).auto_rollback(true).build();
    start_refresh(
        &t.client,
        "web",
        Some(template_version("2")),
        Some(preferences),
    )
    .await;
    assert_eq!(progress(&t.latest_at(149).await), (S::InProgress, 50, 2));

    let r = t.latest_at(150).await;
    assert_eq!(progress(&r), (S::RollbackInProgress, 50, 2));
    assert_eq!(r.preferences().and_then(|p| p.auto_rollback()), Some(true));
    let details = r.rollback_details().expect("details");
    assert!(
        details.rollback_reason().expect("reason").contains(reason),
        "{details:?}"
    );
    assert_eq!(
        details.rollback_start_time().map(|t| t.secs()),
        Some(TEN_O_CLOCK + 150)
    );
    assert_eq!(details.percentage_complete_on_rollback(), Some(50));
    assert_eq!(details.instances_to_update_on_rollback(), Some(2));

    // 2 replaced + 2 in flight: two rounds of 100 s.
    assert_eq!(
        progress(&t.latest_at(349).await),
        (S::RollbackInProgress, 50, 2)
    );
    let r = t.latest_at(350).await;
    assert_eq!(progress(&r), (S::RollbackSuccessful, 0, 2));
    assert_eq!(end_secs(&r), Some(TEN_O_CLOCK + 350));
}
