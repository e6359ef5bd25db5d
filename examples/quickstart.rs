//! The main job: start an instance refresh while another one is running, wait it out, succeed.
//!
//! Runs against the embedded Auto Scaling simulator on 127.0.0.1, in real time, with no AWS
//! account and no network:
//!
//! ```sh
//! cargo run --example quickstart --features sim
//! ```
//!
//! It starts a refresh twice: once through the SDK interceptor (plain `.send()`), then once through
//! the tower layer, which is blocked by the refresh the first one started.

use std::time::{Duration, Instant};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    AutoScalingConfigExt, InstanceRefreshRetryLayer, Jitter, RetryPolicy,
    StartInstanceRefreshService,
};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Print the crate's retry events: one line per wait, with attempt, delay and reason.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "instance_refresh_retry=info".into()),
        )
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .compact()
        .init();

    let sim = AutoScalingSim::start().await?;
    // Refreshes on this group take 1 s pending + 3 s in progress.
    let group = GroupConfig::default()
        .pending_duration(Duration::from_secs(1))
        .refresh_duration(Duration::from_secs(3));
    sim.create_group("web", group);
    let running = sim.seed_running_refresh("web", Duration::from_secs(3))?;
    println!(
        "simulator at {}; group 'web' is busy with refresh {running} for another 3 s",
        sim.endpoint_url()
    );

    // Short waits so the demo finishes quickly; real deployments use RetryPolicy::default().
    let policy = RetryPolicy::builder()
        .initial_delay(Duration::from_millis(500))
        .multiplier(1.5)
        .max_delay(Duration::from_secs(2))
        .jitter(Jitter::Full)
        .max_elapsed(Duration::from_secs(30))
        .build()?;

    // 1. SDK interceptor: install once on the config; existing code just calls `.send()`.
    println!("\n[1] SDK interceptor: StartInstanceRefresh while {running} is running");
    let client = aws_sdk_autoscaling::Client::from_conf(
        sim.sdk_config_builder()
            .instance_refresh_retry(policy.clone())
            .build(),
    );
    let t = Instant::now();
    let out = client
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .send()
        .await?;
    let first = out.instance_refresh_id().unwrap_or_default().to_owned();
    println!("[1] started refresh {first} after {:.1?}", t.elapsed());

    // 2. tower layer: the refresh we just started now blocks the next one.
    println!("\n[2] tower layer: StartInstanceRefresh while {first} is running");
    let svc = ServiceBuilder::new()
        .layer(InstanceRefreshRetryLayer::new(policy).with_stats())
        .timeout(Duration::from_secs(10))
        .service(StartInstanceRefreshService::new(sim.client()));
    let t = Instant::now();
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name("web")
        .build()?;
    let (out, stats) = svc.oneshot(input).await?;
    println!(
        "[2] started refresh {} after {:.1?} ({stats})",
        out.instance_refresh_id().unwrap_or_default(),
        t.elapsed()
    );

    let starts = sim
        .calls()
        .iter()
        .filter(|c| c.is("StartInstanceRefresh"))
        .count();
    println!("\n{starts} StartInstanceRefresh calls in total; refreshes on 'web', newest first:");
    for r in sim.refreshes("web")? {
        println!("  {}  {:?}  {}%", r.id, r.status, r.percentage_complete);
    }
    sim.shutdown().await;
    Ok(())
}
