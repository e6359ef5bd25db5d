//! [`InstanceRefreshRetryConfig`]: the options of the SDK interceptor, and how it is put on a
//! config.

use std::fmt;
use std::sync::Arc;

use aws_sdk_autoscaling::config::Builder;

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
    pub fn new(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryConfig {
            settings: Settings::new(policy),
            related_operations: false,
        }
    }

    /// Replaces the classifier, for example to also wait out `ResourceContention`.
    pub fn classifier(mut self, classifier: Classifier) -> Self {
        self.settings.classifier = classifier;
        self
    }

    /// Also waits in AttachLoadBalancers, AttachLoadBalancerTargetGroups, AttachTrafficSources
    /// and PutWarmPool, which Auto Scaling also refuses with `InstanceRefreshInProgress`.
    /// Default `false`.
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
        builder.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::new(Guard));
        builder.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::new(
            RetryInterceptor::new(settings, self.related_operations),
        ));
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
