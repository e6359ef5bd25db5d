//! `StartInstanceRefresh` parameters the way Auto Scaling treats them: validation errors, the
//! defaults Describe echoes, `DesiredConfiguration` round trips and whole-second timestamps.

use std::time::Duration;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, InstancesDistribution, LaunchTemplate, LaunchTemplateOverrides,
    LaunchTemplateSpecification, MixedInstancesPolicy, RefreshPreferences,
    ScaleInProtectedInstances, StandbyInstances,
};
use instance_refresh_retry::sim::GroupConfig;

use super::{
    TEN_O_CLOCK, client, describe_web_raw, latest, latest_web, legacy, sim_at_ten, sim_with_web,
    xml_paths,
};
use crate::support::{send_rollback, send_start, send_start_with, start_refresh, template_version};

#[tokio::test(start_paused = true)]
async fn invalid_preferences_are_validation_errors() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let p = RefreshPreferences::builder;
    let cases: Vec<(RefreshPreferences, Option<DesiredConfiguration>, &str)> = vec![
        (
            p().min_healthy_percentage(101).build(),
            None,
            "1 validation error detected: Value '101' at 'preferences.minHealthyPercentage' failed to satisfy constraint: Member must have value less than or equal to 100",
        ),
        (
            p().min_healthy_percentage(-1).build(),
            None,
            "Value '-1' at 'preferences.minHealthyPercentage' failed to satisfy constraint: Member must have value greater than or equal to 0",
        ),
        (
            p().min_healthy_percentage(90)
                .max_healthy_percentage(99)
                .build(),
            None,
            "Value '99' at 'preferences.maxHealthyPercentage' failed to satisfy constraint: Member must have value greater than or equal to 100",
        ),
        (
            p().min_healthy_percentage(90)
                .max_healthy_percentage(201)
                .build(),
            None,
            "Value '201' at 'preferences.maxHealthyPercentage' failed to satisfy constraint: Member must have value less than or equal to 200",
        ),
        (
            p().max_healthy_percentage(120).build(),
            None,
            "MinHealthyPercentage must be specified when MaxHealthyPercentage is specified.",
        ),
        (
            p().min_healthy_percentage(40)
                .max_healthy_percentage(160)
                .build(),
            None,
            "cannot be greater than 100",
        ),
        (
            p().auto_rollback(true).build(),
            None,
            "AutoRollback is not supported for an instance refresh without a desired configuration.",
        ),
        (
            p().auto_rollback(true).build(),
            Some(template_version("$Latest")),
            "$Latest or $Default",
        ),
        (
            p().checkpoint_delay(600).build(),
            None,
            "CheckpointDelay can only be specified together with CheckpointPercentages.",
        ),
        (
            p().checkpoint_percentages(50)
                .checkpoint_percentages(20)
                .build(),
            None,
            "CheckpointPercentages must be unique and in ascending order.",
        ),
        (
            p().checkpoint_percentages(0).build(),
            None,
            "Value '0' at 'preferences.checkpointPercentages.member'",
        ),
        (
            p().bake_time(172_801).build(),
            None,
            "Value '172801' at 'preferences.bakeTime' failed to satisfy constraint: Member must have value less than or equal to 172800",
        ),
        (
            p().scale_in_protected_instances(ScaleInProtectedInstances::from("Sideways"))
                .build(),
            None,
            "Member must satisfy enum value set: [Ignore, Wait, Refresh]",
        ),
        (
            p().min_healthy_percentage(101).instance_warmup(-5).build(),
            None,
            "2 validation errors detected: ",
        ),
    ];
    for (preferences, desired, expected) in &cases {
        let e = send_start_with(&c, "web", desired.clone(), Some(preferences.clone()))
            .await
            .expect_err("invalid");
        assert_eq!(e.code(), Some("ValidationError"), "{preferences:?}");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
        let message = e.message().unwrap_or_default();
        assert!(message.contains(expected), "{preferences:?}: {message}");
    }
    assert!(sim.refreshes("web").expect("web").is_empty());
    let calls = sim.calls();
    assert_eq!(calls.len(), cases.len());
    assert!(calls.iter().all(|call| !call.applied));

    // The boundaries are valid.
    let boundaries = p()
        .min_healthy_percentage(100)
        .max_healthy_percentage(200)
        .checkpoint_percentages(100)
        .checkpoint_delay(172_800)
        .bake_time(0)
        .instance_warmup(0)
        .build();
    send_start_with(&c, "web", None, Some(boundaries))
        .await
        .expect("valid");
}

