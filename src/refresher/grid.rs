//! *Where on its batch grid is the blocking refresh?* A pure model of a refresh that replaces
//! instances in batches, fitted to what the checks saw.
//!
//! Auto Scaling replaces at most `(100 − MinHealthyPercentage)` % of the instances at a time
//! (plus what `MaxHealthyPercentage` above 100 allows), a batch at a time; a batch takes a launch
//! (unknown, the same for every batch) plus the `InstanceWarmup`; a batch never runs past the
//! next checkpoint, where the refresh waits out the `CheckpointDelay`. So the end of batch `k` is
//! `a + k·T + D·(pauses before it)`, with two unknowns: `a`, when the work began, and `T`, the
//! time per batch. Every check bounds one such line from one side (batch `k` had ended, batch
//! `k + 1` had not), so what the checks allow is a convex polygon in `(a, T)`, and the end of the
//! refresh (the last batch, plus the bake time) lies between that polygon's extremes.
//!
//! The next check goes where it halves the uncertainty about the next batch boundary whose time
//! is not yet known to within [`FINE_CHECK`] (a binary search over the grid, one check a step),
//! until the end is known to within [`END_KNOWN`]; then the call sleeps until the earliest end
//! and checks every [`FINE_CHECK`]. When the checks contradict the model (a stalled launch, a
//! refresh that is not batched), there is no answer, and the caller falls back.

use std::ops::Sub;
use std::time::{Duration, SystemTime};

use super::observe::{Phase, Refresh};

/// The spacing of checks once the end is near and known: what bounds the start latency.
pub(crate) const FINE_CHECK: Duration = Duration::from_secs(3);
/// How precisely the end must be known before the call sleeps until it.
const END_KNOWN: f64 = 8.0;
/// How precisely a boundary must be known before the next one is looked at.
const EVENT_KNOWN: f64 = 30.0;
/// The longest a refresh is assumed to stay `Pending`.
const MAX_PENDING: f64 = 300.0;
/// The longest launch assumed (from launch to `InService`, before the warmup).
const MAX_LAUNCH: f64 = 900.0;
/// After the earliest end, checks spread out as the end is overdue (a third of the overdue
/// time, up to this): a model that is off costs few checks.
const OVERDUE_CHECK_MAX: f64 = 10.0;

/// What one check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sighting {
    at: SystemTime,
    phase: Phase,
    /// Instances replaced (`InstancesToUpdate` subtracted from the group's).
    done: u32,
    /// Waiting out a checkpoint delay (its status reason says so).
    paused: bool,
}

/// The batches of one refresh: `done[k]` instances replaced after `k` batches, and whether the
/// refresh pauses after batch `k`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    done: Vec<u32>,
    pause_after: Vec<bool>,
}

impl Layout {
    fn new(instances: u32, size: u32, checkpoints: &[u32]) -> Layout {
        let n = u64::from(instances);
        let counts: Vec<u32> = checkpoints
            .iter()
            .map(|&c| u32::try_from((n * u64::from(c)).div_ceil(100).min(n)).unwrap_or(instances))
            .collect();
        let target = counts.last().copied().unwrap_or(instances);
        let mut layout = Layout {
            done: vec![0],
            pause_after: vec![false],
        };
        let (mut done, mut next) = (0_u32, 0_usize);
        while done < target {
            while next < counts.len() && counts[next] <= done {
                next += 1;
            }
            let goal = counts.get(next).map_or(target, |&k| k.min(target));
            done += size.max(1).min(goal - done);
            let mut pause = false;
            while done < target && next < counts.len() && counts[next] <= done {
                pause = true;
                next += 1;
            }
            layout.done.push(done);
            layout.pause_after.push(pause);
        }
        layout
    }

    /// The number of batches.
    fn batches(&self) -> usize {
        self.done.len() - 1
    }

