//! `asg-refresh sim`: the embedded simulator as a local Auto Scaling endpoint, until a signal.

use std::io::Write;
use std::time::Duration;

use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};

use crate::args::SimArgs;
use crate::output::exit;
use crate::signals::Interrupt;

/// Serves until the interrupt; prints `READY http://ADDR` on stdout once it listens.
pub async fn run(args: &SimArgs, mut interrupt: Interrupt) -> i32 {
    let sim = match AutoScalingSim::builder().bind(args.listen).start().await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("asg-refresh: error: --listen {}: {e}", args.listen);
            return exit::USAGE;
        }
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "asg-refresh: warning: the simulator checks no credentials and listens on {}",
            sim.local_addr()
        );
    }
    let config = GroupConfig::default()
        .pending_duration(Duration::from_secs(5))
        .refresh_duration(args.refresh_duration);
    for group in &args.groups {
        sim.create_group(group.clone(), config.clone());
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "READY {}", sim.endpoint_url());
        let _ = out.flush();
    }
    eprintln!(
        "asg-refresh: simulating groups {} at {} (any credentials, any region); a signal stops it",
        args.groups.join(", "),
        sim.endpoint_url()
    );
    let signal = interrupt.fired().await;
    eprintln!(
        "asg-refresh: {}: the simulator stops after {} calls",
        signal.name(),
        sim.calls().len()
    );
    sim.shutdown().await;
    exit::OK
}
