//! *When will the blocking refresh end, and when should we look again?* A pure function of what
//! `DescribeInstanceRefreshes` reported, what this call saw before, and the time now.
//!
//! The estimate only proposes the next check; the [`Schedule`](crate::Schedule) still bounds it
//! (`max_delay`, `max_elapsed`, `max_attempts`), so nothing here can make a call wait longer than
//! its policy allows.

use std::time::{Duration, SystemTime};

use super::grid::Grid;
use super::observe::{Phase, Refresh};

/// The shortest wait between two checks near the estimated end: what bounds the start latency
/// after the blocker ends.
pub(crate) const NEAR_END_CHECK: Duration = Duration::from_secs(15);
/// With checkpoints (pauses whose start a check may not have seen), a percentage that holds is
/// looked at again after at most `STEADY_FACTOR` times as long as it has held (and at least
/// `STEADY_MIN`).
const STEADY_FACTOR: u32 = 3;
const STEADY_MIN: Duration = Duration::from_secs(120);
/// The longest wait between two checks inside a window where the end may come at any moment.
const WINDOW_CHECK_MAX: Duration = Duration::from_secs(20);
/// Between two checks while `Pending`, `Cancelling` or `RollbackInProgress`: short, since these
/// phases take seconds to minutes and say little about their end.
const SHORT_CHECK: Duration = Duration::from_secs(15);
/// The first check of a refresh that has made no progress yet, when its warmup is unknown.
const UNKNOWN_PROGRESS_CHECK: Duration = Duration::from_secs(60);
/// How long a refresh may show the same percentage, beyond its checkpoint delays and warmup,
/// before it counts as stalled (a suspended `Launch` process stalls a refresh forever).
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(30 * 60);

/// What this call remembers about the blocking refresh between checks.
#[derive(Debug, Default, Clone)]
pub(crate) struct Memory {
    id: Option<String>,
    /// The percentage last seen, and when it was first seen.
    percentage: Option<(u32, SystemTime)>,
    /// The first percentage seen, and the last change seen: (percentage, first seen at).
    first_seen: Option<(u32, SystemTime)>,
    last_move: Option<(u32, SystemTime)>,
    /// When this call last checked.
    last_check: Option<SystemTime>,
    /// The check that first saw the current percentage.
    steady_since: Option<SystemTime>,
    /// The last check that saw the refresh `Pending`: its work began after that.
    pending_seen: Option<SystemTime>,
    /// The last check before the refresh was seen `Baking`, and the first that saw it `Baking`.
    before_baking: Option<SystemTime>,
    baking_seen: Option<SystemTime>,
    /// The percentage it was last seen pausing at a checkpoint.
    paused_at: Option<u32>,
    /// The batch grid fitted to the checks.
    grid: Grid,
}

/// The answer for one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Estimate {
    /// When the refresh should end, if that can be told.
    pub(crate) end: Option<SystemTime>,
    /// The earliest it can end: what cannot be shortened (the bake time, the least that is left
    /// of a checkpoint pause it is in) plus half the projected work. Used to fail fast.
    pub(crate) earliest_end: Option<SystemTime>,
    /// When to look again.
    pub(crate) next_check: Duration,
    /// The percentage has not moved for longer than any checkpoint or warmup explains.
    pub(crate) stalled: bool,
}

impl Memory {
    /// Records what a check saw and estimates from it.
    pub(crate) fn observe(&mut self, refresh: &Refresh, now: SystemTime) -> Estimate {
        if self.id.as_deref() != Some(refresh.id.as_str()) {
            *self = Memory {
                id: Some(refresh.id.clone()),
                ..Memory::default()
            };
        }
        let mut estimate = match refresh.phase {
            Phase::InProgress => self.in_progress(refresh, now),
            Phase::Baking => self.baking(refresh, now),
            Phase::Pending | Phase::Cancelling | Phase::RollbackInProgress => Estimate {
                end: None,
                earliest_end: None,
                next_check: SHORT_CHECK,
                stalled: false,
            },
            Phase::Ended => Estimate {
                end: Some(now),
                earliest_end: Some(now),
                next_check: Duration::ZERO,
                stalled: false,
            },
        };
        // Where the batch grid fits, it places the end within seconds: sleep until then and
        // check often. It only proposes when to look and the latest end; the earliest end (fail
        // fast) stays the model-free one.
        if matches!(refresh.phase, Phase::InProgress | Phase::Baking)
            && !estimate.stalled
            && let Some(grid) = self.grid.observe(refresh, now)
        {
            estimate.end = Some(grid.latest_end.max(now));
            estimate.next_check = grid.next_check;
        }
        if refresh.phase != Phase::Baking {
            self.before_baking = Some(now);
        }
        if refresh.phase == Phase::Pending {
            self.pending_seen = Some(now);
        }
        self.last_check = Some(now);
        estimate
    }

