//! An embedded EC2 Auto Scaling simulator for end-to-end tests (feature `sim`).
//!
//! [`AutoScalingSim`] is an HTTP/1 server on `127.0.0.1` (ephemeral port) that speaks the
//! awsQuery protocol of Auto Scaling API version 2011-01-01 for the four instance-refresh
//! operations, `StartInstanceRefresh`, `DescribeInstanceRefreshes`, `CancelInstanceRefresh` and
//! `RollbackInstanceRefresh`, and for `DescribeScalingActivities`. Point the real SDK client at
//! [`endpoint_url`](AutoScalingSim::endpoint_url) (or use [`AutoScalingSim::client`]) and the
//! whole stack — signing, HTTP, XML parsing, error classification — runs for real.
//!
//! # Model
//!
//! The simulator follows what public sources say about instance refreshes, and nothing more:
//! every behaviour below names its source, the user guide (UG), the API reference (API) or the
//! AWS CLI's examples (CLI). What no source states is a **guess**, marked so: the guesses that
//! matter to a waiter are drawn per refresh ([`Unknowns`], see [Guesses](#guesses)), so that
//! tests and benches run over a family of plausible Auto Scalings rather than one world.
//!
//! Groups are created from Rust with [`AutoScalingSim::create_group`]. A group has at most one
//! *active* refresh (Pending, InProgress, Baking, Cancelling or RollbackInProgress); starting
//! another answers HTTP 400 `InstanceRefreshInProgress` (API `StartInstanceRefresh`). A refresh
//! moves
//!
//! ```text
//! Pending ──▶ InProgress ──▶ Baking (if the bake time > 0) ──▶ Successful
//!    │         (batches,          │
//!    │       checkpoint pauses)   │
//!    ├─ cancel ───────────────────┴──▶ Cancelling ──▶ Cancelled (at once with
//!    │                                              WaitForTransitioningInstances=false)
//!    ├─ rollback (needs a pinned DesiredConfiguration) ──▶ RollbackInProgress ──▶ RollbackSuccessful
//!    └─ alarm, an hour without a healthy instance, a stall ──▶ Failed
//!                     └─ with AutoRollback ──▶ RollbackInProgress ──▶ RollbackSuccessful
//! ```
//!
//! with the settings of its [`GroupConfig`], the `Preferences` of its request and its
//! [`Unknowns`]. A refresh lays out its instances when it starts; its status is computed
//! lazily from the clock when read (a binary search: a describe of a 500-instance refresh costs
//! little), and there is no background task.
//!
//! ## Facts
//!
//! - **Batches** (UG "How instance refresh works", API `RefreshPreferences`): a refresh
//!   replaces `instances - ceil(instances × MinHealthyPercentage / 100)` instances at a time,
//!   plus `ceil(instances × (MaxHealthyPercentage - 100) / 100)` above the desired capacity, at
//!   least one: Min 90 / Max 100 replaces 10 %, Min 100 one at a time, Min 0 all at once.
//!   (Guess: the exact rounding.) With `MaxHealthyPercentage` omitted, each old instance is
//!   terminated as its replacement launches; set while `MinHealthyPercentage` lets no instance
//!   go out of service, the replacement is launched first ("Explicitly setting
//!   MaxHealthyPercentage to 100 is not equivalent to omitting it", API `RefreshPreferences`).
//! - **Instances** (UG "How instance refresh works"): each new instance has its own launch
//!   time, plus its launch lifecycle hook if the group has one; the warmup counts from
//!   `InService`. A batch ends when all its instances are healthy and past warmup, so it lasts
//!   as long as its slowest instance; the next batch starts then.
//! - **Warmup** (API `RefreshPreferences`): the request's `InstanceWarmup`, else the group's
//!   [`DefaultInstanceWarmup`](GroupConfig::default_warmup), else its
//!   [`HealthCheckGracePeriod`](GroupConfig::health_check_grace_period), which is 0 s for
//!   groups made through the CLI or an SDK (the default here).
//! - **Health checks** (UG "How instance refresh works"): new instances that fail their health
//!   check are replaced by another new instance; a refresh that cannot place a healthy
//!   instance "keeps retrying for an hour", then fails (`Failed`).
//! - **`PercentageComplete`** (API `InstanceRefresh`, UG "Check the status of an instance
//!   refresh"): the share of instances healthy and past their warmup, so inside a batch it
//!   moves one instance at a time (in a group of 500, 1 % per 5 instances); it goes back down
//!   to 0 during a rollback.
//! - **`InstancesToUpdate`** (CLI `describe-instance-refreshes` example, UG "Check the status
//!   of an instance refresh"): AWS's samples show 0 while still `InProgress` at 0 % and 50 %:
//!   by default it counts the instances not yet taken into a batch.
//! - **Checkpoints** (UG "Add checkpoints to an instance refresh"; API `RefreshPreferences`
//!   for the 3600 s default delay): a checkpoint is reached when the share of replaced and
//!   warmed-up instances reaches it, so the percentage can overshoot (4 instances, a 20 %
//!   checkpoint: 25 %); a batch never replaces more than the next checkpoint needs; the
//!   percentage does not move in a batch that reaches a checkpoint until that batch has warmed
//!   up; the refresh then waits `CheckpointDelay`, still `InProgress`. A last checkpoint below
//!   100 ends the refresh there (`Successful`, with that percentage).
//! - **Bake** (API `RefreshPreferences`): `Baking` for `BakeTime` once every instance is
//!   replaced, then `Successful`.
//! - **Cancel** (API `CancelInstanceRefresh`): `Cancelling`, then `Cancelled`, waiting for the
//!   instances in flight unless `WaitForTransitioningInstances=false`, which cancels at once
//!   (the launches in flight go on). Replaced instances are not rolled back.
//! - **Rollback** (UG "Undo changes with a rollback", API `RollbackInstanceRefresh`): needs a
//!   desired configuration with a numbered launch template version, else HTTP 400
//!   `IrreversibleInstanceRefresh`. `RollbackInProgress` replaces the instances the refresh
//!   took into batches again, taking about as long as they took, while `PercentageComplete`
//!   goes back down; `RollbackDetails` hold the values of the moment it started. With
//!   `AutoRollback`, a failure rolls back instead.
//! - **Early ends** (API `RefreshPreferences` `AlarmSpecification`, UG): nothing announces
//!   when a refresh ends. [`Unknowns::early_end`] ends one at a seeded moment: cancelled by
//!   another actor (with or without waiting), failed by an alarm, rolled back by an alarm with
//!   `AutoRollback`, or stalled (no progress) for an hour and then `Failed`
//!   ([`EarlyEndKind`]).
//! - **`StatusReason`**: the only text on record is the warmup sentence, `Waiting for instances
//!   to warm up before continuing. For example: i-0123456789abcdef0 is warming up.` (CLI
//!   example, UG), sent while an instance is warming up, naming one "for example" (which one,
//!   no source says: [`HintNames`] varies it; whether every describe gives it while one warms,
//!   no source says either: [`WarmupSentence`] varies it). Successful refreshes carry none.
//! - **Scaling activities** (API `DescribeScalingActivities`, `Activity`): one launch and one
//!   terminate activity per replaced instance (and per instance that failed its health check),
//!   with `StartTime`, `EndTime` once done, and a `StatusCode` (`PreInService`,
//!   `MidLifecycleAction` during a hook, `WaitingForInstanceWarmup`, `Successful`, `Failed`,
//!   ...); those in progress first, then by start time, newest first; `MaxRecords` up to 100
//!   (default 100) a page, with `NextToken`.
//!
//! ## Guesses
//!
//! Drawn per refresh ([`Unknowns`]; fixed with [`GroupConfig::unknowns`], drawn with
//! [`SimBuilder::vary_unknowns`], else [`Unknowns::default`]): the wording of every other
//! `StatusReason` and of `RollbackReason` (none, or one of several sentences), the rounding of
//! `PercentageComplete`, the `Pending` time, each instance's launch time and its spread,
//! lifecycle hooks, the share of health-check failures, the reading of `InstancesToUpdate`,
//! whether a 100 % checkpoint pauses, when a launch activity ends, whether activities are
//! served, which warming instance the warmup sentence names, and the early end.
//!
//! Fixed, and marked in the code: an instance fails its health check as it comes `InService`;
//! the hour of retrying counts per instance; a termination takes 30 s and holds nothing up;
//! `Cancelling` lasts at least [`cancel_duration`](GroupConfig::cancel_duration) (5 s); a
//! rollback replaces instances in batches of the refresh's size, with the same launch times,
//! without health-check failures; launches in flight end `Failed` when a refresh fails and
//! `Cancelled` when it rolls back; the `Cause` and `Progress` of activities; the stalled
//! refresh keeps its progress and shows no warmup sentence; a `Launch` process suspended with
//! [`AutoScalingSim::suspend_launch`] freezes a refresh without failing it.
//!
//! **Linear refreshes** are a test convenience, not a model of AWS: a group that sets a
//! [`refresh_duration`](GroupConfig::refresh_duration) (and a request that shapes no batch)
//! gets a `PercentageComplete` growing linearly over that time, the warmup sentence throughout,
//! and no activities; [`AutoScalingSim::seed_running_refresh`] starts one.
//!
//! ## What Describe sends
//!
//! Each refresh has its `StatusReason` when there is one (see above), `ProgressDetails` with
//! `LivePoolProgress` (no warm pool is modelled, so no `WarmPoolProgress`), the
//! `DesiredConfiguration` as the request sent it, and `Preferences` with what the request set
//! plus the defaults Auto Scaling echoes: `MinHealthyPercentage` (90), `SkipMatching` (false),
//! `AutoRollback` (false), `ScaleInProtectedInstances` and `StandbyInstances` (`Ignore`),
//! `CheckpointDelay` (3600) when checkpoints are set, and `BakeTime` when a bake time is in
//! effect. `MaxHealthyPercentage` and `InstanceWarmup` are echoed only when set. Elements
//! come in the service model's order. Out-of-range preferences (`MinHealthyPercentage` outside
//! 0..=100, `MaxHealthyPercentage` outside 100..=200 or without `MinHealthyPercentage` or more
//! than 100 above it, `BakeTime`/`CheckpointDelay` outside 0..=172800, `CheckpointPercentages`
//! outside 1..=100 or not ascending, `CheckpointDelay` without checkpoints, unknown enum
//! values) and `AutoRollback` without a pinned desired configuration answer `ValidationError`.
//!
//! ```
//! use std::time::Duration;
//! use aws_sdk_autoscaling::types::{InstanceRefreshStatus, RefreshPreferences};
//! use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::time::pause();
//! let sim = AutoScalingSim::start().await?;
//! sim.create_group("web", GroupConfig::default().instances(10).pending_duration(Duration::ZERO));
//! let client = sim.client();
//! // 2 instances at a time (80 % stay healthy), 60 s launch + 240 s warmup per batch,
//! // a 15 minute pause at 40 %.
//! let preferences = RefreshPreferences::builder()
//!     .min_healthy_percentage(80)
//!     .instance_warmup(240)
//!     .checkpoint_percentages(40)
//!     .checkpoint_percentages(100)
//!     .checkpoint_delay(900)
//!     .build();
//! client
//!     .start_instance_refresh()
//!     .auto_scaling_group_name("web")
//!     .preferences(preferences)
//!     .send()
//!     .await?;
//!
//! tokio::time::sleep(Duration::from_secs(600)).await; // two batches
//! let snapshot = &sim.refreshes("web")?[0];
//! assert_eq!(snapshot.percentage_complete, 40);
//! assert_eq!(snapshot.checkpoint, Some(40));
//! assert_eq!(snapshot.batch_size, Some(2));
//!
//! tokio::time::sleep(Duration::from_secs(900 + 3 * 300)).await; // the pause, three batches
//! let out = client.describe_instance_refreshes().auto_scaling_group_name("web").send().await?;
//! let refresh = &out.instance_refreshes()[0];
//! assert_eq!(refresh.status(), Some(&InstanceRefreshStatus::Successful));
//! assert_eq!(refresh.percentage_complete(), Some(100));
//! # Ok(())
//! # }
//! ```
//!
//! Varied guesses and an early end: each refresh draws its own [`Unknowns`]; a group can fix
//! them, here to fail by an alarm 90 s in, with the scaling activities open through the warmup:
//!
//! ```
//! use std::time::Duration;
//! use aws_sdk_autoscaling::types::ScalingActivityStatusCode;
//! use instance_refresh_retry::sim::{
//!     ActivityEnd, AutoScalingSim, EarlyEnd, EarlyEndKind, GroupConfig, RefreshStatus, Unknowns,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::time::pause();
//! let sim = AutoScalingSim::builder().vary_unknowns(7).start().await?;
//! let alarm = Unknowns::default()
//!     .with_launch_activity_ends(ActivityEnd::AfterWarmup)
//!     .with_early_end(EarlyEnd::new(EarlyEndKind::AlarmFailed, Duration::from_secs(90)));
//! sim.create_group("web", GroupConfig::default().instances(4).unknowns(alarm));
//! sim.create_group("drawn", GroupConfig::default().instances(200));
//! let client = sim.client();
//! for group in ["web", "drawn"] {
//!     client.start_instance_refresh().auto_scaling_group_name(group).send().await?;
//! }
//! let drawn = &sim.refreshes("drawn")?[0];
//! assert!((30..=300).contains(&drawn.unknowns.launch_base.as_secs()));
//!
//! tokio::time::sleep(Duration::from_secs(60)).await;
//! let activities = client
//!     .describe_scaling_activities()
//!     .auto_scaling_group_name("web")
//!     .send()
//!     .await?;
//! let first = &activities.activities()[0];
//! assert!(first.description().unwrap().starts_with("Launching a new EC2 instance: i-"));
//! assert_eq!(first.status_code(), Some(&ScalingActivityStatusCode::PreInService));
//!
//! tokio::time::sleep(Duration::from_secs(30)).await;
//! let failed = &sim.refreshes("web")?[0];
//! assert_eq!(failed.status, RefreshStatus::Failed);
//! assert_eq!(failed.planned_end, Some(failed.start_time + Duration::from_secs(5 + 4 * 60)));
//! # Ok(())
//! # }
//! ```
//!
//! Stalling and failing a refresh from the test:
//!
//! ```
//! use std::time::Duration;
//! use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig, RefreshStatus};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::time::pause();
//! let sim = AutoScalingSim::start().await?;
//! let config = GroupConfig::default().pending_duration(Duration::ZERO);
//! sim.create_group("web", config.clone());
//! sim.start_refresh("web", config.refresh_duration(Duration::from_secs(100)))?;
//!
//! tokio::time::sleep(Duration::from_secs(50)).await;
//! sim.suspend_launch("web")?;
//! tokio::time::sleep(Duration::from_secs(3600)).await;
//! let stalled = &sim.refreshes("web")?[0];
//! assert_eq!((stalled.status, stalled.percentage_complete), (RefreshStatus::InProgress, 50));
//! assert!(stalled.stalled);
//!
//! sim.fail_refresh("web", "Launching a new EC2 instance failed.")?;
//! let failed = &sim.refreshes("web")?[0];
//! assert_eq!((failed.status, failed.percentage_complete), (RefreshStatus::Failed, 50));
//! assert_eq!(failed.status_reason.as_deref(), Some("Launching a new EC2 instance failed."));
//! # Ok(())
//! # }
//! ```
//!
//! # Time
//!
//! The clock is tokio time. Under `tokio::time::pause()` (or
//! `#[tokio::test(start_paused = true)]`) an hour-long refresh is covered in milliseconds, and
//! neither the accept loop nor the connection tasks depend on real time. Wall-clock timestamps
//! (`StartTime`, `EndTime`, `RollbackStartTime`) are `SystemTime` at start + tokio time elapsed
//! since start, sent in whole seconds like Auto Scaling does (`2026-11-26T10:00:00Z`).
//!
//! # Wire format
//!
//! Requests are `POST /` with a form-encoded body (`Action=...&Version=2011-01-01&...`).
//! Responses are `text/xml` in the `http://autoscaling.amazonaws.com/doc/2011-01-01/`
//! namespace, shaped like real Auto Scaling responses (`<{Action}Response>` with a
//! `<{Action}Result>` and `<ResponseMetadata>`, or `<ErrorResponse>` with `Type`, `Code`,
//! `Message` and `RequestId`). The request id is also sent in the `x-amzn-RequestId` header:
//! the SDK reads request ids only from that header, never from the body. Bad requests get
//! what AWS gives: `ValidationError` for unknown groups and missing or invalid parameters
//! (`MalformedInput` for a value that is not a number or boolean where one is expected),
//! `InvalidAction` for unknown actions or versions, `MissingAction`, and `InvalidHttpRequest`
//! for non-POST or non-form requests.
//!
//! # Faults
//!
//! Each call can be hit by a [`Fault`]: scripted with [`AutoScalingSim::inject`] and a
//! [`FaultRule`], or drawn at random from a seed with [`AutoScalingSim::set_fault_rate`].
//! Every request is recorded in the call log, [`AutoScalingSim::calls`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use aws_sdk_autoscaling::error::ProvideErrorMetadata;
//! use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! tokio::time::pause();
//! let sim = AutoScalingSim::start().await?;
//! sim.create_group("web", GroupConfig::default().refresh_duration(Duration::from_secs(3600)));
//! sim.inject(FaultRule::new(Fault::Throttling).on("StartInstanceRefresh"));
//!
//! let client = sim.client();
//! let err = client.start_instance_refresh().auto_scaling_group_name("web").send().await;
//! assert_eq!(err.unwrap_err().code(), Some("Throttling"));
//! let started = client.start_instance_refresh().auto_scaling_group_name("web").send().await?;
//! let id = started.instance_refresh_id().unwrap();
//!
//! let again = client.start_instance_refresh().auto_scaling_group_name("web").send().await;
//! assert!(again.unwrap_err().as_service_error().unwrap().is_instance_refresh_in_progress_fault());
//!
//! tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
//! let described = client
//!     .describe_instance_refreshes()
//!     .auto_scaling_group_name("web")
//!     .send()
//!     .await?;
//! let refresh = &described.instance_refreshes()[0];
//! assert_eq!(refresh.instance_refresh_id(), Some(id));
//! assert_eq!(refresh.status().map(|s| s.as_str()), Some("Successful"));
//! assert_eq!(sim.calls().len(), 4);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod activities;
mod api;
mod batches;
mod checkpoints;
mod clock;
mod config;
mod course;
mod ending;
mod error;
mod fault;
mod group;
mod ids;
mod instances;
mod log;
mod ops;
mod prefs;
mod refresh;
mod scaling;
mod server;
mod snapshot;
mod state;
mod unknowns;
mod view;
mod wording;
mod xml;

