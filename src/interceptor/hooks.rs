//! The interceptor: per-call state in the `ConfigBag`, one decision per attempt.
//!
//! The SDK's `StandardRetryStrategy` reads its `RetryConfig`, `TokenBucket` and `RequestAttempts`
//! from the `ConfigBag` every time it decides on a retry. The hooks below run just before that
//! decision (`modify_before_attempt_completion`) and adjust those three values for that one
//! decision only; `read_before_attempt` puts the user's values back before the next attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::operation::RequestId;
use aws_smithy_runtime::client::retries::TokenBucket;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef, Error,
    FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::{RetryConfig, RetryMode, RetrySpec};
use aws_smithy_types::timeout::TimeoutConfig;
use tracing::Span;

use super::Settings;
use super::classifier::Directive;
use super::guard::PossiblyOwnRefresh;
use crate::classify::{ProvideErrorCode, Verdict, error_code, for_blocked_operation_errors};
use crate::policy::{Decision, Schedule, StopReason};
use crate::stats::{RetryOutcome, RetryStats};
use crate::trace;

/// The service name the SDK stores in [`Metadata`].
pub(super) const SERVICE: &str = "Auto Scaling";
/// The operation the interceptor always handles.
pub(super) const START_INSTANCE_REFRESH: &str = "StartInstanceRefresh";
/// The operations handled when [`InstanceRefreshRetryConfig::related_operations`] is on.
///
/// [`InstanceRefreshRetryConfig::related_operations`]: super::InstanceRefreshRetryConfig::related_operations
pub(super) const RELATED_OPERATIONS: [&str; 4] = [
    "AttachLoadBalancers",
    "AttachLoadBalancerTargetGroups",
    "AttachTrafficSources",
    "PutWarmPool",
];

/// Gives each interceptor instance an id, so that when several are installed (client-wide and per
/// call) only the one that claimed the call acts on it.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The SDK interceptor. See the [module docs](super).
#[derive(Debug, Clone)]
pub(super) struct Interceptor {
    id: u64,
    settings: Arc<Settings>,
}

impl Interceptor {
    pub(super) fn new(settings: Arc<Settings>) -> Self {
        Interceptor {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
        }
    }

    fn handles(&self, cfg: &ConfigBag) -> bool {
        cfg.load::<Metadata>().is_some_and(|m| {
            m.service() == SERVICE
                && (m.name() == START_INSTANCE_REFRESH
                    || (self.settings.related_operations && RELATED_OPERATIONS.contains(&m.name())))
        })
    }

    /// This call's state, if this interceptor owns the call.
    fn state<'a>(&self, cfg: &'a mut ConfigBag) -> Option<&'a mut CallState> {
        cfg.get_mut_from_interceptor_state::<CallState>()
            .filter(|s| s.owner == self.id)
    }
}

/// The user's values that an override replaced for one retry decision.
#[derive(Debug)]
struct Saved {
    retry_config: RetryConfig,
    token_bucket: Option<TokenBucket>,
}

/// Everything one operation call needs. Lives in that call's `ConfigBag`, so concurrent calls on
/// one client never share it.
#[derive(Debug)]
struct CallState {
    owner: u64,
    schedule: Schedule,
    /// Time-source reading at the start of the retry loop.
    start: SystemTime,
    /// Attempts made so far, of any outcome.
    attempts: u32,
    /// Total of the waits this crate scheduled that have ended.
    waited: Duration,
    /// The wait in progress: its length and when it was decided.
    pending: Option<(Duration, SystemTime)>,
    /// Attempts that failed with an error the classifier passed through (throttling, 5xx,
    /// timeouts, ...): the user's own `max_attempts` budget applies to these.
    other_failures: u32,
    /// Set when the policy gave up.
    stopped: Option<StopReason>,
    /// The user's values, while an override is in the bag.
    saved: Option<Saved>,
    span: Span,
}

impl Storable for CallState {
    type Storer = StoreReplace<Self>;
}

/// What an attempt's error says, reduced to what the classifier and the logs need.
#[derive(Debug, Default)]
struct AttemptError {
    code: Option<String>,
    request_id: Option<String>,
}

impl ProvideErrorCode for AttemptError {
    fn error_code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl AttemptError {
    /// Reads the code and request id of an operation error of one of the handled operations.
    fn of(err: &OrchestratorError<Error>) -> Option<AttemptError> {
        let err = err.as_operation_error()?;
        macro_rules! find {
            ($($ty:ty),+ $(,)?) => {$(
                if let Some(e) = err.downcast_ref::<$ty>() {
                    return Some(AttemptError {
                        code: error_code(e).map(str::to_owned),
                        request_id: e.meta().request_id().map(str::to_owned),
                    });
                }
            )+};
        }
        for_blocked_operation_errors!(find);
        None
    }
}

fn elapsed(rc: &RuntimeComponents, start: SystemTime) -> Duration {
    now(rc).duration_since(start).unwrap_or_default()
}

fn now(rc: &RuntimeComponents) -> SystemTime {
    rc.time_source().unwrap_or_default().now()
}

/// What the hook decided about the attempt that just completed.
enum Step {
    Succeeded,
    Wait {
        delay: Duration,
        err: AttemptError,
        attempt: u32,
    },
    GiveUp {
        reason: StopReason,
    },
    Other,
}

impl Intercept for Interceptor {
    fn name(&self) -> &'static str {
        "InstanceRefreshRetryInterceptor"
    }

