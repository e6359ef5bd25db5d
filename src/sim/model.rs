//! The simulated service state: groups, refreshes and their lifecycles.
//!
//! Status is computed lazily from the tokio clock whenever it is read; there is no background
//! task. See the [module docs](super) for an overview.

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::xml::Node;

/// How a simulated Auto Scaling group behaves, and how its refreshes are timed.
///
/// A refresh snapshots the group's configuration when it starts, so changing it with
/// [`AutoScalingSim::set_group_config`](super::AutoScalingSim::set_group_config) affects only
/// later refreshes. See the [module docs](super) for the lifecycle.
///
/// # Defaults
///
/// | field | default |
/// |---|---|
/// | `instances` | 2 |
/// | `pending_duration` | 5 s |
/// | `refresh_duration` (InProgress) | 60 s |
/// | `bake_duration` | 0 (no Baking phase) |
/// | `cancel_duration` | 5 s |
/// | `rollback_duration` | 30 s |
/// | `fail_after` | never |
///
/// ```
/// use std::time::Duration;
/// use instance_refresh_retry::sim::GroupConfig;
///
/// let config = GroupConfig::default()
///     .instances(4)
///     .refresh_duration(Duration::from_secs(3600))
///     .bake_duration(Duration::from_secs(60));
/// assert_eq!(config.total_duration(), Duration::from_secs(5 + 3600 + 60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    instances: u32,
    pending_duration: Duration,
    refresh_duration: Duration,
    bake_duration: Duration,
    cancel_duration: Duration,
    rollback_duration: Duration,
    fail_after: Option<Duration>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            instances: 2,
            pending_duration: Duration::from_secs(5),
            refresh_duration: Duration::from_secs(60),
            bake_duration: Duration::ZERO,
            cancel_duration: Duration::from_secs(5),
            rollback_duration: Duration::from_secs(30),
            fail_after: None,
        }
    }
}

impl GroupConfig {
    /// Number of instances a refresh replaces (`InstancesToUpdate` at the start).
    pub fn instances(mut self, instances: u32) -> Self {
        self.instances = instances;
        self
    }

    /// How long a refresh stays `Pending`.
    pub fn pending_duration(mut self, duration: Duration) -> Self {
        self.pending_duration = duration;
        self
    }

    /// How long a refresh stays `InProgress`; `PercentageComplete` goes from 0 to 100 linearly
    /// over this time.
    pub fn refresh_duration(mut self, duration: Duration) -> Self {
        self.refresh_duration = duration;
        self
    }

    /// How long a refresh stays `Baking` after replacing all instances (0 skips Baking).
    pub fn bake_duration(mut self, duration: Duration) -> Self {
        self.bake_duration = duration;
        self
    }

    /// How long a cancelled refresh stays `Cancelling` before it is `Cancelled`.
    pub fn cancel_duration(mut self, duration: Duration) -> Self {
        self.cancel_duration = duration;
        self
    }

    /// How long a rolled-back refresh stays `RollbackInProgress` before `RollbackSuccessful`.
    pub fn rollback_duration(mut self, duration: Duration) -> Self {
        self.rollback_duration = duration;
        self
    }

    /// Make refreshes fail (status `Failed`) this long after they start, if they are still
    /// Pending, InProgress or Baking then.
    pub fn fail_after(mut self, after: Duration) -> Self {
        self.fail_after = Some(after);
        self
    }

    /// Time from start to `Successful` for a refresh that is neither cancelled nor failed.
    pub fn total_duration(&self) -> Duration {
        self.pending_duration + self.refresh_duration + self.bake_duration
    }
}

/// The status of an instance refresh, as the `Status` element spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshStatus {
    /// Accepted, not started replacing instances yet.
    Pending,
    /// Replacing instances.
    InProgress,
    /// All instances replaced; waiting out the bake time.
    Baking,
    /// Finished.
    Successful,
    /// Failed (see [`GroupConfig::fail_after`]).
    Failed,
    /// Cancel requested, not finished yet.
    Cancelling,
    /// Cancelled.
    Cancelled,
    /// Rollback requested, not finished yet.
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
/// [`AutoScalingSim::refreshes`](super::AutoScalingSim::refreshes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshSnapshot {
    /// The refresh id.
    pub id: String,
    /// The group name.
    pub group: String,
    /// Status now.
    pub status: RefreshStatus,
    /// `PercentageComplete` now.
    pub percentage_complete: u32,
    /// `InstancesToUpdate` now (instances not yet replaced).
    pub instances_to_update: u32,
    /// Wall-clock start time (derived from the tokio clock).
    pub start_time: SystemTime,
    /// Wall-clock end time, once the refresh reached a final status.
    pub end_time: Option<SystemTime>,
}

