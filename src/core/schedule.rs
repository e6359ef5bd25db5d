//! The per-call schedule: the pure function at the heart of the crate.
//!
//! [`Schedule::on_failure`] takes the elapsed time the caller measured and returns a
//! [`Decision`]. Nothing here sleeps or reads a clock, and the jitter comes from a seedable RNG:
//! that is what lets the tower path, the SDK path and the tests share one schedule and assert
//! exact sequences.

use std::fmt;
use std::time::Duration;

use super::outcome::StopReason;
#[cfg(feature = "backoff")]
use super::policy::DelaySource;
use super::policy::{Jitter, RetryPolicy};

/// What the policy says after a failed attempt.
///
/// ```
/// use instance_refresh_retry::{Decision, Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
/// match policy.schedule().on_failure(Duration::ZERO) {
///     Decision::RetryAfter(delay) => assert_eq!(delay, Duration::from_secs(5)),
///     Decision::Stop(reason) => panic!("stopped: {reason}"),
///     _ => unreachable!(),
/// }
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Wait this long, then make the next attempt.
    RetryAfter(Duration),
    /// Give up; the caller gets the last error.
    Stop(StopReason),
}

impl RetryPolicy {
    /// Starts the per-call state for one wrapped call.
    ///
    /// With a [seed](crate::RetryPolicyBuilder::seed) every schedule from this policy produces the same
    /// sequence; without one each schedule draws a fresh random seed.
    ///
    /// ```
    /// use instance_refresh_retry::{Decision, Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
    /// let mut first = policy.schedule();
    /// first.on_failure(Duration::ZERO);
    /// first.on_failure(Duration::from_secs(5));
    /// // The next call starts from the beginning: schedules share no state.
    /// let mut second = policy.schedule();
    /// assert_eq!(second.on_failure(Duration::ZERO), Decision::RetryAfter(Duration::from_secs(5)));
    /// assert_eq!((first.attempts(), second.attempts()), (2, 1));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn schedule(&self) -> Schedule {
        let rng = match self.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Schedule {
            policy: self.clone(),
            attempts: 0,
            previous: self.initial_delay,
            rng,
            #[cfg(feature = "backoff")]
            backoff: match &self.source {
                DelaySource::Backoff(make) => Some(make.make()),
                DelaySource::Exponential => None,
            },
        }
    }

    /// The delays this policy would wait if every call failed instantly.
    ///
    /// Elapsed time is taken to be the sum of the delays so far, so the sequence ends at
    /// `max_attempts` or `max_elapsed` (its last delay cut to fit), whichever comes first. With
    /// neither limit it is infinite. Useful for documentation, tests and comparing configurations.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .jitter(Jitter::None)
    ///     .max_elapsed(Duration::from_secs(100))
    ///     .build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [5, 10, 20, 40, 25]); // the last wait is cut to the budget
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn delays(&self) -> Delays {
        Delays {
            schedule: self.schedule(),
            elapsed: Duration::ZERO,
            done: false,
        }
    }

    /// The un-jittered, capped exponential delay before retry number `retry` (0-based).
    ///
    /// Never panics: `b·mⁿ` is computed in `f64` seconds, which may overflow to infinity (a
    /// multiplier of `f64::MAX`, or `u32::MAX` retries); anything at or past the cap is the cap,
    /// and the result is kept within `[initial_delay, max_delay]` before truncation.
    pub(crate) fn exponential(&self, retry: u32) -> Duration {
        let cap = self.max_delay.as_secs_f64();
        let exp = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = self.initial_delay.as_secs_f64() * self.multiplier.powi(exp);
        let delay = if secs >= cap {
            // Also covers an infinite product, and a cap that `f64` rounds down.
            self.max_delay
        } else {
            secs_to_duration(secs, self.initial_delay, self.max_delay)
        };
        truncate_to_millis(delay)
    }
}

