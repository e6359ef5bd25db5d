//! The Refresher's waiting, property by property, over blockers of the simulator's varied
//! family (the guesses no public source settles drawn per refresh, `tests/common/wait.rs`), on
//! paused time:
//!
//! - it never sleeps longer than `max_check_interval` while the blocker is active;
//! - it never sleeps past the end it reports as the earliest plausible (its window's opening);
//! - what it reports as certain to remain is: the earliest end it reports never comes after
//!   the blocker's natural end.
//!
//! Plus the cases where the end is known to a check: a pause its preferences explain, a bake.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{InstanceRefreshStatus, RefreshPreferences};
use aws_smithy_async::time::TimeSource as _;
use instance_refresh_retry::sim::{EarlyEnd, EarlyEndKind, GroupConfig, RefreshStatus, Unknowns};
use instance_refresh_retry::{Progress, Refresher};
use tokio::time::{Instant, sleep};

use crate::support::{TokioTime, named_template_version, secs, sim_with, start_refresh};
use crate::wait::{BUDGET, blockers, env_or, sim_with_blocker, total};

fn input() -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap()
}

/// A report, and when it was made.
type Report = (SystemTime, Progress);

fn collect(clock: TokioTime) -> (Arc<Mutex<Vec<Report>>>, impl Fn(&Progress) + Send + Sync) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    (reports, move |p: &Progress| {
        sink.lock().unwrap().push((clock.now(), p.clone()))
    })
}

#[tokio::test(start_paused = true)]
async fn over_the_family_no_long_sleep_none_past_the_window_and_certain_is_certain() {
    let runs = env_or("FAMILY_RUNS", 40);
    let seed = env_or("FAMILY_SEED", 7);
    let cap = secs(300);
    for (i, blocker) in blockers(runs, seed).iter().enumerate() {
        let seed = seed ^ i as u64;
        let total = total(blocker, seed).await;
        let remaining = blocker.remaining.min(total);
        let arrival = total - remaining;
        let early = blocker
            .early
            .map(|(kind, share)| EarlyEnd::new(kind, arrival + remaining.mul_f64(share)));
        let (sim, clock, id) = sim_with_blocker(blocker, seed, early).await;
        sleep(arrival).await;
        let before = sim.calls().len();
        let (reports, sink) = collect(clock);
        let policy = Refresher::default_policy()
            .to_builder()
            .max_elapsed(BUDGET)
            .seed(seed)
            .build()
            .unwrap();
        let started = Refresher::new(sim.client(), policy)
            .fail_fast(false)
            .time_source(clock)
            .on_progress(sink)
            .start(input())
            .await;
        assert!(started.is_ok(), "#{i}: {started:?}");
        let theirs = sim
            .refreshes("web")
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap();
        let end = theirs.end_time.expect("it ended");
        let end_at = sim.elapsed()
            - Duration::from_secs_f64(
                clock
                    .now()
                    .duration_since(end)
                    .unwrap_or_default()
                    .as_secs_f64(),
            );

        // Never longer than max_check_interval between two looks while it was active.
        let calls = sim.calls();
        let ours = &calls[before..];
        for pair in ours.windows(2) {
            if pair[0].at < end_at {
                let gap = pair[1].at - pair[0].at;
                assert!(
                    gap <= cap,
                    "#{i}: {gap:?} between two looks at {:?}",
                    pair[0].at
                );
            }
        }
        for (now, p) in reports.lock().unwrap().iter() {
            // Never past the window's opening (by more than the closest two checks come, 2 s:
            // the wire's times are whole seconds).
            if let Some((opens, _)) = p.end_window
                && *now + secs(2) < opens
            {
                let wakes = *now + p.next_check;
                assert!(
                    wakes <= opens + secs(2),
                    "#{i}: at {now:?} slept {:?} past the window opening at {opens:?}: {p:?} {blocker:?}",
                    p.next_check
                );
            }
            // What is certain to remain does remain (on its own: early ends aside).
            if theirs.status == RefreshStatus::Successful
                && let Some(earliest) = p.earliest_end
            {
                assert!(
                    earliest <= end + secs(1),
                    "#{i}: certain to end after {earliest:?}, ended {end:?} ({p:?})"
                );
            }
        }
        sim.shutdown().await;
    }
}

