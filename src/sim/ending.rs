//! How a refresh ends before its natural end: cancelled, failed, or rolled back, and what it
//! shows from then on (`AWS-FACTS`, "Cancel", "Rollback", "Early ends").

use std::time::Duration;

use tokio::time::Instant;

use super::course::{Natural, Plan, Replacement};
use super::instances::{Slot, Timing};
use super::snapshot::RefreshStatus;
use super::unknowns::ReasonWording;
use super::view::{RollbackView, View};
use super::wording::{self, Situation};

/// What an API call (or the Rust API) asked of an active refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// `CancelInstanceRefresh`, with `WaitForTransitioningInstances`.
    Cancel { wait: bool },
    /// `RollbackInstanceRefresh`.
    Rollback,
    /// Fail now with this `StatusReason` (`AutoScalingSim::fail_refresh`).
    Fail(String),
}

/// How a refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `Cancelling`, then `Cancelled`.
    Cancel,
    /// `Failed`, with this `StatusReason`.
    Fail { reason: Option<String> },
    /// `RollbackInProgress`, then `RollbackSuccessful`, with this `RollbackReason`.
    Rollback { reason: Option<String> },
}

/// The replacements a rollback makes: the instances the refresh took into batches (those in
/// flight first), replaced again in batches of the same size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Undo {
    /// A linear refresh rolls back over this time.
    Linear(Duration),
    Batched(UndoLayout),
}

/// The batches of a rollback, timed from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UndoLayout {
    /// Instances of the batch in flight when the rollback started (Guess: undone first; they
    /// do not count in `PercentageComplete`).
    in_flight: u32,
    /// The replacement of each undone instance, in the order they are undone.
    pub(crate) slots: Vec<Slot>,
    /// (start, end, when each instance is warmed up, ascending) of each batch.
    batches: Vec<(Duration, Duration, Vec<Duration>)>,
}

impl UndoLayout {
    /// Undo `taken` instances (of which `done` were counted), `size` at a time, each timed by
    /// `timing` plus `warmup`. Guess: the same batch size, the same launch times and warmup,
    /// and no health-check failures.
    pub(crate) fn new(
        taken: u32,
        done: u32,
        size: u32,
        warmup: Duration,
        timing: &Timing,
        rng: &mut fastrand::Rng,
    ) -> Self {
        let mut layout = UndoLayout {
            in_flight: taken.saturating_sub(done),
            slots: Vec::new(),
            batches: Vec::new(),
        };
        let mut t = Duration::ZERO;
        let mut left = taken;
        while left > 0 {
            let count = size.max(1).min(left);
            let mut warmed = Vec::new();
            for _ in 0..count {
                let slot = Slot::draw(t, timing, rng, false);
                warmed.push(slot.attempts[0].in_service.saturating_add(warmup));
                layout.slots.push(slot);
            }
            warmed.sort_unstable();
            let end = warmed.last().copied().unwrap_or(t);
            layout.batches.push((t, end, warmed));
            t = end;
            left -= count;
        }
        layout
    }

    pub(crate) fn len(&self) -> Duration {
        self.batches.last().map_or(Duration::ZERO, |b| b.1)
    }

    /// Instances replaced again `x` into the rollback.
    fn undone(&self, x: Duration) -> u32 {
        let i = self.batches.partition_point(|b| b.1 <= x);
        let before: usize = self.batches[..i].iter().map(|b| b.2.len()).sum();
        let now = self
            .batches
            .get(i)
            .map_or(0, |b| b.2.partition_point(|w| *w <= x));
        u32::try_from(before + now).unwrap_or(u32::MAX)
    }

    /// The start of each batch, with its first slot's index.
    pub(crate) fn batch_starts(&self) -> impl Iterator<Item = (Duration, usize)> + '_ {
        let mut first = 0;
        self.batches.iter().map(move |b| {
            let at = (b.0, first);
            first += b.2.len();
            at
        })
    }
}

/// An ending that has happened: fixed from then on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    /// When it ended (the API call, the alarm, the failure).
    pub(crate) at: Instant,
    pub(crate) outcome: Outcome,
    /// Where the refresh stood then.
    pub(crate) nat: Natural,
    /// When the final status is reached (`Cancelled`, `RollbackSuccessful`; `at` for
    /// `Failed`).
    pub(crate) done_at: Option<Instant>,
    /// The rollback's replacements, for a rollback.
    pub(crate) undo: Option<Undo>,
}

