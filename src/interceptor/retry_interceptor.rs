//! [`RetryInterceptor`]: the SDK interceptor's hooks, one decision per attempt.
//!
//! The decision itself is the core's ([`after_failure`]); these hooks measure the elapsed time on
//! the client's time source, count attempts, and turn the decision into a [`Directive`] for the
//! SDK's retry loop, which does the sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::operation::RequestId;
use aws_smithy_runtime::client::retries::TokenBucket;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef, Error,
    FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, dyn_dispatch_hint};
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::timeout::TimeoutConfig;

use super::call_state::{CallState, override_for_wait, restore};
use super::directive::Directive;
use crate::core::attempt::{Next, after_failure};
use crate::core::error_code::ProvideErrorCode;
use crate::core::guard;
use crate::core::operation::{
    RELATED_OPERATIONS, SERVICE, START_INSTANCE_REFRESH, error_code, for_blocked_operation_errors,
};
use crate::core::outcome::{RetryOutcome, RetryStats};
use crate::core::settings::Settings;
use crate::core::trace;

/// Gives each interceptor instance an id, so that when several are installed (client-wide and per
/// call) only the one that took the call acts on it.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The interceptor's name. Installed more than once, the instances count each other by it
/// (see [`RetryInterceptor::take_call`]); one that also handles the related operations has its
/// own name, so that the count for those operations includes only the instances that handle them.
const NAME: &str = "InstanceRefreshRetryInterceptor";
const NAME_WITH_RELATED: &str = "InstanceRefreshRetryInterceptor(+related operations)";

/// The SDK interceptor. See the [module docs](self).
#[derive(Debug, Clone)]
pub(super) struct RetryInterceptor {
    id: u64,
    settings: Arc<Settings>,
    related_operations: bool,
    // The token bucket of our waits, shared by every call rather than made for each wait (which
    // cost three allocations, about 100 bytes, per waiting call).
    unlimited: TokenBucket,
}

/// The time source's reading when the retry loop started; read only for an `on_finish`, which
/// reports the whole call's `elapsed`.
#[derive(Debug, Clone, Copy)]
struct CallStart(SystemTime);

impl Storable for CallStart {
    type Storer = StoreReplace<Self>;
}

/// How many of the installed interceptors that handle the call have asked to take it, in the
/// hook that is deciding who does (see [`RetryInterceptor::take_call`]).
#[derive(Debug, Clone, Copy)]
struct Claims(usize);

impl Storable for Claims {
    type Storer = StoreReplace<Self>;
}

impl RetryInterceptor {
    pub(super) fn new(settings: Arc<Settings>, related_operations: bool) -> Self {
        RetryInterceptor {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            related_operations,
            unlimited: TokenBucket::unlimited(),
        }
    }

    fn handles(&self, cfg: &ConfigBag) -> bool {
        cfg.load::<Metadata>()
            .is_some_and(|m| m.service() == SERVICE && self.handles_operation(m.name()))
    }

    fn handles_operation(&self, operation: &str) -> bool {
        operation == START_INSTANCE_REFRESH
            || (self.related_operations && RELATED_OPERATIONS.contains(&operation))
    }

    /// This call's state, if this interceptor took the call.
    fn state<'a>(&self, cfg: &'a mut ConfigBag) -> Option<&'a mut CallState> {
        cfg.get_mut_from_interceptor_state::<CallState>()
            .filter(|s| s.owner == self.id)
    }

    /// Takes a call that no instance has taken yet, in a hook where every installed instance that
    /// handles the call asks in turn: the last one installed takes it, as it runs last (a per-call
    /// override runs after the client-wide interceptor). Nothing is stored until then, so a call
    /// that succeeds at once costs no state; when only one instance is installed, nothing at all.
    fn take_call(&self, rc: &RuntimeComponents, cfg: &mut ConfigBag) -> bool {
        let Some(start_instance_refresh) = cfg
            .load::<Metadata>()
            .map(|m| m.name() == START_INSTANCE_REFRESH)
        else {
            return false;
        };
        let installed = rc
            .interceptors()
            .filter(|i| {
                let name = i.name();
                name == NAME_WITH_RELATED || (name == NAME && start_instance_refresh)
            })
            .count();
        if installed <= 1 {
            return true;
        }
        let asked = cfg.interceptor_state().load::<Claims>().map_or(0, |c| c.0) + 1;
        if asked < installed {
            cfg.interceptor_state().store_put(Claims(asked));
            return false;
        }
        cfg.interceptor_state().unset::<Claims>();
        true
    }

    /// This call's state: this interceptor's if it took the call, or new if no instance had and
    /// this one takes it now.
    fn state_or_take<'a>(
        &self,
        rc: &RuntimeComponents,
        cfg: &'a mut ConfigBag,
    ) -> Option<&'a mut CallState> {
        if cfg.get_mut_from_interceptor_state::<CallState>().is_none() {
            if !self.take_call(rc, cfg) {
                return None;
            }
            cfg.interceptor_state()
                .store_put(CallState::new(self.id, trace::call_span()));
        }
        self.state(cfg)
    }
}

