//! The simulated service state: groups, refreshes and their lifecycles.
//!
//! Status is computed lazily from the tokio clock whenever it is read; there is no background
//! task. See the [module docs](super) for an overview and the rules.

use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::clock::Clock;
use super::prefs::{self, Preferences};
use super::unknowns::Unknowns;
use super::xml::Node;

/// The health check grace period of a group unless configured (the console's default).
const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(300);
/// How long a new instance takes to launch and pass its health checks unless configured.
const DEFAULT_LAUNCH: Duration = Duration::from_secs(60);
/// `StatusReason` of a failed refresh unless configured.
const DEFAULT_FAIL_REASON: &str = "Simulated failure: the instance refresh failed.";

const PENDING_REASON: &str = "Waiting for the instance refresh to start.";
const STALLED_REASON: &str = "Waiting for the Launch process to be resumed: it is suspended for this Auto Scaling group, so no instances can be launched.";
const BAKING_REASON: &str =
    "Waiting for the bake time to elapse before completing the instance refresh.";
const CANCELLING_REASON: &str = "Cancelling the instance refresh as requested.";
const CANCELLED_REASON: &str = "The instance refresh was cancelled as requested.";
const ROLLING_BACK_REASON: &str =
    "Rolling back the instance refresh to the previous configuration.";
const USER_ROLLBACK_REASON: &str = "Rollback started by user";

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// How a simulated Auto Scaling group behaves, and how its refreshes are timed.
///
/// A refresh snapshots the group's configuration when it starts, so changing it with
/// [`AutoScalingSim::set_group_config`](super::AutoScalingSim::set_group_config) affects only
/// later refreshes. See the [module docs](super) for the lifecycle and for when a refresh
/// replaces instances in batches rather than linearly.
///
/// # Defaults
///
/// | field | default | used by |
/// |---|---|---|
/// | `instances` | 2 | both modes |
/// | `pending_duration` | 5 s | both modes |
/// | `refresh_duration` (InProgress) | 60 s | linear mode |
/// | `bake_duration` | 0 (no Baking phase) | both modes, when the request sets no `BakeTime` |
/// | `cancel_duration` | 5 s | both modes |
/// | `rollback_duration` | 30 s | linear mode |
/// | `launch_duration` | 60 s | batched mode |
/// | `default_warmup` | unset: the health check grace period | batched mode, when the request sets no `InstanceWarmup` |
/// | `health_check_grace_period` | 300 s | batched mode |
/// | `batched` | `false` | |
/// | `fail_after` | never | both modes |
/// | `fail_reason` | `"Simulated failure: the instance refresh failed."` | both modes |
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
///
/// // Batched refreshes: each batch takes the launch time plus the warmup.
/// let batched = GroupConfig::default()
///     .batched(true)
///     .launch_duration(Duration::from_secs(30))
///     .default_warmup(Duration::from_secs(90));
/// assert_eq!(batched.batch_duration(), Duration::from_secs(120));
/// assert_eq!(GroupConfig::default().batch_duration(), Duration::from_secs(60 + 300));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    instances: u32,
    pending_duration: Duration,
    refresh_duration: Duration,
    bake_duration: Duration,
    cancel_duration: Duration,
    rollback_duration: Duration,
    fail_after: Option<Duration>,
    fail_reason: Option<String>,
    launch_duration: Duration,
    default_warmup: Option<Duration>,
    health_check_grace_period: Duration,
    batched: bool,
    unknowns: Option<Unknowns>,
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
            fail_reason: None,
            launch_duration: DEFAULT_LAUNCH,
            default_warmup: None,
            health_check_grace_period: DEFAULT_GRACE_PERIOD,
            batched: false,
            unknowns: None,
        }
    }
}

impl GroupConfig {
    /// Number of instances a refresh replaces (`InstancesToUpdate` at the start). A batched
    /// refresh lays out its batches when it starts, so keep this realistic (thousands at most).
    pub fn instances(mut self, instances: u32) -> Self {
        self.instances = instances;
        self
    }

    /// How long a refresh stays `Pending`.
    pub fn pending_duration(mut self, duration: Duration) -> Self {
        self.pending_duration = duration;
        self
    }

    /// How long a *linear* refresh stays `InProgress`; `PercentageComplete` goes from 0 to 100
    /// linearly over this time. Batched refreshes take as long as their batches (see
    /// [`batch_duration`](Self::batch_duration)).
    pub fn refresh_duration(mut self, duration: Duration) -> Self {
        self.refresh_duration = duration;
        self
    }

    /// How long a refresh stays `Baking` after replacing all instances (0 skips Baking), when
    /// the request sets no `BakeTime` preference (which takes precedence).
    pub fn bake_duration(mut self, duration: Duration) -> Self {
        self.bake_duration = duration;
        self
    }

    /// How long a cancelled refresh stays `Cancelling` before it is `Cancelled`.
    pub fn cancel_duration(mut self, duration: Duration) -> Self {
        self.cancel_duration = duration;
        self
    }

    /// How long a rolled-back *linear* refresh stays `RollbackInProgress` before
    /// `RollbackSuccessful`. A batched refresh rolls back the instances it replaced in batches
    /// of the same size and duration.
    pub fn rollback_duration(mut self, duration: Duration) -> Self {
        self.rollback_duration = duration;
        self
    }

