//! Refresh lifecycles under paused tokio time, through the real SDK client.

use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus as S};
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig, RefreshStatus};
use tokio::time::{Instant, sleep};

use super::{client, describe, latest_web, legacy, sim_with_web};
use crate::support::{
    named_template_version, secs, send_cancel, send_rollback, send_start, start_refresh,
};

async fn start(c: &Client) -> String {
    send_start(c, "web")
        .await
        .expect("start")
        .instance_refresh_id()
        .expect("id")
        .to_owned()
}

fn millis_between(r: &InstanceRefresh) -> Option<i64> {
    let start = r.start_time()?;
    let end = r.end_time()?;
    Some(
        (end.secs() - start.secs()) * 1000
            + (i64::from(end.subsec_nanos()) - i64::from(start.subsec_nanos())) / 1_000_000,
    )
}

#[tokio::test(start_paused = true)]
async fn hour_long_refresh_advances_and_succeeds() {
    let config = GroupConfig::default()
        .instances(10)
        .pending_duration(secs(30))
        .refresh_duration(secs(3600))
        .bake_duration(secs(600));
    let sim = sim_with_web(config).await;
    let c = client(&sim);
    let t0 = Instant::now();
    let id = start(&c).await;

    let r = latest_web(&c).await;
    assert_eq!(r.instance_refresh_id(), Some(id.as_str()));
    assert_eq!(r.status(), Some(&S::Pending));
    assert_eq!(r.percentage_complete(), Some(0));
    assert_eq!(r.instances_to_update(), Some(10));
    assert!(r.start_time().is_some());
    assert_eq!(r.end_time(), None);

    sleep(secs(30 + 1800)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::InProgress));
    assert_eq!(r.percentage_complete(), Some(50));
    assert_eq!(r.instances_to_update(), Some(5));

    // Sampled every 5 minutes, progress never goes backwards.
    let mut last = 50;
    for _ in 0..5 {
        sleep(secs(300)).await;
        let p = latest_web(&c).await.percentage_complete().expect("pct");
        assert!(p >= last, "{p} < {last}");
        last = p;
    }
    assert!(last > 50 && last < 100, "{last}");

    sleep(secs(600)).await; // now at 3930: after 30 + 3600, before 4230
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::Baking));
    assert_eq!(r.percentage_complete(), Some(100));
    assert_eq!(r.instances_to_update(), Some(0));
    assert_eq!(r.end_time(), None);

    sleep(secs(300)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::Successful));
    assert_eq!(r.percentage_complete(), Some(100));
    assert_eq!(millis_between(&r), Some(4_230_000));
    assert_eq!(
        sim.refreshes("web").expect("web")[0].status,
        RefreshStatus::Successful
    );
    // More than an hour of virtual time, all of it in the sleeps above: the requests took none
    // (see `virtual_time`), on the test's clock and the simulator's.
    assert_eq!(t0.elapsed(), secs(30 + 1800 + 5 * 300 + 600 + 300));
    assert_eq!(sim.elapsed(), secs(4230));

    // The group is free again.
    let second = start(&c).await;
    assert_ne!(second, id);
}

#[tokio::test(start_paused = true)]
async fn cancel_goes_through_cancelling_to_cancelled() {
    let config = GroupConfig::default()
        .instances(4)
        .pending_duration(secs(0))
        .refresh_duration(secs(1000))
        .cancel_duration(secs(20));
    let sim = sim_with_web(config).await;
    let c = client(&sim);
    let id = start(&c).await;
    sleep(secs(500)).await;

    let cancelled = send_cancel(&c, "web").await.expect("cancel");
    assert_eq!(cancelled.instance_refresh_id(), Some(id.as_str()));
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::Cancelling));
    assert_eq!(r.percentage_complete(), Some(50));

    // Cancelling still blocks a new refresh; cancelling again is a no-op.
    let e = send_start(&c, "web").await.expect_err("still active");
    assert!(
        e.as_service_error()
            .expect("svc")
            .is_instance_refresh_in_progress_fault()
    );
    let again = send_cancel(&c, "web").await.expect("cancel again");
    assert_eq!(again.instance_refresh_id(), Some(id.as_str()));

    sleep(secs(20)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::Cancelled));
    assert_eq!(r.percentage_complete(), Some(50));
    assert_eq!(r.instances_to_update(), Some(2));
    assert_eq!(millis_between(&r), Some(520_000));

    let e = send_cancel(&c, "web").await.expect_err("nothing active");
    assert!(
        e.as_service_error()
            .expect("svc")
            .is_active_instance_refresh_not_found_fault()
    );
    assert_eq!(
        e.message(),
        Some("No in progress or pending Instance Refresh found for Auto Scaling group web")
    );
    start(&c).await;
}