/// A group of 4 whose refresh pauses 40 min at 50 % (no `StatusReason` in the pause: no
/// public source gives one), and a Refresher that comes during the pause: it neither calls it
/// stalled nor gives up (`WontEndInTime`), and starts within one check of the end.
#[tokio::test(start_paused = true)]
async fn a_long_checkpoint_pause_without_a_reason_is_waited_out_and_followed_closely() {
    let base = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
    let (sim, clock) = sim_with(1, TokioTime::starting_at(base)).await;
    let unknowns = Unknowns::default().with_launch(secs(60), 0.0);
    sim.create_group(
        "web",
        GroupConfig::default().instances(4).unknowns(unknowns),
    );
    let preferences = RefreshPreferences::builder()
        .min_healthy_percentage(50)
        .instance_warmup(60)
        .checkpoint_percentages(50)
        .checkpoint_percentages(100)
        .checkpoint_delay(2400)
        .build();
    let id = start_refresh(&sim.client(), "web", None, Some(preferences)).await;
    // Pending 5 s, the first batch (2 instances) 120 s, then the pause.
    sleep(secs(600)).await;
    assert_eq!(sim.refreshes("web").unwrap()[0].checkpoint, Some(50));
    let (reports, sink) = collect(clock);

    let started = Refresher::new(sim.client(), Refresher::default_policy())
        .time_source(clock)
        .on_progress(sink)
        .start(input())
        .await;

    let started = started.expect("no WontEndInTime: the pause is 40 min of a 6 h budget");
    let theirs = &sim.refreshes("web").unwrap()[1];
    assert_eq!(
        (theirs.id.as_str(), theirs.status),
        (id.as_str(), RefreshStatus::Successful)
    );
    let latency = clock
        .now()
        .duration_since(theirs.end_time.unwrap())
        .unwrap();
    assert!(latency <= secs(8), "started {latency:?} after the end");
    let reports = reports.lock().unwrap();
    assert!(reports.iter().all(|(_, p)| !p.stalled), "{reports:?}");
    // No text in the pause; only the documented warmup sentence while the next batch warms.
    assert!(reports.iter().all(|(_, p)| {
        p.status_reason
            .as_deref()
            .is_none_or(|r| r.starts_with("Waiting for instances to warm up before continuing."))
    }));
    assert!(started.stats().waited > secs(1800));
}

/// Another actor cancels the blocker mid-wait (at once, without waiting for the instances in
/// flight): the Refresher starts within `max_check_interval`, whatever it estimated.
#[tokio::test(start_paused = true)]
async fn a_blocker_cancelled_by_another_actor_is_followed_within_max_check_interval() {
    for (interval, wait_for_instances) in [(300, false), (60, false), (60, true)] {
        let base = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
        let (sim, clock) = sim_with(2, TokioTime::starting_at(base)).await;
        // Ten instances one at a time, each 2 min and a 5 min warmup: over an hour. Someone
        // cancels it 40 min in.
        let unknowns = Unknowns::default()
            .with_launch(secs(120), 0.0)
            .with_early_end(EarlyEnd::new(
                EarlyEndKind::Cancelled {
                    wait_for_transitioning_instances: wait_for_instances,
                },
                secs(2400),
            ));
        sim.create_group(
            "web",
            GroupConfig::default().instances(10).unknowns(unknowns),
        );
        let preferences = RefreshPreferences::builder().instance_warmup(300).build();
        let desired = named_template_version("web", "2");
        start_refresh(&sim.client(), "web", Some(desired), Some(preferences)).await;
        sleep(secs(600)).await;
        let t0 = Instant::now();

        Refresher::new(sim.client(), Refresher::default_policy())
            .max_check_interval(secs(interval))
            .time_source(clock)
            .start(input())
            .await
            .unwrap();

        let theirs = &sim.refreshes("web").unwrap()[1];
        assert_eq!(theirs.status, RefreshStatus::Cancelled);
        let latency = clock
            .now()
            .duration_since(theirs.end_time.unwrap())
            .unwrap();
        assert!(
            latency <= secs(interval),
            "{interval} s: started {latency:?} after the cancel"
        );
        // It waited out the cancel, not the whole refresh.
        assert!(t0.elapsed() < secs(3000), "{:?}", t0.elapsed());
    }
}

/// A blocker seen working, then baking: the bake's start is bracketed by the checks (or placed
/// by the scaling activities), and the start comes within one check of the bake's end.
#[tokio::test(start_paused = true)]
async fn a_bake_is_followed_within_one_check() {
    for activities in [true, false] {
        let base = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
        let (sim, clock) = sim_with(3, TokioTime::starting_at(base)).await;
        let mut unknowns = Unknowns::default().with_launch(secs(90), 0.2);
        if !activities {
            unknowns =
                unknowns.with_activities(instance_refresh_retry::sim::ActivityAccess::AccessDenied);
        }
        sim.create_group(
            "web",
            GroupConfig::default().instances(6).unknowns(unknowns),
        );
        let preferences = RefreshPreferences::builder()
            .instance_warmup(120)
            .bake_time(900)
            .build();
        start_refresh(&sim.client(), "web", None, Some(preferences)).await;
        sleep(secs(60)).await;
        let (reports, sink) = collect(clock);

        Refresher::new(sim.client(), Refresher::default_policy())
            .time_source(clock)
            .on_progress(sink)
            .start(input())
            .await
            .unwrap();

        let theirs = &sim.refreshes("web").unwrap()[1];
        assert_eq!(theirs.status, RefreshStatus::Successful);
        let latency = clock
            .now()
            .duration_since(theirs.end_time.unwrap())
            .unwrap();
        assert!(
            latency <= secs(9),
            "{activities}: started {latency:?} after the end"
        );
        let reports = reports.lock().unwrap();
        assert!(
            reports
                .iter()
                .any(|(_, p)| p.status == Some(InstanceRefreshStatus::Baking)),
            "{activities}: {reports:?}"
        );
    }
}