    /// Make refreshes fail (status `Failed`, or `RollbackInProgress` with `AutoRollback`)
    /// this long after they start, if they are still Pending, InProgress or Baking then.
    pub fn fail_after(mut self, after: Duration) -> Self {
        self.fail_after = Some(after);
        self
    }

    /// The `StatusReason` of a refresh that fails through [`fail_after`](Self::fail_after).
    pub fn fail_reason(mut self, reason: impl Into<String>) -> Self {
        self.fail_reason = Some(reason.into());
        self
    }

    /// How long a new instance takes from launch until it is `InService` and healthy
    /// (batched refreshes; default 60 s). A batch takes this plus the instance warmup.
    pub fn launch_duration(mut self, duration: Duration) -> Self {
        self.launch_duration = duration;
        self
    }

    /// The group's default instance warmup (`DefaultInstanceWarmup`): how long a batched
    /// refresh waits after a new instance is `InService` before counting it as updated, when
    /// the request sets no `InstanceWarmup`. Unset (the default), Auto Scaling uses the
    /// [health check grace period](Self::health_check_grace_period); zero is a valid setting
    /// and means no warmup.
    pub fn default_warmup(mut self, warmup: Duration) -> Self {
        self.default_warmup = Some(warmup);
        self
    }

    /// The group's health check grace period (default 300 s): the instance warmup of batched
    /// refreshes when neither the request nor [`default_warmup`](Self::default_warmup) sets one.
    pub fn health_check_grace_period(mut self, period: Duration) -> Self {
        self.health_check_grace_period = period;
        self
    }

    /// Replace instances in batches even when the request sets no batch-affecting preference
    /// (see the [module docs](super) for the rule).
    pub fn batched(mut self, batched: bool) -> Self {
        self.batched = batched;
        self
    }

    /// Fix the [`Unknowns`] of this group's refreshes (they take precedence over
    /// [`SimBuilder::vary_unknowns`](super::SimBuilder::vary_unknowns)).
    pub fn unknowns(mut self, unknowns: Unknowns) -> Self {
        self.unknowns = Some(unknowns);
        self
    }

    /// The unknowns this configuration fixes, if any.
    pub(crate) fn fixed_unknowns(&self) -> Option<&Unknowns> {
        self.unknowns.as_ref()
    }

    /// Time from start to `Successful` for a *linear* refresh that is neither cancelled nor
    /// failed and whose request sets no `BakeTime`.
    pub fn total_duration(&self) -> Duration {
        self.pending_duration
            .saturating_add(self.refresh_duration)
            .saturating_add(self.bake_duration)
    }

    /// The instance warmup of a batched refresh whose request sets no `InstanceWarmup`:
    /// [`default_warmup`](Self::default_warmup) if set, else the
    /// [health check grace period](Self::health_check_grace_period).
    pub fn instance_warmup(&self) -> Duration {
        self.default_warmup
            .unwrap_or(self.health_check_grace_period)
    }

    /// How long one batch takes when the request sets no `InstanceWarmup`:
    /// [`launch_duration`](Self::launch_duration) + [`instance_warmup`](Self::instance_warmup).
    pub fn batch_duration(&self) -> Duration {
        self.launch_duration.saturating_add(self.instance_warmup())
    }
}

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
    /// Failed (see [`GroupConfig::fail_after`] and
    /// [`AutoScalingSim::fail_refresh`](super::AutoScalingSim::fail_refresh)).
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
    /// `StatusReason` now, if the status has one (every status but `Successful` and
    /// `RollbackSuccessful` has).
    pub status_reason: Option<String>,
    /// `PercentageComplete` now.
    pub percentage_complete: u32,
    /// `InstancesToUpdate` now (instances not yet replaced).
    pub instances_to_update: u32,
    /// Wall-clock start time (derived from the tokio clock). The wire's `StartTime` is this,
    /// truncated to whole seconds.
    pub start_time: SystemTime,
    /// Wall-clock end time, once the refresh reached a final status (the wire's `EndTime` is
    /// this, truncated to whole seconds).
    pub end_time: Option<SystemTime>,
    /// The checkpoint percentage the refresh is paused at, while it waits out the
    /// `CheckpointDelay` (status `InProgress`).
    pub checkpoint: Option<u32>,
    /// Whether the refresh is frozen because the group's `Launch` process is suspended
    /// ([`AutoScalingSim::suspend_launch`](super::AutoScalingSim::suspend_launch)).
    pub stalled: bool,
    /// Instances replaced at the same time, for a refresh that replaces instances in batches;
    /// `None` for a linear one.
    pub batch_size: Option<u32>,
    /// `RollbackDetails`, once a rollback started.
    pub rollback: Option<RollbackSnapshot>,
    /// The guesses this refresh follows.
    pub unknowns: Unknowns,
    /// When the refresh would end if nothing intervened (no early end, no API call, no
    /// further suspension of `Launch`); `None` while it stands still.
    pub planned_end: Option<SystemTime>,
}

