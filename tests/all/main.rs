//! Integration tests: one binary so the SDK is linked once.

#[cfg(feature = "sim")]
mod sim;
