//! The [`Refresher`] as a `tower::Service<StartInstanceRefreshInput>`, so that it composes with
//! `ConcurrencyLimit`, `Timeout` and tracing layers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use tower::Service;

use super::error::RefreshError;
use super::options::Refresher;
use super::start::Started;

/// The future of the [`Refresher`]'s `tower::Service` implementation.
pub type RefresherFuture = Pin<Box<dyn Future<Output = Result<Started, RefreshError>> + Send>>;

/// Always ready; each call is one [`Refresher::start`].
///
/// ```no_run
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
/// use instance_refresh_retry::Refresher;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), tower::BoxError> {
/// let svc = ServiceBuilder::new()
///     .concurrency_limit(4)
///     .service(Refresher::new(client, Refresher::default_policy()));
/// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
/// let started = svc.oneshot(input).await?;
/// println!("{}", started.instance_refresh_id());
/// # Ok(()) }
/// ```
impl Service<StartInstanceRefreshInput> for Refresher {
    type Response = Started;
    type Error = RefreshError;
    type Future = RefresherFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, input: StartInstanceRefreshInput) -> Self::Future {
        let refresher = self.clone();
        Box::pin(async move { refresher.start(input).await })
    }
}
