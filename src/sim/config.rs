//! How a simulated group is configured, and how its refreshes are timed.

use std::time::Duration;

use super::unknowns::Unknowns;

/// How long a *linear* refresh stays `InProgress` unless configured.
const DEFAULT_LINEAR: Duration = Duration::from_secs(60);
/// How long `Cancelling` lasts at least (the API call's own work). Guess: no source gives it.
const DEFAULT_CANCEL: Duration = Duration::from_secs(5);
/// How long a *linear* refresh rolls back unless configured.
const DEFAULT_ROLLBACK: Duration = Duration::from_secs(30);

/// How a simulated Auto Scaling group behaves, and how its refreshes are timed.
///
/// A refresh snapshots the group's configuration when it starts, so changing it with
/// [`AutoScalingSim::set_group_config`](super::AutoScalingSim::set_group_config) affects only
/// later refreshes. See the [module docs](super) for the rules a refresh follows.
///
/// A refresh replaces its instances **in batches** (the model of Auto Scaling), unless the
/// group sets a [`refresh_duration`](Self::refresh_duration) and the request sets no
/// preference that shapes batches (`InstanceWarmup`, `MinHealthyPercentage`,
/// `MaxHealthyPercentage`, `CheckpointPercentages`): then `PercentageComplete` grows
/// **linearly** over that time, a test convenience that models no AWS behaviour.
/// [`batched(true)`](Self::batched) forces batches.
///
/// # Defaults
///
/// | field | default | used by |
/// |---|---|---|
/// | `instances` | 2 | both modes |
/// | `pending_duration` | the refresh's [`Unknowns::pending`] (5 s unless drawn) | both modes |
/// | `refresh_duration` | unset: batches (60 s when linear) | linear mode |
/// | `bake_duration` | 0 (no Baking phase) | both modes, when the request sets no `BakeTime` |
/// | `cancel_duration` | 5 s | both modes |
/// | `rollback_duration` | 30 s | linear mode |
/// | `launch_duration` | the refresh's [`Unknowns::launch_base`] (60 s unless drawn) | batches |
/// | `default_warmup` | unset: the health check grace period | batches, when the request sets no `InstanceWarmup` |
/// | `health_check_grace_period` | 0 s (groups made by the CLI or an SDK) | batches |
/// | `batched` | `false` | |
/// | `unknowns` | unset: drawn ([`SimBuilder::vary_unknowns`](super::SimBuilder::vary_unknowns)) or [`Unknowns::default`] | both modes |
/// | `fail_after` | never | both modes |
/// | `fail_reason` | the refresh's wording of `Failed` | both modes |
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
/// // Batches: each instance takes its launch time plus the warmup.
/// let batched = GroupConfig::default()
///     .launch_duration(Duration::from_secs(30))
///     .default_warmup(Duration::from_secs(90));
/// assert_eq!(batched.batch_duration(), Duration::from_secs(120));
/// // Groups made by the CLI or an SDK have a health check grace period of 0 s.
/// assert_eq!(GroupConfig::default().batch_duration(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    pub(crate) instances: u32,
    pending_duration: Option<Duration>,
    refresh_duration: Option<Duration>,
    pub(crate) bake_duration: Duration,
    pub(crate) cancel_duration: Duration,
    pub(crate) rollback_duration: Duration,
    pub(crate) fail_after: Option<Duration>,
    pub(crate) fail_reason: Option<String>,
    launch_duration: Option<Duration>,
    default_warmup: Option<Duration>,
    health_check_grace_period: Duration,
    batched: bool,
    unknowns: Option<Unknowns>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            instances: 2,
            pending_duration: None,
            refresh_duration: None,
            bake_duration: Duration::ZERO,
            cancel_duration: DEFAULT_CANCEL,
            rollback_duration: DEFAULT_ROLLBACK,
            fail_after: None,
            fail_reason: None,
            launch_duration: None,
            default_warmup: None,
            health_check_grace_period: Duration::ZERO,
            batched: false,
            unknowns: None,
        }
    }
}

impl GroupConfig {
    /// Number of instances a refresh replaces (`InstancesToUpdate` at the start). A refresh lays
    /// out its instances when it starts, so keep this realistic (thousands at most).
    pub fn instances(mut self, instances: u32) -> Self {
        self.instances = instances;
        self
    }

    /// How long a refresh stays `Pending`, in place of its [`Unknowns::pending`].
    pub fn pending_duration(mut self, duration: Duration) -> Self {
        self.pending_duration = Some(duration);
        self
    }

    /// Make refreshes *linear*: `PercentageComplete` goes from 0 to 100 over this time, unless
    /// the request sets a preference that shapes batches or the group is
    /// [`batched`](Self::batched). A test convenience: no AWS behaviour is linear.
    pub fn refresh_duration(mut self, duration: Duration) -> Self {
        self.refresh_duration = Some(duration);
        self
    }

    /// How long a refresh stays `Baking` after replacing all instances (0 skips Baking), when
    /// the request sets no `BakeTime` preference (which takes precedence).
    pub fn bake_duration(mut self, duration: Duration) -> Self {
        self.bake_duration = duration;
        self
    }

