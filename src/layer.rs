//! The tower [`Layer`] that applies a [`RetryPolicy`] around a service.

use std::sync::Arc;

use tower::Layer;

use crate::classify::Classifier;
use crate::policy::RetryPolicy;
use crate::service::InstanceRefreshRetry;
use crate::stats::{OnFinish, RetryStats};

/// What the layer and every service it builds share.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) policy: RetryPolicy,
    pub(crate) classifier: Classifier,
    pub(crate) on_finish: Option<OnFinish>,
}

/// A tower [`Layer`] that retries `InstanceRefreshInProgress` (and any other code the
/// [`Classifier`] is given) on a [`RetryPolicy`] schedule. See the [crate docs](crate) for the
/// overview.
///
/// The wrapped service takes any `Clone` request and fails with
/// [`SdkError<E, R>`](aws_smithy_runtime_api::client::result::SdkError); it must be `Clone`, since
/// each retry calls a clone. Waiting uses [`tokio::time::sleep`], so under
/// `tokio::time::pause()` hours of waiting take milliseconds.
///
/// ```
/// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy, StartInstanceRefreshService};
/// use std::time::Duration;
/// use tower::ServiceBuilder;
///
/// # fn doc(client: aws_sdk_autoscaling::Client) {
/// let service = ServiceBuilder::new()
///     .layer(InstanceRefreshRetryLayer::new(RetryPolicy::default()))
///     .timeout(Duration::from_secs(30)) // per attempt
///     .service(StartInstanceRefreshService::new(client));
/// # let _ = service;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct InstanceRefreshRetryLayer {
    config: Arc<Config>,
}

impl InstanceRefreshRetryLayer {
    /// A layer with this policy and the [default classifier](Classifier::default).
    pub fn new(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryLayer {
            config: Arc::new(Config {
                policy,
                classifier: Classifier::default(),
                on_finish: None,
            }),
        }
    }

    /// Replaces the classifier, for example to also wait out `ResourceContention`.
    ///
    /// ```
    /// use instance_refresh_retry::{Classifier, InstanceRefreshRetryLayer, RetryPolicy};
    ///
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default())
    ///     .classifier(Classifier::default().with_code("ResourceContention"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn classifier(self, classifier: Classifier) -> Self {
        self.map_config(|c| c.classifier = classifier)
    }

    /// Calls `f` with the [`RetryStats`] of every wrapped call when it ends, whether it succeeded,
    /// passed an error through, or gave up. The result itself is returned unchanged.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    ///
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default()).on_finish(|stats| {
    ///     println!("StartInstanceRefresh: {stats}");
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn on_finish<F>(self, f: F) -> Self
    where
        F: Fn(&RetryStats) + Send + Sync + 'static,
    {
        self.map_config(|c| c.on_finish = Some(OnFinish(Arc::new(f))))
    }

    /// The policy this layer applies.
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.policy
    }

    fn map_config(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::clone(&self.config);
        f(&mut config);
        InstanceRefreshRetryLayer {
            config: Arc::new(config),
        }
    }
}

impl<S> Layer<S> for InstanceRefreshRetryLayer {
    type Service = InstanceRefreshRetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InstanceRefreshRetry::from_config(inner, self.config.clone())
    }
}
