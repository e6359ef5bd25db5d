//! A seeded comparison on the simulator, on paused tokio time: status-aware waiting against the
//! plain exponential schedule, over blockers with 1 to 120 minutes left (batches of instances
//! with warmup, checkpoints and bake times). It reports the start latency after the blocker ends
//! (p50/p95/p99) and the calls per hour of waiting (StartInstanceRefresh plus describes).
//!
//! CI runs `WAIT_RUNS` (default 100) blockers and checks the milestone. The full table:
//!
//! ```sh
//! WAIT_RUNS=1000 cargo test --release --all-features --test all wait_comparison -- --nocapture
//! ```

use std::time::Duration;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::RefreshPreferences;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{Jitter, Refresher, RetryPolicy};
use tokio::time::Instant;

use crate::support::{TokioTime, secs, sim_with_clock, start_refresh};

/// One seeded blocker: its group, its request's preferences, and how much of it is left when we
/// come.
#[derive(Debug, Clone)]
struct Blocker {
    config: GroupConfig,
    preferences: RefreshPreferences,
    remaining: Duration,
}

/// Refreshes shaped like real ones: 2 to 20 instances replaced in batches (a launch minute plus
/// a warmup of 30 s to 5 min each, the batch size from `MinHealthyPercentage`), often with
/// checkpoints (5 to 30 min each), often with a bake time (1 to 30 min); and 1 to 120 minutes of
/// it left when we come.
fn blocker(rng: &mut fastrand::Rng) -> Blocker {
    let mut preferences = RefreshPreferences::builder()
        .instance_warmup(rng.i32(30..=300))
        .min_healthy_percentage(*rng.choice(&[50, 66, 80, 90, 90, 90]).unwrap());
    if rng.u8(0..10) < 3 {
        // A full refresh: the last checkpoint is 100.
        let checkpoints: &[i32] = rng
            .choice([&[50, 100][..], &[25, 50, 75, 100][..], &[33, 66, 100][..]])
            .unwrap();
        for c in checkpoints {
            preferences = preferences.checkpoint_percentages(*c);
        }
        preferences = preferences.checkpoint_delay(rng.i32(5..=30) * 60);
    }
    if rng.u8(0..10) < 4 {
        preferences = preferences.bake_time(rng.i32(1..=30) * 60);
    }
    let config = GroupConfig::default()
        .instances(rng.u32(2..=20))
        .pending_duration(Duration::from_secs(rng.u64(10..=60)));
    Blocker {
        config,
        preferences: preferences.build(),
        remaining: Duration::from_secs(rng.u64(60..=120 * 60)),
    }
}

/// What one strategy did against one blocker.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// From the blocker's end to our successful start; `None` if we never started.
    latency: Option<Duration>,
    calls: u32,
    waited: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    StatusAware,
    Plain,
}

fn policy(strategy: Strategy) -> RetryPolicy {
    match strategy {
        // The Refresher's default, with the 3 h budget that outlasts every blocker here.
        Strategy::StatusAware => Refresher::default_policy()
            .to_builder()
            .max_elapsed(secs(3 * 3600))
            .build()
            .unwrap(),
        // The crate's default blind schedule (5 s, ×2, 2 min cap, full jitter), 3 h.
        Strategy::Plain => RetryPolicy::builder()
            .max_elapsed(secs(3 * 3600))
            .jitter(Jitter::Full)
            .build()
            .unwrap(),
    }
}

/// A simulator with a clock that agrees with it, and `blocker`'s refresh just started.
async fn sim_with_blocker(blocker: &Blocker, seed: u64) -> (AutoScalingSim, TokioTime) {
    let (sim, clock) = sim_with_clock(seed).await;
    sim.create_group("web", blocker.config.clone());
    let preferences = blocker.preferences.clone();
    start_refresh(&sim.client(), "web", None, Some(preferences)).await;
    (sim, clock)
}

/// How long the blocker's refresh takes from start to end, measured on a simulator of its own.
async fn total(blocker: &Blocker) -> Duration {
    let (sim, _) = sim_with_blocker(blocker, 0).await;
    tokio::time::sleep(secs(48 * 3600)).await;
    let r = &sim.refreshes("web").unwrap()[0];
    let total = r.end_time.unwrap().duration_since(r.start_time).unwrap();
    sim.shutdown().await;
    total
}

