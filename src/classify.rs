//! Classification: *what is this error?*
//!
//! A classifier looks at one error and returns a [`Verdict`]. It does no I/O and keeps no state.
//! The tower layer and the SDK interceptor both call [`Classifier::classify`], so an error is
//! judged the same way on both paths.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tower::BoxError;

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

/// The error code Auto Scaling returns when a group already has an active instance refresh.
///
/// ```
/// use instance_refresh_retry::{Classifier, INSTANCE_REFRESH_IN_PROGRESS};
///
/// assert_eq!(Classifier::default().codes().collect::<Vec<_>>(), [INSTANCE_REFRESH_IN_PROGRESS]);
/// ```
pub const INSTANCE_REFRESH_IN_PROGRESS: &str = "InstanceRefreshInProgress";

/// The classifier's answer for one error.
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
/// use aws_sdk_autoscaling::types::error::LimitExceededFault;
/// use instance_refresh_retry::{Classifier, Verdict};
///
/// let err = StartInstanceRefreshError::LimitExceededFault(LimitExceededFault::builder().build());
/// assert_eq!(Classifier::default().classify_error(&err), Verdict::PassThrough);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The operation is blocked by something that ends on its own (an active instance refresh):
    /// wait according to the [`RetryPolicy`](crate::RetryPolicy), then try again.
    RetryAfterWait,
    /// Not ours to handle: the error goes back to the caller (or to the SDK's own retry)
    /// untouched.
    PassThrough,
}

/// Decides which errors mean "retry after a wait".
///
/// [`Classifier::default()`] recognises only `InstanceRefreshInProgress`. Add codes of your own
/// with [`with_code`](Classifier::with_code), much like aws-sdk-go-v2's
/// `retry.AddWithErrorCodes`. Errors are recognised by their
/// [`ProvideErrorMetadata::code`] and, because errors built in tests (for example with
/// aws-smithy-mocks) carry no code, by their typed variant.
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
/// use aws_sdk_autoscaling::types::error::ResourceContentionFault;
/// use instance_refresh_retry::{Classifier, Verdict};
///
/// let err = StartInstanceRefreshError::ResourceContentionFault(
///     ResourceContentionFault::builder().build(),
/// );
/// assert_eq!(Classifier::default().classify_error(&err), Verdict::PassThrough);
///
/// let classifier = Classifier::default().with_code("ResourceContention");
/// assert_eq!(classifier.classify_error(&err), Verdict::RetryAfterWait);
/// ```
///
/// For anything a code list cannot say, [`Classifier::from_fn`] takes a function.
#[derive(Clone)]
pub struct Classifier {
    codes: Arc<[Cow<'static, str>]>,
    custom: Option<Arc<ClassifyFn>>,
}

/// A user-supplied classification function.
type ClassifyFn = dyn Fn(&dyn ProvideErrorCode) -> Verdict + Send + Sync;

impl fmt::Debug for Classifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Classifier");
        s.field("codes", &self.codes);
        if self.custom.is_some() {
            s.field("custom", &"Fn(..)");
        }
        s.finish()
    }
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            codes: Arc::new([Cow::Borrowed(INSTANCE_REFRESH_IN_PROGRESS)]),
            custom: None,
        }
    }
}

impl Classifier {
    /// A classifier that asks `f`. Handle the cases you care about and hand the rest to
    /// [`default_classifier`]. Codes added with [`with_code`](Self::with_code) are
    /// retry-after-wait before `f` is asked.
    ///
    /// ```
    /// use instance_refresh_retry::{Classifier, ProvideErrorCode, Verdict, default_classifier};
    ///
    /// let classifier = Classifier::from_fn(|err: &dyn ProvideErrorCode| match err.error_code() {
    ///     // Someone else's scaling activity: wait for it too.
    ///     Some("ScalingActivityInProgress") => Verdict::RetryAfterWait,
    ///     _ => default_classifier(err),
    /// });
    /// # #[derive(Debug)] struct E(&'static str);
    /// # impl ProvideErrorCode for E { fn error_code(&self) -> Option<&str> { Some(self.0) } }
    /// assert_eq!(classifier.classify(&E("ScalingActivityInProgress")), Verdict::RetryAfterWait);
    /// assert_eq!(classifier.classify(&E("InstanceRefreshInProgress")), Verdict::RetryAfterWait);
    /// assert_eq!(classifier.classify(&E("Throttling")), Verdict::PassThrough);
    /// ```
    pub fn from_fn<F>(f: F) -> Self
    where
        F: Fn(&dyn ProvideErrorCode) -> Verdict + Send + Sync + 'static,
    {
        Classifier {
            codes: Arc::new([]),
            custom: Some(Arc::new(f)),
        }
    }

