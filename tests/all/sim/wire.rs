//! The wire samples in `tests/fixtures/wire/`: the real SDK parses them when the simulator serves them
//! verbatim, and the simulator's own bodies have the same shape.

use crate::support::send_start;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::operation::RequestId;
use aws_sdk_autoscaling::types::InstanceRefreshStatus;
use instance_refresh_retry::sim::{AutoScalingSim, CallOutcome, Fault, FaultRule, GroupConfig};

use super::{client, legacy, post_form, sim_with_web, xml_paths};

const WIRE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wire/");
const SAMPLE_ID: &str = "a6daf44f-3a2a-47a6-ae05-153de6c69b78";

fn wire(name: &str) -> String {
    std::fs::read_to_string(format!("{WIRE_DIR}{name}"))
        .unwrap_or_else(|e| panic!("reading {WIRE_DIR}{name}: {e}"))
}

/// Serve `file` with `status` for the next call.
fn serve(sim: &AutoScalingSim, status: u16, file: &str) {
    sim.inject(FaultRule::new(Fault::Raw {
        status,
        body: wire(file),
    }));
}

const COVERED: &[&str] = &[
    "cancel_not_found.xml",
    "cancel_ok.xml",
    "describe_cancelled.xml",
    "describe_in_progress.xml",
    "resource_contention.xml",
    "start_in_progress.xml",
    "start_missing_group.xml",
    "start_ok.xml",
    "throttling.xml",
];

#[test]
fn every_wire_sample_is_covered() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(WIRE_DIR)
        .expect("wire dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    let covered: BTreeSet<String> = COVERED.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(on_disk, covered, "a wire sample has no parsing test");
}

#[tokio::test]
async fn sdk_parses_every_wire_sample_served_verbatim() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);

    serve(&sim, 200, "start_ok.xml");
    let out = send_start(&c, "web").await.expect("start_ok parses");
    assert_eq!(out.instance_refresh_id(), Some(SAMPLE_ID));
    assert_eq!(
        out.request_id(),
        Some("j9lIxNwZtTrNK6IxVDCSOJ3yYTPiXkhGWXww5CbwfFvkKHa6INXN")
    );

    serve(&sim, 400, "start_in_progress.xml");
    let err = send_start(&c, "web").await.expect_err("in progress");
    let service = err.as_service_error().expect("service error");
    assert!(service.is_instance_refresh_in_progress_fault());
    assert_eq!(service.code(), Some("InstanceRefreshInProgress"));
    assert_eq!(
        service.message(),
        Some(
            "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."
        )
    );
    assert_eq!(
        service.request_id(),
        Some("rRgCxcWjqz0MFaJeiVZxMeO1mFP1k5mozBmWDiw3WKk7Tu9ciWR1")
    );

    serve(&sim, 400, "start_missing_group.xml");
    let err = send_start(&c, "nope").await.expect_err("missing group");
    let service = err.as_service_error().expect("service error");
    assert!(service.meta().code() == Some("ValidationError"));
    assert!(!service.is_instance_refresh_in_progress_fault());
    assert_eq!(
        service.message(),
        Some("AutoScalingGroup name not found - AutoScalingGroup 'nope' not found")
    );
    assert_eq!(
        service.request_id(),
        Some("9UxmPU0t48xlPtWRv7nPb8Cj2ERPKAEZR48Xbar3305luQz7VSOA")
    );

    serve(&sim, 200, "describe_in_progress.xml");
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("describe_in_progress parses");
    assert_eq!(
        out.request_id(),
        Some("hlGCnXEqebmqpm3bJM4LDngnAm7T2LE6Ha8JVdKRQjqDPy9vsUyx")
    );
    assert_eq!(out.next_token(), None);
    let [r] = out.instance_refreshes() else {
        panic!("one refresh expected: {out:?}")
    };
    assert_eq!(r.instance_refresh_id(), Some(SAMPLE_ID));
    assert_eq!(r.auto_scaling_group_name(), Some("web"));
    assert_eq!(r.status(), Some(&InstanceRefreshStatus::InProgress));
    assert_eq!(r.percentage_complete(), Some(0));
    assert_eq!(r.instances_to_update(), Some(1));
    assert_eq!(r.end_time(), None);
    let start = r.start_time().expect("start time");
    assert_eq!(start.secs(), 1_795_665_446);
    assert_eq!(start.subsec_nanos(), 223_174_000);
    assert_eq!(
        r.preferences().and_then(|p| p.min_healthy_percentage()),
        Some(90)
    );
    assert_eq!(r.strategy().map(|s| s.as_str()), Some("Rolling"));

    serve(&sim, 200, "describe_cancelled.xml");
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("describe_cancelled parses");
    let [r] = out.instance_refreshes() else {
        panic!("one refresh expected: {out:?}")
    };
    assert_eq!(r.status(), Some(&InstanceRefreshStatus::Cancelled));
    let end = r.end_time().expect("end time");
    assert_eq!(
        (end.secs(), end.subsec_nanos()),
        (1_795_665_446, 259_710_000)
    );
    assert_eq!(r.percentage_complete(), Some(0));

    serve(&sim, 200, "cancel_ok.xml");
    let out = c
        .cancel_instance_refresh()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect("cancel_ok parses");
    assert_eq!(out.instance_refresh_id(), Some(SAMPLE_ID));
    assert_eq!(
        out.request_id(),
        Some("8joaJNPbIDynf9Wfnp22QysqnGu1Kqw5mLgiA0zK7TiMQKG2osQh")
    );

    serve(&sim, 400, "cancel_not_found.xml");
    let err = c
        .cancel_instance_refresh()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("not found");
    let service = err.as_service_error().expect("service error");
    assert!(service.is_active_instance_refresh_not_found_fault());
    assert_eq!(
        service.message(),
        Some("No in progress or pending Instance Refresh found for Auto Scaling group web")
    );

    serve(&sim, 400, "throttling.xml");
    let err = send_start(&c, "web").await.expect_err("throttled");
    let service = err.as_service_error().expect("service error");
    assert_eq!(service.code(), Some("Throttling"));
    assert_eq!(service.message(), Some("Rate exceeded"));
    assert_eq!(
        service.request_id(),
        Some("5d8e1c3a-0000-4000-8000-000000000001")
    );
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));

    serve(&sim, 500, "resource_contention.xml");
    let err = send_start(&c, "web").await.expect_err("contention");
    let service = err.as_service_error().expect("service error");
    assert!(service.is_resource_contention_fault());
    assert_eq!(
        service.request_id(),
        Some("5d8e1c3a-0000-4000-8000-000000000002")
    );

    // Every call above was answered with the canned body and none touched the state.
    let calls = sim.calls();
    assert_eq!(calls.len(), COVERED.len());
    assert!(
        calls
            .iter()
            .all(|c| matches!(c.outcome, CallOutcome::Raw { .. }) && !c.applied)
    );
    assert!(sim.refreshes("web").expect("web").is_empty());
}

