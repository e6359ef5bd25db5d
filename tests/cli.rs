//! `asg-refresh` end to end: the binary, run as a child process, against the simulator over HTTP.
//!
//! The simulator runs in the test process on real time (the child cannot share paused time), so
//! every refresh here lasts a few seconds and the waits are short (`--initial-delay 100ms
//! --max-delay 500ms`). Nothing outside the repository is read: the AWS config and credentials
//! files are empty temporary files, the credentials come from the environment, IMDS is off.
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use instance_refresh_retry::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig, RefreshStatus};
use serde_json::Value;

const ACCESS_KEY: &str = "AKIDACCESSKEYDONOTLOG";
const SECRET_KEY: &str = "SECRETKEY-DO-NOT-LOG";
const SESSION_TOKEN: &str = "SESSIONTOKEN-DO-NOT-LOG";
const FAST: [&str; 4] = ["--initial-delay", "100ms", "--max-delay", "500ms"];

/// Empty AWS config and credentials files, for the child's lifetime.
struct Home {
    _dir: tempfile::TempDir,
    config: PathBuf,
    credentials: PathBuf,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = dir.path().join("config");
        let credentials = dir.path().join("credentials");
        std::fs::write(&config, "").expect("an empty config file");
        std::fs::write(&credentials, "").expect("an empty credentials file");
        Home {
            _dir: dir,
            config,
            credentials,
        }
    }
}

/// `asg-refresh` with a clean environment, pointed at `sim` (if any).
fn asg_refresh(home: &Home, sim: Option<&AutoScalingSim>) -> Command {
    let mut cmd = Command::cargo_bin("asg-refresh").expect("the binary is built");
    cmd.env_clear()
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &home.config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &home.credentials)
        .timeout(Duration::from_secs(60));
    if let Some(sim) = sim {
        cmd.args(["--endpoint-url", &sim.endpoint_url()]);
    }
    cmd
}

/// Runs the child off the runtime's threads, so the simulator keeps serving.
async fn run(mut cmd: Command, args: &[&str]) -> Output {
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().expect("the child runs"))
        .await
        .expect("the child's thread does not panic")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON objects on stdout, one per line.
