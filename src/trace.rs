//! Tracing: one span per wrapped call, one event per retry. Only codes, ids and timings are
//! logged; never credentials, signatures, requests or responses.

use std::time::Duration;

use aws_sdk_autoscaling::operation::RequestId;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tracing::Span;

use crate::classify::error_code;
use crate::stats::RetryStats;

pub(crate) fn call_span() -> Span {
    tracing::info_span!(
        "instance_refresh_retry",
        attempts = tracing::field::Empty,
        waited_ms = tracing::field::Empty,
    )
}

fn code_and_id<E: ProvideErrorMetadata + 'static>(err: Option<&E>) -> (&str, &str) {
    let code = err.and_then(error_code).unwrap_or("<none>");
    let id = err.and_then(|e| e.meta().request_id()).unwrap_or("<none>");
    (code, id)
}

pub(crate) fn retrying<E: ProvideErrorMetadata + 'static>(
    attempt: u32,
    delay: Duration,
    err: Option<&E>,
) {
    let (error_code, request_id) = code_and_id(err);
    tracing::info!(
        attempt,
        delay_ms = delay.as_millis() as u64,
        error_code,
        request_id,
        "operation blocked; retrying after a wait"
    );
}

pub(crate) fn gave_up<E: ProvideErrorMetadata + 'static>(stats: &RetryStats, err: Option<&E>) {
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