/// What an attempt's error says, reduced to what the classifier and the logs need. Errors that
/// are not an operation error of a handled operation (timeouts, dispatch failures, ...) have no
/// code.
#[derive(Debug, Default)]
struct AttemptError<'a> {
    code: Option<&'a str>,
    request_id: Option<&'a str>,
}

impl ProvideErrorCode for AttemptError<'_> {
    fn error_code(&self) -> Option<&str> {
        self.code
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id
    }
}

impl<'a> AttemptError<'a> {
    fn of(err: &'a OrchestratorError<Error>) -> AttemptError<'a> {
        let Some(err) = err.as_operation_error() else {
            return AttemptError::default();
        };
        macro_rules! find {
            ($($ty:ty),+ $(,)?) => {$(
                if let Some(e) = err.downcast_ref::<$ty>() {
                    return AttemptError {
                        code: error_code(e),
                        request_id: e.meta().request_id(),
                    };
                }
            )+};
        }
        for_blocked_operation_errors!(find);
        AttemptError::default()
    }
}

/// True when a timeout error says it is the operation timeout, not an attempt timeout. The SDK's
/// operation timeout starts before any hook of ours can read the clock, so with a real clock our
/// `elapsed` can fall a little short of it; its message tells them apart.
fn names_the_operation_timeout(err: &OrchestratorError<Error>) -> bool {
    std::error::Error::source(err)
        .is_some_and(|source| source.to_string().starts_with("operation timeout ("))
}

fn elapsed(rc: &RuntimeComponents, start: SystemTime) -> Duration {
    now(rc).duration_since(start).unwrap_or_default()
}

fn now(rc: &RuntimeComponents) -> SystemTime {
    rc.time_source().unwrap_or_default().now()
}

#[dyn_dispatch_hint]
impl Intercept for RetryInterceptor {
    fn name(&self) -> &'static str {
        if self.related_operations {
            NAME_WITH_RELATED
        } else {
            NAME
        }
    }

