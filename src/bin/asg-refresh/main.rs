//! `asg-refresh`: start EC2 Auto Scaling instance refreshes, wait out a running one, and follow
//! a refresh to its end. A thin shell over [`instance_refresh_retry::Refresher`].
//!
//! Run `asg-refresh --help` for the commands and the exit codes, `asg-refresh demo` for the
//! story against the embedded simulator, and `asg-refresh sim` for a local endpoint.

mod args;
mod aws;
mod demo;
mod input;
mod output;
mod run;
mod signals;
mod sim;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::output::{Reporter, exit};
use crate::signals::{Interrupt, Signals};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = cli.global.color.enabled();
    init_logs(cli.global.verbose, color);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(async {
        // Listen before anything else, so that no signal kills the run unreported.
        let mut signals = match Signals::listen() {
            Ok(signals) => signals,
            Err(e) => {
                eprintln!("asg-refresh: cannot listen for signals: {e}");
                return exit::USAGE;
            }
        };
        let reporter = Reporter::new(cli.global.output, color);
        let (trigger, interrupt) = Interrupt::new();
        let app = app(&cli, &reporter, interrupt);
        tokio::pin!(app);
        let mut first: Option<signals::Signal> = None;
        loop {
            tokio::select! {
                code = &mut app => break match (&cli.command, first) {
                    // A signal is how the simulator is stopped: not an interruption.
                    (Command::Sim(_), _) | (_, None) => code,
                    (_, Some(signal)) => signal.exit_code(),
                },
                signal = signals.recv() => {
                    if first.is_none() {
                        // Each group stops where it is and reports (the app ends soon after).
                        first = Some(signal);
                        trigger.fire(signal);
                    } else {
                        reporter.clear();
                        eprintln!("asg-refresh: {}: exiting now", signal.name());
                        break first.unwrap_or(signal).exit_code();
                    }
                }
            }
        }
    });
    // Do not wait for tasks still blocked on a request: exit now.
    runtime.shutdown_background();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn app(cli: &Cli, reporter: &std::sync::Arc<Reporter>, interrupt: Interrupt) -> i32 {
    match &cli.command {
        Command::Demo(_) => return demo::run(reporter, interrupt).await,
        Command::Sim(args) => return sim::run(args, interrupt).await,
        _ => {}
    }
    // Usage errors before anything else (no region, no credentials needed for them).
    let prepared = match run::prepare(&cli.command) {
        Ok(prepared) => prepared,
        Err(run::Usage(msg)) => return usage(&msg),
    };
    let client = match aws::client(&cli.global).await {
        Ok(client) => client,
        Err(run::Usage(msg)) => return usage(&msg),
    };
    run::execute(&cli.command, prepared, &client, reporter, &interrupt).await
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}\n\nFor more information, try '--help'.");
    exit::USAGE
}

/// Logs go to stderr: `-v` info, `-vv` debug, `-vvv` trace, `RUST_LOG` overrides; one line per
/// event, coloured only with `color`. Whatever the level, the modules that see credentials and
/// signatures stay capped (see `aws::QUIET`).
fn init_logs(verbose: u8, color: bool) {
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, fmt};
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let chosen = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let caps = aws::QUIET.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |caps, &(target, cap)| caps.with_target(target, cap),
    );
    let logs = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(true)
        .with_filter(chosen.and(caps));
    tracing_subscriber::registry().with(logs).init();
}
