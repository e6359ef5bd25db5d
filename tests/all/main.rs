//! Integration tests: one binary so the SDK is linked once.

mod callbacks;
mod interceptor;
mod scale;
mod support;
mod tower;
mod tower_sdk;

#[cfg(feature = "sim")]
mod cancellation;
#[cfg(feature = "sim")]
mod e2e;
#[cfg(feature = "sim")]
mod estimate_family;
#[cfg(feature = "sim")]
mod fault_run;
#[cfg(feature = "sim")]
mod iam;
#[cfg(feature = "sim")]
mod parity;
#[cfg(feature = "sim")]
mod refresher;
#[cfg(feature = "sim")]
mod secrets;
#[cfg(feature = "sim")]
mod sim;
#[cfg(feature = "sim")]
#[path = "../common/wait.rs"]
mod wait;
#[cfg(feature = "sim")]
mod wait_comparison;
