//! The tower path: the retry layer in a stack with a concurrency limit, a per-attempt
//! `tower::timeout` and tracing, starting refreshes on several groups.
//!
//! ```text
//! ConcurrencyLimit (2 groups at once; a waiting call keeps its slot)
//!   └ InstanceRefreshRetryLayer (waits out InstanceRefreshInProgress; stats with each answer)
//!       └ Timeout (30 s per attempt)
//!           └ StartInstanceRefreshService (the SDK client)
//! ```
//!
//! Each call runs in a `deploy{group=..}` span, in which the layer's events (one per wait, with
//! `attempt`, `delay_ms`, `error_code`, `request_id`) are printed.
//!
//! Against the embedded Auto Scaling simulator on 127.0.0.1 (no AWS account, no network; about
//! 5 s): `web` is busy for another 2 s, `api` for 4 s, `jobs` is free but waits for a slot.
//!
//! ```sh
//! cargo run --example tower_stack --features cli
//! ```
//!
//! Against your account: `--real GROUP...`. The ordinary AWS environment chooses the account and
//! the region (`AWS_PROFILE`, `AWS_REGION`, and everything else `aws_config::load_defaults`
//! reads), and each call waits on [`RetryPolicy::default()`] (up to 1 h). **This starts an
//! instance refresh on each group: it replaces their instances.** It needs
//! `autoscaling:StartInstanceRefresh` on the groups (`docs/iam.md`, "tower layer").
//!
//! ```sh
//! AWS_PROFILE=staging AWS_REGION=eu-west-1 \
//!   cargo run --example tower_stack --features cli -- --real web api jobs
//! ```
//!
//! `RUST_LOG=debug` shows the SDK's own spans as well.

use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    InstanceRefreshRetryLayer, Jitter, RetryPolicy, StartInstanceRefreshService,
};
use tower::{Service, ServiceBuilder, ServiceExt};
use tracing::Instrument;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "instance_refresh_retry=info,tower_stack=info".into()),
        )
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .compact()
        .init();
    let target = Target::from_args().await?;

    // 1. The stack, built once and cloned for each call (the clones share the limit).
    let svc = ServiceBuilder::new()
        .concurrency_limit(2)
        .layer(InstanceRefreshRetryLayer::new(target.policy.clone()).with_stats())
        .timeout(Duration::from_secs(30))
        .service(StartInstanceRefreshService::new(target.client.clone()));

    // 2. One call per group. Each waits for a slot here, so that the groups start in the order
    // given, then runs on its own task.
    let began = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for group in &target.groups {
        let input = StartInstanceRefreshInput::builder()
            .auto_scaling_group_name(group)
            .build()?;
        let span = tracing::info_span!("deploy", group = %group);
        let mut slot = svc.clone();
        slot.ready().instrument(span.clone()).await?;
        let at = format!("{:.1?}", began.elapsed());
        tracing::info!(parent: &span, at, "got a slot; calling StartInstanceRefresh");
        let call = slot.call(input).instrument(span);
        let group = group.clone();
        calls.spawn(async move {
            let result = call.await;
            (group, began.elapsed(), result)
        });
    }

    // 3. What each call did.
    let mut failed = 0;
    while let Some(done) = calls.join_next().await {
        let (group, at, result) = done?;
        match result {
            Ok((out, stats)) => println!(
                "{group}: started {} at {at:.1?} ({stats})",
                out.instance_refresh_id().unwrap_or("(no id)")
            ),
            Err(err) => {
                failed += 1;
                // The SDK's error (or the timeout's), unchanged.
                println!("{group}: no refresh at {at:.1?}: {err}");
            }
        }
    }

    if let Some(sim) = target.sim {
        println!("\nStartInstanceRefresh calls the simulator received, by group:");
        for group in &target.groups {
            let calls: Vec<String> = sim
                .calls()
                .iter()
                .filter(|c| c.params.get("AutoScalingGroupName") == Some(group))
                .map(|c| format!("{:.1} s", c.at.as_secs_f64()))
                .collect();
            println!("  {group}: {}", calls.join(", "));
        }
        sim.shutdown().await;
    }
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Where the example runs: the simulator (no arguments), or your account (`--real GROUP...`).
struct Target {
    client: aws_sdk_autoscaling::Client,
    groups: Vec<String>,
    policy: RetryPolicy,
    sim: Option<AutoScalingSim>,
}

impl Target {
    async fn from_args() -> Result<Target, Error> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.split_first() {
            None => Target::simulator().await,
            Some((flag, groups)) if flag == "--real" && !groups.is_empty() => {
                let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
                Ok(Target {
                    client: aws_sdk_autoscaling::Client::new(&sdk_config),
                    groups: groups.to_vec(),
                    policy: RetryPolicy::default(),
                    sim: None,
                })
            }
            _ => Err("usage: tower_stack [--real GROUP...]".into()),
        }
    }

    /// The simulator with three groups, two of them busy, a client pointed at it (test
    /// credentials; nothing is read from `~/.aws`), and short waits.
    async fn simulator() -> Result<Target, Error> {
        let sim = AutoScalingSim::start().await?;
        let quick = GroupConfig::default().pending_duration(Duration::from_millis(500));
        for group in ["web", "api", "jobs"] {
            sim.create_group(group, quick.clone());
        }
        sim.seed_running_refresh("web", Duration::from_secs(2))?;
        sim.seed_running_refresh("api", Duration::from_secs(4))?;
        println!(
            "simulator at {}: `web` is busy for another 2 s, `api` for 4 s, `jobs` is free\n",
            sim.endpoint_url()
        );
        // Waits of 0.25 s to 1 s so that the run takes seconds; keep RetryPolicy::default()
        // (5 s doubling to 2 min, for up to 1 h) for real refreshes.
        let policy = RetryPolicy::builder()
            .initial_delay(Duration::from_millis(250))
            .max_delay(Duration::from_secs(1))
            .jitter(Jitter::Equal)
            .max_elapsed(Duration::from_secs(30))
            .build()?;
        Ok(Target {
            client: sim.client(),
            groups: ["web", "api", "jobs"].map(str::to_owned).to_vec(),
            policy,
            sim: Some(sim),
        })
    }
}
