//! Tracing: one span per wrapped call, one event per wait, one at the end. Only codes, ids and
//! timings are logged; never credentials, signatures, requests or responses.

use tracing::Span;

use super::error_code::ProvideErrorCode;
use super::outcome::{RetryEvent, RetryStats};

pub(crate) fn call_span() -> Span {
    tracing::info_span!(
        "instance_refresh_retry",
        attempts = tracing::field::Empty,
        waited_ms = tracing::field::Empty,
    )
}

pub(crate) fn retrying(event: &RetryEvent<'_>) {
    tracing::info!(
        attempt = event.attempt,
        delay_ms = event.delay.as_millis() as u64,
        error_code = event.error_code.unwrap_or("<none>"),
        request_id = event.request_id.unwrap_or("<none>"),
        "operation blocked; retrying after a wait"
    );
}

pub(crate) fn gave_up<T: ProvideErrorCode + ?Sized>(stats: &RetryStats, err: &T) {
    record(stats);
    tracing::warn!(
        attempts = stats.attempts,
        waited_ms = stats.waited.as_millis() as u64,
        elapsed_ms = stats.elapsed.as_millis() as u64,
        reason = ?stats.outcome,
        error_code = err.error_code().unwrap_or("<none>"),
        request_id = err.request_id().unwrap_or("<none>"),
        "giving up; returning the last error"
    );
}

pub(crate) fn finished(stats: &RetryStats) {
    record(stats);
    tracing::debug!(
        attempts = stats.attempts,
        waited_ms = stats.waited.as_millis() as u64,
        outcome = ?stats.outcome,
        "call finished"
    );
}

fn record(stats: &RetryStats) {
    let span = Span::current();
    span.record("attempts", stats.attempts);
    span.record("waited_ms", stats.waited.as_millis() as u64);
}
