//! *When can the blocking refresh end, and when should we look again?* A pure function of what
//! the describes (and, now and then, the group's scaling activities) said about this refresh, and
//! the time now. It reads no clock and does no I/O; [`run`](super::run) does both.
//!
//! It reasons only from what public sources state (`AWS-FACTS.md` in the project's shared notes
//! lists them), and from what this refresh did so far:
//!
//! - **What is certain** ([`Estimate::earliest_end`]): a checkpoint pause it is in lasts
//!   `CheckpointDelay` from when its percentage reached the checkpoint; a checkpoint below the
//!   last one that the percentage has not reached yet is a pause still ahead; the bake time
//!   follows the work; a bake lasts `BakeTime` from when the refresh turned `Baking`. Nothing
//!   else is certain, so only this fails a call fast (`WontEndInTime`).
//! - **What is plausible** (the end's window): the time per percent this refresh has taken
//!   (between percentages seen to change, its checkpoint pauses taken out), from when its current
//!   percentage was reached; the scaling activities' launch times place that moment, the current
//!   batch's launches and how long this refresh's launches took, and the moment a bake or a
//!   pause began. `InstancesToUpdate` is read only as "0: no batch left to start" (true under
//!   both readings AWS's examples allow), never as "done"; a percentage at its target is not
//!   "done" either (its rounding is not stated).
//! - **Wrong early**: a refresh can end at any moment (cancelled, failed by an alarm, rolled
//!   back, stalled for an hour). The caller caps every sleep at `max_check_interval`, and the
//!   estimate never proposes one past the window's opening; long phases (`Cancelling`,
//!   `RollbackInProgress`) get a window from their own progress, not short polling.
//!
//! Each observation costs a bounded amount of work and memory, whatever the describe says:
//! at most [`HISTORY`] percentages, 100 checkpoints and [`MAX_LAUNCHES`] launches are kept.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::activity::{Digest, Ending, Launch, MAX_LAUNCHES, digest, secs};
use super::cadence::{self, DENSE_MAX, Window};
use super::observe::{Phase, Refresh};
use super::progress::Evidence;

/// How many percentages seen (and when they were reached) are kept.
pub(crate) const HISTORY: usize = 16;
/// How many instances named by the warmup hint are kept.
const HINTS: usize = 8;
/// A window wider than this, with more than the final batch left, is looked at
/// [`COARSE_CHECKS`] times rather than densely: its evidence is loose, and the progress those
/// checks see narrows it. Shown robust by the per-slice table.
const WIDE: f64 = 120.0;
const COARSE_CHECKS: f64 = 2.0;
/// Reading the activities to learn the final batch's end pays when they tell it at least this
/// long ahead (a few dense checks' worth). Shown robust by the per-slice table.
const READ_AHEAD_MIN: f64 = 20.0;
/// The warmup hint's instance is watched as the final batch's last when at most this many are
/// left to count. Shown robust by the per-slice table.
const FEW_LEFT: f64 = 16.0;
/// How long a refresh may keep its percentage, beyond the checkpoint pause it may be in, before
/// it counts as stalled: the user guide says a refresh that cannot make progress "keeps retrying
/// for an hour", then fails.
pub(crate) const STALL_AFTER: f64 = 3600.0;
/// The default `CheckpointDelay` when checkpoints are set (API `RefreshPreferences`).
const DEFAULT_CHECKPOINT_DELAY: f64 = 3600.0;
/// How far the time a batch takes may stray from the time per percent measured so far, either
/// way, for the window: instances launch in their own time and a batch lasts as long as its
/// slowest (UG "How instance refresh works"), by how much no source says. Shown robust by the
/// per-slice table of the wait bench.
const SPREAD: f64 = 0.5;
/// A phase whose end nothing tells (`Pending`, `Cancelling` with no batch time known yet, a
/// status this crate does not know) is looked at again after half the time it has lasted, and
/// never sooner than this. Shown robust by the per-slice table; 20 s measured no worse than 10 s
/// on three seeds of the wait bench, with a call an hour fewer (docs/performance.md).
const SHORT_LOOK: f64 = 20.0;
/// The most checks a window for the refresh's end gets (`InProgress`, and `Baking`, whose end is
/// the refresh's): twice the cadence's own, because there the end can come any moment of a loose
/// window (a final batch whose instances land within their launches' spread, unseen without the
/// scaling activities), while the long phases (`RollbackInProgress`, `Cancelling`) keep the
/// cadence's. A trade of calls for the p99: shown on the wait bench (docs/performance.md).
const WORK_WINDOW_CHECKS: f64 = 2.0 * cadence::MAX_WINDOW_CHECKS;

/// A count of the work an observation does, for the tests' bound on it (nothing outside tests).
pub(crate) mod work {
    #[cfg(test)]
    thread_local! {
        static TICKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// Counts `n` steps of work.
    #[inline(always)]
    pub(crate) fn tick(n: usize) {
        #[cfg(test)]
        TICKS.with(|t| t.set(t.get().saturating_add(n as u64)));
        #[cfg(not(test))]
        let _ = n;
    }

    /// The steps counted since the last call.
    #[cfg(test)]
    pub(crate) fn take() -> u64 {
        TICKS.with(|t| t.replace(0))
    }
}

/// What the Refresher should do next, and what it can say about the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// The plausible end: the window's middle.
    pub(crate) end: Option<SystemTime>,
    /// The window of plausible ends.
    pub(crate) window: Option<(SystemTime, SystemTime)>,
    /// The earliest the refresh can end, from what is certain (see the module docs).
    pub(crate) earliest_end: Option<SystemTime>,
    /// When to look again (the caller caps it).
    pub(crate) next_check: Duration,
    /// What the next look is: a describe, a `StartInstanceRefresh` (nothing but the end is
    /// left to learn), or a read of the activities alone.
    pub(crate) look: Look,
    /// A read of the scaling activities would sharpen the estimate now.
    pub(crate) wants_activities: bool,
    /// The percentage has not moved for longer than the checkpoint pause it may be in plus an
    /// hour.
    pub(crate) stalled: bool,
    /// What the estimate rests on.
    pub(crate) evidence: Evidence,
}

/// What the next look at the refresh is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Look {
    /// `DescribeInstanceRefreshes` (and the activities, if [`Estimate::wants_activities`]).
    #[default]
    Describe,
    /// `StartInstanceRefresh`: nothing but the end is left to learn.
    Probe,
    /// `DescribeScalingActivities` alone: the launches of the final batch tell its end ahead
    /// of it.
    Activities,
}

/// Why the scaling activities are not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoActivities {
    /// The read failed (access denied, throttled, an old endpoint).
    Unreadable,
    /// Read, but no launch started inside the refresh.
    NoneMatched,
}

/// The activities as last read.
#[derive(Debug, Clone, Default)]
enum Activities {
    #[default]
    Unread,
    Read {
        at: f64,
        launches: Vec<Launch>,
        /// The read went back to the refresh's start (no page left).
        complete: bool,
        /// When the last describe before the read was.
        described: f64,
    },
    Unusable(NoActivities),
}

/// The preferences the estimate reads.
#[derive(Debug, Clone, Default)]
struct Prefs {
    warmup: Option<f64>,
    delay: f64,
    bake: Option<f64>,
    checkpoints: Vec<u32>,
    /// `MinHealthyPercentage` (Auto Scaling's default, 90, when not described) and
    /// `MaxHealthyPercentage` (100 when omitted: no instance above the capacity).
    min_healthy: u32,
    max_healthy: u32,
}

impl Prefs {
    /// Where the replacements stop: the last checkpoint (UG "Add checkpoints": a last
    /// checkpoint below 100 ends the refresh there), else 100.
    fn target(&self) -> u32 {
        self.checkpoints.last().copied().unwrap_or(100)
    }

    /// Checkpoints that pause: all but the last.
    fn pausing(&self) -> &[u32] {
        let n = self.checkpoints.len().saturating_sub(1);
        &self.checkpoints[..n]
    }

    fn bake(&self) -> f64 {
        self.bake.unwrap_or(0.0)
    }
}

/// A percentage, and when it was reached: after `after`, by `by`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level {
    p: u32,
    after: f64,
    by: f64,
    /// Reached by crossing a checkpoint that pauses: its pause began when it was reached.
    crossed: bool,
    /// Seen to change into: `after` is a check that saw the percentage before.
    seen: bool,
}

impl Level {
    fn mid(&self) -> f64 {
        (self.after + self.by) / 2.0
    }
}

/// What this call remembers about the refresh it waits for. Bounded: see the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    id: Option<String>,
    prefs: Prefs,
    start: Option<f64>,
    phase: Option<Phase>,
    /// The last describe, and the last moment the refresh was known active (a describe, or a
    /// `StartInstanceRefresh` it refused).
    last_check: Option<f64>,
    last_active: Option<f64>,
    /// The current phase began after `.0` and by `.1`.
    phase_since: (f64, f64),
    /// The last check that saw it `Pending`, and the first that saw it past `Pending`.
    pending_last: Option<f64>,
    work_seen: Option<f64>,
    level: Option<Level>,
    history: VecDeque<Level>,
    instances_to_update: Option<u32>,
    /// The warmup hint: the instances it named lately, each with when it came into service
    /// (after, by: less than a warmup before it was first named); the one the last describe
    /// named.
    hints: VecDeque<(u64, f64, f64)>,
    warming_now: Option<u64>,
    /// `InstancesToUpdate` counts instances not yet taken into a batch: it was 0 well short of
    /// the target, or held while the percentage rose.
    not_yet_in_batch: bool,
    /// The smallest fall of `InstancesToUpdate` seen between two checks, the largest value it
    /// had, and the percentage first seen.
    itu_drop: Option<u32>,
    itu_max: Option<u32>,
    first_percentage: Option<u32>,
    /// When the percentage reached its target while still `InProgress` (a 100 % checkpoint
    /// may pause there; no source says whether).
    at_target: Option<(f64, f64)>,
    /// `RollbackDetails`: when, and from which percentage.
    rollback: Option<(f64, u32)>,
    activities: Activities,
}

