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
// The bench uses all of it; these tests, the strategies of the table and the family.
#[cfg(feature = "sim")]
#[path = "../common/wait.rs"]
#[allow(dead_code)]
mod wait;
#[cfg(feature = "sim")]
mod wait_comparison;
