//! Credentials and signatures never reach the logs, an error's `Display` or `Debug`, a
//! `RetryStats`, a `RetryEvent` or a `Progress`: every path (SDK interceptor, tower layer,
//! Refresher) runs against the simulator with distinctive fake credentials and TRACE logging for
//! every target, the SDK's included. (The CLI has its own test in `tests/cli.rs`.)

use std::io;
use std::sync::{Arc, Mutex};

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::config::Credentials;
use aws_sdk_autoscaling::config::retry::RetryConfig;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    InstanceRefreshRetryConfig, InstanceRefreshRetryLayer, Jitter, OnConflict, RefreshErrorKind,
    Refresher, RetryOutcome, RetryPolicy, StartInstanceRefreshExt, StartInstanceRefreshService,
    StopReason, retry_stats,
};
use tower::{ServiceBuilder, ServiceExt};
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{TokioTime, secs, sim_with_clock};

const ACCESS_KEY: &str = "AKIAQXSECRETSTESTKEY7";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/secrets-test-SECRET-KEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEsecrets-test-SESSION-TOKEN/AAAA==";

/// Everything every subscriber layer formats, at TRACE for every target, as text.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> LogBuffer {
        self.clone()
    }
}

impl LogBuffer {
    /// Formats every span and event of this thread, at every level and target, until the guard
    /// drops. (A current-thread runtime runs the simulator, the SDK and the code under test on
    /// this thread.)
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_target(true)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What the SDK actually sent: each request's `Authorization` and `X-Amz-Security-Token`.
#[derive(Clone, Default)]
struct SentHeaders(Arc<Mutex<Vec<(String, String)>>>);

/// The SDK logs its interceptors at TRACE: this one must not print what it holds.
impl std::fmt::Debug for SentHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SentHeaders(..)")
    }
}

impl Intercept for SentHeaders {
    fn name(&self) -> &'static str {
        "SentHeaders"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request().headers();
        let header = |name| headers.get(name).unwrap_or_default().to_owned();
        self.0
            .lock()
            .unwrap()
            .push((header("authorization"), header("x-amz-security-token")));
        Ok(())
    }
}

impl SentHeaders {
    /// The `Signature=...` value of each request sent, after checking that the request carried
    /// the access key and the session token (so that they were there to leak).
    fn signatures(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(authorization, token)| {
                assert!(
                    authorization.contains(&format!("Credential={ACCESS_KEY}/")),
                    "{authorization}"
                );
                assert_eq!(token, SESSION_TOKEN);
                let (_, signature) = authorization.split_once("Signature=").expect("signed");
                assert_eq!(signature.len(), 64, "{authorization}");
                signature.to_owned()
            })
            .collect()
    }
}

/// The simulator's config with the fake credentials, the header recorder, its clock, and no
/// SDK retries (one SDK call, one request).
fn config(
    sim: &AutoScalingSim,
    clock: TokioTime,
    sent: &SentHeaders,
) -> aws_sdk_autoscaling::config::Builder {
    sim.sdk_config_builder()
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            Some(SESSION_TOKEN.to_owned()),
            None,
            "secrets-test",
        ))
        .interceptor(sent.clone())
        .time_source(clock)
        .retry_config(RetryConfig::disabled())
}

fn input(group: &str) -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(group)
        .build()
        .unwrap()
}

/// 1 s, doubling, no jitter, 3 attempts: a blocker of an hour makes it give up.
fn policy() -> RetryPolicy {
    RetryPolicy::builder()
        .initial_delay(secs(1))
        .jitter(Jitter::None)
        .max_attempts(3)
        .build()
        .unwrap()
}

/// Everything a user could print, besides the logs: errors (`Display`, `Debug`, each source's
/// `Display`), stats, retry events and progress reports.
#[derive(Default)]
struct Printed(Vec<String>);

