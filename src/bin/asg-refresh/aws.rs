//! The SDK client: aws-config's standard credential and region chain, `--profile`, `--region`,
//! `--endpoint-url`, the SDK's default HTTPS client, and the SDK's own retries (throttling, 5xx,
//! lost answers) left on.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_autoscaling::Client;

use crate::args::Global;
use crate::run::Usage;

/// Log targets kept at `info` (or `debug`) at most whatever `-v` or `RUST_LOG` say: they would
/// print the canonical request, the string to sign, headers (`Authorization`,
/// `X-Amz-Security-Token`), credentials being loaded, or the resolved identity (its `Debug` shows
/// the access key id).
pub const QUIET: &[&str] = &[
    "aws_sigv4=info",
    "aws_runtime::auth=info",
    "aws_smithy_runtime::client::orchestrator=debug",
    "aws_smithy_runtime::client::orchestrator::auth=info",
    "aws_smithy_runtime::client::orchestrator::endpoints=info",
    "aws_config=info",
    "aws_credential_types=info",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "rustls=info",
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
