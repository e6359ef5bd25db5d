//! Cancellation: a call dropped while it waits sends nothing more and leaves no task behind, on
//! the SDK interceptor path, the tower path and the Refresher (start and wait_for_completion).
//!
//! Each test seeds a long refresh, runs the call until it is waiting, drops it (and the client
//! with it), lets hours of paused time pass, and checks the simulator's call log and the
//! runtime's count of alive tasks against what they were before the call.

use std::future::Future;
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryLayer, Refresher, StartInstanceRefreshService,
};
use tower::{ServiceBuilder, ServiceExt};

use crate::support::{TokioTime, e2e_policy, secs, send_start, sim_with_clock};

const GROUP: &str = "web";

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// A simulator whose group has someone else's refresh running, 30 min to go; and its clock.
async fn blocked_group() -> (AutoScalingSim, TokioTime, String) {
    let (sim, clock) = sim_with_clock(5).await;
    sim.create_group(GROUP, GroupConfig::default());
    let blocker = sim.seed_running_refresh(GROUP, secs(1800)).unwrap();
    (sim, clock, blocker)
}

fn input() -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(GROUP)
        .build()
        .unwrap()
}

/// Runs `call` (which owns its client) for `run_for`, by when it must be waiting, and drops it.
/// Then lets 6 h pass. Returns the calls the simulator received; asserts that none came after
/// the drop and that as many tasks are alive as before the call.
async fn drop_while_waiting<F: Future>(
    sim: &AutoScalingSim,
    run_for: Duration,
    call: F,
) -> Vec<Call> {
    let before = alive_tasks();
    let still_waiting = tokio::time::timeout(run_for, call).await.is_err();
    assert!(still_waiting, "the call ended before it was dropped");
    let at_drop = sim.calls().len();

    tokio::time::sleep(secs(6 * 3600)).await;

    let calls = sim.calls();
    assert_eq!(calls.len(), at_drop, "requests after the drop: {calls:#?}");
    assert_eq!(alive_tasks(), before, "tasks left behind");
    calls
        .iter()
        .map(|c| {
            let op = c.operation.clone().unwrap_or_default();
            (op, c.at.as_secs(), c.error_code().map(str::to_owned))
        })
        .collect()
}

/// A request the simulator received: operation, seconds since it started, error code.
type Call = (String, u64, Option<String>);

/// A `StartInstanceRefresh` blocked `at` seconds.
fn blocked_start(at: u64) -> Call {
    let code = Some("InstanceRefreshInProgress".to_owned());
    ("StartInstanceRefresh".to_owned(), at, code)
}

/// A `DescribeInstanceRefreshes` answered `at` seconds.
fn describe(at: u64) -> Call {
    ("DescribeInstanceRefreshes".to_owned(), at, None)
}

#[tokio::test(start_paused = true)]
async fn sdk_path_dropped_mid_wait() {
    let (sim, clock, _) = blocked_group().await;
    let config = sim
        .sdk_config_builder()
        .time_source(clock)
        .instance_refresh_retry(e2e_policy());
    let call = async move {
        let client = Client::from_conf(config.build());
        send_start(&client, GROUP).await
    };

    // Blocked at 0 s and 10 s; dropped in the 20 s wait before the third attempt.
    let calls = drop_while_waiting(&sim, secs(15), call).await;

    assert_eq!(calls, [blocked_start(0), blocked_start(10)]);
}

#[tokio::test(start_paused = true)]
async fn tower_path_dropped_mid_wait() {
    let (sim, _, _) = blocked_group().await;
    let config = sim.sdk_config_builder();
    let call = async move {
        let svc = ServiceBuilder::new()
            .layer(InstanceRefreshRetryLayer::new(e2e_policy()))
            .service(StartInstanceRefreshService::new(Client::from_conf(
                config.build(),
            )));
        svc.oneshot(input()).await
    };

    let calls = drop_while_waiting(&sim, secs(15), call).await;

    assert_eq!(calls, [blocked_start(0), blocked_start(10)]);
}

/// A Refresher on the simulator's clock, over a client with the SDK's own retry off.
fn refresher(sim: &AutoScalingSim, clock: TokioTime) -> Refresher {
    Refresher::new(sim.client(), e2e_policy()).time_source(clock)
}

#[tokio::test(start_paused = true)]
async fn refresher_start_dropped_mid_wait() {
    let (sim, clock, _) = blocked_group().await;
    let refresher = refresher(&sim, clock);
    let call = async move { refresher.start(input()).await };

    // Blocked at 0 s, the blocker described (and its scaling activities read); the next check
    // is at least SHORT_LOOK (10 s) away.
    let calls = drop_while_waiting(&sim, secs(5), call).await;

    assert_eq!(calls[..2], [blocked_start(0), describe(0)]);
    assert!(calls.iter().all(|c| c.1 == 0), "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn refresher_wait_for_completion_dropped_mid_wait() {
    let (sim, clock, blocker) = blocked_group().await;
    let refresher = refresher(&sim, clock);
    let call = async move {
        let max_wait = secs(4 * 3600);
        refresher
            .wait_for_completion(GROUP, &blocker, max_wait)
            .await
    };

    // The refresh described at 0 s (and its scaling activities read); the next check is at
    // least 10 s away.
    let calls = drop_while_waiting(&sim, secs(5), call).await;

    assert_eq!(calls[..1], [describe(0)]);
    assert!(calls.iter().all(|c| c.1 == 0), "{calls:?}");
}
