#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
//! placeholder

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

// SDK interceptor re-exports (owned by the interceptor work):
// pub use interceptor::{...};
