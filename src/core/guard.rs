//! The duplicate-refresh guard: *could this call have started a refresh already?*
//!
//! `StartInstanceRefresh` has no idempotency token. When an attempt's outcome is unknown (its
//! response was lost, it timed out, the connection broke, or the service answered a 5xx other than
//! `ResourceContention`), that attempt may have started a refresh. A later attempt of the same
//! call then meets that very refresh as `InstanceRefreshInProgress`; waiting it out, or waiting
//! and trying again after it ended, would start a *second* refresh of the whole group.
//!
//! So once a call may have started a refresh, the guard vetoes every further wait (see
//! [`attempt`](super::attempt)): the call stops with [`StopReason::PossiblyOwnRefresh`] and the
//! last error. Both paths ask the same question:
//!
//! - the SDK path reads [`may_have_started_refresh`] from the call's `ConfigBag`, which the
//!   [`Guard`] interceptor keeps for the whole call, waits included;
//! - the tower path remembers, for the whole tower call, whether any inner call's error said
//!   [`ProvideErrorCode::may_have_started_refresh`]. The SDK errors of
//!   [`StartInstanceRefreshService`](crate::StartInstanceRefreshService) say so when the error
//!   itself has an unknown outcome, or when the [`Guard`] it installs marked the response
//!   ([`PossiblyOwnRefresh`]) because an earlier attempt of the same SDK call had one.
//!
//! [`StopReason::PossiblyOwnRefresh`]: super::outcome::StopReason::PossiblyOwnRefresh
//! [`ProvideErrorCode::may_have_started_refresh`]: super::error_code::ProvideErrorCode::may_have_started_refresh

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    Error, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::operation::{SERVICE, START_INSTANCE_REFRESH, error_code};

/// The one error code among the 5xx answers that is a definite refusal, not an unknown outcome.
const RESOURCE_CONTENTION: &str = "ResourceContention";

/// Attached to the response of a `StartInstanceRefresh` attempt once the call may have started a
/// refresh (this attempt's outcome, or an earlier one's, is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PossiblyOwnRefresh;

/// True when a failed attempt may have been applied: the SDK then retries (or we would wait and
/// retry) a request whose effect is unknown. `transport` is a timeout, a connector error or an
/// unreadable response; `status` and `code` describe a service's answer.
pub(crate) fn outcome_unknown(transport: bool, status: Option<u16>, code: Option<&str>) -> bool {
    transport
        || (status.is_some_and(|s| (500..600).contains(&s)) && code != Some(RESOURCE_CONTENTION))
}

/// Whether an attempt of this call may have started a refresh. Put in the call's interceptor
/// state at the first attempt whose outcome is unknown, never before: a call that is only refused
/// (every call that waits) carries none, one `ConfigBag` entry fewer while it waits.
#[derive(Debug)]
struct GuardState {
    may_have_started: bool,
}

impl Storable for GuardState {
    type Storer = StoreReplace<Self>;
}

/// True when an attempt of the current `StartInstanceRefresh` call (the one that just completed
/// included) may have started a refresh. Kept by the [`Guard`] interceptor, which must be
/// installed before any interceptor that reads this in `modify_before_attempt_completion`.
pub(crate) fn may_have_started_refresh(cfg: &ConfigBag) -> bool {
    cfg.load::<GuardState>().is_some_and(|s| s.may_have_started)
}

/// The SDK interceptor that keeps [`may_have_started_refresh`] for one `StartInstanceRefresh` call
/// and marks its responses with [`PossiblyOwnRefresh`] from then on. Both paths install it: the
/// SDK path with its own interceptor, the tower path in
/// [`StartInstanceRefreshService`](crate::StartInstanceRefreshService).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Guard;

fn attempt_outcome_unknown(
    err: &OrchestratorError<Error>,
    response: Option<&HttpResponse>,
) -> bool {
    let code = err
        .as_operation_error()
        .and_then(|e| {
            e.downcast_ref::<aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError>()
        })
        .and_then(error_code);
    outcome_unknown(
        err.is_timeout_error() || err.is_connector_error() || err.is_response_error(),
        response.map(|r| r.status().as_u16()),
        code,
    )
}

fn is_start_instance_refresh(cfg: &ConfigBag) -> bool {
    cfg.load::<Metadata>()
        .is_some_and(|m| m.service() == SERVICE && m.name() == START_INSTANCE_REFRESH)
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "InstanceRefreshDuplicateGuard"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !is_start_instance_refresh(cfg) {
            return Ok(());
        }
        // Stored only once an attempt's outcome is unknown: a call that was only ever refused
        // (a call that waits, for one) carries no state of the guard.
        let mut may_have_started = may_have_started_refresh(cfg);
        if !may_have_started
            && let Some(Err(err)) = context.inner().output_or_error()
            && attempt_outcome_unknown(err, context.inner().response())
        {
            cfg.interceptor_state().store_put(GuardState {
                may_have_started: true,
            });
            may_have_started = true;
        }
        if may_have_started && let Some(response) = context.response_mut() {
            response.add_extension(PossiblyOwnRefresh);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::outcome_unknown;

    #[test]
    fn which_failures_leave_the_outcome_unknown() {
        // Timeouts, broken connections and unreadable responses: the request may have been applied.
        assert!(outcome_unknown(true, None, None));
        assert!(outcome_unknown(true, Some(200), None));
        // A 5xx, except ResourceContention, which is a definite refusal.
        assert!(outcome_unknown(false, Some(500), Some("InternalFailure")));
        assert!(outcome_unknown(false, Some(503), None));
        assert!(!outcome_unknown(
            false,
            Some(500),
            Some("ResourceContention")
        ));
        // Any 4xx is a refusal: the request was not applied.
        assert!(!outcome_unknown(
            false,
            Some(400),
            Some("InstanceRefreshInProgress")
        ));
        assert!(!outcome_unknown(false, Some(400), Some("Throttling")));
        assert!(!outcome_unknown(false, None, None));
    }
}
