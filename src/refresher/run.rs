//! One Refresher call in motion: its schedule, clock, counters and memory of the refresh it
//! watches, and the few things it does (describe, wait, report). Both flows, starting and waiting
//! for completion, are built from these.

use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesError;
use aws_sdk_autoscaling::types::InstanceRefresh;
use aws_smithy_async::rt::sleep::AsyncSleep;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use tracing::Span;

use super::activity::{MAX_LAUNCHES, launches};
use super::error::{RefreshError, RefreshErrorKind};
use super::estimate::{Estimate, Look, Memory};
use super::observe::Refresh;
use super::options::Inner;
use super::progress::Progress;
use crate::core::outcome::{RetryOutcome, RetryStats, StopReason};
use crate::core::schedule::{Decision, Schedule};

pub(crate) type DescribeSdkError = SdkError<DescribeInstanceRefreshesError, HttpResponse>;
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How many refreshes one describe of a group asks for: the active one and recent history.
const HISTORY: i32 = 20;

pub(crate) struct Run<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) group: String,
    pub(crate) schedule: Schedule,
    /// The time source's reading when the call began.
    pub(crate) start: SystemTime,
    /// When `max_elapsed` (or `max_wait`) runs out.
    pub(crate) deadline: Option<SystemTime>,
    pub(crate) attempts: u32,
    pub(crate) describes: u32,
    /// `DescribeScalingActivities` calls.
    pub(crate) activity_reads: u32,
    pub(crate) waited: Duration,
    pub(crate) memory: Memory,
    /// Describes in a row that found nothing active although a start was refused.
    pub(crate) nothing_active: u32,
    /// The next look at the blocker, after a wait (a probe: the last start was one).
    pub(crate) look: Look,
    /// The last describe (or start) that saw the blocker's status, and its `StartTime`.
    pub(crate) status_seen: Option<SystemTime>,
    pub(crate) blocker_start: Option<SystemTime>,
    /// The last SDK error, the source of a give-up.
    pub(crate) last_error: Option<BoxError>,
    pub(crate) span: Span,
}