impl Printed {
    fn error(&mut self, err: &(dyn std::error::Error + 'static)) {
        self.0.push(format!("{err:?}"));
        let mut next = Some(err);
        while let Some(e) = next {
            self.0.push(e.to_string());
            next = e.source();
        }
    }

    fn debug_and_display(&mut self, value: &(impl std::fmt::Debug + std::fmt::Display)) {
        self.0.push(format!("{value:?}"));
        self.0.push(value.to_string());
    }
}

type Sink = Arc<Mutex<Vec<String>>>;

fn sink(events: &Sink) -> impl Fn(&dyn std::fmt::Debug) + Send + Sync + 'static {
    let events = events.clone();
    move |e| events.lock().unwrap().push(format!("{e:?}"))
}

#[tokio::test(start_paused = true)]
async fn no_credential_or_signature_in_logs_errors_stats_or_events() {
    let logs = LogBuffer::default();
    let _logging = logs.install();
    let (sim, clock) = sim_with_clock(31).await;
    // `web` is blocked for 2 s (each path waits it out), `busy` for an hour (each path gives
    // up), `nope` does not exist (an AWS error).
    sim.create_group(
        "web",
        GroupConfig::default()
            .pending_duration(secs(0))
            .refresh_duration(secs(1)),
    );
    sim.create_group("busy", GroupConfig::default());
    sim.seed_running_refresh("busy", secs(3600)).unwrap();
    let sent = SentHeaders::default();
    let client = Client::from_conf(config(&sim, clock, &sent).build());
    let mut printed = Printed::default();
    let events = Sink::default();

    // The SDK path: a wait, then success; giving up; an AWS error.
    sim.seed_running_refresh("web", secs(2)).unwrap();
    let on_retry = sink(&events);
    let on_finish = sink(&events);
    let retry = InstanceRefreshRetryConfig::new(policy())
        .on_retry(move |e| on_retry(e))
        .on_finish(move |s| on_finish(s));
    let (_, stats) = client
        .start_instance_refresh()
        .auto_scaling_group_name("web")
        .send_with_stats(retry.clone())
        .await
        .unwrap();
    assert_eq!(
        (stats.attempts, stats.outcome),
        (3, RetryOutcome::Succeeded)
    );
    printed.debug_and_display(&stats);
    let err = client
        .start_instance_refresh()
        .auto_scaling_group_name("busy")
        .send_with_retry(retry.clone())
        .await
        .unwrap_err();
    let stats = retry_stats(&err).expect("stats");
    assert_eq!(stats.outcome, RetryOutcome::GaveUp(StopReason::MaxAttempts));
    printed.debug_and_display(&stats);
    printed.error(&err);
    let err = client
        .start_instance_refresh()
        .auto_scaling_group_name("nope")
        .send_with_retry(retry)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ValidationError")
    );
    printed.error(&err);

    // The tower path, the same three.
    tokio::time::sleep(secs(5)).await;
    sim.seed_running_refresh("web", secs(2)).unwrap();
    let on_retry = sink(&events);
    let on_finish = sink(&events);
    let layer = InstanceRefreshRetryLayer::new(policy())
        .on_retry(move |e| on_retry(e))
        .on_finish(move |s| on_finish(s))
        .with_stats();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service(StartInstanceRefreshService::new(client.clone()));
    let (_, stats) = svc.clone().oneshot(input("web")).await.unwrap();
    assert_eq!(stats.attempts, 3);
    printed.debug_and_display(&stats);
    for group in ["busy", "nope"] {
        let err = svc.clone().oneshot(input(group)).await.unwrap_err();
        printed.error(&err);
    }

    // The Refresher: a status-aware wait with progress, then success; giving up; an AWS error.
    tokio::time::sleep(secs(5)).await;
    sim.seed_running_refresh("web", secs(2)).unwrap();
    let on_progress = sink(&events);
    let refresher = Refresher::new(client.clone(), policy())
        .time_source(clock)
        .on_conflict(OnConflict::Wait)
        .on_progress(move |p| on_progress(p));
    let started = refresher.start(input("web")).await.unwrap();
    printed.debug_and_display(&started.stats());
    printed.0.push(format!("{started:?}"));
    let plain = Refresher::new(client.clone(), policy())
        .time_source(clock)
        .status_aware(false);
    let err = plain.start(input("busy")).await.unwrap_err();
    assert!(
        matches!(err.kind(), RefreshErrorKind::GaveUp(_)),
        "{:?}",
        err.kind()
    );
    printed.debug_and_display(&err.stats());
    printed.error(&err);
    let err = refresher.start(input("nope")).await.unwrap_err();
    assert_eq!(err.kind(), &RefreshErrorKind::Aws);
    printed.error(&err);

    let logs = logs.text();
    let events = events.lock().unwrap().clone();
    // What was captured is substantial, so the checks below can fail: the SDK's own TRACE lines,
    // the signer's among them, the simulator's and this crate's events, each path's callbacks.
    for needle in [
        "TRACE ",
        " aws_smithy_runtime::client::orchestrator: ",
        " aws_sigv4::http_request::sign: signing request ",
        " aws_sigv4::http_request::sign: canonical_request=",
        " instance_refresh_retry::sim::server: sim: call ",
        " instance_refresh_retry::core::trace: ",
        "InstanceRefreshInProgress",
    ] {
        assert!(logs.contains(needle), "no {needle:?} in the logs:\n{logs}");
    }
    assert!(
        events.iter().filter(|e| e.starts_with("Progress")).count() >= 1,
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .filter(|e| e.starts_with("RetryEvent"))
            .count()
            >= 4,
        "{events:?}"
    );
    let signatures = sent.signatures();
    assert_eq!(signatures.len(), sim.calls().len());
    assert!(signatures.len() >= 20, "{}", signatures.len());

    let mut forbidden = vec![SECRET_KEY.to_owned(), SESSION_TOKEN.to_owned()];
    forbidden.extend(signatures);
    for text in std::iter::once(&logs).chain(&printed.0).chain(&events) {
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{secret:?} in:\n{text}");
        }
    }
    // The access key id too, with one exception that is the SDK's and not ours: at TRACE,
    // aws-sigv4 and the orchestrator log the resolved identity (and the config bag that holds
    // it), and `Credentials`' `Debug` (aws-credential-types) shows `access_key_id` (never the
    // secret key or the token). Those records may show that one field; nothing else shows the
    // key. (`asg-refresh` keeps `aws_sigv4` and `aws_smithy_runtime` at `info`; the CLI test
    // checks its trace output for the access key as well.)
    let sdk_field = format!("access_key_id: \"{ACCESS_KEY}\"");
    let mut sdk_records = 0;
    for (target, record) in records(&logs) {
        if record.contains(&sdk_field) {
            assert!(
                ["aws_sigv4::", "aws_smithy_runtime::client::orchestrator"]
                    .iter()
                    .any(|sdk| target.starts_with(sdk)),
                "{target}: {record}"
            );
            sdk_records += 1;
        }
        let cut = record.replace(&sdk_field, "");
        assert!(!cut.contains(ACCESS_KEY), "{target}: {record}");
    }
    // At least the signer's `signing request`, once per request.
    assert!(sdk_records >= sim.calls().len(), "{sdk_records}");
    for text in printed.0.iter().chain(&events) {
        assert!(!text.contains(ACCESS_KEY), "{text}");
    }
}

/// The formatted log's records (an event's continuation lines stay with it), each with its
/// target: the first word after the level that is a module path followed by `:`.
fn records(logs: &str) -> Vec<(String, String)> {
    let mut records: Vec<String> = Vec::new();
    for line in logs.lines() {
        let starts_record = line.starts_with("20") && line.as_bytes().get(10) == Some(&b'T');
        match records.last_mut() {
            Some(record) if !starts_record => {
                record.push('\n');
                record.push_str(line);
            }
            _ => records.push(line.to_owned()),
        }
    }
    let is_target = |word: &&str| {
        word.contains("::")
            && word.ends_with(':')
            && word
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':')
    };
    records
        .into_iter()
        .map(|record| {
            let target = record
                .split_whitespace()
                .skip(2)
                .find(is_target)
                .unwrap_or_default()
                .trim_end_matches(':')
                .to_owned();
            (target, record)
        })
        .collect()
}
