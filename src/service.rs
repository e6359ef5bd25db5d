//! The tower [`Service`] built by [`InstanceRefreshRetryLayer`](crate::InstanceRefreshRetryLayer).

use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use crate::classify::ProvideErrorCode;
use crate::future::ResponseFuture;
use crate::layer::{Config, InstanceRefreshRetryLayer};
use crate::policy::RetryPolicy;

/// Retries the inner service while its error classifies as retry-after-wait. Built by
/// [`InstanceRefreshRetryLayer`]; see the [crate docs](crate).
///
/// Each call has its own schedule: concurrent calls share no attempt counters.
#[derive(Debug, Clone)]
pub struct InstanceRefreshRetry<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> InstanceRefreshRetry<S> {
    /// Wraps `inner` with `policy` and the default classifier. Same as
    /// `InstanceRefreshRetryLayer::new(policy).layer(inner)`.
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
        use tower::Layer;
        InstanceRefreshRetryLayer::new(policy).layer(inner)
    }

    pub(crate) fn from_config(inner: S, config: Arc<Config>) -> Self {
        InstanceRefreshRetry { inner, config }
    }

    /// The policy applied to each call.
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.policy
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Req> Service<Req> for InstanceRefreshRetry<S>
where
    S: Service<Req> + Clone,
    S::Error: ProvideErrorCode,
    Req: Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S, Req, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The first attempt uses the service that was driven to readiness; retries use the clone.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let first = ready.call(request.clone());
        ResponseFuture::new(ready, request, first, self.config.clone())
    }
}
