//! [`Refresher::start`]: start a refresh, waiting out (or cancelling, or refusing, or adopting)
//! a running one, and adopting the call's own refresh instead of starting a second.

use std::time::SystemTime;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::InstanceRefresh;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tower::Service;

use super::adopt::{Adoption, adopts, pinned};
use super::error::{RefreshError, RefreshErrorKind};
use super::estimate::{Estimate, Look};
use super::observe::{Phase, Refresh, matches_request};
use super::options::{OnConflict, Refresher};
use super::protocol::{Failure, Own, StartProtocol, Step, matching_blocker, own_refresh};
use super::run::{DescribeSdkError, Run};
use crate::core::classify::{Classifier, Verdict};
use crate::core::error_code::ProvideErrorCode;
use crate::core::outcome::{RetryOutcome, RetryStats, StopReason};
use crate::layer::sdk_service::StartInstanceRefreshService;

/// A refresh that [`Refresher::start`] started, or adopted.
///
/// ```
/// # use instance_refresh_retry::Started;
/// fn log(started: &Started) {
///     let how = if started.adopted() { "adopted" } else { "started" };
///     println!("{how} {} ({})", started.instance_refresh_id(), started.stats());
/// }
/// # let _ = log;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    id: String,
    adoption: Option<Adoption>,
    start_time: Option<SystemTime>,
    stats: RetryStats,
}

/// A refresh found to adopt: its id, how, and its `StartTime`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Found {
    id: String,
    adoption: Adoption,
    start_time: Option<SystemTime>,
}

impl Found {
    fn of(refresh: &InstanceRefresh, adoption: Adoption) -> Found {
        Found {
            id: refresh.instance_refresh_id().unwrap_or_default().to_owned(),
            adoption,
            start_time: started_at(refresh),
        }
    }
}

fn started_at(refresh: &InstanceRefresh) -> Option<SystemTime> {
    refresh
        .start_time()
        .and_then(|t| SystemTime::try_from(*t).ok())
}

impl Started {
    /// The refresh's id.
    pub fn instance_refresh_id(&self) -> &str {
        &self.id
    }

    /// `true` when the call did not start the refresh but found it: its own earlier attempt's
    /// (whose answer was lost), or, under [`OnConflict::Adopt`], a running refresh of the same
    /// request. [`adoption`](Self::adoption) tells which.
    pub fn adopted(&self) -> bool {
        self.adoption.is_some()
    }

    /// How the refresh was adopted, or `None` when this call started it (and heard so).
    pub fn adoption(&self) -> Option<Adoption> {
        self.adoption
    }

    /// When an adopted refresh started (its `StartTime`, as Auto Scaling describes it; whole
    /// seconds). `None` for a refresh this call started, whose answer carries no time.
    pub fn start_time(&self) -> Option<SystemTime> {
        self.start_time
    }

    /// What the call did: `StartInstanceRefresh` calls (`attempts`), describe calls, time waited.
    pub fn stats(&self) -> RetryStats {
        self.stats
    }
}

