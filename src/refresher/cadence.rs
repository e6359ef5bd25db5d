//! *When to look again, given where the end may be?* A pure function of a window of plausible
//! ends, the moments evidence points at, and the time now.
//!
//! - Before the window opens: sleep until it opens (the caller caps every sleep at
//!   `max_check_interval`, so a far window is looked at again on the way).
//! - At a moment evidence points at (a bake that began when the last launch ended, say): look
//!   right after it, [`AFTER_POINT`] late. If the refresh is still there, [`DENSE_MAX`] apart
//!   for [`POINT_LAG`] (an end may lag its evidence a little: the status turns when Auto
//!   Scaling next looks), then the next moment, and then the window as usual: a wrong point
//!   costs a few checks.
//! - Inside the window: checks [`DENSE_MAX`] apart, unless the window is so wide that this
//!   would take more than [`MAX_WINDOW_CHECKS`]: a window the evidence could not narrow costs a
//!   bounded number of calls, and its lateness grows instead.
//! - After the window, with the refresh still there: the estimate was wrong, so checks spread
//!   out, a quarter of the time the window has been overdue ([`OVERDUE_SHARE`]), from
//!   [`DENSE_MAX`] (or the spacing inside the window, if wider) up to the caller's cap, so that
//!   a refresh that runs late costs few checks.

/// The closest two checks come. `StartTime`, `EndTime` and the activities' times are whole
/// seconds on the wire (API reference, `DateTime`), so a window is never known to better than
/// about a second; checking closer than this buys nothing. Shown robust by the per-slice table
/// of the wait bench (docs/wait.md).
pub(crate) const DENSE_MIN: f64 = 2.0;
/// The furthest apart two checks come inside a window: what bounds the latency when the end
/// falls inside the window the evidence gave. Shown robust by the per-slice table.
pub(crate) const DENSE_MAX: f64 = 8.0;
/// The most checks a window gets, however wide. Shown robust by the per-slice table.
pub(crate) const MAX_WINDOW_CHECKS: f64 = 30.0;
/// Overdue, the next check comes after this share of the time the window has been overdue: the
/// lateness of a refresh whose evidence was wrong grows by that share, and its calls by the
/// logarithm of its overdue time (where the estimate watches for a warming instance, it caps the
/// checks at most of a warmup apart for a while: see `estimate`). A trade shown on the wait
/// bench (docs/performance.md): a half measured natural p99 43.8 / 73.8 / 113.6 s on seeds
/// 2026 / 7 / 99, a quarter 18.8 / 62.5 / 78.1 s, for about one call an hour more and early
/// ends p95 a few seconds later.
pub(crate) const OVERDUE_SHARE: f64 = 0.25;
/// How late after a moment the evidence points at the check comes: the whole second the wire
/// rounds times to.
pub(crate) const AFTER_POINT: f64 = 1.0;
/// How long after a moment the evidence pointed at the checks stay [`DENSE_MAX`] apart while the
/// refresh is still there, before the next point or the window: what an end that lags its
/// evidence by a few seconds costs.
pub(crate) const POINT_LAG: f64 = 4.0 * DENSE_MAX;

/// A span of time, in seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    pub(crate) opens: f64,
    pub(crate) closes: f64,
}

impl Window {
    /// A window from `opens` to `closes` (swapped if need be); `None` unless both are finite.
    pub(crate) fn new(opens: f64, closes: f64) -> Option<Window> {
        (opens.is_finite() && closes.is_finite()).then(|| Window {
            opens: opens.min(closes),
            closes: opens.max(closes),
        })
    }

    pub(crate) fn width(self) -> f64 {
        self.closes - self.opens
    }

    /// Shifted by `by` (both ends).
    pub(crate) fn shift(self, by: f64) -> Window {
        Window {
            opens: self.opens + by,
            closes: self.closes + by,
        }
    }
}

/// The spacing of checks inside a window `width` seconds wide.
pub(crate) fn spacing(width: f64) -> f64 {
    spacing_within(width, MAX_WINDOW_CHECKS)
}

/// The spacing of checks inside a window `width` seconds wide that gets at most `checks`.
pub(crate) fn spacing_within(width: f64, checks: f64) -> f64 {
    DENSE_MAX.max(width / checks.max(1.0))
}