    fn in_progress(&mut self, r: &Refresh, now: SystemTime) -> Estimate {
        let p = r.percentage.min(100);
        // The refresh ends at its last checkpoint (100 for a full refresh), with no delay after
        // it; it pauses for the checkpoint delay at each checkpoint before that.
        let target = r
            .checkpoints
            .last()
            .copied()
            .filter(|&c| c >= p && c <= 100)
            .unwrap_or(100);
        // Pausing at a checkpoint now, or seen pausing at this percentage (the batch after the
        // pause is running). The pause it is in began after it reached `p`: no time measured so
        // far holds it, so no rate below subtracts it.
        let paused = at_checkpoint(r, p) || self.paused_at == Some(p);
        if paused {
            self.paused_at = Some(p);
        }
        let current = r
            .checkpoints
            .iter()
            .copied()
            .filter(|&c| paused && c <= p)
            .max();
        let pauses = |from: u32, to: u32| {
            r.checkpoints
                .iter()
                .filter(|&&c| c >= from && c < to && c < target && Some(c) != current)
                .count() as u32
        };
        let previous_check = self.last_check;
        match self.percentage {
            Some((seen, _)) if seen == p => {}
            Some(_) => {
                self.steady_since = Some(now);
                // It reached `p` after the previous check: count from there, so that an
                // estimate errs early (a check too many) rather than late (a slow start).
                let reached = previous_check.unwrap_or(now);
                self.percentage = Some((p, reached));
                // The rate is measured between checks that first saw each percentage.
                self.last_move = Some((p, now));
            }
            None => {
                self.steady_since = Some(now);
                // First seen pausing: the pause began up to a checkpoint delay ago (and after
                // the work began); count from the middle of that.
                let since = self.pending_seen.or(r.start_time);
                let reached = match (paused, r.checkpoint_delay, r.warmup) {
                    (true, Some(delay), _) => now
                        .checked_sub(delay / 2)
                        .map_or(now, |t| since.map_or(t, |s| t.max(s))),
                    // First seen working: the batch that made `p` ended less than a batch ago
                    // (its warmup and a launch), and not before the middle of the work so far.
                    (false, _, Some(warmup)) if p > 0 => {
                        let middle = since
                            .and_then(|s| now.duration_since(s).ok().map(|d| s + d / 2))
                            .unwrap_or(now);
                        now.checked_sub(warmup).map_or(now, |t| t.max(middle))
                    }
                    _ => now,
                };
                self.percentage = Some((p, reached));
                self.first_seen = Some((p, now));
            }
        }
        let reached = self.percentage.map_or(now, |(_, t)| t);
        let working_since = self.pending_seen.or(r.start_time);
        let checkpoint_delay = r.checkpoint_delay.unwrap_or_default();
        // The pause at the checkpoint it is at, if any, and the ones still ahead, and the bake
        // time: time that no progress shortens.
        let pause_here = if paused && p < target {
            checkpoint_delay.saturating_sub(now.duration_since(reached).unwrap_or_default())
        } else {
            Duration::ZERO
        };
        let fixed_ahead = checkpoint_delay
            .saturating_mul(pauses(p + 1, target))
            .saturating_add(r.bake_time.unwrap_or_default());
        let stalled_for = now.duration_since(reached).unwrap_or_default();
        let allowance = STALL_AFTER
            .saturating_add(r.warmup.unwrap_or_default())
            .saturating_add(if paused {
                checkpoint_delay
            } else {
                Duration::ZERO
            });
        let stalled = stalled_for > allowance;
        if p == 0 || stalled {
            // No rate to go on: look again after about one batch (its warmup), or soon.
            let next = r
                .warmup
                .unwrap_or(UNKNOWN_PROGRESS_CHECK)
                .max(NEAR_END_CHECK);
            return Estimate {
                end: None,
                earliest_end: Some(now + r.bake_time.unwrap_or_default()),
                next_check: next,
                stalled,
            };
        }
        // The time per percent, less the checkpoint pauses in between: between the first
        // percentage seen and the last change, or else from when the work began.
        let per_percent = match (self.first_seen, self.last_move) {
            (Some((p0, t0)), Some((p1, t1))) if p1 > p0 => {
                t1.duration_since(t0)
                    .unwrap_or_default()
                    .saturating_sub(checkpoint_delay.saturating_mul(pauses(p0, p1)))
                    / (p1 - p0)
            }
            _ => {
                let working = working_since
                    .and_then(|s| reached.duration_since(s).ok())
                    .unwrap_or_default()
                    .saturating_sub(checkpoint_delay.saturating_mul(pauses(0, p)));
                working / p
            }
        };
        let work_left = per_percent.saturating_mul(target.saturating_sub(p));
        // What is left of the pause is counted from when `p` was reached, not from now: the
        // estimate runs early by the time spent in the pause so far. Counting it from now (the
        // pause's true end) was measured (benches/wait.rs, 1,000 blockers): p95 32 s at 43.7
        // calls per hour against 20 s at 51.8, since a pause whose start no check saw ends
        // earlier than projected more often than later.
        let projected = reached + pause_here + work_left + fixed_ahead;
        let end = projected.max(now);
        // The earliest it can end counts only what is certain: the bake time, the least that is
        // left of a pause it is in, and half the projected work. The pauses ahead are not
        // certain: a batch can reach two checkpoints at once, and they then pause once.
        let bake = r.bake_time.unwrap_or_default();
        let earliest_end = (now + pause_here + work_left / 2 + bake).max(now);
        // An extrapolation is no better than what it has seen: never sleep longer than the work
        // has run so far. At a checkpoint, whose pause may have begun long before this call
        // saw it, never longer than the percentage has been seen to hold (doubling checks), so
        // that a pause that ends sooner than projected is noticed in time.
        let seen_for = |since: Option<SystemTime>| {
            since
                .and_then(|s| now.duration_since(s).ok())
                .unwrap_or_default()
                .max(NEAR_END_CHECK)
        };
        let steady_cap = seen_for(self.steady_since)
            .saturating_mul(STEADY_FACTOR)
            .max(STEADY_MIN);
        let seen_working = if !r.checkpoints.is_empty() {
            seen_for(working_since).min(steady_cap)
        } else {
            seen_for(working_since)
        };
        let overshoot = now.duration_since(projected);
        let next = match overshoot {
            // Past the estimated end, and still running: spread the checks out as the overshoot
            // grows, so that a late refresh does not cost a check every few seconds.
            Ok(late) if !late.is_zero() => (late / 3).clamp(NEAR_END_CHECK, WINDOW_CHECK_MAX),
            _ => next_check(end, now).min(seen_working),
        };
        Estimate {
            end: Some(end),
            earliest_end: Some(earliest_end),
            next_check: next,
            stalled: false,
        }
    }