/// The `RollbackDetails` of a refresh, in a [`RefreshSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RollbackSnapshot {
    /// `RollbackReason`: a manual rollback, or an automatic one after a failure.
    pub reason: String,
    /// `RollbackStartTime` (wall clock; the wire truncates it to whole seconds).
    pub start_time: SystemTime,
    /// `PercentageCompleteOnRollback`: `PercentageComplete` when the rollback started.
    pub percentage_complete_on_rollback: u32,
    /// `InstancesToUpdateOnRollback`: `InstancesToUpdate` when the rollback started.
    pub instances_to_update_on_rollback: u32,
}

/// Instances replaced at the same time: the instances that may be out of service
/// (`instances - ceil(instances * min / 100)`) plus, with `max > 100`, the instances that may
/// be launched on top of the desired capacity (`ceil(instances * (max - 100) / 100)`); at least
/// 1, at most all of them.
pub(crate) fn batch_size(instances: u32, min: u32, max: u32) -> u32 {
    let n = u64::from(instances);
    if n == 0 {
        return 0;
    }
    let keep = (n * u64::from(min)).div_ceil(100).min(n);
    let extra = (n * u64::from(max.saturating_sub(100))).div_ceil(100);
    u32::try_from((n - keep + extra).clamp(1, n)).unwrap_or(instances)
}

/// One step of a batched InProgress phase, timed from the start of InProgress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    start: Duration,
    end: Duration,
    kind: StepKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepKind {
    /// Instances `first..first + size` are launched and warm up.
    Batch { first: u32, size: u32 },
    /// The refresh waits out the checkpoint delay at this checkpoint.
    Checkpoint { percentage: u32 },
}

/// The InProgress phase of a batched refresh, laid out when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Batches {
    size: u32,
    time: Duration,
    steps: Vec<Step>,
    /// Instances replaced in the end (fewer than all for a partial refresh, whose last
    /// checkpoint is below 100).
    target: u32,
}

impl Batches {
    /// Batches of `size` instances taking `time` each, paced to stop at each checkpoint (a batch
    /// never overshoots the next checkpoint) and to wait `delay` there. There is no wait at the
    /// last checkpoint: it ends the InProgress phase.
    fn new(
        instances: u32,
        size: u32,
        time: Duration,
        checkpoints: &[u32],
        delay: Duration,
    ) -> Self {
        let n = u64::from(instances);
        // (percentage, instances that must be new to reach it)
        let counts: Vec<(u32, u32)> = checkpoints
            .iter()
            .map(|&c| {
                let k = (n * u64::from(c)).div_ceil(100).min(n);
                (c, u32::try_from(k).unwrap_or(instances))
            })
            .collect();
        let target = counts.last().map_or(instances, |&(_, k)| k);
        let mut steps = Vec::new();
        let (mut done, mut t, mut next) = (0_u32, Duration::ZERO, 0_usize);
        while done < target {
            while next < counts.len() && counts[next].1 <= done {
                next += 1;
            }
            let goal = counts.get(next).map_or(target, |&(_, k)| k.min(target));
            let batch = size.max(1).min(goal - done);
            steps.push(Step {
                start: t,
                end: t.saturating_add(time),
                kind: StepKind::Batch {
                    first: done,
                    size: batch,
                },
            });
            t = t.saturating_add(time);
            done += batch;
            if done < target {
                // Several checkpoints can be reached at once: one wait, at the highest.
                let mut reached = None;
                while next < counts.len() && counts[next].1 <= done {
                    reached = Some(counts[next].0);
                    next += 1;
                }
                if let Some(percentage) = reached {
                    steps.push(Step {
                        start: t,
                        end: t.saturating_add(delay),
                        kind: StepKind::Checkpoint { percentage },
                    });
                    t = t.saturating_add(delay);
                }
            }
        }
        Batches {
            size,
            time,
            steps,
            target,
        }
    }

    fn len(&self) -> Duration {
        self.steps.last().map_or(Duration::ZERO, |s| s.end)
    }
}

/// How the InProgress phase replaces instances.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Replacement {
    /// `PercentageComplete` grows linearly over this time.
    Linear(Duration),
    /// In batches.
    Batched(Batches),
}

/// Everything a refresh will do, fixed when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    instances: u32,
    pending: Duration,
    replacement: Replacement,
    bake: Duration,
    cancel: Duration,
    rollback: Duration,
    fail_after: Option<Duration>,
    fail_reason: String,
    auto_rollback: bool,
}

impl Plan {
    fn new(config: &GroupConfig, preferences: &Preferences) -> Self {
        let replacement = if config.batched || preferences.affects_batches() {
            let warmup = preferences
                .instance_warmup
                .map_or_else(|| config.instance_warmup(), secs);
            let size = batch_size(
                config.instances,
                preferences.min_healthy(),
                preferences.max_healthy(),
            );
            Replacement::Batched(Batches::new(
                config.instances,
                size,
                config.launch_duration.saturating_add(warmup),
                preferences.checkpoints(),
                secs(preferences.checkpoint_delay()),
            ))
        } else {
            Replacement::Linear(config.refresh_duration)
        };
        Plan {
            instances: config.instances,
            pending: config.pending_duration,
            replacement,
            bake: preferences.bake_time.map_or(config.bake_duration, secs),
            cancel: config.cancel_duration,
            rollback: config.rollback_duration,
            fail_after: config.fail_after,
            fail_reason: config
                .fail_reason
                .clone()
                .unwrap_or_else(|| DEFAULT_FAIL_REASON.to_owned()),
            auto_rollback: preferences.auto_rollback(),
        }
    }

