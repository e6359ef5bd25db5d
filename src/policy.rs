//! The retry policy: *retry, and after how long?*
//!
//! Everything in this module is pure. Nothing here sleeps or reads a clock: callers pass in the
//! attempt number and the elapsed time, and the jitter comes from a seedable RNG. That is what lets
//! the tower path and the SDK path share one schedule and lets tests assert exact sequences.

use std::fmt;
#[cfg(feature = "backoff")]
use std::sync::Arc;
use std::time::Duration;

/// How randomness is applied to each delay.
///
/// Delays have millisecond resolution, like the timers that sleep them. The definitions follow
/// the AWS Architecture Blog post
/// ["Exponential Backoff And Jitter"](https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/),
/// with `b` the initial delay, `m` the multiplier, `n` the retry number (starting at 0) and `cap`
/// the maximum delay:
///
/// | variant | delay |
/// |---|---|
/// | [`None`](Jitter::None) | `min(cap, b·mⁿ)` |
/// | [`Full`](Jitter::Full) | `U(0, min(cap, b·mⁿ))` |
/// | [`Equal`](Jitter::Equal) | `min(cap, b·mⁿ)/2 + U(0, min(cap, b·mⁿ)/2)` |
/// | [`Decorrelated`](Jitter::Decorrelated) | `min(cap, U(b, 3·previous))`, with `previous` starting at `b` |
///
/// ```
/// use instance_refresh_retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().jitter(Jitter::Decorrelated).seed(7).build()?;
/// for d in policy.delays().take(10) {
///     assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(120));
/// }
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: the plain exponential schedule.
    None,
    /// "Full jitter": uniform between zero and the exponential delay. AWS's recommendation, and the
    /// default.
    #[default]
    Full,
    /// "Equal jitter": half the exponential delay, plus uniform jitter over the other half.
    Equal,
    /// "Decorrelated jitter": uniform between the initial delay and three times the previous delay,
    /// capped.
    Decorrelated,
}

/// Why a [`RetryPolicy`] stopped retrying.
///
/// ```
/// use instance_refresh_retry::{Decision, RetryPolicy, StopReason};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder().max_elapsed(Duration::from_secs(60)).build()?;
/// let mut schedule = policy.schedule();
/// assert_eq!(
///     schedule.on_failure(Duration::from_secs(61)),
///     Decision::Stop(StopReason::MaxElapsed)
/// );
/// assert_eq!(StopReason::MaxElapsed.to_string(), "max_elapsed reached");
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_attempts` calls have been made.
    MaxAttempts,
    /// `max_elapsed` has passed since the first call started.
    MaxElapsed,
    /// A delay source supplied through the `backoff` feature returned `None`.
    BackoffExhausted,
    /// `InstanceRefreshInProgress` came after an earlier attempt of the same call whose outcome
    /// is unknown (lost response, timeout, broken connection, 5xx): the refresh in progress may be
    /// the one that attempt started, and waiting it out would start a second refresh. Check
    /// `DescribeInstanceRefreshes` before starting again.
    PossiblyOwnRefresh,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxAttempts => "max_attempts reached",
            StopReason::MaxElapsed => "max_elapsed reached",
            StopReason::BackoffExhausted => "backoff source exhausted",
            StopReason::PossiblyOwnRefresh => {
                "the refresh in progress may be this call's own (an earlier attempt's outcome is unknown)"
            }
        })
    }
}

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

/// A field of [`RetryPolicyBuilder`] held an invalid value.
///
/// ```
/// use instance_refresh_retry::{PolicyError, RetryPolicy};
///
/// let err = RetryPolicy::builder().multiplier(0.5).build().unwrap_err();
/// assert_eq!(err, PolicyError::InvalidMultiplier(0.5));
/// assert_eq!(err.to_string(), "multiplier must be a finite number >= 1, got 0.5");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `multiplier` was NaN, infinite or below 1.
    #[error("multiplier must be a finite number >= 1, got {0}")]
    InvalidMultiplier(f64),
    /// `initial_delay` was under one millisecond, the schedule's resolution (so zero too).
    #[error("initial_delay must be at least 1ms, got {0:?}")]
    InitialDelayTooShort(Duration),
    /// `max_delay` was shorter than `initial_delay`.
    #[error("max_delay ({max_delay:?}) must be at least initial_delay ({initial_delay:?})")]
    MaxDelayBelowInitial {
        /// The configured `max_delay`.
        max_delay: Duration,
        /// The configured `initial_delay`.
        initial_delay: Duration,
    },
    /// `max_attempts` was zero.
    #[error("max_attempts must be at least 1, got {0}")]
    ZeroMaxAttempts(u32),
    /// `max_elapsed` was zero.
    #[error("max_elapsed must be greater than zero, got {0:?}")]
    ZeroMaxElapsed(Duration),
}

