//! [`RefreshError`]: why a [`Refresher`](crate::Refresher) call did not get its refresh.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::types::InstanceRefreshStatus;

use crate::core::outcome::{RetryStats, StopReason};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure a [`RefreshError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshErrorKind {
    /// The call stopped waiting for the blocking refresh: a limit of the policy
    /// (`max_elapsed`, `max_attempts`), or the duplicate guard when the Refresher could not tell
    /// whether a refresh was its own. The last SDK error is the source.
    GaveUp(StopReason),
    /// Another refresh blocks the group and the conflict strategy is
    /// [`OnConflict::Fail`](crate::OnConflict::Fail).
    Conflict {
        /// The blocking refresh, if a describe could name it.
        refresh_id: Option<String>,
        /// Its status.
        status: Option<InstanceRefreshStatus>,
    },
    /// The blocking refresh cannot end within what is left of `max_elapsed`, even on an
    /// optimistic estimate; waiting would only spend the budget. See
    /// [`Refresher::fail_fast`](crate::Refresher::fail_fast).
    WontEndInTime {
        /// The blocking refresh.
        refresh_id: String,
        /// The earliest it can end.
        earliest_end: SystemTime,
        /// The refresh's own estimate of its end, if it could be told.
        estimated_end: Option<SystemTime>,
    },
    /// [`wait_for_completion`](crate::Refresher::wait_for_completion): `max_wait` passed before
    /// the refresh reached a terminal status.
    MaxWait {
        /// The refresh waited for.
        refresh_id: String,
        /// Its status when the wait ended, if known.
        status: Option<InstanceRefreshStatus>,
    },
    /// [`wait_for_completion`](crate::Refresher::wait_for_completion): the group has no refresh
    /// with this id.
    NotFound {
        /// The refresh asked for.
        refresh_id: String,
    },
    /// Auto Scaling answered with an error that waiting does not fix (the SDK error is the
    /// source).
    Aws,
}

/// Why a [`Refresher`](crate::Refresher) call did not get its refresh. The SDK error, if there
/// was one, is its [`source`](std::error::Error::source), unchanged (with its request id).
///
/// ```
/// use instance_refresh_retry::{RefreshError, RefreshErrorKind};
///
/// fn explain(err: &RefreshError) -> String {
///     match err.kind() {
///         RefreshErrorKind::Conflict { refresh_id, .. } => {
///             format!("busy with {}", refresh_id.as_deref().unwrap_or("another refresh"))
///         }
///         _ => err.to_string(),
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug)]
pub struct RefreshError {
    kind: RefreshErrorKind,
    stats: RetryStats,
    source: Option<BoxError>,
}

impl RefreshError {
    pub(crate) fn new(
        kind: RefreshErrorKind,
        stats: RetryStats,
        source: Option<BoxError>,
    ) -> RefreshError {
        RefreshError {
            kind,
            stats,
            source,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &RefreshErrorKind {
        &self.kind
    }

    /// What the call did before it failed: `StartInstanceRefresh` and describe calls, time waited.
    pub fn stats(&self) -> RetryStats {
        self.stats
    }

    /// The SDK error of this failure, if it is of type `E` (for example
    /// [`StartInstanceRefreshSdkError`](crate::StartInstanceRefreshSdkError)).
    pub fn sdk_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.source.as_deref().and_then(|e| e.downcast_ref::<E>())
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RefreshErrorKind::GaveUp(reason) => write!(
                f,
                "gave up waiting for the blocking instance refresh ({reason}) after {} s",
                secs(self.stats.elapsed)
            ),
            RefreshErrorKind::Conflict { refresh_id, status } => write!(
                f,
                "the group is busy with instance refresh {} ({})",
                refresh_id.as_deref().unwrap_or("<unknown>"),
                status.as_ref().map_or("status unknown", |s| s.as_str())
            ),
            RefreshErrorKind::WontEndInTime {
                refresh_id,
                earliest_end,
                ..
            } => {
                let left = earliest_end
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                write!(
                    f,
                    "instance refresh {refresh_id} cannot end within the time budget (earliest end at {left} s after the epoch)"
                )
            }
            RefreshErrorKind::MaxWait { refresh_id, status } => write!(
                f,
                "instance refresh {refresh_id} did not finish within max_wait (last status: {})",
                status.as_ref().map_or("unknown", |s| s.as_str())
            ),
            RefreshErrorKind::NotFound { refresh_id } => {
                write!(f, "no instance refresh {refresh_id} on the group")
            }
            RefreshErrorKind::Aws => f.write_str("Auto Scaling refused the request"),
        }
    }
}

impl std::error::Error for RefreshError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
