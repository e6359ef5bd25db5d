//! [`Refresher`], its options, and [`OnConflict`].

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, TokioSleep};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};

use super::progress::{OnProgress, Progress};
use crate::core::clock::TokioTime;
use crate::core::policy::{Jitter, RetryPolicy};

/// The default [`Refresher::max_check_interval`].
const DEFAULT_MAX_CHECK_INTERVAL: Duration = Duration::from_secs(300);

/// What the Refresher does when another refresh blocks the group.
///
/// ```
/// use instance_refresh_retry::{OnConflict, Refresher, RetryPolicy};
///
/// # fn doc(client: aws_sdk_autoscaling::Client) {
/// let refresher = Refresher::new(client, RetryPolicy::default()).on_conflict(OnConflict::Fail);
/// assert_eq!(refresher.conflict_strategy(), OnConflict::Fail);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OnConflict {
    /// Wait for the other refresh to end, then start (the default).
    #[default]
    Wait,
    /// Cancel the other refresh (`CancelInstanceRefresh`), wait until it is cancelled, then
    /// start. **This destroys someone else's refresh**: their deployment stops half-way, with
    /// some instances replaced and some not. It is what Terraform does; prefer `Wait`.
    CancelAndReplace,
    /// Make one `StartInstanceRefresh` call, and fail with
    /// [`RefreshErrorKind::Conflict`](crate::RefreshErrorKind::Conflict), naming the blocking
    /// refresh, if the group is busy.
    Fail,
    /// Adopt the blocking refresh when it is the one this request would start, and wait
    /// (as [`Wait`](Self::Wait)) otherwise: what makes a re-run of a deploy safe. A deploy job
    /// that started refresh R and was cancelled, died or lost R's answer is retried; the new run
    /// meets R and follows it ([`Adoption::MatchingRefresh`](crate::Adoption::MatchingRefresh))
    /// instead of waiting for it and rolling the fleet a second time.
    ///
    /// A match is strict: the same desired configuration with every launch template version
    /// pinned (a number, not `$Latest` or `$Default`), the same strategy, and every preference
    /// the request sets, as described. A request without a pinned desired configuration cannot
    /// be matched safely (a refresh of "whatever the template is now" may roll out something
    /// else): it waits as under `Wait`, and the Refresher logs why (a `WARN` event;
    /// [`Refresher::adoptable`] tells in advance). Each describe of the blocker may adopt it,
    /// even with [`status_aware`](Refresher::status_aware) off.
    ///
    /// The other half of a safe re-run is the `SkipMatching` preference: when the earlier
    /// run's refresh has already ended, the new run starts one more, and with `SkipMatching`
    /// a refresh of instances that already have the desired configuration ends at once,
    /// replacing nothing.
    Adopt,
}

#[derive(Debug, Clone)]
pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) policy: RetryPolicy,
    pub(crate) on_conflict: OnConflict,
    pub(crate) status_aware: bool,
    pub(crate) fail_fast: bool,
    pub(crate) clock_skew: Duration,
    pub(crate) max_check_interval: Duration,
    pub(crate) on_progress: Option<OnProgress>,
    pub(crate) sleep: SharedAsyncSleep,
    pub(crate) time: SharedTimeSource,
}

/// Starts instance refreshes the way a careful operator would: it waits out a running refresh
/// by watching what it does, never starts a second refresh for one call, and follows a refresh to
/// its end. See the [crate docs](crate#the-refresher).
///
/// # Defaults
///
/// | option | default |
/// |---|---|
/// | `on_conflict` | [`OnConflict::Wait`] |
/// | `status_aware` | `true`: describe the blocking refresh and check when it should end |
/// | `fail_fast` | `true`: stop early when the blocker cannot end within `max_elapsed` |
/// | `clock_skew` | 5 min, how much earlier than our first send a refresh may have started and still be adopted |
/// | `max_check_interval` | 5 min: no sleep while a refresh is active is longer |
/// | `on_progress` | none |
/// | `sleep_impl`, `time_source` | tokio's |
///
/// The policy bounds every wait (`max_delay`, `max_elapsed`, and `max_attempts`, which counts
/// checks: starts and describes). [`Refresher::default_policy`] is sized for refreshes.
///
/// ```no_run
/// use instance_refresh_retry::{OnConflict, Refresher, RetryPolicy};
/// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
/// use std::time::Duration;
///
/// # async fn doc(client: aws_sdk_autoscaling::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let refresher = Refresher::new(client, Refresher::default_policy())
///     .on_conflict(OnConflict::Wait)
///     .status_aware(true);
/// let input = StartInstanceRefreshInput::builder().auto_scaling_group_name("web").build()?;
/// let started = refresher.start(input).await?;
/// let done = refresher
///     .wait_for_completion("web", started.instance_refresh_id(), Duration::from_secs(4 * 3600))
///     .await?;
/// println!("{} ended {:?}", started.instance_refresh_id(), done.status());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Refresher {
    pub(crate) inner: Arc<Inner>,
}

