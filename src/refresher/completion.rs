//! [`Refresher::wait_for_completion`]: the instance-refresh waiter that AWS does not ship.

use std::time::Duration;

use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus};

use super::error::{RefreshError, RefreshErrorKind};
use super::estimate::Look;
use super::observe::{Phase, Refresh};
use super::options::Refresher;
use super::run::{Run, transient};
use crate::core::outcome::{RetryOutcome, RetryStats};

/// A refresh that reached a terminal status: `Successful`, `Failed`, `Cancelled`,
/// `RollbackSuccessful` or `RollbackFailed`. Every one of them is a completion; look at
/// [`status`](Self::status) (or [`is_successful`](Self::is_successful)) to tell them apart.
///
/// ```
/// # use instance_refresh_retry::Completed;
/// fn summary(done: &Completed) -> String {
///     format!(
///         "{}: {}",
///         done.status().as_str(),
///         done.status_reason().unwrap_or("no reason given")
///     )
/// }
/// # let _ = summary;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    refresh: InstanceRefresh,
    status: InstanceRefreshStatus,
    stats: RetryStats,
}

impl Completed {
    /// The terminal status.
    pub fn status(&self) -> &InstanceRefreshStatus {
        &self.status
    }

    /// `true` for `Successful`.
    pub fn is_successful(&self) -> bool {
        self.status == InstanceRefreshStatus::Successful
    }

    /// Auto Scaling's `StatusReason`, if it gave one.
    pub fn status_reason(&self) -> Option<&str> {
        self.refresh.status_reason()
    }

    /// The refresh as last described.
    pub fn refresh(&self) -> &InstanceRefresh {
        &self.refresh
    }

    /// What the wait did: describe calls and time waited.
    pub fn stats(&self) -> RetryStats {
        self.stats
    }
}

impl Refresher {
    /// Waits until refresh `instance_refresh_id` of `group` reaches a terminal status, or
    /// `max_wait` passes. It describes the refresh, and looks again when it should end (within
    /// the policy's `max_delay`, with `max_wait` in place of `max_elapsed`), reporting each
    /// check to [`on_progress`](Self::on_progress). A describe that is throttled or fails with a
    /// 5xx or a timeout is tried again on the plain schedule.
    ///
    /// ```no_run
    /// use instance_refresh_retry::Refresher;
    /// use std::time::Duration;
    ///
    /// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let refresher = Refresher::new(client, Refresher::default_policy())
    ///     .on_progress(|p| eprintln!("{:?} {}%", p.status, p.percentage));
    /// let done = refresher
    ///     .wait_for_completion("web", "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b", Duration::from_secs(3600))
    ///     .await?;
    /// if !done.is_successful() {
    ///     eprintln!("{:?}: {}", done.status(), done.status_reason().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RefreshErrorKind::MaxWait`] when `max_wait` passes, [`RefreshErrorKind::NotFound`] when
    /// the group has no such refresh, [`RefreshErrorKind::Aws`] when a describe is refused
    /// (validation, access denied).
    pub async fn wait_for_completion(
        &self,
        group: &str,
        instance_refresh_id: &str,
        max_wait: Duration,
    ) -> Result<Completed, RefreshError> {
        let mut run = Run::new(&self.inner, group, Some(max_wait));
        let mut status = None;
        loop {
            // A read of the activities alone, where the estimate asks for one (a probe is for
            // starting, not here: a describe instead).
            if run.look == Look::Activities {
                let estimate = run.look_at_activities().await;
                run.look = run.next_look(&estimate);
                if run.wait(Some(estimate.next_check)).await.is_err() {
                    return Err(run.error(RefreshErrorKind::MaxWait {
                        refresh_id: instance_refresh_id.to_owned(),
                        status,
                    }));
                }
                continue;
            }
            let proposed = match run.describe(Some(instance_refresh_id)).await {
                Ok(refreshes) => {
                    let Some(described) = refreshes
                        .into_iter()
                        .find(|r| r.instance_refresh_id() == Some(instance_refresh_id))
                    else {
                        return Err(run.error(RefreshErrorKind::NotFound {
                            refresh_id: instance_refresh_id.to_owned(),
                        }));
                    };
                    let refresh = Refresh::of(&described);
                    status = refresh.status.clone();
                    let estimate = if refresh.phase == Phase::Ended {
                        let now = run.now();
                        run.memory.observe(&refresh, now)
                    } else {
                        run.check(&refresh).await
                    };
                    if refresh.phase == Phase::Ended {
                        run.report(&refresh, &estimate);
                        let status = refresh.status.unwrap_or(InstanceRefreshStatus::Successful);
                        return Ok(Completed {
                            refresh: described,
                            status,
                            stats: run.stats(RetryOutcome::Succeeded),
                        });
                    }
                    run.report(&refresh, &estimate);
                    run.look = match run.next_look(&estimate) {
                        Look::Activities => Look::Activities,
                        _ => Look::Describe,
                    };
                    Some(estimate.next_check)
                }
                Err(err) if transient(&err) => {
                    run.last_error = Some(Box::new(err));
                    None
                }
                Err(err) => {
                    run.last_error = Some(Box::new(err));
                    return Err(run.error(RefreshErrorKind::Aws));
                }
            };
            if run.wait(proposed).await.is_err() {
                return Err(run.error(RefreshErrorKind::MaxWait {
                    refresh_id: instance_refresh_id.to_owned(),
                    status,
                }));
            }
        }
    }
}