    /// Checkpoint pauses before the end of batch `k`.
    fn pauses_before(&self, k: usize) -> u32 {
        let n = self.pause_after[..k].iter().filter(|&&p| p).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// Instances replaced at a time (`MinHealthyPercentage` 90 and `MaxHealthyPercentage` 100 when
/// not described, Auto Scaling's defaults).
fn batch_size(instances: u32, min: u32, max: u32) -> u32 {
    let n = u64::from(instances);
    let keep = (n * u64::from(min.min(100))).div_ceil(100).min(n);
    let extra = (n * u64::from(max.saturating_sub(100))).div_ceil(100);
    u32::try_from((n - keep + extra).clamp(1, n.max(1))).unwrap_or(instances)
}

/// The group's instance count: the smallest `n` whose `n − to_update` replaced instances make
/// `percentage` (rounded down).
fn instances(percentage: u32, to_update: u32) -> Option<u32> {
    (to_update.max(1)..=to_update.saturating_mul(100).max(100)).find(|&n| {
        let done = u64::from(n - to_update);
        done * 100 / u64::from(n) == u64::from(percentage)
    })
}

/// A line `a + k·T + c` over the polygon.
#[derive(Debug, Clone, Copy)]
struct Line {
    k: f64,
    c: f64,
}

impl Line {
    fn at(self, (a, t): (f64, f64)) -> f64 {
        a + self.k * t + self.c
    }
}

/// Keeps the part of a convex polygon where `sign · (line − bound) ≤ 0`.
fn clip(polygon: &[(f64, f64)], line: Line, bound: f64, sign: f64) -> Vec<(f64, f64)> {
    let f = |p: (f64, f64)| sign * (line.at(p) - bound);
    let mut out = Vec::with_capacity(polygon.len() + 1);
    for (i, &p) in polygon.iter().enumerate() {
        let q = polygon[(i + 1) % polygon.len()];
        let (fp, fq) = (f(p), f(q));
        if fp <= 0.0 {
            out.push(p);
        }
        if (fp < 0.0 && fq > 0.0) || (fp > 0.0 && fq < 0.0) {
            let s = fp / (fp - fq);
            out.push((p.0 + s * (q.0 - p.0), p.1 + s * (q.1 - p.1)));
        }
    }
    out
}

fn range(polygon: &[(f64, f64)], line: Line) -> (f64, f64) {
    polygon
        .iter()
        .map(|&p| line.at(p))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

/// What the grid says: the end's bounds, and when to look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GridEstimate {
    pub(crate) earliest_end: SystemTime,
    pub(crate) latest_end: SystemTime,
    pub(crate) next_check: Duration,
}

/// The checks of one refresh, and the grid they fit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grid {
    sightings: Vec<Sighting>,
    /// The group's instance count, from the first check that told it.
    instances: Option<u32>,
    /// The model no longer fits: no answers for this refresh.
    broken: bool,
    /// The first check inside the end's window, in seconds from the first check.
    overdue_since: Option<f64>,
}

impl Grid {
    /// Records a check and fits the grid to all checks so far.
    pub(crate) fn observe(&mut self, r: &Refresh, now: SystemTime) -> Option<GridEstimate> {
        if self.broken {
            return None;
        }
        let answer = self.fit(r, now);
        // No answer before the instance count is known is no contradiction yet.
        if answer.is_none() && self.instances.is_some() {
            self.broken = true;
        }
        answer
    }

