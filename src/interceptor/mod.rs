//! The SDK interceptor and its retry classifier. The user-facing documentation is in the crate
//! docs, section [The SDK interceptor](crate#the-sdk-interceptor).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::Builder;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
use aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::classify::Classifier;
use crate::policy::RetryPolicy;
use crate::sdk_service::StartInstanceRefreshSdkError;
use crate::stats::{OnFinish, RetryStats};

#[cfg(doc)]
use crate::stats::RetryOutcome;

mod classifier;
pub(crate) mod guard;
mod hooks;

/// What the interceptor of one installation needs.
#[derive(Debug, Clone)]
struct Settings {
    policy: RetryPolicy,
    classifier: Classifier,
    related_operations: bool,
    on_finish: Option<OnFinish>,
}

/// Everything the SDK interceptor can be configured with; the extension traits' simple methods
/// are shorthands for [`InstanceRefreshRetryConfig::new`]. See the
/// [crate docs](crate#the-sdk-interceptor) for how it works.
///
/// # Defaults
///
/// | field | default |
/// |---|---|
/// | `classifier` | [`Classifier::default()`]: `InstanceRefreshInProgress` only |
/// | `related_operations` | `false`: `StartInstanceRefresh` only |
/// | `on_finish` | none |
///
/// ```
/// use instance_refresh_retry::{AutoScalingConfigExt, Classifier, InstanceRefreshRetryConfig, RetryPolicy};
///
/// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default())
///     .classifier(Classifier::default().with_code("ResourceContention"))
///     .related_operations(true)
///     .on_finish(|stats| println!("{stats}"));
/// let config = aws_sdk_autoscaling::Config::builder()
///     .instance_refresh_retry_config(&retry)
///     .build();
/// # let _ = config;
/// ```
#[derive(Clone)]
#[must_use]
pub struct InstanceRefreshRetryConfig {
    settings: Settings,
}

impl fmt::Debug for InstanceRefreshRetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceRefreshRetryConfig")
            .field("policy", &self.settings.policy)
            .field("classifier", &self.settings.classifier)
            .field("related_operations", &self.settings.related_operations)
            .field("on_finish", &self.settings.on_finish)
            .finish()
    }
}

impl InstanceRefreshRetryConfig {
    /// Waits on this policy, with the [defaults](Self#defaults) for everything else.
    pub fn new(policy: RetryPolicy) -> Self {
        InstanceRefreshRetryConfig {
            settings: Settings {
                policy,
                classifier: Classifier::default(),
                related_operations: false,
                on_finish: None,
            },
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
        self.settings.related_operations = enabled;
        self
    }

    /// Calls `f` with the [`RetryStats`] of every handled call when it ends: success, an error
    /// passed through, the policy giving up, or the operation timeout.
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

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.settings.policy
    }

    /// Adds the interceptor and its retry classifier to a config builder.
    pub fn install(&self, mut builder: Builder) -> Builder {
        self.push_to(&mut builder);
        builder
    }

    /// A copy of `client` with the interceptor installed. The copy shares the client's HTTP
    /// client, credentials, sleep, time source and retry partition.
    pub fn apply_to_client(&self, client: &Client) -> Client {
        Client::from_conf(self.install(client.config().to_builder()).build())
    }

    /// A config override that installs the interceptor for one call, for any handled operation:
    /// `client.put_warm_pool()...customize().config_override(retry.config_override()).send()`.
    pub fn config_override(&self) -> Builder {
        self.install(Builder::default())
    }

    fn push_to(&self, builder: &mut Builder) {
        let settings = Arc::new(self.settings.clone());
        // The guard first: the interceptor reads what it marks on the same attempt.
        builder.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::new(
            guard::Guard,
        ));
        builder.push_interceptor(aws_sdk_autoscaling::config::SharedInterceptor::new(
            hooks::Interceptor::new(settings),
        ));
        builder.push_retry_classifier(
            aws_smithy_runtime_api::client::retries::classifiers::SharedRetryClassifier::new(
                classifier::Classifier,
            ),
        );
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for aws_sdk_autoscaling::config::Builder {}
    impl Sealed
        for aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder
    {
    }
}