impl Refresher {
    /// Starts an instance refresh on the input's group. See the [crate docs](crate#the-refresher).
    ///
    /// - Another refresh blocks the group: what [`on_conflict`](Self::on_conflict) says.
    ///   Waiting is status-aware unless turned off: the blocking refresh is described, and the
    ///   next check comes when it should end (within the policy's bounds). Under
    ///   [`OnConflict::Adopt`], a blocking refresh that matches the request is returned as
    ///   adopted ([`Adoption::MatchingRefresh`]) instead; a request without a pinned desired
    ///   configuration ([`Refresher::adoptable`]) waits as under [`OnConflict::Wait`].
    /// - An attempt's outcome is unknown (a lost answer, a timeout, a 5xx other than
    ///   `ResourceContention`): before anything else the group's recent refreshes are described,
    ///   and one that started after this call began (less the [clock
    ///   skew](Self::clock_skew)) and matches the request is adopted
    ///   ([`Started::adopted`]). While that describe fails, the call neither starts again nor
    ///   ends as refused: it looks again on the plain schedule, and gives up as
    ///   [`GaveUp(PossiblyOwnRefresh)`](RefreshErrorKind::GaveUp) when the policy stops. One call
    ///   starts at most one refresh.
    ///
    /// ```no_run
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
    /// use instance_refresh_retry::{RefreshErrorKind, Refresher};
    ///
    /// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let refresher = Refresher::new(client, Refresher::default_policy());
    /// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
    /// match refresher.start(input).await {
    ///     Ok(started) => println!("{} ({})", started.instance_refresh_id(), started.stats()),
    ///     Err(err) if matches!(err.kind(), RefreshErrorKind::WontEndInTime { .. }) => {
    ///         eprintln!("not today: {err}")
    ///     }
    ///     Err(err) => return Err(err.into()),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RefreshError`], whose [`kind`](RefreshError::kind) says why.
    pub async fn start(&self, input: StartInstanceRefreshInput) -> Result<Started, RefreshError> {
        let group = input
            .auto_scaling_group_name()
            .unwrap_or_default()
            .to_owned();
        let mut run = Run::new(&self.inner, &group, None);
        let adopt = match self.inner.on_conflict {
            OnConflict::Adopt => match pinned(&input) {
                Ok(()) => Some(&input),
                Err(why) => {
                    run.span.in_scope(
                        || tracing::warn!(reason = %why, "on_conflict Adopt: waiting instead"),
                    );
                    None
                }
            },
            _ => None,
        };
        // The decisions are the protocol's (a pure state machine, model-checked); this loop only
        // performs its steps.
        let mut protocol = StartProtocol::default();
        let mut step = Step::Start;
        loop {
            step = match step {
                Step::Start => {
                    run.attempts = run.attempts.saturating_add(1);
                    // Always ready; its errors say whether the SDK's own retries inside the call
                    // may have started a refresh.
                    let mut service = StartInstanceRefreshService::new(self.inner.client.clone());
                    let err = match service.call(input.clone()).await {
                        Ok(out) => {
                            let id = out.instance_refresh_id().unwrap_or_default().to_owned();
                            return Ok(run.started(id, None, None));
                        }
                        Err(err) => err,
                    };
                    let failure = Failure {
                        unknown: err.may_have_started_refresh(),
                        blocked: Classifier::default().classify(&err) == Verdict::RetryAfterWait,
                    };
                    run.last_error = Some(Box::new(err));
                    protocol.after_attempt(failure)
                }
                Step::Look => {
                    let (own, describe_error) = run.find_own(&input, adopt).await;
                    let step = protocol.after_look(own);
                    // The error the call would end with: the failed start's while it stands
                    // (the call ends with it unless its own refresh turns up), otherwise the
                    // describe's.
                    if let Some(err) = describe_error
                        && !protocol.attempt_error_stands()
                    {
                        run.last_error = Some(err);
                    }
                    step
                }
                Step::Adopt(found) => {
                    return Ok(run.started(found.id, Some(found.adoption), found.start_time));
                }
                Step::WaitToLookAgain => {
                    run.wait_to_look_again().await?;
                    protocol.after_wait()
                }
                Step::Conflict => {
                    match self.inner.on_conflict {
                        OnConflict::Fail => {
                            let blocker = run.active().await.ok().flatten();
                            return Err(run.error(RefreshErrorKind::Conflict {
                                refresh_id: blocker.as_ref().map(|b| b.id.clone()),
                                status: blocker.and_then(|b| b.status),
                            }));
                        }
                        OnConflict::CancelAndReplace => run.cancel_blocker().await?,
                        OnConflict::Wait | OnConflict::Adopt => {
                            let status_aware = self.inner.status_aware;
                            if let Some(found) = run.wait_out_blocker(status_aware, adopt).await? {
                                return Ok(run.started(
                                    found.id,
                                    Some(found.adoption),
                                    found.start_time,
                                ));
                            }
                        }
                    }
                    protocol.after_wait()
                }
                Step::Fail => return Err(run.error(RefreshErrorKind::Aws)),
            };
        }
    }
}

