//! [`Refresher::status`], [`Refresher::cancel`] and [`Refresher::rollback`]: one call each, for
//! the group's active or latest refresh ([`CurrentRefresh`]).

use std::time::SystemTime;

use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus};

use super::error::{RefreshError, RefreshErrorKind};
use super::observe::Phase;
use super::options::Refresher;
use super::run::Run;

/// The active or latest refresh of a group, as [`Refresher::status`] found it.
///
/// ```
/// # use instance_refresh_retry::CurrentRefresh;
/// fn line(current: &CurrentRefresh) -> String {
///     format!(
///         "{} {} {}%{}",
///         current.instance_refresh_id(),
///         current.status().map_or("unknown", |s| s.as_str()),
///         current.percentage_complete().unwrap_or(0),
///         if current.is_active() { " (running)" } else { "" }
///     )
/// }
/// # let _ = line;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentRefresh {
    refresh: InstanceRefresh,
}

impl CurrentRefresh {
    /// The refresh's id.
    pub fn instance_refresh_id(&self) -> &str {
        self.refresh.instance_refresh_id().unwrap_or_default()
    }

    /// Its status.
    pub fn status(&self) -> Option<&InstanceRefreshStatus> {
        self.refresh.status()
    }

    /// Whether it blocks a new refresh: `Pending`, `InProgress`, `Baking`, `Cancelling`,
    /// `RollbackInProgress`, or a status this crate does not know yet.
    pub fn is_active(&self) -> bool {
        Phase::of(self.refresh.status()).is_active()
    }

    /// Its `PercentageComplete` (during a rollback, the rollback's own, from 0).
    pub fn percentage_complete(&self) -> Option<u32> {
        self.refresh
            .percentage_complete()
            .and_then(|p| u32::try_from(p).ok())
    }

    /// Its `StatusReason`, if Auto Scaling gave one.
    pub fn status_reason(&self) -> Option<&str> {
        self.refresh.status_reason()
    }

    /// When it started (whole seconds).
    pub fn start_time(&self) -> Option<SystemTime> {
        self.refresh
            .start_time()
            .and_then(|t| SystemTime::try_from(*t).ok())
    }

    /// When it ended, if it has.
    pub fn end_time(&self) -> Option<SystemTime> {
        self.refresh
            .end_time()
            .and_then(|t| SystemTime::try_from(*t).ok())
    }

    /// The refresh as described (preferences, desired configuration, rollback details).
    pub fn refresh(&self) -> &InstanceRefresh {
        &self.refresh
    }
}

impl Refresher {
    /// The group's active refresh, else its latest (`None` when it has had none in the six
    /// weeks Auto Scaling remembers): one `DescribeInstanceRefreshes` call.
    ///
    /// ```
    /// # #[cfg(feature = "sim")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
    /// # use std::time::Duration;
    /// # tokio::time::pause();
    /// # let sim = AutoScalingSim::start().await?;
    /// # sim.create_group("web", GroupConfig::default());
    /// # let client = sim.client();
    /// use instance_refresh_retry::Refresher;
    ///
    /// // `client`: an aws_sdk_autoscaling::Client (here on the embedded simulator).
    /// let refresher = Refresher::new(client, Refresher::default_policy());
    /// assert!(refresher.status("web").await?.is_none());
    ///
    /// let id = sim.seed_running_refresh("web", Duration::from_secs(600))?;
    /// let current = refresher.status("web").await?.expect("a refresh");
    /// assert_eq!(current.instance_refresh_id(), id);
    /// assert!(current.is_active());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "sim"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// [`RefreshErrorKind::Aws`] when the describe fails (an unknown group, access denied, or
    /// what the client's own retry could not overcome); the SDK error is the source.
    pub async fn status(&self, group: &str) -> Result<Option<CurrentRefresh>, RefreshError> {
        let mut run = Run::new(&self.inner, group, None);
        match run.describe(None).await {
            Ok(refreshes) => {
                let active = refreshes
                    .iter()
                    .position(|r| Phase::of(r.status()).is_active());
                Ok(refreshes
                    .into_iter()
                    .nth(active.unwrap_or(0))
                    .map(|refresh| CurrentRefresh { refresh }))
            }
            Err(err) => {
                run.last_error = Some(Box::new(err));
                Err(run.error(RefreshErrorKind::Aws))
            }
        }
    }

