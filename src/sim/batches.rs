//! Batches: how many instances a refresh replaces at once, in which order, and when each
//! batch ends (UG "How instance refresh works", API `RefreshPreferences`).
//!
//! A refresh lays out its batches when it starts, from its instances' seeded times, so that
//! reading its progress at any moment is a binary search (a describe stays O(log n)).

use std::time::Duration;

use super::checkpoints::Checkpoints;
use super::instances::{RETRY_FOR, Slot, Timing};
use super::unknowns::HintNames;

/// Instances replaced at the same time (UG "How instance refresh works", API
/// `RefreshPreferences`): the instances that may be out of service,
/// `instances - ceil(instances × min / 100)`, plus, with `max > 100`, the instances that may be
/// launched on top of the desired capacity, `ceil(instances × (max - 100) / 100)`; at least 1,
/// at most all. It fits every case the sources give: Min 90 / Max 100 replaces 10 % at a time,
/// Min 100 / Max 100 one at a time, Min 0 all at once, and a larger range more at once.
/// Guess: the exact rounding.
pub(crate) fn batch_size(instances: u32, min: u32, max: u32) -> u32 {
    let n = u64::from(instances);
    if n == 0 {
        return 0;
    }
    let keep = (n * u64::from(min)).div_ceil(100).min(n);
    let extra = (n * u64::from(max.saturating_sub(100))).div_ceil(100);
    u32::try_from((n - keep + extra).clamp(1, n)).unwrap_or(instances)
}

/// Whether old instances are terminated as their replacements launch, or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Terminate and launch at the same time: `MaxHealthyPercentage` omitted (API
    /// `RefreshPreferences`: "When MaxHealthyPercentage is omitted, Auto Scaling terminates an
    /// instance and launches its replacement simultaneously"), or set with room below the
    /// desired capacity (Guess: the source describes only the case without room).
    Simultaneous,
    /// Launch first, terminate each old instance once its replacement is `InService`:
    /// `MaxHealthyPercentage` set while `MinHealthyPercentage` lets no instance go out of
    /// service (API `RefreshPreferences`: "Explicitly setting MaxHealthyPercentage to 100 is
    /// not equivalent to omitting it ... Auto Scaling launches a new instance before
    /// terminating an old one").
    LaunchFirst,
}

impl Order {
    pub(crate) fn new(instances: u32, min: u32, max_set: bool) -> Order {
        let n = u64::from(instances);
        let keep = (n * u64::from(min)).div_ceil(100).min(n);
        if max_set && keep == n {
            Order::LaunchFirst
        } else {
            Order::Simultaneous
        }
    }
}

/// One batch: instances `first..first + size`, started together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) first: u32,
    pub(crate) size: u32,
    pub(crate) start: Duration,
    /// When its last instance is healthy and warmed up (UG: the refresh moves on once the new
    /// instances pass their health checks and the warmup has passed), or when it failed.
    pub(crate) end: Duration,
    /// Whether this batch reaches a checkpoint: then `PercentageComplete` does not move until
    /// the batch has warmed up (UG "Add checkpoints": "After a checkpoint is reached, the
    /// overall percentage complete doesn't display the latest status until after the
    /// instances finish warming up").
    holds: bool,
    /// When each healthy instance is warmed up, ascending.
    warmed: Vec<Duration>,
    /// (InService, warmed up, instance) of each healthy instance, by InService.
    by_in_service: Vec<(Duration, Duration, u32)>,
    /// For each prefix of `by_in_service`, the index of its latest warmed up.
    latest: Vec<usize>,
}

impl Batch {
    /// The instances warmed up at `x`, counted in `PercentageComplete`.
    fn warmed_at(&self, x: Duration) -> u32 {
        if self.holds && x < self.end {
            return 0;
        }
        let k = self.warmed.partition_point(|w| *w <= x);
        u32::try_from(k).unwrap_or(self.size)
    }

