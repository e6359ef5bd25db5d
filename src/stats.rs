//! What a wrapped call did: attempts, time waited, and how it ended.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::policy::StopReason;

/// How a wrapped call ended.
///
/// ```
/// use instance_refresh_retry::{RetryOutcome, RetryStats, StopReason};
/// use std::time::Duration;
///
/// let stats = RetryStats::new(
///     12,
///     Duration::from_secs(3600),
///     Duration::from_secs(3601),
///     RetryOutcome::GaveUp(StopReason::MaxElapsed),
/// );
/// assert!(matches!(stats.outcome, RetryOutcome::GaveUp(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryOutcome {
    /// The last attempt succeeded.
    Succeeded,
    /// The last attempt failed with an error the classifier passed through.
    NotRetryable,
    /// Every attempt was blocked and the policy stopped; the caller gets the last error.
    GaveUp(StopReason),
    /// The SDK's `operation_timeout` ended the call while it was attempting or waiting (SDK
    /// interceptor path); the caller gets the SDK's timeout error. A per-attempt timeout
    /// (`operation_attempt_timeout`) on the last attempt is an error the SDK's own retry handles,
    /// so it ends as [`NotRetryable`](Self::NotRetryable).
    TimedOut,
    /// The call's future was dropped before it finished, for example by a timeout above the
    /// tower layer (tower path). `attempts` counts an attempt that was in flight (the inner
    /// service had been called, even if its future was never polled); `waited` counts only the
    /// part of a wait that had passed.
    Cancelled,
}

/// What one wrapped call did. SDK errors pass through unchanged; this travels beside them.
///
/// In the tower path, read it with [`InstanceRefreshRetryLayer::on_finish`](crate::InstanceRefreshRetryLayer::on_finish).
///
/// ```
/// use instance_refresh_retry::{RetryOutcome, RetryStats};
/// use std::time::Duration;
///
/// let stats = RetryStats::new(3, Duration::from_secs(15), Duration::from_secs(16), RetryOutcome::Succeeded);
/// assert_eq!(stats.retries(), 2);
/// assert_eq!(stats.to_string(), "3 attempts, waited 15s over 16s: Succeeded");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryStats {
    /// Calls made, including the first.
    pub attempts: u32,
    /// Total time spent sleeping between attempts.
    pub waited: Duration,
    /// Time from the start of the first attempt to the end of the last one.
    pub elapsed: Duration,
    /// How the call ended.
    pub outcome: RetryOutcome,
}

impl RetryStats {
    /// Builds stats (for tests and custom integrations).
    pub fn new(attempts: u32, waited: Duration, elapsed: Duration, outcome: RetryOutcome) -> Self {
        RetryStats {
            attempts,
            waited,
            elapsed,
            outcome,
        }
    }

    /// Retries made: `attempts - 1`.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

impl fmt::Display for RetryStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attempts, waited {:?} over {:?}: {:?}",
            self.attempts, self.waited, self.elapsed, self.outcome
        )
    }
}

/// A callback that receives the [`RetryStats`] of every wrapped call.
#[derive(Clone)]
pub(crate) struct OnFinish(pub(crate) Arc<dyn Fn(&RetryStats) + Send + Sync>);

impl fmt::Debug for OnFinish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnFinish(..)")
    }
}