    /// Cancels the group's active refresh (`CancelInstanceRefresh`) and returns its id.
    /// Replaced instances stay replaced. With `wait_for_transitioning_instances` `false` the
    /// refresh is `Cancelled` at once while launches and terminations in flight go on in the
    /// background (what a CI job cancelled within a short grace period needs); with `true`
    /// (Auto Scaling's default) it stays `Cancelling` until they end. Follow it with
    /// [`wait_for_completion`](Self::wait_for_completion).
    ///
    /// ```
    /// # #[cfg(feature = "sim")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
    /// # use std::time::Duration;
    /// # tokio::time::pause();
    /// # let sim = AutoScalingSim::start().await?;
    /// # sim.create_group("web", GroupConfig::default());
    /// # let client = sim.client();
    /// use aws_sdk_autoscaling::types::InstanceRefreshStatus;
    /// use instance_refresh_retry::Refresher;
    ///
    /// let refresher = Refresher::new(client, Refresher::default_policy());
    /// let running = sim.seed_running_refresh("web", Duration::from_secs(3600))?;
    /// let cancelled = refresher.cancel("web", false).await?;
    /// assert_eq!(cancelled, running);
    /// let done = refresher
    ///     .wait_for_completion("web", &cancelled, Duration::from_secs(60))
    ///     .await?;
    /// assert_eq!(done.status(), &InstanceRefreshStatus::Cancelled);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "sim"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// [`RefreshErrorKind::Aws`] with the SDK error as the source: for example
    /// `ActiveInstanceRefreshNotFound` when nothing is running, or a rollback in progress,
    /// which cannot be cancelled.
    pub async fn cancel(
        &self,
        group: &str,
        wait_for_transitioning_instances: bool,
    ) -> Result<String, RefreshError> {
        let mut run = Run::new(&self.inner, group, None);
        let sent = self
            .inner
            .client
            .cancel_instance_refresh()
            .auto_scaling_group_name(group)
            .wait_for_transitioning_instances(wait_for_transitioning_instances)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(out.instance_refresh_id().unwrap_or_default().to_owned()),
            Err(err) => {
                run.last_error = Some(Box::new(err));
                Err(run.error(RefreshErrorKind::Aws))
            }
        }
    }

    /// Rolls back the group's active refresh (`RollbackInstanceRefresh`) and returns its id:
    /// it turns `RollbackInProgress` and replaces the instances it replaced with the
    /// configuration from before it, ending `RollbackSuccessful` or `RollbackFailed` (follow it
    /// with [`wait_for_completion`](Self::wait_for_completion)). Auto Scaling rolls back only a
    /// refresh that is still active and was started with a desired configuration whose launch
    /// template version is pinned (not `$Latest` or `$Default`).
    ///
    /// ```
    /// # #[cfg(feature = "sim")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
    /// # use std::time::Duration;
    /// # tokio::time::pause();
    /// # let sim = AutoScalingSim::start().await?;
    /// # let config = GroupConfig::default().refresh_duration(Duration::from_secs(600));
    /// # sim.create_group("web", config.clone());
    /// # let client = sim.client();
    /// use aws_sdk_autoscaling::error::ProvideErrorMetadata;
    /// use aws_sdk_autoscaling::operation::rollback_instance_refresh::RollbackInstanceRefreshError;
    /// use aws_sdk_autoscaling::types::InstanceRefreshStatus;
    /// use instance_refresh_retry::{Refresher, RefreshErrorKind};
    ///
    /// type RollbackSdkError = aws_sdk_autoscaling::error::SdkError<
    ///     RollbackInstanceRefreshError,
    ///     aws_sdk_autoscaling::config::http::HttpResponse,
    /// >;
    /// let refresher = Refresher::new(client, Refresher::default_policy());
    /// // A refresh to launch template "web" version 7 (a pinned version: it can be undone).
    /// let deploy = sim.start_refresh_with_launch_template("web", config.clone(), "web", "7")?;
    /// tokio::time::sleep(Duration::from_secs(120)).await;
    /// assert_eq!(refresher.rollback("web").await?, deploy);
    /// let done = refresher
    ///     .wait_for_completion("web", &deploy, Duration::from_secs(3600))
    ///     .await?;
    /// assert_eq!(done.status(), &InstanceRefreshStatus::RollbackSuccessful);
    ///
    /// // A refresh without a desired configuration cannot be rolled back.
    /// sim.start_refresh("web", config)?;
    /// let err = refresher.rollback("web").await.unwrap_err();
    /// assert_eq!(err.kind(), &RefreshErrorKind::Aws);
    /// let sdk = err.sdk_error::<RollbackSdkError>().expect("the SDK's error");
    /// assert_eq!(sdk.code(), Some("IrreversibleInstanceRefresh"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "sim"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// [`RefreshErrorKind::Aws`] with the SDK error as the source: Auto Scaling's refusals are
    /// `IrreversibleInstanceRefresh` (no desired configuration, or a version that moves) and
    /// `ActiveInstanceRefreshNotFound` (nothing to roll back).
    pub async fn rollback(&self, group: &str) -> Result<String, RefreshError> {
        let mut run = Run::new(&self.inner, group, None);
        let sent = self
            .inner
            .client
            .rollback_instance_refresh()
            .auto_scaling_group_name(group)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(out.instance_refresh_id().unwrap_or_default().to_owned()),
            Err(err) => {
                run.last_error = Some(Box::new(err));
                Err(run.error(RefreshErrorKind::Aws))
            }
        }
    }
}
