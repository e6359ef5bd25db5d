//! The SDK client: aws-config's standard credential and region chain, `--profile`, `--region`,
//! `--endpoint-url`, the SDK's default HTTPS client, and the SDK's own retries (throttling, 5xx,
//! lost answers) left on.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_autoscaling::Client;
use tracing_subscriber::filter::LevelFilter;

use crate::args::Global;
use crate::run::Usage;

/// Log targets capped at these levels whatever `-v` or `RUST_LOG` say (a cap, never a floor:
/// the chosen level still applies below it). They would print the canonical request, the string
/// to sign, headers (`Authorization`, `X-Amz-Security-Token`), credentials being loaded, or the
/// resolved identity and the identity cache (their `Debug` shows the access key id: the
/// orchestrator logs them at `trace`, and the endpoint parameters that hold the identity at
/// `debug`).
pub const QUIET: &[(&str, LevelFilter)] = &[
    ("aws_sigv4", LevelFilter::INFO),
    ("aws_runtime::auth", LevelFilter::INFO),
    (
        "aws_smithy_runtime::client::orchestrator",
        LevelFilter::DEBUG,
    ),
    (
        "aws_smithy_runtime::client::orchestrator::auth",
        LevelFilter::INFO,
    ),
    (
        "aws_smithy_runtime::client::orchestrator::endpoints",
        LevelFilter::INFO,
    ),
    ("aws_config", LevelFilter::INFO),
    ("aws_credential_types", LevelFilter::INFO),
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    ("h2", LevelFilter::INFO),
    ("rustls", LevelFilter::INFO),
];

/// A client from the standard chain.
pub async fn client(global: &Global) -> Result<Client, Usage> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &global.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &global.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &global.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(Usage(
            "no AWS region: pass --region, set AWS_REGION, or set one in the profile".into(),
        ));
    }
    Ok(Client::new(&config))
}
