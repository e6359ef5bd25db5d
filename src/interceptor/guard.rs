//! The duplicate-refresh guard: notices when `InstanceRefreshInProgress` may be about the call's
//! own refresh.
//!
//! `StartInstanceRefresh` has no idempotency token. When an attempt's outcome is unknown (its
//! response was lost, it timed out, the connection broke, or the service answered 5xx) the SDK
//! retries it, and if the first attempt did start a refresh the retry meets that very refresh:
//! `InstanceRefreshInProgress`. Waiting that out would start a *second* refresh. The guard marks
//! such a response with [`PossiblyOwnRefresh`], and both integrations stop instead of waiting.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, Error, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use crate::classify::{INSTANCE_REFRESH_IN_PROGRESS, error_code};

/// Attached to the response of a `StartInstanceRefresh` attempt that failed with
/// `InstanceRefreshInProgress` after an earlier attempt of the same call had an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PossiblyOwnRefresh;

/// Whether an earlier attempt of this call may have been applied.
#[derive(Debug, Default)]
struct GuardState {
    ambiguous: bool,
}

impl Storable for GuardState {
    type Storer = StoreReplace<Self>;
}

/// See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Guard;

/// True when the request may have been applied although the attempt failed: the SDK then retries
/// a request whose effect is unknown. `ResourceContention` (a 500) is a definite refusal.
fn outcome_unknown(err: &OrchestratorError<Error>, response: Option<&HttpResponse>) -> bool {
    err.is_timeout_error()
        || err.is_connector_error()
        || err.is_response_error()
        || (response.is_some_and(|r| r.status().is_server_error())
            && start_error_code(err) != Some("ResourceContention"))
}

fn start_error_code(err: &OrchestratorError<Error>) -> Option<&str> {
    err.as_operation_error()
        .and_then(|e| {
            e.downcast_ref::<aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError>()
        })
        .and_then(error_code)
}

fn is_start_instance_refresh(cfg: &ConfigBag) -> bool {
    cfg.load::<Metadata>().is_some_and(|m| {
        m.service() == super::hooks::SERVICE && m.name() == super::hooks::START_INSTANCE_REFRESH
    })
}

fn is_in_progress(err: &OrchestratorError<Error>) -> bool {
    start_error_code(err) == Some(INSTANCE_REFRESH_IN_PROGRESS)
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "InstanceRefreshDuplicateGuard"
    }

    fn modify_before_retry_loop(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if is_start_instance_refresh(cfg) {
            cfg.interceptor_state().store_put(GuardState::default());
        }
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(state) = cfg.get_mut_from_interceptor_state::<GuardState>() else {
            return Ok(());
        };
        let Some(Err(err)) = context.inner().output_or_error() else {
            return Ok(());
        };
        if !is_in_progress(err) {
            if outcome_unknown(err, context.inner().response()) {
                state.ambiguous = true;
            }
        } else if let Some(response) = context.response_mut().filter(|_| state.ambiguous) {
            response.add_extension(PossiblyOwnRefresh);
        }
        Ok(())
    }
}