    fn in_progress(&self) -> Duration {
        match &self.replacement {
            Replacement::Linear(d) => *d,
            Replacement::Batched(b) => b.len(),
        }
    }

    /// Refresh time (see [`Refresh::refresh_time`]) from start to `Successful`.
    fn total(&self) -> Duration {
        self.in_progress_end().saturating_add(self.bake)
    }

    /// Refresh time at which InProgress ends.
    fn in_progress_end(&self) -> Duration {
        self.pending.saturating_add(self.in_progress())
    }

    /// The bake time in whole seconds (rounded up), as `BakeTime` echoes it.
    fn bake_secs(&self) -> u32 {
        let whole = self.bake.as_secs() + u64::from(self.bake.subsec_nanos() > 0);
        u32::try_from(whole).unwrap_or(u32::MAX)
    }

    fn percentage_of(&self, done: u32) -> u32 {
        if self.instances == 0 {
            return 100;
        }
        let p = u64::from(done) * 100 / u64::from(self.instances);
        u32::try_from(p.min(100)).unwrap_or(100)
    }

    /// Where an uninterrupted refresh is after `tau` of refresh time.
    fn natural(&self, tau: Duration) -> Natural {
        let n = self.instances;
        if tau < self.pending {
            return Natural {
                phase: Phase::Pending,
                percentage: 0,
                done: 0,
                in_flight: 0,
            };
        }
        let x = tau - self.pending;
        let in_progress = self.in_progress();
        if x < in_progress {
            match &self.replacement {
                Replacement::Linear(d) => {
                    let percentage = percent(x, *d);
                    let done = u64::from(n) * u64::from(percentage) / 100;
                    let done = u32::try_from(done).unwrap_or(n);
                    return Natural {
                        phase: Phase::Replacing { next: done },
                        percentage,
                        done,
                        in_flight: u32::from(done < n),
                    };
                }
                Replacement::Batched(b) => {
                    let mut done = 0;
                    for step in &b.steps {
                        match (step.end <= x, step.kind) {
                            (true, StepKind::Batch { size, .. }) => done += size,
                            (true, StepKind::Checkpoint { .. }) => {}
                            (false, kind) => {
                                let (phase, in_flight) = match kind {
                                    StepKind::Batch { first, size } => {
                                        (Phase::Replacing { next: first }, size)
                                    }
                                    StepKind::Checkpoint { percentage } => {
                                        (Phase::Checkpoint { percentage }, 0)
                                    }
                                };
                                return Natural {
                                    phase,
                                    percentage: self.percentage_of(done),
                                    done,
                                    in_flight,
                                };
                            }
                        }
                    }
                }
            }
        }
        let (percentage, done) = match &self.replacement {
            Replacement::Linear(_) => (100, n),
            Replacement::Batched(b) => (self.percentage_of(b.target), b.target),
        };
        Natural {
            phase: if x < in_progress.saturating_add(self.bake) {
                Phase::Baking
            } else {
                Phase::Done
            },
            percentage,
            done,
            in_flight: 0,
        }
    }
}

fn percent(part: Duration, whole: Duration) -> u32 {
    if whole.is_zero() {
        return 100;
    }
    let p = part.as_nanos().saturating_mul(100) / whole.as_nanos();
    u32::try_from(p.min(100)).unwrap_or(100)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Pending,
    /// Replacing instances; `next` is the first one of the current batch.
    Replacing {
        next: u32,
    },
    Checkpoint {
        percentage: u32,
    },
    Baking,
    Done,
}

/// The state of an uninterrupted refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Natural {
    phase: Phase,
    percentage: u32,
    /// Instances replaced, healthy and warmed up.
    done: u32,
    /// Instances launched in the current batch, not counted yet.
    in_flight: u32,
}

impl Natural {
    fn status(&self) -> RefreshStatus {
        match self.phase {
            Phase::Pending => RefreshStatus::Pending,
            Phase::Replacing { .. } | Phase::Checkpoint { .. } => RefreshStatus::InProgress,
            Phase::Baking => RefreshStatus::Baking,
            Phase::Done => RefreshStatus::Successful,
        }
    }
}

/// What ended (or is ending) a refresh's natural course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterruptKind {
    Cancel,
    Rollback,
    /// Failed, with this `StatusReason`.
    Fail(String),
}

#[derive(Debug, Clone)]
struct Interrupt {
    kind: InterruptKind,
    at: Instant,
}

/// A period during which the group's `Launch` process was suspended (`None`: still is).
pub(crate) type Suspension = (Instant, Option<Instant>);

/// `RollbackDetails` as computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RollbackView {
    pub(crate) at: Instant,
    pub(crate) reason: String,
    pub(crate) percentage: u32,
    pub(crate) instances_to_update: u32,
}

/// The computed state of a refresh at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) status: RefreshStatus,
    pub(crate) reason: Option<String>,
    pub(crate) percentage: u32,
    pub(crate) instances_to_update: u32,
    pub(crate) end: Option<Instant>,
    pub(crate) checkpoint: Option<u32>,
    pub(crate) stalled: bool,
    pub(crate) rollback: Option<RollbackView>,
}

