//! `asg-refresh`: start EC2 Auto Scaling instance refreshes, wait out a running one, and follow
//! a refresh to its end. A thin shell over [`instance_refresh_retry::Refresher`].
//!
//! Run `asg-refresh --help` for the commands and the exit codes, and `asg-refresh demo` for the
//! story against the embedded simulator.

mod args;
mod aws;
mod demo;
mod output;
mod run;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::output::{Reporter, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.global.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(async {
        let reporter = Reporter::new(cli.global.output);
        tokio::select! {
            code = app(&cli, &reporter) => code,
            _ = tokio::signal::ctrl_c() => {
                // Dropping the command's future stops it where it is: no API call after this.
                reporter.clear();
                eprintln!("asg-refresh: interrupted; no further API calls were made");
                exit::INTERRUPTED
            }
        }
    });
    // Do not wait for tasks still blocked on a request: exit now.
    runtime.shutdown_background();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn app(cli: &Cli, reporter: &std::sync::Arc<Reporter>) -> i32 {
    if let Command::Demo(_) = cli.command {
        return demo::run(reporter).await;
    }
    let client = match aws::client(&cli.global).await {
        Ok(client) => client,
        Err(run::Usage(msg)) => return usage(&msg),
    };
    match run::execute(&cli.command, &client, reporter).await {
        Ok(code) => code,
        Err(run::Usage(msg)) => usage(&msg),
    }
}

fn usage(msg: &str) -> i32 {
    eprintln!("error: {msg}\n\nFor more information, try '--help'.");
    exit::USAGE
}

/// Logs go to stderr: `-v` info, `-vv` debug, `-vvv` trace, `RUST_LOG` overrides. Whatever the
/// level, the modules that see credentials and signatures stay capped (see `aws::QUIET`).
fn init_logs(verbose: u8) {
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
        .with_target(true)
        .with_filter(chosen.and(caps));
    tracing_subscriber::registry().with(logs).init();
}