    fn baking(&mut self, r: &Refresh, now: SystemTime) -> Estimate {
        if self.baking_seen.is_none() {
            self.baking_seen = Some(now);
        }
        let Some(bake) = r.bake_time.filter(|b| !b.is_zero()) else {
            // Auto Scaling echoes the `BakeTime` it bakes for; without it, look again after as
            // long as it has been seen baking (doubling checks).
            let seen_for = self
                .baking_seen
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            return Estimate {
                end: None,
                earliest_end: None,
                next_check: seen_for.max(SHORT_CHECK),
                stalled: false,
            };
        };
        // Baking began after the last check that saw it working (or after the refresh started),
        // and before the first check that saw it baking: it ends within that window plus `bake`.
        // Look at the window's start, then often until it closes.
        let began_after = self.before_baking.or(r.start_time).unwrap_or(now);
        let began_before = self.baking_seen.unwrap_or(now);
        let earliest = (began_after + bake).max(now);
        let latest = (began_before + bake).max(earliest);
        // Inside the window the end is anywhere: checks spread out as the window is used up
        // (a third of the time spent in it, from NEAR_END_CHECK up to WINDOW_CHECK_MAX), so that
        // a wide window (a refresh only ever seen baking) does not cost a check every few
        // seconds.
        let in_window = now.duration_since(began_after + bake).unwrap_or_default();
        let next = if in_window.is_zero() {
            next_check(earliest, now)
        } else {
            (in_window / 3).clamp(NEAR_END_CHECK, WINDOW_CHECK_MAX)
        };
        Estimate {
            end: Some(latest),
            earliest_end: Some(earliest),
            next_check: next,
            stalled: false,
        }
    }
}