/// Where the un-capped delays come from.
#[derive(Clone)]
pub(crate) enum DelaySource {
    Exponential,
    #[cfg(feature = "backoff")]
    Backoff(Arc<dyn crate::backoff_compat::MakeBackoff>),
}

/// The retry schedule shared by the tower layer and the SDK interceptor.
///
/// A policy is immutable configuration. Each wrapped call gets its own [`Schedule`] from
/// [`RetryPolicy::schedule`], so concurrent calls never share attempt counters or RNG state.
///
/// # Defaults
///
/// [`RetryPolicy::default()`] is tuned for instance refreshes, which take minutes to hours, not the
/// milliseconds the SDK's own retry is tuned for:
///
/// | field | default | why |
/// |---|---|---|
/// | `initial_delay` | 5 s | a refresh never ends within milliseconds; the first re-check need not be instant |
/// | `multiplier` | 2 | the usual doubling |
/// | `max_delay` | 2 min | a refresh that ends is noticed within two minutes; with full jitter the mean wait at the cap is one minute, so about 60 calls per hour (30 without jitter) |
/// | `jitter` | [`Jitter::Full`] | AWS's recommendation; spreads pipelines that were blocked by the same refresh |
/// | `max_attempts` | unlimited | the time budget is the meaningful limit |
/// | `max_elapsed` | 1 h | long enough for a typical rolling refresh, short enough to fail a stuck pipeline |
/// | `seed` | none (a fresh random seed per call) | set one for reproducible schedules in tests |
///
/// ```
/// use instance_refresh_retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder()
///     .initial_delay(Duration::from_secs(10))
///     .multiplier(2.0)
///     .max_delay(Duration::from_secs(60))
///     .jitter(Jitter::None)
///     .max_attempts(6)
///     .build()?;
/// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
/// assert_eq!(delays, [10, 20, 40, 60, 60]); // 6 attempts, 5 waits
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    pub(crate) initial_delay: Duration,
    pub(crate) multiplier: f64,
    pub(crate) max_delay: Duration,
    pub(crate) jitter: Jitter,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) seed: Option<u64>,
    pub(crate) source: DelaySource,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("RetryPolicy");
        s.field("initial_delay", &self.initial_delay)
            .field("multiplier", &self.multiplier)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("max_attempts", &self.max_attempts)
            .field("max_elapsed", &self.max_elapsed)
            .field("seed", &self.seed);
        match &self.source {
            DelaySource::Exponential => {}
            #[cfg(feature = "backoff")]
            DelaySource::Backoff(_) => {
                s.field("source", &"backoff::Backoff");
            }
        }
        s.finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicyBuilder::default()
            .build()
            .expect("the default policy is valid")
    }
}

impl RetryPolicy {
    /// Starts a builder with the [defaults](RetryPolicy#defaults).
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// let policy = RetryPolicy::builder().max_attempts(10).build()?;
    /// assert_eq!(policy.max_attempts(), Some(10));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::default()
    }

    /// The delay before the first retry.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The factor each delay grows by.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The longest single wait.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The jitter mode.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The maximum number of calls, including the first; `None` is unlimited.
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The time budget from the start of the first call; `None` is unlimited.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The RNG seed, if one was set.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Starts the per-call state for one wrapped call.
    ///
    /// With a [seed](RetryPolicyBuilder::seed) every schedule from this policy produces the same
    /// sequence; without one each schedule draws a fresh random seed.
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
    fn exponential(&self, retry: u32) -> Duration {
        let cap = self.max_delay.as_secs_f64();
        let exp = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = (self.initial_delay.as_secs_f64() * self.multiplier.powi(exp)).min(cap);
        truncate_to_millis(secs_to_duration(secs, self.max_delay))
    }
}