/// Element paths whose values legitimately differ between two responses.
fn is_variable(path: &str) -> bool {
    ["RequestId", "InstanceRefreshId", "StartTime", "EndTime"]
        .iter()
        .any(|leaf| path.ends_with(&format!("/{leaf}")))
}

/// The path of one `DescribeInstanceRefreshes` member element.
const MEMBER: &str =
    "DescribeInstanceRefreshesResponse/DescribeInstanceRefreshesResult/InstanceRefreshes/member";

/// Elements that real Auto Scaling sends in a `DescribeInstanceRefreshes` member but the
/// vendored samples (captured from an emulator) lack, with their value for the one-instance
/// refreshes of the samples (`None`: varies, must be non-empty): the `StatusReason`, the live
/// pool's `ProgressDetails`, and the preferences Auto Scaling fills in with their defaults.
const AWS_ONLY_IN_DESCRIBE: &[(&str, Option<&str>)] = &[
    ("StatusReason", None),
    (
        "ProgressDetails/LivePoolProgress/PercentageComplete",
        Some("0"),
    ),
    (
        "ProgressDetails/LivePoolProgress/InstancesToUpdate",
        Some("1"),
    ),
    ("Preferences/SkipMatching", Some("false")),
    ("Preferences/AutoRollback", Some("false")),
    ("Preferences/ScaleInProtectedInstances", Some("Ignore")),
    ("Preferences/StandbyInstances", Some("Ignore")),
];

