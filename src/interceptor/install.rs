//! The ways to install the interceptor (a config builder, an existing client, one call), and
//! [`retry_stats`] to read what it did from an error.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::Builder;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
use aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::config::InstanceRefreshRetryConfig;
use crate::core::operation::StartInstanceRefreshSdkError;
use crate::core::outcome::{RetryOutcome, RetryStats};
#[cfg(doc)]
use crate::core::policy::RetryPolicy;

mod sealed {
    pub trait Sealed {}
    impl Sealed for aws_sdk_autoscaling::config::Builder {}
    impl Sealed
        for aws_sdk_autoscaling::operation::start_instance_refresh::builders::StartInstanceRefreshFluentBuilder
    {
    }
}

/// Installs the SDK interceptor on an Auto Scaling config builder: every client built from it
/// waits out `InstanceRefreshInProgress` in `StartInstanceRefresh`. See the
/// [crate docs](crate#the-sdk-interceptor).
///
/// ```
/// use instance_refresh_retry::{AutoScalingConfigExt, InstanceRefreshRetryConfig, RetryPolicy};
///
/// // A policy alone, with the defaults for everything else...
/// let config = aws_sdk_autoscaling::Config::builder()
///     .instance_refresh_retry(RetryPolicy::default())
///     .build();
/// // ...or every option.
/// let retry = InstanceRefreshRetryConfig::new(RetryPolicy::default()).related_operations(true);
/// let config = aws_sdk_autoscaling::Config::builder().instance_refresh_retry(&retry).build();
/// # let _ = config;
/// ```
pub trait AutoScalingConfigExt: sealed::Sealed {
    /// Installs the interceptor with `retry`: a [`RetryPolicy`] or an
    /// [`InstanceRefreshRetryConfig`].
    ///
    /// ```
    /// # use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::{
    /// #     StartInstanceRefreshError, StartInstanceRefreshOutput,
    /// # };
    /// # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// # use aws_smithy_async::test_util::instant_time_and_sleep;
    /// # use aws_smithy_mocks::{mock, mock_client, RuleMode};
    /// # use std::time::UNIX_EPOCH;
    /// use instance_refresh_retry::{AutoScalingConfigExt, Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
    /// #     .sequence()
    /// #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
    /// #         InstanceRefreshInProgressFault::builder().build()))
    /// #     .times(1)
    /// #     .output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build())
    /// #     .build();
    /// # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
    /// #   .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    /// #   .sleep_impl(sleep.clone()).time_source(time.clone())
    ///     .instance_refresh_retry(&policy));
    /// // Refused once with InstanceRefreshInProgress, then started after one wait.
    /// let out = client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
    /// assert_eq!(out.instance_refresh_id(), Some("r-1"));
    /// assert_eq!(sleep.logs(), [Duration::from_secs(5)]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    fn instance_refresh_retry(self, retry: impl Into<InstanceRefreshRetryConfig>) -> Self;
}

impl AutoScalingConfigExt for Builder {
    fn instance_refresh_retry(mut self, retry: impl Into<InstanceRefreshRetryConfig>) -> Self {
        retry.into().install(&mut self);
        self
    }
}

/// A copy of `client` whose `StartInstanceRefresh` waits out `InstanceRefreshInProgress`, with
/// `retry`: a [`RetryPolicy`] or an [`InstanceRefreshRetryConfig`]. The copy shares the client's
/// HTTP client, credentials, sleep, time source and retry partition. See the
/// [crate docs](crate#the-sdk-interceptor).
///
/// ```
/// use instance_refresh_retry::{with_instance_refresh_retry, RetryPolicy};
///
/// # fn doc(client: aws_sdk_autoscaling::Client) {
/// let client = with_instance_refresh_retry(&client, RetryPolicy::default());
/// # let _ = client;
/// # }
/// ```
pub fn with_instance_refresh_retry(
    client: &Client,
    retry: impl Into<InstanceRefreshRetryConfig>,
) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .instance_refresh_retry(retry)
            .build(),
    )
}

