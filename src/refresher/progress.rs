//! [`Progress`]: what a waiting [`Refresher`](crate::Refresher) reports at each check.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::types::InstanceRefreshStatus;

/// One check of a refresh that the [`Refresher`](crate::Refresher) waits for: the blocking
/// refresh while starting, or the refresh followed by
/// [`wait_for_completion`](crate::Refresher::wait_for_completion).
///
/// ```
/// use instance_refresh_retry::{Refresher, RetryPolicy};
///
/// # fn doc(client: aws_sdk_autoscaling::Client) {
/// let refresher = Refresher::new(client, RetryPolicy::default()).on_progress(|p| {
///     eprintln!(
///         "{} {:?} {}%, next check in {:?}{}",
///         p.refresh_id,
///         p.status,
///         p.percentage,
///         p.next_check,
///         if p.stalled { " (stalled?)" } else { "" }
///     )
/// });
/// # let _ = refresher;
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The refresh checked.
    pub refresh_id: String,
    /// Its status.
    pub status: Option<InstanceRefreshStatus>,
    /// Its `StatusReason`.
    pub status_reason: Option<String>,
    /// Its `PercentageComplete` (during a rollback, the rollback's own percentage, from 0).
    pub percentage: u32,
    /// When it should end, if that can be told.
    pub estimated_end: Option<SystemTime>,
    /// When the Refresher looks again (zero once the refresh has ended).
    pub next_check: Duration,
    /// Its percentage has not moved for longer than its checkpoints and warmup explain: it may
    /// be stuck (a suspended `Launch` process stalls a refresh forever).
    pub stalled: bool,
}

/// A progress callback.
#[derive(Clone)]
pub(crate) struct OnProgress(pub(crate) Arc<dyn Fn(&Progress) + Send + Sync>);

impl fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnProgress(..)")
    }
}
