//! The retry policy's configuration and its validation: *retry, and after how long?* (the
//! per-call schedule that answers it is in [`schedule`](super::schedule)).
//!
//! Everything here is pure configuration. Nothing sleeps or reads a clock.

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
    Backoff(Arc<dyn super::backoff_compat::MakeBackoff>),
}

/// The retry schedule shared by the tower layer and the SDK interceptor.
///
/// A policy is immutable configuration. Each wrapped call gets its own [`Schedule`](crate::Schedule) from
/// [`RetryPolicy::schedule`], so concurrent calls never share attempt counters or RNG state.
///
/// # Defaults
///
/// [`RetryPolicy::default()`] is tuned for instance refreshes, which take minutes to hours, not the
/// milliseconds the SDK's own retry is tuned for:
///
/// | field | default | why |
/// |---|---|---|
/// | `initial_delay` | 5 s | a refresh never ends within milliseconds; the exponential delay starts at 5 s (with full jitter each wait is drawn from 0 up to it) |
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

    /// A builder that starts from this policy's values, to derive a variant of it.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// let patient = RetryPolicy::default().to_builder().max_elapsed(Duration::from_secs(3 * 3600)).build()?;
    /// assert_eq!(patient.initial_delay(), RetryPolicy::default().initial_delay());
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn to_builder(&self) -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            policy: self.clone(),
        }
    }

    /// The delay before the first retry.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().initial_delay(), Duration::from_secs(5));
    /// ```
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The factor each delay grows by.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().multiplier(), 2.0);
    /// ```
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The longest single wait.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().max_delay(), Duration::from_secs(120));
    /// ```
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The jitter mode.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::default().jitter(), Jitter::Full);
    /// ```
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The maximum number of [attempts](crate#what-an-attempt-is), including the first; `None` is
    /// unlimited.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().max_attempts(), None);
    /// ```
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The time budget, from the first blocked answer (the first failure that is ours to wait
    /// on); `None` is unlimited.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    /// use std::time::Duration;
    ///
    /// assert_eq!(RetryPolicy::default().max_elapsed(), Some(Duration::from_secs(3600)));
    /// ```
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The RNG seed, if one was set.
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().seed(), None);
    /// assert_eq!(RetryPolicy::builder().seed(7).build()?.seed(), Some(7));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }
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
    ///
    /// There is no upper limit besides [`max_delay`](Self::max_delay): anything up to
    /// [`Duration::MAX`] is accepted, and the schedule saturates instead of overflowing. Delays are
    /// truncated to whole milliseconds (`Duration::MAX` is waited as `u64::MAX` s and 999 ms) and
    /// computed in `f64` seconds: past a few months, rounding can take a jittered or intermediate
    /// delay a millisecond off the exact formula, and past about 140,000 years (2⁴² s) an `f64` no
    /// longer resolves milliseconds at all. A delay still never exceeds `max_delay`.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .initial_delay(Duration::from_secs(30))
    ///     .jitter(Jitter::None)
    ///     .max_attempts(4)
    ///     .build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [30, 60, 120]);
    /// assert!(RetryPolicy::builder().initial_delay(Duration::ZERO).build().is_err());
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.policy.initial_delay = delay;
        self
    }

    /// The factor each delay grows by (`m`). Default 2. Must be finite and at least 1; 1 gives a
    /// constant delay.
    ///
    /// Any finite value is accepted, up to [`f64::MAX`]: once `b·mⁿ` reaches `max_delay`, or
    /// overflows an `f64` or a [`Duration`], the delay is `max_delay`. So `f64::MAX` means
    /// "`initial_delay`, then `max_delay` from the second retry on".
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    ///
    /// let policy = RetryPolicy::builder()
    ///     .multiplier(1.0)
    ///     .jitter(Jitter::None)
    ///     .max_attempts(4)
    ///     .build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [5, 5, 5]); // a constant delay
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.policy.multiplier = multiplier;
        self
    }

    /// The longest single wait (`cap`). Default 2 min. Must be at least `initial_delay`.
    ///
    /// Anything up to [`Duration::MAX`] is accepted; no delay ever exceeds it. Delays have
    /// millisecond resolution, so a cap that is not whole milliseconds is reached truncated.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .max_delay(Duration::from_secs(15))
    ///     .jitter(Jitter::None)
    ///     .max_attempts(5)
    ///     .build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [5, 10, 15, 15]);
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.policy.max_delay = delay;
        self
    }

    /// The [`Jitter`] mode. Default [`Jitter::Full`].
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder().jitter(Jitter::Equal).max_attempts(4).build()?;
    /// // Equal jitter: between half of the exponential delay and all of it.
    /// for (delay, exponential) in policy.delays().zip([5, 10, 20]) {
    ///     let exponential = Duration::from_secs(exponential);
    ///     assert!(delay >= exponential / 2 && delay <= exponential);
    /// }
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// The maximum number of [attempts](crate#what-an-attempt-is), counting the first one. Default
    /// unlimited. Must be at least 1;
    /// 1 means no retries. `u32::MAX` is accepted: `u32::MAX - 1` retries, and the attempt
    /// counter saturates instead of overflowing.
    ///
    /// ```
    /// use instance_refresh_retry::{PolicyError, RetryPolicy};
    ///
    /// let policy = RetryPolicy::builder().max_attempts(3).build()?;
    /// assert_eq!(policy.delays().count(), 2); // 3 attempts, 2 waits
    /// let err = RetryPolicy::builder().max_attempts(0).build().unwrap_err();
    /// assert_eq!(err, PolicyError::ZeroMaxAttempts(0));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.policy.max_attempts = Some(attempts);
        self
    }

    /// Removes the attempt limit (the default).
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let limited = RetryPolicy::builder().jitter(Jitter::None).max_attempts(3).build()?;
    /// let policy = limited.to_builder().unlimited_attempts().build()?;
    /// assert_eq!(policy.max_attempts(), None);
    /// // Only the time budget (1 h) ends the waits now.
    /// assert_eq!(policy.delays().sum::<Duration>(), Duration::from_secs(3600));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn unlimited_attempts(mut self) -> Self {
        self.policy.max_attempts = None;
        self
    }

    /// The time budget, measured from the first blocked answer, on both paths (nothing reads a
    /// clock before a call fails in a way that is ours to wait on). Default 1 h. Must be greater
    /// than zero. The last wait is cut so that a retry never starts after the budget is spent.
    /// Anything up to [`Duration::MAX`] is accepted.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .max_elapsed(Duration::from_secs(60))
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
    /// assert_eq!(delays, [5, 10, 20, 25]); // the last wait is cut: 60 s in all
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.policy.max_elapsed = Some(elapsed);
        self
    }

    /// Removes the time budget. Combine with [`max_attempts`](Self::max_attempts), or the policy
    /// retries for as long as the error persists.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .unlimited_elapsed()
    ///     .max_attempts(100)
    ///     .jitter(Jitter::None)
    ///     .build()?;
    /// assert_eq!(policy.max_elapsed(), None);
    /// // 99 waits, over three hours in all: no time budget cuts them.
    /// assert!(policy.delays().sum::<Duration>() > Duration::from_secs(3 * 3600));
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
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
    ///
    /// ```
    /// use instance_refresh_retry::RetryPolicy;
    ///
    /// let policy = RetryPolicy::builder().seed(42).max_attempts(6).build()?;
    /// let first_call: Vec<_> = policy.delays().collect();
    /// assert!(policy.delays().eq(first_call)); // every call waits the same jittered delays
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.policy.seed = Some(seed);
        self
    }

    /// Takes the delays from a [`backoff::backoff::Backoff`] instead of the built-in exponential
    /// schedule. Each call clones `backoff` and resets it. `max_attempts` and `max_elapsed` still
    /// apply (with the caller's clock); `initial_delay`, `multiplier` and `jitter` are ignored (but
    /// `build()` still checks that `max_delay` is at least `initial_delay`), and `max_delay` still
    /// caps each delay.
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
    /// There are no upper limits: every value up to [`Duration::MAX`], [`f64::MAX`] and
    /// [`u32::MAX`] is accepted, and no policy this returns can make
    /// [`Schedule::on_failure`](crate::Schedule::on_failure) or
    /// [`delays`](RetryPolicy::delays) panic: the schedule's arithmetic saturates, and every delay
    /// stays within `max_delay` and the remaining `max_elapsed`.
    ///
    /// ```
    /// use instance_refresh_retry::{Jitter, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let policy = RetryPolicy::builder()
    ///     .initial_delay(Duration::MAX)
    ///     .max_delay(Duration::MAX)
    ///     .multiplier(f64::MAX)
    ///     .jitter(Jitter::Decorrelated)
    ///     .max_attempts(u32::MAX)
    ///     .build()?;
    /// // The 1 h budget cuts the first (astronomically long) wait, and that is the only one.
    /// assert_eq!(policy.delays().collect::<Vec<_>>(), [Duration::from_secs(3600)]);
    /// # Ok::<(), instance_refresh_retry::PolicyError>(())
    /// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
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
}