    /// The instance warming up at `x` (`InService`, warmup not over) that the warmup sentence
    /// names, as `names` says, if any is warming.
    fn warming_at(&self, x: Duration, names: HintNames) -> Option<u32> {
        let i = self.by_in_service.partition_point(|e| e.0 <= x);
        let j = *self.latest.get(i.checked_sub(1)?)?;
        let (_, warmed, newest) = self.by_in_service[j];
        if warmed <= x {
            // The last to be warmed up of those in service is: none is warming.
            return None;
        }
        let warming = || self.by_in_service[..i].iter().filter(|e| e.1 > x);
        match names {
            HintNames::NewestInService => Some(newest),
            HintNames::OldestInService => warming().next().map(|e| e.2),
            HintNames::LowestId => warming().map(|e| e.2).min(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StepKind {
    Batch(usize),
    /// The `CheckpointDelay` at checkpoint `percentage`, with `done` instances new.
    Pause {
        percentage: u32,
        done: u32,
    },
}

/// One step of the InProgress phase, timed from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    start: Duration,
    end: Duration,
    kind: StepKind,
}

/// Where a refresh stands at some moment of its InProgress phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// In a batch, with this instance warming up, if any.
    Batch { batch: usize, warming: Option<u32> },
    /// Paused at this checkpoint.
    Paused(u32),
    /// Every instance of the target replaced.
    Finished,
    /// Given up: an instance could not be made healthy for an hour.
    Failed,
}

/// What a refresh has done at some moment of its InProgress phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Instances replaced, healthy and warmed up.
    pub(crate) done: u32,
    /// Instances taken into a batch.
    pub(crate) taken: u32,
    pub(crate) stage: Stage,
}

/// The InProgress phase of a refresh, laid out when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) size: u32,
    pub(crate) order: Order,
    pub(crate) warmup: Duration,
    /// The new instances of each old one, by instance index.
    pub(crate) slots: Vec<Slot>,
    pub(crate) batches: Vec<Batch>,
    steps: Vec<Step>,
    /// Instances replaced in the end (fewer than all for a partial refresh).
    pub(crate) target: u32,
    /// When the refresh gives up (an instance unhealthy for an hour), if it does.
    pub(crate) failed_at: Option<Duration>,
    /// Which warming instance the warmup sentence names.
    pub(crate) hint_names: HintNames,
}

impl Layout {
    /// Batches of `size` instances with `warmup`, paced by `checkpoints` (a batch never goes
    /// past the next checkpoint; the refresh pauses `CheckpointDelay` there), each instance
    /// timed by `timing` from `rng`.
    pub(crate) fn new(
        instances: u32,
        size: u32,
        order: Order,
        warmup: Duration,
        checkpoints: &Checkpoints,
        timing: &Timing,
        rng: &mut fastrand::Rng,
    ) -> Self {
        let target = checkpoints.target().min(instances);
        let mut layout = Layout {
            size,
            order,
            warmup,
            slots: Vec::with_capacity(usize::try_from(target).unwrap_or(0)),
            batches: Vec::new(),
            steps: Vec::new(),
            target,
            failed_at: None,
            hint_names: HintNames::NewestInService,
        };
        let (mut done, mut t) = (0_u32, Duration::ZERO);
        while done < target {
            let first = done;
            let count = size.max(1).min(checkpoints.goal(done).max(done + 1) - done);
            let mut batch = Batch {
                first,
                size: count,
                start: t,
                end: t,
                holds: checkpoints.reached(done, done + count).is_some(),
                warmed: Vec::with_capacity(usize::try_from(count).unwrap_or(0)),
                by_in_service: Vec::with_capacity(usize::try_from(count).unwrap_or(0)),
                latest: Vec::new(),
            };
            let mut failed = false;
            for i in 0..count {
                let slot = Slot::draw(t, timing, rng, true);
                match slot.healthy() {
                    Some((_, a)) => {
                        let warmed = a.in_service.saturating_add(warmup);
                        batch.warmed.push(warmed);
                        batch.by_in_service.push((a.in_service, warmed, first + i));
                        batch.end = batch.end.max(warmed);
                    }
                    None => failed = true,
                }
                layout.slots.push(slot);
            }
            batch.warmed.sort_unstable();
            batch.by_in_service.sort_unstable();
            let mut best = 0;
            for (i, e) in batch.by_in_service.iter().enumerate() {
                if e.1 > batch.by_in_service[best].1 {
                    best = i;
                }
                batch.latest.push(best);
            }
            if failed {
                let at = t.saturating_add(RETRY_FOR);
                batch.end = at;
                layout.failed_at = Some(at);
            }
            let end = batch.end;
            layout.steps.push(Step {
                start: t,
                end,
                kind: StepKind::Batch(layout.batches.len()),
            });
            layout.batches.push(batch);
            if failed {
                break;
            }
            t = end;
            done += count;
            if let Some(c) = checkpoints.reached(first, done)
                && checkpoints.pauses(c, done)
            {
                let end = t.saturating_add(checkpoints.delay);
                layout.steps.push(Step {
                    start: t,
                    end,
                    kind: StepKind::Pause {
                        percentage: c,
                        done,
                    },
                });
                t = end;
            }
        }
        layout
    }

