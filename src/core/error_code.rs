//! [`ProvideErrorCode`]: what either path needs to know about an error, whatever its type.

use std::any::{Any, TypeId};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tower::BoxError;

use super::guard::{PossiblyOwnRefresh, outcome_unknown};
use super::operation::{error_code, for_blocked_operation_errors};

/// Errors that may carry an AWS error code: what the tower layer needs to classify an error.
///
/// Implemented for [`SdkError`] (the code of its service error, if any) and for
/// [`tower::BoxError`], which is what tower middleware such as `Timeout` turns errors into: a
/// boxed `SdkError` of StartInstanceRefresh, AttachLoadBalancers, AttachLoadBalancerTargetGroups,
/// AttachTrafficSources or PutWarmPool is recognised by downcasting. Implement it for your own
/// error type to use the layer with other services.
///
/// ```
/// use instance_refresh_retry::ProvideErrorCode;
///
/// #[derive(Debug)]
/// struct MyError(&'static str);
///
/// impl ProvideErrorCode for MyError {
///     fn error_code(&self) -> Option<&str> {
///         Some(self.0)
///     }
/// }
/// assert_eq!(MyError("InstanceRefreshInProgress").error_code(), Some("InstanceRefreshInProgress"));
/// assert_eq!(MyError("x").request_id(), None);
/// ```
pub trait ProvideErrorCode {
    /// The AWS error code (`InstanceRefreshInProgress`, `Throttling`, ...), or `None` when the
    /// error is not an AWS service error.
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
    /// use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// use instance_refresh_retry::{ProvideErrorCode, StartInstanceRefreshSdkError};
    /// # use aws_smithy_runtime_api::http::{Response, StatusCode};
    /// # use aws_smithy_types::body::SdkBody;
    /// # let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
    ///
    /// let fault = InstanceRefreshInProgressFault::builder().build();
    /// let err = StartInstanceRefreshSdkError::service_error(
    ///     StartInstanceRefreshError::InstanceRefreshInProgressFault(fault),
    ///     raw,
    /// );
    /// assert_eq!(err.error_code(), Some("InstanceRefreshInProgress"));
    /// // Not a service error: no code.
    /// assert_eq!(StartInstanceRefreshSdkError::timeout_error("slow").error_code(), None);
    /// ```
    fn error_code(&self) -> Option<&str>;

    /// The AWS request id, for logs.
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
    /// use aws_smithy_types::error::ErrorMetadata;
    /// use instance_refresh_retry::{ProvideErrorCode, StartInstanceRefreshSdkError};
    /// # use aws_smithy_runtime_api::http::{Response, StatusCode};
    /// # use aws_smithy_types::body::SdkBody;
    /// # let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
    ///
    /// // Where the SDK keeps the `x-amzn-RequestId` of a service error:
    /// let meta = ErrorMetadata::builder().code("Throttling").custom("aws_request_id", "req-1");
    /// let err = StartInstanceRefreshSdkError::service_error(
    ///     StartInstanceRefreshError::generic(meta.build()),
    ///     raw,
    /// );
    /// assert_eq!(err.request_id(), Some("req-1"));
    /// ```
    fn request_id(&self) -> Option<&str> {
        None
    }

