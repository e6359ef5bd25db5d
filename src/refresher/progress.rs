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
    /// When it should end, if that can be told: the middle of [`end_window`](Self::end_window).
    pub estimated_end: Option<SystemTime>,
    /// The window the end plausibly falls in, from what this refresh did so far (how long its
    /// percentages and launches took, its checkpoint delays and bake time). A plausible window,
    /// not a promise: a refresh can end early at any moment (cancelled, failed by an alarm,
    /// rolled back).
    pub end_window: Option<(SystemTime, SystemTime)>,
    /// The earliest it can end on its own, from what is certain: the rest of a checkpoint pause
    /// it is in, a checkpoint ahead, its bake time. What fail-fast compares with the deadline.
    pub earliest_end: Option<SystemTime>,
    /// When the Refresher looks again (zero once the refresh has ended).
    pub next_check: Duration,
    /// Its percentage has not moved for an hour more than the checkpoint pause it may be in
    /// explains: it may be stuck (a refresh that cannot make progress keeps retrying for an
    /// hour, then fails; a suspended `Launch` process stalls one until it is resumed).
    pub stalled: bool,
    /// What the estimate rests on: whether the group's scaling activities helped, or why not.
    pub evidence: Evidence,
}

/// What the [`Refresher`](crate::Refresher)'s estimate of a refresh's end rests on.
///
/// `DescribeInstanceRefreshes` says little about timing. Now and then (at the first sighting,
/// when the last batch runs, when a bake or a pause began unseen) the Refresher also reads the
/// group's scaling activities (`DescribeScalingActivities`, one page), which say when each launch
/// began and ended. Without them (no `autoscaling:DescribeScalingActivities` permission, or no
/// launch inside the refresh) it falls back to the percentage alone, and says so here: its
/// windows are then wider, and its checks more or later.
///
/// ```
/// use instance_refresh_retry::{Evidence, Progress};
///
/// fn warn(p: &Progress) {
///     if p.evidence == Evidence::ActivitiesUnavailable {
///         eprintln!("no scaling activities: estimating from the percentage alone");
///     }
/// }
/// # let _ = warn;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Evidence {
    /// The describes: status, percentage, preferences (the activities were not needed yet).
    #[default]
    Describe,
    /// The describes and the group's scaling activities.
    ScalingActivities,
    /// Reading the scaling activities failed (access denied, for one): the describes alone.
    ActivitiesUnavailable,
    /// The scaling activities name no launch inside the refresh: the describes alone.
    NoMatchingActivities,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::Describe => "the describes",
            Evidence::ScalingActivities => "the describes and the scaling activities",
            Evidence::ActivitiesUnavailable => {
                "the describes alone (the scaling activities could not be read)"
            }
            Evidence::NoMatchingActivities => {
                "the describes alone (no launch activity inside the refresh)"
            }
        })
    }
}

/// A progress callback.
#[derive(Clone)]
pub(crate) struct OnProgress(pub(crate) Arc<dyn Fn(&Progress) + Send + Sync>);

impl fmt::Debug for OnProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnProgress(..)")
    }
}