impl Memory {
    /// The refresh this memory is about.
    pub(crate) fn refresh_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Records a describe of the refresh and estimates.
    pub(crate) fn observe(&mut self, r: &Refresh, now: SystemTime) -> Estimate {
        let now = secs(now);
        if self.id.as_deref() != Some(r.id.as_str()) {
            *self = Memory {
                id: Some(r.id.clone()),
                ..Memory::default()
            };
        }
        self.prefs = prefs(r);
        self.start = r.start_time.map(secs).or(self.start);
        let previous = self.last_check;
        let since = previous.or(self.start).unwrap_or(now).min(now);
        if self.phase != Some(r.phase) {
            self.phase_since = (since, now);
            // It was seen in another phase: the new one began after that check. Seen first:
            // after the refresh started.
            if self.phase.is_none() {
                self.phase_since.0 = self.start.unwrap_or(now).min(now);
            }
        }
        match r.phase {
            Phase::Pending => self.pending_last = Some(now),
            _ if self.work_seen.is_none() => self.work_seen = Some(now),
            _ => {}
        }
        if matches!(r.phase, Phase::InProgress | Phase::Pending)
            && let Some(p) = r.percentage
        {
            self.see_percentage(p, previous, now);
        }
        if r.phase == Phase::InProgress
            && self.at_target.is_none()
            && r.percentage.is_some_and(|p| p >= self.prefs.target())
        {
            // Reached since the check before; first seen there, any time since the work began
            // (a 100 % checkpoint's pause may have begun long ago).
            let after = match previous {
                Some(t) => t,
                None => self.level.map_or(now, |l| l.after),
            };
            self.at_target = Some((after.min(now), now));
        }
        if r.phase == Phase::RollbackInProgress {
            let began = r.rollback_start.map(secs).unwrap_or(self.phase_since.0);
            let from = r
                .percentage_on_rollback
                .or(self.level.map(|l| l.p))
                .unwrap_or(100);
            self.rollback = Some((began, from));
            if let Some(p) = r.percentage {
                self.see_percentage(p, previous, now);
            }
        }
        if r.phase == Phase::InProgress {
            self.see_instances_to_update(r, previous, now);
        }
        self.instances_to_update = r.instances_to_update;
        self.phase = Some(r.phase);
        self.last_check = Some(now);
        self.last_active = Some(now);
        self.estimate(now)
    }

    /// Records that `StartInstanceRefresh` was refused now (the refresh is still active), and
    /// estimates without a describe.
    pub(crate) fn refused(&mut self, now: SystemTime) -> Estimate {
        let now = secs(now);
        self.last_active = Some(self.last_active.map_or(now, |t| t.max(now)));
        self.estimate(now)
    }

    /// Records a read of the scaling activities (`None`: it failed; `complete`: it went back to
    /// the refresh's start) and estimates again.
    pub(crate) fn activities(
        &mut self,
        launches: Option<Vec<Launch>>,
        complete: bool,
        now: SystemTime,
    ) -> Estimate {
        let now = secs(now);
        self.activities = match launches {
            None => Activities::Unusable(NoActivities::Unreadable),
            Some(l) if l.is_empty() => Activities::Unusable(NoActivities::NoneMatched),
            Some(mut launches) => {
                launches.truncate(MAX_LAUNCHES);
                Activities::Read {
                    at: now,
                    launches,
                    complete,
                    described: self.last_check.unwrap_or(now).min(now),
                }
            }
        };
        self.estimate(now)
    }

    /// Records what `InstancesToUpdate` and the warmup hint say.
    fn see_instances_to_update(&mut self, r: &Refresh, previous: Option<f64>, now: f64) {
        let before = self.history.back().map(|l| l.p);
        let moved = self
            .level
            .is_some_and(|l| l.by == now && before.is_some_and(|b| l.p > b));
        match (self.instances_to_update, r.instances_to_update) {
            (Some(a), Some(b)) if b < a => {
                self.itu_drop = Some(self.itu_drop.map_or(a - b, |d| d.min(a - b)));
            }
            (Some(a), Some(b)) if a == b && moved && previous.is_some() => {
                self.not_yet_in_batch = true;
            }
            _ => {}
        }
        if let Some(n) = r.instances_to_update {
            self.itu_max = Some(self.itu_max.map_or(n, |m| m.max(n)));
        }
        if self.first_percentage.is_none() {
            self.first_percentage = r.percentage;
        }
        if r.instances_to_update == Some(0)
            && r.percentage.is_some_and(|p| p + 1 < self.prefs.target())
        {
            self.not_yet_in_batch = true;
        }
        if let Some(id) = r.warming
            && !self.hints.iter().any(|h| h.0 == id)
        {
            if self.hints.len() == HINTS {
                self.hints.pop_front();
            }
            // When it came into service: it is warming now, so less than a warmup ago. Nothing
            // narrows that: which warming instance the sentence names, no source says (it gives
            // one "for example"), nor that every describe gives the sentence while one warms (a
            // describe without it may come while one warms).
            let before = previous.unwrap_or(now).min(now);
            let after = match self.prefs.warmup {
                Some(w) => before.min(now - w),
                None => before,
            };
            self.hints.push_back((id, after, now));
        }
        self.warming_now = r.warming;
    }

    fn see_percentage(&mut self, p: u32, previous: Option<f64>, now: f64) {
        match self.level {
            Some(level) if level.p == p => {}
            Some(level) => {
                let crossed =
                    level.p < p && self.prefs.pausing().iter().any(|&c| level.p < c && c <= p);
                if self.history.len() == HISTORY {
                    self.history.pop_front();
                }
                self.history.push_back(level);
                self.level = Some(Level {
                    p,
                    after: previous.unwrap_or(now).min(now),
                    by: now,
                    crossed,
                    seen: true,
                });
            }
            None => {
                let after = self.work_lo().unwrap_or(now).min(now);
                self.level = Some(Level {
                    p,
                    after,
                    by: now,
                    crossed: false,
                    seen: false,
                });
            }
        }
    }

    /// The earliest the work can have begun: the refresh's start, or the last check that saw it
    /// `Pending`.
    fn work_lo(&self) -> Option<f64> {
        match (self.start, self.pending_last) {
            (Some(s), Some(p)) => Some(s.max(p)),
            (s, p) => s.or(p),
        }
    }

    fn digest(&self) -> Option<(f64, Digest)> {
        match &self.activities {
            Activities::Read {
                at,
                launches,
                complete,
                described,
                ..
            } => {
                let pause = (!self.prefs.pausing().is_empty()).then_some(self.prefs.delay);
                // Counted as of the latest describe, whose percentage it goes with.
                let counted_at = self.last_check.unwrap_or(*described).max(*described);
                let d = digest(launches, *complete, self.prefs.warmup, pause, counted_at)?;
                Some((*at, d))
            }
            _ => None,
        }
    }

    fn evidence(&self) -> Evidence {
        match self.activities {
            Activities::Unread => Evidence::Describe,
            Activities::Read { .. } => Evidence::ScalingActivities,
            Activities::Unusable(NoActivities::Unreadable) => Evidence::ActivitiesUnavailable,
            Activities::Unusable(NoActivities::NoneMatched) => Evidence::NoMatchingActivities,
        }
    }

    /// Whether a read of the activities is possible at all (not known to fail or to be empty).
    fn can_read(&self) -> bool {
        !matches!(self.activities, Activities::Unusable(_))
    }

    /// Whether the activities were read after `t`.
    fn read_after(&self, t: f64) -> bool {
        matches!(self.activities, Activities::Read { at, .. } if at >= t)
    }

    fn estimate(&self, now: f64) -> Estimate {
        let plan = match self.phase {
            None => Plan::default(),
            Some(Phase::Ended) => {
                return Estimate {
                    end: time(now),
                    window: None,
                    earliest_end: time(now),
                    next_check: Duration::ZERO,
                    look: Look::Describe,
                    wants_activities: false,
                    stalled: false,
                    evidence: self.evidence(),
                };
            }
            Some(Phase::Pending) => self.pending(now),
            Some(Phase::InProgress) => self.in_progress(now),
            Some(Phase::Baking) => self.baking(now),
            Some(Phase::Cancelling) => self.cancelling(now),
            Some(Phase::RollbackInProgress) => self.rolling_back(now),
        };
        // Nothing plausible comes before what is certain: a window that opens sooner opens
        // then (and one that is overdue stays overdue: the certain bound is only "now" then).
        let floor = plan.earliest.filter(|e| *e > now);
        // Nor before the check that first saw the refresh where it is now (in this phase, at
        // this percentage): it was active then. A window that reaches back before it (a pause
        // whose start no evidence places, say) is only as wide as what is left of it, so its
        // checks are spaced by that.
        let seen = match self.phase {
            Some(Phase::InProgress) => self.level.map_or(self.phase_since.1, |l| l.by),
            _ => self.phase_since.1,
        };
        let plan_end = plan.end.map(|w| {
            if w.opens < seen && seen < w.closes {
                Window {
                    opens: seen,
                    closes: w.closes,
                }
            } else {
                w
            }
        });
        let end = plan_end.map(|w| match floor {
            Some(f) if w.opens < f => Window {
                opens: f,
                closes: w.closes.max(f),
            },
            _ => w,
        });
        let watch = plan.watch.or(end);
        // The work's end and the bake's are the refresh's end: their windows get more looks
        // than the long phases' (see WORK_WINDOW_CHECKS), by what is left of them.
        let inside = plan.inside.or_else(|| {
            let work = matches!(self.phase, Some(Phase::InProgress | Phase::Baking));
            watch
                .filter(|_| work)
                .map(|w| cadence::spacing_within(w.width(), WORK_WINDOW_CHECKS))
        });
        let mut next = plan
            .next
            .or_else(|| cadence::next_check(now, watch, &plan.points, inside))
            .unwrap_or_else(|| plan.fallback.unwrap_or_else(|| self.short_look(now)));
        // Never past the earliest plausible end (the window's opening, and the whole second the
        // wire rounds it to).
        if let Some(w) = end
            && now < w.opens
        {
            next = next.min((w.opens + cadence::AFTER_POINT - now).max(cadence::DENSE_MIN));
        }
        // Overdue by less than the window was wide (a batch's worth, about); in the final
        // batch, for as long as a refresh may go without progress before it fails
        // (`STALL_AFTER`): what holds the end up (a replacement for an instance that failed its
        // health check, say) is seen once it warms up. Measured on three seeds of the wait
        // bench: natural p99 18.0 / 56.4 / 60.9 s -> 17.2 / 27.9 / 50.5 s, for half a call an
        // hour (the width's limit alone, before).
        if let (Some(cap), Some(w)) = (plan.overdue, watch)
            && now > w.closes
            && now - w.closes
                <= if plan.overdue_long {
                    STALL_AFTER
                } else {
                    w.width().max(cap)
                }
        {
            next = next.min(cap);
        }
        Estimate {
            end: end.and_then(|w| time((w.opens + w.closes) / 2.0)),
            window: end.and_then(|w| Some((time(w.opens)?, time(w.closes)?))),
            earliest_end: plan.earliest.and_then(|e| time(e.max(now))),
            next_check: duration(next),
            // A probe only inside the watched window: before it a describe may still teach
            // something, after it (the estimate was wrong) it must.
            look: if plan.look == Look::Activities && self.can_read() {
                Look::Activities
            } else if plan.probe
                && watch.is_some_and(|w| {
                    now + next >= w.opens && now + next <= w.closes + cadence::AFTER_POINT
                })
            {
                Look::Probe
            } else {
                Look::Describe
            },
            wants_activities: plan.wants_activities && self.can_read(),
            stalled: plan.stalled,
            evidence: self.evidence(),
        }
    }

