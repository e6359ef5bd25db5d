//! `docs/iam.md` held to the code. For each way in that the page lists, a run against the
//! simulator that exercises it (a blocked start, so that the waits happen) makes exactly the
//! Auto Scaling actions the page lists for it; and each policy document on the page grants
//! exactly the actions of the ways in that name it, each on the resources the page's table of
//! actions (from AWS's Service Authorization Reference) allows.
//!
//! The page is the table: a new action is a change to the page, and a new way in a row there
//! plus its run here (`LIBRARY_WAYS_IN`; an `asg-refresh` row runs as its own command line, and
//! one that serves until a signal, `sim`, is signalled once it is ready).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{DesiredConfiguration, LaunchTemplateSpecification};
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig, RefreshStatus};
use instance_refresh_retry::{
    Adoption, AutoScalingConfigExt, InstanceRefreshRetryLayer, InstanceRefreshWaiterExt,
    OnConflict, RefreshErrorKind, Refresher, StartInstanceRefreshService,
};
use tower::{ServiceBuilder, ServiceExt};

use crate::support::{TokioTime, e2e_policy, secs, send_start, sim_with_clock};

const IAM_MD: &str = include_str!("../../docs/iam.md");
const GROUP: &str = "web";
/// The launch template and the (pinned) version of the blocking refresh of every run: it can be
/// rolled back, and a request of the same desired configuration adopts it.
const TEMPLATE: &str = "web-template";
const VERSION: &str = "3";

// ---------------------------------------------------------------------------------------------
// The page

/// One row of the ways-in table.
#[derive(Debug)]
struct WayIn {
    actions: BTreeSet<String>,
    /// The policy document that grants exactly `actions`; `None` for a way in with no action.
    policy: Option<String>,
}

/// The rows of the markdown table that follows the HTML comment starting with `marker`: each row
/// as its cells, header and separator left out.
fn table_after(marker: &str) -> Vec<Vec<String>> {
    let mut lines = IAM_MD.lines().skip_while(|l| !l.starts_with(marker));
    assert!(lines.next().is_some(), "docs/iam.md has no `{marker}`");
    let rows: Vec<Vec<String>> = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
            inner.split('|').map(|c| c.trim().to_owned()).collect()
        })
        .collect();
    assert!(rows.len() > 2, "docs/iam.md: no rows after `{marker}`");
    assert!(
        rows[1].iter().all(|c| c.starts_with("---")),
        "{:?}",
        rows[1]
    );
    rows.into_iter().skip(2).collect()
}

/// The contents of the `code spans` in a cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The ways-in table: way in -> its actions and its policy.
fn ways_in() -> BTreeMap<String, WayIn> {
    let mut ways = BTreeMap::new();
    for row in table_after("<!-- iam:ways-in") {
        let [name, actions, policy] = &row[..] else {
            panic!("docs/iam.md: a ways-in row has 3 cells: {row:?}");
        };
        let [name] = &code_spans(name)[..] else {
            panic!("docs/iam.md: a way in is one code span: {name:?}");
        };
        let actions: BTreeSet<String> = match actions.as_str() {
            "none" => BTreeSet::new(),
            listed => code_spans(listed).into_iter().collect(),
        };
        let policy = match policy.as_str() {
            "none" => None,
            link => Some(
                link.strip_prefix('[')
                    .and_then(|l| l.split_once(']'))
                    .map(|(name, _)| name.to_owned())
                    .unwrap_or_else(|| panic!("docs/iam.md: a policy is [name](#name): {link}")),
            ),
        };
        let previous = ways.insert(name.clone(), WayIn { actions, policy });
        assert!(previous.is_none(), "docs/iam.md lists `{name}` twice");
    }
    ways
}

/// The table of actions: action -> whether a statement can name the group (a resource type
/// `autoScalingGroup`), or must name `"*"`.
fn scopable_actions() -> BTreeMap<String, bool> {
    table_after("<!-- iam:actions")
        .into_iter()
        .map(|row| {
            let [action] = &code_spans(&row[0])[..] else {
                panic!("docs/iam.md: an action is one code span: {row:?}");
            };
            let resources = row.get(2).expect("a resource types cell");
            let scopable = match resources.as_str() {
                "none" => false,
                r if code_spans(r)
                    .iter()
                    .any(|t| t.starts_with("autoScalingGroup")) =>
                {
                    true
                }
                r => panic!("docs/iam.md: `{action}` has resource types {r:?}"),
            };
            (action.clone(), scopable)
        })
        .collect()
}

