//! The natural course of a refresh, fixed when it starts: `Pending`, the InProgress phase
//! (batches, or linear), `Baking`, then `Successful` (or `Failed` when an instance cannot be
//! made healthy for an hour). Early ends and API calls cut it short (see `ending`).

use std::time::Duration;

use super::batches::{Layout, Order, Stage, batch_size};
use super::checkpoints::Checkpoints;
use super::config::GroupConfig;
use super::ids::fnv1a;
use super::instances::Timing;
use super::prefs::Preferences;
use super::unknowns::{ItuReading, Rounding, Unknowns};

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// How the InProgress phase replaces instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replacement {
    /// `PercentageComplete` grows linearly over this time (a test convenience).
    Linear(Duration),
    /// In batches.
    Batched(Layout),
}

/// Everything a refresh will do if nothing intervenes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) instances: u32,
    pub(crate) pending: Duration,
    pub(crate) replacement: Replacement,
    pub(crate) bake: Duration,
    pub(crate) rounding: Rounding,
    pub(crate) reading: ItuReading,
    pub(crate) timing: Timing,
}

impl Plan {
    /// The plan of refresh `id` in a group configured by `config`, as `preferences` ask, under
    /// `unknowns`. Its instances' times are drawn from a seed derived from `id`.
    pub(crate) fn new(
        id: &str,
        config: &GroupConfig,
        preferences: &Preferences,
        unknowns: &Unknowns,
    ) -> Self {
        let timing = Timing::new(unknowns);
        let replacement = match config.linear(preferences.affects_batches()) {
            Some(d) => Replacement::Linear(d),
            None => {
                // API `RefreshPreferences`: the request's InstanceWarmup, else the group's
                // DefaultInstanceWarmup, else its HealthCheckGracePeriod.
                let warmup = preferences
                    .instance_warmup
                    .map_or_else(|| config.instance_warmup(), secs);
                let n = config.instances;
                let min = preferences.min_healthy();
                let checkpoints = Checkpoints::new(
                    n,
                    preferences.checkpoints(),
                    secs(preferences.checkpoint_delay()),
                    unknowns.hundred_percent_checkpoint_pauses,
                );
                let mut rng = fastrand::Rng::with_seed(fnv1a(id.bytes()));
                let mut layout = Layout::new(
                    n,
                    batch_size(n, min, preferences.max_healthy()),
                    Order::new(n, min, preferences.max_healthy.is_some()),
                    warmup,
                    &checkpoints,
                    &timing,
                    &mut rng,
                );
                layout.hint_names = unknowns.warmup_hint_names;
                Replacement::Batched(layout)
            }
        };
        Plan {
            instances: config.instances,
            pending: unknowns.pending,
            replacement,
            bake: preferences.bake_time.map_or(config.bake_duration, secs),
            rounding: unknowns.rounding,
            reading: unknowns.instances_to_update,
            timing,
        }
    }

    /// The batches, for a refresh in batches.
    pub(crate) fn layout(&self) -> Option<&Layout> {
        match &self.replacement {
            Replacement::Linear(_) => None,
            Replacement::Batched(layout) => Some(layout),
        }
    }

    fn in_progress(&self) -> Duration {
        match &self.replacement {
            Replacement::Linear(d) => *d,
            Replacement::Batched(layout) => layout.len(),
        }
    }

    /// Refresh time at which InProgress ends (or the refresh gives up).
    pub(crate) fn in_progress_end(&self) -> Duration {
        self.pending.saturating_add(self.in_progress())
    }

    /// Refresh time at which the refresh gives up, if it does.
    pub(crate) fn failed_at(&self) -> Option<Duration> {
        self.layout()
            .and_then(|l| l.failed_at)
            .map(|f| self.pending.saturating_add(f))
    }

    /// Refresh time of the natural end: `Successful`, or `Failed` after giving up.
    pub(crate) fn natural_end(&self) -> Duration {
        self.failed_at()
            .unwrap_or_else(|| self.in_progress_end().saturating_add(self.bake))
    }