    /// How long the InProgress phase lasts (until the refresh gives up, if it does).
    pub(crate) fn len(&self) -> Duration {
        self.failed_at
            .or(self.steps.last().map(|s| s.end))
            .unwrap_or(Duration::ZERO)
    }

    /// Where the refresh stands `x` into its InProgress phase.
    pub(crate) fn at(&self, x: Duration) -> Progress {
        if let Some(failed) = self.failed_at
            && x >= failed
        {
            let batch = self.batches.last().expect("a failed layout has a batch");
            return Progress {
                done: batch.first + batch.warmed_at(failed),
                taken: batch.first + batch.size,
                stage: Stage::Failed,
            };
        }
        let i = self.steps.partition_point(|s| s.end <= x);
        match self.steps.get(i).map(|s| s.kind) {
            Some(StepKind::Batch(b)) => {
                let batch = &self.batches[b];
                Progress {
                    done: batch.first + batch.warmed_at(x),
                    taken: batch.first + batch.size,
                    stage: Stage::Batch {
                        batch: b,
                        warming: batch.warming_at(x, self.hint_names),
                    },
                }
            }
            Some(StepKind::Pause { percentage, done }) => Progress {
                done,
                taken: done,
                stage: Stage::Paused(percentage),
            },
            None => Progress {
                done: self.target,
                taken: self.target,
                stage: Stage::Finished,
            },
        }
    }

