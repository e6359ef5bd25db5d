//! Shared helpers for the integration tests.

use std::sync::{Arc, Mutex};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshError;
use aws_sdk_autoscaling::types::error::InstanceRefreshInProgressFault;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

pub type StartError = SdkError<StartInstanceRefreshError, HttpResponse>;

fn raw(status: u16) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
}

/// The SDK's time source on tokio time, so that paused-time tests measure `max_elapsed` on the
/// same clock the SDK's (tokio) sleep advances.
#[derive(Debug, Clone, Copy)]
pub struct TokioTime {
    base: std::time::SystemTime,
    start: tokio::time::Instant,
}

/// The wall-clock time the tests' clocks start at, unless a test picks its own: fixed, so that
/// a run replays exactly (the simulator's timestamps, and so the Refresher's decisions, depend
/// on where inside the second the clock stands), and off the whole second, as a client's clock
/// is.
pub fn fixed_time() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_800_000_000_370)
}

impl TokioTime {
    pub fn new() -> Self {
        Self::starting_at(fixed_time())
    }

    /// A clock that reads `base` now: runs that must replay exactly start at a fixed time (with
    /// a whole second, the wire's whole-second timestamps, `StartTime`, lose nothing).
    pub fn starting_at(base: std::time::SystemTime) -> Self {
        TokioTime {
            base,
            start: tokio::time::Instant::now(),
        }
    }

    /// The wall-clock time when this clock started: give it to a simulator started at the
    /// same moment (`wall_clock_start`), so that both read the same time.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    pub fn base(&self) -> std::time::SystemTime {
        self.base
    }
}

impl aws_smithy_async::time::TimeSource for TokioTime {
    fn now(&self) -> std::time::SystemTime {
        self.base + self.start.elapsed()
    }
}

#[cfg(feature = "sim")]
pub use with_sim::*;

/// The helpers of the tests on the simulator (feature `sim`).
#[cfg(feature = "sim")]
mod with_sim {
    use std::time::Duration;

    use aws_sdk_autoscaling::Client;
    use aws_sdk_autoscaling::operation::cancel_instance_refresh::{
        CancelInstanceRefreshError as CancelError, CancelInstanceRefreshOutput as CancelOutput,
    };
    use aws_sdk_autoscaling::operation::rollback_instance_refresh::{
        RollbackInstanceRefreshError as RollbackError,
        RollbackInstanceRefreshOutput as RollbackOutput,
    };
    use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
    use aws_sdk_autoscaling::types::builders::LaunchTemplateSpecificationBuilder;
    use aws_sdk_autoscaling::types::{
        DesiredConfiguration, LaunchTemplateSpecification, RefreshPreferences,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    use instance_refresh_retry::sim::AutoScalingSim;
    use instance_refresh_retry::{Jitter, RetryPolicy};

    use super::{StartError, TokioTime};

    type SdkResult<O, E> = Result<O, SdkError<E, HttpResponse>>;

    /// `s` seconds.
    pub fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// A simulator started now, and a clock that reads the same wall-clock time as its
    /// timestamps.
    pub async fn sim_with_clock(seed: u64) -> (AutoScalingSim, TokioTime) {
        sim_with(seed, TokioTime::new()).await
    }

    /// A simulator started now, and a clock that agrees with it, both reading `base` now.
    pub async fn sim_with_clock_at(
        seed: u64,
        base: std::time::SystemTime,
    ) -> (AutoScalingSim, TokioTime) {
        sim_with(seed, TokioTime::starting_at(base)).await
    }

    /// A simulator started now, whose timestamps read `clock`.
    pub async fn sim_with(seed: u64, clock: TokioTime) -> (AutoScalingSim, TokioTime) {
        let sim = AutoScalingSim::builder()
            .seed(seed)
            .wall_clock_start(clock.base())
            .start()
            .await
            .unwrap();
        (sim, clock)
    }

    /// The end-to-end tests' policy: 10 s, doubling, 60 s cap, no jitter, 1 h.
    pub fn e2e_policy() -> RetryPolicy {
        RetryPolicy::builder()
            .initial_delay(secs(10))
            .max_delay(secs(60))
            .jitter(Jitter::None)
            .max_elapsed(secs(3600))
            .build()
            .unwrap()
    }

    /// `StartInstanceRefresh` for `group`, through `client` (and whatever it has installed).
    pub async fn send_start(
        client: &Client,
        group: &str,
    ) -> Result<StartInstanceRefreshOutput, StartError> {
        send_start_with(client, group, None, None).await
    }

    /// `StartInstanceRefresh` for `group` with this desired configuration and these
    /// preferences, if any, through `client`.
    pub async fn send_start_with(
        client: &Client,
        group: &str,
        desired: Option<DesiredConfiguration>,
        preferences: Option<RefreshPreferences>,
    ) -> Result<StartInstanceRefreshOutput, StartError> {
        client
            .start_instance_refresh()
            .auto_scaling_group_name(group)
            .set_desired_configuration(desired)
            .set_preferences(preferences)
            .send()
            .await
    }

    /// Starts a refresh of `group` through `client`, with this desired configuration and these
    /// preferences, if any: its id.
    pub async fn start_refresh(
        client: &Client,
        group: &str,
        desired: Option<DesiredConfiguration>,
        preferences: Option<RefreshPreferences>,
    ) -> String {
        send_start_with(client, group, desired, preferences)
            .await
            .expect("start")
            .instance_refresh_id()
            .expect("id")
            .to_owned()
    }

    /// `CancelInstanceRefresh` for `group`, through `client`.
    pub async fn send_cancel(client: &Client, group: &str) -> SdkResult<CancelOutput, CancelError> {
        client
            .cancel_instance_refresh()
            .auto_scaling_group_name(group)
            .send()
            .await
    }

    /// `RollbackInstanceRefresh` for `group`, through `client`.
    pub async fn send_rollback(
        client: &Client,
        group: &str,
    ) -> SdkResult<RollbackOutput, RollbackError> {
        client
            .rollback_instance_refresh()
            .auto_scaling_group_name(group)
            .send()
            .await
    }

    /// A desired configuration with `version` of launch template `lt-0123456789abcdef0`.
    pub fn template_version(version: &str) -> DesiredConfiguration {
        desired_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id("lt-0123456789abcdef0")
                .version(version),
        )
    }

