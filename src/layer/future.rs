//! The response future of [`InstanceRefreshRetry`](crate::InstanceRefreshRetry): one wrapped call,
//! from its first attempt to its end.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use pin_project_lite::pin_project;
use tower::Service;
use tracing::Span;

use super::config::SharedConfig;
use super::respond::{Respond, Unchanged};
use crate::core::attempt::{Next, after_failure};
use crate::core::error_code::ProvideErrorCode;
use crate::core::outcome::{RetryOutcome, RetryStats};
use crate::core::schedule::Schedule;
use crate::core::trace;

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Waiting for the service clone to be ready for the next attempt.
        Ready,
        // An attempt is in flight.
        Calling { #[pin] future: F },
        // Waiting out the policy's delay.
        Sleeping { sleep: Sleep },
    }
}

pin_project! {
    /// The future returned by [`InstanceRefreshRetry`](crate::InstanceRefreshRetry): resolves to
    /// the inner service's result, its error unchanged (and its success with the call's
    /// [`RetryStats`] under [`WithStats`](crate::WithStats)).
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy};
    /// use instance_refresh_retry::future::ResponseFuture;
    /// use tower::{Layer, Service, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// type Error = instance_refresh_retry::StartInstanceRefreshSdkError;
    /// let inner = service_fn(|n: u32| async move { Ok::<_, Error>(n * 2) });
    /// let mut svc = InstanceRefreshRetryLayer::new(RetryPolicy::default()).layer(inner);
    /// let future: ResponseFuture<_, u32, _> = svc.call(21);
    /// assert_eq!(future.await.unwrap(), 42);
    /// # }
    /// ```
    pub struct ResponseFuture<S, Req, F, K = Unchanged> {
        #[pin]
        state: State<F>,
        service: S,
        request: Req,
        config: SharedConfig,
        // Everything past the first attempt's success: made at the first failure, or at the start
        // when an `on_finish` or `with_stats` needs the start time. A call that succeeds at once
        // without them carries one null pointer, and dropping it reports nothing.
        call: Lazy,
        _respond: PhantomData<fn() -> K>,
    }
}

/// The call's state once it has any. Dropping it checks for none inline (the path of a call that
/// succeeded at once), and leaves the rest (`Call`'s report of a cancelled call, the box) out of
/// line.
struct Lazy(Option<Box<Call>>);

impl Drop for Lazy {
    #[inline]
    fn drop(&mut self) {
        #[inline(never)]
        fn drop_call(call: Box<Call>) {
            drop(call);
        }
        if let Some(call) = self.0.take() {
            drop_call(call);
        }
    }
}

/// The state of a call that failed at least once, or whose start time a report needs.
struct Call {
    config: SharedConfig,
    // Inner calls made so far, the one in flight included.
    attempts: u32,
    // The duplicate guard's memory for the whole call: an inner call may have started a refresh.
    may_have_started_refresh: bool,
    // Set once the result is returned; a call dropped before that reports `Cancelled`.
    done: bool,
    // The time source's reading when the call started: read only when a report needs it
    // (`on_finish`, `with_stats`).
    sent: Option<SystemTime>,
    // Made at the first failure that is ours.
    schedule: Option<Box<Schedule>>,
    // From the first blocked answer on: what the waits need.
    waiting: Option<Waiting>,
}

impl Call {
    fn new(config: &SharedConfig, sent: Option<SystemTime>) -> Box<Call> {
        Box::new(Call {
            config: config.clone(),
            attempts: 1,
            may_have_started_refresh: false,
            done: false,
            sent,
            schedule: None,
            waiting: None,
        })
    }

    /// The call's stats at `now`. Without a reading at the start, `elapsed` counts from the first
    /// blocked answer (or is zero).
    fn stats(&self, now: SystemTime, outcome: RetryOutcome) -> RetryStats {
        let from = self.sent.or(self.waiting.as_ref().map(|w| w.first_blocked));
        RetryStats::new(
            self.attempts,
            self.waiting
                .as_ref()
                .map_or(Duration::ZERO, |w| w.waited(now)),
            from.map_or(Duration::ZERO, |t| elapsed_since(t, now)),
            outcome,
        )
    }