    /// When the last launch in flight at `x` is `InService`, if any is in flight.
    pub(crate) fn in_flight_until(&self, x: Duration) -> Option<Duration> {
        let Stage::Batch { batch, .. } = self.at(x).stage else {
            return None;
        };
        let b = &self.batches[batch];
        let first = usize::try_from(b.first).ok()?;
        let size = usize::try_from(b.size).ok()?;
        self.slots
            .get(first..first + size)?
            .iter()
            .filter_map(|s| s.in_flight_at(x).map(|a| a.in_service))
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::unknowns::Unknowns;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn layout(
        instances: u32,
        size: u32,
        warmup: u64,
        checkpoints: &[u32],
        delay: u64,
        unknowns: &Unknowns,
    ) -> Layout {
        Layout::new(
            instances,
            size,
            Order::Simultaneous,
            secs(warmup),
            &Checkpoints::new(instances, checkpoints, secs(delay), false),
            &Timing::new(unknowns),
            &mut fastrand::Rng::with_seed(3),
        )
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
        assert_eq!(batch_size(500, 90, 100), 50);
    }

    #[test]
    fn launch_first_only_when_max_is_set_and_nothing_may_go_out_of_service() {
        assert_eq!(Order::new(10, 100, true), Order::LaunchFirst);
        assert_eq!(Order::new(10, 100, false), Order::Simultaneous);
        assert_eq!(Order::new(10, 90, true), Order::Simultaneous);
    }

    /// The example of the user guide ("Add checkpoints to an instance refresh"): 10 instances,
    /// checkpoints [20, 50], a 15 minute delay, minimum healthy 80 %, 10 minutes per
    /// replacement.
    #[test]
    fn checkpoints_pace_batches_like_the_user_guide_example() {
        let unknowns = Unknowns::default().with_launch(secs(60), 0.0);
        let l = layout(10, batch_size(10, 80, 100), 540, &[20, 50], 900, &unknowns);
        let steps: Vec<(u64, u64, StepKind)> = l
            .steps
            .iter()
            .map(|s| (s.start.as_secs(), s.end.as_secs(), s.kind))
            .collect();
        assert_eq!(
            steps,
            [
                (0, 600, StepKind::Batch(0)),
                (
                    600,
                    1500,
                    StepKind::Pause {
                        percentage: 20,
                        done: 2
                    }
                ),
                (1500, 2100, StepKind::Batch(1)),
                (2100, 2700, StepKind::Batch(2)),
            ]
        );
        assert_eq!((l.target, l.len()), (5, secs(2700)));
        assert_eq!(l.batches[2].size, 1);
    }

    #[test]
    fn progress_moves_one_instance_at_a_time_inside_a_batch() {
        // Spread launches: 10 instances at once, each warmed at its own time.
        let unknowns = Unknowns::default().with_launch(secs(100), 0.5);
        let l = layout(10, 10, 30, &[], 0, &unknowns);
        let ends: Vec<Duration> = l.batches[0].warmed.clone();
        assert_eq!(ends.len(), 10);
        for (k, &end) in ends.iter().enumerate() {
            let before = l.at(end - Duration::from_millis(1));
            let after = l.at(end);
            assert!(before.done <= u32::try_from(k).unwrap());
            assert!(after.done > before.done || after.stage == Stage::Finished);
        }
        assert_eq!(l.at(l.len()).stage, Stage::Finished);
        // An instance is warming up between its InService and its warmup's end.
        let (in_service, warmed, instance) = l.batches[0].by_in_service[0];
        assert_eq!(
            l.batches[0].warming_at(in_service, HintNames::NewestInService),
            Some(instance).filter(|_| warmed > in_service)
        );
        assert_eq!(
            l.in_flight_until(Duration::ZERO),
            Some(l.batches[0].by_in_service[9].0)
        );
    }

    /// Guess varied: which warming instance the warmup sentence names (the documented
    /// sentence names one "for example").
    #[test]
    fn the_warmup_sentence_names_a_warming_instance_as_the_guess_says() {
        let unknowns = Unknowns::default().with_launch(secs(100), 0.5);
        let l = layout(10, 10, 60, &[], 0, &unknowns);
        let b = &l.batches[0];
        // A moment when several are warming: just after the third came into service.
        let x = b.by_in_service[2].0;
        let warming: Vec<(Duration, u32)> = b
            .by_in_service
            .iter()
            .filter(|e| e.0 <= x && e.1 > x)
            .map(|e| (e.0, e.2))
            .collect();
        assert!(warming.len() >= 2, "{warming:?}");
        let newest = warming.iter().max_by_key(|w| w.0).unwrap().1;
        let oldest = warming.iter().min_by_key(|w| w.0).unwrap().1;
        let lowest = warming.iter().map(|w| w.1).min().unwrap();
        assert_eq!(b.warming_at(x, HintNames::NewestInService), Some(newest));
        assert_eq!(b.warming_at(x, HintNames::OldestInService), Some(oldest));
        assert_eq!(b.warming_at(x, HintNames::LowestId), Some(lowest));
        // None is warming once the last is warmed up.
        let all = b.by_in_service.iter().map(|e| e.1).max().unwrap();
        for names in [
            HintNames::NewestInService,
            HintNames::OldestInService,
            HintNames::LowestId,
        ] {
            assert_eq!(b.warming_at(all, names), None);
        }
    }

    #[test]
    fn an_instance_unhealthy_for_an_hour_fails_the_refresh() {
        let unknowns = Unknowns::default()
            .with_launch(secs(100), 0.0)
            .with_health_check_failures(1.0);
        let l = layout(4, 2, 0, &[], 0, &unknowns);
        assert_eq!(l.failed_at, Some(RETRY_FOR));
        assert_eq!(l.len(), RETRY_FOR);
        assert_eq!(l.at(RETRY_FOR).stage, Stage::Failed);
        assert_eq!(l.at(RETRY_FOR).done, 0);
        assert!(matches!(l.at(secs(10)).stage, Stage::Batch { .. }));
    }

    #[test]
    fn empty_batches_and_no_instances_are_fine() {
        let zero = Unknowns::default().with_launch(Duration::ZERO, 0.0);
        let l = layout(3, 1, 0, &[], 0, &zero);
        assert_eq!(l.len(), Duration::ZERO);
        assert_eq!(l.at(Duration::ZERO).stage, Stage::Finished);
        let l = layout(0, 0, 10, &[], 0, &zero);
        assert_eq!((l.target, l.len()), (0, Duration::ZERO));
    }
}
