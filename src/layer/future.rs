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
        schedule: Schedule,
        // The time source's reading when the call started.
        start: SystemTime,
        // Inner calls made so far, the one in flight included.
        attempts: u32,
        // The waits that have ended.
        waited: Duration,
        // The wait in progress: its length and when it started.
        pending: Option<(Duration, SystemTime)>,
        // The duplicate guard's memory for the whole call: an inner call may have started a
        // refresh.
        may_have_started_refresh: bool,
        span: Span,
        // Set once the result is returned; a future dropped before that reports `Cancelled`.
        done: bool,
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
            // Dropped mid-call, for example by a timeout above this layer.
            let now = this.config.time.now();
            let mut waited = *this.waited;
            if let Some((delay, since)) = *this.pending {
                waited = waited.saturating_add(delay.min(elapsed_since(since, now)));
            }
            let stats = RetryStats::new(
                *this.attempts,
                waited,
                elapsed_since(*this.start, now),
                RetryOutcome::Cancelled,
            );
            let _entered = this.span.enter();
            this.config.settings.finished::<dyn ProvideErrorCode>(&stats, None);
        }
    }
}

impl<S, Req, F, K> std::fmt::Debug for ResponseFuture<S, Req, F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("attempts", &self.attempts)
            .field("waited", &self.waited)
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl<S, Req, F, K> ResponseFuture<S, Req, F, K> {
    pub(crate) fn new(service: S, request: Req, first: F, config: Arc<LayerConfig>) -> Self {
        ResponseFuture {
            state: State::Calling { future: first },
            service,
            request,
            schedule: config.settings.policy.schedule(),
            start: config.time.now(),
            config,
            attempts: 1,
            waited: Duration::ZERO,
            pending: None,
            may_have_started_refresh: false,
            span: trace::call_span(),
            done: false,
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
        let _entered = this.span.enter();
        let settings = &this.config.settings;
        loop {
            match this.state.as_mut().project() {
                StateProj::Ready => {
                    if let Err(err) = ready!(this.service.poll_ready(cx)) {
                        // Readiness failures are not classified: they did not come from AWS.
                        *this.done = true;
                        let stats = RetryStats::new(
                            *this.attempts,
                            *this.waited,
                            elapsed_since(*this.start, this.config.time.now()),
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
                    let now = this.config.time.now();
                    let elapsed = elapsed_since(*this.start, now);
                    let stats =
                        |outcome| RetryStats::new(*this.attempts, *this.waited, elapsed, outcome);
                    let err = match result {
                        Ok(response) => {
                            *this.done = true;
                            let stats = stats(RetryOutcome::Succeeded);
                            settings.finished::<Err>(&stats, None);
                            return Poll::Ready(Ok(K::respond(response, stats)));
                        }
                        Err(err) => err,
                    };
                    *this.may_have_started_refresh |= err.may_have_started_refresh();
                    let outcome = match after_failure(
                        settings,
                        this.schedule,
                        &err,
                        *this.may_have_started_refresh,
                        elapsed,
                    ) {
                        Next::Wait(delay) => {
                            settings.waiting(*this.attempts, delay, &err);
                            *this.pending = Some((delay, now));
                            let sleep = this.config.sleep.sleep(delay);
                            this.state.set(State::Sleeping { sleep });
                            continue;
                        }
                        Next::PassThrough => RetryOutcome::NotRetryable,
                        Next::GiveUp(reason) => RetryOutcome::GaveUp(reason),
                    };
                    *this.done = true;
                    settings.finished(&stats(outcome), Some(&err));
                    return Poll::Ready(Err(err));
                }
                StateProj::Sleeping { sleep } => {
                    ready!(Pin::new(sleep).poll(cx));
                    if let Some((delay, _)) = this.pending.take() {
                        *this.waited = this.waited.saturating_add(delay);
                    }
                    this.state.set(State::Ready);
                }
            }
        }
    }
}