/// Compare our body with a wire sample: the same element paths (plus exactly the `extra`
/// ones, paths relative to a describe member), the same fixed values, and the variable values
/// present and non-empty.
fn assert_same_shape(ours: &str, sample_file: &str, extra: &[(&str, Option<&str>)]) {
    let mut ours_map = xml_paths(ours);
    let sample = xml_paths(&wire(sample_file));
    let mut extras = BTreeMap::new();
    for (path, expected) in extra {
        let path = format!("{MEMBER}/{path}");
        let value = ours_map
            .remove(&path)
            .unwrap_or_else(|| panic!("{path} is missing from our body\nours: {ours}"));
        match expected {
            Some(expected) => assert_eq!(&value, expected, "{path}"),
            None => assert!(!value.is_empty(), "{path} is empty in our body"),
        }
        extras.insert(path, value);
    }
    let ours_paths: BTreeSet<&String> = ours_map.keys().collect();
    let sample_paths: BTreeSet<&String> = sample.keys().collect();
    assert_eq!(
        ours_paths, sample_paths,
        "element paths differ from {sample_file}\nours: {ours}"
    );
    let fixed = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| !is_variable(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(
        fixed(&ours_map),
        fixed(&sample),
        "values differ from {sample_file}"
    );
    for (path, value) in &ours_map {
        if is_variable(path) {
            assert!(!value.is_empty(), "{path} is empty in our body");
        }
        if path.ends_with("/InstanceRefreshId") {
            assert_eq!(value.len(), SAMPLE_ID.len(), "{path} is not UUID-shaped");
        }
        if path.ends_with("Time") {
            // Auto Scaling sends whole seconds (`2026-11-26T03:57:26Z`); the samples carry
            // the emulator's microseconds. This compared with a millisecond length before.
            assert_eq!(value.len(), "2026-11-26T03:57:26Z".len(), "{path}: {value}");
            assert!(
                value.ends_with('Z') && value.as_bytes()[10] == b'T',
                "{path}: {value}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn simulator_bodies_match_wire_samples_field_by_field() {
    // The samples' situation: one instance, InService and warming up (so AWS sends the warmup
    // sentence), counted as not yet replaced like the emulator that captured them does, and a
    // wording that gives Cancelled a StatusReason.
    let config = GroupConfig::default()
        .instances(1)
        .pending_duration(Duration::ZERO)
        .launch_duration(Duration::ZERO)
        .default_warmup(Duration::from_secs(600))
        .cancel_duration(Duration::from_millis(40))
        .unknowns(legacy());
    let sim = sim_with_web(config).await;
    let addr = sim.local_addr();
    let form = |action: &str, group: &str| {
        format!("Action={action}&Version=2011-01-01&AutoScalingGroupName={group}")
    };

    // The same situations the samples were captured in.
    let r = post_form(addr, &form("CancelInstanceRefresh", "web")).await;
    assert_eq!(r.status, 400);
    assert_same_shape(&r.body, "cancel_not_found.xml", &[]);

    let r = post_form(
        addr,
        &(form("StartInstanceRefresh", "web")
            + "&Strategy=Rolling&Preferences.MinHealthyPercentage=90"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("text/xml")
    );
    assert_same_shape(&r.body, "start_ok.xml", &[]);
    let request_id =
        xml_paths(&r.body)["StartInstanceRefreshResponse/ResponseMetadata/RequestId"].clone();
    assert_eq!(r.headers.get("x-amzn-requestid"), Some(&request_id));

    let r = post_form(addr, &form("StartInstanceRefresh", "web")).await;
    assert_eq!(r.status, 400);
    assert_same_shape(&r.body, "start_in_progress.xml", &[]);

    let r = post_form(addr, &form("StartInstanceRefresh", "nope")).await;
    assert_eq!(r.status, 400);
    assert_same_shape(&r.body, "start_missing_group.xml", &[]);

    let r = post_form(addr, &form("DescribeInstanceRefreshes", "web")).await;
    assert_eq!(r.status, 200);
    assert_same_shape(&r.body, "describe_in_progress.xml", AWS_ONLY_IN_DESCRIBE);

    let r = post_form(addr, &form("CancelInstanceRefresh", "web")).await;
    assert_eq!(r.status, 200);
    assert_same_shape(&r.body, "cancel_ok.xml", &[]);

    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = post_form(addr, &form("DescribeInstanceRefreshes", "web")).await;
    assert_eq!(r.status, 200);
    assert_same_shape(&r.body, "describe_cancelled.xml", AWS_ONLY_IN_DESCRIBE);

    // Throttling and ResourceContention as injected faults.
    sim.inject(Fault::Throttling);
    let r = post_form(addr, &form("DescribeInstanceRefreshes", "web")).await;
    assert_eq!(r.status, 400);
    assert_same_shape(&r.body, "throttling.xml", &[]);
    sim.inject(Fault::ResourceContention);
    let r = post_form(addr, &form("DescribeInstanceRefreshes", "web")).await;
    assert_eq!(r.status, 500);
    assert_same_shape(&r.body, "resource_contention.xml", &[]);
}

#[test]
#[should_panic(expected = "values differ")]
fn shape_comparison_catches_a_different_code() {
    assert_same_shape(&wire("throttling.xml"), "start_in_progress.xml", &[]);
}

#[test]
#[should_panic(expected = "element paths differ")]
fn shape_comparison_catches_an_element_outside_the_aws_only_list() {
    let body = wire("describe_in_progress.xml").replace(
        "<Strategy>",
        "<StatusReason>x</StatusReason><Bogus>1</Bogus><Strategy>",
    );
    assert_same_shape(
        &body,
        "describe_in_progress.xml",
        &AWS_ONLY_IN_DESCRIBE[..1],
    );
}