    fn modify_before_retry_loop(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The only thing read before the first failure, and only for an `on_finish`: the start.
        if self.settings.on_finish.is_some()
            && cfg.interceptor_state().load::<CallStart>().is_none()
            && self.handles(cfg)
        {
            cfg.interceptor_state().store_put(CallStart(now(rc)));
        }
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
            state.waited = state.waited.saturating_add(delay);
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
        if let Some(saved) = self.state(cfg).and_then(|s| s.saved.take()) {
            // Only reachable if `read_before_attempt` did not run; never stack overrides.
            restore(cfg, saved);
        }
        let Some(Err(err)) = context.inner().output_or_error() else {
            // A success: counted if the call has state (it failed before); nothing else to do.
            if let Some(state) = self.state(cfg) {
                state.count_attempt();
            }
            return Ok(());
        };
        if !self.handles(cfg) {
            return Ok(());
        }
        let request_attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        // Kept by the guard, which runs first; this attempt included.
        let may_have_started_refresh = guard::may_have_started_refresh(cfg);
        let Some(state) = self.state_or_take(rc, cfg) else {
            return Ok(());
        };
        state.count_attempt();
        let err = AttemptError::of(err);
        // `max_elapsed` counts from the first blocked answer, as on the tower path.
        let first_blocked = &mut state.first_blocked;
        let next = after_failure(
            &self.settings,
            &mut state.schedule,
            &err,
            may_have_started_refresh,
            || {
                let now = now(rc);
                now.duration_since(*first_blocked.get_or_insert(now))
                    .unwrap_or_default()
            },
        );
        let directive = match next {
            Next::PassThrough => {
                // Not ours. The SDK decides with the user's RetryConfig and token bucket, as if
                // this were its attempt number `sdk_failures`: the user's max_attempts and backoff
                // apply to each of our attempts on its own, as they would to one tower-path call.
                state.sdk_failures += 1;
                let failures = state.sdk_failures;
                cfg.interceptor_state()
                    .store_put(RequestAttempts::new(failures));
                return Ok(());
            }
            Next::Wait(delay) => {
                let attempt = state.attempts;
                state
                    .span
                    .in_scope(|| self.settings.waiting(attempt, delay, &err));
                state.pending = Some((delay, now(rc)));
                state.new_attempt = true;
                state.sdk_failures = 0;
                // Our wait: exactly `delay`, at no cost to the client's retry quota, whatever the
                // user's retry spec or mode. The override lasts until the next attempt starts.
                let saved = override_for_wait(cfg, delay, request_attempt, &self.unlimited);
                if let Some(state) = self.state(cfg) {
                    state.saved = Some(saved);
                }
                Directive::Wait(delay)
            }
            Next::GiveUp(reason) => {
                state.stopped = Some(reason);
                Directive::Stop
            }
        };
        if let Some(response) = context.response_mut() {
            response.add_extension(directive);
        }
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.get_mut_from_interceptor_state::<CallState>().is_none() {
            // The call never failed (or failed before its first attempt). Only an `on_finish`
            // hears about it: the instance that takes the call reports it.
            let Some(CallStart(start)) = cfg.interceptor_state().load::<CallStart>().copied()
            else {
                return Ok(());
            };
            if !self.handles(cfg) || !self.take_call(rc, cfg) {
                return Ok(());
            }
            let succeeded = matches!(context.inner().output_or_error(), Some(Ok(_)));
            let stats = RetryStats::new(
                u32::from(succeeded),
                Duration::ZERO,
                elapsed(rc, start),
                if succeeded {
                    RetryOutcome::Succeeded
                } else {
                    RetryOutcome::NotRetryable
                },
            );
            self.settings.finished::<AttemptError<'_>>(&stats, None);
            return Ok(());
        }
        // The operation timeout, not an attempt timeout on the last attempt: the call's whole
        // budget is spent.
        let operation_timeout = cfg
            .load::<TimeoutConfig>()
            .and_then(|t| t.operation_timeout());
        // Read at the start for an `on_finish` (kept beside the state, not in it).
        let start = cfg.interceptor_state().load::<CallStart>().map(|s| s.0);
        let Some(state) = self.state(cfg) else {
            return Ok(());
        };
        let saved = state.saved.take();
        // From the start when an `on_finish` had it read, otherwise from the first blocked answer.
        let elapsed = start
            .or(state.first_blocked)
            .map_or(Duration::ZERO, |from| elapsed(rc, from));
        // Only the operation timeout can end a call during one of our waits.
        let cut_a_wait = state.pending.is_some();
        if let Some((delay, decided)) = state.pending.take() {
            let slept = now(rc).duration_since(decided).unwrap_or_default();
            state.waited = state.waited.saturating_add(delay.min(slept));
        }
        let last_error = match context.inner().output_or_error() {
            None | Some(Ok(_)) => None,
            Some(Err(err)) => Some(err),
        };
        let outcome = match (last_error, state.stopped) {
            (None, _) => RetryOutcome::Succeeded,
            (Some(_), Some(reason)) => RetryOutcome::GaveUp(reason),
            (Some(err), None)
                if err.is_timeout_error()
                    && operation_timeout.is_some_and(|limit| {
                        cut_a_wait || elapsed >= limit || names_the_operation_timeout(err)
                    }) =>
            {
                RetryOutcome::TimedOut
            }
            (Some(_), None) => RetryOutcome::NotRetryable,
        };
        let stats = RetryStats::new(state.attempts, state.waited, elapsed, outcome);
        let failed = last_error.is_some();
        let last_error = last_error.map(AttemptError::of);
        state
            .span
            .in_scope(|| self.settings.finished(&stats, last_error.as_ref()));
        if let Some(saved) = saved {
            restore(cfg, saved);
        }
        // For `retry_stats`, which reads them from an error's raw response. (A success's response
        // is not handed to the caller: `on_finish` has them.)
        if failed && let Some(response) = context.response_mut() {
            response.add_extension(stats);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_timeout_is_told_from_an_attempt_timeout_by_its_message() {
        // The messages of aws-smithy-runtime's timeouts (tests/all pins them against the SDK).
        let operation: OrchestratorError<Error> = OrchestratorError::timeout(
            "operation timeout (all attempts including retries) occurred after 60s".into(),
        );
        let attempt: OrchestratorError<Error> = OrchestratorError::timeout(
            "operation attempt timeout (single attempt) occurred after 2s".into(),
        );
        assert!(names_the_operation_timeout(&operation));
        assert!(!names_the_operation_timeout(&attempt));
    }
}