    /// Also treats errors with this code as retry-after-wait.
    #[must_use]
    pub fn with_code(self, code: impl Into<Cow<'static, str>>) -> Self {
        self.with_codes([code])
    }

    /// Also treats errors with any of these codes as retry-after-wait.
    ///
    /// ```
    /// use instance_refresh_retry::Classifier;
    ///
    /// let c = Classifier::default().with_codes(["ResourceContention", "ScalingActivityInProgress"]);
    /// assert_eq!(c.codes().count(), 3);
    /// ```
    #[must_use]
    pub fn with_codes<I, C>(self, codes: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Cow<'static, str>>,
    {
        let mut all = self.codes.to_vec();
        for code in codes {
            let code = code.into();
            if !all.contains(&code) {
                all.push(code);
            }
        }
        Classifier {
            codes: all.into(),
            custom: self.custom,
        }
    }

    /// The codes treated as retry-after-wait (without asking a [`from_fn`](Self::from_fn)
    /// function).
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(|c| c.as_ref())
    }

    /// Classifies an error. Only AWS service errors can be retry-after-wait; timeouts, dispatch
    /// failures and unparseable responses always pass through (the SDK's own retry deals with
    /// those).
    ///
    /// `err` is usually an [`SdkError`], but any [`ProvideErrorCode`] works, including the boxed
    /// errors of tower middleware such as `Timeout`.
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
    /// use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// use aws_smithy_runtime_api::client::result::SdkError;
    /// use aws_smithy_runtime_api::http::{Response, StatusCode};
    /// use aws_smithy_types::body::SdkBody;
    /// use instance_refresh_retry::{Classifier, Verdict};
    ///
    /// let fault = InstanceRefreshInProgressFault::builder().build();
    /// let err: SdkError<_, Response> = SdkError::service_error(
    ///     StartInstanceRefreshError::InstanceRefreshInProgressFault(fault),
    ///     Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()),
    /// );
    /// assert_eq!(Classifier::default().classify(&err), Verdict::RetryAfterWait);
    ///
    /// // The same error after tower's `Timeout` boxed it:
    /// let boxed: tower::BoxError = Box::new(err);
    /// assert_eq!(Classifier::default().classify(&boxed), Verdict::RetryAfterWait);
    /// ```
    pub fn classify<T>(&self, err: &T) -> Verdict
    where
        T: ProvideErrorCode + ?Sized,
    {
        match err.error_code() {
            Some(code) if self.codes.iter().any(|c| c == code) => Verdict::RetryAfterWait,
            _ => match &self.custom {
                Some(f) => f(&err),
                None => Verdict::PassThrough,
            },
        }
    }

    /// Classifies an operation error (the `E` of `SdkError<E, R>`).
    pub fn classify_error<E>(&self, err: &E) -> Verdict
    where
        E: ProvideErrorMetadata + 'static,
    {
        self.classify(&OperationError(err))
    }
}

/// An operation error seen through [`ProvideErrorCode`].
struct OperationError<'a, E>(&'a E);

impl<E: ProvideErrorMetadata + 'static> ProvideErrorCode for OperationError<'_, E> {
    fn error_code(&self) -> Option<&str> {
        error_code(self.0)
    }

