//! A seeded comparison on the simulator's varied family, on paused tokio time: our status-aware
//! Refresher and our exponential interceptor against the peers (the SDK's standard retry,
//! amazon.aws, Terraform, backon), over blockers with 1 to 120 minutes left, some of which end
//! early (see `tests/common/wait.rs`).
//!
//! CI runs `WAIT_RUNS` (default 100) blockers and checks bounds a small margin above what they
//! measure. The full table, with the per-slice table and the frontier chart, comes from the
//! bench:
//!
//! ```sh
//! cargo bench --features sim --bench wait
//! ```

use crate::support::secs;
use crate::wait::{Strategy, blockers, compare, env_or, rows, slice_table, table};

#[tokio::test(start_paused = true)]
async fn wait_comparison_status_aware_against_the_peers() {
    let runs = env_or("WAIT_RUNS", 100);
    let seed = env_or("WAIT_SEED", 2026);
    let blockers = blockers(runs, seed);
    let results = compare(&blockers, &Strategy::ALL, seed).await;
    let summaries: Vec<_> = results.iter().map(|(s, o)| (*s, rows(o))).collect();
    println!("{}", table(&blockers, seed, &summaries));
    let row = |s: Strategy| summaries.iter().find(|(r, _)| *r == s).unwrap().1;
    let aware_outcomes = &results
        .iter()
        .find(|(s, _)| *s == Strategy::StatusAware)
        .unwrap()
        .1;
    println!("{}", slice_table(&blockers, aware_outcomes));

    // Ours outlast every blocker, and destroy nothing.
    for s in [Strategy::Exponential, Strategy::StatusAware] {
        let m = row(s).all;
        assert_eq!(m.started, m.runs, "{s:?} outlasts every blocker");
        assert_eq!(m.destroyed, 0, "{s:?} destroys nothing");
    }
    // What these 100 blockers measure, with a small margin: natural ends p95 7.9 s and p99
    // 8.7 s, early ends p95 163.5 s (2nd latest of 15: 118.1 to 163.5 s over 2026-12-08's
    // changes), 52.9 calls per hour waited (the targets:
    // natural p95 <= 10 s and p99 <= 30 s, early p95 <= 5 min, <= 30 calls per hour;
    // docs/performance.md says which are met on the 1,000-blocker bench, and why not). Before the
    // estimate's fixes of 2026-12-08 (issue 19's notes): 7.8 s, 13.2 s, 118.1 s, 61.6 calls/h.
    let aware = row(Strategy::StatusAware);
    assert_eq!(aware.natural.started, aware.natural.runs);
    assert_eq!(aware.early.started, aware.early.runs);
    assert!(aware.early.runs > 0, "the family has early ends");
    assert!(
        aware.natural.p95.unwrap() <= secs(10),
        "natural-end p95 {:?}",
        aware.natural.p95
    );
    assert!(
        aware.natural.p99.unwrap() <= secs(12),
        "natural-end p99 {:?}",
        aware.natural.p99
    );
    assert!(
        aware.early.p95.unwrap() <= secs(180),
        "early-end p95 {:?}",
        aware.early.p95
    );
    assert!(
        aware.all.calls_per_hour <= 55.0,
        "{:.1} calls per hour",
        aware.all.calls_per_hour
    );
    // Against plain exponential backoff on the same blockers: sooner, with fewer calls.
    let plain = row(Strategy::Exponential);
    assert!(aware.natural.p95 < plain.natural.p95);
    assert!(aware.all.calls_per_hour < plain.all.calls_per_hour);
    // Terraform starts (nearly) every time, by cancelling every blocker still running when it
    // comes (one that ends early while Terraform cancels it can leave it refused for good: 3 of
    // these 100).
    let terraform = row(Strategy::Terraform).all;
    assert!(terraform.started + 3 >= terraform.runs, "{terraform:?}");
    assert!(terraform.destroyed > terraform.runs / 2);
    // The peers that keep their own limits give up on blockers of minutes: the SDK's standard
    // retry waits at most 3 s in all (1 s then 2 s caps), backon at most 14 s; amazon.aws at
    // most 393 s, which outlasts a few.
    assert_eq!(row(Strategy::SdkStandard).all.started, 0);
    assert_eq!(row(Strategy::Backon).all.started, 0);
    assert!(row(Strategy::Ansible).all.started < row(Strategy::Ansible).all.runs);
}