/// One refresh and what it needs to compute its status at any instant.
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    pub(crate) id: String,
    pub(crate) group: String,
    pub(crate) started: Instant,
    pub(crate) strategy: String,
    /// The `Preferences` element Describe echoes.
    pub(crate) preferences: Node,
    /// The `DesiredConfiguration` element, as the request sent it.
    pub(crate) desired: Option<Node>,
    plan: Plan,
    interrupt: Option<Interrupt>,
    unknowns: Unknowns,
}

impl Refresh {
    pub(crate) fn new(
        id: String,
        group: String,
        started: Instant,
        config: &GroupConfig,
        strategy: String,
        preferences: &Preferences,
        desired: Option<Node>,
        unknowns: Unknowns,
    ) -> Self {
        let plan = Plan::new(config, preferences);
        Refresh {
            id,
            group,
            started,
            strategy,
            preferences: preferences.echo(plan.bake_secs()),
            desired,
            plan,
            interrupt: None,
            unknowns,
        }
    }

    /// Whether `RollbackInstanceRefresh` can undo this refresh (it has a desired configuration
    /// pinned to a launch template version).
    pub(crate) fn reversible(&self) -> bool {
        prefs::reversible(self.desired.as_ref())
    }

    /// Start cancelling, rolling back or failing at `now`. The caller checked that the refresh
    /// is Pending, InProgress or Baking.
    pub(crate) fn interrupt(&mut self, kind: InterruptKind, now: Instant) {
        self.interrupt = Some(Interrupt { kind, at: now });
    }

    /// Refresh time at `at`: the time since start, minus the time the refresh stood still
    /// because `Launch` was suspended while it was InProgress (it keeps running while
    /// Pending, and reaching InProgress under a suspension it stops at 0 %).
    fn refresh_time(&self, at: Instant, suspended: &[Suspension]) -> Duration {
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let mut tau = Duration::ZERO;
        let mut cursor = self.started;
        if at <= cursor {
            return tau;
        }
        for &(a, b) in suspended {
            let b = b.map_or(at, |b| b.min(at));
            let a = a.max(cursor);
            if a >= b {
                continue;
            }
            tau = tau.saturating_add(a - cursor);
            let d = b - a;
            if from < to && tau < to {
                if tau < from {
                    tau = tau.saturating_add(d).min(from);
                }
            } else {
                tau = tau.saturating_add(d);
            }
            cursor = b;
        }
        tau.saturating_add(at.saturating_duration_since(cursor))
    }

    /// What ends the natural course, if it has ended by `now`: a cancel, rollback or failure
    /// requested through the API, or the scripted `fail_after`.
    fn ending(&self, now: Instant, suspended: &[Suspension]) -> Option<(Instant, InterruptKind)> {
        let requested = self
            .interrupt
            .as_ref()
            .filter(|i| i.at <= now)
            .map(|i| (i.at, i.kind.clone()));
        let scripted = self
            .plan
            .fail_after
            .and_then(|after| self.started.checked_add(after))
            .filter(|&at| {
                at <= now
                    && self.plan.natural(self.refresh_time(at, suspended)).phase != Phase::Done
            })
            .map(|at| (at, InterruptKind::Fail(self.plan.fail_reason.clone())));
        match (requested, scripted) {
            (Some(r), Some(s)) => Some(if s.0 < r.0 { s } else { r }),
            (r, s) => r.or(s),
        }
    }

    /// The refresh's state at `now`, given the group's `Launch` suspensions.
    pub(crate) fn view(&self, now: Instant, suspended: &[Suspension]) -> View {
        match self.ending(now, suspended) {
            Some((at, kind)) => self.ended_view(now, at, kind, suspended),
            None => self.natural_view(now, suspended),
        }
    }

    fn natural_view(&self, now: Instant, suspended: &[Suspension]) -> View {
        let tau = self.refresh_time(now, suspended);
        let nat = self.plan.natural(tau);
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let stalled = from < to
            && (from..to).contains(&tau)
            && suspended
                .last()
                .is_some_and(|&(a, b)| a <= now && b.is_none());
        let reason = match nat.phase {
            _ if stalled => Some(STALLED_REASON.to_owned()),
            Phase::Pending => Some(PENDING_REASON.to_owned()),
            Phase::Replacing { next } => Some(format!(
                "Waiting for instances to warm up before continuing. For example: {} is warming up.",
                self.instance_id(next)
            )),
            Phase::Checkpoint { percentage } => Some(format!(
                "Waiting for the checkpoint delay to elapse. Checkpoint {percentage}% reached."
            )),
            Phase::Baking => Some(BAKING_REASON.to_owned()),
            Phase::Done => None,
        };
        let end = (nat.phase == Phase::Done).then(|| {
            let late = tau.saturating_sub(self.plan.total());
            now.checked_sub(late).unwrap_or(now)
        });
        View {
            status: nat.status(),
            reason,
            percentage: nat.percentage,
            instances_to_update: self.plan.instances - nat.done,
            end,
            checkpoint: match nat.phase {
                Phase::Checkpoint { percentage } => Some(percentage),
                _ => None,
            },
            stalled,
            rollback: None,
        }
    }

