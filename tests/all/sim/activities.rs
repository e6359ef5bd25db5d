//! `DescribeScalingActivities` (API reference, `Activity`): one launch and one terminate
//! activity per replaced instance, in progress first, then by start time, newest first, up to
//! 100 a page with `NextToken`; `AccessDenied` or nothing when drawn so. Parsed by the real SDK.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{Activity, ScalingActivityStatusCode as Code};
use instance_refresh_retry::sim::{ActivityAccess, ActivityEnd, GroupConfig, Unknowns};

use super::{
    TEN_O_CLOCK, Timeline, batches, describe_web_raw, launching, scaling_activities, start_with,
    xml_paths,
};
use crate::support::{secs, send_start};

/// 6 instances, 2 at a time, 100 s launches and a 50 s warmup: batch 1 from 0 to 150 s, batch 2
/// from 150 to 300 s.
async fn six_instances(ends: ActivityEnd) -> Timeline {
    let unknowns = Unknowns::default().with_launch_activity_ends(ends);
    let t = Timeline::new(launching(6, 100).unknowns(unknowns)).await;
    start_with(&t.client, "web", batches(66, 50).build()).await;
    t
}

/// (seconds after ten o'clock the activity started, its status, its description's verb).
fn summary(a: &Activity) -> (i64, Code, &str) {
    (
        a.start_time().expect("start").secs() - TEN_O_CLOCK,
        a.status_code().cloned().expect("status"),
        a.description()
            .and_then(|d| d.split(':').next())
            .expect("description"),
    )
}

