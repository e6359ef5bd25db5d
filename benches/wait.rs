//! Wait efficiency against the peers, on the simulator's virtual time: every strategy of
//! `tests/common/wait.rs` over the same seeded blockers (`WAIT_RUNS`, default 1,000; `WAIT_SEED`,
//! default 2026; `WAIT_ONLY`, a part of the strategies' names to run only those, writing nothing) on one paused current-thread runtime. Prints the markdown table, writes it to
//! `docs/wait.md` and draws `docs/wait-latency-vs-calls.svg` (p95 start latency against calls
//! per hour waited, one point per strategy).
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

use wait::{Strategy, blockers, compare, env_or, summarize, table};

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
    // `WAIT_ONLY=StatusAware` runs the strategies whose name contains it (and writes nothing).
    let only = std::env::var("WAIT_ONLY").ok();
    let strategies: Vec<Strategy> = Strategy::ALL
        .into_iter()
        .filter(|s| {
            only.as_ref()
                .is_none_or(|o| format!("{s:?}").contains(o.as_str()))
        })
        .collect();
    let results = runtime.block_on(compare(&blockers, &strategies, seed));
    let rows: Vec<_> = results
        .iter()
        .map(|(strategy, outcomes)| (*strategy, summarize(outcomes)))
        .collect();
    let table = table(blockers.len(), seed, &rows);
    println!("{table}");
    println!(
        "({} runs of {} strategies in {:.1} s of wall-clock time)",
        blockers.len(),
        rows.len(),
        wall.elapsed().as_secs_f64()
    );
    if testing || only.is_some() {
        return Ok(());
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(
        docs.join("wait.md"),
        format!("<!-- written by `cargo bench --features sim --bench wait` -->\n\n{table}"),
    )?;
    // Only the strategies that started somewhere have a p95.
    let points: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter_map(|(s, m)| Some((s.label(), m.calls_per_hour, m.p95?.as_secs_f64().max(0.5))))
        .collect();
    report::scatter_svg(
        &docs.join("wait-latency-vs-calls.svg"),
        &format!(
            "p95 start latency against calls per hour waited ({} blockers)",
            blockers.len()
        ),
        (
            "Start + Describe calls per hour waited",
            "p95 start latency after the blocker ends (s)",
        ),
        &points,
    )?;
    println!("wrote docs/wait.md and docs/wait-latency-vs-calls.svg");
    Ok(())
}