/// Installs the SDK interceptor on an Auto Scaling config builder. See the
/// [crate docs](crate#the-sdk-interceptor).
///
/// ```
/// use instance_refresh_retry::{AutoScalingConfigExt, RetryPolicy};
///
/// let config = aws_sdk_autoscaling::Config::builder()
///     .instance_refresh_retry(RetryPolicy::default())
///     .build();
/// # let _ = config;
/// ```
pub trait AutoScalingConfigExt: sealed::Sealed {
    /// Waits out `InstanceRefreshInProgress` in StartInstanceRefresh on `policy`.
    #[must_use]
    fn instance_refresh_retry(self, policy: RetryPolicy) -> Self;

    /// Like [`instance_refresh_retry`](Self::instance_refresh_retry), with every setting.
    #[must_use]
    fn instance_refresh_retry_config(self, config: &InstanceRefreshRetryConfig) -> Self;
}

impl AutoScalingConfigExt for Builder {
    fn instance_refresh_retry(self, policy: RetryPolicy) -> Self {
        InstanceRefreshRetryConfig::new(policy).install(self)
    }

    fn instance_refresh_retry_config(self, config: &InstanceRefreshRetryConfig) -> Self {
        config.install(self)
    }
}

/// A copy of `client` whose StartInstanceRefresh waits out `InstanceRefreshInProgress` on
/// `policy`. See the [crate docs](crate#the-sdk-interceptor).
///
/// ```
/// use instance_refresh_retry::{with_instance_refresh_retry, RetryPolicy};
///
/// # fn doc(client: aws_sdk_autoscaling::Client) {
/// let client = with_instance_refresh_retry(&client, RetryPolicy::default());
/// # let _ = client;
/// # }
/// ```
pub fn with_instance_refresh_retry(client: &Client, policy: RetryPolicy) -> Client {
    InstanceRefreshRetryConfig::new(policy).apply_to_client(client)
}

/// Sends one StartInstanceRefresh with the interceptor installed for that call only. See the
/// [crate docs](crate#the-sdk-interceptor).
///
/// ```no_run
/// use instance_refresh_retry::{RetryPolicy, StartInstanceRefreshExt};
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let out = client
///     .start_instance_refresh()
///     .auto_scaling_group_name("web")
///     .send_with_retry(&RetryPolicy::default())
///     .await?;
/// # let _ = out;
/// # Ok(())
/// # }
/// ```
pub trait StartInstanceRefreshExt: sealed::Sealed {
    /// Sends the request, waiting out `InstanceRefreshInProgress` on `policy`.
    fn send_with_retry(
        self,
        policy: &RetryPolicy,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>>
    + Send
    + use<Self>;

    /// Like [`send_with_retry`](Self::send_with_retry), with every setting.
    fn send_with_retry_config(
        self,
        config: &InstanceRefreshRetryConfig,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>>
    + Send
    + use<Self>;
}

impl StartInstanceRefreshExt for StartInstanceRefreshFluentBuilder {
    fn send_with_retry(
        self,
        policy: &RetryPolicy,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>>
    + Send
    + use<> {
        self.send_with_retry_config(&InstanceRefreshRetryConfig::new(policy.clone()))
    }

    fn send_with_retry_config(
        self,
        config: &InstanceRefreshRetryConfig,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>>
    + Send
    + use<> {
        self.customize()
            .config_override(config.config_override())
            .send()
    }
}

/// The [`RetryStats`] of a call that failed after the interceptor handled it, read from the raw
/// response of the error. `None` for errors without a raw response (timeouts, dispatch failures)
/// and for calls the interceptor did not handle; use
/// [`InstanceRefreshRetryConfig::on_finish`] to see every call.
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
/// use aws_smithy_runtime_api::client::result::SdkError;
/// use aws_smithy_runtime_api::http::{Response, StatusCode};
/// use aws_smithy_types::body::SdkBody;
/// use aws_smithy_types::error::ErrorMetadata;
/// use instance_refresh_retry::retry_stats;
///
/// let err: SdkError<_, Response> = SdkError::service_error(
///     StartInstanceRefreshError::generic(ErrorMetadata::builder().code("ValidationError").build()),
///     Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()),
/// );
/// assert_eq!(retry_stats(&err), None); // not handled by the interceptor
/// ```
pub fn retry_stats<E>(err: &SdkError<E, HttpResponse>) -> Option<RetryStats> {
    err.raw_response()?.extension::<RetryStats>().copied()
}
