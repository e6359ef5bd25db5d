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
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
    /// use instance_refresh_retry::StartInstanceRefreshService;
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
    /// # use aws_smithy_mocks::{mock, mock_client};
    /// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
    /// #     .then_output(|| {
    /// #         StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build()
    /// #     });
    /// # let client = mock_client!(aws_sdk_autoscaling, [&rule]);
    /// let svc = StartInstanceRefreshService::new(client);
    /// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
    /// let out = svc.oneshot(input).await?;
    /// assert_eq!(out.instance_refresh_id(), Some("r-1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(client: Client) -> Self {
        StartInstanceRefreshService { client }
    }

    /// The wrapped client.
    ///
    /// ```
    /// use instance_refresh_retry::StartInstanceRefreshService;
    ///
    /// # let config = aws_sdk_autoscaling::Config::builder()
    /// #     .behavior_version(aws_sdk_autoscaling::config::BehaviorVersion::latest())
    /// #     .region(aws_sdk_autoscaling::config::Region::new("eu-west-1"))
    /// #     .build();
    /// # let client = aws_sdk_autoscaling::Client::from_conf(config);
    /// let svc = StartInstanceRefreshService::new(client);
    /// let region = svc.client().config().region();
    /// assert_eq!(region.map(|r| r.as_ref()), Some("eu-west-1"));
    /// ```
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The future returned by [`StartInstanceRefreshService`].
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
/// use instance_refresh_retry::StartInstanceRefreshService;
/// use instance_refresh_retry::future::StartInstanceRefreshFuture;
/// use tower::Service;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
/// # use aws_smithy_mocks::{mock, mock_client};
/// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
/// #     .then_output(|| {
/// #         StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build()
/// #     });
/// # let client = mock_client!(aws_sdk_autoscaling, [&rule]);
/// let mut svc = StartInstanceRefreshService::new(client);
/// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
/// let future: StartInstanceRefreshFuture = svc.call(input); // always ready: no `poll_ready`
/// assert_eq!(future.await?.instance_refresh_id(), Some("r-1"));
/// # Ok(())
/// # }
/// ```
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
        guard.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::permanent(
            Guard,
        ));
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
