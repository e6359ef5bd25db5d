//! [`InstanceRefreshRetryConfig`]: the options of the SDK interceptor, and how it is put on a
//! config.

use std::fmt;
use std::sync::Arc;

use aws_sdk_autoscaling::config::{Builder, SharedInterceptor};

use super::directive::DirectiveClassifier;
use super::retry_interceptor::RetryInterceptor;
use crate::core::classify::Classifier;
use crate::core::guard::Guard;
use crate::core::outcome::{OnFinish, OnRetry, RetryEvent, RetryStats};
use crate::core::policy::RetryPolicy;
use crate::core::settings::Settings;

/// Everything the SDK interceptor can be configured with. Every way to install it takes one
/// (`impl Into<InstanceRefreshRetryConfig>`), and a [`RetryPolicy`] converts into one with the
/// [defaults](Self#defaults). See the [crate docs](crate#the-sdk-interceptor) for how it works.
///
/// # Defaults
///
/// | field | default |
/// |---|---|
/// | `classifier` | [`Classifier::default()`]: `InstanceRefreshInProgress` only |
/// | `related_operations` | `false`: `StartInstanceRefresh` only |
/// | `on_retry`, `on_finish` | none |
///
/// ```
/// use instance_refresh_retry::{AutoScalingConfigExt, Classifier, InstanceRefreshRetryConfig, RetryPolicy};
///
/// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default())
///     .classifier(Classifier::default().with_code("ResourceContention"))
///     .related_operations(true)
///     .on_finish(|stats| println!("{stats}"));
/// let config = aws_sdk_autoscaling::Config::builder()
///     .instance_refresh_retry(&retry)
///     .build();
/// # let _ = config;
/// ```
#[derive(Clone)]
#[must_use]
pub struct InstanceRefreshRetryConfig {
    settings: Settings,
    related_operations: bool,
}

impl fmt::Debug for InstanceRefreshRetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceRefreshRetryConfig")
            .field("policy", &self.settings.policy)
            .field("classifier", &self.settings.classifier)
            .field("related_operations", &self.related_operations)
            .field("on_retry", &self.settings.on_retry)
            .field("on_finish", &self.settings.on_finish)
            .finish()
    }
}