    fn ended_view(
        &self,
        now: Instant,
        at: Instant,
        kind: InterruptKind,
        suspended: &[Suspension],
    ) -> View {
        let nat = self.plan.natural(self.refresh_time(at, suspended));
        let frozen = View {
            status: RefreshStatus::Failed,
            reason: None,
            percentage: nat.percentage,
            instances_to_update: self.plan.instances - nat.done,
            end: None,
            checkpoint: None,
            stalled: false,
            rollback: None,
        };
        match kind {
            InterruptKind::Cancel => {
                let done = at.checked_add(self.plan.cancel);
                let finished = done.is_some_and(|done| now >= done);
                View {
                    status: if finished {
                        RefreshStatus::Cancelled
                    } else {
                        RefreshStatus::Cancelling
                    },
                    reason: Some(
                        if finished {
                            CANCELLED_REASON
                        } else {
                            CANCELLING_REASON
                        }
                        .to_owned(),
                    ),
                    end: done.filter(|_| finished),
                    ..frozen
                }
            }
            InterruptKind::Fail(reason) if !self.plan.auto_rollback => View {
                reason: Some(reason),
                end: Some(at),
                ..frozen
            },
            InterruptKind::Fail(reason) => self.rollback_view(
                now,
                at,
                nat,
                format!("Automatic rollback after the instance refresh failed: {reason}"),
            ),
            InterruptKind::Rollback => {
                self.rollback_view(now, at, nat, USER_ROLLBACK_REASON.to_owned())
            }
        }
    }

    /// A rollback started at `at`, when the refresh was at `nat`. `PercentageComplete` goes
    /// back down to 0 as the replaced instances are replaced again, `InstancesToUpdate` stays at
    /// the instances the refresh had not replaced yet.
    fn rollback_view(&self, now: Instant, at: Instant, nat: Natural, reason: String) -> View {
        let x = now.saturating_duration_since(at);
        let (duration, percentage) = match &self.plan.replacement {
            Replacement::Linear(_) => {
                let d = self.plan.rollback;
                let undone = u64::from(nat.percentage) * u64::from(percent(x, d)) / 100;
                (
                    d,
                    nat.percentage - u32::try_from(undone).unwrap_or(nat.percentage),
                )
            }
            Replacement::Batched(b) => {
                // The instances of the current batch are rolled back first, with the others.
                let replaced = u64::from(nat.done + nat.in_flight);
                let size = u64::from(b.size.max(1));
                let batches = replaced.div_ceil(size);
                let d = b
                    .time
                    .saturating_mul(u32::try_from(batches).unwrap_or(u32::MAX));
                let rounds = if b.time.is_zero() {
                    batches
                } else {
                    u64::try_from(x.as_nanos() / b.time.as_nanos())
                        .unwrap_or(u64::MAX)
                        .min(batches)
                };
                let left = replaced - (rounds * size).min(replaced);
                let new = u32::try_from(left.min(u64::from(nat.done))).unwrap_or(nat.done);
                (d, self.plan.percentage_of(new))
            }
        };
        let end = at.checked_add(duration);
        let finished = end.is_some() && x >= duration;
        let to_update = self.plan.instances - nat.done;
        View {
            status: if finished {
                RefreshStatus::RollbackSuccessful
            } else {
                RefreshStatus::RollbackInProgress
            },
            reason: (!finished).then(|| ROLLING_BACK_REASON.to_owned()),
            percentage: if finished { 0 } else { percentage },
            instances_to_update: to_update,
            end: end.filter(|_| finished),
            checkpoint: None,
            stalled: false,
            rollback: Some(RollbackView {
                at,
                reason,
                percentage: nat.percentage,
                instances_to_update: to_update,
            }),
        }
    }

    /// When the refresh would end if nothing intervened: `None` while `Launch` is suspended
    /// during its InProgress phase.
    fn planned_end(&self, now: Instant, suspended: &[Suspension]) -> Option<Instant> {
        let tau = self.refresh_time(now, suspended);
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let standing = from < to
            && (from..to).contains(&tau)
            && suspended
                .last()
                .is_some_and(|&(a, b)| a <= now && b.is_none());
        if standing {
            return None;
        }
        let total = self.plan.total();
        if tau >= total {
            now.checked_sub(tau - total)
        } else {
            now.checked_add(total - tau)
        }
    }

    /// A stable, EC2-shaped instance id for the `index`-th replacement instance.
    fn instance_id(&self, index: u32) -> String {
        // FNV-1a over the refresh id and the index.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.id.bytes().chain(index.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("i-0{hash:016x}")
    }

    /// The public snapshot of this refresh at `now`.
    pub(crate) fn snapshot(
        &self,
        now: Instant,
        suspended: &[Suspension],
        clock: &Clock,
    ) -> RefreshSnapshot {
        let v = self.view(now, suspended);
        RefreshSnapshot {
            id: self.id.clone(),
            group: self.group.clone(),
            status: v.status,
            status_reason: v.reason,
            percentage_complete: v.percentage,
            instances_to_update: v.instances_to_update,
            start_time: clock.wall(self.started),
            end_time: v.end.map(|e| clock.wall(e)),
            checkpoint: v.checkpoint,
            stalled: v.stalled,
            batch_size: match &self.plan.replacement {
                Replacement::Linear(_) => None,
                Replacement::Batched(b) => Some(b.size),
            },
            rollback: v.rollback.map(|r| RollbackSnapshot {
                reason: r.reason,
                start_time: clock.wall(r.at),
                percentage_complete_on_rollback: r.percentage,
                instances_to_update_on_rollback: r.instances_to_update,
            }),
            unknowns: self.unknowns.clone(),
            planned_end: self.planned_end(now, suspended).map(|e| clock.wall(e)),
        }
    }
}

