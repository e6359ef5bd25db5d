//! [`InstanceRefreshRetry`], the tower [`Service`] built by
//! [`InstanceRefreshRetryLayer`](crate::InstanceRefreshRetryLayer).

use std::marker::PhantomData;
use std::task::{Context, Poll};

use tower::Service;

use super::config::{LayerConfig, SharedConfig};
use super::future::ResponseFuture;
use super::respond::{Respond, Unchanged};
use crate::core::error_code::ProvideErrorCode;
use crate::core::policy::RetryPolicy;

/// Retries the inner service while its error classifies as retry-after-wait. Built by
/// [`InstanceRefreshRetryLayer`](crate::InstanceRefreshRetryLayer); see the
/// [crate docs](crate#the-tower-layer).
///
/// Each call has its own schedule and its own duplicate guard: concurrent calls share nothing.
/// `K` says how a success comes back: [`Unchanged`] (the default) or
/// [`WithStats`](crate::WithStats).
///
/// ```
/// use instance_refresh_retry::{InstanceRefreshRetry, Jitter, RetryPolicy};
/// use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
/// use std::time::Duration;
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
/// # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
/// # use aws_smithy_runtime_api::http::{Response, StatusCode};
/// # use aws_smithy_types::body::SdkBody;
/// # fn in_progress() -> instance_refresh_retry::StartInstanceRefreshSdkError {
/// #     let fault = InstanceRefreshInProgressFault::builder().build();
/// #     let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
/// #     aws_smithy_runtime_api::client::result::SdkError::service_error(
/// #         StartInstanceRefreshError::InstanceRefreshInProgressFault(fault), raw)
/// # }
/// let calls = &AtomicU32::new(0); // refused twice with InstanceRefreshInProgress, then started
/// let inner = service_fn(move |_: ()| async move {
///     if calls.fetch_add(1, SeqCst) < 2 { Err(in_progress()) } else { Ok("r-1") }
/// });
/// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
/// let start = tokio::time::Instant::now(); // paused: waiting takes no real time
/// assert_eq!(InstanceRefreshRetry::new(inner, policy).oneshot(()).await?, "r-1");
/// assert_eq!(start.elapsed(), Duration::from_secs(5 + 10));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct InstanceRefreshRetry<S, K = Unchanged> {
    inner: S,
    config: SharedConfig,
    _respond: PhantomData<fn() -> K>,
}

impl<S: Clone, K> Clone for InstanceRefreshRetry<S, K> {
    fn clone(&self) -> Self {
        InstanceRefreshRetry {
            inner: self.inner.clone(),
            config: self.config.clone(),
            _respond: PhantomData,
        }
    }
}

impl<S> InstanceRefreshRetry<S> {
    /// Wraps `inner` with `policy` and the layer's [defaults](crate::InstanceRefreshRetryLayer#defaults).
    /// Same as `InstanceRefreshRetryLayer::new(policy).layer(inner)`.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy, StartInstanceRefreshService};
    ///
    /// # fn doc(client: aws_sdk_autoscaling::Client) {
    /// let svc = InstanceRefreshRetry::new(StartInstanceRefreshService::new(client), RetryPolicy::default());
    /// # let _ = svc;
    /// # }
    /// ```
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        InstanceRefreshRetry::from_config(inner, SharedConfig::new(LayerConfig::new(policy)))
    }
}

impl<S, K> InstanceRefreshRetry<S, K> {
    pub(crate) fn from_config(inner: S, config: SharedConfig) -> Self {
        InstanceRefreshRetry {
            inner,
            config,
            _respond: PhantomData,
        }
    }

    /// The policy applied to each call.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy};
    /// use tower::service_fn;
    ///
    /// # type Error = instance_refresh_retry::StartInstanceRefreshSdkError;
    /// let inner = service_fn(|n: u32| async move { Ok::<_, Error>(n) });
    /// let svc = InstanceRefreshRetry::new(inner, RetryPolicy::builder().max_attempts(5).build()?);
    /// assert_eq!(svc.policy().max_attempts(), Some(5));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.settings.policy
    }

    /// The wrapped service.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy};
    /// use instance_refresh_retry::StartInstanceRefreshService;
    ///
    /// # let config = aws_sdk_autoscaling::Config::builder()
    /// #     .behavior_version(aws_sdk_autoscaling::config::BehaviorVersion::latest())
    /// #     .region(aws_sdk_autoscaling::config::Region::new("eu-west-1"))
    /// #     .build();
    /// # let client = aws_sdk_autoscaling::Client::from_conf(config);
    /// let inner = StartInstanceRefreshService::new(client);
    /// let svc = InstanceRefreshRetry::new(inner, RetryPolicy::default());
    /// let region = svc.get_ref().client().config().region();
    /// assert_eq!(region.map(|r| r.as_ref()), Some("eu-west-1"));
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy};
    /// use instance_refresh_retry::StartInstanceRefreshService;
    ///
    /// # let config = aws_sdk_autoscaling::Config::builder()
    /// #     .behavior_version(aws_sdk_autoscaling::config::BehaviorVersion::latest())
    /// #     .region(aws_sdk_autoscaling::config::Region::new("eu-west-1"))
    /// #     .build();
    /// # let client = aws_sdk_autoscaling::Client::from_conf(config);
    /// let inner = StartInstanceRefreshService::new(client);
    /// let svc = InstanceRefreshRetry::new(inner, RetryPolicy::default());
    /// // Back to one `StartInstanceRefresh` per call, without waits:
    /// let inner: StartInstanceRefreshService = svc.into_inner();
    /// assert_eq!(inner.client().config().region().map(|r| r.as_ref()), Some("eu-west-1"));
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, K, Req> Service<Req> for InstanceRefreshRetry<S, K>
where
    S: Service<Req> + Clone,
    S::Error: ProvideErrorCode,
    Req: Clone,
    K: Respond<S::Response>,
{
    type Response = K::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, Req, S::Future, K>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        // The first attempt uses the service that was driven to readiness; retries use the clone.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::start(ready, request, self.config.clone(), K::NEEDS_STATS)
    }
}