impl InstanceRefreshRetryConfig {
    /// Waits on this policy, with the [defaults](Self#defaults) for everything else.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryConfig, RetryPolicy};
    ///
    /// let policy = RetryPolicy::builder().max_attempts(5).build()?;
    /// let retry = InstanceRefreshRetryConfig::new(policy);
    /// assert_eq!(retry.policy().max_attempts(), Some(5));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn new(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryConfig {
            settings: Settings::new(policy),
            related_operations: false,
        }
    }

    /// Replaces the classifier, for example to also wait out `ResourceContention`.
    ///
    /// ```
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::{
    /// #     StartInstanceRefreshError, StartInstanceRefreshOutput,
    /// # };
    /// # use aws_sdk_autoscaling::types::error::ResourceContentionFault;
    /// # use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
    /// # use aws_smithy_async::test_util::instant_time_and_sleep;
    /// # use aws_smithy_mocks::{mock, mock_client, RuleMode};
    /// # use std::time::UNIX_EPOCH;
    /// use instance_refresh_retry::{AutoScalingConfigExt, Classifier, InstanceRefreshRetryConfig};
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
    /// #     .sequence()
    /// #     .error(|| StartInstanceRefreshError::ResourceContentionFault(
    /// #         ResourceContentionFault::builder().build()))
    /// #     .output(|| StartInstanceRefreshOutput::builder().build())
    /// #     .build();
    /// # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let retry = InstanceRefreshRetryConfig::new(policy)
    ///     .classifier(Classifier::default().with_code("ResourceContention"));
    /// let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
    /// #   .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    /// #   .sleep_impl(sleep.clone()).time_source(time.clone())
    ///     .instance_refresh_retry(&retry));
    /// // Refused once with ResourceContention, then started after one wait.
    /// client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
    /// assert_eq!(sleep.logs(), [Duration::from_secs(5)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn classifier(mut self, classifier: Classifier) -> Self {
        self.settings.classifier = classifier;
        self
    }

    /// Also waits in AttachLoadBalancers, AttachLoadBalancerTargetGroups, AttachTrafficSources
    /// and PutWarmPool, which Auto Scaling also refuses with `InstanceRefreshInProgress`.
    /// Default `false`.
    ///
    /// ```
    /// # use aws_sdk_autoscaling::operation::put_warm_pool::{PutWarmPoolError, PutWarmPoolOutput};
    /// # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// # use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
    /// # use aws_smithy_async::test_util::instant_time_and_sleep;
    /// # use aws_smithy_mocks::{mock, mock_client, RuleMode};
    /// # use std::time::UNIX_EPOCH;
    /// use instance_refresh_retry::{AutoScalingConfigExt, InstanceRefreshRetryConfig};
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rule = mock!(aws_sdk_autoscaling::Client::put_warm_pool)
    /// #     .sequence()
    /// #     .error(|| PutWarmPoolError::InstanceRefreshInProgressFault(
    /// #         InstanceRefreshInProgressFault::builder().build()))
    /// #     .times(2)
    /// #     .output(|| PutWarmPoolOutput::builder().build())
    /// #     .build();
    /// # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let retry = InstanceRefreshRetryConfig::new(policy).related_operations(true);
    /// let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
    /// #   .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    /// #   .sleep_impl(sleep.clone()).time_source(time.clone())
    ///     .instance_refresh_retry(&retry));
    /// // PutWarmPool, refused twice with InstanceRefreshInProgress, waits too.
    /// client.put_warm_pool().auto_scaling_group_name("web").send().await?;
    /// assert_eq!(sleep.logs(), [Duration::from_secs(5), Duration::from_secs(10)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn related_operations(mut self, enabled: bool) -> Self {
        self.related_operations = enabled;
        self
    }

    /// Calls `f` with the [`RetryStats`] of every handled call when it ends: success, an error
    /// passed through, the call giving up, or the operation timeout. A `.send()` future that is
    /// dropped reports nothing; bound the call with the SDK's `operation_timeout` instead.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryConfig, RetryPolicy};
    ///
    /// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default())
    ///     .on_finish(|stats| tracing::info!(%stats, "StartInstanceRefresh finished"));
    /// # let _ = retry;
    /// ```
    pub fn on_finish<F>(mut self, f: F) -> Self
    where
        F: Fn(&RetryStats) + Send + Sync + 'static,
    {
        self.settings.on_finish = Some(OnFinish(Arc::new(f)));
        self
    }

    /// Calls `f` before each wait, with the blocked attempt and the delay ([`RetryEvent`]).
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryConfig, RetryPolicy};
    ///
    /// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default()).on_retry(|event| {
    ///     tracing::info!(attempt = event.attempt, delay = ?event.delay, "StartInstanceRefresh blocked")
    /// });
    /// # let _ = retry;
    /// ```
    pub fn on_retry<F>(mut self, f: F) -> Self
    where
        F: Fn(&RetryEvent<'_>) + Send + Sync + 'static,
    {
        self.settings.on_retry = Some(OnRetry(Arc::new(f)));
        self
    }

    /// The policy.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryConfig, InstanceRefreshRetryLayer};
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// let policy = RetryPolicy::builder().max_attempts(5).build()?;
    /// let retry = InstanceRefreshRetryConfig::new(policy);
    /// // The same schedule on the tower path:
    /// let layer = InstanceRefreshRetryLayer::new(retry.policy().clone());
    /// assert_eq!(layer.policy().max_attempts(), Some(5));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn policy(&self) -> &RetryPolicy {
        &self.settings.policy
    }

    /// A config override that installs the interceptor for one call of any handled operation;
    /// for `StartInstanceRefresh`, [`send_with_retry`](crate::StartInstanceRefreshExt::send_with_retry)
    /// says the same more briefly.
    ///
    /// ```no_run
    /// use instance_refresh_retry::{InstanceRefreshRetryConfig, RetryPolicy};
    ///
    /// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), aws_sdk_autoscaling::Error> {
    /// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default()).related_operations(true);
    /// client
    ///     .put_warm_pool()
    ///     .auto_scaling_group_name("web")
    ///     .customize()
    ///     .config_override(retry.config_override())
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn config_override(&self) -> Builder {
        let mut builder = Builder::default();
        self.install(&mut builder);
        builder
    }

    /// A copy with `on_finish` also handing the stats to `also` (for `send_with_stats`).
    pub(super) fn also_on_finish(
        &self,
        also: impl Fn(&RetryStats) + Send + Sync + 'static,
    ) -> Self {
        let user = self.settings.on_finish.clone();
        self.clone().on_finish(move |stats| {
            if let Some(user) = &user {
                (user.0)(stats);
            }
            also(stats);
        })
    }

    /// Adds the duplicate guard, the interceptor and its retry classifier to a config builder.
    pub(super) fn install(&self, builder: &mut Builder) {
        let settings = Arc::new(self.settings.clone());
        // The guard first: the interceptor reads what it learned about the same attempt.
        // Permanent: the SDK's interceptor loop then skips its `DisableInterceptor` lookup in
        // the config bag for each of their hooks (and only their overridden hooks are called).
        builder.push_interceptor(SharedInterceptor::permanent(Guard));
        builder.push_interceptor(SharedInterceptor::permanent(RetryInterceptor::new(
            settings,
            self.related_operations,
        )));
        builder.push_retry_classifier(
            aws_smithy_runtime_api::client::retries::classifiers::SharedRetryClassifier::new(
                DirectiveClassifier,
            ),
        );
    }
}

impl From<RetryPolicy> for InstanceRefreshRetryConfig {
    fn from(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryConfig::new(policy)
    }
}

impl From<&RetryPolicy> for InstanceRefreshRetryConfig {
    fn from(policy: &RetryPolicy) -> Self {
        InstanceRefreshRetryConfig::new(policy.clone())
    }
}

impl From<&InstanceRefreshRetryConfig> for InstanceRefreshRetryConfig {
    fn from(config: &InstanceRefreshRetryConfig) -> Self {
        config.clone()
    }
}
