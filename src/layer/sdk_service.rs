//! A tower [`Service`] adapter over the Auto Scaling SDK client.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshInput, StartInstanceRefreshOutput,
};
use tower::Service;
use tracing::Instrument;

use crate::core::guard::Guard;
use crate::core::operation::StartInstanceRefreshSdkError;

/// Calls `StartInstanceRefresh` through an [`aws_sdk_autoscaling::Client`] as a
/// `tower::Service<StartInstanceRefreshInput>`.
///
/// Its errors are the SDK's own ([`StartInstanceRefreshSdkError`]), and they say whether the call
/// may have started a refresh although it failed
/// ([`ProvideErrorCode::may_have_started_refresh`](crate::ProvideErrorCode::may_have_started_refresh)),
/// counting the SDK's own retries inside the call: that is what lets the layer's duplicate guard
/// span the whole tower call.
///
/// It is always ready and cheap to clone (the client is an `Arc`). Compose it with
/// [`InstanceRefreshRetryLayer`](crate::InstanceRefreshRetryLayer) and any other tower
/// middleware:
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
/// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy, StartInstanceRefreshService};
/// use std::time::Duration;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let svc = ServiceBuilder::new()
///     .layer(InstanceRefreshRetryLayer::new(RetryPolicy::default()))
///     .service(StartInstanceRefreshService::new(client));
/// let input = StartInstanceRefreshInput::builder()
///     .auto_scaling_group_name("web")
///     .build()?;
/// let out = svc.oneshot(input).await?;
/// println!("started {:?}", out.instance_refresh_id());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct StartInstanceRefreshService {
    client: Client,
}

impl StartInstanceRefreshService {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        StartInstanceRefreshService { client }
    }

    /// The wrapped client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The future returned by [`StartInstanceRefreshService`].
pub type StartInstanceRefreshFuture = Pin<
    Box<
        dyn Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>>
            + Send,
    >,
>;

impl Service<StartInstanceRefreshInput> for StartInstanceRefreshService {
    type Response = StartInstanceRefreshOutput;
    type Error = StartInstanceRefreshSdkError;
    type Future = StartInstanceRefreshFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, input: StartInstanceRefreshInput) -> Self::Future {
        let span = tracing::debug_span!(
            "start_instance_refresh",
            group = input.auto_scaling_group_name.as_deref().unwrap_or("<none>")
        );
        // The guard marks the responses of this SDK call once one of its attempts had an
        // unknown outcome (the SDK retries those), so the layer learns that the call may have
        // started a refresh even when the last answer alone does not say so.
        let mut guard = aws_sdk_autoscaling::config::Builder::default();
        guard.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::new(Guard));
        let call = self
            .client
            .start_instance_refresh()
            .set_auto_scaling_group_name(input.auto_scaling_group_name)
            .set_strategy(input.strategy)
            .set_desired_configuration(input.desired_configuration)
            .set_preferences(input.preferences)
            .customize()
            .config_override(guard);
        Box::pin(call.send().instrument(span))
    }
}