impl Refresher {
    /// A refresher over `client` (whose own retry handles throttling and 5xx) with `policy` and
    /// the [defaults](Self#defaults).
    pub fn new(client: Client, policy: RetryPolicy) -> Refresher {
        Refresher {
            inner: Arc::new(Inner {
                client,
                policy,
                on_conflict: OnConflict::Wait,
                status_aware: true,
                fail_fast: true,
                clock_skew: Duration::from_secs(300),
                max_check_interval: DEFAULT_MAX_CHECK_INTERVAL,
                on_progress: None,
                sleep: SharedAsyncSleep::new(TokioSleep::new()),
                time: SharedTimeSource::new(TokioTime::new()),
            }),
        }
    }

    /// A policy sized for instance refreshes, which take minutes to days: checkpoints wait an
    /// hour each by default and a bake time can reach 48 h.
    ///
    /// | field | value | why |
    /// |---|---|---|
    /// | `initial_delay` | 5 s | the first check after a refusal comes soon; later ones follow the estimate |
    /// | `max_delay` | 30 min | caps one wait; [`max_check_interval`](Self::max_check_interval) (5 min by default) caps every sleep while a refresh is active, below it |
    /// | `jitter` | [`Jitter::Equal`] | spreads pipelines, never checks at once |
    /// | `max_elapsed` | 6 h | a rolling refresh with a few checkpoints; a longer blocker is seen at the first describe and fails fast instead of spending the budget |
    ///
    /// ```
    /// use instance_refresh_retry::Refresher;
    /// use std::time::Duration;
    ///
    /// let policy = Refresher::default_policy();
    /// assert_eq!(policy.max_elapsed(), Some(Duration::from_secs(6 * 3600)));
    /// ```
    pub fn default_policy() -> RetryPolicy {
        RetryPolicy::builder()
            .initial_delay(Duration::from_secs(5))
            .max_delay(Duration::from_secs(30 * 60))
            .jitter(Jitter::Equal)
            .max_elapsed(Duration::from_secs(6 * 3600))
            .build()
            .expect("the Refresher's default policy is valid")
    }

    fn map(self, f: impl FnOnce(&mut Inner)) -> Refresher {
        let mut inner = Inner::clone(&self.inner);
        f(&mut inner);
        Refresher {
            inner: Arc::new(inner),
        }
    }

    /// What to do when another refresh blocks the group. Default [`OnConflict::Wait`].
    #[must_use]
    pub fn on_conflict(self, on_conflict: OnConflict) -> Refresher {
        self.map(|i| i.on_conflict = on_conflict)
    }

    /// The conflict strategy.
    pub fn conflict_strategy(&self) -> OnConflict {
        self.inner.on_conflict
    }

    /// Describe the blocking refresh and check again when it should end (default `true`).
    /// With `false`, a blocked start is retried on the policy's plain schedule.
    ///
    /// ```
    /// use instance_refresh_retry::{Refresher, RetryPolicy};
    ///
    /// # fn doc(client: aws_sdk_autoscaling::Client) {
    /// let blind = Refresher::new(client, RetryPolicy::default()).status_aware(false);
    /// # let _ = blind;
    /// # }
    /// ```
    #[must_use]
    pub fn status_aware(self, enabled: bool) -> Refresher {
        self.map(|i| i.status_aware = enabled)
    }