/// The policy documents: the JSON of each ```` ```json policy=NAME ```` block.
fn policies() -> BTreeMap<String, serde_json::Value> {
    let mut policies = BTreeMap::new();
    let mut lines = IAM_MD.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix("```json policy=") else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let json = serde_json::from_str(&body.join("\n"))
            .unwrap_or_else(|e| panic!("docs/iam.md: policy {name} is not JSON: {e}"));
        assert!(
            policies.insert(name.to_owned(), json).is_none(),
            "docs/iam.md: two policies named {name}"
        );
    }
    policies
}

/// A string or an array of strings.
fn strings(value: &serde_json::Value) -> Vec<&str> {
    match value {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a string"))
            .collect(),
        other => panic!("expected a string or an array of strings: {other}"),
    }
}

/// The actions a policy grants (without the `autoscaling:` prefix), each statement checked
/// against the table of actions: an action that takes the group is granted on group ARNs
/// only, one that takes no resource on `"*"` only (an ARN there would match nothing).
fn granted(
    name: &str,
    policy: &serde_json::Value,
    scopable: &BTreeMap<String, bool>,
) -> BTreeSet<String> {
    let statements = policy["Statement"]
        .as_array()
        .unwrap_or_else(|| panic!("policy {name}: no Statement array"));
    let mut actions = BTreeSet::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow", "policy {name}: {statement}");
        let resources = strings(&statement["Resource"]);
        for action in strings(&statement["Action"]) {
            let action = action
                .strip_prefix("autoscaling:")
                .unwrap_or_else(|| panic!("policy {name}: {action} is not an autoscaling action"));
            let Some(&takes_group) = scopable.get(action) else {
                panic!("policy {name}: {action} is not in the table of actions");
            };
            let on_groups = resources
                .iter()
                .all(|r| r.starts_with("arn:aws:autoscaling:") && r.contains(":autoScalingGroup:"));
            if takes_group {
                assert!(
                    on_groups,
                    "policy {name}: {action} should name the groups: {resources:?}"
                );
            } else {
                assert_eq!(
                    resources,
                    ["*"],
                    "policy {name}: {action} takes no resource, so \"*\""
                );
            }
            actions.insert(action.to_owned());
        }
    }
    actions
}

#[test]
fn the_page_is_consistent_with_itself_and_every_way_in_has_a_run() {
    let ways = ways_in();
    let scopable = scopable_actions();
    let policies = policies();
    let mut used = BTreeSet::new();
    for (name, way) in &ways {
        for action in &way.actions {
            assert!(
                scopable.contains_key(action),
                "`{name}` calls {action}, which the table of actions lacks"
            );
        }
        match &way.policy {
            None => assert!(
                way.actions.is_empty(),
                "`{name}` calls actions but has no policy"
            ),
            Some(policy) => {
                let document = policies
                    .get(policy)
                    .unwrap_or_else(|| panic!("`{name}` names policy {policy}, which is missing"));
                assert_eq!(
                    granted(policy, document, &scopable),
                    way.actions,
                    "policy {policy} should grant exactly what `{name}` calls"
                );
                used.insert(policy.clone());
            }
        }
        let runs =
            LIBRARY_WAYS_IN.iter().any(|(n, _)| n == name) || name.starts_with("asg-refresh ");
        assert!(
            runs,
            "`{name}` has no run in tests/all/iam.rs (LIBRARY_WAYS_IN)"
        );
    }
    for (name, _) in LIBRARY_WAYS_IN {
        assert!(
            ways.contains_key(*name),
            "docs/iam.md has no row for `{name}`"
        );
    }
    let unused: Vec<_> = policies.keys().filter(|p| !used.contains(*p)).collect();
    assert!(unused.is_empty(), "policies no way in names: {unused:?}");
}