    /// Half the time the phase has lasted, at least [`SHORT_LOOK`].
    fn short_look(&self, now: f64) -> f64 {
        ((now - self.phase_since.0) / 2.0).max(SHORT_LOOK)
    }

    fn pending(&self, now: f64) -> Plan {
        // UG: Pending "should then quickly change to InProgress"; for how long, no source says.
        // Work lies ahead: a checkpoint that pauses, and the bake time, at the least, when
        // there are instances to update.
        let work = self.instances_to_update.is_some_and(|n| n > 0);
        let certain = if work {
            now + self.prefs.delay * f64::from(u8::from(!self.prefs.pausing().is_empty()))
                + self.prefs.bake()
        } else {
            now
        };
        Plan {
            earliest: Some(certain),
            fallback: Some(self.short_look(now)),
            ..Plan::default()
        }
    }

    fn in_progress(&self, now: f64) -> Plan {
        let Some(level) = self.level else {
            return Plan::default();
        };
        let prefs = &self.prefs;
        let (p, target, d, bake) = (level.p, prefs.target(), prefs.delay, prefs.bake());
        let warmup = prefs.warmup.unwrap_or(0.0);
        let digest = self.digest();
        // Activities read since the current percentage was reached show the batch after it.
        let read_at = self.digest_at();
        // Activities read since the current percentage was reached show the batch in flight;
        // an older read still does while that batch can be in flight.
        let fresh = digest
            .filter(|(at, f)| {
                *at >= level.by
                    || batch_bounds(f, warmup, *at)
                        .1
                        .is_none_or(|hi| now <= hi + cadence::DENSE_MAX)
            })
            .map(|(_, d)| d);
        // The activities' count goes with the latest describe's percentage.
        let read_p = p;

        // A pause it is in: it crossed a checkpoint into this percentage (the pause began when
        // the percentage was reached), or, first seen here, no launch is in flight although a
        // checkpoint lies at or below the percentage (the pause began when the last launch was
        // counted), and the warmup sentence names no instance (one warming up says a batch is
        // still being counted: a pause begins once its batch has warmed up, UG "Add
        // checkpoints").
        let below = prefs.pausing().iter().any(|&c| c <= p);
        // Counting instances needs every launch of the refresh on the page.
        let instances = fresh
            .filter(|f| f.first_start.is_some())
            .and_then(|f| instances(&f, read_p));
        // A pause first seen at this percentage began when the batch that reached it crossed a
        // checkpoint: one no further below than that batch's share of the group (at most its
        // launches, of the fewest instances the group may have, and a percent of rounding),
        // where the activities count them.
        let batch_reach = fresh
            .zip(instances)
            .map(|(f, (n_lo, _))| f.batch_size.max(1) as f64 * 100.0 / n_lo.max(1.0) + 1.0);
        let crossable = prefs
            .pausing()
            .iter()
            .any(|&c| c <= p && batch_reach.is_none_or(|r| f64::from(p - c) <= r));
        let paused_since: Option<(f64, f64)> = if p >= target {
            None
        } else if level.crossed {
            Some((level.after, level.by))
        } else if !level.seen && crossable && self.warming_now.is_none() {
            // Only where the last launch was counted by the describe that saw this percentage:
            // one that may still be warming up may be the batch after a pause, or the last
            // (a pause is taken for it only once it is counted, UG "Add checkpoints"). Taken
            // for a pause wrongly, the checks wait out a delay; not taken, they look early.
            fresh
                .filter(|f| f.batch.in_flight == 0)
                .and_then(|f| f.last_end.map(|e| reached(e, warmup, Some(f.ending))))
                .filter(|(_, counted)| *counted <= level.by)
        } else {
            None
        };
        let (ahead_lo, ahead_hi) = self.pauses_ahead(p, instances);

        // What is certain: the rest of the pause it is in, one pause ahead, the bake time.
        let mut certain = now;
        if level.crossed && p < target {
            certain = certain.max(level.after + d);
        }
        certain += d * f64::from(u8::from(ahead_lo > 0)) + bake;

        let allowance = if level.crossed || (below && !level.seen) {
            d
        } else {
            0.0
        };
        let stalled = now - level.by > STALL_AFTER + allowance;

        // The work's end. From the activities, batch by batch: the batch that began last (or
        // the pause it is in), then as many batches as the instances left need, each as long as
        // this refresh's batches took, and the pauses ahead. Failing that, at the time per
        // percent this refresh took. At the target: its last instances, or a 100 % checkpoint's
        // pause.
        let batch = fresh.map(|f| batch_bounds(&f, warmup, read_at));
        let work = if p >= target {
            self.at_target_window(fresh, batch, warmup, now)
        } else {
            let by_batches = fresh.and_then(|f| {
                let (lo, hi) = batch?;
                let (n_lo, n_hi) = instances?;
                // The group has a whole number of instances.
                let (n_lo, n_hi) = if n_lo.ceil() <= n_hi.floor() {
                    (n_lo.ceil(), n_hi.floor())
                } else {
                    (n_lo.round(), n_lo.round())
                };
                let goal = |n: f64| (n * f64::from(target) / 100.0).ceil();
                let took = batch_took(&f, warmup)?;
                let size = f.batch.size.max(1) as f64;
                let counted = f.counted as f64;
                let (from, done) = match paused_since {
                    Some(s) => ((s.0 + d, s.1 + d), counted),
                    None => (
                        (lo, hi.unwrap_or(lo + took.1 - took.0)),
                        counted + f.batch.uncounted as f64,
                    ),
                };
                let batches =
                    |n: f64| ((goal(n) - done).max(0.0) / f.batch_size.max(1) as f64).ceil();
                let _ = size;
                // A checkpoint ahead may split a batch in two.
                let (k_lo, k_hi) = (batches(n_lo), batches(n_hi) + ahead_hi as f64);
                let (k_lo, k_hi) = if paused_since.is_some() {
                    (k_lo.max(1.0), k_hi.max(1.0))
                } else {
                    (k_lo, k_hi)
                };
                // The batches after the one in flight begin once it has ended (UG "How
                // instance refresh works"): no sooner than a describe at this percentage since
                // the read that saw it unfinished, where its uncounted instances are a percent
                // of the group or more (counted, they would have moved the percentage). Only
                // the opening moves: a window so placed still passes, and is then overdue.
                let unfinished = (paused_since.is_none()
                    && k_lo >= 1.0
                    && read_at >= level.by
                    && f.batch.uncounted as f64 * 100.0 >= n_hi)
                    .then_some(self.last_check)
                    .flatten()
                    .unwrap_or(from.0);
                // A batch ahead can be quicker than any this refresh took so far (each
                // instance launches in its own time, UG), as a launch in flight can
                // (`batch_bounds`): by `SPREAD`. Without it, seed 99 of the wait bench had a
                // four-instance refresh end 140 s before its window opened (p99 29.3 -> 20.2 s,
                // for 0.7 calls an hour).
                let opens = from.0.max(unfinished) + k_lo * took.0 * (1.0 - SPREAD);
                let closes = from.1 + k_hi * took.1;
                Window::new(
                    opens.min(closes.max(from.0)) + ahead_lo as f64 * d,
                    closes + ahead_hi as f64 * d,
                )
            });
            by_batches.or_else(|| {
                // When the current percentage was reached, plausibly: a first sighting's
                // activities place it at the last launch counted.
                let mut reach = (level.after, level.by);
                if !level.seen
                    && let Some(f) = fresh
                    && let Some(e) = f.last_end.filter(|e| *e <= level.by)
                {
                    let (lo, hi) = reached(e, warmup, Some(f.ending));
                    reach = (lo.clamp(reach.0, reach.1), hi.clamp(reach.0, reach.1));
                }
                if !level.seen && self.history.is_empty() && paused_since.is_none() && p > 0 {
                    // Seen once, with nothing to measure: it reached this percentage some
                    // time since its work began. At the latest (now), it took the whole time
                    // (its pauses taken out) for it; a pause at or below it may still run.
                    let served: Vec<u32> =
                        prefs.pausing().iter().copied().filter(|&c| c < p).collect();
                    let served = self.fewest_pauses(&served, p, instances) as f64;
                    let seen = level.by;
                    let work = seen - self.work_lo()? - served * d;
                    let r = (work / f64::from(p.max(1))).max(0.0);
                    let maybe_paused = if below { d } else { 0.0 };
                    return Window::new(
                        seen + ahead_lo as f64 * d,
                        seen + f64::from(target - p) * r + maybe_paused + ahead_hi as f64 * d,
                    );
                }
                let anchor = paused_since.map_or(reach, |s| (s.0 + d, s.1 + d));
                let r = self.rate(digest.map(|(_, d)| d))?;
                let left = f64::from(target - p) * r;
                let w = Window::new(
                    anchor.0 + left * (1.0 - SPREAD) + ahead_lo as f64 * d,
                    anchor.1 + left * (1.0 + SPREAD) + ahead_hi as f64 * d,
                )?;
                // It cannot end before the batch in flight can.
                Some(match batch {
                    Some((lo, _)) if w.opens < lo => Window {
                        opens: lo,
                        closes: w.closes.max(lo) + (lo - w.opens),
                    },
                    _ => w,
                })
            })
        };
        // In the pause (its delay not over yet, as far as the checks can tell), unless
        // `InstancesToUpdate` fell to 0 short of the target: a batch was taken since.
        let taken_all = self.instances_to_update == Some(0) && p < target;
        let in_pause = paused_since.is_some_and(|s| now < s.1 + d) && !taken_all;
        // No batch is left to start (InstancesToUpdate 0 under either reading).
        let last_batch = self.instances_to_update == Some(0) && !in_pause;
        // One instance is left to count: its warmup hint places the end a warmup after it came
        // into service. The checks then watch for it to come into service (from now, within
        // most of a warmup of each other).
        let one_left = !in_pause && p < target && self.one_left(fresh, instances);
        let hinted = prefs.warmup.filter(|w| *w > 2.0 * cadence::DENSE_MIN);
        // The final batch is in flight: nothing after it but a bake (or a 100 % pause). Where
        // `InstancesToUpdate` may count instances not yet replaced, a batch that holds them all
        // is the final one (its size from the activities, or from the healthy percentages).
        // Activities that go back to the refresh's start count the batch in flight; the
        // healthy percentages only bound a batch (its sizing, beyond them, no source states).
        let batch_size = match (
            fresh.map(|f| (f.batch.uncounted as f64, instances.is_some())),
            self.batch_size_hint(p),
        ) {
            (Some((a, true)), _) => Some(a),
            (Some((a, false)), Some(b)) => Some(a.max(b)),
            (a, b) => a.map(|a| a.0).or(b),
        };
        let holds_the_rest = !self.not_yet_in_batch
            && self
                .instances_to_update
                .zip(batch_size)
                .is_some_and(|(left, size)| f64::from(left) <= size);
        let final_batch = !in_pause
            && (p >= target
                || last_batch
                || one_left
                || holds_the_rest
                || self.none_after(fresh, instances));
        // The final batch in flight, its launches on the page: the work ends with them, as long
        // as this refresh's launches take (the time per percent says nothing of a batch whose
        // instances are counted together).
        let work = match (fresh, batch) {
            (Some(f), Some((lo, Some(hi))))
                if final_batch && p < target && f.batch.in_flight > 0 =>
            {
                Window::new(lo, hi).or(work)
            }
            _ => work,
        };
        // Whatever placed it, the work cannot end before the batch in flight can.
        let after_batch = |work: Option<Window>| match (work, batch) {
            (Some(w), Some((lo, _))) if w.opens < lo && p < target => {
                Window::new(lo, w.closes.max(lo))
            }
            _ => work,
        };
        let work = after_batch(work);

        let mut plan = Plan {
            earliest: Some(certain),
            stalled,
            // Overdue, the checks stay within a warmup of each other, so that the warmup hint
            // of the instance that holds it up is seen; in the final batch, however long it is
            // overdue (up to a stall).
            overdue: hinted.map(|w| 0.9 * w),
            overdue_long: final_batch,
            ..Plan::default()
        };

        // The final batch, from its launches: once all are in service, its end is known to the
        // second when launch activities end in service (a warmup later), and to the bake time
        // when a bake follows. Reading them again within that time of each other sees the last
        // come into service before its end.
        // The final batch runs, but the last read shows no launch in flight, and the end it
        // placed (its last launch counted, and the bake) has passed: it was read before the
        // batch began (in the pause before it, say). Read again. While that end is ahead, the
        // read stands: a refused probe says only that the refresh is still active.
        let stale = final_batch
            && p < target
            && fresh.is_some_and(|f| {
                f.batch.in_flight == 0
                    && f.batch
                        .last_end
                        .is_none_or(|e| reached(e, warmup, Some(f.ending)).1 + bake < now)
            })
            && read_at + DENSE_MAX < now;
        if stale && self.can_read() {
            plan.wants_activities = true;
        }
        if final_batch
            && self.can_read()
            && !stale
            && let Some(end) =
                self.final_by_activities(fresh, read_at, level.by, warmup, bake, now, &mut plan)
        {
            plan.end = Some(end.shift(bake));
            return plan;
        }

        // The warmup hint in the final batch: the instance it names is warming up, and came
        // into service when `see_instances_to_update` says (which warming instance the sentence
        // names, no source says), so the batch ends no sooner than a warmup after that, and
        // then if no other is left; the checks watch for the next one, within a warmup of each
        // other, and look closely when the named one's warmup can end. The sentence's absence
        // says nothing: no source says every describe gives it while an instance warms.
        let warming = self
            .warming_now
            .and_then(|id| self.hints.iter().find(|h| h.0 == id));
        let mut hint_watch: Option<(Window, f64)> = None;
        let few_left = self.left(fresh, p).is_some_and(|u| u <= FEW_LEFT);
        let work = match hinted {
            Some(warmup) if final_batch && p < target => {
                // The named instance's warmup end is the batch's end only when few are left;
                // with many left, instances keep coming into service, and the percentage tells
                // when few are.
                let candidate = warming
                    .filter(|_| few_left || one_left)
                    .and_then(|h| Window::new(h.1 + warmup, h.2 + warmup))
                    .filter(|c| c.closes + cadence::DENSE_MAX >= now);
                let w0 = work.unwrap_or(Window {
                    opens: level.by,
                    closes: level.by + 2.0 * warmup,
                });
                // Often enough to see the next come into service, and to bracket that well:
                // about the square root of the window's width times the closest checks, and
                // well under a warmup.
                let spacing = (w0.width().max(warmup) * 2.0 * cadence::DENSE_MIN)
                    .sqrt()
                    .clamp(2.0 * cadence::DENSE_MIN, 0.9 * warmup);
                // Watched while instances come into service: from now (the final batch's
                // instances land when they do, whatever the forecast: opening a warmup before the
                // work's window instead measured natural p99 17.2 / 27.9 / 50.5 s on seeds 2026 /
                // 7 / 99, against 17.0 / 22.0 / 30.2 s, for about a call an hour less), until a
                // warmup after the last one the hint named (then overdue: checks within most of
                // a warmup for up to `STALL_AFTER`, spreading out after that).
                let last_named = self.hints.back().map_or(level.by, |h| h.2).max(level.by);
                let watch = Window::new(
                    (w0.opens - warmup).min(now),
                    (w0.closes - warmup).max(last_named + warmup),
                );
                match candidate {
                    Some(c) if one_left || now + spacing >= c.opens => Some(c),
                    _ => {
                        hint_watch = watch.map(|w| (w, spacing));
                        // The work's window as it was placed: checks spaced by its whole width
                        // (a window that slid to now would take ever closer checks, beyond the
                        // cadence's bound), and once passed, it stays passed, so that the
                        // checks spread out as for any overdue window.
                        match candidate {
                            Some(c) => Window::new(w0.opens.min(c.opens), w0.closes.max(c.closes)),
                            None => Some(w0),
                        }
                    }
                }
            }
            // Overdue (an instance that failed its health check was replaced, say): the
            // instance coming into service now may hold it up.
            Some(warmup) if work.is_some_and(|w| now > w.closes) => warming
                .filter(|h| h.2 >= level.by)
                .and_then(|h| Window::new(h.1 + warmup, h.2 + warmup))
                .filter(|h| h.closes + cadence::DENSE_MAX >= now)
                .or(work),
            _ => work,
        };
        // The warmup hint placed it, or not: it cannot end before the batch in flight can.
        let work = after_batch(work);
        plan.end = work.map(|w| w.shift(bake));
        if work.is_none() {
            // Nothing has moved yet: look again after half the time the work has run, which
            // spreads the checks over the first batch, and within a warmup, so that the warmup
            // hint of an instance coming into service is seen.
            let began = fresh
                .and_then(|f| f.first_start)
                .or(self.work_lo())
                .unwrap_or(now);
            let mut next = ((now - began) / 2.0).max(SHORT_LOOK);
            if warmup > 2.0 * cadence::DENSE_MIN {
                next = next.min(0.9 * warmup);
            }
            // An instance counts once in service and warmed up (UG): no sooner than a warmup
            // after the work began, or after a read that saw every launch not in service yet.
            let soonest = match fresh {
                Some(f) if f.batch.in_flight > 0 && f.batch.before_service => read_at + warmup,
                _ => began + warmup,
            };
            next = next.max(soonest - now);
            plan.fallback = Some(next);
        }
        if let Some((watch, spacing)) = hint_watch {
            // Never thinner than the end's own window asks, once it is open: the end may come
            // between two looks for the next instance (with a bake after it, the turn to
            // `Baking` may, and is bracketed as below).
            let spacing = match work {
                Some(w) if now >= w.opens && now <= w.closes => spacing.min(if bake > 0.0 {
                    bracket_spacing(w.closes - now, bake)
                } else {
                    cadence::spacing_within(w.width(), WORK_WINDOW_CHECKS)
                }),
                _ => spacing,
            };
            plan.watch = Some(watch);
            plan.inside = Some(spacing);
        } else if let Some(w) = work
            && !final_batch
            && !self.may_be_final(p)
            && w.width() > WIDE
        {
            // More than the final batch is left, certainly, and the evidence is loose: no dense
            // checks, a few across the window, which the progress they see narrows. Each splits
            // what is left of the window.
            plan.watch = Some(w);
            plan.inside = Some(((w.closes - now.max(w.opens)) / COARSE_CHECKS).max(DENSE_MAX));
        }
        if bake > 0.0 {
            // A bake follows. Where the activities can place its start, a check needs only see
            // it baking before it ends: the work's window, a half bake time apart. Otherwise
            // the checks bracket the turn to Baking, and the bake's end is then probed across
            // that bracket (`baking`): checks `s` apart over a window `w` wide cost `w / s`,
            // and the bracket `s / DENSE_MAX`, so they come about `sqrt(DENSE_MAX * w)` apart,
            // and no further than a bake apart (a bake seen is a bake bracketed).
            if self.can_read() && final_batch {
                plan.watch = work;
                plan.inside = Some((bake / 2.0).max(plan.inside.unwrap_or(0.0)));
            } else if hint_watch.is_none() && plan.watch.is_none() {
                plan.watch = work;
                plan.inside = work.map(|w| bracket_spacing(w.closes - now.max(w.opens), bake));
            }
        } else {
            // Nothing but the end is left to learn in the final batch, unless a 100 %
            // checkpoint's pause needs the moment the percentage reaches it, or the warmup
            // hint is watched for.
            plan.probe = final_batch && !self.hundred_may_pause() && hint_watch.is_none();
        }
        // Read the activities: at the first sighting (when the work began, how long launches
        // take, where the batch in flight is); when the final batch runs, or a checkpoint was
        // crossed (to place the pause); and when the window opens with no read since the
        // current percentage.
        let since_level = !self.read_after(level.by);
        let window_open = plan
            .watch
            .or(plan.end)
            .is_some_and(|w| now + DENSE_MAX >= w.opens);
        // And again, in the final batch while the window watched (the end's, or the warmup
        // hint's) is open, every half warmup: a launch not in service yet (a replacement for one
        // that failed its health check, say) puts the end a warmup out at least
        // (`batch_bounds`), for one call where the window would take a check every DENSE_MAX.
        // Not once the window has passed: a stalled refresh, say, whose replacements keep
        // failing their health checks, would have each read place the window again.
        let reread = final_batch
            && p < target
            && window_open
            && plan.watch.or(plan.end).is_some_and(|w| now <= w.closes)
            && warmup > 4.0 * DENSE_MAX
            && now - read_at >= warmup / 2.0;
        plan.wants_activities |= !self.read_after(self.work_seen.unwrap_or(now))
            || (since_level && (final_batch || level.crossed || window_open))
            || reread;
        plan
    }