/// Cancel or rollback requested while the refresh was active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InterruptKind {
    Cancel,
    Rollback,
}

#[derive(Debug, Clone, Copy)]
struct Interrupt {
    kind: InterruptKind,
    at: Instant,
    duration: Duration,
}

/// The computed state of a refresh at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) status: RefreshStatus,
    pub(crate) percentage: u32,
    pub(crate) instances_to_update: u32,
    pub(crate) end: Option<Instant>,
    /// For rollbacks: (start, percentage of the rollback, instances to update on rollback).
    pub(crate) rollback: Option<(Instant, u32, u32)>,
}

/// One refresh and what it needs to compute its status at any instant.
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    pub(crate) id: String,
    pub(crate) group: String,
    pub(crate) started: Instant,
    pub(crate) strategy: String,
    pub(crate) preferences: Node,
    config: GroupConfig,
    interrupt: Option<Interrupt>,
}

fn percent(part: Duration, whole: Duration) -> u32 {
    if whole.is_zero() {
        return 100;
    }
    let p = part.as_nanos().saturating_mul(100) / whole.as_nanos();
    u32::try_from(p.min(100)).unwrap_or(100)
}

impl Refresh {
    pub(crate) fn new(
        id: String,
        group: String,
        started: Instant,
        config: GroupConfig,
        strategy: String,
        preferences: Node,
    ) -> Self {
        Refresh {
            id,
            group,
            started,
            strategy,
            preferences,
            config,
            interrupt: None,
        }
    }

    /// Progress percentage `t` after start, ignoring failures and interrupts.
    fn natural_percentage(&self, t: Duration) -> u32 {
        let c = &self.config;
        if t < c.pending_duration {
            0
        } else {
            percent(t - c.pending_duration, c.refresh_duration)
        }
    }

    fn remaining(&self, percentage: u32) -> u32 {
        let total = u64::from(self.config.instances);
        let done = total * u64::from(percentage) / 100;
        u32::try_from(total - done).unwrap_or(0)
    }

    /// The refresh's state at `now`.
    pub(crate) fn view(&self, now: Instant) -> View {
        if let Some(i) = self.interrupt {
            let percentage = self.natural_percentage(i.at - self.started);
            let remaining = self.remaining(percentage);
            let done = i.at + i.duration;
            let finished = now >= done;
            let status = match (i.kind, finished) {
                (InterruptKind::Cancel, false) => RefreshStatus::Cancelling,
                (InterruptKind::Cancel, true) => RefreshStatus::Cancelled,
                (InterruptKind::Rollback, false) => RefreshStatus::RollbackInProgress,
                (InterruptKind::Rollback, true) => RefreshStatus::RollbackSuccessful,
            };
            let rollback = (i.kind == InterruptKind::Rollback).then(|| {
                let replaced = self.config.instances - remaining;
                let p = percent(now.saturating_duration_since(i.at), i.duration);
                let to_undo = u64::from(replaced) - u64::from(replaced) * u64::from(p) / 100;
                (i.at, p, u32::try_from(to_undo).unwrap_or(0))
            });
            return View {
                status,
                percentage,
                instances_to_update: remaining,
                end: finished.then_some(done),
                rollback,
            };
        }
        let c = &self.config;
        let t = now.saturating_duration_since(self.started);
        if let Some(fail) = c.fail_after
            && t >= fail
            && fail < c.total_duration()
        {
            let percentage = self.natural_percentage(fail);
            return View {
                status: RefreshStatus::Failed,
                percentage,
                instances_to_update: self.remaining(percentage),
                end: Some(self.started + fail),
                rollback: None,
            };
        }
        let percentage = self.natural_percentage(t);
        let (status, end) = if t < c.pending_duration {
            (RefreshStatus::Pending, None)
        } else if t < c.pending_duration + c.refresh_duration {
            (RefreshStatus::InProgress, None)
        } else if t < c.total_duration() {
            (RefreshStatus::Baking, None)
        } else {
            (
                RefreshStatus::Successful,
                Some(self.started + c.total_duration()),
            )
        };
        View {
            status,
            percentage,
            instances_to_update: self.remaining(percentage),
            end,
            rollback: None,
        }
    }