/// The operations in the simulator's request log.
fn actions_called(sim: &AutoScalingSim) -> BTreeSet<String> {
    sim.calls()
        .iter()
        .map(|c| c.operation.clone().unwrap_or_else(|| "(no action)".into()))
        .collect()
}

/// What the runs called that the page does not say, as one message per disagreeing way in.
fn disagreements(
    ways: &BTreeMap<String, WayIn>,
    observed: &[(String, BTreeSet<String>)],
) -> Vec<String> {
    observed
        .iter()
        .filter(|(name, called)| ways[name].actions != *called)
        .map(|(name, called)| {
            format!(
                "`{name}`: docs/iam.md says {:?}, the run called {called:?}",
                ways[name].actions
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The library's ways in, on paused time

/// A simulator whose group `web` is busy for another 10 min (a refresh of [`TEMPLATE`] at the
/// pinned [`VERSION`], so that it can be rolled back and adopted too), and its clock.
struct Lab {
    sim: AutoScalingSim,
    clock: TokioTime,
    blocker: String,
}

impl Lab {
    async fn new() -> Lab {
        let (sim, clock) = sim_with_clock(20).await;
        let config = GroupConfig::default()
            .pending_duration(secs(5))
            .refresh_duration(secs(300))
            .bake_duration(Duration::ZERO)
            .cancel_duration(secs(5));
        sim.create_group(GROUP, config.clone());
        let blocker = sim
            .start_refresh_with_launch_template(
                GROUP,
                config
                    .pending_duration(Duration::ZERO)
                    .refresh_duration(secs(600)),
                TEMPLATE,
                VERSION,
            )
            .unwrap();
        Lab {
            sim,
            clock,
            blocker,
        }
    }

    fn refresher(&self, on_conflict: OnConflict) -> Refresher {
        Refresher::new(self.sim.client(), e2e_policy())
            .time_source(self.clock)
            .on_conflict(on_conflict)
    }

    /// The status of the group's refresh `id` now.
    fn status(&self, id: &str) -> RefreshStatus {
        let refreshes = self.sim.refreshes(GROUP).unwrap();
        refreshes
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no refresh {id}"))
            .status
    }
}

fn input() -> StartInstanceRefreshInput {
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(GROUP)
        .build()
        .unwrap()
}

/// The request of the blocking refresh: [`TEMPLATE`] at [`VERSION`].
fn blockers_request() -> StartInstanceRefreshInput {
    let template = LaunchTemplateSpecification::builder()
        .launch_template_name(TEMPLATE)
        .version(VERSION)
        .build();
    StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(GROUP)
        .desired_configuration(
            DesiredConfiguration::builder()
                .launch_template(template)
                .build(),
        )
        .build()
        .unwrap()
}

type Run = for<'a> fn(&'a Lab) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Each library way in of docs/iam.md, and a run that exercises it and checks that it did.
const LIBRARY_WAYS_IN: &[(&str, Run)] = &[
    ("SDK interceptor", |lab| {
        Box::pin(async move {
            let client = aws_sdk_autoscaling::Client::from_conf(
                lab.sim
                    .sdk_config_builder()
                    .time_source(lab.clock)
                    .instance_refresh_retry(e2e_policy())
                    .build(),
            );
            send_start(&client, GROUP)
                .await
                .expect("started after the wait");
        })
    }),
    ("tower layer", |lab| {
        Box::pin(async move {
            let svc = ServiceBuilder::new()
                .layer(InstanceRefreshRetryLayer::new(e2e_policy()))
                .service(StartInstanceRefreshService::new(lab.sim.client()));
            svc.oneshot(input()).await.expect("started after the wait");
        })
    }),
    ("Refresher, OnConflict::Wait", |lab| {
        Box::pin(async move {
            let started = lab.refresher(OnConflict::Wait).start(input()).await;
            assert!(!started.expect("started after the wait").adopted());
        })
    }),
    ("Refresher, OnConflict::CancelAndReplace", |lab| {
        Box::pin(async move {
            let refresher = lab.refresher(OnConflict::CancelAndReplace);
            refresher
                .start(input())
                .await
                .expect("started after cancelling");
            assert_eq!(lab.sim.refreshes(GROUP).unwrap().len(), 2);
        })
    }),
    ("Refresher, OnConflict::Fail", |lab| {
        Box::pin(async move {
            let err = lab
                .refresher(OnConflict::Fail)
                .start(input())
                .await
                .unwrap_err();
            assert!(
                matches!(err.kind(), RefreshErrorKind::Conflict { refresh_id: Some(id), .. } if *id == lab.blocker),
                "{err}"
            );
        })
    }),
    ("Refresher, OnConflict::Adopt", |lab| {
        Box::pin(async move {
            let started = lab
                .refresher(OnConflict::Adopt)
                .start(blockers_request())
                .await
                .expect("adopted");
            assert_eq!(started.adoption(), Some(Adoption::MatchingRefresh));
            assert_eq!(started.instance_refresh_id(), lab.blocker);
            assert_eq!(lab.sim.refreshes(GROUP).unwrap().len(), 1, "none started");
        })
    }),
    ("Refresher::wait_for_completion", |lab| {
        Box::pin(async move {
            let done = lab
                .refresher(OnConflict::Wait)
                .wait_for_completion(GROUP, &lab.blocker, secs(3600))
                .await
                .expect("the refresh ends");
            assert!(done.is_successful(), "{:?}", done.status());
        })
    }),
    ("wait_until_instance_refresh_complete", |lab| {
        Box::pin(async move {
            let done = lab
                .sim
                .client()
                .wait_until_instance_refresh_complete()
                .auto_scaling_group_name(GROUP)
                .instance_refresh_id(&lab.blocker)
                .policy(e2e_policy())
                .wait(secs(3600))
                .await
                .expect("the refresh ends");
            assert!(done.is_successful(), "{:?}", done.status());
        })
    }),
    ("Refresher::status", |lab| {
        Box::pin(async move {
            let current = lab
                .refresher(OnConflict::Wait)
                .status(GROUP)
                .await
                .expect("described")
                .expect("a refresh");
            assert_eq!(current.instance_refresh_id(), lab.blocker);
            assert!(current.is_active());
        })
    }),
    ("Refresher::cancel", |lab| {
        Box::pin(async move {
            let cancelled = lab.refresher(OnConflict::Wait).cancel(GROUP, false).await;
            assert_eq!(cancelled.expect("cancelled"), lab.blocker);
            assert_eq!(lab.status(&lab.blocker), RefreshStatus::Cancelled);
        })
    }),
    ("Refresher::rollback", |lab| {
        Box::pin(async move {
            let rolled_back = lab.refresher(OnConflict::Wait).rollback(GROUP).await;
            assert_eq!(rolled_back.expect("rolling back"), lab.blocker);
            assert_eq!(lab.status(&lab.blocker), RefreshStatus::RollbackInProgress);
        })
    }),
];

#[tokio::test(start_paused = true)]
async fn each_library_way_in_calls_exactly_the_documented_actions() {
    let ways = ways_in();
    let mut observed = Vec::new();
    for (name, run) in LIBRARY_WAYS_IN {
        let lab = Lab::new().await;
        run(&lab).await;
        observed.push((name.to_string(), actions_called(&lab.sim)));
    }
    let wrong = disagreements(&ways, &observed);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// `asg-refresh`: each row is a command line, run as a child process on real time

#[cfg(feature = "cli")]
mod cli {
    use std::io::{BufRead, BufReader};
    use std::path::PathBuf;
    use std::process::{Output, Stdio};
    use std::time::{Duration, Instant};

    use assert_cmd::Command;
    use assert_cmd::cargo::CommandCargoExt;
    use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};

    use super::{GROUP, TEMPLATE, VERSION, actions_called, disagreements, ways_in};

    /// How long a child may run (or, serving until a signal, take to be ready and to stop).
    const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

    /// The subcommands that serve until a signal rather than end by themselves.
    const SERVE_UNTIL_A_SIGNAL: &[&str] = &["sim"];

    /// Empty AWS config and credentials files, for the children's lifetime: nothing is read
    /// from `~/.aws`.
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

        /// `asg-refresh args`, with test credentials and a clean environment.
        fn command(&self, args: &[String]) -> std::process::Command {
            let mut cmd =
                std::process::Command::cargo_bin("asg-refresh").expect("the binary is built");
            cmd.env_clear()
                .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
                .env("AWS_SECRET_ACCESS_KEY", "secret")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", &self.config)
                .env("AWS_SHARED_CREDENTIALS_FILE", &self.credentials)
                .args(args);
            cmd
        }

        /// Runs `asg-refresh args` to its end.
        async fn run(&self, args: Vec<String>) -> Output {
            let mut cmd = Command::from_std(self.command(&args));
            cmd.timeout(CHILD_TIMEOUT);
            tokio::task::spawn_blocking(move || cmd.output().expect("the child runs"))
                .await
                .expect("the child's thread does not panic")
        }

        /// Runs `asg-refresh args`, which serves until a signal: once it prints `READY
        /// http://127.0.0.1:PORT` on stdout, SIGTERM, and its output when it has exited (its
        /// stdout after the `READY` line is not kept).
        async fn serve_until_signalled(&self, args: Vec<String>) -> Result<Output, String> {
            let mut child = self
                .command(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the child starts");
            let stdout = child.stdout.take().expect("piped");
            let first_line = tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            });
            let ready = match tokio::time::timeout(CHILD_TIMEOUT, first_line).await {
                Ok(Ok(Ok(line))) => line,
                _ => String::new(),
            };
            let listening = ready
                .trim()
                .strip_prefix("READY http://127.0.0.1:")
                .is_some();
            if listening {
                let sent = std::process::Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status()
                    .expect("kill runs");
                assert!(sent.success(), "SIGTERM sent");
            } else {
                let _ = child.kill();
            }
            let out = tokio::task::spawn_blocking(move || {
                let began = Instant::now();
                while child.try_wait().expect("try_wait").is_none() {
                    if began.elapsed() > CHILD_TIMEOUT {
                        let _ = child.kill();
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                child.wait_with_output().expect("the output")
            })
            .await
            .expect("the waiting thread does not panic");
            if listening {
                Ok(out)
            } else {
                Err(format!(
                    "`asg-refresh {}` printed {ready:?} instead of `READY http://127.0.0.1:PORT`\n{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        }
    }

    /// A simulator with the group `web`, whose refreshes take 1.2 s and roll back in 1 s.
    async fn lab() -> AutoScalingSim {
        let sim = AutoScalingSim::start().await.unwrap();
        sim.create_group(GROUP, quick());
        sim
    }

    fn quick() -> GroupConfig {
        GroupConfig::default()
            .pending_duration(Duration::from_millis(200))
            .refresh_duration(Duration::from_secs(1))
            .bake_duration(Duration::ZERO)
            .cancel_duration(Duration::from_millis(500))
            .rollback_duration(Duration::from_secs(1))
    }

    /// How long the blocking refresh runs: long enough that a child that starts slowly on a
    /// busy machine still meets it.
    const BLOCKER: Duration = Duration::from_secs(5);

    /// Runs `asg-refresh args` against `sim` right after someone else's refresh began on `web`
    /// (of [`TEMPLATE`] at the pinned [`VERSION`], so that it can be rolled back and adopted
    /// too). A subcommand that serves until a signal is signalled once it is ready.
    async fn run_blocked(
        home: &Home,
        args: Vec<String>,
        sim: &AutoScalingSim,
    ) -> Result<Output, String> {
        let blocker = quick()
            .pending_duration(Duration::ZERO)
            .refresh_duration(BLOCKER);
        sim.start_refresh_with_launch_template(GROUP, blocker, TEMPLATE, VERSION)
            .unwrap();
        if SERVE_UNTIL_A_SIGNAL.contains(&args[0].as_str()) {
            home.serve_until_signalled(args).await
        } else {
            Ok(home.run(args).await)
        }
    }

    /// The row's command line against `sim`: with `--group web`, short waits and a loopback
    /// address to listen on if the subcommand takes them (its `--help` says), and under
    /// `--on-conflict adopt` the running refresh's desired configuration, so that it adopts.
    async fn command_line(home: &Home, row: &str, sim: &AutoScalingSim) -> Vec<String> {
        let mut args: Vec<String> = row.split_whitespace().skip(1).map(str::to_owned).collect();
        let help = home.run(vec![args[0].clone(), "--help".into()]).await;
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        if help.contains("--group") {
            args.extend(["--group".into(), GROUP.into()]);
        }
        if help.contains("--initial-delay") {
            // Short checks, and a budget that fail-fast cannot refuse: the earliest end of a
            // blocker first seen within its first second is extrapolated from a percent or two
            // since a whole-second `StartTime`, which puts it up to a minute away for the 5 s
            // blocker. The children's 60 s timeout bounds each run instead.
            let waits = [
                "--initial-delay",
                "100ms",
                "--max-delay",
                "500ms",
                "--max-wait",
                "10m",
            ];
            args.extend(waits.map(String::from));
        }
        if help.contains("--listen") {
            args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        if row.contains("--on-conflict adopt") {
            let pinned = [
                "--launch-template",
                TEMPLATE,
                "--launch-template-version",
                VERSION,
            ];
            args.extend(pinned.map(String::from));
        }
        // Every subcommand takes it; one that should call nothing would call the simulator.
        args.extend(["--endpoint-url".into(), sim.endpoint_url()]);
        args
    }

    /// What a run must leave behind, beyond its exit code, to have exercised its row: an
    /// adopting start took the running refresh instead of starting another after it (the
    /// same actions).
    fn exercised(row: &str, args: &[String], sim: &AutoScalingSim) -> Result<(), String> {
        let refreshes = sim.refreshes(GROUP).unwrap().len();
        if row.contains("--on-conflict adopt") && refreshes != 1 {
            return Err(format!(
                "`asg-refresh {}` left {refreshes} refreshes on the group: it did not adopt the \
                 running one",
                args.join(" ")
            ));
        }
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_subcommand_calls_exactly_the_documented_actions() {
        let ways = ways_in();
        let rows: Vec<String> = ways
            .keys()
            .filter(|name| name.starts_with("asg-refresh "))
            .cloned()
            .collect();
        assert!(
            !rows.is_empty(),
            "docs/iam.md lists no asg-refresh subcommand"
        );
        // All at once (the demo alone takes ~10 s); every run ends and reports before the test
        // says anything.
        let mut runs = tokio::task::JoinSet::new();
        for row in rows {
            runs.spawn(async move {
                let home = Home::new();
                let sim = lab().await;
                let args = command_line(&home, &row, &sim).await;
                let out = match run_blocked(&home, args.clone(), &sim).await {
                    Ok(out) => out,
                    Err(failure) => return (row, Err(failure)),
                };
                // Exit 0: done; 1: the refresh ended otherwise, or a conflict under
                // `--on-conflict fail`; a subcommand that serves until a signal exits 0 after
                // it. Anything else did not run the way in; nor did a run whose first call may
                // have come after the blocking refresh ended.
                let serves = SERVE_UNTIL_A_SIGNAL.contains(&args[0].as_str());
                let ran = match out.status.code() {
                    Some(0) => true,
                    Some(1) => !serves,
                    _ => false,
                };
                let first_call = sim.calls().first().map(|c| c.at);
                let called = if !ran {
                    Err(format!(
                        "`asg-refresh {}` exited {:?}\n{}{}",
                        args.join(" "),
                        out.status.code(),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ))
                } else if first_call.is_some_and(|at| at >= BLOCKER) {
                    Err(format!(
                        "`asg-refresh {}` made its first call {first_call:?} after the simulator \
                         started, when the blocking refresh may have ended: the machine is too \
                         busy for this run",
                        args.join(" ")
                    ))
                } else {
                    exercised(&row, &args, &sim).map(|()| actions_called(&sim))
                };
                (row, called)
            });
        }
        let mut observed = Vec::new();
        let mut failed = Vec::new();
        while let Some(run) = runs.join_next().await {
            match run.expect("a run does not panic") {
                (row, Ok(called)) => observed.push((row, called)),
                (_, Err(failure)) => failed.push(failure),
            }
        }
        failed.extend(disagreements(&ways, &observed));
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }
}
