//! What one installation of either path is configured with (the policy, the classifier, the
//! callbacks), and the two moments both paths report: a wait, and the end of a call.

use std::time::Duration;

use super::classify::Classifier;
use super::error_code::ProvideErrorCode;
use super::outcome::{OnFinish, OnRetry, RetryEvent, RetryOutcome, RetryStats};
use super::policy::RetryPolicy;
use super::trace;

/// The options both paths share. The SDK interceptor adds which operations it handles, the tower
/// layer its sleep and time source.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) policy: RetryPolicy,
    pub(crate) classifier: Classifier,
    pub(crate) on_retry: Option<OnRetry>,
    pub(crate) on_finish: Option<OnFinish>,
}

impl Settings {
    /// This policy, the default classifier, no callbacks.
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Settings {
            policy,
            classifier: Classifier::default(),
            on_retry: None,
            on_finish: None,
        }
    }

    /// Reports a wait: the `INFO` event and `on_retry`. Call it inside the call's span.
    pub(crate) fn waiting<E>(&self, attempt: u32, delay: Duration, err: &E)
    where
        E: ProvideErrorCode + ?Sized,
    {
        let event = RetryEvent {
            attempt,
            delay,
            error_code: err.error_code(),
            request_id: err.request_id(),
        };
        trace::retrying(&event);
        if let Some(on_retry) = &self.on_retry {
            (on_retry.0)(&event);
        }
    }

    /// Reports the end of a call: the `WARN` event when it gave up (with the last error), a
    /// `DEBUG` event otherwise, and `on_finish`. Call it inside the call's span.
    pub(crate) fn finished<E>(&self, stats: &RetryStats, last_error: Option<&E>)
    where
        E: ProvideErrorCode + ?Sized,
    {
        match (stats.outcome, last_error) {
            (RetryOutcome::GaveUp(_), Some(err)) => trace::gave_up(stats, err),
            _ => trace::finished(stats),
        }
        if let Some(on_finish) = &self.on_finish {
            (on_finish.0)(stats);
        }
    }
}