pub use config::GroupConfig;
pub use error::SimError;
pub use fault::{Fault, FaultRule};
pub use log::{CallOutcome, CallRecord};
pub use snapshot::{RefreshSnapshot, RefreshStatus, RollbackSnapshot};
pub use unknowns::{
    ActivityAccess, ActivityEnd, EarlyEnd, EarlyEndKind, HintNames, ItuReading, ReasonWording,
    Rounding, Unknowns, WarmupSentence,
};

use clock::Clock;
use server::Shared;
use state::State;

/// Configures and starts an [`AutoScalingSim`].
///
/// See the [module docs](self) for an overview.
///
/// # Defaults
///
/// - `seed`: 0 (refresh ids and request ids are reproducible)
/// - `wall_clock_start`: `SystemTime::now()` when [`start`](Self::start) runs
/// - `bind`: `127.0.0.1:0`
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use instance_refresh_retry::sim::AutoScalingSim;
/// let sim = AutoScalingSim::builder().seed(42).start().await?;
/// assert!(sim.endpoint_url().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SimBuilder {
    seed: u64,
    wall_clock_start: Option<SystemTime>,
    bind: Option<SocketAddr>,
    vary_unknowns: Option<u64>,
}

impl SimBuilder {
    /// Seed for refresh ids and request ids.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The wall-clock time that corresponds to the simulator's start, for reproducible
    /// `StartTime`/`EndTime` values.
    pub fn wall_clock_start(mut self, start: SystemTime) -> Self {
        self.wall_clock_start = Some(start);
        self
    }