    /// A desired configuration with `version` of the launch template named `name`.
    pub fn named_template_version(name: &str, version: &str) -> DesiredConfiguration {
        desired_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name(name)
                .version(version),
        )
    }

    fn desired_template(template: LaunchTemplateSpecificationBuilder) -> DesiredConfiguration {
        DesiredConfiguration::builder()
            .launch_template(template.build())
            .build()
    }
}

/// An InstanceRefreshInProgress error as the SDK would return it, with code and request id.
pub fn in_progress(request_id: &str) -> StartError {
    let meta = ErrorMetadata::builder()
        .code("InstanceRefreshInProgress")
        .message("An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
        .custom("aws_request_id", request_id)
        .build();
    let fault = InstanceRefreshInProgressFault::builder()
        .message("An Instance Refresh is already in progress")
        .meta(meta)
        .build();
    SdkError::service_error(
        StartInstanceRefreshError::InstanceRefreshInProgressFault(fault),
        raw(400),
    )
}

/// A non-retryable validation error.
pub fn validation_error() -> StartError {
    let meta = ErrorMetadata::builder()
        .code("ValidationError")
        .message("AutoScalingGroup name not found - AutoScalingGroup 'nope' not found")
        .build();
    SdkError::service_error(StartInstanceRefreshError::generic(meta), raw(400))
}

/// One captured tracing event or span: its name/message and its fields as strings.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub kind: &'static str,
    pub name: String,
    pub fields: Vec<(String, String)>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Visitor<'a>(&'a mut Vec<(String, String)>);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

/// Captures this crate's spans and events on the current thread while installed.
///
/// The subscriber is global (installed once), so tracing's per-callsite interest cache always
/// sees it; each test then captures only what its own thread emits.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<Captured>>>);

thread_local! {
    static ACTIVE: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

struct Forward;

impl Forward {
    fn push(c: Captured) {
        ACTIVE.with(|a| {
            if let Some(capture) = a.borrow().as_ref() {
                capture.0.lock().unwrap().push(c);
            }
        });
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Forward {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        if !attrs
            .metadata()
            .target()
            .starts_with("instance_refresh_retry")
        {
            return;
        }
        let mut c = Captured {
            kind: "span",
            name: attrs.metadata().name().to_string(),
            ..Default::default()
        };
        attrs.record(&mut Visitor(&mut c.fields));
        Forward::push(c);
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if !event
            .metadata()
            .target()
            .starts_with("instance_refresh_retry")
        {
            return;
        }
        let mut c = Captured {
            kind: "event",
            ..Default::default()
        };
        event.record(&mut Visitor(&mut c.fields));
        c.name = c.field("message").unwrap_or_default().to_string();
        Forward::push(c);
    }
}

/// Uninstalls the capture when dropped.
pub struct CaptureGuard;

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| *a.borrow_mut() = None);
    }
}

impl Capture {
    /// Captures on the current thread until the guard drops.
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::filter::LevelFilter::TRACE)
                .with(Forward);
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber");
        });
        ACTIVE.with(|a| *a.borrow_mut() = Some(self.clone()));
        CaptureGuard
    }

    pub fn all(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }
}
