//! `asg-refresh demo`: the whole story against the embedded simulator, with no AWS account, in
//! about 15 s of real time. Each step runs the very command line it shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig};

use crate::args::Cli;
use crate::output::{Reporter, exit};
use crate::run;
use crate::signals::Interrupt;

/// Runs the demo (until the interrupt); its exit code is the worst of its steps'.
pub async fn run(reporter: &Arc<Reporter>, mut interrupt: Interrupt) -> i32 {
    let signal = interrupt.clone();
    tokio::select! {
        code = story(reporter, signal) => code,
        signal = interrupt.fired() => signal.exit_code(),
    }
}

async fn story(reporter: &Arc<Reporter>, interrupt: Interrupt) -> i32 {
    let began = Instant::now();
    let sim = match AutoScalingSim::start().await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("asg-refresh: could not start the simulator: {e}");
            return exit::AWS;
        }
    };
    // Quick refreshes: 3 s of replacements (4 s for `jobs`), half a second Pending.
    let quick = GroupConfig::default()
        .instances(4)
        .pending_duration(Duration::from_millis(500))
        .refresh_duration(Duration::from_secs(3));
    sim.create_group("web", quick.clone());
    sim.create_group("api", quick.clone());
    sim.create_group("jobs", quick.refresh_duration(Duration::from_secs(4)));
    // The simulator's test credentials and plain-HTTP client; the SDK's own retries stay on.
    let client = aws_sdk_autoscaling::Client::from_conf(sim.sdk_config_builder().build());
    let say = |line: &str| reporter.say(line);
    say(&format!(
        "asg-refresh demo: an Auto Scaling simulator listens on {}\n",
        sim.endpoint_url()
    ));

    let mut worst = exit::OK;

    // 1. Blocked, waits status-aware, succeeds.
    let blocker = match sim.seed_running_refresh("web", Duration::from_secs(4)) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("asg-refresh: {e}");
            return exit::AWS;
        }
    };
    say(&format!(
        "1. Someone else's instance refresh {blocker} is running on `web` and ends in about 4 s.\n   \
         StartInstanceRefresh answers InstanceRefreshInProgress; asg-refresh watches that refresh\n   \
         and starts as soon as it ends."
    ));
    worst = worst.max(
        step(
            &client,
            reporter,
            &interrupt,
            "start --group web --initial-delay 500ms --max-delay 2s --max-wait 1m",
        )
        .await,
    );

    // 2. A lost response is adopted, not duplicated.
    sim.inject(FaultRule::new(Fault::ResponseLost).on("StartInstanceRefresh"));
    say(
        "\n2. On `api`, the answer to StartInstanceRefresh is lost on the way back: the refresh\n   \
         started, but the caller never hears of it. The SDK retries and hears\n   \
         InstanceRefreshInProgress, blocked by its own refresh; asg-refresh finds it and adopts it.",
    );
    worst = worst.max(
        step(
            &client,
            reporter,
            &interrupt,
            "start --group api --initial-delay 500ms --max-delay 2s --max-wait 1m",
        )
        .await,
    );
    let starts = sim
        .calls()
        .iter()
        .filter(|c| {
            c.is("StartInstanceRefresh")
                && c.params.get("AutoScalingGroupName").map(String::as_str) == Some("api")
        })
        .count();
    let refreshes = sim.refreshes("api").map(|r| r.len()).unwrap_or(0);
    say(&format!(
        "   The simulator saw {starts} StartInstanceRefresh calls on `api`, and `api` has {refreshes} refresh: adopted, not duplicated."
    ));

    // 3. --wait follows the refresh to Successful.
    say("\n3. On `jobs`, --wait follows the new refresh, with its progress, to Successful.");
    worst = worst.max(
        step(
            &client,
            reporter,
            &interrupt,
            "start --group jobs --wait --initial-delay 500ms --max-delay 1s --max-wait 1m",
        )
        .await,
    );

    say(&format!(
        "\nDone in {:.1} s. Exit codes: 0 ok, 1 not Successful (or a conflict under --on-conflict fail),\n\
         2 usage, 3 gave up waiting, 4 AWS error, 129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM.",
        began.elapsed().as_secs_f64()
    ));
    sim.shutdown().await;
    worst
}

/// Shows a command line and runs it, exactly as the binary would (against the simulator).
async fn step(
    client: &aws_sdk_autoscaling::Client,
    reporter: &Arc<Reporter>,
    interrupt: &Interrupt,
    line: &str,
) -> i32 {
    reporter.say(format!("\n   $ asg-refresh {line}"));
    let argv = std::iter::once("asg-refresh").chain(line.split_whitespace());
    let cli = Cli::try_parse_from(argv).expect("the demo's command lines parse");
    match run::prepare(&cli.command) {
        Ok(prepared) => {
            let code = run::execute(&cli.command, prepared, client, reporter, interrupt).await;
            reporter.say(format!("   (exit {code})"));
            code
        }
        Err(run::Usage(msg)) => {
            eprintln!("error: {msg}");
            exit::USAGE
        }
    }
}
