//! What the simulator tells about a refresh from Rust: its status and a snapshot of it.

use std::fmt;
use std::time::SystemTime;

use super::unknowns::Unknowns;

/// The status of an instance refresh, as the `Status` element spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshStatus {
    /// Accepted, not started replacing instances yet.
    Pending,
    /// Replacing instances (including waits at checkpoints).
    InProgress,
    /// All instances replaced; waiting out the bake time.
    Baking,
    /// Finished.
    Successful,
    /// Failed: an alarm, no healthy instance for an hour, [`GroupConfig::fail_after`](super::GroupConfig::fail_after) or
    /// [`AutoScalingSim::fail_refresh`](super::AutoScalingSim::fail_refresh).
    Failed,
    /// Cancel requested, not finished yet.
    Cancelling,
    /// Cancelled.
    Cancelled,
    /// Rollback requested (or started by `AutoRollback` after a failure), not finished yet.
    RollbackInProgress,
    /// Rolled back.
    RollbackSuccessful,
}

impl RefreshStatus {
    /// The wire spelling, e.g. `"InProgress"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshStatus::Pending => "Pending",
            RefreshStatus::InProgress => "InProgress",
            RefreshStatus::Baking => "Baking",
            RefreshStatus::Successful => "Successful",
            RefreshStatus::Failed => "Failed",
            RefreshStatus::Cancelling => "Cancelling",
            RefreshStatus::Cancelled => "Cancelled",
            RefreshStatus::RollbackInProgress => "RollbackInProgress",
            RefreshStatus::RollbackSuccessful => "RollbackSuccessful",
        }
    }

    /// Whether this status blocks a new refresh on the same group.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RefreshStatus::Pending
                | RefreshStatus::InProgress
                | RefreshStatus::Baking
                | RefreshStatus::Cancelling
                | RefreshStatus::RollbackInProgress
        )
    }
}

impl fmt::Display for RefreshStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point-in-time view of one refresh, as returned by
/// [`AutoScalingSim::refreshes`](super::AutoScalingSim::refreshes). It holds what
/// `DescribeInstanceRefreshes` would answer now, plus what the simulator knows beyond that.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefreshSnapshot {
    /// The refresh id.
    pub id: String,
    /// The group name.
    pub group: String,
    /// Status now.
    pub status: RefreshStatus,
    /// `StatusReason` now, if any: the warmup sentence while an instance warms up, else the
    /// refresh's [wording](super::ReasonWording) of its status.
    pub status_reason: Option<String>,
    /// `PercentageComplete` now.
    pub percentage_complete: u32,
    /// `InstancesToUpdate` now (see [`ItuReading`](super::ItuReading) for what it counts).
    pub instances_to_update: u32,
    /// Wall-clock start time (derived from the tokio clock). The wire's `StartTime` is this,
    /// truncated to whole seconds.
    pub start_time: SystemTime,
    /// Wall-clock end time, once the refresh reached a final status (the wire's `EndTime` is
    /// this, truncated to whole seconds).
    pub end_time: Option<SystemTime>,
    /// The checkpoint percentage the refresh is paused at, while it waits out the
    /// `CheckpointDelay` (status `InProgress`; `PercentageComplete` may be above it).
    pub checkpoint: Option<u32>,
    /// Whether the refresh stands still: the group's `Launch` process is suspended
    /// ([`AutoScalingSim::suspend_launch`](super::AutoScalingSim::suspend_launch)), or it
    /// stalled ([`EarlyEndKind::Stalled`](super::EarlyEndKind::Stalled)).
    pub stalled: bool,
    /// Instances replaced at the same time, for a refresh that replaces instances in batches;
    /// `None` for a linear one (see [`GroupConfig`](super::GroupConfig)).
    pub batch_size: Option<u32>,
    /// `RollbackDetails`, once a rollback started.
    pub rollback: Option<RollbackSnapshot>,
    /// The guesses this refresh follows.
    pub unknowns: Unknowns,
    /// When the refresh would end (`Successful`, or `Failed` after an hour without a healthy
    /// instance) if nothing intervened: no early end, no API call, no further suspension of
    /// `Launch`. `None` while `Launch` is suspended during its InProgress phase.
    pub planned_end: Option<SystemTime>,
}

/// The `RollbackDetails` of a refresh, in a [`RefreshSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RollbackSnapshot {
    /// `RollbackReason` (free text, none on record: the refresh's
    /// [wording](super::ReasonWording)), if any.
    pub reason: Option<String>,
    /// `RollbackStartTime` (wall clock; the wire truncates it to whole seconds).
    pub start_time: SystemTime,
    /// `PercentageCompleteOnRollback`: `PercentageComplete` when the rollback started.
    pub percentage_complete_on_rollback: u32,
    /// `InstancesToUpdateOnRollback`: `InstancesToUpdate` when the rollback started.
    pub instances_to_update_on_rollback: u32,
}