    /// Stop early, with [`RefreshErrorKind::WontEndInTime`](crate::RefreshErrorKind::WontEndInTime),
    /// when the blocking refresh cannot end on its own within what is left of `max_elapsed`:
    /// what is *known* to remain ends too late. That is the rest of a checkpoint pause it is in
    /// (`CheckpointDelay` from when its percentage reached the checkpoint), a checkpoint ahead
    /// that it has not reached, and its bake time; never a projection of its rate. Default
    /// `true`; `false` waits anyway, until `max_elapsed`.
    #[must_use]
    pub fn fail_fast(self, enabled: bool) -> Refresher {
        self.map(|i| i.fail_fast = enabled)
    }

    /// How much earlier than this call's first `StartInstanceRefresh` a refresh may have started
    /// and still be adopted as the call's own (Auto Scaling's clock and ours differ; its
    /// `StartTime` has whole seconds). Default 5 min, the clock skew that AWS request signing
    /// itself tolerates.
    #[must_use]
    pub fn clock_skew(self, skew: Duration) -> Refresher {
        self.map(|i| i.clock_skew = skew)
    }

    /// The longest the Refresher sleeps while a refresh is active, whatever its estimate or the
    /// policy says (the policy's `max_delay` still caps it too). Default 5 min; a zero interval
    /// counts as 1 s.
    ///
    /// **The trade between calls and lateness after an early end.** Nothing announces when a
    /// refresh ends early: another operator or pipeline cancels it, a CloudWatch alarm fails it
    /// or rolls it back, or it stops making progress and fails after an hour. The Refresher then
    /// learns of the end at its next check, so this interval bounds how late it starts after an
    /// early end, and sets the calls a long wait costs at the least (3,600 s / interval an hour:
    /// 12 at 5 min). Near a natural end it checks much more often, as the evidence says.
    /// Shorter costs more `DescribeInstanceRefreshes` calls, which share the account's Auto
    /// Scaling request rate with everything else; longer starts later after an early end.
    /// `docs/wait.md` charts both against each other on the embedded simulator.
    ///
    /// ```
    /// use instance_refresh_retry::{Refresher, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// # fn doc(client: aws_sdk_autoscaling::Client) {
    /// // A pipeline that shares its account with many others: fewer calls, later after an
    /// // early end (at most 10 min).
    /// let patient = Refresher::new(client.clone(), Refresher::default_policy())
    ///     .max_check_interval(Duration::from_secs(600));
    /// assert_eq!(patient.check_interval_cap(), Duration::from_secs(600));
    /// // Starting within a minute of any end, for 60 calls an hour of waiting at the least
    /// // (about 90 on the embedded simulator's family, docs/wait.md).
    /// let eager = Refresher::new(client, Refresher::default_policy())
    ///     .max_check_interval(Duration::from_secs(60));
    /// # let _ = eager;
    /// # }
    /// ```
    #[must_use]
    pub fn max_check_interval(self, interval: Duration) -> Refresher {
        let interval = interval.max(Duration::from_secs(1));
        self.map(|i| i.max_check_interval = interval)
    }

    /// The longest sleep while a refresh is active ([`max_check_interval`](Self::max_check_interval)).
    pub fn check_interval_cap(&self) -> Duration {
        self.inner.max_check_interval
    }

    /// Calls `f` at each check of a refresh the Refresher waits for ([`Progress`]).
    #[must_use]
    pub fn on_progress<F>(self, f: F) -> Refresher
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        self.map(|i| i.on_progress = Some(OnProgress(Arc::new(f))))
    }

    /// Sleeps with `sleep` instead of tokio's sleep. Set a [`time_source`](Self::time_source) on
    /// the same clock.
    #[must_use]
    pub fn sleep_impl(self, sleep: impl AsyncSleep + 'static) -> Refresher {
        let sleep = SharedAsyncSleep::new(sleep);
        self.map(|i| i.sleep = sleep)
    }

    /// Reads the time from `time` instead of tokio's clock.
    #[must_use]
    pub fn time_source(self, time: impl TimeSource + 'static) -> Refresher {
        let time = SharedTimeSource::new(time);
        self.map(|i| i.time = time)
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }
}