/// Converts seconds to a `Duration`, falling back to `cap` for values a `Duration` cannot hold.
fn secs_to_duration(secs: f64, cap: Duration) -> Duration {
    Duration::try_from_secs_f64(secs).map_or(cap, |d| d.min(cap))
}

fn ceil_to_millis(d: Duration) -> Duration {
    let down = truncate_to_millis(d);
    if down == d {
        d
    } else {
        down + Duration::from_millis(1)
    }
}

fn truncate_to_millis(d: Duration) -> Duration {
    Duration::new(d.as_secs(), d.subsec_millis() * 1_000_000)
}

/// Builds a [`RetryPolicy`]. See the [defaults](RetryPolicy#defaults).
///
/// ```
/// use instance_refresh_retry::{Jitter, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::builder()
///     .initial_delay(Duration::from_secs(15))
///     .max_delay(Duration::from_secs(300))
///     .jitter(Jitter::Equal)
///     .max_elapsed(Duration::from_secs(3 * 3600))
///     .build()?;
/// assert_eq!(policy.max_delay(), Duration::from_secs(300));
/// # Ok::<(), instance_refresh_retry::PolicyError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RetryPolicyBuilder {
    policy: RetryPolicy,
}

impl fmt::Debug for RetryPolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RetryPolicyBuilder")
            .field(&self.policy)
            .finish()
    }
}

impl Default for RetryPolicyBuilder {
    fn default() -> Self {
        RetryPolicyBuilder {
            policy: RetryPolicy {
                initial_delay: Duration::from_secs(5),
                multiplier: 2.0,
                max_delay: Duration::from_secs(120),
                jitter: Jitter::Full,
                max_attempts: None,
                max_elapsed: Some(Duration::from_secs(3600)),
                seed: None,
                source: DelaySource::Exponential,
            },
        }
    }
}