    /// Reports how the call ended, and returns what it reported.
    fn finish<E: ProvideErrorCode + ?Sized>(
        &mut self,
        outcome: RetryOutcome,
        err: Option<&E>,
    ) -> RetryStats {
        self.done = true;
        let stats = self.stats(self.config.time.now(), outcome);
        let _entered = self.waiting.as_ref().map(|w| w.span.enter());
        self.config.settings.finished(&stats, err);
        stats
    }

    /// Whether anyone hears about a call that did not give up: an `on_finish`, a response with
    /// stats, or the logs of a call that waited.
    fn reports(&self) -> bool {
        self.sent.is_some() || self.waiting.is_some()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Completion is reported from `poll`. During a panic's unwind nothing is reported: a
        // callback that panicked too would abort the process.
        if self.done || std::thread::panicking() || !self.reports() {
            return;
        }
        // Dropped mid-call, for example by a timeout above this layer. A call that had not
        // waited reports only to an `on_finish` (which made it read the clock at the start).
        self.finish::<dyn ProvideErrorCode>(RetryOutcome::Cancelled, None);
    }
}

/// What a call that has been blocked keeps for its waits.
struct Waiting {
    /// The time source's reading at the first blocked answer: `max_elapsed` counts from here.
    first_blocked: SystemTime,
    /// The waits that have ended.
    waited: Duration,
    /// The wait in progress: its length and when it started.
    pending: Option<(Duration, SystemTime)>,
    span: Span,
}

impl Waiting {
    /// The waits so far, the part of one in progress included.
    fn waited(&self, now: SystemTime) -> Duration {
        match self.pending {
            Some((delay, since)) => self
                .waited
                .saturating_add(delay.min(elapsed_since(since, now))),
            None => self.waited,
        }
    }
}

impl<S, Req, F, K> std::fmt::Debug for ResponseFuture<S, Req, F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("attempts", &self.call.0.as_ref().map_or(1, |c| c.attempts))
            .field(
                "schedule",
                &self.call.0.as_ref().and_then(|c| c.schedule.as_ref()),
            )
            .finish_non_exhaustive()
    }
}

impl<S, Req, F, K> ResponseFuture<S, Req, F, K> {
    /// Starts a call: its first attempt goes to `service`, the clone that was driven to
    /// readiness. (The attempt's future is made inside the new future's own expression, so that
    /// it can be built in place rather than moved in.)
    #[inline]
    pub(crate) fn start(
        mut service: S,
        request: Req,
        config: SharedConfig,
        needs_stats: bool,
    ) -> Self
    where
        S: Service<Req, Future = F>,
        Req: Clone,
    {
        let call = (needs_stats || config.settings.on_finish.is_some())
            .then(|| Call::new(&config, Some(config.time.now())));
        ResponseFuture {
            state: State::Calling {
                future: service.call(request.clone()),
            },
            service,
            request,
            config,
            call: Lazy(call),
            _respond: PhantomData,
        }
    }
}

fn elapsed_since(earlier: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or_default()
}

/// What `poll` does after an attempt failed, or after any attempt of a call with state.
enum After<R, E> {
    Return(Result<R, E>),
    Sleep(Sleep),
}