/// The per-call state of a [`RetryPolicy`]: the attempt count, the previous delay and the RNG.
///
/// [`on_failure`](Schedule::on_failure) is the policy core used by both integration paths. It is a
/// pure function of the attempt count, the elapsed time the caller measured, and the seeded RNG.
///
/// ```
/// use instance_refresh_retry::{Decision, Jitter, RetryPolicy, StopReason};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().jitter(Jitter::None).max_attempts(3).build()?;
/// let mut schedule = policy.schedule();
/// let secs = Duration::from_secs;
/// assert_eq!(schedule.on_failure(secs(1)), Decision::RetryAfter(secs(5)));
/// assert_eq!(schedule.on_failure(secs(7)), Decision::RetryAfter(secs(10)));
/// assert_eq!(schedule.on_failure(secs(18)), Decision::Stop(StopReason::MaxAttempts));
/// assert_eq!(schedule.attempts(), 3);
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
pub struct Schedule {
    policy: RetryPolicy,
    attempts: u32,
    previous: Duration,
    rng: fastrand::Rng,
    #[cfg(feature = "backoff")]
    backoff: Option<Box<dyn backoff::backoff::Backoff + Send + Sync>>,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("attempts", &self.attempts)
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}

impl Schedule {
    /// The number of failed attempts recorded so far.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let mut schedule = RetryPolicy::default().schedule();
    /// assert_eq!(schedule.attempts(), 0);
    /// schedule.on_failure(Duration::ZERO);
    /// assert_eq!(schedule.attempts(), 1);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The policy this schedule follows.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// let schedule = RetryPolicy::builder().max_attempts(5).build()?.schedule();
    /// assert_eq!(schedule.policy().max_attempts(), Some(5));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Records one failed attempt and decides what happens next.
    ///
    /// `elapsed` is the time since the first blocked answer, as measured by the caller's clock
    /// (the layer's time source in the tower path, tokio's clock by default; the client's time
    /// source in the SDK path). A returned delay
    /// never takes the total past `max_elapsed`.
    ///
    /// ```
    /// use instance_refresh_retry::{Decision, Jitter, RetryPolicy, StopReason};
    /// use std::time::Duration;
    ///
    /// let secs = Duration::from_secs;
    /// let policy = RetryPolicy::builder().jitter(Jitter::None).max_elapsed(secs(60)).build()?;
    /// let mut schedule = policy.schedule();
    /// assert_eq!(schedule.on_failure(secs(50)), Decision::RetryAfter(secs(5)));
    /// // The next delay (10 s) is cut to the 2 s left of the budget.
    /// assert_eq!(schedule.on_failure(secs(58)), Decision::RetryAfter(secs(2)));
    /// assert_eq!(schedule.on_failure(secs(60)), Decision::Stop(StopReason::MaxElapsed));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn on_failure(&mut self, elapsed: Duration) -> Decision {
        self.decide(elapsed, None)
    }

    /// Like [`on_failure`](Self::on_failure), with a delay the caller proposes from what it knows
    /// (the Refresher's estimate of when a blocking refresh ends) in place of the policy's
    /// exponential one. The policy still bounds it: `max_attempts` counts this failure, the
    /// delay is capped at `max_delay` (and kept whole milliseconds), and cut to what is left of
    /// `max_elapsed`. `None` is exactly `on_failure`.
    pub(crate) fn on_failure_proposing(
        &mut self,
        elapsed: Duration,
        proposed: Option<Duration>,
    ) -> Decision {
        self.decide(elapsed, proposed)
    }

    fn decide(&mut self, elapsed: Duration, proposed: Option<Duration>) -> Decision {
        self.attempts = self.attempts.saturating_add(1);
        let p = &self.policy;
        if p.max_attempts.is_some_and(|max| self.attempts >= max) {
            return Decision::Stop(StopReason::MaxAttempts);
        }
        let remaining = match p.max_elapsed {
            Some(max) if elapsed >= max => return Decision::Stop(StopReason::MaxElapsed),
            Some(max) => max - elapsed,
            None => Duration::MAX,
        };
        let delay = match proposed {
            Some(d) => truncate_to_millis(d.min(p.max_delay)),
            None => match self.next_raw_delay() {
                Some(d) => d,
                None => return Decision::Stop(StopReason::BackoffExhausted),
            },
        };
        Decision::RetryAfter(delay.min(remaining))
    }

    /// The next delay before the elapsed-time cut.
    fn next_raw_delay(&mut self) -> Option<Duration> {
        #[cfg(feature = "backoff")]
        if let Some(b) = self.backoff.as_mut() {
            return b
                .next_backoff()
                .map(|d| truncate_to_millis(d.min(self.policy.max_delay)));
        }
        let p = &self.policy;
        // `on_failure` has counted this attempt, so `attempts >= 1`.
        let retry = self.attempts.saturating_sub(1);
        // No arithmetic below can panic, for any policy `build()` accepts (up to `Duration::MAX`
        // and `f64::MAX`): sums and differences saturate, and `f64` results that a `Duration`
        // cannot hold fall back to the cap of the term they compute.
        let delay = match p.jitter {
            Jitter::None => p.exponential(retry),
            Jitter::Full => scale(p.exponential(retry), self.rng.f64()),
            Jitter::Equal => {
                // The fixed half rounded up to whole milliseconds, so that the truncation below
                // never takes the delay under half of the exponential delay. `exp` is whole
                // milliseconds, so `half <= exp` and the sum stays within `exp`.
                let exp = p.exponential(retry);
                let half = ceil_to_millis(exp / 2);
                half.saturating_add(scale(exp.saturating_sub(half), self.rng.f64()))
            }
            Jitter::Decorrelated => {
                // Rounded up like the equal half: truncation must not go under `initial_delay`.
                let low = ceil_to_millis(p.initial_delay);
                let low_secs = low.as_secs_f64();
                let high = self.previous.as_secs_f64() * 3.0;
                let secs = low_secs + (high - low_secs) * self.rng.f64();
                secs_to_duration(secs, low, p.max_delay)
            }
        };
        // Timers (tokio's and the SDK's) have millisecond resolution; so does the schedule, which
        // keeps the delays that are slept exactly equal to the delays that are computed.
        let delay = truncate_to_millis(delay.min(p.max_delay));
        self.previous = delay;
        Some(delay)
    }
}

