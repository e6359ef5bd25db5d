//! The SDK path: install the interceptor once on a client built from an `SdkConfig`, and a
//! plain `.send()` of `StartInstanceRefresh` waits out a running refresh.
//!
//! Against the embedded Auto Scaling simulator on 127.0.0.1 (no AWS account, no network; about
//! 4 s): the group `web` is busy with another refresh for 3 s, and the call waits it out.
//!
//! ```sh
//! cargo run --example sdk_interceptor --features cli
//! ```
//!
//! Against your account: `--real GROUP`. The ordinary AWS environment chooses the account and
//! the region (`AWS_PROFILE`, `AWS_REGION`, and everything else `aws_config::load_defaults`
//! reads), and the call waits on [`RetryPolicy::default()`] (up to 1 h). **This starts an
//! instance refresh on that group: it replaces the group's instances.** It needs
//! `autoscaling:StartInstanceRefresh` on the group (`docs/iam.md`, "SDK interceptor").
//!
//! ```sh
//! AWS_PROFILE=staging AWS_REGION=eu-west-1 \
//!   cargo run --example sdk_interceptor --features cli -- --real web
//! ```
//!
//! It prints each wait and how the call ended.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_autoscaling::config::{Credentials, Region, SharedCredentialsProvider};
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, Jitter, RetryPolicy, retry_stats,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let target = Target::from_args().await?;

    // 1. The client: built from the SdkConfig as usual, with the interceptor installed once.
    let retry = InstanceRefreshRetryConfig::new(target.policy.clone())
        .on_retry(|wait| {
            println!(
                "  attempt {} refused ({}), next attempt in {:.1?}",
                wait.attempt,
                wait.error_code.unwrap_or("no code"),
                wait.delay
            );
        })
        .on_finish(|stats| println!("  the call ended: {stats}"));
    let client = aws_sdk_autoscaling::Client::from_conf(
        aws_sdk_autoscaling::config::Builder::from(&target.sdk_config)
            .instance_refresh_retry(retry)
            .build(),
    );

    // 2. Existing code does not change: a plain `.send()` now waits out a running refresh.
    println!(
        "StartInstanceRefresh on `{}` ({}):",
        target.group, target.where_
    );
    let began = Instant::now();
    let result = client
        .start_instance_refresh()
        .auto_scaling_group_name(&target.group)
        .send()
        .await;
    match result {
        Ok(out) => println!(
            "started refresh {} after {:.1?}",
            out.instance_refresh_id().unwrap_or("(no id)"),
            began.elapsed()
        ),
        Err(err) => {
            // The SDK's own error, unchanged, with what the wait did beside it.
            let stats = retry_stats(&err).map(|s| s.to_string());
            eprintln!(
                "no refresh started: {} ({})",
                aws_sdk_autoscaling::Error::from(err),
                stats.as_deref().unwrap_or("no wait")
            );
            std::process::exit(1);
        }
    }

    if let Some(sim) = target.sim {
        println!("\nwhat the simulator received:");
        for call in sim.calls() {
            println!(
                "  {:>5.2} s  {} -> {}",
                call.at.as_secs_f64(),
                call.operation.as_deref().unwrap_or("?"),
                call.error_code().unwrap_or("ok")
            );
        }
        sim.shutdown().await;
    }
    Ok(())
}

/// Where the example runs: the simulator (no arguments), or your account (`--real GROUP`).
struct Target {
    sdk_config: SdkConfig,
    group: String,
    policy: RetryPolicy,
    where_: &'static str,
    sim: Option<AutoScalingSim>,
}

impl Target {
    async fn from_args() -> Result<Target, Error> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [] => Target::simulator().await,
            [flag, group] if flag == "--real" => Ok(Target {
                sdk_config: aws_config::load_defaults(BehaviorVersion::latest()).await,
                group: group.clone(),
                policy: RetryPolicy::default(),
                where_: "your AWS account",
                sim: None,
            }),
            _ => Err("usage: sdk_interceptor [--real GROUP]".into()),
        }
    }

    /// The simulator with a group `web` that is busy for another 3 s, an SdkConfig pointed at
    /// it (test credentials; nothing is read from `~/.aws`), and short waits.
    async fn simulator() -> Result<Target, Error> {
        let sim = AutoScalingSim::start().await?;
        sim.create_group(
            "web",
            GroupConfig::default().pending_duration(Duration::from_millis(500)),
        );
        let blocker = sim.seed_running_refresh("web", Duration::from_secs(3))?;
        println!(
            "simulator at {}: `web` is busy with refresh {blocker} for another 3 s\n",
            sim.endpoint_url()
        );
        let sdk_config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "example-secret",
                None,
                None,
                "example",
            )))
            .endpoint_url(sim.endpoint_url())
            .build();
        // Waits of 0.5 s to 2 s so that the run takes seconds; keep RetryPolicy::default()
        // (5 s doubling to 2 min, for up to 1 h) for real refreshes.
        let policy = RetryPolicy::builder()
            .initial_delay(Duration::from_millis(500))
            .multiplier(1.5)
            .max_delay(Duration::from_secs(2))
            .jitter(Jitter::Full)
            .max_elapsed(Duration::from_secs(30))
            .build()?;
        Ok(Target {
            sdk_config,
            group: "web".to_owned(),
            policy,
            where_: "the simulator",
            sim: Some(sim),
        })
    }
}
