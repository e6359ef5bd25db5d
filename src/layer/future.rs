//! The response future of [`InstanceRefreshRetry`](crate::InstanceRefreshRetry): one wrapped call,
//! from its first attempt to its end.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use pin_project_lite::pin_project;
use tower::Service;
use tracing::Span;

use super::config::LayerConfig;
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
        config: Arc<LayerConfig>,
        // Inner calls made so far, the one in flight included.
        attempts: u32,
        // The duplicate guard's memory for the whole call: an inner call may have started a
        // refresh.
        may_have_started_refresh: bool,
        // Set once the result is returned; a future dropped before that reports `Cancelled`.
        done: bool,
        // The time source's reading when the call started: read only when a report needs it
        // (`on_finish`, `with_stats`). Nothing else is read or built before the first failure
        // that is ours to handle.
        sent: Option<SystemTime>,
        // Made at the first failure that is ours (boxed, like `waiting`: a call that is never
        // blocked carries a pointer for each, not their state).
        schedule: Option<Box<Schedule>>,
        // From the first blocked answer on: what the waits need.
        waiting: Option<Box<Waiting>>,
        _respond: PhantomData<fn() -> K>,
    }

    impl<S, Req, F, K> PinnedDrop for ResponseFuture<S, Req, F, K> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Completion is reported from `poll`. During a panic's unwind nothing is reported: a
            // callback that panicked too would abort the process.
            if *this.done || std::thread::panicking() {
                return;
            }
            // Dropped mid-call, for example by a timeout above this layer. A call that had not
            // waited reports only to an `on_finish` (which made it read the clock at the start).
            if this.sent.is_none() && this.waiting.is_none() {
                return;
            }
            let now = this.config.time.now();
            let stats = stats(*this.attempts, *this.sent, this.waiting.as_deref(), now, RetryOutcome::Cancelled);
            let _entered = this.waiting.as_ref().map(|w| w.span.enter());
            this.config.settings.finished::<dyn ProvideErrorCode>(&stats, None);
        }
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

/// The call's stats at `now`. Without a reading at the start, `elapsed` counts from the first
/// blocked answer (or is zero).
fn stats(
    attempts: u32,
    sent: Option<SystemTime>,
    waiting: Option<&Waiting>,
    now: SystemTime,
    outcome: RetryOutcome,
) -> RetryStats {
    let from = sent.or(waiting.map(|w| w.first_blocked));
    RetryStats::new(
        attempts,
        waiting.map_or(Duration::ZERO, |w| w.waited(now)),
        from.map_or(Duration::ZERO, |t| elapsed_since(t, now)),
        outcome,
    )
}

impl<S, Req, F, K> std::fmt::Debug for ResponseFuture<S, Req, F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("attempts", &self.attempts)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl<S, Req, F, K> ResponseFuture<S, Req, F, K> {
    pub(crate) fn new(
        service: S,
        request: Req,
        first: F,
        config: Arc<LayerConfig>,
        needs_stats: bool,
    ) -> Self {
        let sent = (needs_stats || config.settings.on_finish.is_some()).then(|| config.time.now());
        ResponseFuture {
            state: State::Calling { future: first },
            service,
            request,
            config,
            attempts: 1,
            may_have_started_refresh: false,
            done: false,
            sent,
            schedule: None,
            waiting: None,
            _respond: PhantomData,
        }
    }
}

fn elapsed_since(earlier: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(earlier).unwrap_or_default()
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The call's span, once it has one (a call that never waited has none).
        let span = this.waiting.as_ref().map(|w| w.span.clone());
        let _entered = span.as_ref().map(Span::enter);
        let settings = &this.config.settings;
        let time = &this.config.time;
        loop {
            match this.state.as_mut().project() {
                StateProj::Ready => {
                    if let Err(err) = ready!(this.service.poll_ready(cx)) {
                        // Readiness failures are not classified: they did not come from AWS.
                        // (Only reached after a wait, so the call has its waiting state.)
                        *this.done = true;
                        let stats = stats(
                            *this.attempts,
                            *this.sent,
                            this.waiting.as_deref(),
                            time.now(),
                            RetryOutcome::NotRetryable,
                        );
                        settings.finished(&stats, Some(&err));
                        return Poll::Ready(Err(err));
                    }
                    *this.attempts = this.attempts.saturating_add(1);
                    let future = this.service.call(this.request.clone());
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    // Reports read the clock only when someone hears them: an `on_finish`, a
                    // response with stats, or the logs of a call that waited.
                    let reports = this.sent.is_some() || this.waiting.is_some();
                    let err = match result {
                        Ok(response) => {
                            *this.done = true;
                            let stats = if reports {
                                let stats = stats(
                                    *this.attempts,
                                    *this.sent,
                                    this.waiting.as_deref(),
                                    time.now(),
                                    RetryOutcome::Succeeded,
                                );
                                settings.finished::<Err>(&stats, None);
                                stats
                            } else {
                                RetryStats::new(
                                    *this.attempts,
                                    Duration::ZERO,
                                    Duration::ZERO,
                                    RetryOutcome::Succeeded,
                                )
                            };
                            return Poll::Ready(Ok(K::respond(response, stats)));
                        }
                        Err(err) => err,
                    };
                    *this.may_have_started_refresh |= err.may_have_started_refresh();
                    let mut now = None;
                    let waiting = &*this.waiting;
                    let next = after_failure(
                        settings,
                        this.schedule,
                        &err,
                        *this.may_have_started_refresh,
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
                            let waiting = this.waiting.get_or_insert_with(|| {
                                Box::new(Waiting {
                                    first_blocked: now,
                                    waited: Duration::ZERO,
                                    pending: None,
                                    span: trace::call_span(),
                                })
                            });
                            if let Some((done, _)) = waiting.pending.take() {
                                waiting.waited = waiting.waited.saturating_add(done);
                            }
                            let attempt = *this.attempts;
                            waiting
                                .span
                                .in_scope(|| settings.waiting(attempt, delay, &err));
                            waiting.pending = Some((delay, now));
                            let sleep = this.config.sleep.sleep(delay);
                            this.state.set(State::Sleeping { sleep });
                            continue;
                        }
                        Next::PassThrough => RetryOutcome::NotRetryable,
                        Next::GiveUp(reason) => RetryOutcome::GaveUp(reason),
                    };
                    *this.done = true;
                    // Giving up is always logged; an error passed through only when someone
                    // hears it.
                    if reports || matches!(outcome, RetryOutcome::GaveUp(_)) {
                        let now = now.unwrap_or_else(|| time.now());
                        let stats = stats(
                            *this.attempts,
                            *this.sent,
                            this.waiting.as_deref(),
                            now,
                            outcome,
                        );
                        settings.finished(&stats, Some(&err));
                    }
                    return Poll::Ready(Err(err));
                }
                StateProj::Sleeping { sleep } => {
                    ready!(Pin::new(sleep).poll(cx));
                    if let Some(w) = this.waiting.as_mut()
                        && let Some((delay, _)) = w.pending.take()
                    {
                        w.waited = w.waited.saturating_add(delay);
                    }
                    this.state.set(State::Ready);
                }
            }
        }
    }
}