    /// True when the failed call may nonetheless have started an instance refresh: the outcome of
    /// one of its attempts is unknown (a lost response, a timeout, a broken connection, a 5xx other
    /// than `ResourceContention`). The tower layer then waits no more for the rest of the call,
    /// whatever the classifier says, because a later attempt could start a second refresh. See
    /// [No second refresh](crate#no-second-refresh-after-an-unknown-outcome).
    ///
    /// The SDK errors of `StartInstanceRefresh` answer it (best with
    /// [`StartInstanceRefreshService`](crate::StartInstanceRefreshService), which also sees the
    /// SDK's own retries inside one call); the SDK errors of the other operations say `false`.
    /// Inside a `BoxError`, only the `SdkError<_, HttpResponse>` of the five operations that
    /// `InstanceRefreshInProgress` blocks is recognised; any other boxed error (a boxed `SdkError`
    /// of another operation included) has no code and says `true`: its outcome cannot be read, so
    /// it is assumed to be unknown. Implement it for your own error type if a failure can leave a
    /// start's outcome unknown; the default is `false`.
    ///
    /// ```
    /// use instance_refresh_retry::{ProvideErrorCode, StartInstanceRefreshSdkError};
    /// # use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
    /// # use aws_smithy_runtime_api::http::{Response, StatusCode};
    /// # use aws_smithy_types::{body::SdkBody, error::ErrorMetadata};
    /// # fn answer(status: u16, code: &str) -> StartInstanceRefreshSdkError {
    /// #     let meta = ErrorMetadata::builder().code(code).build();
    /// #     let error = StartInstanceRefreshError::generic(meta);
    /// #     let raw = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
    /// #     StartInstanceRefreshSdkError::service_error(error, raw)
    /// # }
    ///
    /// // Unknown outcomes: no answer in time, or a server error while handling the request.
    /// let timeout = StartInstanceRefreshSdkError::timeout_error("no answer within 30s");
    /// assert!(timeout.may_have_started_refresh());
    /// // (`answer` builds the service error of an HTTP status and an error code.)
    /// assert!(answer(500, "InternalFailure").may_have_started_refresh());
    /// // Definite refusals: nothing was started.
    /// assert!(!answer(400, "Throttling").may_have_started_refresh());
    /// assert!(!answer(500, "ResourceContention").may_have_started_refresh());
    /// ```
    fn may_have_started_refresh(&self) -> bool {
        false
    }
}

impl<T: ProvideErrorCode + ?Sized> ProvideErrorCode for &T {
    fn error_code(&self) -> Option<&str> {
        (**self).error_code()
    }

    fn request_id(&self) -> Option<&str> {
        (**self).request_id()
    }

    fn may_have_started_refresh(&self) -> bool {
        (**self).may_have_started_refresh()
    }
}

impl<E, R> ProvideErrorCode for SdkError<E, R>
where
    E: ProvideErrorMetadata + 'static,
    R: 'static,
{
    fn error_code(&self) -> Option<&str> {
        self.as_service_error().and_then(error_code)
    }

    fn request_id(&self) -> Option<&str> {
        self.as_service_error()
            .and_then(|e| aws_sdk_autoscaling::operation::RequestId::request_id(e.meta()))
    }

    fn may_have_started_refresh(&self) -> bool {
        if TypeId::of::<E>() != TypeId::of::<StartInstanceRefreshError>() {
            return false;
        }
        let raw = self
            .raw_response()
            .and_then(|raw| (raw as &dyn Any).downcast_ref::<HttpResponse>());
        if raw.is_some_and(|r| r.extension::<PossiblyOwnRefresh>().is_some()) {
            // An earlier attempt of this SDK call had an unknown outcome (the guard marked it).
            return true;
        }
        match self {
            SdkError::ConstructionFailure(_) => false,
            SdkError::ServiceError(_) => {
                outcome_unknown(false, raw.map(|r| r.status().as_u16()), self.error_code())
            }
            // Timeouts, dispatch failures, unreadable responses, and whatever comes next.
            _ => true,
        }
    }
}

impl ProvideErrorCode for BoxError {
    fn error_code(&self) -> Option<&str> {
        boxed_sdk_error(self.as_ref()).and_then(|e| e.error_code())
    }

    fn request_id(&self) -> Option<&str> {
        boxed_sdk_error(self.as_ref()).and_then(|e| e.request_id())
    }

    fn may_have_started_refresh(&self) -> bool {
        boxed_sdk_error(self.as_ref()).is_none_or(|e| e.may_have_started_refresh())
    }
}

/// Finds the SDK error of an affected operation inside a boxed error.
fn boxed_sdk_error<'a>(
    err: &'a (dyn std::error::Error + Send + Sync + 'static),
) -> Option<&'a dyn ProvideErrorCode> {
    macro_rules! find {
        ($($ty:ty),+ $(,)?) => {$(
            if let Some(e) = err.downcast_ref::<SdkError<$ty, HttpResponse>>() {
                return Some(e);
            }
        )+};
    }
    for_blocked_operation_errors!(find);
    None
}

/// An operation error seen through [`ProvideErrorCode`].
pub(crate) struct OperationError<'a, E>(pub(crate) &'a E);

impl<E: ProvideErrorMetadata + 'static> ProvideErrorCode for OperationError<'_, E> {
    fn error_code(&self) -> Option<&str> {
        error_code(self.0)
    }

    fn request_id(&self) -> Option<&str> {
        aws_sdk_autoscaling::operation::RequestId::request_id(self.0.meta())
    }
}