    /// The bake time in whole seconds (rounded up), as `BakeTime` echoes it.
    pub(crate) fn bake_secs(&self) -> u32 {
        let whole = self.bake.as_secs() + u64::from(self.bake.subsec_nanos() > 0);
        u32::try_from(whole).unwrap_or(u32::MAX)
    }

    /// `PercentageComplete` with `done` instances replaced and warmed up (API
    /// `InstanceRefresh`: it counts instances healthy and past their warmup).
    pub(crate) fn percentage_of(&self, done: u32) -> u32 {
        self.rounding
            .percent(u64::from(done), u64::from(self.instances))
    }

    /// `InstancesToUpdate` in the state `nat`, under the refresh's reading.
    pub(crate) fn instances_to_update(&self, nat: &Natural) -> u32 {
        let counted = match self.reading {
            ItuReading::NotYetInBatch => nat.taken,
            ItuReading::NotYetReplaced => nat.done,
        };
        self.instances.saturating_sub(counted)
    }

    /// Where the refresh is after `tau` of refresh time, if nothing intervened.
    pub(crate) fn natural(&self, tau: Duration) -> Natural {
        let n = self.instances;
        if tau < self.pending {
            return Natural {
                phase: Phase::Pending,
                percentage: 0,
                done: 0,
                taken: 0,
                warming: None,
            };
        }
        let x = tau - self.pending;
        let (phase, done, taken, warming, percentage) = match &self.replacement {
            Replacement::Linear(d) if x < *d => {
                let percentage = percent_of_time(x, *d);
                let done = u32::try_from(u64::from(n) * u64::from(percentage) / 100).unwrap_or(n);
                // No batches: both readings of InstancesToUpdate count what is not replaced.
                (Phase::Replacing, done, done, None, percentage)
            }
            Replacement::Linear(_) => (self.after(x), n, n, None, 100),
            Replacement::Batched(layout) => {
                let p = layout.at(x);
                let (phase, warming) = match p.stage {
                    Stage::Batch { warming, .. } => (Phase::Replacing, warming),
                    Stage::Paused(c) => (Phase::Checkpoint(c), None),
                    Stage::Failed => (Phase::Failed, None),
                    Stage::Finished => (self.after(x), None),
                };
                (phase, p.done, p.taken, warming, self.percentage_of(p.done))
            }
        };
        Natural {
            phase,
            percentage,
            done,
            taken,
            warming,
        }
    }

    /// Baking or done, `x` into a finished InProgress phase.
    fn after(&self, x: Duration) -> Phase {
        if x < self.in_progress().saturating_add(self.bake) {
            Phase::Baking
        } else {
            Phase::Done
        }
    }
}

/// `100 × part / whole`, down, at most 100 (100 when `whole` is zero).
fn percent_of_time(part: Duration, whole: Duration) -> u32 {
    if whole.is_zero() {
        return 100;
    }
    let p = part.as_nanos().saturating_mul(100) / whole.as_nanos();
    u32::try_from(p.min(100)).unwrap_or(100)
}

/// A phase of the natural course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    /// Replacing instances (a batch, or linear).
    Replacing,
    /// Paused at this checkpoint.
    Checkpoint(u32),
    Baking,
    Done,
    /// Given up after an hour without a healthy instance.
    Failed,
}

impl Phase {
    /// Whether the refresh is still running (`Pending`, `InProgress` or `Baking`).
    pub(crate) fn is_running(self) -> bool {
        !matches!(self, Phase::Done | Phase::Failed)
    }
}

/// The state of a refresh on its natural course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Natural {
    pub(crate) phase: Phase,
    pub(crate) percentage: u32,
    /// Instances replaced, healthy and warmed up.
    pub(crate) done: u32,
    /// Instances taken into a batch.
    pub(crate) taken: u32,
    /// An instance warming up now, if any.
    pub(crate) warming: Option<u32>,
}
