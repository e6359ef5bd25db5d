//! Outcomes: why a call stopped waiting, how it ended, and what it did (attempts, time waited).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a call stopped waiting: one of the [`RetryPolicy`](crate::RetryPolicy)'s limits, or the
/// duplicate guard.
///
/// ```
/// use instance_refresh_retry::{Decision, RetryPolicy, StopReason};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().max_elapsed(Duration::from_secs(60)).build()?;
/// let mut schedule = policy.schedule();
/// assert_eq!(
///     schedule.on_failure(Duration::from_secs(61)),
///     Decision::Stop(StopReason::MaxElapsed)
/// );
/// assert_eq!(StopReason::MaxElapsed.to_string(), "max_elapsed reached");
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_attempts` [attempts](crate#what-an-attempt-is) have been made.
    MaxAttempts,
    /// `max_elapsed` has passed since the first attempt started.
    MaxElapsed,
    /// A delay source supplied through the `backoff` feature returned `None`.
    BackoffExhausted,
    /// The call may already have started a refresh: an attempt's outcome is unknown (lost
    /// response, timeout, broken connection, a 5xx other than `ResourceContention`), so the
    /// refresh in progress may be that attempt's, and waiting (it out, or for another try) could
    /// start a second one. Produced by the duplicate guard, not by the policy, on both paths.
    /// Check `DescribeInstanceRefreshes` before starting again. See
    /// [No second refresh](crate#no-second-refresh-after-an-unknown-outcome).
    PossiblyOwnRefresh,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxAttempts => "max_attempts reached",
            StopReason::MaxElapsed => "max_elapsed reached",
            StopReason::BackoffExhausted => "backoff source exhausted",
            StopReason::PossiblyOwnRefresh => {
                "the call may have started a refresh already (an attempt's outcome is unknown)"
            }
        })
    }
}

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
    /// The last attempt was ours to handle (the classifier said retry-after-wait) and the call
    /// stopped waiting: a limit of the policy, or the duplicate guard (see the [`StopReason`]).
    /// The caller gets the last error.
    GaveUp(StopReason),
    /// The SDK's `operation_timeout` ended the call while it was attempting or waiting (SDK
    /// interceptor path); the caller gets the SDK's timeout error. A per-request timeout
    /// (`operation_attempt_timeout`) on the last request is an error the SDK's own retry handles,
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
/// Both paths count the same things: the same answers give the same stats (see
/// [What an attempt is](crate#what-an-attempt-is)). Every call that runs to completion reports
/// to `on_finish`, and on the tower path a dropped call does too
/// ([`RetryOutcome::Cancelled`]); on the SDK path a dropped `.send()` future reports nothing. A
/// success's stats come with its output through
/// [`send_with_stats`](crate::StartInstanceRefreshExt::send_with_stats) (SDK path) or
/// [`InstanceRefreshRetryLayer::with_stats`](crate::InstanceRefreshRetryLayer::with_stats) (tower
/// path); a failure's, on the SDK path, through [`retry_stats`](crate::retry_stats).
///
/// ```
/// use instance_refresh_retry::{RetryOutcome, RetryStats};
/// use std::time::Duration;
///
/// let stats = RetryStats::new(3, Duration::from_secs(15), Duration::from_secs(16), RetryOutcome::Succeeded);
/// assert_eq!(stats.retries(), 2);
/// assert_eq!(stats.to_string(), "3 attempts, waited 15s over 16s: Succeeded");
/// let once = RetryStats::new(1, Duration::ZERO, Duration::ZERO, RetryOutcome::Succeeded);
/// assert_eq!(once.to_string(), "1 attempt, waited 0ns over 0ns: Succeeded");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryStats {
    /// [Attempts](crate#what-an-attempt-is) made, including the first.
    pub attempts: u32,
    /// Total time spent waiting between attempts (the policy's delays; not the SDK's own retry
    /// backoff inside an attempt).
    pub waited: Duration,
    /// Time from the start of the first attempt to the end of the last one. (The start is read
    /// only for an `on_finish`, or the tower path's `with_stats`; without them, the logs and
    /// [`retry_stats`](crate::retry_stats) count from the first blocked answer.)
    pub elapsed: Duration,
    /// How the call ended.
    pub outcome: RetryOutcome,
    /// `DescribeInstanceRefreshes` calls made (the [`Refresher`](crate::Refresher) describes the
    /// blocking refresh between its attempts; 0 on the two plain paths).
    pub describe_calls: u32,
    /// `DescribeScalingActivities` calls made (the [`Refresher`](crate::Refresher) reads the
    /// group's scaling activities now and then to place the blocking refresh's launches; 0 on
    /// the two plain paths).
    pub activity_calls: u32,
}

impl RetryStats {
    /// Builds stats (for tests and custom integrations).
    ///
    /// ```
    /// use instance_refresh_retry::{RetryOutcome, RetryStats, StopReason};
    /// use std::time::Duration;
    ///
    /// // Testing an `on_finish` callback of your own:
    /// let report = |s: &RetryStats| format!("{} retries, waited {:?}", s.retries(), s.waited);
    /// let outcome = RetryOutcome::GaveUp(StopReason::MaxAttempts);
    /// let stats = RetryStats::new(4, Duration::from_secs(35), Duration::from_secs(36), outcome);
    /// assert_eq!(report(&stats), "3 retries, waited 35s");
    /// ```
    pub fn new(attempts: u32, waited: Duration, elapsed: Duration, outcome: RetryOutcome) -> Self {
        RetryStats {
            attempts,
            waited,
            elapsed,
            outcome,
            describe_calls: 0,
            activity_calls: 0,
        }
    }

    /// Retries made: `attempts - 1`.
    ///
    /// ```
    /// use instance_refresh_retry::{RetryOutcome, RetryStats};
    /// use std::time::Duration;
    ///
    /// let first_try = RetryStats::new(1, Duration::ZERO, Duration::ZERO, RetryOutcome::Succeeded);
    /// assert_eq!(first_try.retries(), 0);
    /// ```
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

impl fmt::Display for RetryStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |n: u32| if n == 1 { "" } else { "s" };
        write!(f, "{} attempt{}", self.attempts, s(self.attempts))?;
        if self.describe_calls > 0 {
            let n = self.describe_calls;
            write!(f, " and {n} describe{}", s(n))?;
        }
        if self.activity_calls > 0 {
            let n = self.activity_calls;
            write!(f, " and {n} activity read{}", s(n))?;
        }
        write!(
            f,
            ", waited {:?} over {:?}: {:?}",
            self.waited, self.elapsed, self.outcome
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

/// One wait, as an `on_retry` callback sees it: the attempt that was blocked, and how long the
/// call now waits before the next one.
///
/// ```
/// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
///
/// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default()).on_retry(|event| {
///     eprintln!(
///         "attempt {} blocked ({}), next in {:?}",
///         event.attempt,
///         event.error_code.unwrap_or("?"),
///         event.delay
///     );
/// });
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The [attempt](crate#what-an-attempt-is) that was blocked; 1 for the first.
    pub attempt: u32,
    /// The wait before the next attempt.
    pub delay: std::time::Duration,
    /// The blocked attempt's error code (`InstanceRefreshInProgress`, or a code of your
    /// [`Classifier`](crate::Classifier)).
    pub error_code: Option<&'a str>,
    /// The blocked attempt's AWS request id.
    pub request_id: Option<&'a str>,
}

/// A callback that sees every wait.
#[derive(Clone)]
pub(crate) struct OnRetry(pub(crate) Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>);

impl fmt::Debug for OnRetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnRetry(..)")
    }
}