    /// Make each new refresh draw its own [`Unknowns`] ([`Unknowns::draw`]) from an RNG seeded
    /// with `seed`, the group's name and the refresh's position among the group's refreshes:
    /// the same seed, group name and refresh order give the same draws. A group whose
    /// configuration fixes them ([`GroupConfig::unknowns`]) keeps its own. Without this, every
    /// refresh uses [`Unknowns::default`].
    pub fn vary_unknowns(mut self, seed: u64) -> Self {
        self.vary_unknowns = Some(seed);
        self
    }

    /// Listen on `addr` instead of `127.0.0.1:0` (an ephemeral port on loopback), for example
    /// a fixed port. The simulator checks no credentials: keep it on a loopback address.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use instance_refresh_retry::sim::AutoScalingSim;
    /// let sim = AutoScalingSim::builder().bind(([127, 0, 0, 1], 0).into()).start().await?;
    /// assert!(sim.local_addr().ip().is_loopback());
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// Bind `127.0.0.1:0` (or the [`bind`](Self::bind) address) and start serving.
    ///
    /// Must be called inside a tokio runtime; the server's tasks run on it.
    pub async fn start(self) -> io::Result<AutoScalingSim> {
        let addr = self
            .bind
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let wall = self.wall_clock_start.unwrap_or_else(SystemTime::now);
        let mut state = State::new(Clock::new(wall), self.seed);
        state.vary_unknowns = self.vary_unknowns;
        let shared = Arc::new(Shared::new(state));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&shared), rx));
        tracing::debug!(%addr, "sim: listening");
        Ok(AutoScalingSim {
            addr,
            shared,
            shutdown,
            task: Some(task),
        })
    }
}