impl Resolved {
    /// A cancel at `at` from `nat`: with `wait`, `Cancelling` until the launches in flight are
    /// done, then `Cancelled`; without, `Cancelled` at once (API `CancelInstanceRefresh`).
    /// Guess: "done" is `InService`, `Cancelling` lasts at least `cancel` (the call's own
    /// work), and `PercentageComplete` stays where it was.
    pub(crate) fn cancel(
        at: Instant,
        nat: Natural,
        wait: bool,
        in_flight: Duration,
        cancel: Duration,
    ) -> Self {
        let lasts = if wait {
            cancel.max(in_flight)
        } else {
            Duration::ZERO
        };
        Resolved {
            at,
            outcome: Outcome::Cancel,
            nat,
            done_at: at.checked_add(lasts),
            undo: None,
        }
    }

    /// `Failed` at `at`, progress frozen.
    pub(crate) fn fail(at: Instant, nat: Natural, reason: Option<String>) -> Self {
        Resolved {
            at,
            outcome: Outcome::Fail { reason },
            nat,
            done_at: Some(at),
            undo: None,
        }
    }

    /// A rollback from `at`: it lasts as long as its replacements.
    pub(crate) fn rollback(at: Instant, nat: Natural, reason: Option<String>, undo: Undo) -> Self {
        let lasts = match &undo {
            Undo::Linear(d) => *d,
            Undo::Batched(layout) => layout.len(),
        };
        Resolved {
            at,
            outcome: Outcome::Rollback { reason },
            nat,
            done_at: at.checked_add(lasts),
            undo: Some(undo),
        }
    }

    /// What the refresh shows at `now` (not before `at`).
    pub(crate) fn view(&self, now: Instant, plan: &Plan, wording: ReasonWording) -> View {
        let finished = self.done_at.is_some_and(|d| now >= d);
        let end = self.done_at.filter(|_| finished);
        let frozen = View {
            status: RefreshStatus::Failed,
            reason: None,
            percentage: self.nat.percentage,
            instances_to_update: plan.instances_to_update(&self.nat),
            end,
            checkpoint: None,
            stalled: false,
            rollback: None,
        };
        match &self.outcome {
            Outcome::Cancel => View {
                status: if finished {
                    RefreshStatus::Cancelled
                } else {
                    RefreshStatus::Cancelling
                },
                reason: wording::reason(
                    wording,
                    if finished {
                        Situation::Cancelled
                    } else {
                        Situation::Cancelling
                    },
                ),
                ..frozen
            },
            Outcome::Fail { reason } => View {
                reason: reason.clone(),
                ..frozen
            },
            Outcome::Rollback { reason } => {
                let x = now.saturating_duration_since(self.at);
                let nat = &self.nat;
                let percentage = match &self.undo {
                    Some(Undo::Linear(d)) => {
                        let undone = u64::from(nat.percentage) * u64::from(share(x, *d)) / 100;
                        nat.percentage - u32::try_from(undone).unwrap_or(nat.percentage)
                    }
                    Some(Undo::Batched(layout)) => {
                        let counted = layout.undone(x).saturating_sub(layout.in_flight);
                        plan.percentage_of(nat.done.saturating_sub(counted))
                    }
                    None => 0,
                };
                // Guess: InstancesToUpdate stays at its value when the rollback started.
                View {
                    status: if finished {
                        RefreshStatus::RollbackSuccessful
                    } else {
                        RefreshStatus::RollbackInProgress
                    },
                    reason: if finished {
                        None
                    } else {
                        wording::reason(wording, Situation::RollingBack)
                    },
                    percentage: if finished { 0 } else { percentage },
                    rollback: Some(RollbackView {
                        at: self.at,
                        reason: reason.clone(),
                        percentage: nat.percentage,
                        instances_to_update: frozen.instances_to_update,
                    }),
                    ..frozen
                }
            }
        }
    }
}

/// The rollback of a refresh on `plan` that stood at `nat`, its batch instances drawn from
/// `rng`.
pub(crate) fn undo(
    plan: &Plan,
    nat: &Natural,
    linear_rollback: Duration,
    rng: &mut fastrand::Rng,
) -> Undo {
    match &plan.replacement {
        Replacement::Linear(_) => Undo::Linear(linear_rollback),
        Replacement::Batched(layout) => Undo::Batched(UndoLayout::new(
            nat.taken,
            nat.done,
            layout.size,
            layout.warmup,
            &plan.timing,
            rng,
        )),
    }
}

/// `100 × part / whole`, down, at most 100 (100 when `whole` is zero).
fn share(part: Duration, whole: Duration) -> u32 {
    if whole.is_zero() {
        return 100;
    }
    let p = part.as_nanos().saturating_mul(100) / whole.as_nanos();
    u32::try_from(p.min(100)).unwrap_or(100)
}
