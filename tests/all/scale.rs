//! Scale, CI-sized: 250 wrapped calls all waiting at once on paused time, on both paths, every
//! one completing (the SDK in a debug build takes some 3 ms per attempt, so 250 calls keep each
//! test near a second); the heap they hold while waiting stays within the targets of
//! `benches/scale.rs` (which runs 1k to 100k calls and prints the table).

use instance_refresh_retry::future::ResponseFuture;
use instance_refresh_retry::{StartInstanceRefreshFuture, StartInstanceRefreshService};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;

// The bench's harness, as is. Its allocator counts per thread, so tests running beside this one
// on other threads do not show up in its numbers.
#[allow(dead_code)] // the bench prints fields that the test does not read
#[path = "../../benches/scale/measure.rs"]
mod measure;

use measure::{CountingAlloc, Measured, Path, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const CALLS: usize = 250;

/// `CALLS` calls on `path`, checked (all waiting at once, each refused once, all `Ok`).
fn run(path: Path) -> Measured {
    let measured = measure(path, CALLS);
    measured.check();
    measured
}

#[test]
fn many_tower_calls_wait_at_once_within_2_kib_each() {
    let floor = run(Path::Floor);
    let tower = run(Path::Tower);
    assert_eq!(
        tower.future_size,
        size_of::<
            ResponseFuture<
                StartInstanceRefreshService,
                StartInstanceRefreshInput,
                StartInstanceRefreshFuture,
            >,
        >()
    );
    // Everything a waiting call holds, its task and the runtime's share included.
    assert!(
        tower.bytes_per_call() <= 2048.0,
        "tower: {:.0} B per waiting call",
        tower.bytes_per_call()
    );
    assert!(tower.bytes_per_call() > floor.bytes_per_call());
}

#[test]
fn many_sdk_calls_wait_at_once_and_ours_adds_at_most_1_6_kib_each() {
    let with = run(Path::SdkInterceptor);
    let plain = run(Path::SdkPlain);
    assert_eq!(
        with.future_size, plain.future_size,
        "the same send() future"
    );
    // The target is plain + 10%, about 1,518 B here; the interceptor holds 1,504 B more
    // (about 40 B more with `--all-features`, whose `backoff` feature makes the schedule larger). 1,040 of
    // them are the call's ConfigBag table doubling from 16 to 32 slots: the SDK fills 13 of its
    // 14, the call's state takes the 14th, and the next `store_put` (the override for the wait,
    // even one that replaces a value) grows a full table (docs/performance.md, "Scale"). This bounds
    // what is there now, so that any growth shows.
    let extra = with.bytes_per_call() - plain.bytes_per_call();
    assert!(
        (0.0..=1600.0).contains(&extra),
        "the interceptor adds {extra:.0} B per waiting call"
    );
}
