//! The names Auto Scaling uses: the operations this crate handles, the error code it waits out,
//! and how to read that code from an operation error (typed variant or error metadata).

use std::any::Any;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The service name the SDK stores in its operation `Metadata` (with a space).
pub(crate) const SERVICE: &str = "Auto Scaling";
/// The operation that starts a refresh: the one both paths always handle, and the one the
/// duplicate guard watches.
pub(crate) const START_INSTANCE_REFRESH: &str = "StartInstanceRefresh";
/// The other operations that Auto Scaling refuses with `InstanceRefreshInProgress`.
pub(crate) const RELATED_OPERATIONS: [&str; 4] = [
    "AttachLoadBalancers",
    "AttachLoadBalancerTargetGroups",
    "AttachTrafficSources",
    "PutWarmPool",
];

/// The error code Auto Scaling returns when a group already has an active instance refresh.
///
/// ```
/// use instance_refresh_retry::{Classifier, INSTANCE_REFRESH_IN_PROGRESS};
///
/// assert_eq!(Classifier::default().codes().collect::<Vec<_>>(), [INSTANCE_REFRESH_IN_PROGRESS]);
/// ```
pub const INSTANCE_REFRESH_IN_PROGRESS: &str = "InstanceRefreshInProgress";

/// The error of `StartInstanceRefresh` on both paths: the SDK's own error type, unchanged.
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
/// use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
/// use instance_refresh_retry::StartInstanceRefreshSdkError;
/// # use aws_smithy_runtime_api::http::{Response, StatusCode};
/// # use aws_smithy_types::body::SdkBody;
/// # let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
///
/// let fault = InstanceRefreshInProgressFault::builder().build();
/// let err = StartInstanceRefreshSdkError::service_error(
///     StartInstanceRefreshError::InstanceRefreshInProgressFault(fault),
///     raw,
/// );
/// // What the SDK's own `send()` returns, so the SDK's checks keep working:
/// assert!(err.as_service_error().unwrap().is_instance_refresh_in_progress_fault());
/// ```
pub type StartInstanceRefreshSdkError = SdkError<StartInstanceRefreshError, HttpResponse>;

/// Calls `$m!` with the error types of every operation that Auto Scaling refuses with
/// `InstanceRefreshInProgress`: the one list the classifier, the boxed-error lookup and the SDK
/// interceptor share.
macro_rules! for_blocked_operation_errors {
    ($m:ident) => {
        $m!(
            aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError,
            aws_sdk_autoscaling::operation::attach_load_balancers::AttachLoadBalancersError,
            aws_sdk_autoscaling::operation::attach_load_balancer_target_groups::AttachLoadBalancerTargetGroupsError,
            aws_sdk_autoscaling::operation::attach_traffic_sources::AttachTrafficSourcesError,
            aws_sdk_autoscaling::operation::put_warm_pool::PutWarmPoolError,
        )
    };
}
pub(crate) use for_blocked_operation_errors;

/// The error code: from the error metadata if present, otherwise from the typed variant of the
/// operation errors that can be `InstanceRefreshInProgress`.
pub(crate) fn error_code<E>(err: &E) -> Option<&str>
where
    E: ProvideErrorMetadata + 'static,
{
    err.code().or_else(|| typed_code(err))
}

/// Maps the modelled variants of the affected operations' errors to their wire codes.
fn typed_code(err: &dyn Any) -> Option<&'static str> {
    if let Some(e) = err.downcast_ref::<StartInstanceRefreshError>() {
        return match e {
            StartInstanceRefreshError::InstanceRefreshInProgressFault(_) => {
                Some(INSTANCE_REFRESH_IN_PROGRESS)
            }
            StartInstanceRefreshError::ResourceContentionFault(_) => Some("ResourceContention"),
            StartInstanceRefreshError::LimitExceededFault(_) => Some("LimitExceeded"),
            _ => None,
        };
    }
    macro_rules! typed {
        ($($ty:ty),+ $(,)?) => {$(
            if let Some(e) = err.downcast_ref::<$ty>() {
                return if e.is_instance_refresh_in_progress_fault() {
                    Some(INSTANCE_REFRESH_IN_PROGRESS)
                } else if e.is_resource_contention_fault() {
                    Some("ResourceContention")
                } else {
                    None
                };
            }
        )+};
    }
    // StartInstanceRefreshError was handled above (it also has LimitExceeded).
    for_blocked_operation_errors!(typed);
    None
}