/// A simulated Auto Scaling group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) config: GroupConfig,
    /// Oldest first.
    pub(crate) refreshes: Vec<Refresh>,
    /// When the `Launch` process was suspended, oldest first, never overlapping.
    suspensions: Vec<Suspension>,
}

impl Group {
    pub(crate) fn new(config: GroupConfig) -> Self {
        Group {
            config,
            refreshes: Vec::new(),
            suspensions: Vec::new(),
        }
    }

    /// The group's `Launch` suspensions, for [`Refresh::view`].
    pub(crate) fn suspensions(&self) -> &[Suspension] {
        &self.suspensions
    }

    /// The state of the refresh at `index` at `now`.
    pub(crate) fn view(&self, index: usize, now: Instant) -> View {
        self.refreshes[index].view(now, &self.suspensions)
    }

    /// The index of the refresh that is active at `now`, if any (there is at most one).
    pub(crate) fn active_index(&self, now: Instant) -> Option<usize> {
        (0..self.refreshes.len())
            .rev()
            .find(|&i| self.view(i, now).status.is_active())
    }

    /// Whether the `Launch` process is suspended.
    pub(crate) fn launch_suspended(&self) -> bool {
        self.suspensions.last().is_some_and(|s| s.1.is_none())
    }

    /// Suspend the `Launch` process at `now` (no-op if it is suspended).
    pub(crate) fn suspend_launch(&mut self, now: Instant) {
        if !self.launch_suspended() {
            self.suspensions.push((now, None));
        }
    }

