//! Checkpoints (UG "Add checkpoints to an instance refresh"): which batch reaches which
//! checkpoint, and where the refresh pauses.

use std::time::Duration;

/// A refresh's `CheckpointPercentages` as instance counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoints {
    /// (percentage, instances that must be new to reach it), ascending.
    counts: Vec<(u32, u32)>,
    /// `CheckpointDelay`.
    pub(crate) delay: Duration,
    /// Whether a last checkpoint of 100 % pauses. Guess ([`Unknowns`]): the user guide does not
    /// say.
    ///
    /// [`Unknowns`]: crate::sim::Unknowns
    hundred_pauses: bool,
    instances: u32,
}

impl Checkpoints {
    /// A checkpoint of `c` % is reached when `ceil(instances × c / 100)` instances are new
    /// (UG: checkpoints "indicate the minimum percentage of instances ... that must be new
    /// instances before the checkpoint is considered reached"), so the percentage can
    /// overshoot it (4 instances, 20 %: 1 instance, 25 %).
    pub(crate) fn new(
        instances: u32,
        percentages: &[u32],
        delay: Duration,
        hundred_pauses: bool,
    ) -> Self {
        let n = u64::from(instances);
        let counts = percentages
            .iter()
            .map(|&c| {
                let k = (n * u64::from(c)).div_ceil(100).min(n);
                (c, u32::try_from(k).unwrap_or(instances))
            })
            .collect();
        Checkpoints {
            counts,
            delay,
            hundred_pauses,
            instances,
        }
    }

    /// Instances the refresh replaces: those of its last checkpoint (UG: the last value is the
    /// share "that needs to be successfully replaced"; below 100 the refresh ends there), else
    /// all.
    pub(crate) fn target(&self) -> u32 {
        self.counts.last().map_or(self.instances, |&(_, k)| k)
    }

    /// How many instances may be new after the next batch, when `done` are: the next
    /// checkpoint's count (UG: "To reach a checkpoint percentage, Amazon EC2 Auto Scaling will
    /// sometimes replace fewer but never more than what the minimum healthy percentage
    /// allows"), else the target.
    pub(crate) fn goal(&self, done: u32) -> u32 {
        self.counts
            .iter()
            .map(|&(_, k)| k)
            .find(|&k| k > done)
            .unwrap_or(self.target())
            .min(self.target())
    }

    /// The highest checkpoint a batch taking the new instances from `before` to `after`
    /// reaches, if any (several reached at once make one pause, at the highest).
    pub(crate) fn reached(&self, before: u32, after: u32) -> Option<u32> {
        self.counts
            .iter()
            .rev()
            .find(|&&(_, k)| before < k && k <= after)
            .map(|&(c, _)| c)
    }

    /// Whether the refresh pauses for the delay once checkpoint `c` is reached with `done`
    /// instances new: always before the target; at the target only a checkpoint of 100 %, and
    /// only if that guess says so (a last checkpoint below 100 ends the refresh there).
    pub(crate) fn pauses(&self, c: u32, done: u32) -> bool {
        done < self.target() || (c == 100 && self.hundred_pauses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_overshoot_and_pace_batches() {
        // UG: 4 instances and a 20 % checkpoint show 25 %.
        let c = Checkpoints::new(4, &[20, 100], Duration::ZERO, false);
        assert_eq!(c.goal(0), 1);
        assert_eq!(c.reached(0, 1), Some(20));
        assert!(c.pauses(20, 1));
        assert_eq!(c.goal(1), 4);
        assert_eq!(c.reached(1, 4), Some(100));
        assert!(!c.pauses(100, 4));
        assert!(Checkpoints::new(4, &[20, 100], Duration::ZERO, true).pauses(100, 4));

        // A last checkpoint below 100 is the target, and does not pause.
        let c = Checkpoints::new(10, &[20, 50], Duration::ZERO, true);
        assert_eq!(c.target(), 5);
        assert_eq!(c.goal(2), 5);
        assert!(!c.pauses(50, 5));

        // Two checkpoints reached at once: one pause, at the higher.
        let c = Checkpoints::new(2, &[10, 40, 100], Duration::ZERO, false);
        assert_eq!(c.reached(0, 1), Some(40));
        // None: everything.
        let c = Checkpoints::new(3, &[], Duration::ZERO, false);
        assert_eq!((c.target(), c.goal(1), c.reached(0, 3)), (3, 3, None));
    }
}