    /// The end of the final batch from the activities (see [`in_progress`](Self::in_progress)),
    /// and the looks that learn it: reads of the activities alone while its launches come into
    /// service, then a look right after its end. `None` when the activities cannot tell ahead
    /// of the end (launch activities that end with the warmup, and no bake): the warmup hint
    /// and the describes do then.
    #[allow(clippy::too_many_arguments)]
    fn final_by_activities(
        &self,
        fresh: Option<Digest>,
        read_at: f64,
        level_by: f64,
        warmup: f64,
        bake: f64,
        now: f64,
        plan: &mut Plan,
    ) -> Option<Window> {
        let ending = fresh.map_or(Ending::Unknown, |f| f.ending);
        // How long before the end a read learns it: the warmup after the last launch
        // activity ends (if they end in service), and the bake time.
        let ahead = bake
            + if ending == Ending::InService {
                warmup
            } else {
                0.0
            };
        if ahead < READ_AHEAD_MIN {
            return None;
        }
        let gap = 0.9 * ahead;
        let f = match fresh {
            Some(f) if read_at >= level_by || f.batch.in_flight > 0 => f,
            _ => {
                // No read shows the final batch yet.
                plan.wants_activities = true;
                plan.fallback = Some(gap);
                return Some(Window {
                    opens: now,
                    closes: now + gap,
                });
            }
        };
        if f.batch.in_flight == 0 {
            // All in service: the end is placed (two moments when it is not known whether
            // launch activities end in service).
            let e = f.batch.last_end?;
            let (lo, _) = reached(e, warmup, Some(ending));
            // A page that does not reach back to the refresh's start may miss the launch that
            // ended last: it ended by the read, at the latest.
            let e_hi = if f.first_start.is_some() {
                e
            } else {
                read_at.max(e)
            };
            let (_, hi) = reached(e_hi, warmup, Some(ending));
            plan.points = vec![lo + bake, hi + bake];
            plan.probe = !self.hundred_may_pause();
            if self.hundred_may_pause() {
                // A 100 % checkpoint may pause for its delay first (no source says).
                let d = self.prefs.delay;
                plan.points.extend([lo + d + bake, hi + d + bake]);
                if now > hi + bake + cadence::DENSE_MAX {
                    return Window::new(lo + d, hi + d);
                }
            }
            return Window::new(lo, hi);
        }
        // Some not in service yet: read again within `gap`, not before they can be.
        let (lo, hi) = batch_bounds(&f, warmup, read_at);
        let next = (read_at + gap)
            .max(lo - ahead)
            .max(now + cadence::DENSE_MIN);
        plan.next = Some(next - now);
        plan.look = Look::Activities;
        Window::new(lo, hi.unwrap_or(lo + gap).max(lo))
    }

