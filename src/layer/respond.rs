//! How [`InstanceRefreshRetry`](crate::InstanceRefreshRetry) hands back a success: [`Unchanged`],
//! or [`WithStats`].

use crate::core::outcome::RetryStats;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Unchanged {}
    impl Sealed for super::WithStats {}
}

/// How [`InstanceRefreshRetry`](crate::InstanceRefreshRetry) hands back a success: [`Unchanged`] or [`WithStats`]. Sealed.
///
/// ```
/// use instance_refresh_retry::{Respond, RetryOutcome, RetryStats, Unchanged, WithStats};
/// use std::time::Duration;
///
/// let secs = Duration::from_secs;
/// let stats = RetryStats::new(2, secs(5), secs(6), RetryOutcome::Succeeded);
/// assert_eq!(<Unchanged as Respond<&str>>::respond("r-1", stats), "r-1");
/// assert_eq!(<WithStats as Respond<&str>>::respond("r-1", stats), ("r-1", stats));
/// ```
pub trait Respond<T>: sealed::Sealed {
    /// The service's response.
    type Response;

    /// Whether the response needs the call's stats (and so the clock read at the first attempt).
    const NEEDS_STATS: bool;

    /// Builds the response from the inner service's response and the call's stats (see the
    /// [example](Respond)).
    fn respond(response: T, stats: RetryStats) -> Self::Response;
}

/// The inner service's response, unchanged (the default). The stats reach `on_finish`.
///
/// ```
/// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy, Unchanged};
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # type Error = instance_refresh_retry::StartInstanceRefreshSdkError;
/// let inner = service_fn(|n: u32| async move { Ok::<_, Error>(n * 2) });
/// let policy = RetryPolicy::default();
/// let svc: InstanceRefreshRetry<_, Unchanged> = InstanceRefreshRetry::new(inner, policy);
/// assert_eq!(svc.oneshot(21).await.unwrap(), 42);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Unchanged;

/// The inner service's response together with the call's [`RetryStats`]:
/// `(response, stats)`. Set with
/// [`InstanceRefreshRetryLayer::with_stats`](crate::InstanceRefreshRetryLayer::with_stats).
///
/// ```
/// use instance_refresh_retry::{InstanceRefreshRetry, InstanceRefreshRetryLayer, Jitter};
/// use instance_refresh_retry::{RetryPolicy, WithStats};
/// use std::time::Duration;
/// use tower::{Layer, ServiceExt};
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
/// # let calls = &std::sync::atomic::AtomicU32::new(0);
/// # let inner = tower::service_fn(move |_: ()| async move {
/// #     use std::sync::atomic::Ordering::SeqCst;
/// #     if calls.fetch_add(1, SeqCst) == 0 { Err(in_progress()) } else { Ok("r-1") }
/// # });
/// // `inner` is refused once with InstanceRefreshInProgress, then answers "r-1".
/// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
/// let svc: InstanceRefreshRetry<_, WithStats> =
///     InstanceRefreshRetryLayer::new(policy).with_stats().layer(inner);
/// let (id, stats) = svc.oneshot(()).await?;
/// assert_eq!((id, stats.attempts, stats.waited), ("r-1", 2, Duration::from_secs(5)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WithStats;

impl<T> Respond<T> for Unchanged {
    type Response = T;

    const NEEDS_STATS: bool = false;

    fn respond(response: T, _stats: RetryStats) -> T {
        response
    }
}

impl<T> Respond<T> for WithStats {
    type Response = (T, RetryStats);

    const NEEDS_STATS: bool = true;

    fn respond(response: T, stats: RetryStats) -> (T, RetryStats) {
        (response, stats)
    }
}
