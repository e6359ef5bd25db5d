//! A tower [`Service`] adapter over the Auto Scaling SDK client.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshInput, StartInstanceRefreshOutput,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use tower::Service;
use tracing::Instrument;

use crate::interceptor::guard::Guard;

/// The error of [`StartInstanceRefreshService`]: the SDK's own error type, unchanged.
pub type StartInstanceRefreshSdkError = SdkError<StartInstanceRefreshError, HttpResponse>;

/// Calls `StartInstanceRefresh` through an [`aws_sdk_autoscaling::Client`] as a
/// `tower::Service<StartInstanceRefreshInput>`.
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
        // The guard marks an InstanceRefreshInProgress that may be this call's own refresh
        // (the SDK retried after an attempt with an unknown outcome), so the layer does not wait
        // it out and start a second refresh.
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
