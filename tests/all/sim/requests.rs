//! The call log, and bad requests answered the way AWS answers them.

use crate::support::send_start;
use std::time::Duration;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::operation::RequestId;
use instance_refresh_retry::sim::{CallOutcome, GroupConfig};

use super::{client, post_form, raw_request, sim_with_web, xml_paths};

fn error_code_and_message(body: &str) -> (String, String) {
    let map = xml_paths(body);
    (
        map["ErrorResponse/Error/Code"].clone(),
        map["ErrorResponse/Error/Message"].clone(),
    )
}

#[tokio::test(start_paused = true)]
async fn call_log_records_operation_params_time_outcome() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let started = send_start(&c, "web").await.expect("start");
    let id = started.instance_refresh_id().expect("id").to_owned();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let err = send_start(&c, "web").await.expect_err("in progress");
    c.describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .instance_refresh_ids(&id)
        .max_records(5)
        .send()
        .await
        .expect("describe");

    let calls = sim.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls.iter().map(|c| c.index).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(calls[0].is("StartInstanceRefresh"));
    assert_eq!(calls[0].outcome, CallOutcome::Ok { status: 200 });
    assert!(calls[0].applied);
    assert_eq!(calls[0].request_id.as_deref(), started.request_id());
    assert_eq!(
        calls[0].params.iter().collect::<Vec<_>>(),
        [(&"AutoScalingGroupName".to_owned(), &"web".to_owned())]
    );

    assert_eq!(calls[1].error_code(), Some("InstanceRefreshInProgress"));
    assert_eq!(calls[1].outcome.status(), Some(400));
    assert!(!calls[1].applied);
    assert_eq!(calls[1].request_id.as_deref(), err.request_id());
    let gap = calls[1].at - calls[0].at;
    assert!(
        gap >= Duration::from_secs(10) && gap < Duration::from_secs(11),
        "{gap:?}"
    );

    assert!(calls[2].is("DescribeInstanceRefreshes"));
    assert_eq!(
        calls[2].params.get("InstanceRefreshIds.member.1"),
        Some(&id)
    );
    assert_eq!(
        calls[2].params.get("MaxRecords").map(String::as_str),
        Some("5")
    );
    assert!(calls.iter().all(|c| c.fault.is_none()));
    assert!(calls.iter().all(|c| !c.params.contains_key("Action")));
}

#[tokio::test(start_paused = true)]
async fn unknown_group_is_a_validation_error_for_every_operation() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let expected = "AutoScalingGroup name not found - AutoScalingGroup 'nope' not found";

    let e = send_start(&c, "nope").await.expect_err("start");
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationError"), Some(expected))
    );
    let e = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("nope")
        .send()
        .await
        .expect_err("describe");
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationError"), Some(expected))
    );
    let e = c
        .cancel_instance_refresh()
        .auto_scaling_group_name("nope")
        .send()
        .await
        .expect_err("cancel");
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationError"), Some(expected))
    );
    let e = c
        .rollback_instance_refresh()
        .auto_scaling_group_name("nope")
        .send()
        .await
        .expect_err("rollback");
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationError"), Some(expected))
    );
    assert!(
        sim.calls()
            .iter()
            .all(|c| c.error_code() == Some("ValidationError"))
    );
}

#[tokio::test(start_paused = true)]
async fn special_characters_are_escaped_and_round_trip() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let name = r#"a&b<c>"d'e"#;
    let e = send_start(&client(&sim), name)
        .await
        .expect_err("unknown group");
    assert_eq!(
        e.message(),
        Some(r#"AutoScalingGroup name not found - AutoScalingGroup 'a&b<c>"d'e' not found"#)
    );
    let r = post_form(
        sim.local_addr(),
        "Action=StartInstanceRefresh&AutoScalingGroupName=%3C%26%3E",
    )
    .await;
    assert!(
        r.body
            .contains("AutoScalingGroup &apos;&lt;&amp;&gt;&apos; not found"),
        "{}",
        r.body
    );
}

#[tokio::test(start_paused = true)]
async fn group_names_with_special_characters_work_end_to_end() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let name = r#"a&b<c>"d'e"#;
    sim.create_group(name, GroupConfig::default());
    let c = client(&sim);
    send_start(&c, name).await.expect("start");
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name(name)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        out.instance_refreshes()[0].auto_scaling_group_name(),
        Some(name)
    );
}

#[tokio::test(start_paused = true)]
async fn missing_required_parameter_is_a_validation_error() {
    let sim = sim_with_web(GroupConfig::default()).await;
    for action in [
        "StartInstanceRefresh",
        "DescribeInstanceRefreshes",
        "CancelInstanceRefresh",
        "RollbackInstanceRefresh",
    ] {
        let r = post_form(
            sim.local_addr(),
            &format!("Action={action}&Version=2011-01-01"),
        )
        .await;
        assert_eq!(r.status, 400, "{action}");
        let (code, message) = error_code_and_message(&r.body);
        assert_eq!(code, "ValidationError", "{action}");
        assert!(
            message.contains("Value null at 'autoScalingGroupName'"),
            "{message}"
        );
    }
    // Through the SDK too (it does not check required members client-side).
    let e = client(&sim)
        .start_instance_refresh()
        .send()
        .await
        .expect_err("missing group name");
    assert_eq!(e.code(), Some("ValidationError"));
    assert!(sim.refreshes("web").expect("web").is_empty());
}