    fn fit(&mut self, r: &Refresh, now: SystemTime) -> Option<GridEstimate> {
        let warmup = r.warmup?.as_secs_f64();
        let to_update = r.instances_to_update?;
        let n = match self.instances {
            Some(n) => n,
            None if r.phase == Phase::InProgress => *self
                .instances
                .insert(instances(r.percentage.min(100), to_update)?),
            None => return None,
        };
        let paused = r
            .status_reason
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("checkpoint delay"));
        self.sightings.push(Sighting {
            at: now,
            phase: r.phase,
            done: n.checked_sub(to_update)?,
            paused,
        });
        let size = batch_size(n, r.min_healthy.unwrap_or(90), r.max_healthy.unwrap_or(100));
        let layout = Layout::new(n, size, &r.checkpoints);
        let last = layout.batches();
        let delay = r.checkpoint_delay.unwrap_or_default().as_secs_f64();
        let bake = r.bake_time.unwrap_or_default().as_secs_f64();
        let origin = self.sightings[0].at;
        let rel = |t: SystemTime| match t.duration_since(origin) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        // The end of batch `k` (0: the work's start).
        let boundary = |k: usize| Line {
            k: k as f64,
            c: delay * f64::from(layout.pauses_before(k)),
        };
        let shifted = |line: Line, by: f64| Line {
            c: line.c + by,
            ..line
        };
        // The work begins after the refresh starts, and within MAX_PENDING of it.
        let earliest_start = r.start_time.map_or(-86_400.0, rel);
        let latest_start = r
            .start_time
            .map_or(rel(now), |t| (rel(t) + MAX_PENDING).min(rel(now)));
        let mut polygon = vec![
            (earliest_start, warmup),
            (latest_start, warmup),
            (latest_start, warmup + MAX_LAUNCH),
            (earliest_start, warmup + MAX_LAUNCH),
        ];
        let (upper, lower) = (1.0, -1.0);
        for s in &self.sightings {
            let t = rel(s.at);
            match s.phase {
                Phase::Pending => polygon = clip(&polygon, boundary(0), t, lower),
                Phase::InProgress => {
                    let j = layout.done.iter().position(|&d| d == s.done)?;
                    if j >= last {
                        return None;
                    }
                    polygon = clip(&polygon, boundary(j), t, upper);
                    if s.paused {
                        if !layout.pause_after[j] {
                            return None;
                        }
                        polygon = clip(&polygon, shifted(boundary(j), delay), t, lower);
                    } else {
                        if layout.pause_after[j] {
                            polygon = clip(&polygon, shifted(boundary(j), delay), t, upper);
                        }
                        polygon = clip(&polygon, boundary(j + 1), t, lower);
                    }
                }
                Phase::Baking => {
                    polygon = clip(&polygon, boundary(last), t, upper);
                    polygon = clip(&polygon, shifted(boundary(last), bake), t, lower);
                }
                _ => return None,
            }
            if polygon.len() < 3 {
                return None;
            }
        }
        // Seconds after `origin` as a time; nothing the checks allow is out of range, but a model
        // that is not is no answer (the caller falls back) rather than a panic.
        let at = |x: f64| origin.checked_add(Duration::try_from_secs_f64(x.max(0.0)).ok()?);
        let here = rel(now);
        let end = shifted(boundary(last), bake);
        let (end_lo, end_hi) = range(&polygon, end);
        let fine = FINE_CHECK.as_secs_f64();
        if end_lo > here + fine {
            self.overdue_since = None;
        }
        let next = if end_hi - end_lo <= END_KNOWN {
            (end_lo - here).max(fine)
        } else if end_lo <= here {
            // In the end's window, and it is wider than a few checks: spread the checks as the
            // window is used up.
            let since = *self.overdue_since.get_or_insert(here);
            ((here - since) / 2.0).clamp(fine, OVERDUE_CHECK_MAX)
        } else {
            // The next boundary (or pause end) not known to within EVENT_KNOWN, looked at where
            // its window is halved (never after the earliest end). Batches repeat, so whichever
            // way the answer goes, the boundaries after it are known better. None left: the end
            // itself, from its earliest.
            // A check after the work can have ended brackets no boundary: before it, except for
            // the last boundary, whose check may see the refresh baking.
            let (work_lo, _) = range(&polygon, boundary(last));
            let events = (1..=last).flat_map(|k| {
                let b = boundary(k);
                let cap = if k == last { end_lo } else { work_lo };
                let pause = (layout.pause_after[k] && k < last).then(|| (shifted(b, delay), cap));
                std::iter::once((b, cap)).chain(pause)
            });
            events
                .map(|(line, cap)| (range(&polygon, line), cap))
                .find(|&((lo, hi), cap)| hi > here && hi - lo > EVENT_KNOWN && lo < cap)
                .map_or(end_lo, |((lo, hi), cap)| {
                    ((lo.max(here) + hi) / 2.0).min(cap)
                })
                .sub(here)
                .max(fine)
        };
        Some(GridEstimate {
            earliest_end: at(end_lo)?,
            latest_end: at(end_hi)?,
            next_check: Duration::try_from_secs_f64(next).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(s: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000) + Duration::from_secs_f64(s)
    }

    #[test]
    fn batches_stop_at_checkpoints_and_the_group_size_is_recovered() {
        // Three instances one at a time, a checkpoint at 50 % (the second instance): a pause
        // after batch 2, none after the last.
        let l = Layout::new(3, 1, &[50, 100]);
        assert_eq!(l.done, vec![0, 1, 2, 3]);
        assert_eq!(l.pause_after, vec![false, false, true, false]);
        assert_eq!(l.pauses_before(3), 1);
        // Ten instances, five at a time, a checkpoint at 30 %: the first batch stops at 3.
        assert_eq!(Layout::new(10, 5, &[30, 100]).done, vec![0, 3, 8, 10]);
        assert_eq!(batch_size(10, 90, 100), 1);
        assert_eq!(batch_size(10, 50, 100), 5);
        assert_eq!(batch_size(10, 90, 110), 2);
        assert_eq!(instances(0, 10), Some(10));
        assert_eq!(instances(50, 2), Some(4));
        assert_eq!(instances(66, 1), Some(3));
    }

    /// A refresh of 8 instances, 2 at a time, that started at 0, began work at 30 and takes
    /// 120 s a batch (a 60 s launch the Refresher does not know, and a 60 s warmup), followed
    /// by its next checks from `first` on: (checks, the time of the first check that saw it
    /// ended, the bounds of the last estimate).
    fn follow(first: f64, bake: u64) -> (u32, f64, (SystemTime, SystemTime)) {
        let mut grid = Grid::default();
        let (mut t, mut checks, mut bounds) = (first, 0, (at(0.0), at(0.0)));
        loop {
            checks += 1;
            let work = t - 30.0;
            let batches = if work < 0.0 { 0 } else { (work / 120.0) as u32 };
            let phase = match (work < 0.0, batches) {
                (true, _) => Phase::Pending,
                (false, 0..=3) => Phase::InProgress,
                (false, _) if t < 510.0 + bake as f64 => Phase::Baking,
                _ => return (checks, t, bounds),
            };
            let r = Refresh {
                id: "r-1".into(),
                phase,
                percentage: 25 * batches.min(4),
                start_time: Some(at(0.0)),
                warmup: Some(Duration::from_secs(60)),
                bake_time: Some(Duration::from_secs(bake)),
                instances_to_update: Some(8 - 2 * batches.min(4)),
                min_healthy: Some(75),
                max_healthy: Some(100),
                ..Refresh::default()
            };
            let e = grid.observe(&r, at(t)).expect("the model fits");
            bounds = (e.earliest_end, e.latest_end);
            t += e.next_check.as_secs_f64();
        }
    }

    #[test]
    fn the_grid_learns_the_batch_time_and_checks_tightly_at_the_end() {
        // First seen 10 s into the first batch: the checks bracket three boundaries, which pins
        // the batch time well enough to wait for the end (510) at 3 s and then spreading checks.
        let (checks, seen, (earliest, latest)) = follow(40.0, 0);
        assert_eq!(checks, 13);
        assert!((seen - 516.917).abs() < 1e-3, "{seen}");
        assert!(earliest <= at(510.0) && at(510.0) <= latest);
        // With a 10 min bake time the boundaries are looked at the same way, and the end (1110)
        // is waited for from its earliest: one check more, for the look at the bake.
        let (checks, seen, (earliest, latest)) = follow(40.0, 600);
        assert_eq!(checks, 14);
        assert!((seen - 1116.917).abs() < 1e-3, "{seen}");
        assert!(earliest <= at(1110.0) && at(1110.0) <= latest);
        assert!(latest.duration_since(earliest).unwrap() < Duration::from_secs(27));
    }

    #[test]
    fn a_refresh_that_does_not_fit_the_grid_gets_no_answer_from_then_on() {
        let mut r = Refresh {
            id: "r-1".into(),
            phase: Phase::InProgress,
            percentage: 25,
            start_time: Some(at(0.0)),
            warmup: Some(Duration::from_secs(60)),
            instances_to_update: Some(6),
            min_healthy: Some(75),
            ..Refresh::default()
        };
        let mut grid = Grid::default();
        assert!(grid.observe(&r, at(200.0)).is_some());
        // One instance replaced: batches of 2 never leave 7 of 8 to update.
        r.percentage = 12;
        r.instances_to_update = Some(7);
        assert_eq!(grid.observe(&r, at(300.0)), None);
        r.percentage = 50;
        r.instances_to_update = Some(4);
        assert_eq!(grid.observe(&r, at(400.0)), None);
    }
}
