//! The SDK path: an interceptor and a retry classifier that work inside the SDK's own retry loop.
//! The user-facing documentation is in the crate docs, section
//! [The SDK interceptor](crate#the-sdk-interceptor).
//!
//! - [`config`] holds [`InstanceRefreshRetryConfig`], the options, and putting them on a config.
//! - [`install`] holds the extension traits and [`retry_stats`].
//! - [`retry_interceptor`] holds the interceptor's hooks, one decision per attempt.
//! - [`call_state`] holds what one call keeps in its `ConfigBag`, and the one-decision override of the
//!   SDK's retry settings.
//! - [`directive`] holds the retry classifier that hands each decision to the SDK.

mod call_state;
mod config;
mod directive;
mod install;
mod retry_interceptor;

pub use config::InstanceRefreshRetryConfig;
pub use install::{
    AutoScalingConfigExt, StartInstanceRefreshExt, retry_stats, with_instance_refresh_retry,
};
