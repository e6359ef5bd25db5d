//! The response future of [`InstanceRefreshRetry`](crate::InstanceRefreshRetry).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::Service;
use tracing::Span;

use crate::classify::{ProvideErrorCode, Verdict};
use crate::layer::Config;
use crate::policy::{Decision, Schedule, StopReason};
use crate::stats::{RetryOutcome, RetryStats};
use crate::trace;

pin_project! {
    #[project = StateProj]
    enum State<F> {
        // Waiting for the service clone to be ready for the next attempt.
        Ready,
        // An attempt is in flight.
        Calling { #[pin] future: F },
        // Waiting out the policy's delay.
        Sleeping { #[pin] sleep: Sleep },
    }
}

pin_project! {
    /// The future returned by [`InstanceRefreshRetry`](crate::InstanceRefreshRetry): resolves to
    /// the inner service's result, unchanged.
    ///
    /// ```
    /// use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy, ResponseFuture};
    /// use tower::{Layer, Service, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// type Error = aws_smithy_runtime_api::client::result::SdkError<
    ///     aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError,
    ///     aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    /// >;
    /// let inner = service_fn(|n: u32| async move { Ok::<_, Error>(n * 2) });
    /// let mut svc = InstanceRefreshRetryLayer::new(RetryPolicy::default()).layer(inner);
    /// let future: ResponseFuture<_, u32, _> = svc.call(21);
    /// assert_eq!(future.await.unwrap(), 42);
    /// # }
    /// ```
    pub struct ResponseFuture<S, Req, F> {
        #[pin]
        state: State<F>,
        service: S,
        request: Req,
        config: Arc<Config>,
        schedule: Schedule,
        start: Instant,
        waited: Duration,
        span: Span,
        // Set once the result is returned; a future dropped before that reports `Cancelled`.
        done: bool,
    }

    impl<S, Req, F> PinnedDrop for ResponseFuture<S, Req, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.done {
                return;
            }
            // Dropped mid-call, for example by a timeout above this layer.
            let (attempts, waited) = match this.state.project() {
                StateProj::Calling { .. } => (this.schedule.attempts() + 1, *this.waited),
                StateProj::Sleeping { sleep } => {
                    let unslept = sleep.deadline().saturating_duration_since(Instant::now());
                    (this.schedule.attempts(), this.waited.saturating_sub(unslept))
                }
                StateProj::Ready => (this.schedule.attempts(), *this.waited),
            };
            let stats = RetryStats::new(attempts, waited, this.start.elapsed(), RetryOutcome::Cancelled);
            this.span.in_scope(|| finish(this.config, &stats));
        }
    }
}

impl<S, Req, F> std::fmt::Debug for ResponseFuture<S, Req, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("schedule", &self.schedule)
            .field("waited", &self.waited)
            .finish_non_exhaustive()
    }
}

impl<S, Req, F> ResponseFuture<S, Req, F> {
    pub(crate) fn new(service: S, request: Req, first: F, config: Arc<Config>) -> Self {
        ResponseFuture {
            state: State::Calling { future: first },
            service,
            request,
            schedule: config.policy.schedule(),
            config,
            start: Instant::now(),
            waited: Duration::ZERO,
            span: trace::call_span(),
            done: false,
        }
    }
}

impl<S, Req, F, T, Err> Future for ResponseFuture<S, Req, F>
where
    S: Service<Req, Response = T, Error = Err, Future = F>,
    F: Future<Output = Result<T, Err>>,
    Req: Clone,
    Err: ProvideErrorCode,
{
    type Output = Result<T, Err>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let _entered = this.span.enter();
        loop {
            match this.state.as_mut().project() {
                StateProj::Ready => {
                    if let Err(err) = ready!(this.service.poll_ready(cx)) {
                        // Readiness failures are not classified: they did not come from AWS.
                        *this.done = true;
                        let stats = RetryStats::new(
                            this.schedule.attempts(),
                            *this.waited,
                            this.start.elapsed(),
                            RetryOutcome::NotRetryable,
                        );
                        finish(this.config, &stats);
                        return Poll::Ready(Err(err));
                    }
                    let future = this.service.call(this.request.clone());
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    // Every branch below but a retry returns the result.
                    *this.done = true;
                    // The schedule only counts failed attempts it was asked about.
                    let ended = |outcome| {
                        RetryStats::new(
                            this.schedule.attempts() + 1,
                            *this.waited,
                            this.start.elapsed(),
                            outcome,
                        )
                    };
                    let err = match result {
                        Ok(response) => {
                            finish(this.config, &ended(RetryOutcome::Succeeded));
                            return Poll::Ready(Ok(response));
                        }
                        Err(err) => err,
                    };
                    if this.config.classifier.classify(&err) != Verdict::RetryAfterWait {
                        finish(this.config, &ended(RetryOutcome::NotRetryable));
                        return Poll::Ready(Err(err));
                    }
                    let elapsed = this.start.elapsed();
                    let decision = if err.possibly_own_refresh() {
                        // Count the attempt, but never wait out what may be our own refresh.
                        let _ = this.schedule.on_failure(elapsed);
                        Decision::Stop(StopReason::PossiblyOwnRefresh)
                    } else {
                        this.schedule.on_failure(elapsed)
                    };
                    match decision {
                        Decision::RetryAfter(delay) => {
                            *this.done = false;
                            trace::retrying(this.schedule.attempts(), delay, &err);
                            *this.waited += delay;
                            let sleep = tokio::time::sleep(delay);
                            this.state.set(State::Sleeping { sleep });
                        }
                        Decision::Stop(reason) => {
                            // on_failure already counted this attempt.
                            let stats = RetryStats::new(
                                this.schedule.attempts(),
                                *this.waited,
                                elapsed,
                                RetryOutcome::GaveUp(reason),
                            );
                            trace::gave_up(&stats, &err);
                            report(this.config, &stats);
                            return Poll::Ready(Err(err));
                        }
                    }
                }
                StateProj::Sleeping { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Ready);
                }
            }
        }
    }
}

/// Records the end of a call that did not give up (giving up has its own WARN event).
fn finish(config: &Config, stats: &RetryStats) {
    trace::finished(stats);
    report(config, stats);
}

fn report(config: &Config, stats: &RetryStats) {
    if let Some(on_finish) = &config.on_finish {
        (on_finish.0)(stats);
    }
}