/// Everything past the first attempt's success: out of line, so that `poll`'s path for a call
/// that succeeds at once stays small.
#[inline(never)]
fn after_attempt<T, Err, K>(
    config: &SharedConfig,
    slot: &mut Option<Box<Call>>,
    result: Result<T, Err>,
) -> After<K::Response, Err>
where
    Err: ProvideErrorCode,
    K: Respond<T>,
{
    let call = slot.get_or_insert_with(|| Call::new(config, None));
    let err = match result {
        Ok(response) => {
            let stats = if call.reports() {
                call.finish::<Err>(RetryOutcome::Succeeded, None)
            } else {
                call.done = true;
                RetryStats::new(
                    call.attempts,
                    Duration::ZERO,
                    Duration::ZERO,
                    RetryOutcome::Succeeded,
                )
            };
            return After::Return(Ok(K::respond(response, stats)));
        }
        Err(err) => err,
    };
    call.may_have_started_refresh |= err.may_have_started_refresh();
    let settings = &config.settings;
    let time = &config.time;
    let mut now = None;
    let waiting = &call.waiting;
    let next = after_failure(
        settings,
        &mut call.schedule,
        &err,
        call.may_have_started_refresh,
        || {
            let t = *now.get_or_insert_with(|| time.now());
            waiting
                .as_ref()
                .map_or(Duration::ZERO, |w| elapsed_since(w.first_blocked, t))
        },
    );
    let outcome = match next {
        Next::Wait(delay) => {
            let now = now.unwrap_or_else(|| time.now());
            let waiting = call.waiting.get_or_insert_with(|| Waiting {
                first_blocked: now,
                waited: Duration::ZERO,
                pending: None,
                span: trace::call_span(),
            });
            if let Some((done, _)) = waiting.pending.take() {
                waiting.waited = waiting.waited.saturating_add(done);
            }
            let attempt = call.attempts;
            waiting
                .span
                .in_scope(|| settings.waiting(attempt, delay, &err));
            waiting.pending = Some((delay, now));
            return After::Sleep(config.sleep.sleep(delay));
        }
        Next::PassThrough => RetryOutcome::NotRetryable,
        Next::GiveUp(reason) => RetryOutcome::GaveUp(reason),
    };
    // Giving up is always logged; an error passed through only when someone hears it.
    if call.reports() || matches!(outcome, RetryOutcome::GaveUp(_)) {
        call.finish(outcome, Some(&err));
    } else {
        call.done = true;
    }
    After::Return(Err(err))
}

impl<S, Req, F, K, T, Err> Future for ResponseFuture<S, Req, F, K>
where
    S: Service<Req, Response = T, Error = Err, Future = F>,
    F: Future<Output = Result<T, Err>>,
    Req: Clone,
    Err: ProvideErrorCode,
    K: Respond<T>,
{
    type Output = Result<K::Response, Err>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The call's span, once it has one (a call that never waited has none).
        let span = this
            .call
            .0
            .as_ref()
            .and_then(|c| c.waiting.as_ref())
            .map(|w| w.span.clone());
        let _entered = span.as_ref().map(Span::enter);
        loop {
            match this.state.as_mut().project() {
                StateProj::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    // The path of a call that succeeds at once: nothing to count or report.
                    if this.call.0.is_none()
                        && let Ok(response) = result
                    {
                        let stats = RetryStats::new(
                            1,
                            Duration::ZERO,
                            Duration::ZERO,
                            RetryOutcome::Succeeded,
                        );
                        return Poll::Ready(Ok(K::respond(response, stats)));
                    }
                    match after_attempt::<T, Err, K>(this.config, &mut this.call.0, result) {
                        After::Return(result) => return Poll::Ready(result),
                        After::Sleep(sleep) => this.state.set(State::Sleeping { sleep }),
                    }
                }
                StateProj::Sleeping { sleep } => {
                    ready!(Pin::new(sleep).poll(cx));
                    if let Some(w) = this.call.0.as_mut().and_then(|c| c.waiting.as_mut())
                        && let Some((delay, _)) = w.pending.take()
                    {
                        w.waited = w.waited.saturating_add(delay);
                    }
                    this.state.set(State::Ready);
                }
                StateProj::Ready => {
                    let call = this
                        .call
                        .0
                        .get_or_insert_with(|| Call::new(this.config, None));
                    if let Err(err) = ready!(this.service.poll_ready(cx)) {
                        // Readiness failures are not classified: they did not come from AWS.
                        call.finish(RetryOutcome::NotRetryable, Some(&err));
                        return Poll::Ready(Err(err));
                    }
                    call.attempts = call.attempts.saturating_add(1);
                    let future = this.service.call(this.request.clone());
                    this.state.set(State::Calling { future });
                }
            }
        }
    }
}
