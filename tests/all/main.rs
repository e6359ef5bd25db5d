//! Integration tests: one binary so the SDK is linked once.

mod interceptor;

#[cfg(feature = "sim")]
mod sim;
