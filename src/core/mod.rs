//! The shared core: everything both integration paths use, and nothing that sleeps or calls AWS.
//!
//! - [`policy`] and [`schedule`] hold *retry, and after how long?* The configuration, and the pure
//!   per-call function that answers it.
//! - [`classify`] and [`error_code`] hold *what is this error?*
//! - [`guard`] holds *could this call have started a refresh already?* The unknown-outcome guard.
//! - [`attempt`] holds the one decision both paths make after a failed attempt, from those three.
//! - [`outcome`], [`settings`] and [`trace`]: what a call did, who hears about it, and the logs.
//! - [`clock`] holds the default time source of the integrations that sleep with tokio.
//! - [`operation`] holds the names Auto Scaling uses.
//!
//! Nothing in this folder imports from `layer/` or `interceptor/`.

pub(crate) mod attempt;
pub(crate) mod classify;
pub(crate) mod clock;
pub(crate) mod error_code;
pub(crate) mod guard;
pub(crate) mod operation;
pub(crate) mod outcome;
pub(crate) mod policy;
pub(crate) mod schedule;
pub(crate) mod settings;
pub(crate) mod trace;

#[cfg(feature = "backoff")]
pub(crate) mod backoff_compat;