#[tokio::test(start_paused = true)]
async fn unknown_missing_or_wrong_version_action() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let addr = sim.local_addr();

    let r = post_form(
        addr,
        "Action=DeleteEverything&Version=2011-01-01&AutoScalingGroupName=web",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        error_code_and_message(&r.body),
        (
            "InvalidAction".to_owned(),
            "Could not find operation DeleteEverything for version 2011-01-01".to_owned()
        )
    );

    let r = post_form(addr, "Version=2011-01-01&AutoScalingGroupName=web").await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code_and_message(&r.body).0, "MissingAction");

    let r = post_form(
        addr,
        "Action=StartInstanceRefresh&Version=1999-01-01&AutoScalingGroupName=web",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(error_code_and_message(&r.body).0, "InvalidAction");
    assert!(sim.refreshes("web").expect("web").is_empty());

    let calls = sim.calls();
    assert_eq!(calls[0].operation.as_deref(), Some("DeleteEverything"));
    assert_eq!(calls[1].operation, None);
    assert_eq!(calls[1].error_code(), Some("MissingAction"));
}

#[tokio::test(start_paused = true)]
async fn non_post_and_non_form_requests_are_rejected() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let addr = sim.local_addr();

    let r = raw_request(addr, "GET", None, b"").await.expect("response");
    assert_eq!(r.status, 400);
    assert_eq!(error_code_and_message(&r.body).0, "InvalidHttpRequest");
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("text/xml")
    );

    let r = raw_request(
        addr,
        "POST",
        Some("application/json"),
        br#"{"Action":"StartInstanceRefresh","AutoScalingGroupName":"web"}"#,
    )
    .await
    .expect("response");
    assert_eq!(r.status, 400);
    assert_eq!(error_code_and_message(&r.body).0, "InvalidHttpRequest");

    // A form body that is valid but meaningless has no Action.
    let r = raw_request(addr, "POST", None, b"\xff\xfe not a form at all")
        .await
        .expect("response");
    assert_eq!(r.status, 400);
    assert_eq!(error_code_and_message(&r.body).0, "MissingAction");

    let big = vec![b'a'; (1 << 20) + 1];
    let r = raw_request(addr, "POST", None, &big)
        .await
        .expect("response");
    assert_eq!(r.status, 413);
    assert_eq!(error_code_and_message(&r.body).0, "RequestEntityTooLarge");

    assert!(sim.refreshes("web").expect("web").is_empty());
    assert_eq!(sim.calls().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn describe_parameter_validation() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let e = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .max_records(101)
        .send()
        .await
        .expect_err("too many");
    assert_eq!(e.code(), Some("ValidationError"));
    assert!(
        e.message()
            .unwrap_or_default()
            .contains("less than or equal to 100")
    );
    let e = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .max_records(0)
        .send()
        .await
        .expect_err("too few");
    assert_eq!(e.code(), Some("ValidationError"));
    let e = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .next_token("bogus")
        .send()
        .await
        .expect_err("bad token");
    assert!(
        e.as_service_error()
            .expect("service")
            .is_invalid_next_token()
    );
}

#[tokio::test(start_paused = true)]
async fn strategy_and_preferences_are_echoed_by_describe() {
    use aws_sdk_autoscaling::types::{
        RefreshPreferences, RefreshStrategy, ScaleInProtectedInstances, StandbyInstances,
    };
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let prefs = RefreshPreferences::builder()
        .min_healthy_percentage(80)
        .max_healthy_percentage(120)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100)
        .instance_warmup(30)
        .skip_matching(true)
        .build();
    c.start_instance_refresh()
        .auto_scaling_group_name("web")
        .strategy(RefreshStrategy::Rolling)
        .preferences(prefs.clone())
        .send()
        .await
        .expect("start");
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("describe");
    let r = &out.instance_refreshes()[0];
    assert_eq!(r.strategy(), Some(&RefreshStrategy::Rolling));
    // What was sent, plus the defaults Auto Scaling fills in and echoes (CheckpointDelay
    // because checkpoints are set, AutoRollback, ScaleInProtectedInstances, StandbyInstances).
    // This compared with `prefs` alone before.
    let echoed = RefreshPreferences::builder()
        .min_healthy_percentage(80)
        .max_healthy_percentage(120)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100)
        .checkpoint_delay(3600)
        .instance_warmup(30)
        .skip_matching(true)
        .auto_rollback(false)
        .scale_in_protected_instances(ScaleInProtectedInstances::Ignore)
        .standby_instances(StandbyInstances::Ignore)
        .build();
    assert_eq!(r.preferences(), Some(&echoed));

    let e = c
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .strategy(RefreshStrategy::from("Sideways"))
        .send()
        .await
        .expect_err("bad strategy");
    assert_eq!(e.code(), Some("ValidationError"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_a_multi_thread_runtime_with_concurrent_clients() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { send_start(&c, "web").await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("InstanceRefreshInProgress")),
        }
    }
    // Exactly one concurrent start wins.
    assert_eq!(ok, 1);
    assert_eq!(sim.calls().len(), 16);
    assert_eq!(sim.refreshes("web").expect("web").len(), 1);
}