/// Seconds until the next check: the first moment in `points` still ahead (plus
/// [`AFTER_POINT`]); else by `window`, as the module docs say, checks inside it `inside` apart
/// if given. `None` when there is neither: the caller decides.
pub(crate) fn next_check(
    now: f64,
    window: Option<Window>,
    points: &[f64],
    inside: Option<f64>,
) -> Option<f64> {
    let point = points
        .iter()
        .copied()
        .filter(|p| p.is_finite() && p + AFTER_POINT > now)
        .fold(f64::INFINITY, f64::min);
    // A point just passed with the refresh still there: the end may lag it a little (its
    // status turns when Auto Scaling next looks, how soon after no source says), so the checks
    // stay close for a while before the next point.
    let lagging = points
        .iter()
        .any(|p| p.is_finite() && p + AFTER_POINT <= now && now < p + AFTER_POINT + POINT_LAG);
    if point.is_finite() {
        let next = (point + AFTER_POINT - now).max(DENSE_MIN);
        return Some(if lagging { next.min(DENSE_MAX) } else { next });
    }
    if lagging {
        return Some(DENSE_MAX);
    }
    let w = window?;
    Some(if now < w.opens {
        (w.opens - now).max(DENSE_MIN)
    } else if now <= w.closes {
        inside.unwrap_or_else(|| spacing(w.width())).max(DENSE_MIN)
    } else {
        // Never closer than inside it (a watch spaced by its own evidence stays so).
        ((now - w.closes) * OVERDUE_SHARE).max(inside.map_or(DENSE_MAX, |i| i.max(DENSE_MAX)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_to_the_window_checks_inside_it_and_spreads_after_it() {
        let w = Window::new(100.0, 160.0);
        // Before: to the window's opening.
        assert_eq!(next_check(40.0, w, &[], None), Some(60.0));
        assert_eq!(next_check(99.5, w, &[], None), Some(DENSE_MIN));
        // Inside: DENSE_MAX apart, or the caller's spacing.
        assert_eq!(next_check(100.0, w, &[], None), Some(DENSE_MAX));
        assert_eq!(next_check(120.0, w, &[], Some(30.0)), Some(30.0));
        assert_eq!(next_check(120.0, w, &[], Some(0.1)), Some(DENSE_MIN));
        // Too wide for that: at most MAX_WINDOW_CHECKS across it.
        assert_eq!(
            next_check(100.0, Window::new(100.0, 3100.0), &[], None),
            Some(100.0)
        );
        // Overdue: a quarter of the overdue time, at least DENSE_MAX.
        assert_eq!(next_check(170.0, w, &[], None), Some(DENSE_MAX));
        assert_eq!(next_check(260.0, w, &[], None), Some(25.0));
        // Never closer than the caller's spacing inside it.
        assert_eq!(next_check(170.0, w, &[], Some(16.0)), Some(16.0));
        assert_eq!(next_check(170.0, w, &[], Some(2.0)), Some(DENSE_MAX));
        assert_eq!(next_check(5.0, None, &[], None), None);
        assert_eq!(Window::new(f64::NAN, 1.0), None);
        assert_eq!(Window::new(3.0, 1.0), Window::new(1.0, 3.0));
    }

    #[test]
    fn a_point_comes_first_then_the_window() {
        let w = Window::new(100.0, 400.0);
        assert_eq!(next_check(40.0, w, &[300.0, 200.0], None), Some(161.0));
        // Just passed, the refresh still there: close checks for a while (it may lag), then
        // the next point.
        assert_eq!(next_check(201.0, w, &[300.0, 200.0], None), Some(DENSE_MAX));
        assert_eq!(next_check(225.0, w, &[300.0, 200.0], None), Some(DENSE_MAX));
        assert_eq!(
            next_check(201.0 + POINT_LAG, w, &[300.0, 200.0], None),
            Some(100.0 - POINT_LAG)
        );
        // Both passed: close for a while, then back to the window (300 s wide: 10 s apart).
        assert_eq!(next_check(302.0, w, &[300.0, 200.0], None), Some(DENSE_MAX));
        assert_eq!(
            next_check(301.0 + POINT_LAG, w, &[300.0, 200.0], None),
            Some(10.0)
        );
        assert_eq!(next_check(0.0, None, &[f64::NAN], None), None);
    }
}