    /// Start cancelling or rolling back at `now`. The caller checked that the refresh is active.
    pub(crate) fn interrupt(&mut self, kind: InterruptKind, now: Instant) {
        let duration = match kind {
            InterruptKind::Cancel => self.config.cancel_duration,
            InterruptKind::Rollback => self.config.rollback_duration,
        };
        self.interrupt = Some(Interrupt {
            kind,
            at: now,
            duration,
        });
    }
}

/// A simulated Auto Scaling group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) config: GroupConfig,
    /// Oldest first.
    pub(crate) refreshes: Vec<Refresh>,
}

impl Group {
    pub(crate) fn new(config: GroupConfig) -> Self {
        Group {
            config,
            refreshes: Vec::new(),
        }
    }

    /// The refresh that is active at `now`, if any (there is at most one).
    pub(crate) fn active_mut(&mut self, now: Instant) -> Option<&mut Refresh> {
        self.refreshes
            .iter_mut()
            .rev()
            .find(|r| r.view(now).status.is_active())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(config: GroupConfig) -> (Refresh, Instant) {
        let t0 = Instant::now();
        let r = Refresh::new(
            "id".into(),
            "web".into(),
            t0,
            config,
            "Rolling".into(),
            Node::new("Preferences"),
        );
        (r, t0)
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn natural_lifecycle() {
        let config = GroupConfig::default()
            .instances(4)
            .pending_duration(secs(10))
            .refresh_duration(secs(100))
            .bake_duration(secs(20));
        let (r, t0) = refresh(config);
        let at = |s| r.view(t0 + secs(s));
        assert_eq!(at(0).status, RefreshStatus::Pending);
        assert_eq!(at(10).status, RefreshStatus::InProgress);
        assert_eq!(at(60).percentage, 50);
        assert_eq!(at(60).instances_to_update, 2);
        assert_eq!(at(110).status, RefreshStatus::Baking);
        assert_eq!(at(110).percentage, 100);
        assert_eq!(at(130).status, RefreshStatus::Successful);
        assert_eq!(at(999).end, Some(t0 + secs(130)));
    }

    #[test]
    fn failure_freezes_progress() {
        let config = GroupConfig::default()
            .pending_duration(secs(0))
            .refresh_duration(secs(100))
            .fail_after(secs(30));
        let (r, t0) = refresh(config);
        let v = r.view(t0 + secs(50));
        assert_eq!(v.status, RefreshStatus::Failed);
        assert_eq!(v.percentage, 30);
        assert_eq!(v.end, Some(t0 + secs(30)));
    }

    #[test]
    fn cancel_and_rollback() {
        let config = GroupConfig::default()
            .instances(10)
            .pending_duration(secs(0))
            .refresh_duration(secs(100))
            .cancel_duration(secs(5))
            .rollback_duration(secs(10));
        let (mut r, t0) = refresh(config.clone());
        r.interrupt(InterruptKind::Cancel, t0 + secs(40));
        assert_eq!(r.view(t0 + secs(41)).status, RefreshStatus::Cancelling);
        let done = r.view(t0 + secs(45));
        assert_eq!(done.status, RefreshStatus::Cancelled);
        assert_eq!(done.percentage, 40);
        assert_eq!(done.end, Some(t0 + secs(45)));

        let (mut r, t0) = refresh(config);
        r.interrupt(InterruptKind::Rollback, t0 + secs(50));
        let mid = r.view(t0 + secs(55));
        assert_eq!(mid.status, RefreshStatus::RollbackInProgress);
        assert_eq!(mid.rollback, Some((t0 + secs(50), 50, 3)));
        assert_eq!(
            r.view(t0 + secs(60)).status,
            RefreshStatus::RollbackSuccessful
        );
    }
}
