//! The Refresher: the third consumer of the core. Where the two plain paths wait blindly, it
//! watches the refresh it waits for (`DescribeInstanceRefreshes`), adopts the call's own refresh
//! instead of starting a second one, and follows a refresh to its end.
//!
//! - [`options`] holds [`Refresher`], its options and [`OnConflict`];
//! - [`adopt`] holds [`Adoption`], and which running refresh a request may adopt
//!   ([`OnConflict::Adopt`], [`NotAdoptable`]);
//! - [`start`] holds [`Refresher::start`] and [`Started`], which performs the steps that
//!   [`protocol`] (pure, and model-checked by `model` in the tests) decides;
//! - [`completion`] holds [`Refresher::wait_for_completion`] and [`Completed`];
//! - [`control`] holds [`Refresher::status`] ([`CurrentRefresh`]), [`Refresher::cancel`] and
//!   [`Refresher::rollback`];
//! - [`run`] holds one call in motion: schedule, clock, counters, describe, wait, report;
//! - [`observe`] reduces a described refresh to what the decisions need, and matches a request;
//! - [`activity`] reduces the group's scaling activities to the refresh's launches;
//! - [`estimate`] holds the pure estimate of when a refresh ends (what is certain, what is
//!   plausible), and [`cadence`] when to look again given that;
//! - [`progress`] and [`error`] hold what the callback and the caller are told;
//! - [`service`] holds the `tower::Service` implementation;
//! - [`waiter`] holds the waiter in the style of the SDK's generated ones.
//!
//! It builds on `core/` (the schedule bounds every wait) and on the tower path's
//! `StartInstanceRefreshService` (whose errors say whether a start may have been applied).

mod activity;
mod adopt;
mod cadence;
mod completion;
mod control;
mod error;
mod estimate;
mod observe;
mod options;
mod progress;
mod protocol;
mod run;
mod service;
mod start;
mod waiter;

#[cfg(test)]
mod model;

pub use adopt::{Adoption, NotAdoptable};
pub use completion::Completed;
pub use control::CurrentRefresh;
pub use error::{RefreshError, RefreshErrorKind};
pub use options::{OnConflict, Refresher};
pub use progress::{Evidence, Progress};
pub use service::RefresherFuture;
pub use start::Started;
pub use waiter::{InstanceRefreshWaiter, InstanceRefreshWaiterExt};