impl<'a> Run<'a> {
    pub(crate) fn new(inner: &'a Inner, group: &str, max_elapsed: Option<Duration>) -> Run<'a> {
        let policy = match max_elapsed {
            Some(limit) => inner
                .policy
                .to_builder()
                .max_elapsed(limit)
                .build()
                .unwrap_or_else(|_| inner.policy.clone()),
            None => inner.policy.clone(),
        };
        let start = inner.time.now();
        Run {
            inner,
            group: group.to_owned(),
            deadline: policy.max_elapsed().and_then(|m| start.checked_add(m)),
            schedule: policy.schedule(),
            start,
            attempts: 0,
            describes: 0,
            activity_reads: 0,
            waited: Duration::ZERO,
            memory: Memory::default(),
            nothing_active: 0,
            look: Look::Describe,
            status_seen: None,
            blocker_start: None,
            last_error: None,
            span: tracing::info_span!("instance_refresh_retry", group = group),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.time.now()
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.now().duration_since(self.start).unwrap_or_default()
    }

    pub(crate) fn stats(&self, outcome: RetryOutcome) -> RetryStats {
        let mut stats = RetryStats::new(self.attempts, self.waited, self.elapsed(), outcome);
        stats.describe_calls = self.describes;
        stats.activity_calls = self.activity_reads;
        stats
    }

    pub(crate) fn error(&mut self, kind: RefreshErrorKind) -> RefreshError {
        let outcome = match &kind {
            RefreshErrorKind::GaveUp(reason) => RetryOutcome::GaveUp(*reason),
            _ => RetryOutcome::NotRetryable,
        };
        RefreshError::new(kind, self.stats(outcome), self.last_error.take())
    }

    /// The group's refreshes, newest first (or one refresh, by id).
    pub(crate) async fn describe(
        &mut self,
        id: Option<&str>,
    ) -> Result<Vec<InstanceRefresh>, DescribeSdkError> {
        self.describes = self.describes.saturating_add(1);
        let mut request = self
            .inner
            .client
            .describe_instance_refreshes()
            .auto_scaling_group_name(&self.group);
        request = match id {
            Some(id) => request.instance_refresh_ids(id),
            None => request.max_records(HISTORY),
        };
        request
            .send()
            .await
            .map(|out| out.instance_refreshes().to_vec())
    }

    /// The group's active refresh (`None` when nothing blocks a start).
    pub(crate) async fn active(&mut self) -> Result<Option<Refresh>, DescribeSdkError> {
        let refreshes = self.describe(None).await?;
        Ok(refreshes
            .iter()
            .map(Refresh::of)
            .find(|r| r.phase.is_active()))
    }

    /// Records a describe of `refresh` and, when the estimate asks for them, reads the group's
    /// scaling activities: the estimate after both.
    pub(crate) async fn check(&mut self, refresh: &Refresh) -> Estimate {
        let now = self.now();
        self.status_seen = Some(now);
        self.blocker_start = refresh.start_time;
        let estimate = self.memory.observe(refresh, now);
        if !estimate.wants_activities {
            return estimate;
        }
        self.read_activities().await.unwrap_or(estimate)
    }

    /// The look the estimate asked for after a sleep: a read of the activities alone, unless
    /// it is time to see the refresh's status again (`max_check_interval` since the last
    /// describe or start), which a describe does.
    pub(crate) fn next_look(&self, estimate: &Estimate) -> Look {
        let stale = self.status_seen.is_none_or(|t| {
            self.now().duration_since(t).unwrap_or_default() >= self.inner.max_check_interval
        });
        match estimate.look {
            Look::Activities if stale => Look::Describe,
            look => look,
        }
    }

    /// A read of the activities alone: the estimate after it (the last one, if it failed and
    /// may be tried again).
    pub(crate) async fn look_at_activities(&mut self) -> Estimate {
        match self.read_activities().await {
            Some(estimate) => estimate,
            None => {
                let now = self.now();
                self.memory.refused(now)
            }
        }
    }

    /// One page of the group's scaling activities (in progress first, then the newest), reduced
    /// to the refresh's launches. A transient failure leaves them unread (`None`: asked again
    /// later); any other failure is final for this call: the estimate falls back to the
    /// describes, and says so.
    async fn read_activities(&mut self) -> Option<Estimate> {
        let refresh_start = self.blocker_start;
        self.activity_reads = self.activity_reads.saturating_add(1);
        let out = self
            .inner
            .client
            .describe_scaling_activities()
            .auto_scaling_group_name(&self.group)
            .max_records(MAX_LAUNCHES as i32)
            .send()
            .await;
        let now = self.now();
        let (launches, complete) = match out {
            Ok(out) => (
                Some(
                    refresh_start
                        .map(|start| launches(out.activities(), start, now))
                        .unwrap_or_default(),
                ),
                // All of the refresh's activities are on the page when there is no other, or
                // when it reaches back past the refresh's start (newest first, API).
                out.next_token().is_none()
                    || out.activities().iter().any(|a| {
                        a.start_time()
                            .and_then(|t| SystemTime::try_from(*t).ok())
                            .zip(refresh_start)
                            .is_some_and(|(t, start)| t < start)
                    }),
            ),
            Err(err) if transient(&err) => return None,
            Err(_) => (None, false),
        };
        Some(self.memory.activities(launches, complete, now))
    }

    /// Asks the schedule about the next wait, with the estimate's proposal (or the plain
    /// schedule), and sleeps it, never longer than `max_check_interval`. `Err(reason)` when the
    /// policy stops.
    pub(crate) async fn wait(
        &mut self,
        proposed: Option<Duration>,
    ) -> Result<Duration, StopReason> {
        let decision = self.schedule.on_failure_proposing(self.elapsed(), proposed);
        match decision {
            Decision::RetryAfter(delay) => {
                let delay = delay.min(self.inner.max_check_interval);
                self.inner.sleep.sleep(delay).await;
                self.waited = self.waited.saturating_add(delay);
                Ok(delay)
            }
            Decision::Stop(reason) => Err(reason),
        }
    }

    /// The delay the schedule would allow for `proposed`, without counting a check: what
    /// progress reports as the next check.
    pub(crate) fn bounded(&self, proposed: Duration) -> Duration {
        let capped = proposed
            .min(self.schedule.policy().max_delay())
            .min(self.inner.max_check_interval);
        match self.deadline {
            Some(d) => capped.min(d.duration_since(self.now()).unwrap_or_default()),
            None => capped,
        }
    }

    /// Tells the progress callback and the logs about a check.
    pub(crate) fn report(&self, refresh: &Refresh, estimate: &Estimate) {
        let progress = Progress {
            refresh_id: refresh.id.clone(),
            status: refresh.status.clone(),
            status_reason: refresh.status_reason.clone(),
            percentage: refresh.percentage.unwrap_or(0),
            estimated_end: estimate.end,
            end_window: estimate.window,
            earliest_end: estimate.earliest_end,
            next_check: self.bounded(estimate.next_check),
            stalled: estimate.stalled,
            evidence: estimate.evidence,
        };
        self.span.in_scope(|| {
            tracing::info!(
                refresh_id = %progress.refresh_id,
                status = progress.status.as_ref().map_or("<none>", |s| s.as_str()),
                percentage = progress.percentage,
                next_check_ms = progress.next_check.as_millis() as u64,
                stalled = progress.stalled,
                "refresh checked"
            )
        });
        if let Some(on_progress) = &self.inner.on_progress {
            (on_progress.0)(&progress);
        }
    }
}

/// Whether a describe error is worth trying again (throttling, 5xx, timeouts, broken
/// connections) rather than a refusal that persists (validation, access denied).
pub(crate) fn transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error()
                || matches!(
                    err.code(),
                    Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded")
                )
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    }
}