/// Whether the refresh waits out a checkpoint delay: its status reason says so (Auto Scaling:
/// "Waiting for the checkpoint delay to elapse. Checkpoint 50% reached."), or its percentage is
/// a checkpoint. A batch can land past its checkpoint (with 3 instances, the 50 % checkpoint is
/// reached at 66 %), so the percentage alone misses most pauses.
fn at_checkpoint(r: &Refresh, p: u32) -> bool {
    r.status_reason
        .as_deref()
        .is_some_and(|s| s.to_ascii_lowercase().contains("checkpoint delay"))
        || r.checkpoints.contains(&p)
}

/// Sleep long early and check often near the end: half the way to the estimated end, and never
/// less than [`NEAR_END_CHECK`].
fn next_check(end: SystemTime, now: SystemTime) -> Duration {
    let left = end.duration_since(now).unwrap_or_default();
    (left / 2).max(NEAR_END_CHECK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + secs(1_000_000 + s)
    }

    fn refresh(phase: Phase, percentage: u32) -> Refresh {
        Refresh {
            id: "r-1".into(),
            phase,
            percentage,
            start_time: Some(at(0)),
            ..Refresh::default()
        }
    }

    #[test]
    fn in_progress_projects_the_rate_and_checks_half_way() {
        let mut m = Memory::default();
        // 25% after 10 minutes: 30 more minutes of work.
        let e = m.observe(&refresh(Phase::InProgress, 25), at(600));
        assert_eq!(e.end, Some(at(600 + 1800)));
        // Half-way to the end would be 900 s, but no longer than the work has run so far.
        assert_eq!(e.next_check, secs(600));
        assert!(!e.stalled);
        // Seen moving from 25% to 50% over 10 minutes: the rest takes 20 minutes, counted from
        // the previous check (it reached 50% after it): early rather than late.
        let e = m.observe(&refresh(Phase::InProgress, 50), at(1200));
        assert_eq!(e.end, Some(at(600 + 1200)));
        assert_eq!(e.next_check, secs(300));
        // Near the end, checks come every NEAR_END_CHECK...
        let e = m.observe(&refresh(Phase::InProgress, 50), at(1790));
        assert_eq!(e.next_check, NEAR_END_CHECK);
        // ...and spread out, up to WINDOW_CHECK_MAX, as a late refresh overshoots.
        let e = m.observe(&refresh(Phase::InProgress, 50), at(1830));
        assert_eq!(e.next_check, NEAR_END_CHECK);
        let e = m.observe(&refresh(Phase::InProgress, 50), at(2400));
        assert_eq!(e.next_check, WINDOW_CHECK_MAX);
    }

    #[test]
    fn a_percentage_first_seen_was_reached_less_than_a_batch_ago() {
        let mut r = refresh(Phase::InProgress, 50);
        r.warmup = Some(secs(300));
        // Seen first at 1200 s: 50 % came after 900 s (a warmup ago) at the earliest, and after
        // the middle of the work so far (600 s): 18 s a percent, 900 s left from 900 s.
        let e = Memory::default().observe(&r, at(1200));
        assert_eq!(e.end, Some(at(900 + 900)));
        // Early on, the middle of the work bounds it: 50 % after 100 s of 200 s.
        let e = Memory::default().observe(&r, at(200));
        assert_eq!(e.end, Some(at(100 + 100)));
    }

    #[test]
    fn a_pause_past_its_checkpoint_percentage_is_told_by_the_status_reason() {
        // Three instances, one a batch: the 50 % checkpoint is reached at 66 %.
        let mut r = refresh(Phase::InProgress, 33);
        r.checkpoints = vec![50, 100];
        r.checkpoint_delay = Some(secs(600));
        let mut m = Memory::default();
        m.observe(&r, at(100));
        r.percentage = 66;
        r.status_reason =
            Some("Waiting for the checkpoint delay to elapse. Checkpoint 50% reached.".into());
        let e = m.observe(&r, at(200));
        // The pause began after the check at 100: 500 s of it are left, counted from there
        // (erring early); then the rest of the work at the rate measured from 33 % to 66 %,
        // which the pause is not in (100 s for 33 %).
        assert_eq!(e.end, Some(at(100 + 500) + secs(100) / 33 * 34));
        // Without the reason, 66 % is no checkpoint: no pause is left, and the 600 s pause is
        // taken out of the 100 s from 33 % to 66 %, leaving no time per percent.
        r.status_reason = None;
        let mut m = Memory::default();
        r.percentage = 33;
        m.observe(&r, at(100));
        r.percentage = 66;
        assert_eq!(m.observe(&r, at(200)).end, Some(at(200)));
    }

    #[test]
    fn checkpoints_and_bake_time_ahead_are_added_and_count_for_the_earliest_end() {
        let mut m = Memory::default();
        let mut r = refresh(Phase::InProgress, 20);
        r.checkpoints = vec![50, 100];
        r.checkpoint_delay = Some(secs(3600));
        r.bake_time = Some(secs(600));
        let e = m.observe(&r, at(100));
        // 400 s of work, the pause at 50% and the bake time ahead; none after the last
        // checkpoint, where the refresh ends. The earliest end counts only the bake time and
        // half the work: a pause ahead is not certain.
        assert_eq!(e.end, Some(at(100 + 400 + 3600 + 600)));
        assert_eq!(e.earliest_end, Some(at(100 + 200 + 600)));
    }

    #[test]
    fn baking_ends_a_bake_time_after_the_last_check_that_saw_it_working() {
        let mut m = Memory::default();
        let mut r = refresh(Phase::InProgress, 90);
        r.bake_time = Some(secs(300));
        m.observe(&r, at(900));
        r.phase = Phase::Baking;
        r.percentage = 100;
        let e = m.observe(&r, at(1000));
        // It began baking between the two checks: it ends between 1200 and 1300; look at 1200.
        assert_eq!(
            (e.earliest_end, e.end),
            (Some(at(900 + 300)), Some(at(1000 + 300)))
        );
        assert_eq!(e.next_check, secs(100));
        // Only ever seen baking: it began after the refresh started.
        let mut only_baking = r.clone();
        only_baking.id = "r-2".into();
        let e = Memory::default().observe(&only_baking, at(100));
        assert_eq!((e.earliest_end, e.end), (Some(at(300)), Some(at(400))));
    }

    #[test]
    fn a_frozen_percentage_is_a_stall_and_short_phases_get_short_checks() {
        let mut m = Memory::default();
        m.observe(&refresh(Phase::InProgress, 40), at(0));
        let e = m.observe(
            &refresh(Phase::InProgress, 40),
            at(STALL_AFTER.as_secs() + 1),
        );
        assert!(e.stalled);
        assert_eq!(e.end, None);
        for phase in [Phase::Pending, Phase::Cancelling, Phase::RollbackInProgress] {
            let e = Memory::default().observe(&refresh(phase, 0), at(5));
            assert_eq!((e.next_check, e.end), (SHORT_CHECK, None), "{phase:?}");
        }
        let e = Memory::default().observe(&refresh(Phase::Ended, 100), at(5));
        assert_eq!(e.next_check, Duration::ZERO);
    }
}
