//! An embedded EC2 Auto Scaling simulator for end-to-end tests (feature `sim`).
//!
//! [`AutoScalingSim`] is an HTTP/1 server on `127.0.0.1` (ephemeral port) that speaks the
//! awsQuery protocol of Auto Scaling API version 2011-01-01 for the four instance-refresh
//! operations: `StartInstanceRefresh`, `DescribeInstanceRefreshes`, `CancelInstanceRefresh`
//! and `RollbackInstanceRefresh`. Point the real SDK client at
//! [`endpoint_url`](AutoScalingSim::endpoint_url) (or use [`AutoScalingSim::client`]) and the
//! whole stack — signing, HTTP, XML parsing, error classification — runs for real.
//!
//! # Model
//!
//! Groups are created from Rust with [`AutoScalingSim::create_group`]. A group has at most one
//! *active* refresh (Pending, InProgress, Baking, Cancelling or RollbackInProgress); starting
//! another answers HTTP 400 `InstanceRefreshInProgress`, exactly like AWS. A refresh moves
//!
//! ```text
//! Pending ──▶ InProgress ──▶ Baking (if bake_duration > 0) ──▶ Successful
//!    │             │             │
//!    ├─ cancel ────┴─────────────┴──▶ Cancelling ──▶ Cancelled
//!    ├─ rollback ──────────────────▶ RollbackInProgress ──▶ RollbackSuccessful
//!    └─ fail_after ────────────────▶ Failed
//! ```
//!
//! with the durations of its [`GroupConfig`]. `PercentageComplete` grows linearly during
//! InProgress and `InstancesToUpdate` shrinks with it. Status is computed lazily from the
//! clock when read; there is no background task.
//!
//! # Time
//!
//! The clock is tokio time. Under `tokio::time::pause()` (or
//! `#[tokio::test(start_paused = true)]`) an hour-long refresh is covered in milliseconds, and
//! neither the accept loop nor the connection tasks depend on real time. Wall-clock timestamps
//! (`StartTime`, `EndTime`) are `SystemTime` at start + tokio time elapsed since start.
//!
//! # Wire format
//!
//! Requests are `POST /` with a form-encoded body (`Action=...&Version=2011-01-01&...`).
//! Responses are `text/xml` in the `http://autoscaling.amazonaws.com/doc/2011-01-01/`
//! namespace, shaped like real Auto Scaling responses (`<{Action}Response>` with a
//! `<{Action}Result>` and `<ResponseMetadata>`, or `<ErrorResponse>` with `Type`, `Code`,
//! `Message` and `RequestId`). The request id is also sent in the `x-amzn-RequestId` header:
//! the SDK reads request ids only from that header, never from the body. Bad requests get
//! what AWS gives: `ValidationError` for unknown groups and missing or invalid parameters,
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

mod clock;
mod fault;
mod log;
mod model;
mod ops;
mod server;
mod state;
mod xml;

pub use fault::{Fault, FaultRule};
pub use log::{CallOutcome, CallRecord};
pub use model::{GroupConfig, RefreshSnapshot, RefreshStatus};

use clock::Clock;
use server::Shared;
use state::State;

/// Errors from the simulator's Rust API (not from its HTTP API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No group with this name was created.
    #[error("unknown Auto Scaling group {0:?}")]
    UnknownGroup(String),
    /// The group already has an active refresh.
    #[error("group {group:?} already has an active instance refresh {id}")]
    RefreshInProgress {
        /// The group.
        group: String,
        /// The active refresh.
        id: String,
    },
}

/// Configures and starts an [`AutoScalingSim`].
///
/// See the [module docs](self) for an overview.
///
/// # Defaults
///
/// - `seed`: 0 (refresh ids and request ids are reproducible)
/// - `wall_clock_start`: `SystemTime::now()` when [`start`](Self::start) runs
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

    /// Bind `127.0.0.1:0` and start serving.
    ///
    /// Must be called inside a tokio runtime; the server's tasks run on it.
    pub async fn start(self) -> io::Result<AutoScalingSim> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let wall = self.wall_clock_start.unwrap_or_else(SystemTime::now);
        let shared = Arc::new(Shared::new(State::new(Clock::new(wall), self.seed)));
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
            .insert(name.into(), model::Group::new(config));
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

    /// Start a refresh from Rust with its own timing, as if `StartInstanceRefresh` had been
    /// called now (strategy `Rolling`, default preferences). Returns the refresh id.
    pub fn start_refresh(&self, group: &str, config: GroupConfig) -> Result<String, SimError> {
        let mut state = self.shared.lock();
        let now = state.clock.now();
        let mut preferences = xml::Node::new("Preferences");
        preferences.insert(&["MinHealthyPercentage"], "90");
        state.start_refresh(group, config, "Rolling".to_owned(), preferences, now)
    }

    /// Seed a refresh that is already `InProgress` now and ends (`Successful`) after
    /// `remaining` of tokio time. Returns its id.
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
            .pending_duration(Duration::ZERO)
            .refresh_duration(remaining)
            .bake_duration(Duration::ZERO);
        self.start_refresh(group, config)
    }

    /// All refreshes of a group as they are now, newest first.
    pub fn refreshes(&self, group: &str) -> Result<Vec<RefreshSnapshot>, SimError> {
        let state = self.shared.lock();
        let now = state.clock.now();
        let clock = state.clock;
        let g = state
            .groups
            .get(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?;
        Ok(g.refreshes
            .iter()
            .rev()
            .map(|r| {
                let v = r.view(now);
                RefreshSnapshot {
                    id: r.id.clone(),
                    group: r.group.clone(),
                    status: v.status,
                    percentage_complete: v.percentage,
                    instances_to_update: v.instances_to_update,
                    start_time: clock.wall(r.started),
                    end_time: v.end.map(|e| clock.wall(e)),
                }
            })
            .collect())
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