async fn run(blocker: &Blocker, total: Duration, strategy: Strategy, seed: u64) -> Outcome {
    let (sim, clock) = sim_with_blocker(blocker, seed).await;
    let remaining = blocker.remaining.min(total);
    tokio::time::sleep(total - remaining).await;
    let came = Instant::now();
    let before = sim.calls().len();
    let refresher = Refresher::new(sim.client(), policy(strategy))
        .status_aware(strategy == Strategy::StatusAware)
        .fail_fast(false)
        .time_source(clock);
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()
        .unwrap();
    let started = refresher.start(input).await;
    let calls = u32::try_from(sim.calls().len() - before).unwrap_or(u32::MAX);
    let latency = started.ok().map(|_| {
        let ended = came + remaining;
        Instant::now().saturating_duration_since(ended)
    });
    sim.shutdown().await;
    Outcome {
        latency,
        calls,
        waited: Instant::now() - came,
    }
}

struct Summary {
    started: usize,
    runs: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    calls_per_hour: f64,
}

fn summarize(outcomes: &[Outcome]) -> Summary {
    let mut latencies: Vec<Duration> = outcomes.iter().filter_map(|o| o.latency).collect();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(Duration::MAX)
    };
    let calls: u32 = outcomes.iter().map(|o| o.calls).sum();
    let hours: f64 = outcomes.iter().map(|o| o.waited.as_secs_f64()).sum::<f64>() / 3600.0;
    Summary {
        started: latencies.len(),
        runs: outcomes.len(),
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
        calls_per_hour: f64::from(calls) / hours.max(f64::EPSILON),
    }
}

#[tokio::test(start_paused = true)]
async fn wait_comparison_status_aware_against_plain_exponential() {
    let runs: u64 = std::env::var("WAIT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed: u64 = std::env::var("WAIT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    let mut rng = fastrand::Rng::with_seed(seed);
    let blockers: Vec<Blocker> = (0..runs).map(|_| blocker(&mut rng)).collect();
    let mut totals = Vec::new();
    for b in &blockers {
        totals.push(total(b).await);
    }
    let mut table = Vec::new();
    for strategy in [Strategy::StatusAware, Strategy::Plain] {
        let mut outcomes = Vec::new();
        for (i, (b, total)) in blockers.iter().zip(&totals).enumerate() {
            outcomes.push(run(b, *total, strategy, seed ^ i as u64).await);
        }
        // WAIT_DEBUG=1 shows the three runs that made the most calls.
        if std::env::var("WAIT_DEBUG").is_ok() {
            let mut worst: Vec<_> = outcomes.iter().zip(&blockers).collect();
            worst.sort_by_key(|(o, _)| std::cmp::Reverse(o.latency));
            for (o, b) in worst.iter().take(3) {
                println!("{strategy:?} {o:?} {b:?}");
            }
        }
        table.push((strategy, summarize(&outcomes)));
    }
    println!(
        "{runs} blockers (seed {seed}), 1 to 120 min left, in batches, with checkpoints and bake times; 3 h budget"
    );
    println!(
        "| strategy | started | p50 / p95 / p99 start latency after the blocker ends | calls per hour |"
    );
    println!("|---|---|---|---|");
    for (strategy, s) in &table {
        println!(
            "| {strategy:?} | {}/{} | {:.0} s / {:.0} s / {:.0} s | {:.1} |",
            s.started,
            s.runs,
            s.p50.as_secs_f64(),
            s.p95.as_secs_f64(),
            s.p99.as_secs_f64(),
            s.calls_per_hour
        );
    }
    let aware = &table[0].1;
    assert_eq!(
        aware.started, aware.runs,
        "status-aware waiting outlasts every blocker"
    );
    // The milestone: p95 <= 30 s at <= 60 calls per hour.
    assert!(aware.p95 <= secs(30), "p95 {:?}", aware.p95);
    assert!(
        aware.calls_per_hour <= 60.0,
        "{:.1} calls per hour",
        aware.calls_per_hour
    );
}