impl Run<'_> {
    fn started(
        &self,
        id: String,
        adoption: Option<Adoption>,
        start_time: Option<SystemTime>,
    ) -> Started {
        Started {
            id,
            adoption,
            start_time,
            stats: self.stats(RetryOutcome::Succeeded),
        }
    }

    /// Looks for a refresh that this call's own attempt may have started: the newest of the
    /// group's refreshes that started after the call began (less the clock skew) and matches
    /// the request. Under [`OnConflict::Adopt`] (`adopt`: the request, pinned), the blocking
    /// refresh is adopted too when it matches.
    ///
    /// When the describe fails, the look is [`Own::Unknown`] and the describe's error comes
    /// beside it.
    async fn find_own(
        &mut self,
        input: &StartInstanceRefreshInput,
        adopt: Option<&StartInstanceRefreshInput>,
    ) -> (Own<Found>, Option<Box<DescribeSdkError>>) {
        let since = self
            .start
            .checked_sub(self.inner.clock_skew)
            .unwrap_or(std::time::UNIX_EPOCH);
        let refreshes = match self.describe(None).await {
            Ok(refreshes) => refreshes,
            Err(err) => return (Own::Unknown, Some(Box::new(err))),
        };
        if let Some(own) = own_refresh(&refreshes, &since, started_at, |r| {
            matches_request(input, r)
        }) {
            return (Own::Found(Found::of(own, Adoption::OwnLostAnswer)), None);
        }
        match adopt.and_then(|input| matching(&refreshes, input)) {
            Some(found) => (Own::Found(found), None),
            None => (Own::NotThere, None),
        }
    }

    /// After a describe failed while the call may have started a refresh: it must not start
    /// another before it can tell, so it waits on the plain schedule and looks again.
    async fn wait_to_look_again(&mut self) -> Result<(), RefreshError> {
        self.wait(None)
            .await
            .map(|_| ())
            .map_err(|_| self.error(RefreshErrorKind::GaveUp(StopReason::PossiblyOwnRefresh)))
    }

    /// Waits until no refresh blocks the group. Status-aware: describe the blocker, and look
    /// again when it can end. Without status (or when the describe fails): the plain schedule,
    /// and a new start after each wait. Under [`OnConflict::Adopt`] (`adopt`: the request,
    /// pinned), each describe (made even without status) may find the blocker to adopt.
    ///
    /// Where nothing but the end is left to learn (a bake whose start is placed, the last batch
    /// of a refresh with no bake), the next look is the start itself: a refusal says the blocker
    /// is still there as a describe would, and an end saves the describe. The protocol decides
    /// the start as after any wait; back here after a refusal, the estimate goes on without a
    /// describe while it still says so.
    async fn wait_out_blocker(
        &mut self,
        status_aware: bool,
        adopt: Option<&StartInstanceRefreshInput>,
    ) -> Result<Option<Found>, RefreshError> {
        loop {
            let look = if status_aware {
                std::mem::take(&mut self.look)
            } else {
                Look::Describe
            };
            let proposed = if !status_aware && adopt.is_none() {
                None
            } else {
                match look {
                    // Back from a start that probed for the blocker's end, and was refused.
                    Look::Probe => {
                        let now = self.now();
                        self.status_seen = Some(now);
                        let estimate = self.memory.refused(now);
                        self.fail_fast(None, &estimate)?;
                        Some(estimate)
                    }
                    Look::Activities => {
                        let estimate = self.look_at_activities().await;
                        self.fail_fast(None, &estimate)?;
                        Some(estimate)
                    }
                    Look::Describe => match self.blocker(adopt).await {
                        Ok((_, Some(found))) => return Ok(Some(found)),
                        Ok((None, None)) => {
                            // It ended between our start and this describe: start again at
                            // once. If that happens twice in a row (Auto Scaling refuses, yet
                            // shows nothing active), wait on the plain schedule first rather
                            // than loop.
                            self.nothing_active = self.nothing_active.saturating_add(1);
                            if self.nothing_active > 1 {
                                self.wait(None).await.map_err(|reason| {
                                    self.error(RefreshErrorKind::GaveUp(reason))
                                })?;
                            }
                            return Ok(None);
                        }
                        Ok((Some(blocker), None)) if status_aware => {
                            self.nothing_active = 0;
                            let estimate = self.check(&blocker).await;
                            self.fail_fast(Some(&blocker), &estimate)?;
                            self.report(&blocker, &estimate);
                            Some(estimate)
                        }
                        // Adopting without status: the describe only matched; the plain
                        // schedule.
                        Ok((Some(_), None)) => {
                            self.nothing_active = 0;
                            None
                        }
                        // Never fail the call for a describe: fall back to the plain schedule.
                        Err(_) => None,
                    },
                }
            };
            self.wait(proposed.map(|e| e.next_check))
                .await
                .map_err(|reason| self.error(RefreshErrorKind::GaveUp(reason)))?;
            let Some(estimate) = proposed else {
                return Ok(None);
            };
            self.look = self.next_look(&estimate);
            if self.look == Look::Probe {
                return Ok(None);
            }
        }
    }

    /// The group's active refresh, and, under [`OnConflict::Adopt`] (`adopt`), the same
    /// refresh to adopt when it matches the request.
    async fn blocker(
        &mut self,
        adopt: Option<&StartInstanceRefreshInput>,
    ) -> Result<(Option<Refresh>, Option<Found>), DescribeSdkError> {
        let Some(input) = adopt else {
            return self.active().await.map(|active| (active, None));
        };
        let refreshes = self.describe(None).await?;
        let active = refreshes
            .iter()
            .map(Refresh::of)
            .find(|r| r.phase.is_active());
        Ok((active, matching(&refreshes, input)))
    }

    /// `WontEndInTime` when the blocker cannot end before the deadline (and fail-fast is on).
    fn fail_fast(
        &mut self,
        blocker: Option<&Refresh>,
        estimate: &Estimate,
    ) -> Result<(), RefreshError> {
        // Only what is certain to remain fails a call: an earliest end that is just "now" (the
        // budget ran out while nothing certain was left) is the policy's to stop.
        if self.inner.fail_fast
            && let (Some(earliest), Some(deadline)) = (estimate.earliest_end, self.deadline)
            && earliest > deadline
            && earliest > self.now() + std::time::Duration::from_secs(1)
        {
            let refresh_id = blocker
                .map(|b| b.id.clone())
                .or_else(|| self.memory.refresh_id().map(str::to_owned))
                .unwrap_or_default();
            return Err(self.error(RefreshErrorKind::WontEndInTime {
                refresh_id,
                earliest_end: earliest,
                estimated_end: estimate.end,
            }));
        }
        Ok(())
    }

    /// Cancels the blocking refresh (someone else's: this call's own was looked for first) and
    /// waits until it has stopped.
    async fn cancel_blocker(&mut self) -> Result<(), RefreshError> {
        let cancel = self
            .inner
            .client
            .cancel_instance_refresh()
            .auto_scaling_group_name(&self.group)
            .send()
            .await;
        if let Err(err) = cancel {
            // Nothing active to cancel (it just ended), or a rollback, which cannot be
            // cancelled and is waited out instead.
            if err.code() != Some("ActiveInstanceRefreshNotFound") {
                let rolling_back = matches!(
                    self.active().await,
                    Ok(Some(ref r)) if r.phase == Phase::RollbackInProgress
                );
                if !rolling_back {
                    self.last_error = Some(Box::new(err));
                    return Err(self.error(RefreshErrorKind::Aws));
                }
            }
        }
        self.wait_out_blocker(true, None).await.map(|_| ())
    }
}

/// The blocking refresh among `refreshes`, if `input` may adopt it.
fn matching(refreshes: &[InstanceRefresh], input: &StartInstanceRefreshInput) -> Option<Found> {
    matching_blocker(
        refreshes,
        |r| Phase::of(r.status()).is_active(),
        |r| adopts(input, r),
    )
    .map(|r| Found::of(r, Adoption::MatchingRefresh))
}