fn json(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn quick() -> GroupConfig {
    GroupConfig::default()
        .pending_duration(Duration::from_millis(200))
        .refresh_duration(Duration::from_secs(2))
        .cancel_duration(Duration::from_millis(500))
}

fn starts(sim: &AutoScalingSim, group: &str) -> usize {
    sim.calls()
        .iter()
        .filter(|c| {
            c.is("StartInstanceRefresh")
                && c.params.get("AutoScalingGroupName").map(String::as_str) == Some(group)
        })
        .count()
}

/// A simulator with one `quick()` group.
async fn sim_with(group: &str) -> AutoScalingSim {
    let sim = AutoScalingSim::start().await.unwrap();
    sim.create_group(group, quick());
    sim
}

/// Seeds a refresh on `group` that runs for `secs` seconds; returns its id.
fn seed(sim: &AutoScalingSim, group: &str, secs: u64) -> String {
    sim.seed_running_refresh(group, Duration::from_secs(secs))
        .unwrap()
}

/// Runs `asg-refresh args` against `sim`, with the fast waits appended.
async fn run_fast(home: &Home, sim: &AutoScalingSim, args: &[&str]) -> Output {
    let mut args = args.to_vec();
    args.extend(FAST);
    run(asg_refresh(home, Some(sim)), &args).await
}

/// As `run_fast`, with `--output json`: checks the exit code, returns the output and reports.
async fn run_json(
    home: &Home,
    sim: &AutoScalingSim,
    args: &[&str],
    expected: i32,
) -> (Output, Vec<Value>) {
    let mut args = args.to_vec();
    args.extend(["--output", "json"]);
    let out = run_fast(home, sim, &args).await;
    assert_code(&out, expected);
    let reports = json(&out);
    (out, reports)
}

fn assert_code(out: &Output, expected: i32) {
    assert_eq!(code(out), expected, "{}\n{}", stdout(out), stderr(out));
}

fn assert_stderr_has(out: &Output, needle: &str) {
    assert!(stderr(out).contains(needle), "{}", stderr(out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_start_waits_then_succeeds() {
    let sim = sim_with("web").await;
    let blocker = seed(&sim, "web", 2);
    let home = Home::new();
    let args = ["start", "--group", "web", "--on-conflict", "wait"];
    let (out, reports) = run_json(&home, &sim, &args, 0).await;
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["group"], "web");
    assert_eq!(r["adopted"], false);
    assert_eq!(r["exit_code"], 0);
    assert!(r["attempts"].as_u64().unwrap() >= 2, "{r}");
    assert!(r["describe_calls"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["waited_seconds"].as_f64().unwrap() > 0.5, "{r}");
    assert!(r["final_status"].is_null(), "{r}");
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_ne!(r["refresh_id"], blocker.as_str());
    assert_eq!(r["refresh_id"], refreshes[0].id.as_str());
    // Not a TTY: one plain line per check on stderr.
    assert_stderr_has(&out, &format!("blocked by {blocker}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_conflict_fail_exits_1_naming_the_blocker() {
    let sim = sim_with("web").await;
    let blocker = seed(&sim, "web", 3600);
    let home = Home::new();
    let args = ["start", "--group", "web", "--on-conflict", "fail"];
    let (out, reports) = run_json(&home, &sim, &args, 1).await;
    let r = &reports[0];
    assert_eq!(r["error"]["kind"], "conflict", "{r}");
    assert_eq!(r["refresh_id"], blocker.as_str(), "{r}");
    assert_stderr_has(&out, &blocker);
    assert_eq!(starts(&sim, "web"), 1);
    assert_eq!(sim.refreshes("web").unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_conflict_cancel_cancels_the_blocker_then_starts() {
    let sim = sim_with("web").await;
    let blocker = seed(&sim, "web", 3600);
    let home = Home::new();
    let args = ["start", "--group", "web", "--on-conflict", "cancel"];
    let (_, reports) = run_json(&home, &sim, &args, 0).await;
    let r = &reports[0];
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(r["refresh_id"], refreshes[0].id.as_str());
    assert_eq!(refreshes[1].id, blocker);
    assert_eq!(refreshes[1].status, RefreshStatus::Cancelled);
    assert_eq!(
        sim.calls()
            .iter()
            .filter(|c| c.is("CancelInstanceRefresh"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_is_adopted_not_duplicated() {
    let sim = sim_with("api").await;
    sim.inject(FaultRule::new(Fault::ResponseLost).on("StartInstanceRefresh"));
    let home = Home::new();
    let (_, reports) = run_json(&home, &sim, &["start", "--group", "api"], 0).await;
    let r = &reports[0];
    assert_eq!(r["adopted"], true, "{r}");
    let refreshes = sim.refreshes("api").unwrap();
    assert_eq!(refreshes.len(), 1, "exactly one refresh");
    assert_eq!(r["refresh_id"], refreshes[0].id.as_str());
    let applied = sim
        .calls()
        .iter()
        .filter(|c| c.is("StartInstanceRefresh") && c.applied)
        .count();
    assert_eq!(applied, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_duration_exits_2_naming_the_flag() {
    let home = Home::new();
    let out = run(
        asg_refresh(&home, None),
        &["start", "--group", "web", "--max-wait", "5 fortnights-ish"],
    )
    .await;
    assert_code(&out, 2);
    assert_stderr_has(&out, "--max-wait");
    assert!(stdout(&out).is_empty());

    let out = run(
        asg_refresh(&home, None),
        &[
            "start",
            "--group",
            "web",
            "--initial-delay",
            "10s",
            "--max-delay",
            "1s",
        ],
    )
    .await;
    assert_code(&out, 2);
    assert_stderr_has(&out, "--max-delay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_group_exits_4_with_the_code_and_request_id() {
    let sim = AutoScalingSim::start().await.unwrap();
    let home = Home::new();
    let out = run_fast(&home, &sim, &["start", "--group", "nope"]).await;
    assert_code(&out, 4);
    let text = stderr(&out);
    assert!(text.contains("ValidationError"), "{text}");
    let request_id = sim.calls()[0].request_id.clone().unwrap();
    assert!(text.contains(&request_id), "{text}");

    let out = run(
        asg_refresh(&home, Some(&sim)),
        &["status", "--group", "nope", "--output", "json"],
    )
    .await;
    assert_code(&out, 4);
    assert_eq!(json(&out)[0]["error"]["code"], "ValidationError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_ends_with_the_final_status() {
    let sim = sim_with("jobs").await;
    sim.create_group(
        "broken",
        quick()
            .fail_after(Duration::from_secs(1))
            .fail_reason("no capacity"),
    );
    let home = Home::new();
    let args = ["start", "--group", "jobs", "--group", "broken", "--wait"];
    // The worst of the groups' codes: `broken` ended Failed.
    let (_, reports) = run_json(&home, &sim, &args, 1).await;
    let jobs = reports.iter().find(|r| r["group"] == "jobs").unwrap();
    let broken = reports.iter().find(|r| r["group"] == "broken").unwrap();
    assert_eq!(jobs["final_status"], "Successful", "{jobs}");
    assert_eq!(jobs["exit_code"], 0);
    assert_eq!(broken["final_status"], "Failed", "{broken}");
    assert_eq!(broken["exit_code"], 1);

    // Text output, and `wait` on the latest refresh.
    let out = run_fast(&home, &sim, &["wait", "--group", "jobs"]).await;
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("ended Successful"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_cancel() {
    let sim = sim_with("web").await;
    let id = seed(&sim, "web", 3600);
    let home = Home::new();
    let out = run(
        asg_refresh(&home, Some(&sim)),
        &["status", "--group", "web", "--output", "json"],
    )
    .await;
    assert_code(&out, 0);
    let r = &json(&out)[0];
    assert_eq!(r["refresh_id"], id.as_str());
    assert_eq!(r["status"], "InProgress");
    assert_eq!(r["describe_calls"], 1, "{r}");

    let (_, reports) = run_json(&home, &sim, &["cancel", "--group", "web", "--wait"], 0).await;
    let r = &reports[0];
    assert_eq!(r["refresh_id"], id.as_str());
    assert_eq!(r["final_status"], "Cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_at_concurrency_1_run_one_after_the_other() {
    let sim = AutoScalingSim::start().await.unwrap();
    for group in ["a", "b"] {
        sim.create_group(group, quick());
        sim.seed_running_refresh(group, Duration::from_millis(1500))
            .unwrap();
    }
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "a",
        "--group",
        "b",
        "--concurrency",
        "1",
    ];
    let out = run_fast(&home, &sim, &args).await;
    assert_code(&out, 0);
    let groups: Vec<String> = sim
        .calls()
        .iter()
        .filter_map(|c| c.params.get("AutoScalingGroupName").cloned())
        .collect();
    let first_b = groups.iter().position(|g| g == "b").unwrap();
    let last_a = groups.iter().rposition(|g| g == "a").unwrap();
    assert!(last_a < first_b, "interleaved: {groups:?}");
    assert_eq!(groups[0], "a", "in the order given: {groups:?}");
    // Both waited for their blocker, and the summary table lists both.
    assert!(
        groups.iter().filter(|g| *g == "a").count() >= 3,
        "{groups:?}"
    );
    let text = stdout(&out);
    assert!(text.contains("GROUP") && text.contains("EXIT"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_output_contains_no_secret() {
    let sim = sim_with("web").await;
    sim.seed_running_refresh("web", Duration::from_millis(500))
        .unwrap();
    let home = Home::new();
    let mut cmd = asg_refresh(&home, Some(&sim));
    cmd.env("RUST_LOG", "trace");
    let mut args = vec!["-vvv", "start", "--group", "web", "--wait"];
    args.extend(FAST);
    let out = run(cmd, &args).await;
    assert_code(&out, 0);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("TRACE"), "trace logs are on");
    for secret in [
        ACCESS_KEY,
        SECRET_KEY,
        SESSION_TOKEN,
        "Signature=",
        "X-Amz-Security-Token: S",
    ] {
        let leak = all.lines().find(|l| l.contains(secret));
        assert!(
            leak.is_none(),
            "{secret} printed: {}",
            leak.unwrap_or_default()
        );
    }
    // The request did carry the token (so it was there to leak).
    assert!(sim.calls().len() > 2);
}

/// `asg-refresh args`, started as a child that the test can signal (output piped).
fn spawn(home: &Home, endpoint: Option<&str>, args: &[&str]) -> std::process::Child {
    let cmd = asg_refresh(home, None);
    let mut child = std::process::Command::new(cmd.get_program());
    child
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(url) = endpoint {
        child.args(["--endpoint-url", url]);
    }
    child.args(args).spawn().expect("the child starts")
}

/// Waits (real time, polling) until `done` holds; panics after `limit`.
async fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let began = std::time::Instant::now();
    while !done() {
        assert!(began.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `signal` (`TERM`, `INT`, `KILL`...) to `child`.
fn kill(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// The issue asks for the report within 1 s of the signal. Real time on a loaded 2-core
/// machine: the test bounds it generously (this is the one place a test bounds real time), and
/// prints what it measured.
const SIGNAL_TO_EXIT: Duration = Duration::from_secs(3);

/// Waits for the signalled child to exit (at most [`SIGNAL_TO_EXIT`]): its output, and how long
/// it took.
async fn exited(mut child: std::process::Child) -> (Output, Duration) {
    let signalled = std::time::Instant::now();
    tokio::task::spawn_blocking(move || {
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                let took = signalled.elapsed();
                return (child.wait_with_output().expect("the output"), took);
            }
            if signalled.elapsed() > SIGNAL_TO_EXIT {
                let _ = child.kill();
                let out = child.wait_with_output().expect("the output");
                panic!(
                    "still running {SIGNAL_TO_EXIT:?} after the signal\n{}\n{}",
                    stdout(&out),
                    stderr(&out)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await
    .expect("the waiting thread does not panic")
}

/// The calls that reached `sim` after `since` (with 50 ms for a request already on its way).
fn calls_after(sim: &AutoScalingSim, since: Duration) -> Vec<String> {
    sim.calls()
        .into_iter()
        .filter(|c| c.at > since + Duration::from_millis(50))
        .map(|c| format!("{:?} at {:?}", c.operation, c.at))
        .collect()
}

/// A start blocked by someone else's hour-long refresh, interrupted by `signal`: it reports
/// at once, with `code`, and makes no call after the signal.
async fn a_blocked_start_interrupted_by(signal: &str, name: &str, code: i32) {
    let sim = sim_with("web").await;
    seed(&sim, "web", 3600);
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "web",
        "--initial-delay",
        "100ms",
        "--max-delay",
        "200ms",
        "--output",
        "json",
    ];
    let child = spawn(&home, Some(&sim.endpoint_url()), &args);
    // Let it check the blocker a few times.
    until(Duration::from_secs(30), "a few checks", || {
        sim.calls().len() >= 4
    })
    .await;
    let signalled_at = sim.elapsed();
    kill(&child, signal);
    let (out, took) = exited(child).await;
    println!("{name}: exited {took:?} after the signal");
    assert_code(&out, code);
    let reports = json(&out);
    assert_eq!(reports.len(), 1, "{}", stdout(&out));
    let r = &reports[0];
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(r["signal"], name, "{r}");
    assert_eq!(r["exit_code"], code, "{r}");
    assert_eq!(r["error"]["kind"], "interrupted", "{r}");
    // Blocked: no refresh of its own yet.
    assert!(r["refresh_id"].is_null(), "{r}");
    assert_stderr_has(&out, &format!("interrupted by {name}"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let late = calls_after(&sim, signalled_at);
    assert!(late.is_empty(), "calls after {name}: {late:?}");
    assert_eq!(sim.refreshes("web").unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_blocked_wait_exits_143_at_once_and_makes_no_call_after_it() {
    a_blocked_start_interrupted_by("TERM", "SIGTERM", 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_blocked_wait_exits_130_at_once_and_makes_no_call_after_it() {
    a_blocked_start_interrupted_by("INT", "SIGINT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_exits_129_and_says_the_started_refresh_keeps_running() {
    let sim = AutoScalingSim::start().await.unwrap();
    sim.create_group("web", quick().refresh_duration(Duration::from_secs(3600)));
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "web",
        "--wait",
        "--initial-delay",
        "100ms",
        "--max-delay",
        "200ms",
    ];
    let child = spawn(&home, Some(&sim.endpoint_url()), &args);
    // Started, and following it.
    until(Duration::from_secs(30), "following its refresh", || {
        sim.calls()
            .iter()
            .any(|c| c.is("DescribeInstanceRefreshes"))
    })
    .await;
    let id = sim.refreshes("web").unwrap()[0].id.clone();
    let signalled_at = sim.elapsed();
    kill(&child, "HUP");
    let (out, _) = exited(child).await;
    assert_code(&out, 129);
    // Text: the refresh goes on, with its id, and what to do about it.
    let text = stderr(&out);
    assert!(
        text.contains(&format!("instance refresh {id} keeps running")),
        "{text}"
    );
    assert!(text.contains("--on-conflict adopt"), "{text}");
    assert!(calls_after(&sim, signalled_at).is_empty());
    assert!(matches!(
        sim.refreshes("web").unwrap()[0].status,
        RefreshStatus::Pending | RefreshStatus::InProgress
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_interrupt_cancel_cancels_the_started_refresh() {
    let sim = AutoScalingSim::start().await.unwrap();
    // Cancelling would take 10 minutes while instances are in flight: without waiting for
    // them, the refresh is Cancelled at once.
    let long = quick()
        .refresh_duration(Duration::from_secs(3600))
        .cancel_duration(Duration::from_secs(600));
    sim.create_group("web", long);
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "web",
        "--wait",
        "--on-interrupt",
        "cancel",
        "--initial-delay",
        "100ms",
        "--max-delay",
        "200ms",
        "--output",
        "json",
    ];
    let child = spawn(&home, Some(&sim.endpoint_url()), &args);
    until(Duration::from_secs(30), "following its refresh", || {
        sim.calls()
            .iter()
            .any(|c| c.is("DescribeInstanceRefreshes"))
    })
    .await;
    let signalled_at = sim.elapsed();
    kill(&child, "TERM");
    let (out, took) = exited(child).await;
    println!("--on-interrupt cancel: exited {took:?} after the signal");
    assert_code(&out, 143);
    let r = &json(&out)[0];
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 1);
    assert_eq!(r["refresh_id"], refreshes[0].id.as_str(), "{r}");
    assert_eq!(r["on_interrupt"], "cancelled", "{r}");
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(refreshes[0].status, RefreshStatus::Cancelled);
    // The one call after the signal: the cancel, without waiting for instances in flight.
    let cancels: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.is("CancelInstanceRefresh"))
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:?}");
    assert!(cancels[0].at >= signalled_at);
    assert_eq!(
        cancels[0]
            .params
            .get("WaitForTransitioningInstances")
            .map(String::as_str),
        Some("false")
    );
    let others: Vec<_> = calls_after(&sim, signalled_at)
        .into_iter()
        .filter(|c| !c.contains("CancelInstanceRefresh"))
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

/// A pinned desired configuration: launch template `app` at `version`.
fn app_version(version: &str) -> String {
    format!(r#"{{"LaunchTemplate": {{"LaunchTemplateName": "app", "Version": "{version}"}}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_after_sigkill_adopts_the_refresh_instead_of_rolling_twice() {
    let sim = AutoScalingSim::start().await.unwrap();
    sim.create_group("web", quick().refresh_duration(Duration::from_secs(4)));
    let home = Home::new();
    let desired = app_version("7");
    // Run 1 starts its refresh, then its job is killed (no chance to report).
    let run_1 = [
        "start",
        "--group",
        "web",
        "--desired-configuration",
        &desired,
        "--wait",
    ];
    let mut child = spawn(&home, Some(&sim.endpoint_url()), &run_1);
    until(Duration::from_secs(30), "run 1 started its refresh", || {
        sim.calls()
            .iter()
            .any(|c| c.is("StartInstanceRefresh") && c.applied)
    })
    .await;
    kill(&child, "KILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed");
    let r = sim.refreshes("web").unwrap()[0].id.clone();

    // Run 2, the retried job: the same desired configuration (from a file this time).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("desired.json");
    std::fs::write(&file, &desired).unwrap();
    let from_file = format!("file://{}", file.display());
    let run_2 = [
        "start",
        "--group",
        "web",
        "--desired-configuration",
        &from_file,
        "--on-conflict",
        "adopt",
        "--wait",
    ];
    let (out, reports) = run_json(&home, &sim, &run_2, 0).await;
    let report = &reports[0];
    assert_eq!(report["adopted"], true, "{report}");
    assert_eq!(report["adoption"], "matching_refresh", "{report}");
    assert_eq!(report["refresh_id"], r.as_str(), "{report}");
    assert!(report["start_time"].is_string(), "{report}");
    assert_eq!(report["final_status"], "Successful", "{report}");
    assert_eq!(
        sim.refreshes("web").unwrap().len(),
        1,
        "exactly one refresh"
    );
    assert_stderr_has(&out, "following it to the end");

    // Another version is not adopted: it waits for the running refresh, then starts.
    let r2 = sim
        .start_refresh_with_launch_template("web", quick(), "app", "7")
        .unwrap();
    let other = app_version("8");
    let run_3 = [
        "start",
        "--group",
        "web",
        "--desired-configuration",
        &other,
        "--on-conflict",
        "adopt",
    ];
    let (_, reports) = run_json(&home, &sim, &run_3, 0).await;
    let report = &reports[0];
    assert_eq!(report["adopted"], false, "{report}");
    assert_ne!(report["refresh_id"], r2.as_str(), "{report}");
    assert!(report["describe_calls"].as_u64().unwrap() >= 1, "{report}");
    let refreshes = sim.refreshes("web").unwrap();
    assert_eq!(refreshes.len(), 3);
    assert_eq!(refreshes[1].id, r2);
    assert_eq!(refreshes[1].status, RefreshStatus::Successful, "waited out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_without_a_pinned_version_says_why_it_waits() {
    let sim = sim_with("web").await;
    seed(&sim, "web", 1);
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "web",
        "--launch-template",
        "app",
        "--launch-template-version",
        "$Latest",
        "--on-conflict",
        "adopt",
    ];
    let (out, reports) = run_json(&home, &sim, &args, 0).await;
    assert_eq!(reports[0]["adopted"], false);
    assert_stderr_has(&out, "cannot adopt a running refresh");
    assert_stderr_has(&out, "$Latest");
    assert_eq!(sim.refreshes("web").unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_preferences_and_desired_configuration_reach_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let prefs = r#"{"MinHealthyPercentage": 90, "MaxHealthyPercentage": 110, "InstanceWarmup": 30,
        "CheckpointPercentages": [50, 100], "CheckpointDelay": 60, "SkipMatching": true,
        "AutoRollback": true, "ScaleInProtectedInstances": "Wait", "StandbyInstances": "Terminate",
        "AlarmSpecification": {"Alarms": ["web-5xx"]}, "BakeTime": 120}"#;
    let desired =
        r#"{"LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "4"}}"#;
    let prefs_file = dir.path().join("prefs.json");
    let desired_file = dir.path().join("desired.json");
    std::fs::write(&prefs_file, prefs).unwrap();
    std::fs::write(&desired_file, desired).unwrap();
    let prefs_from_file = format!("file://{}", prefs_file.display());
    let desired_from_file = format!("file://{}", desired_file.display());
    let home = Home::new();
    for (prefs, desired) in [
        (prefs, desired_from_file.as_str()),
        (prefs_from_file.as_str(), desired),
    ] {
        let sim = sim_with("web").await;
        let args = [
            "start",
            "--group",
            "web",
            "--preferences",
            prefs,
            "--desired-configuration",
            desired,
            "--strategy",
            "Rolling",
            // A flag overrides the JSON's field.
            "--bake-time",
            "3m",
        ];
        let out = run(asg_refresh(&home, Some(&sim)), &args).await;
        assert_code(&out, 0);
        let calls = sim.calls();
        let params = &calls
            .iter()
            .find(|c| c.is("StartInstanceRefresh"))
            .unwrap()
            .params;
        for (key, value) in [
            ("Strategy", "Rolling"),
            ("Preferences.MinHealthyPercentage", "90"),
            ("Preferences.MaxHealthyPercentage", "110"),
            ("Preferences.InstanceWarmup", "30"),
            ("Preferences.CheckpointPercentages.member.1", "50"),
            ("Preferences.CheckpointPercentages.member.2", "100"),
            ("Preferences.CheckpointDelay", "60"),
            ("Preferences.SkipMatching", "true"),
            ("Preferences.AutoRollback", "true"),
            ("Preferences.ScaleInProtectedInstances", "Wait"),
            ("Preferences.StandbyInstances", "Terminate"),
            ("Preferences.AlarmSpecification.Alarms.member.1", "web-5xx"),
            ("Preferences.BakeTime", "180"),
            (
                "DesiredConfiguration.LaunchTemplate.LaunchTemplateId",
                "lt-0123456789abcdef0",
            ),
            ("DesiredConfiguration.LaunchTemplate.Version", "4"),
        ] {
            assert_eq!(
                params.get(key).map(String::as_str),
                Some(value),
                "{key}: {params:?}"
            );
        }
    }

    // An unknown field, named; no call made.
    let sim = sim_with("web").await;
    let out = run(
        asg_refresh(&home, Some(&sim)),
        &[
            "start",
            "--group",
            "web",
            "--preferences",
            r#"{"MinHealthyPercentage": 90, "MaxBatchSize": 2}"#,
        ],
    )
    .await;
    assert_usage_error(&out, "MaxBatchSize", "unknown field");
    assert_stderr_has(&out, "--preferences");
    assert!(sim.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_wait_ends_rollback_successful_and_a_refusal_exits_4() {
    let sim = sim_with("web").await;
    let config = quick()
        .refresh_duration(Duration::from_secs(3600))
        .rollback_duration(Duration::from_secs(1));
    let deploy = sim
        .start_refresh_with_launch_template("web", config, "app", "7")
        .unwrap();
    let home = Home::new();
    let (_, reports) = run_json(&home, &sim, &["rollback", "--group", "web", "--wait"], 0).await;
    let r = &reports[0];
    assert_eq!(r["refresh_id"], deploy.as_str(), "{r}");
    assert_eq!(r["final_status"], "RollbackSuccessful", "{r}");
    assert!(
        sim.calls()
            .iter()
            .any(|c| c.is("RollbackInstanceRefresh") && c.applied)
    );

    // No desired configuration: Auto Scaling refuses, with its code and request id.
    seed(&sim, "web", 3600);
    let (out, reports) = run_json(&home, &sim, &["rollback", "--group", "web"], 4).await;
    let r = &reports[0];
    assert_eq!(r["error"]["code"], "IrreversibleInstanceRefresh", "{r}");
    let request_id = sim
        .calls()
        .into_iter()
        .rfind(|c| c.is("RollbackInstanceRefresh"))
        .and_then(|c| c.request_id)
        .unwrap();
    assert_eq!(r["error"]["request_id"], request_id.as_str(), "{r}");
    assert_stderr_has(&out, "IrreversibleInstanceRefresh");

    // Nothing to roll back.
    let sim = sim_with("idle").await;
    let (_, reports) = run_json(&home, &sim, &["rollback", "--group", "idle"], 4).await;
    assert_eq!(reports[0]["error"]["code"], "ActiveInstanceRefreshNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_through_a_pipe_have_no_escape_codes() {
    let sim = sim_with("web").await;
    seed(&sim, "web", 1);
    let home = Home::new();
    let out = run_fast(&home, &sim, &["-v", "start", "--group", "web", "--wait"]).await;
    assert_code(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("INFO"), "-v logs: {err}");
    assert!(!err.contains('\x1b'), "an escape on stderr: {err:?}");
    assert!(!stdout(&out).contains('\x1b'));
    // One line per event: no progress bar redraws either.
    assert!(!err.contains('\r'), "{err:?}");

    // The same with --color always has colour: the check above can fail.
    let out = run_fast(
        &home,
        &sim,
        &[
            "-v", "--color", "always", "start", "--group", "web", "--wait",
        ],
    )
    .await;
    assert_code(&out, 0);
    assert!(stderr(&out).contains('\x1b'), "{:?}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asg_refresh_sim_serves_start_until_a_signal() {
    let home = Home::new();
    let mut server = spawn(
        &home,
        None,
        &[
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--group",
            "web",
            "--group",
            "api",
        ],
    );
    let stdout_pipe = server.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout_pipe), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = ready
        .trim()
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("not READY: {ready:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let mut cmd = asg_refresh(&home, None);
    cmd.args(["--endpoint-url", &url]);
    let out = run(cmd, &["start", "--group", "web", "--output", "json"]).await;
    assert_code(&out, 0);
    let id = json(&out)[0]["refresh_id"].as_str().unwrap().to_owned();
    let mut cmd = asg_refresh(&home, None);
    cmd.args(["--endpoint-url", &url]);
    let out = run(cmd, &["status", "--group", "web", "--output", "json"]).await;
    assert_code(&out, 0);
    assert_eq!(json(&out)[0]["refresh_id"], id.as_str());

    kill(&server, "TERM");
    let (out, _) = exited(server).await;
    assert_code(&out, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_wait_defaults_to_the_librarys_budget() {
    let home = Home::new();
    let out = run(offline(&home), &["start", "--help"]).await;
    assert_code(&out, 0);
    let help = stdout(&out);
    let budget = instance_refresh_retry::Refresher::default_policy()
        .max_elapsed()
        .unwrap();
    let shown = humantime::format_duration(budget).to_string();
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--max-wait"))
        .find(|l| l.contains("[default:"))
        .unwrap_or_else(|| panic!("{help}"));
    assert!(
        line.contains(&format!("[default: {shown}]")),
        "{line} vs {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tells_the_story_in_under_20_s() {
    let home = Home::new();
    let began = std::time::Instant::now();
    let out = run(asg_refresh(&home, None), &["demo"]).await;
    assert_code(&out, 0);
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
    let text = stdout(&out);
    assert!(text.contains("web: started instance refresh"), "{text}");
    assert!(text.contains("api: adopted instance refresh"), "{text}");
    assert!(text.contains("has 1 refresh"), "{text}");
    assert!(text.contains("ended Successful"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_reach_the_request() {
    let sim = sim_with("web").await;
    let home = Home::new();
    let args = [
        "start",
        "--group",
        "web",
        "--min-healthy-percentage",
        "80",
        "--max-healthy-percentage",
        "120",
        "--instance-warmup",
        "1m 30s",
        "--skip-matching",
        "--checkpoints",
        "50,100",
        "--checkpoint-delay",
        "10m",
        "--bake-time",
        "5m",
    ];
    let out = run(asg_refresh(&home, Some(&sim)), &args).await;
    assert_code(&out, 0);
    let calls = sim.calls();
    let params = &calls
        .iter()
        .find(|c| c.is("StartInstanceRefresh"))
        .unwrap()
        .params;
    for (key, value) in [
        ("Preferences.MinHealthyPercentage", "80"),
        ("Preferences.MaxHealthyPercentage", "120"),
        ("Preferences.InstanceWarmup", "90"),
        ("Preferences.SkipMatching", "true"),
        ("Preferences.CheckpointPercentages.member.1", "50"),
        ("Preferences.CheckpointPercentages.member.2", "100"),
        ("Preferences.CheckpointDelay", "600"),
        ("Preferences.BakeTime", "300"),
    ] {
        assert_eq!(
            params.get(key).map(String::as_str),
            Some(value),
            "{key}: {params:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_status_aware_retries_on_the_plain_schedule() {
    let sim = sim_with("web").await;
    seed(&sim, "web", 1);
    let home = Home::new();
    let args = ["start", "--group", "web", "--no-status-aware"];
    let (_, reports) = run_json(&home, &sim, &args, 0).await;
    let r = &reports[0];
    assert_eq!(r["describe_calls"], 0, "{r}");
    assert!(r["attempts"].as_u64().unwrap() >= 2, "{r}");
    assert!(
        !sim.calls()
            .iter()
            .any(|c| c.is("DescribeInstanceRefreshes"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn giving_up_exits_3() {
    let sim = sim_with("web").await;
    let blocker = seed(&sim, "web", 3600);
    let home = Home::new();
    let args = ["start", "--group", "web", "--max-wait", "1s"];
    let (_, reports) = run_json(&home, &sim, &args, 3).await;
    let r = &reports[0];
    assert!(
        ["gave_up", "wont_end_in_time"].contains(&r["error"]["kind"].as_str().unwrap()),
        "{r}"
    );

    let args = [
        "wait",
        "--group",
        "web",
        "--id",
        &blocker,
        "--max-wait",
        "1s",
    ];
    let out = run_fast(&home, &sim, &args).await;
    assert_code(&out, 3);
    assert!(
        stderr(&out).contains("max_wait") || stderr(&out).contains("did not finish"),
        "{}",
        stderr(&out)
    );
}

/// Flags defined once and shared by several subcommands (the global options, the groups and the
/// waiting options): one row covers them everywhere.
const SHARED_FLAGS: &[&str] = &[
    "--profile",
    "--region",
    "--endpoint-url",
    "--output",
    "--verbose",
    "--color",
    "--group",
    "--concurrency",
    "--initial-delay",
    "--max-delay",
    "--max-wait",
];

/// A bad value for every flag: (the flag, the command line). Each must exit 2 naming the flag.
const BAD_VALUES: &[(&str, &[&str])] = &[
    ("--profile", &["status", "--group", "web", "--profile", ""]),
    ("--region", &["status", "--group", "web", "--region", ""]),
    (
        "--region",
        &["status", "--group", "web", "--region", "eu west 1"],
    ),
    (
        "--endpoint-url",
        &["status", "--group", "web", "--endpoint-url", "not a url"],
    ),
    (
        "--endpoint-url",
        &["status", "--group", "web", "--endpoint-url", "ftp://x"],
    ),
    ("--output", &["status", "--group", "web", "--output", "xml"]),
    ("--verbose", &["status", "--group", "web", "--verbose=3"]),
    (
        "--color",
        &["status", "--group", "web", "--color", "sometimes"],
    ),
    ("--group", &["status", "--group", ""]),
    ("--group", &["start", "--group", LONG_NAME]),
    (
        "--concurrency",
        &["status", "--group", "web", "--concurrency", "0"],
    ),
    (
        "--concurrency",
        &["status", "--group", "web", "--concurrency", "many"],
    ),
    (
        "--initial-delay",
        &["start", "--group", "web", "--initial-delay", "soon"],
    ),
    (
        "--initial-delay",
        &["start", "--group", "web", "--initial-delay", "0s"],
    ),
    (
        "--max-delay",
        &["wait", "--group", "web", "--max-delay", "5 fortnights"],
    ),
    (
        "--max-delay",
        &[
            "start",
            "--group",
            "web",
            "--initial-delay",
            "10s",
            "--max-delay",
            "1s",
        ],
    ),
    (
        "--max-wait",
        &["cancel", "--group", "web", "--max-wait", "0s"],
    ),
    (
        "--max-wait",
        &["start", "--group", "web", "--max-wait", "forever"],
    ),
    (
        "--on-conflict",
        &["start", "--group", "web", "--on-conflict", "maybe"],
    ),
    (
        "--no-status-aware",
        &["start", "--group", "web", "--no-status-aware=yes"],
    ),
    ("--wait", &["start", "--group", "web", "--wait=yes"]),
    (
        "--min-healthy-percentage",
        &["start", "--group", "web", "--min-healthy-percentage", "101"],
    ),
    (
        "--min-healthy-percentage",
        &[
            "start",
            "--group",
            "web",
            "--min-healthy-percentage",
            "most",
        ],
    ),
    (
        "--max-healthy-percentage",
        &["start", "--group", "web", "--max-healthy-percentage", "99"],
    ),
    (
        "--max-healthy-percentage",
        &["start", "--group", "web", "--max-healthy-percentage", "201"],
    ),
    (
        "--instance-warmup",
        &["start", "--group", "web", "--instance-warmup", "warm"],
    ),
    (
        "--instance-warmup",
        &["start", "--group", "web", "--instance-warmup", "100000000h"],
    ),
    (
        "--skip-matching",
        &["start", "--group", "web", "--skip-matching=no"],
    ),
    (
        "--checkpoints",
        &["start", "--group", "web", "--checkpoints", "0,50"],
    ),
    (
        "--checkpoints",
        &["start", "--group", "web", "--checkpoints", "50,x"],
    ),
    (
        "--checkpoint-delay",
        &[
            "start",
            "--group",
            "web",
            "--checkpoints",
            "50",
            "--checkpoint-delay",
            "3d",
        ],
    ),
    (
        "--checkpoint-delay",
        &[
            "start",
            "--group",
            "web",
            "--checkpoints",
            "50",
            "--checkpoint-delay",
            "later",
        ],
    ),
    (
        "--bake-time",
        &["start", "--group", "web", "--bake-time", "49h"],
    ),
    (
        "--bake-time",
        &["start", "--group", "web", "--bake-time", "a while"],
    ),
    (
        "--auto-rollback",
        &["start", "--group", "web", "--auto-rollback=1"],
    ),
    // AWS rolls back only to a desired configuration.
    (
        "--auto-rollback",
        &["start", "--group", "web", "--auto-rollback"],
    ),
    (
        "--bake-time",
        &["start", "--group", "web", "--bake-time", "500ms"],
    ),
    (
        "--instance-warmup",
        &["start", "--group", "web", "--instance-warmup", "1.5s"],
    ),
    (
        "--on-interrupt",
        &["start", "--group", "web", "--on-interrupt", "ignore"],
    ),
    (
        "--preferences",
        &["start", "--group", "web", "--preferences", r#"{"Nope": 1}"#],
    ),
    (
        "--preferences",
        &[
            "start",
            "--group",
            "web",
            "--preferences",
            "file:///nonexistent.json",
        ],
    ),
    (
        "--desired-configuration",
        &["start", "--group", "web", "--desired-configuration", "[]"],
    ),
    (
        "--strategy",
        &["start", "--group", "web", "--strategy", "Sideways"],
    ),
    (
        "--launch-template",
        &["start", "--group", "web", "--launch-template", "ab"],
    ),
    (
        "--launch-template-version",
        &[
            "start",
            "--group",
            "web",
            "--launch-template",
            "web",
            "--launch-template-version",
            "latest",
        ],
    ),
    (
        "--launch-template-version",
        &["start", "--group", "web", "--launch-template-version", "3"],
    ),
    ("--wait", &["rollback", "--group", "web", "--wait=1"]),
    (
        "--listen",
        &["sim", "--group", "web", "--listen", "nowhere"],
    ),
    (
        "--refresh-duration",
        &["sim", "--group", "web", "--refresh-duration", "soon"],
    ),
    ("--id", &["wait", "--group", "web", "--id", ""]),
    ("--wait", &["cancel", "--group", "web", "--wait=1"]),
];

/// 256 characters: one more than a group name may have.
const LONG_NAME: &str = concat!(
    "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
    "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
    "gggggggggggggggggggggggggggggggggggggggggggggggg",
    "gggggggggggggggg"
);

/// A bad value in an option's environment variable: (variable, value, the flag it stands for).
const BAD_ENV: &[(&str, &str, &str)] = &[
    ("ASG_REFRESH_OUTPUT", "xml", "--output"),
    ("ASG_REFRESH_ON_CONFLICT", "maybe", "--on-conflict"),
    ("ASG_REFRESH_MAX_WAIT", "forever", "--max-wait"),
    ("ASG_REFRESH_CONCURRENCY", "0", "--concurrency"),
];

/// `asg-refresh` whose requests, should a bad value ever get through, go to a closed local port
/// and never to AWS.
fn offline(home: &Home) -> Command {
    let mut cmd = asg_refresh(home, None);
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    cmd
}

fn assert_usage_error(out: &Output, flag: &str, what: &str) {
    assert_eq!(code(out), 2, "{what}: {}", stderr(out));
    assert_stderr_has(out, flag);
    assert!(stdout(out).is_empty(), "{what}: {}", stdout(out));
}

/// The flags that `asg-refresh [sub] --help` lists (but `--help` and `--version`).
async fn flags_in_help(home: &Home, sub: &str) -> Vec<String> {
    let args: Vec<&str> = [sub, "--help"]
        .into_iter()
        .filter(|a| !a.is_empty())
        .collect();
    let out = run(offline(home), &args).await;
    assert_code(&out, 0);
    stdout(&out)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l
                .strip_prefix("-")
                .filter(|r| r.as_bytes().get(1) == Some(&b','))
                .map_or(l, |r| r[2..].trim_start());
            l.strip_prefix("--").map(|rest| {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                format!("--{name}")
            })
        })
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flag_given_a_bad_value_exits_2_naming_it() {
    let home = Home::new();
    for (flag, args) in BAD_VALUES {
        let out = run(offline(&home), args).await;
        assert_usage_error(&out, flag, &args.join(" "));
    }
    for (var, value, flag) in BAD_ENV {
        let mut cmd = offline(&home);
        cmd.env(var, value);
        let out = run(cmd, &["start", "--group", "web"]).await;
        assert_usage_error(&out, flag, &format!("{var}={value}"));
    }

    // The table covers every flag that `--help` lists, so a new flag needs a row.
    let has_row = |sub: &str, flag: &str| {
        BAD_VALUES.iter().any(|(f, args)| {
            *f == flag && (SHARED_FLAGS.contains(&flag) || args.first() == Some(&sub))
        })
    };
    let mut listed = 0;
    for sub in [
        "", "start", "status", "wait", "cancel", "rollback", "demo", "sim",
    ] {
        for flag in flags_in_help(&home, sub).await {
            listed += 1;
            assert!(
                has_row(sub, &flag),
                "no bad value for `asg-refresh {sub} {flag}`"
            );
        }
    }
    assert!(
        listed >= 40,
        "{listed} flags listed: the help format changed?"
    );
}
