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
//! Three questions are kept apart:
//!
//! 1. *What is this error?* A [`Classifier`] returns a [`Verdict`]. By default only
//!    [`INSTANCE_REFRESH_IN_PROGRESS`] is [`Verdict::RetryAfterWait`]; everything else passes
//!    through untouched.
//! 2. *Retry, and after how long?* A [`RetryPolicy`] is a pure schedule: attempt number, elapsed
//!    time and a seedable RNG in, [`Decision`] out. It never sleeps and never reads a clock.
//! 3. *Doing it.* Only the two integrations sleep, each with its own injectable clock, and both
//!    run the same policy code.
//!
//! # The tower layer
//!
//! [`InstanceRefreshRetryLayer`] wraps any `Clone` service whose error carries an AWS error code
//! ([`ProvideErrorCode`]: `SdkError`, or the boxed errors of tower middleware such as `Timeout`).
//! [`StartInstanceRefreshService`] adapts the SDK client. Waiting uses `tokio::time`, so tests under
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
//! `is_instance_refresh_in_progress_fault()` still works); [`RetryStats`] (attempts, time waited,
//! outcome) reach [`InstanceRefreshRetryLayer::on_finish`] and the `tracing` events.
//!
//! # Logs
//!
//! Each wrapped call runs in one `instance_refresh_retry` span. Every retry emits an `INFO` event
//! with the fields `attempt`, `delay_ms`, `error_code` and `request_id`; giving up emits a `WARN`
//! event with `attempts`, `waited_ms` and `elapsed_ms`. Credentials, signatures, requests and
//! responses are never logged.
//!
//! # Features
//!
//! - `sim`: [`sim`], an embedded Auto Scaling simulator serving the awsQuery protocol on
//!   127.0.0.1.
//! - `backoff`: take delays from a `backoff::backoff::Backoff` (the `backoff` crate is
//!   unmaintained; this is for interoperability only).

mod classify;
mod future;
mod interceptor;
mod layer;
mod policy;
mod sdk_service;
mod service;
mod stats;
mod trace;

#[cfg(feature = "backoff")]
mod backoff_compat;

#[cfg(feature = "sim")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim")))]
pub mod sim;

pub use classify::{
    Classifier, INSTANCE_REFRESH_IN_PROGRESS, ProvideErrorCode, Verdict, default_classifier,
};
pub use future::ResponseFuture;
pub use layer::InstanceRefreshRetryLayer;
pub use policy::{
    Decision, Delays, Jitter, PolicyError, RetryPolicy, RetryPolicyBuilder, Schedule, StopReason,
};
pub use sdk_service::{
    StartInstanceRefreshFuture, StartInstanceRefreshSdkError, StartInstanceRefreshService,
};
pub use service::InstanceRefreshRetry;
pub use stats::{RetryOutcome, RetryStats};

pub use interceptor::{
    AutoScalingConfigExt, InstanceRefreshRetryConfig, StartInstanceRefreshExt, retry_stats,
    with_instance_refresh_retry,
};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