#[tokio::test(start_paused = true)]
async fn activities_are_served_in_progress_first_then_newest_first() {
    let t = six_instances(ActivityEnd::AfterWarmup).await;
    assert_eq!(t.snapshot("web").batch_size, Some(2));
    t.sleep_until(260).await;
    let all = scaling_activities(&t.client, "web").await;
    let launch = "Launching a new EC2 instance";
    let terminate = "Terminating EC2 instance";
    assert_eq!(
        all.iter().map(summary).collect::<Vec<_>>(),
        [
            (150, Code::WaitingForInstanceWarmup, launch),
            (150, Code::WaitingForInstanceWarmup, launch),
            (150, Code::Successful, terminate),
            (150, Code::Successful, terminate),
            (0, Code::Successful, launch),
            (0, Code::Successful, terminate),
            (0, Code::Successful, launch),
            (0, Code::Successful, terminate),
        ]
    );
    for a in &all {
        assert_eq!(a.auto_scaling_group_name(), Some("web"));
        let id = a.activity_id().expect("id");
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        let at = "2026-11-26T10:0";
        let cause = a.cause().expect("cause");
        assert!(
            cause.starts_with(&format!("At {at}"))
                && cause.ends_with("in response to an instance refresh."),
            "{cause}"
        );
        let done = a.status_code() == Some(&Code::Successful);
        assert_eq!(a.end_time().is_some(), done);
        assert_eq!(a.progress(), Some(if done { 100 } else { 70 }));
        assert!(a.details().is_some_and(|d| d.contains("Availability Zone")));
    }
    // A launch activity open through the warmup ends with it (batch 1: InService at 100 s,
    // warmed up at 150 s); the terminations took 30 s.
    let ends: Vec<Option<i64>> = all[2..]
        .iter()
        .map(|a| a.end_time().map(|e| e.secs() - TEN_O_CLOCK))
        .collect();
    assert_eq!(
        ends,
        [
            Some(180),
            Some(180),
            Some(150),
            Some(30),
            Some(150),
            Some(30)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_launch_activity_may_end_at_in_service() {
    let t = six_instances(ActivityEnd::AtInService).await;
    t.sleep_until(260).await;
    let all = scaling_activities(&t.client, "web").await;
    let launches: Vec<(i64, Option<i64>)> = all
        .iter()
        .filter(|a| a.description().is_some_and(|d| d.starts_with("Launching")))
        .map(|a| {
            (
                a.start_time().expect("start").secs() - TEN_O_CLOCK,
                a.end_time().map(|e| e.secs() - TEN_O_CLOCK),
            )
        })
        .collect();
    assert_eq!(
        launches,
        [
            (150, Some(250)),
            (150, Some(250)),
            (0, Some(100)),
            (0, Some(100))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn activities_paginate_filter_and_are_logged() {
    let t = six_instances(ActivityEnd::AtInService).await;
    t.sleep_until(1000).await;
    let all = scaling_activities(&t.client, "web").await;
    assert_eq!(all.len(), 12);

    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = t
            .client
            .describe_scaling_activities()
            .auto_scaling_group_name("web")
            .max_records(5)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages.push(out.activities().len());
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, [5, 5, 2]);
    let calls = t.sim.calls();
    let logged: Vec<_> = calls
        .iter()
        .filter(|c| c.is("DescribeScalingActivities"))
        .collect();
    assert!(logged.len() >= 4);
    assert_eq!(
        logged
            .last()
            .unwrap()
            .params
            .get("MaxRecords")
            .map(String::as_str),
        Some("5")
    );

    // ActivityIds filter, with or without the group.
    let ids = [all[3].activity_id().unwrap(), all[7].activity_id().unwrap()];
    for group in [Some("web"), None] {
        let out = t
            .client
            .describe_scaling_activities()
            .set_auto_scaling_group_name(group.map(str::to_owned))
            .activity_ids(ids[1])
            .activity_ids(ids[0])
            .send()
            .await
            .expect("filtered");
        let got: Vec<_> = out
            .activities()
            .iter()
            .filter_map(|a| a.activity_id())
            .collect();
        assert_eq!(got, ids, "{group:?}");
    }

    // MaxRecords above 100, and a token that is not ours.
    let e = t
        .client
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .max_records(101)
        .send()
        .await
        .expect_err("too many");
    assert_eq!(e.code(), Some("ValidationError"));
    let e = t
        .client
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .next_token("nope")
        .send()
        .await
        .expect_err("bad token");
    assert!(
        e.as_service_error()
            .is_some_and(|e| e.is_invalid_next_token())
    );
}

/// The caller's role may lack `autoscaling:DescribeScalingActivities` (HTTP 403
/// `AccessDenied`), or the activities may show nothing: both are drawn unknowns.
#[tokio::test(start_paused = true)]
async fn access_denied_and_empty_answers() {
    let denied = Unknowns::default().with_activities(ActivityAccess::AccessDenied);
    let t = Timeline::new(launching(2, 60).unknowns(denied)).await;
    let empty = Unknowns::default().with_activities(ActivityAccess::Empty);
    t.sim
        .create_group("empty", launching(2, 60).unknowns(empty));
    t.sim
        .create_group("linear", GroupConfig::default().refresh_duration(secs(100)));
    for group in ["web", "empty", "linear"] {
        send_start(&t.client, group).await.expect("start");
    }
    t.sleep_until(30).await;

    let e = t
        .client
        .describe_scaling_activities()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403));
    assert_eq!(
        t.sim.calls().last().and_then(|c| c.error_code()),
        Some("AccessDenied")
    );
    // Without a group, every group is asked: denied too.
    let e = t
        .client
        .describe_scaling_activities()
        .send()
        .await
        .expect_err("denied");
    assert_eq!(e.code(), Some("AccessDenied"));

    assert!(scaling_activities(&t.client, "empty").await.is_empty());
    // Refreshes that progress linearly have no instances, so no activities.
    assert!(scaling_activities(&t.client, "linear").await.is_empty());
    // The describe of refreshes is not affected.
    assert!(
        describe_web_raw(&t.sim)
            .await
            .contains("<Status>InProgress</Status>")
    );
}

/// The XML of one activity, element by element, in the service model's order.
#[tokio::test(start_paused = true)]
async fn the_wire_shape_of_an_activity() {
    let t = Timeline::new(launching(1, 60)).await;
    send_start(&t.client, "web").await.expect("start");
    t.sleep_until(10).await;
    let r = super::post_form(
        t.sim.local_addr(),
        "Action=DescribeScalingActivities&Version=2011-01-01&AutoScalingGroupName=web",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let paths = xml_paths(&r.body);
    let member =
        "DescribeScalingActivitiesResponse/DescribeScalingActivitiesResult/Activities/member";
    let order = [
        "ActivityId",
        "AutoScalingGroupName",
        "Description",
        "Cause",
        "StartTime",
        "StatusCode",
        "Progress",
        "Details",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|e| {
            r.body
                .find(&format!("<{e}>"))
                .unwrap_or_else(|| panic!("{e}"))
        })
        .collect();
    assert!(positions.is_sorted(), "{}", r.body);
    assert_eq!(
        paths[&format!("{member}/StartTime")],
        "2026-11-26T10:00:00Z"
    );
    assert!(paths.contains_key("DescribeScalingActivitiesResponse/ResponseMetadata/RequestId"));
}
