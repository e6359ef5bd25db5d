//! Wait efficiency against the peers, on the simulator's virtual time, over its varied family:
//! every strategy of `tests/common/wait.rs` (the peers, ours, and the frontier's points: the
//! status-aware Refresher at several `max_check_interval`s, plain exponential backoff, fixed
//! pollers) over the same seeded blockers (`WAIT_RUNS`, default 1,000; `WAIT_SEED`, default
//! 2026; `WAIT_ONLY`, a strategy's name such as `StatusAware`, or the start of names followed
//! by `*`, to run only those, writing nothing) on one paused current-thread runtime. Prints the
//! table (overall, natural-end and early-end latencies), the status-aware Refresher's rows and
//! its per-slice table (each unknown of the family separately); writes them to `docs/wait.md`,
//! and draws `docs/wait-frontier.svg` (p95 latency after natural and early ends against calls
//! per hour).
//!
//! ```sh
//! cargo bench --features sim --bench wait
//! ```

use std::path::Path;
use std::time::Instant;

#[path = "report/mod.rs"]
mod report;
#[path = "../tests/all/support.rs"]
#[allow(dead_code, unused_imports, unreachable_pub)]
mod support;
#[path = "../tests/common/wait.rs"]
mod wait;

use wait::{Strategy, blockers, compare, env_or, rows, slice_table, table, worst_slice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that short.
    let testing =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let runs = env_or("WAIT_RUNS", if testing { 5 } else { 1000 });
    let seed = env_or("WAIT_SEED", 2026);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let wall = Instant::now();
    let blockers = blockers(runs, seed);
    // `WAIT_ONLY=StatusAware` runs that strategy, `WAIT_ONLY=Fixed*` those whose name starts
    // with `Fixed` (and writes nothing).
    let only = std::env::var("WAIT_ONLY").ok();
    let strategies: Vec<Strategy> = Strategy::ALL
        .into_iter()
        .chain(Strategy::FRONTIER)
        .filter(|s| {
            only.as_ref().is_none_or(|o| {
                let name = format!("{s:?}");
                match o.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *o,
                }
            })
        })
        .collect();
    let results = runtime.block_on(compare(&blockers, &strategies, seed));
    let summaries: Vec<_> = results.iter().map(|(s, o)| (*s, rows(o))).collect();
    let mut report = table(&blockers, seed, &summaries);
    if let Some((_, outcomes)) = results
        .iter()
        .find(|(s, _)| matches!(s, Strategy::StatusAware | Strategy::StatusAwareEvery(_)))
    {
        report.push_str("\nBy slice of the family (each unknown separately):\n\n");
        report.push_str(&slice_table(&blockers, outcomes));
        if let Some((slice, p95)) = worst_slice(&blockers, outcomes) {
            report.push_str(&format!(
                "\nWorst slice on natural ends: {slice}, p95 {:.1} s.\n",
                p95.as_secs_f64()
            ));
        }
    }
    println!("{report}");
    println!(
        "({} runs of {} strategies in {:.1} s of wall-clock time)",
        blockers.len(),
        summaries.len(),
        wall.elapsed().as_secs_f64()
    );
    if testing || only.is_some() {
        return Ok(());
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(
        docs.join("wait.md"),
        format!("<!-- written by `cargo bench --features sim --bench wait` -->\n\n{report}"),
    )?;
    // The frontier: ours at each max_check_interval, exponential backoff, fixed pollers.
    let point = |s: Strategy, label: String| {
        let r = summaries.iter().find(|(x, _)| *x == s)?.1;
        let p95 = |m: wait::Summary| m.p95.map_or(f64::NAN, |d| d.as_secs_f64().max(0.5));
        Some((label, r.all.calls_per_hour, [p95(r.natural), p95(r.early)]))
    };
    let aware: Vec<_> = [
        (Strategy::StatusAwareEvery(60), "1 min"),
        (Strategy::StatusAwareEvery(120), "2 min"),
        (Strategy::StatusAware, "5 min"),
        (Strategy::StatusAwareEvery(600), "10 min"),
    ]
    .into_iter()
    .filter_map(|(s, l)| point(s, l.to_owned()))
    .collect();
    let fixed: Vec<_> = [60, 120, 300]
        .into_iter()
        .filter_map(|s| point(Strategy::Fixed(s), format!("{} min", s / 60)))
        .collect();
    let exponential: Vec<_> = point(Strategy::Exponential, "5 s ×2, 2 min cap".to_owned())
        .into_iter()
        .collect();
    report::frontier_svg(
        &docs.join("wait-frontier.svg"),
        &format!(
            "Latency against calls per hour waited ({} blockers of the simulator's varied family)",
            blockers.len()
        ),
        "Start + Describe + DescribeScalingActivities calls per hour waited",
        [
            "blockers that ran to their natural end",
            "blockers that ended early",
        ],
        &[
            report::Series {
                name: "status-aware Refresher, by max_check_interval",
                points: aware,
            },
            report::Series {
                name: "fixed-interval poller",
                points: fixed,
            },
            report::Series {
                name: "exponential backoff (our interceptor)",
                points: exponential,
            },
        ],
    )?;
    println!("wrote docs/wait.md and docs/wait-frontier.svg");
    Ok(())
}