    /// How many instances are left to count, as far as the describes (and the activities)
    /// tell: `InstancesToUpdate` where it may count instances not yet replaced; the batch's
    /// launches not counted where the activities show them; or the share left of the group,
    /// whose size `InstancesToUpdate` tells from how it fell at batch starts.
    fn left(&self, fresh: Option<Digest>, p: u32) -> Option<f64> {
        if !self.not_yet_in_batch {
            return self.instances_to_update.map(f64::from);
        }
        if let Some(f) = fresh {
            return Some(f.batch.uncounted as f64);
        }
        let in_batches = f64::from(self.itu_max? + self.itu_drop?);
        let n = in_batches / (1.0 - f64::from(self.first_percentage?.min(99)) / 100.0);
        // At the target, up to half a percent may be left (rounded to the nearest).
        let share = f64::from(self.prefs.target().saturating_sub(p)).max(0.5);
        Some(n * share / 100.0)
    }

    /// How many instances a batch replaces, from the healthy percentages (UG "How instance
    /// refresh works": Min 90 / Max 100 replaces 10 % of the group at a time, a wider range
    /// more, and at least one instance), the group's size being told by `InstancesToUpdate`
    /// and the percentage as if the former counts instances not yet replaced.
    fn batch_size_hint(&self, p: u32) -> Option<f64> {
        let left = f64::from(self.instances_to_update?);
        let n = left / (1.0 - f64::from(p.min(99)) / 100.0);
        let share = f64::from(100 - self.prefs.min_healthy.min(100))
            + f64::from(self.prefs.max_healthy.saturating_sub(100));
        Some((n * share / 100.0).floor().max(1.0))
    }

    /// Whether what is left to the target may be one batch: no more than the share of the group a
    /// batch replaces (UG "How instance refresh works": 100 − MinHealthyPercentage, more with a
    /// MaxHealthyPercentage above 100) and one step of the percentage (at least an instance, and
    /// the rounding, which no source states).
    fn may_be_final(&self, p: u32) -> bool {
        let share = f64::from(100 - self.prefs.min_healthy.min(100))
            + f64::from(self.prefs.max_healthy.saturating_sub(100));
        let step = f64::from(self.smallest_step().unwrap_or(100).max(1));
        f64::from(self.prefs.target().saturating_sub(p)) <= share + step
    }

    /// Whether the activities count no instance left after the batch that began last.
    fn none_after(&self, fresh: Option<Digest>, instances: Option<(f64, f64)>) -> bool {
        let (Some(f), Some((_, n_hi))) = (fresh, instances) else {
            return false;
        };
        let goal = (n_hi.floor() * f64::from(self.prefs.target()) / 100.0).ceil();
        goal <= (f.counted + f.batch.uncounted) as f64
    }

    /// The checkpoints ahead that pause: at the fewest and at the most. Checkpoints one batch
    /// reaches together pause once, and one the last batch reaches with the target does not
    /// pause (UG "Add checkpoints": the last checkpoint ends the refresh). Two percentages need
    /// different instance counts when the group has enough instances: known from the
    /// activities' count, or from a percentage step seen no larger than the distance between
    /// them (a step is at least one instance).
    fn pauses_ahead(&self, p: u32, instances: Option<(f64, f64)>) -> (usize, usize) {
        let ahead: Vec<u32> = self
            .prefs
            .pausing()
            .iter()
            .copied()
            .filter(|&c| c > p)
            .collect();
        (
            self.fewest_pauses(&ahead, self.prefs.target(), instances),
            ahead.len(),
        )
    }

    /// How many pauses `checkpoints` (ascending) make at the fewest, `next` being the
    /// percentage reached after them (see [`pauses_ahead`](Self::pauses_ahead)).
    fn fewest_pauses(
        &self,
        checkpoints: &[u32],
        next: u32,
        instances: Option<(f64, f64)>,
    ) -> usize {
        let step = self.smallest_step();
        let apart = |a: u32, b: u32| match instances {
            Some((n, _)) => (n * f64::from(a) / 100.0).ceil() < (n * f64::from(b) / 100.0).ceil(),
            None => step.is_some_and(|s| s + 1 < b.saturating_sub(a)),
        };
        work::tick(checkpoints.len());
        checkpoints
            .iter()
            .enumerate()
            .filter(|&(i, &c)| apart(c, checkpoints.get(i + 1).copied().unwrap_or(next)))
            .count()
    }

    /// Whether one instance is left to count: the activities say so (no batch after the one
    /// that began last, one of its launches not counted); or `InstancesToUpdate` is 1 and may
    /// count instances not yet replaced; or it is 0, counts instances not yet in a batch, and
    /// batches have been of one instance.
    fn one_left(&self, fresh: Option<Digest>, instances: Option<(f64, f64)>) -> bool {
        if let (Some(f), Some((_, n_hi))) = (fresh, instances) {
            let goal = (n_hi.floor() * f64::from(self.prefs.target()) / 100.0).ceil();
            let after = (f.counted + f.batch.uncounted) as f64;
            return f.batch.uncounted == 1 && goal <= after;
        }
        match self.instances_to_update {
            Some(1) => !self.not_yet_in_batch,
            Some(0) => self.not_yet_in_batch && self.itu_drop == Some(1),
            _ => false,
        }
    }

    /// The smallest rise of the percentage seen between two checks, or a percentage seen
    /// (above 0, it is at least one instance).
    fn smallest_step(&self) -> Option<u32> {
        let first = self.history.front().or(self.level.as_ref()).map(|l| l.p);
        let mut step: Option<u32> = first.filter(|&p| p > 0);
        let mut previous: Option<u32> = None;
        for l in self.history.iter().chain(self.level.iter()) {
            if let Some(q) = previous
                && l.seen
                && l.p > q
            {
                step = Some(step.map_or(l.p - q, |s| s.min(l.p - q)));
            }
            previous = Some(l.p);
        }
        step
    }

    /// Whether the last checkpoint is 100 (a 100 % checkpoint may pause; no source says).
    fn hundred_may_pause(&self) -> bool {
        self.prefs.checkpoints.last() == Some(&100)
    }

    /// The end while `InProgress` at the target: the last instances finish (the percentage's
    /// rounding is not stated), or a 100 % checkpoint pauses for its delay.
    fn at_target_window(
        &self,
        fresh: Option<Digest>,
        batch: Option<(f64, Option<f64>)>,
        warmup: f64,
        now: f64,
    ) -> Option<Window> {
        let (after, by) = self.at_target.unwrap_or((now, now));
        // Every instance counted: the work ended when the percentage reached the target.
        let p = self.level.map_or(100, |l| l.p);
        let counted = self.left(fresh, p).is_some_and(|u| u < 0.5);
        let finishing = match batch {
            _ if counted => Window {
                opens: after,
                closes: by,
            },
            Some((lo, Some(hi))) => Window {
                opens: lo,
                closes: hi,
            },
            _ => Window {
                opens: after,
                closes: by + warmup,
            },
        };
        if self.hundred_may_pause() && now > finishing.closes {
            let began = match fresh {
                Some(f) if f.batch.in_flight == 0 => f
                    .last_end
                    .map_or((after, by), |e| reached(e, warmup, Some(f.ending))),
                _ => (after, by),
            };
            return Window::new(began.0 + self.prefs.delay, began.1 + self.prefs.delay);
        }
        Some(finishing)
    }

    fn digest_at(&self) -> f64 {
        match self.activities {
            Activities::Read { at, .. } => at,
            _ => f64::NEG_INFINITY,
        }
    }