#[tokio::test(start_paused = true)]
async fn defaults_are_echoed_in_model_order_and_parsed_by_the_sdk() {
    // A wording that gives Pending a StatusReason, to check its place.
    let sim = sim_with_web(GroupConfig::default().unknowns(legacy())).await;
    let c = client(&sim);
    send_start(&c, "web").await.expect("start");

    let r = latest_web(&c).await;
    // Exactly these: nothing for MaxHealthyPercentage (unset is not the same as 100),
    // InstanceWarmup, CheckpointDelay or BakeTime.
    let defaults = RefreshPreferences::builder()
        .min_healthy_percentage(90)
        .skip_matching(false)
        .auto_rollback(false)
        .scale_in_protected_instances(ScaleInProtectedInstances::Ignore)
        .standby_instances(StandbyInstances::Ignore)
        .build();
    assert_eq!(r.preferences(), Some(&defaults));
    assert_eq!(r.desired_configuration(), None);

    let body = describe_web_raw(&sim).await;
    let position = |element: &str| {
        body.find(&format!("<{element}>"))
            .unwrap_or_else(|| panic!("no <{element}> in {body}"))
    };
    let member_order = [
        "InstanceRefreshId",
        "AutoScalingGroupName",
        "Status",
        "StatusReason",
        "StartTime",
        "PercentageComplete",
        "InstancesToUpdate",
        "ProgressDetails",
        "Preferences",
        "Strategy",
    ];
    let positions: Vec<usize> = member_order.iter().map(|e| position(e)).collect();
    assert!(positions.is_sorted(), "{body}");
    let preferences_order = [
        "MinHealthyPercentage",
        "SkipMatching",
        "AutoRollback",
        "ScaleInProtectedInstances",
        "StandbyInstances",
    ];
    let positions: Vec<usize> = preferences_order.iter().map(|e| position(e)).collect();
    assert!(positions.is_sorted(), "{body}");
    assert!(!body.contains("WarmPoolProgress"), "{body}");
    assert!(!body.contains("MaxHealthyPercentage"), "{body}");
}

#[tokio::test(start_paused = true)]
async fn desired_configuration_round_trips() {
    let sim = sim_with_web(GroupConfig::default()).await;
    sim.create_group("mixed", GroupConfig::default());
    let c = client(&sim);
    start_refresh(&c, "web", Some(template_version("7")), None).await;
    let mixed = DesiredConfiguration::builder()
        .mixed_instances_policy(
            MixedInstancesPolicy::builder()
                .launch_template(
                    LaunchTemplate::builder()
                        .launch_template_specification(
                            LaunchTemplateSpecification::builder()
                                .launch_template_name("web")
                                .version("3")
                                .build(),
                        )
                        .overrides(
                            LaunchTemplateOverrides::builder()
                                .instance_type("m5.large")
                                .build(),
                        )
                        .overrides(
                            LaunchTemplateOverrides::builder()
                                .instance_type("m6i.large")
                                .weighted_capacity("2")
                                .build(),
                        )
                        .build(),
                )
                .instances_distribution(
                    InstancesDistribution::builder()
                        .on_demand_base_capacity(1)
                        .on_demand_percentage_above_base_capacity(50)
                        .spot_allocation_strategy("price-capacity-optimized")
                        .build(),
                )
                .build(),
        )
        .build();
    start_refresh(&c, "mixed", Some(mixed.clone()), None).await;

    assert_eq!(
        latest_web(&c).await.desired_configuration(),
        Some(&template_version("7"))
    );
    let r = latest(&c, "mixed").await;
    assert_eq!(r.desired_configuration(), Some(&mixed));

    // Same shape as the request sends it, between Preferences and Strategy.
    let body = describe_web_raw(&sim).await;
    assert!(
        body.contains(
            "</Preferences><DesiredConfiguration><LaunchTemplate><LaunchTemplateId>lt-0123456789abcdef0</LaunchTemplateId><Version>7</Version></LaunchTemplate></DesiredConfiguration><Strategy>"
        ),
        "{body}"
    );
}

#[tokio::test(start_paused = true)]
async fn timestamps_are_whole_seconds() {
    // The simulator starts at 10:00:00.750; the refresh is rolled back 30.5 s later.
    let config = GroupConfig::default()
        .pending_duration(Duration::ZERO)
        .refresh_duration(Duration::from_secs(100))
        .rollback_duration(Duration::from_secs(30));
    let sim = sim_at_ten(config, Duration::from_millis(750)).await;
    let c = client(&sim);
    start_refresh(&c, "web", Some(template_version("2")), None).await;
    tokio::time::sleep(Duration::from_millis(30_500)).await;
    send_rollback(&c, "web").await.expect("rollback");
    tokio::time::sleep(Duration::from_secs(30)).await;

    let body = describe_web_raw(&sim).await;
    let paths = xml_paths(&body);
    let member = "DescribeInstanceRefreshesResponse/DescribeInstanceRefreshesResult/InstanceRefreshes/member";
    let value = |path: &str| paths[&format!("{member}/{path}")].clone();
    assert_eq!(value("Status"), "RollbackSuccessful");
    assert_eq!(value("StartTime"), "2026-11-26T10:00:00Z");
    assert_eq!(
        value("RollbackDetails/RollbackStartTime"),
        "2026-11-26T10:00:31Z"
    );
    assert_eq!(value("EndTime"), "2026-11-26T10:01:01Z");

    let r = latest_web(&c).await;
    let start = r.start_time().expect("start");
    let end = r.end_time().expect("end");
    let rollback = r
        .rollback_details()
        .and_then(|d| d.rollback_start_time())
        .expect("rollback start");
    assert_eq!(
        [start, end, rollback].map(|t| (t.secs() - TEN_O_CLOCK, t.subsec_nanos())),
        [(0, 0), (61, 0), (31, 0)]
    );
}
