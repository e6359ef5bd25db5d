//! Scale: 1k, 10k and 100k wrapped calls all waiting at once, on paused tokio time, on both
//! paths; the heap they hold while waiting, and whether every call completes.
//!
//! Rows (see `scale/measure.rs` for how one run works):
//! - floor: tokio tasks that only sleep, what the runtime costs per waiting task;
//! - tower: `InstanceRefreshRetryLayer` over `StartInstanceRefreshService`, each call refused
//!   once with `InstanceRefreshInProgress` and waiting in the layer. Target: ≤ 2 KiB of heap per
//!   waiting call, its future and task included;
//! - SDK with the interceptor, refused once with `InstanceRefreshInProgress` and waiting in the
//!   SDK's retry loop, against the plain SDK call refused once with `Throttling` and waiting in
//!   the SDK's own backoff. Target: with ≤ plain × 1.10.
//!
//! Run with `cargo bench --bench scale`; `SCALE_MAX=10000` stops at 10k calls. Without `--bench`
//! (`cargo test --benches`) it runs 100 calls per path as a smoke test.

use std::time::Duration;

#[path = "scale/measure.rs"]
mod measure;

use measure::{CountingAlloc, Measured, Path, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const TOWER_TARGET: f64 = 2048.0;
const SDK_TARGET: f64 = 1.10;

fn kib(bytes: isize) -> String {
    if bytes.abs() >= 10 * 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Whether `m` meets its target; `None` for the reference rows.
fn target_met(m: &Measured, plain: Option<&Measured>) -> Option<bool> {
    match m.path {
        Path::Tower => Some(m.bytes_per_call() <= TOWER_TARGET),
        Path::SdkInterceptor => {
            plain.map(|p| m.bytes_per_call() <= p.bytes_per_call() * SDK_TARGET)
        }
        Path::Floor | Path::SdkPlain => None,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let max: usize = std::env::var("SCALE_MAX")
        .ok()
        .map(|v| {
            v.replace('_', "")
                .parse()
                .expect("SCALE_MAX is a number of calls")
        })
        .unwrap_or(100_000);
    let sizes: Vec<usize> = if bench {
        [1_000, 10_000, 100_000]
            .into_iter()
            .filter(|&n| n <= max)
            .collect()
    } else {
        vec![100]
    };

    let mut rows: Vec<Measured> = Vec::new();
    for &n in &sizes {
        for path in Path::ALL {
            let m = measure(path, n);
            m.check();
            eprintln!(
                "{:?} n={n}: {:.0} B/call, real {:?} (all waiting after {:?})",
                path,
                m.bytes_per_call(),
                m.real_time,
                m.real_to_park
            );
            rows.push(m);
        }
    }

    let plain_for = |n: usize| {
        rows.iter()
            .find(|r| r.path == Path::SdkPlain && r.calls == n)
    };
    println!();
    println!("## Scale");
    println!();
    println!(
        "| path | N | peak heap | heap while all wait | per waiting call (heap, future included) | \
         call future inline | time to complete: virtual / real (real until all waited) | all completed | \
         target met |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|:---:|:---:|");
    for m in &rows {
        let met = match target_met(m, plain_for(m.calls)) {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let per_call = match (m.path, plain_for(m.calls)) {
            (Path::SdkInterceptor, Some(p)) => format!(
                "{:.0} B (plain × {:.4})",
                m.bytes_per_call(),
                m.bytes_per_call() / p.bytes_per_call()
            ),
            _ => format!("{:.0} B", m.bytes_per_call()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} B | {} / {} ({}) | {} | {} |",
            m.path.name(),
            m.calls,
            kib(m.peak_bytes),
            kib(m.parked_bytes),
            per_call,
            m.future_size,
            secs(m.virtual_time),
            secs(m.real_time),
            secs(m.real_to_park),
            if m.completed == m.calls {
                "yes"
            } else {
                "**no**"
            },
            met,
        );
    }

    println!();
    println!("Growth of the heap per waiting call, from the smallest N to the largest:");
    println!();
    for path in Path::ALL {
        let per_call: Vec<String> = rows
            .iter()
            .filter(|r| r.path == path)
            .map(|r| format!("{} → {:.0} B", r.calls, r.bytes_per_call()))
            .collect();
        println!("- {}: {}", path.name(), per_call.join(", "));
    }

    println!();
    println!(
        "Blocks held per waiting call, by size (sizes that at least half the calls hold), at N = {}:",
        sizes.last().copied().unwrap_or_default()
    );
    println!();
    for m in rows.iter().filter(|r| Some(&r.calls) == sizes.last()) {
        let blocks: Vec<String> = m
            .blocks_per_call
            .iter()
            .map(|(size, count)| format!("{count:.2} × {size} B"))
            .collect();
        let total: f64 = m.blocks_per_call.iter().map(|(s, c)| *s as f64 * c).sum();
        println!(
            "- {}: {} (≈ {total:.0} B of {:.0} B)",
            m.path.name(),
            blocks.join(", "),
            m.bytes_per_call()
        );
    }
    println!();

    let failed: Vec<String> = rows
        .iter()
        .filter(|m| target_met(m, plain_for(m.calls)) == Some(false))
        .map(|m| format!("{} at N = {}", m.path.name(), m.calls))
        .collect();
    if !failed.is_empty() {
        println!("Targets missed: {}", failed.join("; "));
    }
}
