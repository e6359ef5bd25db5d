//! How [`InstanceRefreshRetry`](crate::InstanceRefreshRetry) hands back a success: [`Unchanged`],
//! or [`WithStats`].

use crate::core::outcome::RetryStats;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Unchanged {}
    impl Sealed for super::WithStats {}
}

/// How [`InstanceRefreshRetry`](crate::InstanceRefreshRetry) hands back a success: [`Unchanged`] or [`WithStats`]. Sealed.
pub trait Respond<T>: sealed::Sealed {
    /// The service's response.
    type Response;

    /// Builds the response from the inner service's response and the call's stats.
    fn respond(response: T, stats: RetryStats) -> Self::Response;
}

/// The inner service's response, unchanged (the default). The stats reach `on_finish`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unchanged;

/// The inner service's response together with the call's [`RetryStats`]:
/// `(response, stats)`. Set with
/// [`InstanceRefreshRetryLayer::with_stats`](crate::InstanceRefreshRetryLayer::with_stats).
#[derive(Debug, Clone, Copy, Default)]
pub struct WithStats;

impl<T> Respond<T> for Unchanged {
    type Response = T;

    fn respond(response: T, _stats: RetryStats) -> T {
        response
    }
}

impl<T> Respond<T> for WithStats {
    type Response = (T, RetryStats);

    fn respond(response: T, stats: RetryStats) -> (T, RetryStats) {
        (response, stats)
    }
}