    /// Seconds per percent, checkpoint pauses taken out: between the two moments seen furthest
    /// apart whose brackets are narrow against the time between them, or, failing that, from
    /// when the work began to the current percentage.
    fn rate(&self, digest: Option<Digest>) -> Option<f64> {
        let level = self.level?;
        let d = self.prefs.delay;
        let origin = match digest.and_then(|f| f.first_start) {
            Some(first) => Level {
                p: 0,
                after: first,
                by: first,
                crossed: false,
                seen: true,
            },
            None => {
                // Seen `Pending`: the work began between that check and the next. Never seen
                // so: at the start (UG: Pending "should then quickly change to InProgress").
                let lo = self.work_lo()?;
                let by = match (self.pending_last, self.work_seen) {
                    (Some(_), Some(seen)) => seen.max(lo).min(level.by),
                    _ => lo,
                };
                Level {
                    p: 0,
                    after: lo,
                    by,
                    crossed: false,
                    seen: true,
                }
            }
        };
        let mut points: Vec<Level> = Vec::with_capacity(HISTORY + 2);
        points.push(origin);
        points.extend(self.history.iter().copied().filter(|l| l.seen && l.p > 0));
        if level.seen || points.len() == 1 {
            points.push(level);
        }
        let mut best: Option<(f64, f64)> = None;
        for (i, a) in points.iter().enumerate() {
            for (j, b) in points.iter().enumerate().skip(i + 1) {
                work::tick(j - i);
                if b.p <= a.p {
                    continue;
                }
                // Pauses served between: each percentage from `a` on (up to `b`) that crossed
                // a checkpoint paused for the delay after it was reached; from the origin, every
                // checkpoint below `b` paused.
                let pauses = if i == 0 {
                    self.prefs.pausing().iter().filter(|&&c| c < b.p).count()
                } else {
                    points[i..j].iter().filter(|l| l.crossed).count()
                } as f64;
                let span = b.mid() - a.mid() - pauses * d;
                let blur = (a.by - a.after) + (b.by - b.after);
                if span <= 0.0 {
                    continue;
                }
                let quality = blur / span;
                let r = span / f64::from(b.p - a.p);
                if best.is_none_or(|(q, _)| quality <= q) {
                    best = Some((quality, r));
                }
            }
        }
        best.map(|(_, r)| r)
    }

    fn baking(&self, now: f64) -> Plan {
        let Some(bake) = self.prefs.bake.filter(|b| *b > 0.0) else {
            // No bake time described: no end to place.
            return Plan {
                fallback: Some(self.short_look(now)),
                ..Plan::default()
            };
        };
        // It began baking after the last check that saw it otherwise, and by the first that saw
        // it baking; when its work's last launch was counted, if the activities tell (and a
        // 100 % checkpoint's delay later, if that paused).
        let (after, by) = self.phase_since;
        let mut plan = Plan {
            earliest: Some(after + bake),
            end: Window::new(after + bake, by + bake),
            probe: true,
            ..Plan::default()
        };
        match self.digest().filter(|(at, _)| *at >= by) {
            Some((_, f)) if f.batch.in_flight == 0 => {
                if let Some(e) = f.last_end {
                    let warmup = self.prefs.warmup.unwrap_or(0.0);
                    let (lo, hi) = reached(e, warmup, Some(f.ending));
                    let pause = if self.hundred_may_pause() {
                        self.prefs.delay
                    } else {
                        f64::NAN
                    };
                    plan.points = [lo, hi, lo + pause, hi + pause]
                        .into_iter()
                        .map(|t| t + bake)
                        .filter(|t| t.is_finite() && *t >= after + bake && *t <= by + bake)
                        .collect();
                    // The plausible end is where they point. A wrong match (a launch of a
                    // scale-out that ended after the bake began) costs at most the bracket,
                    // and a sleep is never longer than max_check_interval.
                    let first = plan.points.iter().copied().fold(f64::INFINITY, f64::min);
                    let last = plan
                        .points
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, f64::max);
                    if let Some(w) = Window::new(first, last) {
                        plan.end = Some(w);
                    }
                }
            }
            _ => plan.wants_activities = by - after > 2.0 * DENSE_MAX,
        }
        plan
    }

    fn cancelling(&self, now: f64) -> Plan {
        // With `WaitForTransitioningInstances` (the default) it ends once the launches in
        // flight are done (UG "Cancel an instance refresh"): within about a batch of when it
        // began. A batch took the time per percent times the largest step seen.
        let (after, by) = self.phase_since;
        let mut step = 0;
        let mut previous: Option<u32> = None;
        for l in self.history.iter().chain(self.level.iter()) {
            if let Some(q) = previous {
                step = step.max(l.p.saturating_sub(q));
            }
            previous = Some(l.p);
        }
        let batch = self
            .rate(self.digest().map(|(_, d)| d))
            .filter(|_| step > 0)
            .map(|r| r * f64::from(step) * (1.0 + SPREAD));
        Plan {
            end: batch.and_then(|t| Window::new(after, by + t)),
            fallback: Some(self.short_look(now)),
            probe: true,
            ..Plan::default()
        }
    }

    fn rolling_back(&self, now: f64) -> Plan {
        // The percentage "gradually goes back down to zero" (API `InstanceRefresh`): at the
        // rate it has fallen since the rollback began, it reaches 0 this much later.
        let (began, from) = self.rollback.unwrap_or((self.phase_since.0, 100));
        let end = self
            .level
            .filter(|l| l.p < from && l.by > began)
            .and_then(|l| {
                // At the slowest, it reached this percentage just now.
                let r = (l.by - began) / f64::from(from - l.p);
                let left = f64::from(l.p) * r;
                Window::new(
                    l.after.max(began) + left * (1.0 - SPREAD),
                    l.by + left * (1.0 + SPREAD),
                )
            });
        Plan {
            end,
            fallback: Some(self.short_look(now)),
            ..Plan::default()
        }
    }
}

/// The spacing of checks that bracket a turn (to `Baking`, say) somewhere in the `left`
/// seconds of a window, when the end follows the turn by a known `delay` and is then probed
/// across the bracket [`DENSE_MAX`] apart: `left / s + s / DENSE_MAX` calls, least at
/// `s = sqrt(DENSE_MAX * left)`; no more than `delay` (so that the turn is seen before the
/// end), but never closer than [`DENSE_MAX`], nor than a window's [`WORK_WINDOW_CHECKS`] would
/// be (a short bake in a long window costs a bounded number of checks, and the turn may then
/// go unseen: the end is probed as any window's).
fn bracket_spacing(left: f64, delay: f64) -> f64 {
    let left = left.max(0.0);
    (DENSE_MAX * left)
        .sqrt()
        .min(delay)
        .max(cadence::spacing_within(left, WORK_WINDOW_CHECKS))
}

/// When an instance whose launch activity ended at `end` was counted: then, if launch
/// activities stay open through the warmup; a warmup later, if they end in service.
fn reached(end: f64, warmup: f64, ending: Option<Ending>) -> (f64, f64) {
    match ending {
        Some(Ending::AfterWarmup) => (end, end),
        Some(Ending::InService) => (end + warmup, end + warmup),
        _ => (end, end + warmup),
    }
}

/// When the batch that began last can end: when its last launch is counted. A launch that
/// ended is counted then (or a warmup later, if activities end in service); one in flight takes
/// between the shortest and the longest time this refresh's launches took, and one not in
/// service yet at the read still has its warmup ahead. The latest bound is unknown while a launch
/// is in flight and none has ended yet.
fn batch_bounds(f: &Digest, warmup: f64, read_at: f64) -> (f64, Option<f64>) {
    let b = f.batch;
    let extra = match f.ending {
        Ending::AfterWarmup => (0.0, 0.0),
        Ending::InService => (warmup, warmup),
        Ending::Unknown => (0.0, warmup),
    };
    let mut lo = b.last_end.map_or(f64::NEG_INFINITY, |e| e + extra.0);
    let mut hi = b.last_end.map(|e| e + extra.1);
    // Every instance of the batch is counted once in service and past its warmup (UG "How
    // instance refresh works"), and comes into service after its launch began: the batch ends
    // no sooner than a warmup after its last launch began (less the second the wire cuts).
    if warmup > 0.0 {
        lo = lo.max(b.last_start + warmup - 1.0);
    }
    if b.in_flight > 0 {
        // Not in service yet (or, where launch activities end in service, any in flight):
        // its warmup is all ahead.
        if b.before_service || f.ending == Ending::InService {
            lo = lo.max(read_at + warmup);
        }
        if b.warming || b.unknown {
            lo = lo.max(read_at);
        }
        match f.took {
            Some((shortest, longest)) => {
                // A launch can be quicker than any seen so far (each instance takes its own
                // time, UG "How instance refresh works").
                lo = lo.max(b.last_start + shortest * (1.0 - SPREAD) + extra.0);
                hi = Some(
                    hi.unwrap_or(f64::NEG_INFINITY)
                        .max(b.last_start + longest + extra.1),
                );
            }
            None => hi = None,
        }
        if b.warming
            && let Some(h) = hi.as_mut()
        {
            *h = h.max(read_at + warmup);
        }
    }
    let lo = if lo.is_finite() { lo } else { read_at };
    (lo, hi.map(|h| h.max(lo)))
}

/// How many instances the group has, from the activities' count of the instances counted and
/// the percentage (whose rounding is not stated: it may be up to one below or a half above the
/// share). While a batch reaches a checkpoint, the percentage does not move until it is warmed
/// (UG "Add checkpoints"), so it may count only the batches before it.
fn instances(f: &Digest, p: u32) -> Option<(f64, f64)> {
    if p == 0 || f.counted == 0 {
        return None;
    }
    let counted = f.counted as f64;
    let before = counted - (f.batch.size - f.batch.uncounted) as f64;
    let fewest = if before > 0.0 { before } else { counted };
    let p = f64::from(p);
    Some((
        fewest * 100.0 / (p + 1.0),
        counted * 100.0 / (p - 0.5).max(0.5),
    ))
}

/// How long a batch of this refresh takes, from its first launch to its last instance counted:
/// the finished batches' times (or, before a batch finished, its launches'), a warmup more if
/// launch activities end in service.
fn batch_took(f: &Digest, warmup: f64) -> Option<(f64, f64)> {
    let (lo, hi) = f.batches_took.or(f.took)?;
    Some(match f.ending {
        Ending::AfterWarmup => (lo, hi),
        Ending::InService => (lo + warmup, hi + warmup),
        Ending::Unknown => (lo, hi + warmup),
    })
}

/// What one phase's estimate says before the cadence turns it into a next check.
#[derive(Debug, Clone, Default)]
struct Plan {
    /// The certain earliest end.
    earliest: Option<f64>,
    /// The plausible end.
    end: Option<Window>,
    /// What the checks watch, when not the end (the work's end, when a bake follows it).
    watch: Option<Window>,
    /// How far apart the checks inside `watch` come, when not the cadence's own spacing.
    inside: Option<f64>,
    /// The furthest apart checks come once the window is overdue (by less than its width, or,
    /// with `overdue_long`, by less than [`STALL_AFTER`]).
    overdue: Option<f64>,
    overdue_long: bool,
    /// What the next look is when not a describe or a probe.
    look: Look,
    /// When the next look is, whatever the windows say.
    next: Option<f64>,
    /// Moments the evidence points at.
    points: Vec<f64>,
    /// The next check when there is no window.
    fallback: Option<f64>,
    probe: bool,
    wants_activities: bool,
    stalled: bool,
}

