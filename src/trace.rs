//! Tracing: one span per wrapped call, one event per retry. Only codes, ids and timings are
//! logged; never credentials, signatures, requests or responses.

use std::time::Duration;

use tracing::Span;

use crate::classify::ProvideErrorCode;
use crate::stats::RetryStats;

pub(crate) fn call_span() -> Span {
    tracing::info_span!(
        "instance_refresh_retry",
        attempts = tracing::field::Empty,
        waited_ms = tracing::field::Empty,
    )
}

fn code_and_id<T: ProvideErrorCode + ?Sized>(err: &T) -> (&str, &str) {
    (
        err.error_code().unwrap_or("<none>"),
        err.request_id().unwrap_or("<none>"),
    )
}

pub(crate) fn retrying<T: ProvideErrorCode + ?Sized>(attempt: u32, delay: Duration, err: &T) {
    let (error_code, request_id) = code_and_id(err);
    tracing::info!(
        attempt,
        delay_ms = delay.as_millis() as u64,
        error_code,
        request_id,
        "operation blocked; retrying after a wait"
    );
}

pub(crate) fn gave_up<T: ProvideErrorCode + ?Sized>(stats: &RetryStats, err: &T) {
    let (error_code, request_id) = code_and_id(err);
    record(stats);
    tracing::warn!(
        attempts = stats.attempts,
        waited_ms = stats.waited.as_millis() as u64,
        elapsed_ms = stats.elapsed.as_millis() as u64,
        reason = ?stats.outcome,
        error_code,
        request_id,
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
