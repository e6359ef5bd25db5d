//! Classification: *what is this error?*
//!
//! A classifier looks at one error and returns a [`Verdict`]. It does no I/O and keeps no state.
//! The tower layer and the SDK interceptor both call [`Classifier::classify`], so an error is
//! judged the same way on both paths.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error_code::{OperationError, ProvideErrorCode};
use super::operation::INSTANCE_REFRESH_IN_PROGRESS;

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

/// `Classifier::default()` is cheap: a clone of this one.
static DEFAULT: LazyLock<Classifier> = LazyLock::new(|| Classifier {
    codes: Arc::new([Cow::Borrowed(INSTANCE_REFRESH_IN_PROGRESS)]),
    custom: None,
});

/// The default classification: `InstanceRefreshInProgress` is retry-after-wait, everything else
/// passes through. Cheap (no allocation), so a [`from_fn`](Classifier::from_fn) function can hand
/// every case it does not handle to `Classifier::default().classify(err)`.
impl Default for Classifier {
    fn default() -> Self {
        DEFAULT.clone()
    }
}

impl Classifier {
    /// A classifier that asks `f`. Handle the cases you care about and hand the rest to
    /// `Classifier::default()`. Codes added with [`with_code`](Self::with_code) are
    /// retry-after-wait before `f` is asked. The result plugs into both paths:
    /// [`InstanceRefreshRetryLayer::classifier`](crate::InstanceRefreshRetryLayer::classifier) and
    /// [`InstanceRefreshRetryConfig::classifier`](crate::InstanceRefreshRetryConfig::classifier).
    ///
    /// ```
    /// use instance_refresh_retry::{Classifier, ProvideErrorCode, Verdict};
    ///
    /// let classifier = Classifier::from_fn(|err: &dyn ProvideErrorCode| match err.error_code() {
    ///     // Someone else's scaling activity: wait for it too.
    ///     Some("ScalingActivityInProgress") => Verdict::RetryAfterWait,
    ///     _ => Classifier::default().classify(err),
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

    /// Also treats errors with this code as retry-after-wait. A code already present is not added
    /// twice.
    ///
    /// ```
    /// use instance_refresh_retry::Classifier;
    ///
    /// let code = String::from("ScalingActivityInProgress"); // a `&'static str` or a `String`
    /// let classifier = Classifier::default().with_code("ResourceContention").with_code(code);
    /// assert_eq!(
    ///     classifier.codes().collect::<Vec<_>>(),
    ///     ["InstanceRefreshInProgress", "ResourceContention", "ScalingActivityInProgress"]
    /// );
    /// assert_eq!(classifier.with_code("ResourceContention").codes().count(), 3);
    /// ```
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
    ///
    /// ```
    /// use instance_refresh_retry::{Classifier, INSTANCE_REFRESH_IN_PROGRESS};
    ///
    /// assert!(Classifier::default().codes().eq([INSTANCE_REFRESH_IN_PROGRESS]));
    /// // A `from_fn` classifier starts with none: its function decides.
    /// let custom = Classifier::from_fn(|err| Classifier::default().classify(err));
    /// assert_eq!(custom.codes().count(), 0);
    /// ```
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(|c| c.as_ref())
    }

    /// Classifies an error. With codes alone, only errors that carry a code (AWS service errors)
    /// can be retry-after-wait; timeouts, dispatch failures and unparseable responses pass through
    /// (the SDK's own retry deals with those). A [`from_fn`](Self::from_fn) function is asked
    /// about errors without a code too; for `StartInstanceRefresh`, the duplicate guard then stops
    /// the call rather than wait after an error whose outcome is unknown.
    ///
    /// `err` is usually an [`SdkError`](aws_smithy_runtime_api::client::result::SdkError), but any [`ProvideErrorCode`] works, including the boxed
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

    /// Classifies an operation error (the `E` of `SdkError<E, R>`, as
    /// [`as_service_error`](aws_smithy_runtime_api::client::result::SdkError::as_service_error)
    /// returns it).
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
    /// use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
    /// use aws_smithy_types::error::ErrorMetadata;
    /// use instance_refresh_retry::{Classifier, Verdict};
    ///
    /// // A typed variant without a code (as aws-smithy-mocks builds it)...
    /// let fault = InstanceRefreshInProgressFault::builder().build();
    /// let typed = StartInstanceRefreshError::InstanceRefreshInProgressFault(fault);
    /// assert_eq!(Classifier::default().classify_error(&typed), Verdict::RetryAfterWait);
    /// // ...or an error with the code in its metadata (as the SDK parses it).
    /// let throttled = ErrorMetadata::builder().code("Throttling").build();
    /// let coded = StartInstanceRefreshError::generic(throttled);
    /// assert_eq!(Classifier::default().classify_error(&coded), Verdict::PassThrough);
    /// ```
    pub fn classify_error<E>(&self, err: &E) -> Verdict
    where
        E: ProvideErrorMetadata + 'static,
    {
        self.classify(&OperationError(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
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
    use tower::BoxError;

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
        assert_eq!(
            Classifier::default().classify(&sdk),
            Verdict::RetryAfterWait
        );
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
            _ => Classifier::default().classify(err),
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