/// The delay sequence of a policy whose calls all fail instantly. See [`RetryPolicy::delays`].
///
/// ```
/// use instance_refresh_retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().jitter(Jitter::Equal).seed(1).max_attempts(5).build()?;
/// let total: Duration = policy.delays().sum();
/// assert!(total <= Duration::from_secs(5 + 10 + 20 + 40));
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Debug)]
pub struct Delays {
    schedule: Schedule,
    elapsed: Duration,
    done: bool,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.done {
            return None;
        }
        match self.schedule.on_failure(self.elapsed) {
            Decision::RetryAfter(d) => {
                self.elapsed = self.elapsed.saturating_add(d);
                Some(d)
            }
            Decision::Stop(_) => {
                self.done = true;
                None
            }
        }
    }
}

/// Converts seconds to a `Duration` clamped to `[floor, cap]` (`cap` wins if `floor > cap`),
/// falling back to `cap` for values a `Duration` cannot hold.
///
/// Callers pass a `secs` computed from at least `floor`. For realistic delays the `f64` round trip
/// is exact and the floor changes nothing; for astronomically long ones it keeps `f64` rounding
/// from taking the delay below `floor`.
fn secs_to_duration(secs: f64, floor: Duration, cap: Duration) -> Duration {
    Duration::try_from_secs_f64(secs).map_or(cap, |d| d.max(floor).min(cap))
}

/// `d · factor` for a `factor` in `[0, 1)`, without panicking.
///
/// Exactly [`Duration::mul_f64`] (which is `Duration::from_secs_f64(factor * d.as_secs_f64())`)
/// whenever that does not panic, but capped at `d`, and `d` where the `f64` product rounds past
/// what a `Duration` holds.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(factor * d.as_secs_f64()).map_or(d, |s| s.min(d))
}

/// Rounds up to whole milliseconds, saturating at `Duration::MAX` (which is not whole
/// milliseconds).
fn ceil_to_millis(d: Duration) -> Duration {
    let down = truncate_to_millis(d);
    if down == d {
        d
    } else {
        down.saturating_add(Duration::from_millis(1))
    }
}