#[tokio::test(start_paused = true)]
async fn rollback_goes_through_rollback_in_progress_to_successful() {
    let config = GroupConfig::default()
        .instances(4)
        .pending_duration(secs(0))
        .refresh_duration(secs(100))
        .rollback_duration(secs(40))
        // The RollbackReason's wording is a guess: this one has one.
        .unknowns(legacy());
    let sim = sim_with_web(config).await;
    let c = client(&sim);

    let e = send_rollback(&c, "web")
        .await
        .expect_err("nothing to roll back");
    assert!(
        e.as_service_error()
            .expect("svc")
            .is_active_instance_refresh_not_found_fault()
    );

    // AWS rolls back only refreshes started with a desired configuration (without one,
    // RollbackInstanceRefresh answers IrreversibleInstanceRefresh), so this one has one.
    let pinned = named_template_version("web", "2");
    let id = start_refresh(&c, "web", Some(pinned), None).await;
    sleep(secs(50)).await;
    let rolled = send_rollback(&c, "web").await.expect("rollback");
    assert_eq!(rolled.instance_refresh_id(), Some(id.as_str()));

    sleep(secs(20)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::RollbackInProgress));
    let details = r.rollback_details().expect("rollback details");
    assert_eq!(details.percentage_complete_on_rollback(), Some(50));
    // AWS: "the value of InstancesToUpdate at the time the rollback started" (4 instances,
    // 50 % replaced: 2). This was 1 (the instances left to roll back) before.
    assert_eq!(details.instances_to_update_on_rollback(), Some(2));
    assert!(details.rollback_start_time().is_some());
    assert!(details.rollback_reason().is_some());
    // PercentageComplete goes back down to 0 during the rollback: half way, 25 %.
    assert_eq!(r.percentage_complete(), Some(25));

    // Cancel does not apply to a rollback.
    let e = send_cancel(&c, "web").await.expect_err("rolling back");
    assert!(
        e.as_service_error()
            .expect("svc")
            .is_active_instance_refresh_not_found_fault()
    );

    sleep(secs(20)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::RollbackSuccessful));
    assert_eq!(millis_between(&r), Some(90_000));
    let e = send_rollback(&c, "web").await.expect_err("done");
    assert_eq!(e.code(), Some("ActiveInstanceRefreshNotFound"));
}

#[tokio::test(start_paused = true)]
async fn scripted_failure_ends_in_failed() {
    let config = GroupConfig::default()
        .pending_duration(secs(0))
        .refresh_duration(secs(100))
        .fail_after(secs(25))
        // The wording of Failed is a guess: this one has one.
        .unknowns(legacy());
    let sim = sim_with_web(config).await;
    let c = client(&sim);
    start(&c).await;
    sleep(secs(30)).await;
    let r = latest_web(&c).await;
    assert_eq!(r.status(), Some(&S::Failed));
    assert_eq!(r.percentage_complete(), Some(25));
    assert!(r.status_reason().is_some());
    assert_eq!(millis_between(&r), Some(25_000));
    start(&c).await;
}

