//! A seeded comparison on the simulator, on paused tokio time: our status-aware Refresher and our
//! exponential interceptor against the peers (the SDK's standard retry, amazon.aws, Terraform,
//! backon), over blockers with 1 to 120 minutes left (see `tests/common/wait.rs`).
//!
//! CI runs `WAIT_RUNS` (default 100) blockers and checks the milestone. The full table, with the
//! chart, comes from the bench:
//!
//! ```sh
//! cargo bench --features sim --bench wait
//! ```

use crate::support::secs;
use crate::wait::{Strategy, blockers, compare, env_or, summarize, table};

#[tokio::test(start_paused = true)]
async fn wait_comparison_status_aware_against_the_peers() {
    let runs = env_or("WAIT_RUNS", 100);
    let seed = env_or("WAIT_SEED", 2026);
    let blockers = blockers(runs, seed);
    let rows: Vec<_> = compare(&blockers, &Strategy::ALL, seed)
        .await
        .into_iter()
        .map(|(strategy, outcomes)| (strategy, summarize(&outcomes)))
        .collect();
    println!("{}", table(blockers.len(), seed, &rows));
    let row = |s: Strategy| rows.iter().find(|(r, _)| *r == s).unwrap().1;

    // Ours outlast every blocker.
    for s in [Strategy::Exponential, Strategy::StatusAware] {
        let m = row(s);
        assert_eq!(m.started, m.runs, "{s:?} outlasts every blocker");
        assert_eq!(m.destroyed, 0, "{s:?} destroys nothing");
    }
    // The level these 100 blockers reach with the batch grid (p95 9.2 s at 37.9 calls per
    // hour), with a small margin: p95 <= 12 s at <= 42 calls per hour. (The milestone was 30 s
    // at 60; the target, 10 s at 30, is met for the latency only.)
    let aware = row(Strategy::StatusAware);
    assert!(aware.p95.unwrap() <= secs(12), "p95 {:?}", aware.p95);
    assert!(
        aware.calls_per_hour <= 42.0,
        "{:.1} calls per hour",
        aware.calls_per_hour
    );
    // Terraform starts every time, by cancelling every blocker.
    let terraform = row(Strategy::Terraform);
    assert_eq!(
        (terraform.started, terraform.destroyed),
        (terraform.runs, terraform.runs)
    );
    // The peers that keep their own limits give up on blockers of minutes: the SDK's standard
    // retry waits at most 3 s in all (1 s then 2 s caps), backon at most 14 s, amazon.aws at
    // most 393 s; none lasts the shortest blocker here (60 s) except amazon.aws, sometimes.
    assert_eq!(row(Strategy::SdkStandard).started, 0);
    assert_eq!(row(Strategy::Backon).started, 0);
    assert!(row(Strategy::Ansible).started < row(Strategy::Ansible).runs);
}
