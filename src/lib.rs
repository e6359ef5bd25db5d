#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
//! Wait out `InstanceRefreshInProgress` instead of failing a deployment.
//!
//! An Auto Scaling group runs one instance refresh at a time, so `StartInstanceRefresh` fails with
//! `InstanceRefreshInProgress` while another refresh is active. This crate treats that error as
//! *retry after a wait* and retries on an exponential backoff sized for refreshes (minutes per
//! wait, hours in total), through the SDK client itself or through a tower stack.
//!
//! # How it fits together
//!
//! Two paths, one core. The source folders are the architecture:
//!
//! ```text
//! src/
//! ├── core/         the shared core: nothing here sleeps or calls AWS
//! │                 policy + schedule  retry, and after how long?   RetryPolicy, Schedule, Decision
//! │                 classify           what is this error?          Classifier, Verdict
//! │                 guard              could this call have started a refresh already?
//! │                 attempt            the one decision after a failed attempt, from those three
//! │                 outcome, settings, trace    RetryStats, RetryEvent, callbacks, logs
//! ├── layer/        the tower path: InstanceRefreshRetryLayer → InstanceRefreshRetry →
//! │                 future::ResponseFuture, and StartInstanceRefreshService over the SDK client
//! ├── interceptor/  the SDK path: InstanceRefreshRetryConfig, the extension traits, and the
//! │                 interceptor that hands each delay to the SDK's own retry loop
//! └── sim/          an embedded Auto Scaling simulator for tests and demos (feature `sim`)
//! ```
//!
//! `layer/` and `interceptor/` both import `core/` and never each other. Three questions are kept
//! apart:
//!
//! 1. *What is this error?* A [`Classifier`] returns a [`Verdict`]. By default only
//!    [`INSTANCE_REFRESH_IN_PROGRESS`] is [`Verdict::RetryAfterWait`]; everything else passes
//!    through untouched.
//! 2. *Retry, and after how long?* A [`RetryPolicy`] gives each call a [`Schedule`], a pure
//!    function: attempt number, elapsed time and a seedable RNG in, [`Decision`] out. It never
//!    sleeps and never reads a clock (unless you give it a `backoff` delay source that does).
//! 3. *Doing it.* Only the two integrations sleep, each with an injectable sleep and time source
//!    (the SDK client's own on the SDK path; [`sleep_impl`](InstanceRefreshRetryLayer::sleep_impl)
//!    and [`time_source`](InstanceRefreshRetryLayer::time_source) on the tower path), and both
//!    make the same decision after a failed attempt: the classifier first, then the duplicate
//!    guard, then the schedule.
//!
//! # What an attempt is
//!
//! An *attempt* is one try of the operation that the policy sees: on the tower path, one call of
//! the inner service; on the SDK path, one request together with the SDK's own retries of it
//! (throttling, 5xx, timeouts), which count against the SDK's own `max_attempts` for that attempt
//! alone, just as they would inside one tower-path call. The first attempt, and one more after
//! each wait: a call that waited three times made four attempts. The policy's `max_attempts`
//! limits these attempts, and [`RetryStats::attempts`] counts them, on both paths: the same
//! answers from Auto Scaling make both paths send the same requests and report the same
//! [`RetryStats`] (in the SDK's standard retry mode and while its retry quota lasts; `elapsed`
//! agrees to the microsecond only on a virtual clock, since the tower path starts its clock when
//! the call is made and the SDK path when the SDK's retry loop starts).
//!
//! Neither path does anything for a call before its first failure: no state is stored, no clock
//! or random number generator is read. The one exception is a configured `on_finish` (or the
//! tower path's `with_stats`), for which the start of the call is read, so that
//! [`RetryStats::elapsed`] covers the whole call; without one, `elapsed` counts from the first
//! blocked answer, like `max_elapsed` always does.
//!
//! # The SDK interceptor
//!
//! An interceptor and a retry classifier work as a pair inside the SDK's own retry loop. For the
//! target operation the interceptor runs the [`RetryPolicy`] and hands each delay to the SDK
//! (through the classifier, as an explicit retry delay); the SDK does the sleeping, with the sleep
//! implementation and time source of the client. Every other operation, and every other error,
//! is left to the SDK's retry as configured, counted per [attempt](#what-an-attempt-is) (see below).
//!
//! ## Installing it
//!
//! There is one way for each use, and each takes a [`RetryPolicy`] or, for every option, an
//! [`InstanceRefreshRetryConfig`]. On a config builder, with [`AutoScalingConfigExt`]:
//!
//! ```
//! use aws_sdk_autoscaling::operation::start_instance_refresh::{
//!     StartInstanceRefreshError, StartInstanceRefreshOutput,
//! };
//! use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! use aws_smithy_async::test_util::instant_time_and_sleep;
//! use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! use instance_refresh_retry::{AutoScalingConfigExt, Jitter, RetryPolicy};
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Three InstanceRefreshInProgress errors, then success.
//! let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//!     .sequence()
//!     .error(|| {
//!         StartInstanceRefreshError::InstanceRefreshInProgressFault(
//!             InstanceRefreshInProgressFault::builder().build(),
//!         )
//!     })
//!     .times(3)
//!     .output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build())
//!     .build();
//! // Virtual time: hours of waiting take no time at all.
//! let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//!
//! let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
//! let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |config| config
//! #   // (its body-throughput checks would log sleeps of their own)
//! #   .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//!     .sleep_impl(sleep.clone())
//!     .time_source(time.clone())
//!     .instance_refresh_retry(&policy));
//!
//! let out = client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! assert_eq!(out.instance_refresh_id(), Some("r-1"));
//! let secs = Duration::from_secs;
//! assert_eq!(sleep.logs(), [secs(5), secs(10), secs(20)]);
//! # Ok(())
//! # }
//! ```
//!
//! With a real client the same line goes into the builder (here one made from `aws-config`'s
//! `SdkConfig`):
//!
//! ```no_run
//! use instance_refresh_retry::{AutoScalingConfigExt, RetryPolicy};
//!
//! # async fn doc(builder: aws_sdk_autoscaling::config::Builder) -> Result<(), Box<dyn std::error::Error>> {
//! // let builder = aws_sdk_autoscaling::config::Builder::from(&aws_config::load_from_env().await);
//! let config = builder
//!     .instance_refresh_retry(RetryPolicy::default())
//!     .build();
//! let client = aws_sdk_autoscaling::Client::from_conf(config);
//! client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! # Ok(())
//! # }
//! ```
//!
//! On an existing client, with [`with_instance_refresh_retry`] (the new client shares the old
//! one's HTTP client, credentials and retry partition):
//!
//! ```
//! # use aws_sdk_autoscaling::operation::start_instance_refresh::{StartInstanceRefreshError, StartInstanceRefreshOutput};
//! # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! # use aws_smithy_async::test_util::instant_time_and_sleep;
//! # use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! # use std::time::{Duration, UNIX_EPOCH};
//! use instance_refresh_retry::{with_instance_refresh_retry, Jitter, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//! #     .sequence()
//! #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
//! #         InstanceRefreshInProgressFault::builder().build()))
//! #     .times(2)
//! #     .output(|| StartInstanceRefreshOutput::builder().build())
//! #     .build();
//! # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//! # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
//! #     .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//! #     .sleep_impl(sleep.clone()).time_source(time.clone()));
//! let policy = RetryPolicy::builder().jitter(Jitter::None).build()?;
//! let client = with_instance_refresh_retry(&client, policy);
//! client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! assert_eq!(sleep.total_duration(), Duration::from_secs(15));
//! # Ok(())
//! # }
//! ```
//!
//! For one call, with [`StartInstanceRefreshExt`] (nothing else on the client changes):
//! `send_with_retry`, or `send_with_stats` for the output together with its [`RetryStats`]. A
//! failure's stats travel beside the SDK's error:
//!
//! ```
//! # use aws_sdk_autoscaling::operation::start_instance_refresh::{StartInstanceRefreshError, StartInstanceRefreshOutput};
//! # use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
//! # use aws_smithy_async::test_util::instant_time_and_sleep;
//! # use aws_smithy_mocks::{mock, mock_client, RuleMode};
//! # use std::time::{Duration, UNIX_EPOCH};
//! use instance_refresh_retry::{retry_stats, Jitter, RetryOutcome, RetryPolicy, StartInstanceRefreshExt, StopReason};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
//! #     .sequence()
//! #     .error(|| StartInstanceRefreshError::InstanceRefreshInProgressFault(
//! #         InstanceRefreshInProgressFault::builder().build()))
//! #     .times(4)
//! #     .build();
//! # let (time, sleep) = instant_time_and_sleep(UNIX_EPOCH);
//! # let client = mock_client!(aws_sdk_autoscaling, RuleMode::Sequential, [&rule], |c| c
//! #     .stalled_stream_protection(aws_sdk_autoscaling::config::StalledStreamProtectionConfig::disabled())
//! #     .sleep_impl(sleep.clone()).time_source(time.clone()));
//! let policy = RetryPolicy::builder().jitter(Jitter::None).max_attempts(4).build()?;
//! let err = client
//!     .start_instance_refresh()
//!     .auto_scaling_group_name("web")
//!     .send_with_retry(&policy)
//!     .await
//!     .unwrap_err();
//! // The SDK's own error, unchanged...
//! assert!(err.as_service_error().unwrap().is_instance_refresh_in_progress_fault());
//! // ...with what the wait did beside it.
//! let stats = retry_stats(&err).unwrap();
//! assert_eq!(stats.attempts, 4);
//! assert_eq!(stats.waited, Duration::from_secs(5 + 10 + 20));
//! assert_eq!(stats.outcome, RetryOutcome::GaveUp(StopReason::MaxAttempts));
//! # Ok(())
//! # }
//! ```
//!
//! [`InstanceRefreshRetryConfig`] holds every option: a custom [`Classifier`], the
//! [related operations](InstanceRefreshRetryConfig::related_operations) (for those, install it
//! client-wide or per call with [`config_override`](InstanceRefreshRetryConfig::config_override)),
//! an [`on_retry`](InstanceRefreshRetryConfig::on_retry) callback for each wait, and an
//! [`on_finish`](InstanceRefreshRetryConfig::on_finish) callback for the end of every call that
//! runs to completion (a `.send()` future that is dropped reports nothing: bound the call with the
//! SDK's `operation_timeout` instead, which reports [`RetryOutcome::TimedOut`]).
//!
//! ## What changes, and what does not
//!
//! - The target operation retries `InstanceRefreshInProgress` (and any other code of the
//!   [`Classifier`]) on the policy's schedule, until `max_attempts` or `max_elapsed`; elapsed time
//!   is read from the client's time source, from the first blocked answer. When the
//!   policy stops, the caller gets the SDK's error unchanged, with [`RetryStats`] on its raw
//!   response ([`retry_stats`]).
//! - Waits take no tokens from the client's retry partition, so after any number of waits every
//!   other operation still has its full retry quota (but see *Quota* below for the one retry
//!   permit a wait can forfeit).
//! - Every other error of the target operation (throttling, 5xx, timeouts, ...) is retried by the
//!   SDK as if each attempt were a call of its own: within each [attempt](#what-an-attempt-is), the
//!   user's `max_attempts` counts those errors alone, their backoff is computed from their own
//!   count, and each of those retries takes tokens from the client's retry quota as usual. Three
//!   attempts stay three attempts, however long the refresh wait.
//! - Every other operation of the client is untouched: the interceptor does nothing for it.
//!
//! ## No second refresh after an unknown outcome
//!
//! `StartInstanceRefresh` has no idempotency token. If an attempt's outcome is unknown (its
//! response was lost, it timed out, the connection broke, or Auto Scaling answered a 5xx other
//! than `ResourceContention`), that attempt may have started a refresh, and a later attempt of
//! the same call meets it as `InstanceRefreshInProgress`. Waiting that out, or waiting and trying
//! again after it ended, would start a *second* refresh of the whole group. So once a call may
//! have started a refresh, it waits no more, whatever the classifier says: it stops with
//! [`StopReason::PossiblyOwnRefresh`] and the last error, unchanged, and the caller should look
//! at `DescribeInstanceRefreshes` (the refresh in progress may well be theirs). Throttling and
//! other 4xx errors are not ambiguous: the request was not applied.
//!
//! The guard spans the whole call on both paths. On the SDK path it sees every attempt. On the
//! tower path it sees what the inner service reports
//! ([`ProvideErrorCode::may_have_started_refresh`]): [`StartInstanceRefreshService`] reports it
//! for each inner call, the SDK's own retries inside that call included. An inner service of
//! your own must report it too (its error type implements the method), or the layer cannot
//! know (an inner service that returns the SDK's own `SdkError` of `StartInstanceRefresh`
//! reports its final answer; only `StartInstanceRefreshService` also sees the SDK's retries
//! inside the call). The SDK's own retry (on by default) still retries an unknown outcome inside one
//! attempt; if the refresh it may have started ended within that short backoff, the retry could
//! start a second one, which no client can rule out without asking `DescribeInstanceRefreshes`.
//!
//! ## The operation timeout
//!
//! The SDK's `operation_timeout` ([`TimeoutConfig`]) bounds the whole call, waits included: the
//! waits happen inside the SDK's retry loop. A call that is still waiting when it expires fails
//! with the SDK's timeout error ([`SdkError::TimeoutError`](aws_smithy_runtime_api::client::result::SdkError::TimeoutError)), which has no raw response; its
//! [`RetryStats`] (outcome [`RetryOutcome::TimedOut`]) reach `on_finish` only. Set it above
//! the policy's `max_elapsed`, or leave it unset, unless you want it to be the limit. The
//! `operation_attempt_timeout` applies to each request (each of the SDK's own attempts) and never
//! to a wait.
//!
//! [`TimeoutConfig`]: aws_smithy_types::timeout::TimeoutConfig
//!
//! ## Differences from the SDK's retry
//!
//! - **Delays.** A classifier can already ask the SDK for an explicit delay, but the standard
//!   strategy caps it at `max_backoff` (20 s by default) under retry spec 2.0, and under spec 2.1
//!   clamps it to between the SDK's own backoff and 5 s more. Here each delay is exactly the
//!   policy's: minutes, not seconds.
//! - **Attempts.** The SDK stops at `max_attempts` (3 by default); here waits stop at the
//!   policy's `max_attempts` and `max_elapsed` (one hour by default).
//! - **Quota.** Every SDK retry takes 5 to 14 tokens from a bucket of 500 shared by the whole
//!   retry partition, so 100 waits would starve the client. Waits here take nothing. One effect
//!   remains, because the SDK's strategy holds a single retry permit per client (not per call)
//!   and every retry it grants replaces the one it held: a wait that comes right after a
//!   throttling, 5xx or timeout retry of *any* call on the same client (with no success in
//!   between) forfeits that retry's tokens instead of letting a later success refund them,
//!   exactly as a second SDK retry would. That is at most one retry's cost per such retry, never
//!   more than those retries already took. And the success that ends a call after a wait does
//!   not add back the one token that a first-attempt success adds.
//! - **Retry spec 2.0 and 2.1 behave the same.** For the one retry decision after a wait, the
//!   interceptor swaps in a copy of the user's `RetryConfig` with spec 2.0, standard mode, a
//!   `max_backoff` of at least the delay and room for one more attempt, plus an unlimited token
//!   bucket; the user's values come back when the next attempt starts (`read_before_attempt`),
//!   after the SDK has slept and taken that attempt's send token. (However the spec gets onto the
//!   `RetryConfig`, through `aws-config`, a `BehaviorVersion` or `with_retry_spec`, this crate
//!   sees only the result.)
//! - **Adaptive mode.** The client-side rate limiter is neither consulted nor updated for waits,
//!   and the attempt right after a wait skips it too: the override above is still in place when
//!   the SDK takes that attempt's send token.
//! - **Per call.** The schedule, the counters and the start time of a call live in that call's
//!   `ConfigBag` from its first failure on; concurrent calls on one client are independent. A
//!   call that succeeds at once stores nothing; both interceptors are installed as
//!   permanent `SharedInterceptor`s (they cannot be disabled with `disable_interceptor`), so the
//!   SDK's interceptor loop calls only the hooks they implement.
//!
//! ## Limits
//!
//! - Install the interceptor after any interceptor that rewrites an attempt's outcome (such as
//!   aws-smithy-mocks' `MockResponseInterceptor`): it reads the outcome in
//!   `modify_before_attempt_completion`. The extension traits append it, so installing it last
//!   is the natural order.
//! - When it is installed more than once (client-wide and per call), the last one installed acts
//!   alone; per-call settings win over client-wide ones. (The instances count each other by
//!   interceptor name at a call's first failure; the last of them to run takes the call.)
//! - Its retry classifier runs after the SDK's classifiers (with a priority just above the
//!   transient-error classifier). A classifier of yours that returns `RetryForbidden`, at any
//!   priority, stops the waiting; one with a higher priority that returns any other action
//!   replaces the policy's delay.
//! - A `.send()` future that is dropped (for example by `tokio::time::timeout`) reports nothing
//!   to `on_finish`; the SDK's `operation_timeout` ends the call with a report.
//! - Retries need a sleep implementation on the client (every client built with
//!   `aws-config` or `BehaviorVersion` defaults has one).
//!
//! # The tower layer
//!
//! [`InstanceRefreshRetryLayer`] wraps any `Clone` service whose error carries an AWS error code
//! ([`ProvideErrorCode`]: `SdkError`, or the boxed errors of tower middleware such as `Timeout`).
//! [`StartInstanceRefreshService`] adapts the SDK client, and it is what lets the duplicate
//! guard see the SDK's own retries inside each call. Waiting uses tokio's sleep and clock unless you give the layer the
//! SDK's kind ([`sleep_impl`](InstanceRefreshRetryLayer::sleep_impl),
//! [`time_source`](InstanceRefreshRetryLayer::time_source)), so tests under
//! `tokio::time::pause()` cover hours in milliseconds.
//!
//! ```
//! use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
//! use instance_refresh_retry::{InstanceRefreshRetryLayer, RetryPolicy, StartInstanceRefreshService};
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! async fn deploy(client: aws_sdk_autoscaling::Client) -> Result<(), tower::BoxError> {
//!     let svc = ServiceBuilder::new()
//!         .layer(InstanceRefreshRetryLayer::new(RetryPolicy::default()))
//!         .timeout(Duration::from_secs(30)) // each attempt
//!         .service(StartInstanceRefreshService::new(client));
//!     let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
//!     let out = svc.oneshot(input).await?;
//!     println!("started {}", out.instance_refresh_id().unwrap_or_default());
//!     Ok(())
//! }
//! ```
//!
//! When the policy gives up, the caller gets the last SDK error unchanged (so
//! `is_instance_refresh_in_progress_fault()` still works). [`RetryStats`] (attempts, time waited,
//! outcome) reach [`InstanceRefreshRetryLayer::on_finish`] and the `tracing` events, and a
//! success's come with it after [`with_stats`](InstanceRefreshRetryLayer::with_stats). Each wait
//! reaches [`on_retry`](InstanceRefreshRetryLayer::on_retry).
//!
//! # The Refresher
//!
//! The two paths above wait blindly: they retry `StartInstanceRefresh` on a schedule. A
//! [`Refresher`] also looks at what blocks it (`DescribeInstanceRefreshes`) and makes the calls
//! of its own that a careful operator would. It is a third consumer of the same core: the
//! [`RetryPolicy`] still bounds every wait.
//!
//! - **Status-aware waiting.** On `InstanceRefreshInProgress` it describes the active refresh
//!   (`Baking` and `RollbackInProgress` count as active) and looks again when it can end. It
//!   reads only what public sources document, and learns from the refresh in front of it:
//!   - **What is certain**: the rest of a checkpoint pause it is in (`CheckpointDelay`, 3600 s
//!     when checkpoints are set and no delay is, from when its percentage reached the
//!     checkpoint), a checkpoint still ahead, the `BakeTime`. Only this fails a call fast
//!     ([`RefreshErrorKind::WontEndInTime`]), never a projection; a pause that the preferences
//!     explain is no stall.
//!   - **What is plausible**: a window from how long this refresh's percentages and launches
//!     took. Now and then (at the first sighting, for the final batch, when a bake or a pause
//!     began unseen) it reads the group's scaling activities (`DescribeScalingActivities`, one
//!     page), which tell when each launch began and ended. Without them (no permission, no
//!     launch inside the refresh) it falls back to the percentage, and says so
//!     ([`Progress::evidence`]). The only `StatusReason` it reads is the documented warmup
//!     sentence, as a hint of which instance came into service last. `InstancesToUpdate` (0
//!     while `InProgress` in AWS's own examples) and a percentage at its target (its rounding is
//!     not stated) are never taken as done.
//!   - **Wrong early**: a refresh can end at any moment (cancelled by someone else, failed or
//!     rolled back by an alarm, failed after an hour without progress), so no sleep while a
//!     refresh is active exceeds [`Refresher::max_check_interval`] (5 min by default), and none
//!     goes past the earliest plausible end. Inside the window it checks densely; where nothing
//!     but the end is left to learn, the check is the `StartInstanceRefresh` itself.
//!     `Cancelling` and `RollbackInProgress` are estimated from their own progress.
//!
//!   A describe that fails never fails the call: the plain schedule takes over. Each check
//!   reaches [`Refresher::on_progress`] ([`Progress`]), which also flags a blocker whose
//!   percentage has not moved for an hour more than a pause explains as stalled.
//! - **Conflict strategies** ([`OnConflict`]): wait (the default), cancel the other refresh and
//!   start (it destroys someone else's refresh), or fail at once naming the blocker.
//! - **Adopt, never duplicate.** After an attempt whose outcome is unknown, the group's recent
//!   refreshes are described: one that started after the call began (less 5 min of clock skew)
//!   and matches the request (strategy, and every preference and desired configuration the
//!   request set) is the call's own, and is returned with [`Started::adopted`]. One call starts
//!   at most one refresh. (A refresh that someone else started in that window with the very same
//!   request cannot be told apart, and would be adopted.)
//! - **The waiter AWS does not ship**: [`Refresher::wait_for_completion`] follows a refresh to a
//!   terminal status (`Successful`, `Failed`, `Cancelled`, `RollbackSuccessful`,
//!   `RollbackFailed`: each an `Ok(`[`Completed`]`)`) or `max_wait`.
//!
//! ```no_run
//! use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
//! use instance_refresh_retry::{OnConflict, Refresher};
//! use std::time::Duration;
//!
//! # async fn deploy(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let refresher = Refresher::new(client, Refresher::default_policy())
//!     .on_conflict(OnConflict::Wait)
//!     .on_progress(|p| eprintln!("{} {:?} {}%", p.refresh_id, p.status, p.percentage));
//! let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
//! let started = refresher.start(input).await?;
//! let done = refresher
//!     .wait_for_completion("web", started.instance_refresh_id(), Duration::from_secs(4 * 3600))
//!     .await?;
//! assert!(done.is_successful(), "{:?}: {:?}", done.status(), done.status_reason());
//! # Ok(()) }
//! ```
//!
//! A `Refresher` is also a `tower::Service<StartInstanceRefreshInput>` (response [`Started`],
//! error [`RefreshError`]), so it composes with `ConcurrencyLimit`, `Timeout` and tracing layers.
//! The SDK interceptor path stays a plain wait: an interceptor cannot make calls of its own.
//!
//! # Logs
//!
//! Each wrapped call that waits has one `instance_refresh_retry` span (on the tower path the call
//! runs in it from its first wait on; on the SDK path it holds the crate's own events, not the
//! SDK's logs); a call that never waits creates none. Every wait emits
//! an `INFO` event
//! with the fields `attempt`, `delay_ms`, `error_code` and `request_id`; giving up emits a `WARN`
//! event with `attempts`, `waited_ms`, `elapsed_ms`, `reason`, `error_code` and `request_id`; any
//! other end a `DEBUG` event. [`StartInstanceRefreshService`] adds a `DEBUG` span
//! `start_instance_refresh` with the field `group` (the Auto Scaling group's name). Credentials,
//! signatures, request bodies and responses are never logged.
//!
//! # Features
//!
//! - `sim`: `instance_refresh_retry::sim`, an embedded Auto Scaling simulator serving the awsQuery protocol on
//!   127.0.0.1.
//! - `cli`: the `asg-refresh` command-line tool (a thin shell over the [`Refresher`]; see the
//!   README), with the simulator for its `demo`.
//! - `backoff`: take delays from a `backoff::backoff::Backoff` (the `backoff` crate is
//!   unmaintained; this is for interoperability only).

mod core;
mod interceptor;
mod layer;
mod refresher;

#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

/// The futures of the tower path, as in tower (`tower::retry::future`).
///
/// Name them to keep a call in a struct or to return it from a function:
///
/// ```
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
/// use instance_refresh_retry::future::{ResponseFuture, StartInstanceRefreshFuture};
/// use instance_refresh_retry::{InstanceRefreshRetry, RetryPolicy, StartInstanceRefreshService};
/// use tower::Service;
///
/// type Sdk = StartInstanceRefreshService;
/// type Started = ResponseFuture<Sdk, StartInstanceRefreshInput, StartInstanceRefreshFuture>;
///
/// fn start(svc: &mut InstanceRefreshRetry<Sdk>, input: StartInstanceRefreshInput) -> Started {
///     svc.call(input) // no need to wait for readiness: the SDK service is always ready
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
/// # use aws_smithy_mocks::{mock, mock_client};
/// # let rule = mock!(aws_sdk_autoscaling::Client::start_instance_refresh)
/// #     .then_output(|| StartInstanceRefreshOutput::builder().instance_refresh_id("r-1").build());
/// # let client = mock_client!(aws_sdk_autoscaling, [&rule]);
/// let mut svc = InstanceRefreshRetry::new(Sdk::new(client), RetryPolicy::default());
/// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
/// assert_eq!(start(&mut svc, input).await?.instance_refresh_id(), Some("r-1"));
/// # Ok(())
/// # }
/// ```
pub mod future {
    pub use crate::layer::future::ResponseFuture;
    pub use crate::layer::sdk_service::StartInstanceRefreshFuture;
}

// The shared core.
pub use crate::core::classify::{Classifier, Verdict};
pub use crate::core::error_code::ProvideErrorCode;
pub use crate::core::operation::{INSTANCE_REFRESH_IN_PROGRESS, StartInstanceRefreshSdkError};
pub use crate::core::outcome::{RetryEvent, RetryOutcome, RetryStats, StopReason};
pub use crate::core::policy::{Jitter, PolicyError, RetryPolicy, RetryPolicyBuilder};
pub use crate::core::schedule::{Decision, Delays, Schedule};

// The tower path. Its futures are in `future`, as in tower; they stay at the root too.
#[doc(no_inline)]
pub use crate::future::{ResponseFuture, StartInstanceRefreshFuture};
pub use crate::layer::sdk_service::StartInstanceRefreshService;
pub use crate::layer::{
    InstanceRefreshRetry, InstanceRefreshRetryLayer, Respond, Unchanged, WithStats,
};

// The Refresher.
pub use crate::refresher::{
    Completed, Evidence, InstanceRefreshWaiter, InstanceRefreshWaiterExt, OnConflict, Progress,
    RefreshError, RefreshErrorKind, Refresher, RefresherFuture, Started,
};

// The SDK path.
pub use crate::interceptor::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, StartInstanceRefreshExt, retry_stats,
    with_instance_refresh_retry,
};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
