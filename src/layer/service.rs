//! [`InstanceRefreshRetry`], the tower [`Service`] built by
//! [`InstanceRefreshRetryLayer`](crate::InstanceRefreshRetryLayer).

use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::Service;

use super::config::LayerConfig;
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
#[derive(Debug)]
pub struct InstanceRefreshRetry<S, K = Unchanged> {
    inner: S,
    config: Arc<LayerConfig>,
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
        InstanceRefreshRetry::from_config(inner, Arc::new(LayerConfig::new(policy)))
    }
}

impl<S, K> InstanceRefreshRetry<S, K> {
    pub(crate) fn from_config(inner: S, config: Arc<LayerConfig>) -> Self {
        InstanceRefreshRetry {
            inner,
            config,
            _respond: PhantomData,
        }
    }

    /// The policy applied to each call.
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.settings.policy
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