fn truncate_to_millis(d: Duration) -> Duration {
    Duration::new(d.as_secs(), d.subsec_millis() * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::{PolicyError, RetryPolicyBuilder};
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn no_jitter() -> RetryPolicyBuilder {
        RetryPolicy::builder().jitter(Jitter::None)
    }

    #[test]
    fn unjittered_sequence_is_exact_and_fills_the_budget() {
        let p = no_jitter().build().unwrap();
        let delays: Vec<u64> = p.delays().map(|d| d.as_secs()).collect();
        let mut expected = vec![5, 10, 20, 40, 80];
        // 155 s so far, then 120 s waits until 3600 s; the last one is cut.
        let mut total = 155;
        while total + 120 <= 3600 {
            expected.push(120);
            total += 120;
        }
        expected.push(3600 - total);
        assert_eq!(delays, expected);
        assert_eq!(p.delays().sum::<Duration>(), secs(3600));
    }

    #[test]
    fn fractional_multiplier() {
        let p = no_jitter()
            .initial_delay(Duration::from_millis(1000))
            .multiplier(1.5)
            .max_attempts(5)
            .build()
            .unwrap();
        let ms: Vec<u128> = p.delays().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [1000, 1500, 2250, 3375]);
    }

    #[test]
    fn multiplier_one_is_constant() {
        let p = no_jitter().multiplier(1.0).max_attempts(4).build().unwrap();
        assert_eq!(p.delays().collect::<Vec<_>>(), [secs(5); 3]);
    }

    #[test]
    fn seeded_sequences_are_exact_and_repeatable() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let p = RetryPolicy::builder()
                .jitter(jitter)
                .seed(42)
                .max_attempts(20)
                .build()
                .unwrap();
            let a: Vec<_> = p.delays().collect();
            let b: Vec<_> = p.delays().collect();
            assert_eq!(a, b, "{jitter:?}");
            assert_eq!(a.len(), 19);
            let other: Vec<_> = RetryPolicy::builder()
                .jitter(jitter)
                .seed(43)
                .max_attempts(20)
                .build()
                .unwrap()
                .delays()
                .collect();
            assert_ne!(
                a, other,
                "{jitter:?}: a different seed gives a different sequence"
            );
        }
    }

    #[test]
    fn seeded_full_jitter_matches_the_formula() {
        let p = RetryPolicy::builder()
            .seed(9)
            .max_attempts(8)
            .build()
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(9);
        let expected: Vec<Duration> = (0..7)
            .map(|n| {
                let exp = secs(5 * 2u64.pow(n)).min(secs(120));
                let d = exp.mul_f64(rng.f64());
                Duration::from_millis(d.as_millis() as u64)
            })
            .collect();
        assert_eq!(p.delays().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn seeded_decorrelated_matches_the_formula() {
        let p = RetryPolicy::builder()
            .jitter(Jitter::Decorrelated)
            .seed(3)
            .max_attempts(10)
            .build()
            .unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut prev = 5.0f64;
        let expected: Vec<Duration> = (0..9)
            .map(|_| {
                let s = 5.0 + (prev * 3.0 - 5.0) * rng.f64();
                let d = Duration::from_secs_f64(s).min(secs(120));
                let d = Duration::from_millis(d.as_millis() as u64);
                prev = d.as_secs_f64();
                d
            })
            .collect();
        assert_eq!(p.delays().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn equal_jitter_never_goes_under_half_after_truncation() {
        // 2.459 s halves to 1.2295 s; truncating to milliseconds must not give 1.229 s.
        let p = RetryPolicy::builder()
            .initial_delay(Duration::from_millis(2459))
            .multiplier(1.0)
            .jitter(Jitter::Equal)
            .unlimited_elapsed()
            .max_attempts(100_000)
            .seed(7_761_424_010_682_131_678)
            .build()
            .unwrap();
        for d in p.delays() {
            assert!(
                d >= Duration::from_micros(1_229_500) && d <= Duration::from_millis(2459),
                "{d:?}"
            );
        }
    }

    #[test]
    fn on_failure_stops_at_max_elapsed_and_cuts_the_last_wait() {
        let p = no_jitter().max_elapsed(secs(60)).build().unwrap();
        let mut s = p.schedule();
        assert_eq!(s.on_failure(secs(0)), Decision::RetryAfter(secs(5)));
        // The caller's clock says much more time passed (slow calls): the cut uses it.
        assert_eq!(s.on_failure(secs(52)), Decision::RetryAfter(secs(8)));
        assert_eq!(
            s.on_failure(secs(60)),
            Decision::Stop(StopReason::MaxElapsed)
        );
    }

    #[test]
    fn max_attempts_one_never_retries() {
        let p = no_jitter().max_attempts(1).build().unwrap();
        assert_eq!(p.delays().count(), 0);
        assert_eq!(
            p.schedule().on_failure(Duration::ZERO),
            Decision::Stop(StopReason::MaxAttempts)
        );
    }

    #[test]
    fn huge_attempt_numbers_saturate_at_the_cap() {
        let p = no_jitter().unlimited_elapsed().build().unwrap();
        let d: Vec<_> = p.delays().skip(10_000).take(3).collect();
        assert_eq!(d, [secs(120); 3]);
        assert_eq!(p.exponential(u32::MAX), secs(120));
    }

    fn arb_policy() -> impl Strategy<Value = RetryPolicy> {
        (
            1u64..60_000,
            1.0f64..5.0,
            0u64..600_000,
            prop_oneof![
                Just(Jitter::None),
                Just(Jitter::Full),
                Just(Jitter::Equal),
                Just(Jitter::Decorrelated)
            ],
            1u32..200,
            1u64..20_000_000,
            any::<u64>(),
        )
            .prop_map(|(init, mult, extra, jitter, attempts, elapsed, seed)| {
                RetryPolicy::builder()
                    .initial_delay(Duration::from_millis(init))
                    .multiplier(mult)
                    .max_delay(Duration::from_millis(init + extra))
                    .jitter(jitter)
                    .max_attempts(attempts)
                    .max_elapsed(Duration::from_millis(elapsed))
                    .seed(seed)
                    .build()
                    .unwrap()
            })
    }

    const ALL_JITTERS: [Jitter; 4] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];

    #[test]
    fn duration_max_decorrelated_does_not_panic() {
        for jitter in ALL_JITTERS {
            let p = RetryPolicy::builder()
                .initial_delay(Duration::MAX)
                .max_delay(Duration::MAX)
                .jitter(jitter)
                .build()
                .unwrap();
            let mut s = p.schedule();
            for elapsed in [
                Duration::ZERO,
                secs(1),
                secs(3599),
                secs(3600),
                Duration::MAX,
            ] {
                match s.on_failure(elapsed) {
                    Decision::RetryAfter(d) => {
                        assert!(d <= p.max_delay(), "{jitter:?}: {d:?}");
                        assert!(
                            d <= secs(3600) - elapsed,
                            "{jitter:?}: {d:?} at {elapsed:?}"
                        );
                    }
                    Decision::Stop(reason) => {
                        assert_eq!(reason, StopReason::MaxElapsed, "{jitter:?} at {elapsed:?}")
                    }
                }
            }
            // The budget (1 h by default) cuts the first wait.
            assert_eq!(p.delays().collect::<Vec<_>>(), [secs(3600)], "{jitter:?}");
            let unlimited = p.to_builder().unlimited_elapsed().build().unwrap();
            // Without the budget the cap applies, truncated to whole milliseconds.
            let cap = Duration::MAX - Duration::from_nanos(999_999);
            let low = match jitter {
                Jitter::Full => Duration::ZERO,
                Jitter::Equal => cap / 2,
                _ => cap,
            };
            for d in unlimited.delays().take(50) {
                assert!(d >= low && d <= cap, "{jitter:?}: {d:?}");
            }
        }
    }

    /// Durations from the smallest valid delay to the largest a `Duration` holds.
    fn arb_extreme_duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::from_millis(1)),
            (1u64..600_000).prop_map(Duration::from_millis),
            Just(Duration::from_millis(u64::MAX)),
            Just(Duration::MAX),
            Just(Duration::MAX - Duration::from_nanos(1)),
            Just(Duration::from_secs(u64::MAX)),
            (u64::MAX - 1_000_000..=u64::MAX, 0u32..1_000_000_000)
                .prop_map(|(s, n)| Duration::new(s, n)),
            (1u64 << 52..1u64 << 63).prop_map(Duration::from_secs),
        ]
    }

    /// What a builder can be given, valid or not: the fields in `build`'s order of checks.
    #[derive(Debug, Clone)]
    struct Inputs {
        multiplier: f64,
        initial: Duration,
        max: Duration,
        attempts: Option<u32>,
        elapsed: Option<Duration>,
        jitter: Jitter,
        seed: u64,
    }

    impl Inputs {
        fn builder(&self) -> RetryPolicyBuilder {
            let builder = RetryPolicy::builder()
                .initial_delay(self.initial)
                .max_delay(self.max)
                .multiplier(self.multiplier)
                .jitter(self.jitter)
                .seed(self.seed);
            let builder = match self.elapsed {
                Some(e) => builder.max_elapsed(e),
                None => builder.unlimited_elapsed(),
            };
            match self.attempts {
                Some(n) => builder.max_attempts(n),
                None => builder.unlimited_attempts(),
            }
        }

        /// The error `build` must give: the first invalid field, as the docs of each field
        /// define it; `None` if every field is valid.
        fn expected_error(&self) -> Option<PolicyError> {
            let m = self.multiplier;
            if m.is_nan() || m.is_infinite() || m < 1.0 {
                Some(PolicyError::InvalidMultiplier(m))
            } else if self.initial.as_nanos() < 1_000_000 {
                Some(PolicyError::InitialDelayTooShort(self.initial))
            } else if self.max < self.initial {
                Some(PolicyError::MaxDelayBelowInitial {
                    max_delay: self.max,
                    initial_delay: self.initial,
                })
            } else if self.attempts == Some(0) {
                Some(PolicyError::ZeroMaxAttempts(0))
            } else if self.elapsed == Some(Duration::ZERO) {
                Some(PolicyError::ZeroMaxElapsed(Duration::ZERO))
            } else {
                None
            }
        }
    }

    /// Valid multipliers, the largest included.
    fn arb_valid_multiplier() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(1.0f64),
            Just(2.0),
            Just(1e10),
            Just(1e300),
            Just(f64::MAX),
            1.0f64..5.0,
        ]
    }

    fn arb_valid_elapsed() -> impl Strategy<Value = Option<Duration>> {
        prop_oneof![
            Just(None),
            Just(Some(Duration::from_millis(1))),
            Just(Some(Duration::MAX)),
            (1u64..20_000_000).prop_map(|ms| Some(Duration::from_millis(ms))),
            arb_extreme_duration().prop_map(Some),
        ]
    }

    fn arb_valid_attempts() -> impl Strategy<Value = Option<u32>> {
        prop_oneof![
            Just(None),
            Just(Some(1u32)),
            Just(Some(2)),
            Just(Some(u32::MAX))
        ]
    }

    /// Valid inputs, extreme values included.
    fn arb_extreme_inputs() -> impl Strategy<Value = Inputs> {
        (
            arb_extreme_duration(),
            arb_extreme_duration(),
            arb_valid_multiplier(),
            prop::sample::select(ALL_JITTERS.to_vec()),
            arb_valid_elapsed(),
            arb_valid_attempts(),
            any::<u64>(),
        )
            .prop_map(|(a, b, multiplier, jitter, elapsed, attempts, seed)| {
                let (initial, max) = if a <= b { (a, b) } else { (b, a) };
                Inputs {
                    multiplier,
                    initial,
                    max,
                    attempts,
                    elapsed,
                    jitter,
                    seed,
                }
            })
    }

    fn arb_extreme_policy() -> impl Strategy<Value = RetryPolicyBuilder> {
        arb_extreme_inputs().prop_map(|inputs| inputs.builder())
    }

    /// Any inputs at all: each field valid or not (NaN, infinities, negative and subnormal
    /// multipliers, zero and sub-millisecond delays, a cap below the start, zero limits), the
    /// bounds of each valid range, and the extremes.
    fn arb_any_inputs() -> impl Strategy<Value = Inputs> {
        let any_duration = || {
            prop_oneof![
                1 => Just(Duration::ZERO),
                1 => Just(Duration::from_nanos(1)),
                1 => Just(Duration::from_nanos(999_999)),
                1 => (0u64..1_000_000).prop_map(Duration::from_nanos),
                12 => arb_extreme_duration(),
            ]
        };
        let multiplier = prop_oneof![
            20 => arb_valid_multiplier(),
            1 => Just(f64::NAN),
            1 => Just(-f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(1.0 - f64::EPSILON),
            1 => Just(0.0),
            1 => Just(-0.0),
            1 => Just(f64::MIN_POSITIVE),
            1 => Just(f64::MIN),
            1 => any::<f64>(),
        ];
        let attempts = prop_oneof![
            1 => Just(Some(0u32)),
            6 => arb_valid_attempts(),
            1 => any::<u32>().prop_map(Some)
        ];
        let elapsed = prop_oneof![
            1 => Just(Some(Duration::ZERO)),
            6 => arb_valid_elapsed(),
            1 => any_duration().prop_map(Some),
        ];
        (
            multiplier,
            any_duration(),
            any_duration(),
            attempts,
            elapsed,
            prop::sample::select(ALL_JITTERS.to_vec()),
            any::<u64>(),
        )
            .prop_map(
                |(multiplier, initial, max, attempts, elapsed, jitter, seed)| Inputs {
                    multiplier,
                    initial,
                    max,
                    attempts,
                    elapsed,
                    jitter,
                    seed,
                },
            )
    }

    /// A schedule of `p`, asked at every kind of elapsed time, and its plain delay sequence,
    /// stay within `p`'s bounds, the lower ones included.
    fn check_schedule(p: &RetryPolicy, picks: Vec<(u8, Duration)>) -> Result<(), TestCaseError> {
        let mut s = p.schedule();
        let mut total = Duration::ZERO;
        for (pick, any_elapsed) in picks {
            let elapsed = match pick {
                0 => Duration::ZERO,
                1 => Duration::MAX,
                2 => any_elapsed,
                _ => total,
            };
            if let Decision::RetryAfter(d) = s.on_failure(elapsed) {
                check_delay(p, elapsed, d)?;
                total = total.saturating_add(d);
            }
        }
        // The lower bounds hold too, even where `f64` cannot resolve a millisecond.
        let floor = match p.jitter() {
            Jitter::None => truncate_to_millis(p.initial_delay()),
            Jitter::Decorrelated => {
                truncate_to_millis(ceil_to_millis(p.initial_delay()).min(p.max_delay()))
            }
            _ => Duration::ZERO,
        };
        let mut elapsed = Duration::ZERO;
        for d in p.delays().take(50) {
            check_delay(p, elapsed, d)?;
            let cut = p.max_elapsed().is_some_and(|max| d == max - elapsed);
            prop_assert!(cut || d >= floor, "{:?} under {:?}", d, floor);
            elapsed = elapsed.saturating_add(d);
        }
        Ok(())
    }

    /// `d` is a valid answer for a call that failed at `elapsed`.
    fn check_delay(p: &RetryPolicy, elapsed: Duration, d: Duration) -> Result<(), TestCaseError> {
        prop_assert!(
            d <= p.max_delay(),
            "{:?} > max_delay {:?}",
            d,
            p.max_delay()
        );
        if let Some(max) = p.max_elapsed() {
            prop_assert!(elapsed < max, "retried at {:?}, budget {:?}", elapsed, max);
            prop_assert!(
                d <= max - elapsed,
                "{:?} at {:?} overruns {:?}",
                d,
                elapsed,
                max
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn extreme_values_never_panic(
            builder in arb_extreme_policy(),
            picks in prop::collection::vec((0u8..5, arb_extreme_duration()), 50),
        ) {
            check_schedule(&builder.build().unwrap(), picks)?;
        }

        /// Whatever the builder is given, `build` either names the first invalid field (its
        /// variant, and a message with the field's name) or gives a policy whose delays stay
        /// within its bounds; it never panics.
        #[test]
        fn every_input_is_rejected_by_name_or_gives_bounded_delays(
            inputs in arb_any_inputs(),
            picks in prop::collection::vec((0u8..5, arb_extreme_duration()), 20),
        ) {
            let built = inputs.builder().build();
            match (built, inputs.expected_error()) {
                (Ok(p), None) => {
                    prop_assert_eq!(p.initial_delay(), inputs.initial);
                    prop_assert_eq!(p.max_delay(), inputs.max);
                    prop_assert_eq!(p.max_attempts(), inputs.attempts);
                    prop_assert_eq!(p.max_elapsed(), inputs.elapsed);
                    check_schedule(&p, picks)?;
                }
                (Err(err), Some(expected)) => {
                    // `PartialEq` on a NaN multiplier is false: compare the bits.
                    match (&err, &expected) {
                        (PolicyError::InvalidMultiplier(a), PolicyError::InvalidMultiplier(b)) => {
                            prop_assert_eq!(a.to_bits(), b.to_bits());
                        }
                        _ => prop_assert_eq!(&err, &expected),
                    }
                    let field = match err {
                        PolicyError::InvalidMultiplier(_) => "multiplier",
                        PolicyError::InitialDelayTooShort(_) => "initial_delay",
                        PolicyError::MaxDelayBelowInitial { .. } => "max_delay",
                        PolicyError::ZeroMaxAttempts(_) => "max_attempts",
                        PolicyError::ZeroMaxElapsed(_) => "max_elapsed",
                    };
                    prop_assert!(err.to_string().starts_with(field), "{}", err);
                }
                (built, expected) => {
                    prop_assert!(false, "{:?} for {:?}, expected {:?}", built, inputs, expected);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn delays_respect_bounds(p in arb_policy()) {
            let delays: Vec<Duration> = p.delays().collect();
            let max_elapsed = p.max_elapsed().unwrap();
            prop_assert!(delays.len() < p.max_attempts().unwrap() as usize);
            prop_assert!(delays.iter().sum::<Duration>() <= max_elapsed);
            let mut total = Duration::ZERO;
            for (n, d) in delays.iter().enumerate() {
                prop_assert!(*d <= p.max_delay());
                // Only the final wait can be cut to the remaining budget.
                let cut = n + 1 == delays.len() && *d == max_elapsed - total;
                if !cut {
                    let exp = p.exponential(n as u32);
                    match p.jitter() {
                        Jitter::None => prop_assert_eq!(*d, exp),
                        Jitter::Full => prop_assert!(*d <= exp),
                        Jitter::Equal => prop_assert!(*d >= exp / 2 && *d <= exp),
                        Jitter::Decorrelated => prop_assert!(*d >= p.initial_delay()),
                    }
                }
                total += *d;
            }
        }

        #[test]
        fn seeded_runs_repeat(p in arb_policy()) {
            prop_assert_eq!(p.delays().collect::<Vec<_>>(), p.delays().collect::<Vec<_>>());
        }

        #[test]
        fn unjittered_delays_never_decrease_until_the_cut(p in arb_policy()) {
            let p = p.to_builder().jitter(Jitter::None).build().unwrap();
            let delays: Vec<Duration> = p.delays().collect();
            if delays.len() > 2 {
                for w in delays[..delays.len() - 1].windows(2) {
                    prop_assert!(w[0] <= w[1]);
                }
            }
        }

        #[test]
        fn stop_once_budget_spent(p in arb_policy(), over in 0u64..1_000_000) {
            let mut s = p.schedule();
            let at = p.max_elapsed().unwrap() + Duration::from_millis(over);
            let d = s.on_failure(at);
            prop_assert!(matches!(
                d,
                Decision::Stop(StopReason::MaxElapsed) | Decision::Stop(StopReason::MaxAttempts)
            ));
        }
    }
}