impl RetryPolicyBuilder {
    /// The delay before the first retry (`b`). Default 5 s. Must be at least 1 ms, the
    /// schedule's resolution.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.policy.initial_delay = delay;
        self
    }

    /// The factor each delay grows by (`m`). Default 2. Must be finite and at least 1; 1 gives a
    /// constant delay.
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.policy.multiplier = multiplier;
        self
    }

    /// The longest single wait (`cap`). Default 2 min. Must be at least `initial_delay`.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.policy.max_delay = delay;
        self
    }

    /// The [`Jitter`] mode. Default [`Jitter::Full`].
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// The maximum number of calls, counting the first one. Default unlimited. Must be at least 1;
    /// 1 means no retries.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.policy.max_attempts = Some(attempts);
        self
    }

    /// Removes the attempt limit (the default).
    pub fn unlimited_attempts(mut self) -> Self {
        self.policy.max_attempts = None;
        self
    }

    /// The time budget, measured from the start of the first call. Default 1 h. Must be greater
    /// than zero. The last wait is cut so that a retry never starts after the budget is spent.
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.policy.max_elapsed = Some(elapsed);
        self
    }

    /// Removes the time budget. Combine with [`max_attempts`](Self::max_attempts), or the policy
    /// retries for as long as the error persists.
    pub fn unlimited_elapsed(mut self) -> Self {
        self.policy.max_elapsed = None;
        self
    }

    /// Seeds the jitter RNG, so every call gets the same delay sequence. Default: unseeded.
    ///
    /// For tests and reproducible comparisons only. In production leave it unset: with a seed,
    /// every call made with this policy, in every process, waits the same jittered delays, so
    /// pipelines blocked by the same refresh retry in lockstep, which is what jitter exists to
    /// prevent.
    pub fn seed(mut self, seed: u64) -> Self {
        self.policy.seed = Some(seed);
        self
    }

    /// Takes the delays from a [`backoff::backoff::Backoff`] instead of the built-in exponential
    /// schedule. Each call clones `backoff` and resets it. `max_attempts` and `max_elapsed` still
    /// apply (with the caller's clock); `initial_delay`, `multiplier` and `jitter` are ignored, and
    /// `max_delay` still caps each delay.
    ///
    /// The `backoff` crate is unmaintained (RUSTSEC-2025-0012); this exists so existing
    /// configurations keep working. Note that `ExponentialBackoff::max_elapsed_time` reads the
    /// wall clock; prefer [`max_elapsed`](Self::max_elapsed).
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let eb = backoff::ExponentialBackoffBuilder::new()
    ///     .with_initial_interval(Duration::from_secs(1))
    ///     .with_randomization_factor(0.0)
    ///     .with_multiplier(3.0)
    ///     .with_max_elapsed_time(None)
    ///     .build();
    /// let policy = RetryPolicy::builder().backoff(eb).max_attempts(4).build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [1, 3, 9]);
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    #[cfg(feature = "backoff")]
    #[cfg_attr(docsrs, doc(cfg(feature = "backoff")))]
    pub fn backoff<B>(self, backoff: B) -> Self
    where
        B: backoff::backoff::Backoff + Clone + Send + Sync + 'static,
    {
        self.backoff_with(move || backoff.clone())
    }

    /// Like [`backoff`](Self::backoff), for `Backoff` types that are not `Clone`: `make` is called
    /// once per wrapped call.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .backoff_with(|| backoff::backoff::Constant::new(Duration::from_secs(30)))
    ///     .max_attempts(3)
    ///     .build()?;
    /// assert_eq!(policy.delays().collect::<Vec<_>>(), [Duration::from_secs(30); 2]);
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    #[cfg(feature = "backoff")]
    #[cfg_attr(docsrs, doc(cfg(feature = "backoff")))]
    pub fn backoff_with<F, B>(mut self, make: F) -> Self
    where
        F: Fn() -> B + Send + Sync + 'static,
        B: backoff::backoff::Backoff + Send + Sync + 'static,
    {
        self.policy.source = DelaySource::Backoff(Arc::new(make));
        self
    }

    /// Validates the fields and returns the policy.
    ///
    /// # Errors
    ///
    /// Each invalid field has its own [`PolicyError`] variant naming the field and the value.
    pub fn build(self) -> Result<RetryPolicy, PolicyError> {
        let p = self.policy;
        if !p.multiplier.is_finite() || p.multiplier < 1.0 {
            return Err(PolicyError::InvalidMultiplier(p.multiplier));
        }
        if p.initial_delay < Duration::from_millis(1) {
            return Err(PolicyError::InitialDelayTooShort(p.initial_delay));
        }
        if p.max_delay < p.initial_delay {
            return Err(PolicyError::MaxDelayBelowInitial {
                max_delay: p.max_delay,
                initial_delay: p.initial_delay,
            });
        }
        if p.max_attempts == Some(0) {
            return Err(PolicyError::ZeroMaxAttempts(0));
        }
        if let Some(elapsed) = p.max_elapsed.filter(|e| e.is_zero()) {
            return Err(PolicyError::ZeroMaxElapsed(elapsed));
        }
        Ok(p)
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
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The policy this schedule follows.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Records one failed attempt and decides what happens next.
    ///
    /// `elapsed` is the time since the first attempt started, as measured by the caller's clock
    /// (tokio time in the tower path, the runtime's time source in the SDK path). A returned delay
    /// never takes the total past `max_elapsed`.
    pub fn on_failure(&mut self, elapsed: Duration) -> Decision {
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
        let delay = match self.next_raw_delay() {
            Some(d) => d,
            None => return Decision::Stop(StopReason::BackoffExhausted),
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
        let retry = self.attempts - 1;
        let delay = match p.jitter {
            Jitter::None => p.exponential(retry),
            Jitter::Full => p.exponential(retry).mul_f64(self.rng.f64()),
            Jitter::Equal => {
                // The fixed half rounded up to whole milliseconds, so that the truncation below
                // never takes the delay under half of the exponential delay.
                let exp = p.exponential(retry);
                let half = ceil_to_millis(exp / 2);
                half + (exp - half).mul_f64(self.rng.f64())
            }
            Jitter::Decorrelated => {
                // Rounded up like the equal half: truncation must not go under `initial_delay`.
                let low = ceil_to_millis(p.initial_delay).as_secs_f64();
                let high = self.previous.as_secs_f64() * 3.0;
                let secs = low + (high - low) * self.rng.f64();
                secs_to_duration(secs, p.max_delay)
            }
        };
        // Timers (tokio's and the SDK's) have millisecond resolution; so does the schedule, which
        // keeps the delays that are slept exactly equal to the delays that are computed.
        let delay = truncate_to_millis(delay);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn no_jitter() -> RetryPolicyBuilder {
        RetryPolicy::builder().jitter(Jitter::None)
    }

    #[test]
    fn default_policy_values() {
        let p = RetryPolicy::default();
        assert_eq!(p.initial_delay(), secs(5));
        assert_eq!(p.multiplier(), 2.0);
        assert_eq!(p.max_delay(), secs(120));
        assert_eq!(p.jitter(), Jitter::Full);
        assert_eq!(p.max_attempts(), None);
        assert_eq!(p.max_elapsed(), Some(secs(3600)));
        assert_eq!(p.seed(), None);
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

    #[test]
    fn every_policy_error() {
        let b = RetryPolicy::builder;
        for m in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.99, 0.0, -2.0] {
            let err = b().multiplier(m).build().unwrap_err();
            assert!(matches!(err, PolicyError::InvalidMultiplier(v) if v.to_bits() == m.to_bits()));
            assert!(err.to_string().contains("multiplier"), "{err}");
        }
        assert_eq!(
            b().multiplier(f64::NAN).build().unwrap_err().to_string(),
            "multiplier must be a finite number >= 1, got NaN"
        );
        let err = b().initial_delay(Duration::ZERO).build().unwrap_err();
        assert_eq!(err, PolicyError::InitialDelayTooShort(Duration::ZERO));
        assert_eq!(
            err.to_string(),
            "initial_delay must be at least 1ms, got 0ns"
        );
        // Below the schedule's millisecond resolution every delay would be zero: a hot loop.
        let err = b()
            .initial_delay(Duration::from_micros(999))
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            PolicyError::InitialDelayTooShort(Duration::from_micros(999))
        );
        assert!(b().initial_delay(Duration::from_millis(1)).build().is_ok());
        let err = b()
            .initial_delay(secs(10))
            .max_delay(secs(9))
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            PolicyError::MaxDelayBelowInitial {
                max_delay: secs(9),
                initial_delay: secs(10)
            }
        );
        assert_eq!(
            err.to_string(),
            "max_delay (9s) must be at least initial_delay (10s)"
        );
        let err = b().max_attempts(0).build().unwrap_err();
        assert_eq!(err, PolicyError::ZeroMaxAttempts(0));
        assert_eq!(err.to_string(), "max_attempts must be at least 1, got 0");
        let err = b().max_elapsed(Duration::ZERO).build().unwrap_err();
        assert_eq!(err, PolicyError::ZeroMaxElapsed(Duration::ZERO));
        assert_eq!(
            err.to_string(),
            "max_elapsed must be greater than zero, got 0ns"
        );
        // Equal bounds are fine.
        assert!(
            b().initial_delay(secs(3))
                .max_delay(secs(3))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn debug_and_send_sync() {
        fn assert_traits<T: Clone + fmt::Debug + Send + Sync + 'static>() {}
        assert_traits::<RetryPolicy>();
        assert_traits::<RetryPolicyBuilder>();
        let s = format!("{:?}", RetryPolicy::default());
        assert!(s.contains("initial_delay: 5s"), "{s}");
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
            let p = RetryPolicyBuilder { policy: p }.jitter(Jitter::None).build().unwrap();
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
