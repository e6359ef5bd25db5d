//! [`wait_for_completion`](crate::Refresher::wait_for_completion) in the style of the SDK's
//! generated waiters (`client.wait_until_group_exists()...wait(max_wait)`).

use std::time::Duration;

use aws_sdk_autoscaling::Client;

use super::completion::Completed;
use super::error::{RefreshError, RefreshErrorKind};
use super::options::Refresher;
use super::progress::Progress;
use crate::core::outcome::{RetryOutcome, RetryStats};
use crate::core::policy::RetryPolicy;

mod sealed {
    pub trait Sealed {}
    impl Sealed for aws_sdk_autoscaling::Client {}
}

/// Adds the instance-refresh waiter that the SDK does not generate.
///
/// ```no_run
/// use instance_refresh_retry::InstanceRefreshWaiterExt;
/// use std::time::Duration;
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let done = client
///     .wait_until_instance_refresh_complete()
///     .auto_scaling_group_name("web")
///     .instance_refresh_id("08b91cf7-8fa6-48af-b6a6-d227f40f1b9b")
///     .wait(Duration::from_secs(4 * 3600))
///     .await?;
/// println!("{:?}", done.status());
/// # Ok(()) }
/// ```
pub trait InstanceRefreshWaiterExt: sealed::Sealed {
    /// Starts a waiter for one refresh to reach a terminal status. See
    /// [`Refresher::wait_for_completion`].
    fn wait_until_instance_refresh_complete(&self) -> InstanceRefreshWaiter;
}

impl InstanceRefreshWaiterExt for Client {
    fn wait_until_instance_refresh_complete(&self) -> InstanceRefreshWaiter {
        InstanceRefreshWaiter {
            refresher: Refresher::new(self.clone(), Refresher::default_policy()),
            group: None,
            id: None,
        }
    }
}

/// The fluent builder of [`InstanceRefreshWaiterExt::wait_until_instance_refresh_complete`].
#[derive(Debug, Clone)]
#[must_use]
pub struct InstanceRefreshWaiter {
    refresher: Refresher,
    group: Option<String>,
    id: Option<String>,
}

impl InstanceRefreshWaiter {
    /// The group (required).
    pub fn auto_scaling_group_name(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The refresh (required).
    pub fn instance_refresh_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The policy that bounds each wait between checks (default
    /// [`Refresher::default_policy`]; `max_wait` replaces its `max_elapsed`).
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        let refresher = Refresher::new(self.refresher.client().clone(), policy);
        let inner = &self.refresher.inner;
        self.refresher = match inner.on_progress.clone() {
            Some(on_progress) => refresher.on_progress(move |p| (on_progress.0)(p)),
            None => refresher,
        };
        self
    }

    /// Calls `f` at each check.
    pub fn on_progress<F>(mut self, f: F) -> Self
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        self.refresher = self.refresher.on_progress(f);
        self
    }

    /// Waits at most `max_wait` for a terminal status.
    ///
    /// # Errors
    ///
    /// As [`Refresher::wait_for_completion`]; a missing group name or refresh id is
    /// [`RefreshErrorKind::NotFound`](crate::RefreshErrorKind::NotFound) without a call.
    pub async fn wait(self, max_wait: Duration) -> Result<Completed, RefreshError> {
        let (Some(group), Some(id)) = (self.group, self.id.clone()) else {
            let stats = RetryStats::new(
                0,
                Duration::ZERO,
                Duration::ZERO,
                RetryOutcome::NotRetryable,
            );
            let refresh_id = self.id.unwrap_or_default();
            return Err(RefreshError::new(
                RefreshErrorKind::NotFound { refresh_id },
                stats,
                None,
            ));
        };
        self.refresher
            .wait_for_completion(&group, &id, max_wait)
            .await
    }
}