    fn modify_before_retry_loop(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.handles(cfg) {
            return Ok(());
        }
        // Last installed wins: a per-call override runs after the client-wide interceptor and
        // replaces its claim.
        cfg.interceptor_state().store_put(CallState {
            owner: self.id,
            schedule: self.settings.policy.schedule(),
            start: now(rc),
            attempts: 0,
            waited: Duration::ZERO,
            pending: None,
            other_failures: 0,
            stopped: None,
            saved: None,
            span: trace::call_span(),
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = self.state(cfg) else {
            return Ok(());
        };
        if let Some((delay, _)) = state.pending.take() {
            state.waited += delay;
        }
        // Undo the previous decision's override: the attempt itself, and any SDK decision about
        // it that is not ours, see the user's configuration.
        if let Some(saved) = state.saved.take() {
            restore(cfg, saved);
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request_attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        // Set by the guard, which runs first: this InstanceRefreshInProgress may be the refresh
        // an earlier attempt of this very call started.
        let possibly_own_refresh = context
            .response()
            .is_some_and(|r| r.extension::<PossiblyOwnRefresh>().is_some());
        let classifier = &self.settings.classifier;
        if let Some(saved) = self.state(cfg).and_then(|s| s.saved.take()) {
            // Only reachable if `read_before_attempt` did not run; never stack overrides.
            restore(cfg, saved);
        }
        let Some(state) = self.state(cfg) else {
            return Ok(());
        };
        state.attempts += 1;
        let step = match context.inner().output_or_error() {
            None | Some(Ok(_)) => Step::Succeeded,
            Some(Err(err)) => match AttemptError::of(err) {
                Some(_) if possibly_own_refresh => Step::GiveUp {
                    reason: StopReason::PossiblyOwnRefresh,
                },
                Some(e) if classifier.classify(&e) == Verdict::RetryAfterWait => {
                    match state.schedule.on_failure(elapsed(rc, state.start)) {
                        Decision::RetryAfter(delay) => Step::Wait {
                            delay,
                            err: e,
                            attempt: state.schedule.attempts(),
                        },
                        Decision::Stop(reason) => Step::GiveUp { reason },
                    }
                }
                _ => Step::Other,
            },
        };
        match step {
            Step::Succeeded => {}
            Step::Wait {
                delay,
                err,
                attempt,
            } => {
                state.pending = Some((delay, now(rc)));
                state
                    .span
                    .in_scope(|| trace::retrying(attempt, delay, &err));
                // Our wait: exactly `delay`, at no cost to the client's retry quota, whatever
                // the user's retry spec or mode. Overrides last until the next attempt starts.
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
                if let Some(state) = self.state(cfg) {
                    state.saved = Some(saved);
                }
                let layer = cfg.interceptor_state();
                layer.store_put(ours);
                layer.store_put(TokenBucket::unlimited());
                if let Some(response) = context.response_mut() {
                    response.add_extension(Directive::Wait(delay));
                }
            }
            Step::GiveUp { reason } => {
                state.stopped = Some(reason);
                if let Some(response) = context.response_mut() {
                    response.add_extension(Directive::Stop);
                }
            }
            Step::Other => {
                // Not ours. The SDK decides with the user's RetryConfig and token bucket, as
                // if this were attempt number `other_failures`: the user's max_attempts and
                // backoff apply to these errors alone, not to the attempts spent waiting.
                state.other_failures += 1;
                let other = state.other_failures;
                cfg.interceptor_state()
                    .store_put(RequestAttempts::new(other));
            }
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation timeout, not an attempt timeout on the last attempt: the call's whole
        // budget is spent.
        let operation_timeout = cfg
            .load::<TimeoutConfig>()
            .and_then(|t| t.operation_timeout());
        let Some(state) = self.state(cfg) else {
            return Ok(());
        };
        let saved = state.saved.take();
        let elapsed = elapsed(rc, state.start);
        if let Some((delay, decided)) = state.pending.take() {
            // The operation timeout cut this wait short.
            state.waited += delay.min(now(rc).duration_since(decided).unwrap_or_default());
        }
        let mut timed_out = false;
        let last_error = match context.inner().output_or_error() {
            None | Some(Ok(_)) => None,
            Some(Err(err)) => {
                timed_out = err.is_timeout_error()
                    && operation_timeout.is_some_and(|limit| elapsed >= limit);
                Some(AttemptError::of(err).unwrap_or_default())
            }
        };
        let outcome = match (&last_error, state.stopped) {
            (None, _) => RetryOutcome::Succeeded,
            (Some(_), Some(reason)) => RetryOutcome::GaveUp(reason),
            (Some(_), None) if timed_out => RetryOutcome::TimedOut,
            (Some(_), None) => RetryOutcome::NotRetryable,
        };
        let stats = RetryStats::new(state.attempts, state.waited, elapsed, outcome);
        state.span.in_scope(|| match (&outcome, &last_error) {
            (RetryOutcome::GaveUp(_), Some(err)) => trace::gave_up(&stats, err),
            _ => trace::finished(&stats),
        });
        if let Some(saved) = saved {
            restore(cfg, saved);
        }
        if let Some(response) = context.response_mut() {
            response.add_extension(stats);
        }
        if let Some(on_finish) = &self.settings.on_finish {
            (on_finish.0)(&stats);
        }
        Ok(())
    }
}

fn restore(cfg: &mut ConfigBag, saved: Saved) {
    let layer = cfg.interceptor_state();
    layer.store_put(saved.retry_config);
    match saved.token_bucket {
        Some(bucket) => layer.store_put(bucket),
        None => layer.unset::<TokenBucket>(),
    };
}
