//! The directive: the interceptor's decision about one attempt, and the SDK retry classifier that
//! hands it to the SDK's retry strategy.
//!
//! A `ClassifyRetry` sees only the attempt's context, not the `ConfigBag`, so the interceptor
//! attaches its decision to the attempt's response and this classifier reads it back.

use std::time::Duration;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_types::retry::ErrorKind;

/// The interceptor's decision about one attempt, attached to that attempt's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Directive {
    /// Retry after exactly this long.
    Wait(Duration),
    /// The policy gave up: do not retry.
    Stop,
}

/// Turns a [`Directive`] into a [`RetryAction`]; abstains on responses without one, so every other
/// error keeps the SDK's classification.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DirectiveClassifier;

impl ClassifyRetry for DirectiveClassifier {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response().and_then(|r| r.extension::<Directive>()) {
            Some(Directive::Wait(delay)) => {
                RetryAction::retryable_error_with_explicit_delay(ErrorKind::ClientError, *delay)
            }
            Some(Directive::Stop) => RetryAction::RetryForbidden,
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "InstanceRefreshRetryClassifier"
    }

    /// Runs after the SDK's own classifiers, so its explicit delay is the one that counts.
    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::interceptors::context::{Input, InterceptorContext};
    use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn ctx(directive: Option<Directive>) -> InterceptorContext {
        let mut ctx = InterceptorContext::new(Input::doesnt_matter());
        let mut response = HttpResponse::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        if let Some(d) = directive {
            response.add_extension(d);
        }
        ctx.set_response(response);
        ctx.set_output_or_error(Err(OrchestratorError::other("blocked")));
        ctx
    }

    #[test]
    fn reads_the_directive() {
        let d = Duration::from_secs(90);
        assert_eq!(
            DirectiveClassifier.classify_retry(&ctx(Some(Directive::Wait(d)))),
            RetryAction::retryable_error_with_explicit_delay(ErrorKind::ClientError, d)
        );
        assert_eq!(
            DirectiveClassifier.classify_retry(&ctx(Some(Directive::Stop))),
            RetryAction::RetryForbidden
        );
        assert_eq!(
            DirectiveClassifier.classify_retry(&ctx(None)),
            RetryAction::NoActionIndicated
        );
        let no_response = InterceptorContext::new(Input::doesnt_matter());
        assert_eq!(
            DirectiveClassifier.classify_retry(&no_response),
            RetryAction::NoActionIndicated
        );
    }

    #[test]
    fn runs_after_the_sdk_classifiers() {
        for sdk in [
            RetryClassifierPriority::http_status_code_classifier(),
            RetryClassifierPriority::modeled_as_retryable_classifier(),
            RetryClassifierPriority::transient_error_classifier(),
        ] {
            assert!(DirectiveClassifier.priority() > sdk);
        }
    }
}