fn prefs(r: &Refresh) -> Prefs {
    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    Prefs {
        warmup: secs(r.warmup),
        delay: secs(r.checkpoint_delay).unwrap_or(DEFAULT_CHECKPOINT_DELAY),
        bake: secs(r.bake_time),
        checkpoints: r.checkpoints.clone(),
        min_healthy: r.min_healthy.unwrap_or(90),
        max_healthy: r.max_healthy.unwrap_or(100),
    }
}

/// Seconds since the epoch as a time; `None` out of range.
fn time(t: f64) -> Option<SystemTime> {
    let d = Duration::try_from_secs_f64(t.abs()).ok()?;
    if t >= 0.0 {
        std::time::UNIX_EPOCH.checked_add(d)
    } else {
        std::time::UNIX_EPOCH.checked_sub(d)
    }
}

/// Seconds as a duration: 0 for anything not positive, the longest duration for anything too
/// long.
fn duration(s: f64) -> Duration {
    if s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::types::{
        Activity, InstanceRefresh, InstanceRefreshStatus, RefreshPreferences, RollbackDetails,
        ScalingActivityStatusCode,
    };
    use aws_smithy_types::DateTime;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    fn at(s: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_secs_f64(s)
    }

    fn secs(e: SystemTime) -> f64 {
        super::secs(e) - 1_800_000_000.0
    }

    fn refresh(phase: Phase, p: u32) -> Refresh {
        Refresh {
            id: "r-1".into(),
            phase,
            percentage: Some(p),
            start_time: Some(at(0.0)),
            ..Refresh::default()
        }
    }

    /// AWS's own examples: `InstancesToUpdate` 0 while `InProgress`, at 0 % (the CLI's
    /// `describe-instance-refreshes` example) and at 50 % (the user guide's "Check the status
    /// of an instance refresh": Min 90, Max 120, warmup 60). Neither is "done".
    #[test]
    fn instances_to_update_zero_while_in_progress_is_not_done() {
        for (p, min, max) in [(0, None, None), (50, Some(90), Some(120))] {
            let mut r = refresh(Phase::InProgress, p);
            r.instances_to_update = Some(0);
            r.warmup = Some(Duration::from_secs(60));
            r.min_healthy = min;
            r.max_healthy = max;
            let mut m = Memory::default();
            for k in 0..20 {
                let now = at(300.0 + 30.0 * f64::from(k));
                let e = m.observe(&r, now);
                assert!(e.next_check >= Duration::from_secs(2), "{p} %: {e:?}");
                assert!(e.earliest_end.is_none_or(|t| t >= now), "{p} %: {e:?}");
                assert!(!e.stalled);
            }
        }
    }

    /// A checkpoint pause of 49 min with no `StatusReason` (no public source gives one): known
    /// from the preferences, it is no stall, and what is certain to remain (the rest of the
    /// pause) is counted from when the percentage reached the checkpoint, never from a rate.
    #[test]
    fn a_long_checkpoint_pause_without_a_reason_is_no_stall_and_is_known_to_remain() {
        let delay = 49.0 * 60.0;
        let mut r = refresh(Phase::InProgress, 25);
        r.checkpoints = vec![50, 100];
        r.checkpoint_delay = Some(Duration::from_secs_f64(delay));
        r.warmup = Some(Duration::from_secs(60));
        let mut m = Memory::default();
        m.observe(&r, at(600.0));
        r.percentage = Some(50);
        // It reached 50 % between the checks at 600 and 900 s: the pause ends after 600 + 49
        // min, and the work after it takes more.
        let e = m.observe(&r, at(900.0));
        assert_eq!(e.earliest_end.map(secs), Some(600.0 + delay));
        // 45 minutes into the pause, the percentage still 50: no stall, the same bound.
        let mut t = 900.0;
        while t < 900.0 + 45.0 * 60.0 {
            t += 300.0;
            let e = m.observe(&r, at(t));
            assert!(!e.stalled, "{t}");
            assert_eq!(e.earliest_end.map(secs), Some(t.max(600.0 + delay)), "{t}");
        }
        // Two hours on with no progress, it is: a pause does not explain that.
        let e = m.observe(&r, at(900.0 + delay + STALL_AFTER + 1.0));
        assert!(e.stalled);
    }

    #[test]
    fn checkpoints_ahead_and_the_bake_time_are_certain_to_remain() {
        let mut r = refresh(Phase::InProgress, 20);
        r.checkpoints = vec![50, 100];
        r.checkpoint_delay = Some(Duration::from_secs(3600));
        r.bake_time = Some(Duration::from_secs(600));
        let e = Memory::default().observe(&r, at(100.0));
        // One pause ahead (50 % is below the last checkpoint), then the bake time.
        assert_eq!(e.earliest_end.map(secs), Some(100.0 + 3600.0 + 600.0));
        // A last checkpoint below 100 ends the refresh there: no pause at it.
        r.checkpoints = vec![50];
        let e = Memory::default().observe(&r, at(100.0));
        assert_eq!(e.earliest_end.map(secs), Some(100.0 + 600.0));
        // Checkpoints the last batch may reach with the target do not count as certain: with
        // steps of 25 %, 90 % may be reached with 100 %.
        let mut m = Memory::default();
        r.checkpoints = vec![90, 100];
        r.percentage = Some(50);
        m.observe(&r, at(100.0));
        r.percentage = Some(75);
        let e = m.observe(&r, at(400.0));
        assert_eq!(e.earliest_end.map(secs), Some(400.0 + 600.0));
    }

    #[test]
    fn a_bake_ends_a_bake_time_after_the_turn_to_baking() {
        let mut r = refresh(Phase::InProgress, 90);
        r.bake_time = Some(Duration::from_secs(300));
        let mut m = Memory::default();
        m.observe(&r, at(900.0));
        r.phase = Phase::Baking;
        r.percentage = Some(100);
        let e = m.observe(&r, at(910.0));
        // It turned between 900 and 910 s: the end comes between 1200 and 1210 s.
        assert_eq!(e.earliest_end.map(secs), Some(1200.0));
        let (lo, hi) = e.window.unwrap();
        assert_eq!((secs(lo), secs(hi)), (1200.0, 1210.0));
        // The next look, at 1200 s, is the start itself: nothing else is left to learn.
        assert_eq!(e.next_check, Duration::from_secs(290));
        assert_eq!(e.look, Look::Probe);
        let e = m.refused(at(1200.0));
        assert_eq!(e.look, Look::Probe);
        assert_eq!(e.next_check, Duration::from_secs_f64(cadence::DENSE_MAX));
        // Only ever seen baking, over a long bracket: the activities would place it.
        let e = Memory::default().observe(&r, at(5000.0));
        assert!(e.wants_activities);
    }

    #[test]
    fn rollbacks_and_cancelling_are_estimated_from_their_progress() {
        let mut r = refresh(Phase::RollbackInProgress, 40);
        r.rollback_start = Some(at(1000.0));
        r.percentage_on_rollback = Some(80);
        let mut m = Memory::default();
        m.observe(&refresh(Phase::InProgress, 80), at(900.0));
        let e = m.observe(&r, at(1400.0));
        // 40 points in about 400 s: 40 more take about as long, from about now.
        let (lo, hi) = e.window.unwrap();
        assert!(secs(lo) < 1800.0 && secs(hi) > 1800.0, "{e:?}");
        assert!(e.next_check > Duration::from_secs(15));
        // Cancelling: checks spread out as it lasts.
        let mut m = Memory::default();
        let c = refresh(Phase::Cancelling, 30);
        let first = m.observe(&c, at(100.0)).next_check;
        let later = m.observe(&c, at(400.0)).next_check;
        assert!(later > first, "{first:?} {later:?}");
    }

    #[test]
    fn an_overdue_final_instance_is_looked_at_within_a_warmup_however_late() {
        // One instance left (a replacement for one that failed its health check, say), the
        // window long passed (though by less than a stall): the checks spread out, but never
        // past most of a warmup, so that the warmup sentence naming it is seen while it warms
        // up.
        let mut r = refresh(Phase::InProgress, 75);
        r.warmup = Some(Duration::from_secs(160));
        r.instances_to_update = Some(1);
        let mut m = Memory::default();
        m.observe(&refresh(Phase::InProgress, 50), at(0.0));
        m.observe(&r, at(600.0));
        for t in [1_500.0, 2_500.0, 3_500.0] {
            let e = m.observe(&r, at(t));
            let (_, hi) = e.window.unwrap();
            assert!(secs(hi) < t, "overdue at {t}: {e:?}");
            assert!(e.next_check <= Duration::from_secs(144), "at {t}: {e:?}");
        }
    }

    /// The warmup sentence names the last instance: the end comes within a warmup of the first
    /// describe that names it. Not sooner is known: which warming instance the sentence names,
    /// no source says, nor that every describe gives it while one warms, so neither a check
    /// before without the sentence nor one naming another instance places its start.
    #[test]
    fn the_warmup_hint_of_the_last_instance_places_the_end_within_a_warmup() {
        for before in [None, Some(6)] {
            // One instance left (InstancesToUpdate 1, which may count instances not yet
            // replaced).
            let mut r = refresh(Phase::InProgress, 75);
            r.warmup = Some(Duration::from_secs(120));
            r.instances_to_update = Some(1);
            let mut m = Memory::default();
            m.observe(&refresh(Phase::InProgress, 50), at(0.0));
            m.observe(&r, at(600.0));
            r.warming = before;
            m.observe(&r, at(700.0));
            r.warming = Some(7);
            let e = m.observe(&r, at(730.0));
            let (lo, hi) = e.window.unwrap();
            assert_eq!((secs(lo), secs(hi)), (730.0, 850.0), "{before:?}");
            assert!(e.next_check <= Duration::from_secs(8), "{e:?}");
        }
    }

    /// An instance is counted once in service and past its warmup, and comes into service after
    /// its launch began: a batch ends no sooner than a warmup after its last launch began, how
    /// long launches take being unknown (none has ended yet).
    #[test]
    fn a_batch_ends_no_sooner_than_a_warmup_after_its_last_launch_began() {
        let mut r = refresh(Phase::InProgress, 50);
        r.warmup = Some(Duration::from_secs(200));
        r.instances_to_update = Some(0);
        let mut m = Memory::default();
        m.observe(&r, at(500.0));
        let reads = vec![
            activity(
                "Launching a new EC2 instance: i-1",
                380.0,
                None,
                "InProgress",
            ),
            activity(
                "Launching a new EC2 instance: i-2",
                400.0,
                None,
                "InProgress",
            ),
        ];
        let e = m.activities(Some(parse(&reads, 500.0)), true, at(500.0));
        let (lo, _) = e.window.unwrap();
        // 400 + 200, less the second the wire cuts.
        assert_eq!(secs(lo), 599.0);
        assert!(e.next_check <= Duration::from_secs(100), "{e:?}");
    }

    /// First seen at 92 % of 14 instances replaced one at a time (to 95 %), nothing in flight: the
    /// checkpoints at 33 and 66 % are further below than one batch reaches, so it is not in
    /// their pause (its end is the last launch's warmup, not a `CheckpointDelay` on); first
    /// seen at 71 %, it may be in the 66 % pause.
    #[test]
    fn a_pause_first_seen_is_one_the_last_batch_could_have_crossed_into() {
        let launch = |i: u32| {
            let start = 10.0 + 200.0 * f64::from(i);
            activity(
                "Launching a new EC2 instance: i-1",
                start,
                Some(start + 100.0),
                "Successful",
            )
        };
        for (p, done, paused) in [(92, 13, false), (71, 10, true)] {
            let mut r = refresh(Phase::InProgress, p);
            r.checkpoints = vec![33, 66, 95];
            r.checkpoint_delay = Some(Duration::from_secs(900));
            r.warmup = Some(Duration::from_secs(100));
            r.min_healthy = Some(90);
            r.instances_to_update = Some(14 - done);
            let now = 10.0 + 200.0 * f64::from(done) + 50.0;
            let mut m = Memory::default();
            m.observe(&r, at(now));
            let reads: Vec<Activity> = (0..done).map(launch).collect();
            let e = m.activities(Some(parse(&reads, now)), true, at(now));
            // The last launch counted a warmup after it ended in service.
            let counted = 10.0 + 200.0 * f64::from(done - 1) + 200.0;
            let (lo, _) = e.window.unwrap();
            assert_eq!(secs(lo) >= counted + 900.0, paused, "{p} %: {e:?}");
        }
    }

    /// First seen at 66 % of 3, checkpoints 25/50/75/100, nothing in flight: the last launch
    /// ended 155 s before the describe, its 271 s warmup perhaps not over, so it may not be
    /// counted yet (the percentage says it is not): no pause is taken from it, and the window
    /// opens by its warmup's end, not a `CheckpointDelay` later.
    #[test]
    fn a_pause_is_not_taken_from_a_launch_that_may_still_be_warming() {
        let launch = |start: f64, end: f64| {
            activity(
                "Launching a new EC2 instance: i-1",
                start,
                Some(end),
                "Successful",
            )
        };
        let mut r = refresh(Phase::InProgress, 66);
        r.checkpoints = vec![25, 50, 75, 100];
        r.checkpoint_delay = Some(Duration::from_secs(540));
        r.warmup = Some(Duration::from_secs(271));
        r.min_healthy = Some(66);
        r.instances_to_update = Some(0);
        let mut m = Memory::default();
        m.observe(&r, at(2806.0));
        let reads = vec![
            launch(48.0, 357.0),
            launch(1000.0, 1300.0),
            launch(2296.0, 2651.0),
        ];
        let e = m.activities(Some(parse(&reads, 2806.0)), true, at(2806.0));
        let (lo, _) = e.window.unwrap();
        assert!(secs(lo) <= 2651.0 + 271.0, "{e:?}");
        assert!(e.next_check <= Duration::from_secs(120), "{e:?}");
    }

    #[test]
    fn the_activities_place_the_final_batch_end_ahead_of_it() {
        // The last instance: its launch activity ends in service (the gap before the second
        // batch was a warmup), and a warmup later the refresh ends.
        let mut r = refresh(Phase::InProgress, 50);
        r.warmup = Some(Duration::from_secs(100));
        r.instances_to_update = Some(0);
        let launch = |start: f64, end: Option<f64>, code: &str| {
            activity("Launching a new EC2 instance: i-1", start, end, code)
        };
        let mut m = Memory::default();
        m.observe(&r, at(700.0));
        let reads = vec![
            launch(10.0, Some(300.0), "Successful"),
            launch(400.0, None, "PreInService"),
        ];
        let e = m.activities(Some(parse(&reads, 700.0)), true, at(700.0));
        // Not in service yet: the next look reads the activities again within 90 % of the warmup.
        assert_eq!(e.look, Look::Activities);
        assert_eq!(e.next_check, Duration::from_secs(90));
        let reads = vec![
            launch(10.0, Some(300.0), "Successful"),
            launch(400.0, Some(760.0), "Successful"),
        ];
        let e = m.activities(Some(parse(&reads, 790.0)), true, at(790.0));
        // In service at 760 s: the end at 860 s, looked at a second later by a start.
        assert_eq!(e.next_check, Duration::from_secs(71));
        assert_eq!(e.look, Look::Probe);
    }

    fn activity(description: &str, start: f64, end: Option<f64>, code: &str) -> Activity {
        super::super::activity::tests::test_activity(description, at(start), end.map(at), code)
    }

    fn parse(activities: &[Activity], now: f64) -> Vec<Launch> {
        super::super::activity::launches(activities, at(0.0), at(now))
    }

    const STATUSES: [&str; 12] = [
        "Pending",
        "InProgress",
        "Successful",
        "Failed",
        "Cancelling",
        "Cancelled",
        "RollbackInProgress",
        "RollbackFailed",
        "RollbackSuccessful",
        "Baking",
        "Paused",
        "",
    ];

    prop_compose! {
        /// Any describe: any `i32` in every number, fields missing, any status, and a status
        /// reason that is the warmup sentence or anything else.
        fn any_describe()(
            status in 0..STATUSES.len(),
            percentage in proptest::option::of(any::<i32>()),
            to_update in proptest::option::of(any::<i32>()),
            start in proptest::option::of(-1_000_000_000_i64..4_000_000_000),
            warmup in proptest::option::of(any::<i32>()),
            delay in proptest::option::of(any::<i32>()),
            bake in proptest::option::of(any::<i32>()),
            checkpoints in proptest::collection::vec(any::<i32>(), 0..150),
            min in proptest::option::of(any::<i32>()),
            max in proptest::option::of(any::<i32>()),
            reason in proptest::option::of(prop_oneof![
                Just("Waiting for instances to warm up before continuing. For example: i-0123456789abcdef0 is warming up.".to_owned()),
                "Waiting for instances to warm up before continuing\\.[ -~é]{0,80}",
                ".{0,40}",
            ]),
            rollback in proptest::option::of((any::<i32>(), -1_000_000_000_i64..4_000_000_000)),
            id in 0..3_u8,
        ) -> InstanceRefresh {
            let mut prefs = RefreshPreferences::builder()
                .set_instance_warmup(warmup)
                .set_checkpoint_delay(delay)
                .set_bake_time(bake)
                .set_min_healthy_percentage(min)
                .set_max_healthy_percentage(max);
            for c in checkpoints {
                prefs = prefs.checkpoint_percentages(c);
            }
            InstanceRefresh::builder()
                .instance_refresh_id(format!("r-{id}"))
                .status(InstanceRefreshStatus::from(STATUSES[status]))
                .set_percentage_complete(percentage)
                .set_instances_to_update(to_update)
                .set_start_time(start.map(DateTime::from_secs))
                .set_status_reason(reason)
                .preferences(prefs.build())
                .set_rollback_details(rollback.map(|(p, t)| {
                    RollbackDetails::builder()
                        .percentage_complete_on_rollback(p)
                        .rollback_start_time(DateTime::from_secs(t))
                        .build()
                }))
                .build()
        }
    }

    prop_compose! {
        /// Any scaling activity.
        fn any_activity()(
            description in prop_oneof![
                Just("Launching a new EC2 instance: i-0aaa".to_owned()),
                Just("Terminating EC2 instance: i-0aaa".to_owned()),
                ".{0,300}",
            ],
            start in proptest::option::of(-1_000_000_000_i64..4_000_000_000),
            end in proptest::option::of(-1_000_000_000_i64..4_000_000_000),
            code in prop_oneof![
                Just("PreInService"), Just("MidLifecycleAction"), Just("InProgress"),
                Just("WaitingForInstanceWarmup"), Just("Successful"), Just("Failed"),
                Just("Cancelled"), Just("Anything"),
            ],
        ) -> Activity {
            Activity::builder()
                .activity_id("a")
                .auto_scaling_group_name("web")
                .cause("c")
                .description(description)
                .set_start_time(start.map(DateTime::from_secs))
                .set_end_time(end.map(DateTime::from_secs))
                .status_code(ScalingActivityStatusCode::from(code))
                .build()
        }
    }

    /// What one step of a call shows the memory.
    #[derive(Debug, Clone)]
    enum Step {
        Describe(Box<InstanceRefresh>),
        Activities(Option<Vec<Activity>>),
        Refused,
    }

    fn any_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => any_describe().prop_map(|r| Step::Describe(Box::new(r))),
            1 => proptest::option::of(proptest::collection::vec(any_activity(), 0..150))
                .prop_map(Step::Activities),
            1 => Just(Step::Refused),
        ]
    }

    /// The most steps of work one observation may take: its loops run over what the memory
    /// keeps (at most HISTORY percentages, 100 checkpoints, HINTS instances, MAX_LAUNCHES
    /// launches) and one page of activities, never over a value.
    const WORK_BOUND: u64 = 200_000;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any describe values (any `i32`, out of range, missing), any activities, at any
        /// times: every observation returns, with a bounded amount of work, and what the
        /// memory keeps stays bounded.
        #[test]
        fn any_response_costs_little(
            steps in proptest::collection::vec((any_step(), 0.0..100_000.0_f64), 1..40),
        ) {
            let mut m = Memory::default();
            let mut now = 0.0;
            work::take();
            for (step, dt) in steps {
                now += dt;
                let t = at(now);
                let e = match step {
                    Step::Describe(r) => m.observe(&Refresh::of(&r), t),
                    Step::Activities(a) => {
                        let launches = a.map(|a| {
                            super::super::activity::launches(&a, at(0.0), t)
                        });
                        m.activities(launches, true, t)
                    }
                    Step::Refused => m.refused(t),
                };
                let ticks = work::take();
                prop_assert!(ticks <= WORK_BOUND, "{ticks} steps");
                prop_assert!(m.history.len() <= HISTORY);
                prop_assert!(m.hints.len() <= HINTS);
                prop_assert!(m.prefs.checkpoints.len() <= 100);
                if let Activities::Read { launches, .. } = &m.activities {
                    prop_assert!(launches.len() <= MAX_LAUNCHES);
                }
                // A next check is always given (zero only once it ended).
                prop_assert!(e.next_check > Duration::ZERO || m.phase == Some(Phase::Ended));
            }
        }
    }
}
