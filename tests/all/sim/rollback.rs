//! Rollbacks over HTTP, parsed by the real SDK: `RollbackDetails`, `PercentageComplete` going
//! back down to 0, `IrreversibleInstanceRefresh`, and automatic rollbacks after a failure.

use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, InstanceRefresh, InstanceRefreshStatus as S, LaunchTemplateSpecification,
    RefreshPreferences,
};
use instance_refresh_retry::sim::{GroupConfig, RefreshStatus};
use tokio::time::{Instant, sleep_until};

use super::{TEN_O_CLOCK, client, latest_web, sim_at_ten, ten_o_clock_plus};
use crate::support::send_start;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn desired(version: &str) -> DesiredConfiguration {
    DesiredConfiguration::builder()
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id("lt-0123456789abcdef0")
                .version(version)
                .build(),
        )
        .build()
}

async fn start(
    c: &Client,
    group: &str,
    desired: Option<DesiredConfiguration>,
    preferences: Option<RefreshPreferences>,
) -> String {
    c.start_instance_refresh()
        .auto_scaling_group_name(group)
        .set_desired_configuration(desired)
        .set_preferences(preferences)
        .send()
        .await
        .expect("start")
        .instance_refresh_id()
        .expect("id")
        .to_owned()
}

async fn rollback(c: &Client, group: &str) -> Result<String, String> {
    c.rollback_instance_refresh()
        .auto_scaling_group_name(group)
        .send()
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

fn progress(r: &InstanceRefresh) -> (S, i32, i32) {
    (
        r.status().cloned().expect("status"),
        r.percentage_complete().expect("percentage"),
        r.instances_to_update().expect("to update"),
    )
}

#[tokio::test(start_paused = true)]
async fn rollback_reports_rollback_details_and_goes_back_down_to_zero() {
    // 6 instances, 60 % healthy: 2 at a time, 100 s a batch (33 % at 100 s, 66 % at 200 s).
    let config = GroupConfig::default()
        .instances(6)
        .pending_duration(Duration::ZERO)
        .launch_duration(secs(100));
    let sim = sim_at_ten(config, Duration::ZERO).await;
    let c = client(&sim);
    let t0 = Instant::now();
    let id = start(
        &c,
        "web",
        Some(desired("3")),
        Some(
            RefreshPreferences::builder()
                .min_healthy_percentage(60)
                .instance_warmup(0)
                .build(),
        ),
    )
    .await;
    sleep_until(t0 + secs(250)).await;
    assert_eq!(rollback(&c, "web").await, Ok(id.clone()));

    let r = latest_web(&c).await;
    assert_eq!(progress(&r), (S::RollbackInProgress, 66, 2));
    assert!(r.status_reason().is_some());
    assert_eq!(r.desired_configuration(), Some(&desired("3")));
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
        sleep_until(t0 + secs(at)).await;
        assert_eq!(progress(&latest_web(&c).await), expected, "at {at} s");
    }
    let r = latest_web(&c).await;
    assert_eq!(r.end_time().map(|t| t.secs()), Some(TEN_O_CLOCK + 550));
    assert_eq!(r.status_reason(), None);
    assert_eq!(
        r.rollback_details()
            .and_then(|d| d.percentage_complete_on_rollback()),
        Some(66)
    );
    let snapshot = sim.refreshes("web").expect("web")[0].clone();
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
    let e = c
        .rollback_instance_refresh()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("done");
    assert_eq!(e.code(), Some("ActiveInstanceRefreshNotFound"));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_without_a_pinned_desired_configuration_is_irreversible() {
    let config = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(secs(100));
    let sim = sim_at_ten(config.clone(), Duration::ZERO).await;
    for group in ["latest", "rust", "pinned"] {
        sim.create_group(group, config.clone());
    }
    let c = client(&sim);
    let t0 = Instant::now();
    send_start(&c, "web").await.expect("start");
    start(&c, "latest", Some(desired("$Latest")), None).await;
    sim.start_refresh("rust", config.clone()).expect("rust");
    let pinned = sim
        .start_refresh_with_launch_template("pinned", config.clone(), "web-template", "4")
        .expect("pinned");
    sleep_until(t0 + secs(10)).await;

    for group in ["web", "latest", "rust"] {
        assert_eq!(
            rollback(&c, group).await,
            Err("IrreversibleInstanceRefresh".to_owned()),
            "{group}"
        );
        // Nothing changed: the refresh goes on.
        let snapshot = &sim.refreshes(group).expect("group")[0];
        assert_eq!(snapshot.status, RefreshStatus::InProgress, "{group}");
        assert_eq!(snapshot.rollback, None);
    }
    let e = c
        .rollback_instance_refresh()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("irreversible");
    assert_eq!(
        e.message(),
        Some(
            "The request failed because a desired configuration was not found or an incompatible launch template (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) is present on the Auto Scaling group."
        )
    );
    assert!(
        sim.calls()
            .iter()
            .filter(|call| call.is("RollbackInstanceRefresh"))
            .all(|call| call.error_code() == Some("IrreversibleInstanceRefresh") && !call.applied)
    );

    // A refresh started from Rust with a pinned launch template can be rolled back, and its
    // desired configuration is echoed.
    assert_eq!(rollback(&c, "pinned").await, Ok(pinned));
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("pinned")
        .send()
        .await
        .expect("describe");
    let r = &out.instance_refreshes()[0];
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
    let config = GroupConfig::default()
        .instances(4)
        .pending_duration(Duration::ZERO)
        .launch_duration(secs(100))
        .fail_after(secs(150))
        .fail_reason(reason);
    let sim = sim_at_ten(config, Duration::ZERO).await;
    let c = client(&sim);
    let t0 = Instant::now();
    start(
        &c,
        "web",
        Some(desired("2")),
        Some(
            RefreshPreferences::builder()
                .min_healthy_percentage(50)
                .instance_warmup(0)
                .auto_rollback(true)
                .build(),
        ),
    )
    .await;
    sleep_until(t0 + secs(149)).await;
    assert_eq!(progress(&latest_web(&c).await), (S::InProgress, 50, 2));

    sleep_until(t0 + secs(150)).await;
    let r = latest_web(&c).await;
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
    sleep_until(t0 + secs(349)).await;
    assert_eq!(
        progress(&latest_web(&c).await),
        (S::RollbackInProgress, 50, 2)
    );
    sleep_until(t0 + secs(350)).await;
    let r = latest_web(&c).await;
    assert_eq!(progress(&r), (S::RollbackSuccessful, 0, 2));
    assert_eq!(r.end_time().map(|t| t.secs()), Some(TEN_O_CLOCK + 350));
}