/// A running Auto Scaling simulator: an HTTP server on `127.0.0.1` plus a Rust handle to
/// script and inspect it.
///
/// It stops when [`shutdown`](Self::shutdown) is awaited or when it is dropped. See the
/// [module docs](self) for the model, time handling, faults and a full example.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig, RefreshStatus};
///
/// tokio::time::pause();
/// let sim = AutoScalingSim::start().await?;
/// sim.create_group("web", GroupConfig::default());
/// let id = sim.seed_running_refresh("web", Duration::from_secs(3))?;
/// assert_eq!(sim.refreshes("web")?[0].status, RefreshStatus::InProgress);
///
/// let client = sim.client();
/// tokio::time::sleep(Duration::from_secs(3)).await;
/// let out = client.describe_instance_refreshes().auto_scaling_group_name("web").send().await?;
/// assert_eq!(out.instance_refreshes()[0].instance_refresh_id(), Some(id.as_str()));
/// assert_eq!(sim.refreshes("web")?[0].status, RefreshStatus::Successful);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AutoScalingSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl AutoScalingSim {
    /// A builder with the default settings.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// Start a simulator with the default settings (see [`SimBuilder`]).
    pub async fn start() -> io::Result<Self> {
        SimBuilder::default().start().await
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Create (or replace) the group `name`. Replacing a group forgets its refreshes.
    pub fn create_group(&self, name: impl Into<String>, config: GroupConfig) {
        self.shared
            .lock()
            .groups
            .insert(name.into(), group::Group::new(config));
    }

    /// Change the configuration used by the group's *later* refreshes.
    pub fn set_group_config(&self, name: &str, config: GroupConfig) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| SimError::UnknownGroup(name.to_owned()))?;
        group.config = config;
        Ok(())
    }

    /// Start a refresh from Rust with its own configuration, as if `StartInstanceRefresh` had
    /// been called now with strategy `Rolling` and no preferences and no desired configuration
    /// (so it cannot be rolled back). It replaces instances in batches, or linearly if `config`
    /// sets a [`refresh_duration`](GroupConfig::refresh_duration). Returns the refresh id.
    pub fn start_refresh(&self, group: &str, config: GroupConfig) -> Result<String, SimError> {
        let mut state = self.shared.lock();
        let now = state.clock.now();
        let request = prefs::StartRequest {
            strategy: "Rolling".to_owned(),
            preferences: prefs::Preferences::default(),
            desired: None,
        };
        state.start_refresh(group, &config, request, now)
    }

    /// Like [`start_refresh`](Self::start_refresh), with a `DesiredConfiguration` that names
    /// the launch template `name` at `version`, as Describe echoes it. With a pinned version
    /// (not `$Latest` or `$Default`) the refresh can be rolled back with
    /// `RollbackInstanceRefresh`. Returns the refresh id.
    pub fn start_refresh_with_launch_template(
        &self,
        group: &str,
        config: GroupConfig,
        name: &str,
        version: &str,
    ) -> Result<String, SimError> {
        let mut desired = xml::Node::new("DesiredConfiguration");
        desired.insert(&["LaunchTemplate", "LaunchTemplateName"], name);
        desired.insert(&["LaunchTemplate", "Version"], version);
        let mut state = self.shared.lock();
        let now = state.clock.now();
        let request = prefs::StartRequest {
            strategy: "Rolling".to_owned(),
            preferences: prefs::Preferences::default(),
            desired: Some(desired),
        };
        state.start_refresh(group, &config, request, now)
    }

    /// Seed a refresh that is already `InProgress` now and ends (`Successful`) after
    /// `remaining` of tokio time (linearly, even in a [`batched`](GroupConfig::batched) group).
    /// Returns its id.
    ///
    /// Until then, `StartInstanceRefresh` on the group answers `InstanceRefreshInProgress`.
    pub fn seed_running_refresh(
        &self,
        group: &str,
        remaining: Duration,
    ) -> Result<String, SimError> {
        let base = self
            .shared
            .lock()
            .groups
            .get(group)
            .map(|g| g.config.clone())
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?;
        let config = base
            .batched(false)
            .pending_duration(Duration::ZERO)
            .refresh_duration(remaining)
            .bake_duration(Duration::ZERO);
        self.start_refresh(group, config)
    }

    /// All refreshes of a group as they are now, newest first.
    pub fn refreshes(&self, group: &str) -> Result<Vec<RefreshSnapshot>, SimError> {
        let state = self.shared.lock();
        let now = state.clock.now();
        let g = state
            .groups
            .get(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?;
        Ok(g.refreshes
            .iter()
            .rev()
            .map(|r| r.snapshot(now, g.suspensions(), &state.clock))
            .collect())
    }

    /// Make the group's Pending, InProgress or Baking refresh fail now with this
    /// `StatusReason`: it turns `Failed` with its progress frozen, or, if it was started with
    /// `AutoRollback`, `RollbackInProgress` (the reason becomes the `RollbackReason`).
    /// Returns the refresh id.
    ///
    /// For a failure at a time fixed in advance, use [`GroupConfig::fail_after`].
    pub fn fail_refresh(&self, group: &str, reason: impl Into<String>) -> Result<String, SimError> {
        let mut state = self.shared.lock();
        let now = state.clock.now();
        let g = state
            .groups
            .get_mut(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?;
        let index = g
            .active_index(now)
            .filter(|&i| {
                matches!(
                    g.view(i, now).status,
                    RefreshStatus::Pending | RefreshStatus::InProgress | RefreshStatus::Baking
                )
            })
            .ok_or_else(|| SimError::NoActiveRefresh(group.to_owned()))?;
        let refresh = &mut g.refreshes[index];
        refresh.request(ending::Request::Fail(reason.into()), now);
        Ok(refresh.id.clone())
    }

    /// Suspend the group's `Launch` process (like `SuspendProcesses` with `Launch`): an
    /// InProgress refresh stands still — status `InProgress`, `PercentageComplete` frozen, the
    /// refresh's [wording](ReasonWording) of it — until [`resume_launch`](Self::resume_launch).
    /// A Pending refresh runs out its Pending time and then stands at 0 %. Baking, cancelling
    /// and rolling back are not affected. Suspending a suspended process does nothing. (Guess:
    /// whether AWS fails such a refresh after an hour is not stated; it does not here.)
    pub fn suspend_launch(&self, group: &str) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        let now = state.clock.now();
        state
            .groups
            .get_mut(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?
            .suspend_launch(now);
        Ok(())
    }

    /// Resume the group's `Launch` process: a refresh that stood still continues where it
    /// stopped (its remaining steps shift by the time it stood still).
    pub fn resume_launch(&self, group: &str) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        let now = state.clock.now();
        state
            .groups
            .get_mut(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?
            .resume_launch(now);
        Ok(())
    }

    /// Queue a scripted fault. Rules are consulted in the order they were added; the first
    /// one matching a call fires. A bare [`Fault`] hits the next call of any operation once.
    pub fn inject(&self, rule: impl Into<FaultRule>) {
        self.shared.lock().faults.push(rule.into());
    }

    /// Hit each call (that no scripted rule hit) with probability `probability`, choosing
    /// uniformly among `kinds`, from an RNG seeded with `seed`. Replaces any earlier rate.
    /// A probability outside `0.0..=1.0` is clamped; NaN means never.
    pub fn set_fault_rate(
        &self,
        seed: u64,
        probability: f64,
        kinds: impl IntoIterator<Item = Fault>,
    ) {
        self.shared
            .lock()
            .faults
            .set_random(seed, probability, kinds.into_iter().collect());
    }

    /// Remove all scripted rules and the random fault rate.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The call log, in arrival order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.lock().calls.clone()
    }

    /// Tokio time elapsed since the simulator started (the time base of [`CallRecord::at`]).
    pub fn elapsed(&self) -> Duration {
        let state = self.shared.lock();
        state.clock.since_start(state.clock.now())
    }

    /// An SDK config builder pointed at this simulator: region `us-east-1`, static test
    /// credentials, plain-HTTP client (no TLS), stalled-stream protection off (it measures
    /// throughput with the runtime's clock, which misbehaves under paused tokio time).
    ///
    /// Retries are left at the SDK defaults; add
    /// `.retry_config(aws_sdk_autoscaling::config::retry::RetryConfig::disabled())` to
    /// count exact calls.
    pub fn sdk_config_builder(&self) -> aws_sdk_autoscaling::config::Builder {
        use aws_sdk_autoscaling::config::{
            BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
        };
        aws_sdk_autoscaling::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "sim"))
            .endpoint_url(self.endpoint_url())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    }

    /// A client built from [`sdk_config_builder`](Self::sdk_config_builder) with the SDK's
    /// own retries **disabled**, so that one SDK call is one HTTP request and the call log
    /// shows exactly what the code under test did.
    pub fn client(&self) -> aws_sdk_autoscaling::Client {
        use aws_sdk_autoscaling::config::retry::RetryConfig;
        aws_sdk_autoscaling::Client::from_conf(
            self.sdk_config_builder()
                .retry_config(RetryConfig::disabled())
                .build(),
        )
    }

    /// Stop accepting, close all connections and wait for the server tasks to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for AutoScalingSim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