    fn request_id(&self) -> Option<&str> {
        aws_sdk_autoscaling::operation::RequestId::request_id(self.0.meta())
    }
}

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
    fn error_code(&self) -> Option<&str>;

    /// The AWS request id, for logs.
    fn request_id(&self) -> Option<&str> {
        None
    }

    /// True when this `InstanceRefreshInProgress` may be about the caller's own refresh: within
    /// the same SDK call, an earlier attempt whose outcome is unknown (lost response, timeout,
    /// broken connection, 5xx) was retried by the SDK. The tower layer then stops instead of
    /// waiting, because waiting would start a second refresh. Set by
    /// [`StartInstanceRefreshService`](crate::StartInstanceRefreshService) and the SDK
    /// interceptor; `false` by default.
    fn possibly_own_refresh(&self) -> bool {
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

    fn possibly_own_refresh(&self) -> bool {
        (**self).possibly_own_refresh()
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

    fn possibly_own_refresh(&self) -> bool {
        self.raw_response()
            .and_then(|raw| (raw as &dyn Any).downcast_ref::<HttpResponse>())
            .is_some_and(|raw| {
                raw.extension::<crate::interceptor::guard::PossiblyOwnRefresh>()
                    .is_some()
            })
    }
}

impl ProvideErrorCode for BoxError {
    fn error_code(&self) -> Option<&str> {
        boxed_sdk_error(self.as_ref()).and_then(|e| e.error_code())
    }

    fn request_id(&self) -> Option<&str> {
        boxed_sdk_error(self.as_ref()).and_then(|e| e.request_id())
    }

    fn possibly_own_refresh(&self) -> bool {
        boxed_sdk_error(self.as_ref()).is_some_and(|e| e.possibly_own_refresh())
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

/// The default classification: `InstanceRefreshInProgress` is retry-after-wait, everything else
/// passes through.
///
/// Handle the cases you care about in a [`Classifier::from_fn`] and hand the rest to this
/// function; the result plugs into both the tower layer and the SDK interceptor:
///
/// ```
/// use instance_refresh_retry::{
///     Classifier, InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, ProvideErrorCode,
///     RetryPolicy, Verdict, default_classifier,
/// };
///
/// let classifier = Classifier::from_fn(|err: &dyn ProvideErrorCode| match err.error_code() {
///     Some("ResourceContention") => Verdict::RetryAfterWait,
///     _ => default_classifier(err),
/// });
/// let layer = InstanceRefreshRetryLayer::new(RetryPolicy::default()).classifier(classifier.clone());
/// let sdk = InstanceRefreshRetryConfig::new(RetryPolicy::default()).classifier(classifier);
/// # let _ = (layer, sdk);
/// ```
pub fn default_classifier<T>(err: &T) -> Verdict
where
    T: ProvideErrorCode + ?Sized,
{
    Classifier::default().classify(err)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::operation::{
        attach_load_balancer_target_groups::AttachLoadBalancerTargetGroupsError,
        attach_load_balancers::AttachLoadBalancersError,
        attach_traffic_sources::AttachTrafficSourcesError, put_warm_pool::PutWarmPoolError,
    };
    use aws_sdk_autoscaling::types::error::{
        InstanceRefreshInProgressFault, LimitExceededFault, ResourceContentionFault,
    };
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn raw() -> Response {
        Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty())
    }

    fn in_progress() -> StartInstanceRefreshError {
        StartInstanceRefreshError::InstanceRefreshInProgressFault(
            InstanceRefreshInProgressFault::builder().build(),
        )
    }

    #[test]
    fn typed_variant_without_code_is_recognised() {
        let e = in_progress();
        assert_eq!(e.code(), None, "mock-built errors carry no code");
        assert_eq!(
            Classifier::default().classify_error(&e),
            Verdict::RetryAfterWait
        );
        let sdk: SdkError<_, Response> = SdkError::service_error(e, raw());
        assert_eq!(default_classifier(&sdk), Verdict::RetryAfterWait);
    }

    #[test]
    fn code_alone_is_recognised() {
        let meta = ErrorMetadata::builder()
            .code(INSTANCE_REFRESH_IN_PROGRESS)
            .message("An Instance Refresh is already in progress")
            .build();
        let e = StartInstanceRefreshError::generic(meta);
        assert_eq!(
            Classifier::default().classify_error(&e),
            Verdict::RetryAfterWait
        );
        // Any operation error type with the code, even an unknown one, works.
        let other = aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesError::generic(
            ErrorMetadata::builder().code(INSTANCE_REFRESH_IN_PROGRESS).build(),
        );
        assert_eq!(
            Classifier::default().classify_error(&other),
            Verdict::RetryAfterWait
        );
    }

    #[test]
    fn other_operations_typed_variants() {
        let f = || InstanceRefreshInProgressFault::builder().build();
        let c = Classifier::default();
        assert_eq!(
            c.classify_error(&AttachLoadBalancersError::InstanceRefreshInProgressFault(
                f()
            )),
            Verdict::RetryAfterWait
        );
        assert_eq!(
            c.classify_error(
                &AttachLoadBalancerTargetGroupsError::InstanceRefreshInProgressFault(f())
            ),
            Verdict::RetryAfterWait
        );
        assert_eq!(
            c.classify_error(&AttachTrafficSourcesError::InstanceRefreshInProgressFault(
                f()
            )),
            Verdict::RetryAfterWait
        );
        assert_eq!(
            c.classify_error(&PutWarmPoolError::InstanceRefreshInProgressFault(f())),
            Verdict::RetryAfterWait
        );
    }

    #[test]
    fn everything_else_passes_through() {
        let c = Classifier::default();
        let limit =
            StartInstanceRefreshError::LimitExceededFault(LimitExceededFault::builder().build());
        assert_eq!(c.classify_error(&limit), Verdict::PassThrough);
        let contention = StartInstanceRefreshError::ResourceContentionFault(
            ResourceContentionFault::builder().build(),
        );
        assert_eq!(c.classify_error(&contention), Verdict::PassThrough);
        let throttle =
            StartInstanceRefreshError::generic(ErrorMetadata::builder().code("Throttling").build());
        assert_eq!(c.classify_error(&throttle), Verdict::PassThrough);
        let no_code = StartInstanceRefreshError::unhandled("boom");
        assert_eq!(c.classify_error(&no_code), Verdict::PassThrough);
        let timeout: SdkError<StartInstanceRefreshError, Response> =
            SdkError::timeout_error("slow");
        assert_eq!(c.classify(&timeout), Verdict::PassThrough);
    }

    #[test]
    fn from_fn_sees_typed_variants_and_can_hand_back() {
        let c = Classifier::from_fn(|err: &dyn ProvideErrorCode| match err.error_code() {
            Some("LimitExceeded") => Verdict::RetryAfterWait,
            _ => default_classifier(err),
        });
        let limit =
            StartInstanceRefreshError::LimitExceededFault(LimitExceededFault::builder().build());
        assert_eq!(c.classify_error(&limit), Verdict::RetryAfterWait);
        assert_eq!(c.classify_error(&in_progress()), Verdict::RetryAfterWait);
        let contention = StartInstanceRefreshError::ResourceContentionFault(
            ResourceContentionFault::builder().build(),
        );
        assert_eq!(c.classify_error(&contention), Verdict::PassThrough);
        // Added codes answer before the function is asked.
        let c = c.with_code("ResourceContention");
        assert_eq!(c.classify_error(&contention), Verdict::RetryAfterWait);
        assert!(format!("{c:?}").contains("custom"));
        // The same on SDK errors and boxed ones.
        let sdk: SdkError<_, Response> = SdkError::service_error(limit, raw());
        assert_eq!(c.classify(&sdk), Verdict::RetryAfterWait);
        let boxed: BoxError = Box::new(sdk);
        assert_eq!(c.classify(&boxed), Verdict::RetryAfterWait);
    }

    #[test]
    fn extra_codes() {
        let c = Classifier::default()
            .with_code("ResourceContention")
            .with_code("ResourceContention");
        assert_eq!(
            c.codes().collect::<Vec<_>>(),
            [INSTANCE_REFRESH_IN_PROGRESS, "ResourceContention"]
        );
        let contention = StartInstanceRefreshError::ResourceContentionFault(
            ResourceContentionFault::builder().build(),
        );
        assert_eq!(c.classify_error(&contention), Verdict::RetryAfterWait);
        let limit =
            StartInstanceRefreshError::LimitExceededFault(LimitExceededFault::builder().build());
        assert_eq!(c.classify_error(&limit), Verdict::PassThrough);
        let c = c.with_code(String::from("LimitExceeded"));
        assert_eq!(c.classify_error(&limit), Verdict::RetryAfterWait);
        // Still recognises the original.
        assert_eq!(c.classify_error(&in_progress()), Verdict::RetryAfterWait);
    }
}
