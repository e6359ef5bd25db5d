//! The SDK interceptor: install once on an Auto Scaling client, and `StartInstanceRefresh` waits
//! out a running refresh.
//!
//! An interceptor and a retry classifier work as a pair inside the SDK's own retry loop. For the
//! target operation the interceptor runs the [`RetryPolicy`] and hands each delay to the SDK
//! (through the classifier, as an explicit retry delay); the SDK does the sleeping, with the sleep
//! implementation and time source of the client. Every other operation, and every other error,
//! is left to the SDK's retry exactly as configured.
//!
//! # Installing it
//!
//! On a config builder, with [`AutoScalingConfigExt`]:
//!
//! ```
//! use aws_sdk_autoscaling::operation::start_instance_refresh::{
//!     StartInstanceRefreshError, StartInstanceRefreshOutput,
//! };
//! use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! use aws_smithy_async::test_util::instant_time_and_sleep;
//! use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! use instance_refresh_retry::{AutoScalingConfigExt, Jitter, RetryPolicy};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Three InstanceRefreshInProgress errors, then success.
//! let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//!     .sequence()
//!     .error(|| {
//!         StartInstanceRefreshError::InstanceRefreshInProgressFault(
//!             InstanceRefreshInProgressFault::builder().build(),
//!         )
//!     })
//!     .times(3)
//!     .output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build())
//!     .build();
//! // Virtual time: hours of waiting take no time at all.
//! let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//!
//! let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
//! let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |config| config
//! #   // (its body-throughput checks would log sleeps of their own)
//! #   .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//!     .sleep_impl(sleep.clone())
//!     .time_source(time.clone())
//!     .instance_refresh_retry(policy.clone()));
//!
//! let out = client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! assert_eq!(out.instance_refresh_id(), Some("r-1"));
//! let secs = Duration::from_secs;
//! assert_eq!(sleep.logs(), [secs(5), secs(10), secs(20)]);
//! # Ok(())
//! # }
//! ```
//!
//! With a real client the same line goes into the builder (here one made from `aws-config`'s
//! `SdkConfig`):
//!
//! ```no_run
//! use instance_refresh_retry::{AutoScalingConfigExt, RetryPolicy};
//!
//! # async fn doc(builder: aws_sdk_autoscaling::config::Builder) -> Result<(), Box<dyn std::error::Error>> {
//! // let builder = aws_sdk_autoscaling::config::Builder::from(&aws_config::load_from_env().await);
//! let config = builder
//!     .instance_refresh_retry(RetryPolicy::default())
//!     .build();
//! let client = aws_sdk_autoscaling::Client::from_conf(config);
//! client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! # Ok(())
//! # }
//! ```
//!
//! On an existing client, with [`with_instance_refresh_retry`] (the new client shares the old
//! one's HTTP client, credentials and retry partition):
//!
//! ```
//! # use aws_sdk_autoscaling::operation::start_instance_refresh::{StartInstanceRefreshError, StartInstanceRefreshOutput};
//! # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! # use aws_smithy_async::test_util::instant_time_and_sleep;
//! # use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! # use std::time::{Duration, UNIX_EPOCH};
//! use instance_refresh_retry::{with_instance_refresh_retry, Jitter, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//! #     .sequence()
//! #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
//! #         InstanceRefreshInProgressFault::builder().build()))
//! #     .times(2)
//! #     .output(|| StartInstanceRefreshOutput::builder().build())
//! #     .build();
//! # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//! # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
//! #     .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//! #     .sleep_impl(sleep.clone()).time_source(time.clone()));
//! let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
//! let client = with_instance_refresh_retry(&client, policy);
//! client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! assert_eq!(sleep.total_duration(), Duration::from_secs(15));
//! # Ok(())
//! # }
//! ```
//!
//! For one call, with [`StartInstanceRefreshExt`] (nothing else on the client changes):
//!
//! ```
//! # use aws_sdk_autoscaling::operation::start_instance_refresh::{StartInstanceRefreshError, StartInstanceRefreshOutput};
//! # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! # use aws_smithy_async::test_util::instant_time_and_sleep;
//! # use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! # use std::time::{Duration, UNIX_EPOCH};
//! use instance_refresh_retry::{retry_stats, Jitter, RetryOutcome, RetryPolicy, StartInstanceRefreshExt, StopReason};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//! #     .sequence()
//! #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
//! #         InstanceRefreshInProgressFault::builder().build()))
//! #     .times(4)
//! #     .build();
//! # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//! # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
//! #     .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//! #     .sleep_impl(sleep.clone()).time_source(time.clone()));
//! let policy = RetryPolicy::builder().jitter(Jitter::None).max_attempts(4).build()?;
//! let err = client
//!     .start_instance_refresh()
//!     .auto_scaling_group_name("web")
//!     .send_with_retry(&policy)
//!     .await
//!     .unwrap_err();
//! // The SDK's own error, unchanged...
//! assert!(err.as_service_error().unwrap().is_instance_refresh_in_progress_fault());
//! // ...with what the wait did beside it.
//! let stats = retry_stats(&err).unwrap();
//! assert_eq!(stats.attempts, 4);
//! assert_eq!(stats.waited, Duration::from_secs(5 + 10 + 20));
//! assert_eq!(stats.outcome, RetryOutcome::GaveUp(StopReason::MaxAttempts));
//! # Ok(())
//! # }
//! ```
//!
//! [`InstanceRefreshRetryConfig`] holds everything the shorthands above fix: a custom
//! [`Classifier`], the [related operations](InstanceRefreshRetryConfig::related_operations), and
//! an [`on_finish`](InstanceRefreshRetryConfig::on_finish) callback, which also sees successful
//! calls (a successful output has no room for [`RetryStats`]).
//!
//! # What changes, and what does not
//!
//! - The target operation retries `InstanceRefreshInProgress` (and any other code of the
//!   [`Classifier`]) on the policy's schedule, until `max_attempts` or `max_elapsed`; elapsed time
//!   is read from the client's time source, from the start of the SDK's retry loop. When the
//!   policy stops, the caller gets the SDK's error unchanged, with [`RetryStats`] on its raw
//!   response ([`retry_stats`]).
//! - Waits are free: they take no tokens from the client's retry partition, so after any number
//!   of waits every other operation still has its full retry quota.
//! - Every other error of the target operation (throttling, 5xx, timeouts, ...) is retried by the
//!   SDK as if the waits had not happened: the user's `max_attempts` counts those errors alone,
//!   their backoff is computed from their own count, and each of those retries takes tokens from
//!   the client's retry quota as usual. Three attempts stay three attempts, however long the
//!   refresh wait.
//! - Every other operation of the client is untouched: the interceptor does nothing for it.
//!
//! # The operation timeout
//!
//! The SDK's `operation_timeout` ([`TimeoutConfig`]) bounds the whole call, waits included: the
//! waits happen inside the SDK's retry loop. A call that is still waiting when it expires fails
//! with the SDK's timeout error ([`SdkError::TimeoutError`]), which has no raw response; its
//! [`RetryStats`] (outcome [`RetryOutcome::NotRetryable`]) reach `on_finish` only. Set it above
//! the policy's `max_elapsed`, or leave it unset, unless you want it to be the limit. The
//! `operation_attempt_timeout` applies to each attempt and never to a wait.
//!
//! [`TimeoutConfig`]: aws_smithy_types::timeout::TimeoutConfig
//!
//! # Differences from the SDK's retry
//!
//! - **Delays.** A classifier can already ask the SDK for an explicit delay, but the standard
//!   strategy caps it at `max_backoff` (20 s by default) and, under retry spec 2.1, clamps it to
//!   within 5 s of the SDK's own backoff. Here each delay is exactly the policy's: minutes, not
//!   seconds.
//! - **Attempts.** The SDK stops at `max_attempts` (3 by default); here waits stop at the
//!   policy's `max_attempts` and `max_elapsed` (one hour by default).
//! - **Quota.** Every SDK retry takes 5 to 14 tokens from a bucket of 500 shared by the whole
//!   retry partition, so 100 waits would starve the client. Waits here cost nothing.
//! - **Retry spec 2.0 and 2.1 behave the same.** For the one retry decision after a wait, the
//!   interceptor swaps in a copy of the user's `RetryConfig` with spec 2.0, standard mode, a
//!   `max_backoff` of at least the delay and room for one more attempt, plus an unlimited token
//!   bucket; the user's values come back before the next attempt. (The `AWS_NEW_RETRIES_2026`
//!   variable is read by `aws-config`, which turns it into that spec on the `RetryConfig`; this
//!   crate sees only the result.)
//! - **Adaptive mode.** The client-side rate limiter is neither consulted nor updated for waits.
//! - **Per call.** The schedule, the start time and the counters of a call live in that call's
//!   `ConfigBag`; concurrent calls on one client are independent.
//!
//! # Limits
//!
//! - Install the interceptor after any interceptor that rewrites an attempt's outcome (such as
//!   aws-smithy-mocks' `MockResponseInterceptor`): it reads the outcome in
//!   `modify_before_attempt_completion`. The extension traits append it, so installing it last
//!   is the natural order.
//! - When it is installed more than once (client-wide and per call), the last one installed acts
//!   alone; per-call settings win over client-wide ones.
//! - Its retry classifier runs after the SDK's classifiers. A classifier of your own with a
//!   higher priority that returns `RetryForbidden` stops the waiting.
//! - Retries need a sleep implementation on the client (every client built with
//!   `aws-config` or `BehaviorVersion` defaults has one).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::Builder;
use aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder;
use aws_sdk_autoscaling::operation::start_instance_refresh::{
    StartInstanceRefreshError, StartInstanceRefreshOutput,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::classify::Classifier;
use crate::policy::RetryPolicy;
use crate::stats::{OnFinish, RetryStats};

#[cfg(doc)]
use crate::stats::RetryOutcome;

mod classifier;
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
    ) -> impl Future<
        Output = Result<
            StartInstanceRefreshOutput,
            SdkError<StartInstanceRefreshError, HttpResponse>,
        >,
    > + Send
    + use<Self>;

    /// Like [`send_with_retry`](Self::send_with_retry), with every setting.
    fn send_with_retry_config(
        self,
        config: &InstanceRefreshRetryConfig,
    ) -> impl Future<
        Output = Result<
            StartInstanceRefreshOutput,
            SdkError<StartInstanceRefreshError, HttpResponse>,
        >,
    > + Send
    + use<Self>;
}

impl StartInstanceRefreshExt for StartInstanceRefreshFluentBuilder {
    fn send_with_retry(
        self,
        policy: &RetryPolicy,
    ) -> impl Future<
        Output = Result<
            StartInstanceRefreshOutput,
            SdkError<StartInstanceRefreshError, HttpResponse>,
        >,
    > + Send
    + use<> {
        self.send_with_retry_config(&InstanceRefreshRetryConfig::new(policy.clone()))
    }

    fn send_with_retry_config(
        self,
        config: &InstanceRefreshRetryConfig,
    ) -> impl Future<
        Output = Result<
            StartInstanceRefreshOutput,
            SdkError<StartInstanceRefreshError, HttpResponse>,
        >,
    > + Send
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
