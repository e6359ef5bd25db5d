//! [`InstanceRefreshRetryLayer`] and its options.

use std::marker::PhantomData;
use std::sync::Arc;

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use tower::Layer;

use super::config::{LayerConfig, SharedConfig};
use super::respond::{Unchanged, WithStats};
use super::service::InstanceRefreshRetry;
use crate::core::classify::Classifier;
use crate::core::outcome::{OnFinish, OnRetry, RetryEvent, RetryStats};
use crate::core::policy::RetryPolicy;

/// A tower [`Layer`] that retries `InstanceRefreshInProgress` (and any other code the
/// [`Classifier`] is given) on a [`RetryPolicy`] schedule. See the
/// [crate docs](crate#the-tower-layer) for the overview.
///
/// The wrapped service takes any `Clone` request, and its error must implement
/// [`ProvideErrorCode`](crate::ProvideErrorCode): the SDK's `SdkError`, the `BoxError` of tower
/// middleware such as `Timeout` around it, or an error type of your own. The service must be
/// `Clone`, since each retry calls a clone. A success comes back unchanged, or with its
/// [`RetryStats`] after [`with_stats`](Self::with_stats).
///
/// # Defaults
///
/// | option | default |
/// |---|---|
/// | `classifier` | [`Classifier::default()`]: `InstanceRefreshInProgress` only |
/// | `sleep_impl` | tokio's sleep |
/// | `time_source` | tokio's clock, so that `tokio::time::pause()` covers `max_elapsed` too |
/// | `on_retry`, `on_finish` | none |
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
#[derive(Debug)]
pub struct InstanceRefreshRetryLayer<K = Unchanged> {
    config: SharedConfig,
    _respond: PhantomData<fn() -> K>,
}

impl<K> Clone for InstanceRefreshRetryLayer<K> {
    fn clone(&self) -> Self {
        InstanceRefreshRetryLayer {
            config: self.config.clone(),
            _respond: PhantomData,
        }
    }
}

impl InstanceRefreshRetryLayer {
    /// A layer with this policy and the [defaults](Self#defaults).
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # type Error = instance_refresh_retry::StartInstanceRefreshSdkError;
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default());
    /// let svc = layer.layer(service_fn(|group: &'static str| async move {
    ///     Ok::<_, Error>(format!("refresh of {group}"))
    /// }));
    /// assert_eq!(svc.oneshot("web").await.unwrap(), "refresh of web");
    /// # }
    /// ```
    pub fn new(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryLayer {
            config: SharedConfig::new(LayerConfig::new(policy)),
            _respond: PhantomData,
        }
    }

    /// Hands back each success together with its [`RetryStats`], as
    /// `(response, stats)`. Errors still come back unchanged.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryOutcome, RetryPolicy};
    /// use tower::{Layer, ServiceExt, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # type Error = instance_refresh_retry::StartInstanceRefreshSdkError;
    /// let inner = service_fn(|group: &'static str| async move { Ok::<_, Error>(format!("refresh of {group}")) });
    /// let svc = InstanceRefreshRetryLayer::new(RetryPolicy::default()).with_stats().layer(inner);
    /// let (id, stats) = svc.oneshot("web").await.unwrap();
    /// assert_eq!(id, "refresh of web");
    /// assert_eq!((stats.attempts, stats.outcome), (1, RetryOutcome::Succeeded));
    /// # }
    /// ```
    pub fn with_stats(self) -> InstanceRefreshRetryLayer<WithStats> {
        InstanceRefreshRetryLayer {
            config: self.config,
            _respond: PhantomData,
        }
    }
}

impl<K> InstanceRefreshRetryLayer<K> {
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
        self.map_config(|c| c.settings.classifier = classifier)
    }

    /// Calls `f` before each wait, with the blocked attempt and the delay ([`RetryEvent`]).
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    ///
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default())
    ///     .on_retry(|event| println!("attempt {} blocked; next in {:?}", event.attempt, event.delay));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn on_retry<F>(self, f: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.map_config(|c| c.settings.on_retry = Some(OnRetry(Arc::new(f))))
    }

    /// Calls `f` with the [`RetryStats`] of every wrapped call when it ends: succeeded, passed an
    /// error through, gave up, or was dropped ([`RetryOutcome::Cancelled`]). The result itself
    /// is returned unchanged. `f` runs from the call's `poll`, or from its `Drop` for a
    /// cancellation (never while a panic unwinds).
    ///
    /// [`RetryOutcome::Cancelled`]: crate::RetryOutcome::Cancelled
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
        self.map_config(|c| c.settings.on_finish = Some(OnFinish(Arc::new(f))))
    }

    /// Sleeps with `sleep` instead of tokio's sleep, like the SDK's `sleep_impl`. Set a
    /// [`time_source`](Self::time_source) on the same clock.
    ///
    /// ```
    /// use aws_smithy_async::test_util::instant_time_and_sleep;
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    /// use std::time::UNIX_EPOCH;
    ///
    /// // The SDK's test clock: sleeps return at once and advance the time source.
    /// let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default())
    ///     .sleep_impl(sleep)
    ///     .time_source(time);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn sleep_impl(self, sleep: impl AsyncSleep + 'static) -> Self {
        let sleep = SharedAsyncSleep::new(sleep);
        self.map_config(|c| c.sleep = sleep)
    }

    /// Measures `max_elapsed` and [`RetryStats::elapsed`] with `time` instead of tokio's clock,
    /// like the SDK's `time_source`.
    ///
    /// ```
    /// use aws_smithy_async::test_util::instant_time_and_sleep;
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, Jitter, RetryPolicy};
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower::{Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
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
    /// # let always_in_progress = tower::service_fn(|_: ()| async { Err::<(), _>(in_progress()) });
    /// let secs = Duration::from_secs;
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).max_elapsed(secs(60)).build()?;
    /// let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// let layer = InstanceRefreshRetryLayer::new(policy).sleep_impl(sleep.clone());
    /// let svc = layer.time_source(time).layer(always_in_progress);
    /// assert!(svc.oneshot(()).await.is_err());
    /// // The 60 s budget, spent on the test clock (the last wait cut to fit).
    /// assert_eq!(sleep.logs(), [secs(5), secs(10), secs(20), secs(25)]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn time_source(self, time: impl TimeSource + 'static) -> Self {
        let time = SharedTimeSource::new(time);
        self.map_config(|c| c.time = time)
    }

    /// The policy this layer applies.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    ///
    /// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::builder().max_attempts(5).build()?);
    /// assert_eq!(layer.policy().max_attempts(), Some(5));
    /// // The options keep it:
    /// assert_eq!(layer.with_stats().policy().max_attempts(), Some(5));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn policy(&self) -> &RetryPolicy {
        &self.config.settings.policy
    }

    fn map_config(self, f: impl FnOnce(&mut LayerConfig)) -> Self {
        let mut config = LayerConfig::clone(&self.config);
        f(&mut config);
        InstanceRefreshRetryLayer {
            config: SharedConfig::new(config),
            _respond: PhantomData,
        }
    }
}

impl<S, K> Layer<S> for InstanceRefreshRetryLayer<K> {
    type Service = InstanceRefreshRetry<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        InstanceRefreshRetry::from_config(inner, self.config.clone())
    }
}