/// Sends one `StartInstanceRefresh` with the interceptor installed for that call only (nothing
/// else on the client changes). Both methods take a [`RetryPolicy`] or an
/// [`InstanceRefreshRetryConfig`]. See the [crate docs](crate#the-sdk-interceptor).
///
/// ```no_run
/// use instance_refresh_retry::{RetryPolicy, StartInstanceRefreshExt};
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let (out, stats) = client
///     .start_instance_refresh()
///     .auto_scaling_group_name("web")
///     .send_with_stats(&RetryPolicy::default())
///     .await?;
/// println!("started {} after {stats}", out.instance_refresh_id().unwrap_or_default());
/// # Ok(())
/// # }
/// ```
pub trait StartInstanceRefreshExt: sealed::Sealed {
    /// Sends the request, waiting out `InstanceRefreshInProgress` with `retry`.
    ///
    /// ```
    /// # use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::{
    /// #     StartInstanceRefreshError, StartInstanceRefreshOutput,
    /// # };
    /// # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// # use aws_smithy_async::test_util::instant_time_and_sleep;
    /// # use aws_smithy_mocks::{mock, mock_client, RuleMode};
    /// # use std::time::UNIX_EPOCH;
    /// use instance_refresh_retry::{Jitter, RetryPolicy, StartInstanceRefreshExt};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
    /// #     .sequence()
    /// #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
    /// #         InstanceRefreshInProgressFault::builder().build()))
    /// #     .times(3)
    /// #     .output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build())
    /// #     .build();
    /// # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
    /// #     .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    /// #     .sleep_impl(sleep.clone()).time_source(time.clone()));
    /// // A plain `send()` fails at once: the client itself is unchanged...
    /// let plain = client.start_instance_refresh().auto_scaling_group_name("web").send().await;
    /// assert!(plain.unwrap_err().into_service_error().is_instance_refresh_in_progress_fault());
    /// // ...while this call waits out the refresh in progress (two more refusals).
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let start = client.start_instance_refresh().auto_scaling_group_name("web");
    /// let out = start.send_with_retry(&policy).await?;
    /// assert_eq!(out.instance_refresh_id(), Some("r-1"));
    /// assert_eq!(sleep.total_duration(), Duration::from_secs(5 + 10));
    /// # Ok(())
    /// # }
    /// ```
    fn send_with_retry(
        self,
        retry: impl Into<InstanceRefreshRetryConfig>,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>> + Send;

    /// Like [`send_with_retry`](Self::send_with_retry), and a success comes with its
    /// [`RetryStats`]. An error is the SDK's own, unchanged; read its stats with
    /// [`retry_stats`].
    ///
    /// ```
    /// # use aws_sdk_autoscaling::config::StalledStreamProtectionConfig;
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::{
    /// #     StartInstanceRefreshError, StartInstanceRefreshOutput,
    /// # };
    /// # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// # use aws_smithy_async::test_util::instant_time_and_sleep;
    /// # use aws_smithy_mocks::{mock, mock_client, RuleMode};
    /// # use std::time::UNIX_EPOCH;
    /// use instance_refresh_retry::{Jitter, RetryOutcome, RetryPolicy, StartInstanceRefreshExt};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
    /// #     .sequence()
    /// #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
    /// #         InstanceRefreshInProgressFault::builder().build()))
    /// #     .times(2)
    /// #     .output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build())
    /// #     .build();
    /// # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
    /// # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
    /// #     .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    /// #     .sleep_impl(sleep.clone()).time_source(time.clone()));
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let start = client.start_instance_refresh().auto_scaling_group_name("web");
    /// let (out, stats) = start.send_with_stats(&policy).await?;
    /// assert_eq!(out.instance_refresh_id(), Some("r-1"));
    /// assert_eq!(stats.attempts, 3);
    /// assert_eq!(stats.waited, Duration::from_secs(5 + 10));
    /// assert_eq!(stats.outcome, RetryOutcome::Succeeded);
    /// # Ok(())
    /// # }
    /// ```
    fn send_with_stats(
        self,
        retry: impl Into<InstanceRefreshRetryConfig>,
    ) -> impl Future<
        Output = Result<(StartInstanceRefreshOutput, RetryStats), StartInstanceRefreshSdkError>,
    > + Send;
}

impl StartInstanceRefreshExt for StartInstanceRefreshFluentBuilder {
    fn send_with_retry(
        self,
        retry: impl Into<InstanceRefreshRetryConfig>,
    ) -> impl Future<Output = Result<StartInstanceRefreshOutput, StartInstanceRefreshSdkError>> + Send
    {
        self.customize()
            .config_override(retry.into().config_override())
            .send()
    }

    fn send_with_stats(
        self,
        retry: impl Into<InstanceRefreshRetryConfig>,
    ) -> impl Future<
        Output = Result<(StartInstanceRefreshOutput, RetryStats), StartInstanceRefreshSdkError>,
    > + Send {
        let slot: Arc<Mutex<Option<RetryStats>>> = Arc::default();
        let sink = Arc::clone(&slot);
        let retry = retry.into().also_on_finish(move |stats| {
            *sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(*stats);
        });
        let send = self.send_with_retry(retry);
        async move {
            let output = send.await?;
            let stats = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            // The interceptor reports every call it handled, and it handles this one.
            debug_assert!(stats.is_some(), "the interceptor reported no stats");
            let stats = stats.unwrap_or(RetryStats::new(
                1,
                Duration::ZERO,
                Duration::ZERO,
                RetryOutcome::Succeeded,
            ));
            Ok((output, stats))
        }
    }
}

/// The [`RetryStats`] of a call that failed after the interceptor handled it, read from the raw
/// response of the error. `None` for errors without a raw response (the operation timeout,
/// attempt timeouts, dispatch failures) and for calls the interceptor did not handle; use
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