#[tokio::test(start_paused = true)]
async fn describe_paginates_newest_first() {
    let config = GroupConfig::default()
        .pending_duration(secs(0))
        .refresh_duration(secs(1));
    let sim = sim_with_web(config).await;
    let c = client(&sim);
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(start(&c).await);
        sleep(secs(2)).await;
    }
    ids.reverse(); // newest first, like AWS

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = c
            .describe_instance_refreshes()
            .auto_scaling_group_name("web")
            .max_records(3)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(out.instance_refreshes().len() <= 3);
        seen.extend(
            out.instance_refreshes()
                .iter()
                .map(|r| r.instance_refresh_id().expect("id").to_owned()),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    // The SDK paginator agrees.
    let items: Vec<_> = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .max_records(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    assert_eq!(items.len(), 4);

    // Default page size is 50, and ids filter.
    assert_eq!(describe(&c, "web").await.len(), 7);
    let out = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .instance_refresh_ids(&ids[5])
        .instance_refresh_ids(&ids[1])
        .instance_refresh_ids("not-a-refresh")
        .send()
        .await
        .expect("filtered");
    let got: Vec<_> = out
        .instance_refreshes()
        .iter()
        .filter_map(|r| r.instance_refresh_id())
        .collect();
    assert_eq!(got, [ids[1].as_str(), ids[5].as_str()]);
}

#[tokio::test(start_paused = true)]
async fn seeded_running_refresh_blocks_start_until_it_ends() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let seeded = sim.seed_running_refresh("web", secs(3)).expect("seeded");
    let t0 = Instant::now();
    let c = client(&sim);

    let mut attempts = 0;
    let new_id = loop {
        attempts += 1;
        match send_start(&c, "web").await {
            Ok(out) => break out.instance_refresh_id().expect("id").to_owned(),
            Err(e) => {
                assert!(
                    e.as_service_error()
                        .expect("svc")
                        .is_instance_refresh_in_progress_fault(),
                    "{e:?}"
                );
                assert!(
                    t0.elapsed() < secs(3),
                    "blocked after T: {:?}",
                    t0.elapsed()
                );
            }
        }
        sleep(Duration::from_millis(500)).await;
    };
    // Blocked at 0, 0.5, ..., 2.5 s; free at 3 s, when the seeded refresh ends.
    assert_eq!(t0.elapsed(), secs(3));
    assert_eq!(attempts, 7);
    assert_ne!(new_id, seeded);

    let refreshes = sim.refreshes("web").expect("web");
    assert_eq!(refreshes.len(), 2);
    assert_eq!(refreshes[1].id, seeded);
    assert_eq!(refreshes[1].status, RefreshStatus::Successful);
    assert_eq!(refreshes[0].status, RefreshStatus::Pending);
    let blocked = sim
        .calls()
        .iter()
        .filter(|c| c.error_code() == Some("InstanceRefreshInProgress"))
        .count();
    assert_eq!(blocked, 6);
}

#[test]
fn seeding_an_unknown_group_is_an_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = AutoScalingSim::start().await.expect("sim");
        assert!(sim.seed_running_refresh("nope", secs(1)).is_err());
        sim.create_group("web", GroupConfig::default());
        sim.seed_running_refresh("web", secs(1)).expect("first");
        assert!(sim.seed_running_refresh("web", secs(1)).is_err());
    });
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sim = AutoScalingSim::start().await.expect("sim");
    let addr = sim.local_addr();
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let sim = AutoScalingSim::start().await.expect("sim");
    let addr = sim.local_addr();
    sim.create_group("web", GroupConfig::default());
    let c = client(&sim);
    start(&c).await;
    drop(sim);
    tokio::task::yield_now().await;
    let e = c
        .describe_instance_refreshes()
        .auto_scaling_group_name("web")
        .send()
        .await
        .expect_err("server gone");
    assert!(e.as_service_error().is_none(), "{e:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn refresh_ids_are_uuid_shaped_and_seeded() {
    async fn first_ids(seed: u64) -> Vec<String> {
        let sim = AutoScalingSim::builder()
            .seed(seed)
            .start()
            .await
            .expect("sim");
        sim.create_group(
            "web",
            GroupConfig::default()
                .pending_duration(secs(0))
                .refresh_duration(secs(1)),
        );
        let c = client(&sim);
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(start(&c).await);
            sleep(secs(2)).await;
        }
        ids
    }
    let a = first_ids(1).await;
    assert_eq!(a, first_ids(1).await);
    assert_ne!(a, first_ids(2).await);
    for id in &a {
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(id.as_bytes()[14], b'4', "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
