//! The tests count exact virtual time over real loopback sockets. That holds only if tokio's
//! paused clock never advances while a request is in flight; these tests would catch it if it
//! did.
//!
//! Why it holds (tokio 1.54, `runtime/time/mod.rs`, `park_thread_timeout`): with the clock
//! paused, a runtime with no task ready polls its I/O driver once *without blocking* and advances
//! the clock to the next timer only if that poll woke no task (every wake, local ones included,
//! goes through `unpark_self` and sets the driver's `did_wake`; `scheduler/current_thread`'s
//! `schedule`). So pending I/O does not hold the clock (the second test shows it jump), but
//! *ready* I/O does. Over loopback, a write is in the peer's socket buffer when the `write`
//! returns, and here both ends run on the same current-thread runtime, so whenever it goes idle
//! with a request in flight, that non-blocking poll finds the event ready and wakes the task that
//! reads it: the clock stays put. A peer in another thread or process, which may not have
//! answered yet when the runtime looks, would let time jump.

use std::time::Duration;

use instance_refresh_retry::sim::GroupConfig;
use tokio::time::{Instant, sleep, timeout};

use super::{client, post_form, sim_with_web};
use crate::support::secs;

const ROUNDS: usize = 300;

#[tokio::test(start_paused = true)]
async fn the_paused_clock_stands_still_while_requests_are_in_flight() {
    let sim = sim_with_web(GroupConfig::default()).await;
    let c = client(&sim);
    // Timers the runtime could jump to: one in a task of its own, one around each request.
    let alarm = tokio::spawn(sleep(secs(3600)));
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    for round in 0..ROUNDS {
        let before = Instant::now();
        let described = timeout(
            secs(60),
            c.describe_instance_refreshes()
                .auto_scaling_group_name("web")
                .send(),
        )
        .await;
        assert!(
            matches!(described, Ok(Ok(_))),
            "round {round}: {described:?}"
        );
        assert_eq!(before.elapsed(), Duration::ZERO, "round {round}");
        // Raw HTTP too: a fresh connection each time, the server's task woken by I/O alone.
        let raw = timeout(
            secs(60),
            post_form(
                sim.local_addr(),
                "Action=DescribeInstanceRefreshes&Version=2011-01-01&AutoScalingGroupName=web",
            ),
        )
        .await
        .expect("no timeout");
        assert_eq!(raw.status, 200, "round {round}");
        assert_eq!(before.elapsed(), Duration::ZERO, "round {round}");
    }
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(!alarm.is_finished());
    let calls = sim.calls();
    assert_eq!(calls.len(), 2 * ROUNDS);
    assert!(calls.iter().all(|c| c.at == calls[0].at), "{calls:?}");

    // The same check does see time move: a sleep is exact.
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(t0.elapsed(), Duration::from_millis(1500));
}

/// The other half of the argument, and proof that the check above can fail: I/O that is merely
/// pending does not hold the paused clock. A peer that accepts (in the kernel's backlog) but never
/// answers lets the runtime go idle, and the clock jumps straight to the timeout.
#[tokio::test(start_paused = true)]
async fn pending_io_alone_does_not_hold_the_paused_clock() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut stream = tokio::net::TcpStream::connect(silent.local_addr().expect("addr"))
        .await
        .expect("connect");
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("write");
    let t0 = Instant::now();
    let mut buf = [0; 1];
    let read = timeout(secs(60), stream.read(&mut buf)).await;
    assert!(read.is_err(), "{read:?}");
    assert_eq!(t0.elapsed(), secs(60));
}
