//! What one call keeps in its `ConfigBag`, and the override of the SDK's retry settings that lets
//! the SDK sleep exactly one of our delays.
//!
//! The SDK's `StandardRetryStrategy` reads its `RetryConfig`, `TokenBucket` and `RequestAttempts`
//! from the `ConfigBag` every time it decides on a retry. For the one decision after a blocked
//! attempt, [`override_for_wait`] swaps in values under which the strategy retries after exactly
//! our delay, at no cost to the client's retry quota; [`restore`] puts the user's values back
//! before the next attempt.

use std::time::{Duration, SystemTime};

use aws_smithy_runtime::client::retries::TokenBucket;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::{RetryConfig, RetryMode, RetrySpec};
use tracing::Span;

use crate::core::outcome::StopReason;
use crate::core::schedule::Schedule;

/// Everything one operation call needs from its first failure on. Lives in that call's
/// `ConfigBag`, so concurrent calls on one client never share it; a call that never fails has none.
#[derive(Debug)]
pub(super) struct CallState {
    /// The interceptor instance that took the call.
    pub(super) owner: u64,
    /// Made at the first blocked answer (see [`after_failure`](crate::core::attempt::after_failure)).
    pub(super) schedule: Option<Box<Schedule>>,
    /// Time-source reading at the first blocked answer: `max_elapsed` counts from here.
    pub(super) first_blocked: Option<SystemTime>,
    /// [Attempts](crate#what-an-attempt-is) so far: the first, and one after each of our waits.
    /// The SDK's own retries belong to the attempt they retry.
    pub(super) attempts: u32,
    /// The next completed HTTP attempt starts a new attempt (the first one, or the one after a
    /// wait).
    pub(super) new_attempt: bool,
    /// Total of our waits that have ended.
    pub(super) waited: Duration,
    /// The wait in progress: its length and when it was decided.
    pub(super) pending: Option<(Duration, SystemTime)>,
    /// HTTP attempts of the current attempt that failed with an error left to the SDK's own retry
    /// (throttling, 5xx, timeouts, ...). The SDK decides about those as if this were its
    /// `RequestAttempts`, exactly as it would inside one tower-path call.
    pub(super) sdk_failures: u32,
    /// Set when the call gave up.
    pub(super) stopped: Option<StopReason>,
    /// The user's values, while an override is in the bag.
    pub(super) saved: Option<Saved>,
    pub(super) span: Span,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}

impl CallState {
    pub(super) fn new(owner: u64, span: Span) -> Self {
        CallState {
            owner,
            schedule: None,
            first_blocked: None,
            attempts: 0,
            new_attempt: true,
            waited: Duration::ZERO,
            pending: None,
            sdk_failures: 0,
            stopped: None,
            saved: None,
            span,
        }
    }
}

impl CallState {
    /// Counts the attempt that just completed, if it is a new one (the first, or the first after
    /// a wait) rather than one of the SDK's own retries.
    pub(super) fn count_attempt(&mut self) {
        if self.new_attempt {
            self.new_attempt = false;
            self.attempts = self.attempts.saturating_add(1);
        }
    }
}

/// The user's values that an override replaced for one retry decision.
#[derive(Debug)]
pub(super) struct Saved {
    retry_config: RetryConfig,
    token_bucket: Option<TokenBucket>,
}

/// Makes the SDK's next retry decision "retry after exactly `delay`, for free": standard mode,
/// spec 2.0, a `max_backoff` of at least `delay`, room for one more attempt than
/// `request_attempt`, and `unlimited` (a [`TokenBucket::unlimited`], shared by every call of the
/// interceptor: it costs nothing and holds no state of a call). Returns the user's values.
pub(super) fn override_for_wait(
    cfg: &mut ConfigBag,
    delay: Duration,
    request_attempt: u32,
    unlimited: &TokenBucket,
) -> Saved {
    let user = cfg
        .load::<RetryConfig>()
        .cloned()
        .unwrap_or_else(RetryConfig::standard);
    let ours = user
        .clone()
        .with_retry_mode(RetryMode::Standard)
        .with_max_attempts(request_attempt.saturating_add(1))
        .with_max_backoff(delay.max(user.max_backoff()))
        .with_retry_spec(RetrySpec::v2_0());
    let saved = Saved {
        retry_config: user,
        token_bucket: cfg.load::<TokenBucket>().cloned(),
    };
    let layer = cfg.interceptor_state();
    layer.store_put(ours);
    layer.store_put(unlimited.clone());
    saved
}

/// Puts the user's values back.
pub(super) fn restore(cfg: &mut ConfigBag, saved: Saved) {
    let layer = cfg.interceptor_state();
    layer.store_put(saved.retry_config);
    match saved.token_bucket {
        Some(bucket) => layer.store_put(bucket),
        None => layer.unset::<TokenBucket>(),
    };
}