    /// How long a cancelled refresh stays `Cancelling` at least (default 5 s; Guess: no source
    /// gives it). A
    /// refresh in batches that waits for its transitioning instances stays `Cancelling` until
    /// the launches in flight are done, if that is later.
    pub fn cancel_duration(mut self, duration: Duration) -> Self {
        self.cancel_duration = duration;
        self
    }

    /// How long a rolled-back *linear* refresh stays `RollbackInProgress` before
    /// `RollbackSuccessful`. A refresh in batches rolls back by replacing the instances it
    /// replaced again, in batches of the same size.
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

    /// The `StatusReason` of a refresh that fails through [`fail_after`](Self::fail_after), in
    /// place of the refresh's [wording](super::ReasonWording).
    pub fn fail_reason(mut self, reason: impl Into<String>) -> Self {
        self.fail_reason = Some(reason.into());
        self
    }

    /// How long a new instance takes from launch until it is `InService`, in place of the
    /// refresh's [`Unknowns::launch_base`] (each instance still varies by
    /// [`Unknowns::launch_spread`], and a lifecycle hook adds to it).
    pub fn launch_duration(mut self, duration: Duration) -> Self {
        self.launch_duration = Some(duration);
        self
    }

    /// The group's `DefaultInstanceWarmup`: how long a refresh waits after a new instance is
    /// `InService` before counting it as replaced, when the request sets no `InstanceWarmup`
    /// (API `RefreshPreferences`). Unset (the default), Auto Scaling uses the
    /// [health check grace period](Self::health_check_grace_period); zero is a valid setting
    /// and means no warmup.
    pub fn default_warmup(mut self, warmup: Duration) -> Self {
        self.default_warmup = Some(warmup);
        self
    }

    /// The group's `HealthCheckGracePeriod`: the instance warmup when neither the request nor
    /// [`default_warmup`](Self::default_warmup) sets one (API `RefreshPreferences`). Default
    /// 0 s, the default of groups made through the CLI or an SDK (the console's is 300 s).
    pub fn health_check_grace_period(mut self, period: Duration) -> Self {
        self.health_check_grace_period = period;
        self
    }

    /// Replace instances in batches even when [`refresh_duration`](Self::refresh_duration)
    /// is set and the request sets no batch-shaping preference.
    pub fn batched(mut self, batched: bool) -> Self {
        self.batched = batched;
        self
    }

    /// Fix the [`Unknowns`] of this group's refreshes (they take precedence over
    /// [`SimBuilder::vary_unknowns`](super::SimBuilder::vary_unknowns)).
    /// [`pending_duration`](Self::pending_duration) and
    /// [`launch_duration`](Self::launch_duration), when set, still replace their fields.
    pub fn unknowns(mut self, unknowns: Unknowns) -> Self {
        self.unknowns = Some(unknowns);
        self
    }

    /// Time from start to `Successful` for a *linear* refresh that is neither cancelled nor
    /// failed and whose request sets no `BakeTime` (unset durations at their defaults).
    pub fn total_duration(&self) -> Duration {
        self.pending_duration
            .unwrap_or(Unknowns::default().pending)
            .saturating_add(self.refresh_duration.unwrap_or(DEFAULT_LINEAR))
            .saturating_add(self.bake_duration)
    }

    /// The instance warmup when the request sets no `InstanceWarmup`:
    /// [`default_warmup`](Self::default_warmup) if set, else the
    /// [health check grace period](Self::health_check_grace_period).
    pub fn instance_warmup(&self) -> Duration {
        self.default_warmup
            .unwrap_or(self.health_check_grace_period)
    }

    /// How long one instance takes, from launch to warmed up, when the request sets no
    /// `InstanceWarmup` and its launch does not vary (no spread, no lifecycle hook):
    /// [`launch_duration`](Self::launch_duration) (60 s unset) +
    /// [`instance_warmup`](Self::instance_warmup).
    pub fn batch_duration(&self) -> Duration {
        self.launch_duration
            .unwrap_or(Unknowns::default().launch_base)
            .saturating_add(self.instance_warmup())
    }

    /// The unknowns this configuration fixes, if any.
    pub(crate) fn fixed_unknowns(&self) -> Option<&Unknowns> {
        self.unknowns.as_ref()
    }

    /// `unknowns` with this configuration's explicit durations in place of their fields.
    pub(crate) fn apply_overrides(&self, mut unknowns: Unknowns) -> Unknowns {
        if let Some(pending) = self.pending_duration {
            unknowns.pending = pending;
        }
        if let Some(launch) = self.launch_duration {
            unknowns.launch_base = launch;
        }
        unknowns
    }

    /// The linear duration, if this configuration asks for linear refreshes (given whether
    /// the request shapes batches).
    pub(crate) fn linear(&self, request_shapes_batches: bool) -> Option<Duration> {
        if self.batched || request_shapes_batches {
            None
        } else {
            self.refresh_duration
        }
    }
}