    /// Resume the `Launch` process at `now` (no-op if it is not suspended).
    pub(crate) fn resume_launch(&mut self, now: Instant) {
        if let Some(last) = self.suspensions.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh_with(config: GroupConfig, preferences: &Preferences) -> (Refresh, Instant) {
        let t0 = Instant::now();
        let r = Refresh::new(
            "id".into(),
            "web".into(),
            t0,
            &config,
            "Rolling".into(),
            preferences,
            None,
            Unknowns::default(),
        );
        (r, t0)
    }

    fn refresh(config: GroupConfig) -> (Refresh, Instant) {
        refresh_with(config, &Preferences::default())
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
        let at = |s| r.view(t0 + secs(s), &[]);
        assert_eq!(at(0).status, RefreshStatus::Pending);
        assert_eq!(at(10).status, RefreshStatus::InProgress);
        assert_eq!(at(60).percentage, 50);
        assert_eq!(at(60).instances_to_update, 2);
        assert_eq!(at(110).status, RefreshStatus::Baking);
        assert_eq!(at(110).percentage, 100);
        assert_eq!(at(130).status, RefreshStatus::Successful);
        assert_eq!(at(999).end, Some(t0 + secs(130)));
        assert_eq!(at(999).reason, None);
        assert!(at(0).reason.is_some() && at(60).reason.is_some() && at(110).reason.is_some());
    }

    #[test]
    fn failure_freezes_progress() {
        let config = GroupConfig::default()
            .pending_duration(secs(0))
            .refresh_duration(secs(100))
            .fail_after(secs(30));
        let (r, t0) = refresh(config);
        let v = r.view(t0 + secs(50), &[]);
        assert_eq!(v.status, RefreshStatus::Failed);
        assert_eq!(v.percentage, 30);
        assert_eq!(v.end, Some(t0 + secs(30)));
        assert_eq!(v.reason.as_deref(), Some(DEFAULT_FAIL_REASON));
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
        assert_eq!(r.view(t0 + secs(41), &[]).status, RefreshStatus::Cancelling);
        let done = r.view(t0 + secs(45), &[]);
        assert_eq!(done.status, RefreshStatus::Cancelled);
        assert_eq!(done.percentage, 40);
        assert_eq!(done.end, Some(t0 + secs(45)));

        let (mut r, t0) = refresh(config);
        r.interrupt(InterruptKind::Rollback, t0 + secs(50));
        let mid = r.view(t0 + secs(55), &[]);
        assert_eq!(mid.status, RefreshStatus::RollbackInProgress);
        // The details hold the values when the rollback started (AWS: "the value of
        // InstancesToUpdate at the time the rollback started"), and PercentageComplete goes
        // back down to 0 over the rollback.
        let details = mid.rollback.expect("details");
        assert_eq!(
            (details.at, details.percentage, details.instances_to_update),
            (t0 + secs(50), 50, 5)
        );
        assert_eq!(mid.percentage, 25);
        assert_eq!(mid.instances_to_update, 5);
        let end = r.view(t0 + secs(60), &[]);
        assert_eq!(end.status, RefreshStatus::RollbackSuccessful);
        assert_eq!(end.percentage, 0);
        assert_eq!(end.end, Some(t0 + secs(60)));
    }

    #[test]
    fn batch_sizes_follow_the_healthy_percentages() {
        assert_eq!(batch_size(10, 90, 100), 1);
        assert_eq!(batch_size(10, 80, 100), 2);
        assert_eq!(batch_size(10, 0, 100), 10);
        assert_eq!(batch_size(10, 100, 100), 1);
        assert_eq!(batch_size(3, 50, 100), 1); // keep ceil(1.5) = 2
        assert_eq!(batch_size(10, 100, 150), 5);
        assert_eq!(batch_size(10, 100, 101), 1); // ceil(0.1)
        assert_eq!(batch_size(10, 90, 120), 3); // 1 down + 2 extra
        assert_eq!(batch_size(4, 0, 200), 4);
        assert_eq!(batch_size(0, 90, 100), 0);
    }

    /// The example of the AWS user guide ("Add checkpoints to an instance refresh"): 10
    /// instances, checkpoints [20, 50], a 15 minute delay, minimum healthy 80 %, 10 minutes per
    /// replacement.
    #[test]
    fn checkpoints_pace_batches_like_the_user_guide_example() {
        let b = Batches::new(10, batch_size(10, 80, 100), secs(600), &[20, 50], secs(900));
        let kinds: Vec<(u64, u64, StepKind)> = b
            .steps
            .iter()
            .map(|s| (s.start.as_secs(), s.end.as_secs(), s.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (0, 600, StepKind::Batch { first: 0, size: 2 }),
                (600, 1500, StepKind::Checkpoint { percentage: 20 }),
                (1500, 2100, StepKind::Batch { first: 2, size: 2 }),
                (2100, 2700, StepKind::Batch { first: 4, size: 1 }),
            ]
        );
        assert_eq!(b.target, 5);

        // Two instances, [10, 40, 100]: the first replacement reaches 50 %, past both of the
        // first checkpoints; one wait, reported at 40 %.
        let b = Batches::new(2, 1, secs(10), &[10, 40, 100], secs(5));
        let kinds: Vec<StepKind> = b.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Batch { first: 0, size: 1 },
                StepKind::Checkpoint { percentage: 40 },
                StepKind::Batch { first: 1, size: 1 },
            ]
        );
        assert_eq!(b.len(), secs(25));
    }

    #[test]
    fn batched_progress_jumps_per_batch() {
        let preferences = Preferences {
            min_healthy: Some(50),
            instance_warmup: Some(40),
            ..Preferences::default()
        };
        let config = GroupConfig::default()
            .instances(4)
            .pending_duration(secs(10))
            .launch_duration(secs(60));
        let (r, t0) = refresh_with(config, &preferences);
        let at = |s| r.view(t0 + secs(s), &[]);
        assert_eq!(
            (at(10).status, at(10).percentage),
            (RefreshStatus::InProgress, 0)
        );
        assert_eq!(at(109).percentage, 0);
        assert_eq!((at(110).percentage, at(110).instances_to_update), (50, 2));
        assert_eq!(at(209).percentage, 50);
        assert_eq!(at(210).status, RefreshStatus::Successful);
        assert_eq!(at(210).end, Some(t0 + secs(210)));
    }

    #[test]
    fn extreme_durations_do_not_panic() {
        let config = GroupConfig::default()
            .pending_duration(Duration::MAX)
            .cancel_duration(Duration::MAX)
            .fail_after(Duration::MAX)
            .launch_duration(Duration::MAX);
        let preferences = Preferences {
            instance_warmup: Some(u32::MAX),
            ..Preferences::default()
        };
        let (mut r, t0) = refresh_with(config.clone(), &preferences);
        assert_eq!(r.view(t0 + secs(1), &[]).status, RefreshStatus::Pending);
        r.interrupt(InterruptKind::Cancel, t0 + secs(2));
        let v = r.view(t0 + secs(3), &[(t0, None)]);
        assert_eq!((v.status, v.end), (RefreshStatus::Cancelling, None));
        // Linear: the rollback takes rollback_duration (a batched refresh still Pending would
        // have nothing to roll back and be RollbackSuccessful at once).
        let (mut r, t0) = refresh(config.rollback_duration(Duration::MAX));
        r.interrupt(InterruptKind::Rollback, t0 + secs(2));
        assert_eq!(
            r.view(t0 + secs(3), &[]).status,
            RefreshStatus::RollbackInProgress
        );
    }

    #[test]
    fn launch_suspension_freezes_in_progress_only() {
        let config = GroupConfig::default()
            .instances(10)
            .pending_duration(secs(10))
            .refresh_duration(secs(100));
        let (r, t0) = refresh(config);
        // Suspended from 5 s (Pending) to 50 s: Pending runs out at 10 s, then the refresh
        // stands at 0 % until 50 s.
        let s = [(t0 + secs(5), Some(t0 + secs(50)))];
        let v = r.view(t0 + secs(30), &s);
        assert_eq!((v.status, v.percentage), (RefreshStatus::InProgress, 0));
        assert_eq!(r.view(t0 + secs(100), &s).percentage, 50);
        assert_eq!(r.view(t0 + secs(200), &s).end, Some(t0 + secs(150)));
        // Still suspended: frozen, and said so.
        let open = [(t0 + secs(60), None)];
        let v = r.view(t0 + secs(1000), &open);
        assert_eq!((v.status, v.percentage), (RefreshStatus::InProgress, 50));
        assert!(v.stalled);
        assert_eq!(v.reason.as_deref(), Some(STALLED_REASON));
    }
}
