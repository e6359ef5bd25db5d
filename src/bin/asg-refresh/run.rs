//! The subcommands: a thin shell over the [`Refresher`]. It makes no SDK call of its own.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::operation::RequestId;
use aws_sdk_autoscaling::operation::cancel_instance_refresh::CancelInstanceRefreshError;
use aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesError;
use aws_sdk_autoscaling::operation::rollback_instance_refresh::RollbackInstanceRefreshError;
use aws_sdk_autoscaling::types::InstanceRefreshStatus;
use instance_refresh_retry::{
    Adoption, CurrentRefresh, Jitter, OnConflict, RefreshError, RefreshErrorKind, Refresher,
    RetryPolicy, RetryStats, StartInstanceRefreshSdkError,
};
use tokio::sync::Semaphore;
use tower::limit::ConcurrencyLimit;
use tower::{Service, ServiceExt};

use crate::args::{
    CancelArgs, Command, ConflictArg, Groups, OnInterruptArg, RollbackArgs, StartArgs, StatusArgs,
    WaitArgs, Waiting,
};
use crate::input::StartRequest;
use crate::output::{ErrorReport, GroupProgress, GroupReport, Reporter, exit};
use crate::signals::{Interrupt, Signal};

/// A usage error found after parsing: the message names the flag.
#[derive(Debug)]
pub struct Usage(pub String);

/// What a command needs beyond its arguments, checked before any call: the retry policy and
/// `start`'s request.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    policy: Option<RetryPolicy>,
    request: Option<StartRequest>,
}

/// Checks the arguments that clap cannot (exit 2 before anything else).
pub fn prepare(command: &Command) -> Result<Prepared, Usage> {
    let waiting = match command {
        Command::Start(a) => Some(&a.waiting),
        Command::Wait(a) => Some(&a.waiting),
        Command::Cancel(a) => Some(&a.waiting),
        Command::Rollback(a) => Some(&a.waiting),
        Command::Status(_) | Command::Demo(_) | Command::Sim(_) => None,
    };
    let request = match command {
        Command::Start(args) => Some(StartRequest::from_args(args)?),
        _ => None,
    };
    Ok(Prepared {
        policy: waiting.map(policy).transpose()?,
        request,
    })
}

/// Runs a subcommand (all but `demo` and `sim`) and returns the exit code: the worst of the
/// groups'.
pub async fn execute(
    command: &Command,
    prepared: Prepared,
    client: &Client,
    reporter: &Arc<Reporter>,
    interrupt: &Interrupt,
) -> i32 {
    let policy = prepared.policy.unwrap_or_else(Refresher::default_policy);
    let plain = Refresher::new(client.clone(), policy.clone());
    let run = GroupRunner {
        reporter,
        interrupt,
        plain: &plain,
    };
    let reports = match command {
        Command::Start(args) => {
            let args = Arc::new(args.clone());
            let request = Arc::new(prepared.request.unwrap_or_default());
            let cancel = args.on_interrupt == OnInterruptArg::Cancel;
            run.each(&args.groups, "start", cancel, |group, progress| {
                start(
                    refresher(client.clone(), policy.clone(), &progress),
                    Arc::clone(&args),
                    Arc::clone(&request),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Status(StatusArgs { groups }) => {
            run.each(groups, "status", false, |group, _| {
                status(plain.clone(), group)
            })
            .await
        }
        Command::Wait(args) => {
            let args = Arc::new(args.clone());
            run.each(&args.groups, "wait", false, |group, progress| {
                wait(
                    refresher(client.clone(), policy.clone(), &progress),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Cancel(args) => {
            let args = Arc::new(args.clone());
            run.each(&args.groups, "cancel", false, |group, progress| {
                cancel(
                    refresher(client.clone(), policy.clone(), &progress),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Rollback(args) => {
            let args = Arc::new(args.clone());
            run.each(&args.groups, "rollback", false, |group, progress| {
                rollback(
                    refresher(client.clone(), policy.clone(), &progress),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Demo(_) | Command::Sim(_) => unreachable!("demo and sim run on their own"),
    };
    reporter.summary(&reports);
    reports
        .iter()
        .map(|r| r.exit_code)
        .max()
        .unwrap_or(exit::OK)
}

/// The retry policy of `--initial-delay`, `--max-delay` and `--max-wait`.
pub fn policy(w: &Waiting) -> Result<RetryPolicy, Usage> {
    if w.initial_delay < Duration::from_millis(1) {
        return Err(Usage("--initial-delay must be at least 1ms".into()));
    }
    if w.max_delay < w.initial_delay {
        return Err(Usage(format!(
            "--max-delay ({}) must be at least --initial-delay ({})",
            humantime::format_duration(w.max_delay),
            humantime::format_duration(w.initial_delay)
        )));
    }
    if w.max_wait.is_zero() {
        return Err(Usage("--max-wait must be greater than zero".into()));
    }
    RetryPolicy::builder()
        .initial_delay(w.initial_delay)
        .max_delay(w.max_delay)
        .jitter(Jitter::Equal)
        .max_elapsed(w.max_wait)
        .build()
        .map_err(|e| Usage(format!("--initial-delay/--max-delay/--max-wait: {e}")))
}

/// Runs jobs for groups, and stops them on the interrupt.
struct GroupRunner<'a> {
    reporter: &'a Arc<Reporter>,
    interrupt: &'a Interrupt,
    /// A refresher without progress: `--on-interrupt cancel`'s.
    plain: &'a Refresher,
}

impl GroupRunner<'_> {
    /// Runs `job` for each group, at most `--concurrency` at once (tower's `ConcurrencyLimit`,
    /// one semaphore shared by all groups), in the order given, printing each result as it
    /// comes. On the interrupt, each job stops where it is and reports what it has
    /// ([`interrupted`]); jobs not started yet report at once.
    async fn each<F, Fut>(
        &self,
        groups: &Groups,
        command: &'static str,
        cancel_on_interrupt: bool,
        job: F,
    ) -> Vec<GroupReport>
    where
        F: Fn(String, GroupProgress) -> Fut,
        Fut: Future<Output = GroupReport> + Send + 'static,
    {
        let semaphore = Arc::new(Semaphore::new(groups.concurrency as usize));
        let progress: Vec<GroupProgress> = groups
            .groups
            .iter()
            .map(|g| self.reporter.group(g, command))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (group, progress)) in groups.groups.iter().zip(progress).enumerate() {
            let cancel = cancel_on_interrupt.then(|| self.plain.clone());
            let fut = guarded(
                job(group.clone(), progress.clone()),
                self.interrupt.clone(),
                progress.clone(),
                cancel,
            );
            let service = tower::service_fn(move |fut| {
                let progress = progress.clone();
                async move {
                    let report = fut.await;
                    progress.finish();
                    Ok::<_, Infallible>(report)
                }
            });
            let mut limited = ConcurrencyLimit::with_semaphore(service, Arc::clone(&semaphore));
            // Wait for a slot here, so that groups start in the order given.
            let Ok(ready) = limited.ready().await;
            let call = ready.call(fut);
            let reporter = Arc::clone(self.reporter);
            tasks.spawn(async move {
                let Ok(report) = call.await;
                reporter.result(&report);
                (index, report)
            });
        }
        let mut reports = Vec::with_capacity(groups.groups.len());
        while let Some(done) = tasks.join_next().await {
            reports.push(done.expect("a group's task does not panic"));
        }
        reports.sort_by_key(|(index, _)| *index);
        reports.into_iter().map(|(_, report)| report).collect()
    }
}

/// Runs `job` until the interrupt: then drops it where it is (no API call after that) and
/// reports what the group had.
async fn guarded(
    job: impl Future<Output = GroupReport>,
    mut interrupt: Interrupt,
    progress: GroupProgress,
    cancel: Option<Refresher>,
) -> GroupReport {
    tokio::select! {
        biased;
        signal = interrupt.fired() => interrupted(signal, progress.snapshot(), cancel).await,
        report = job => report,
    }
}

/// How long `--on-interrupt cancel` waits for `CancelInstanceRefresh`: well inside GitLab's
/// 10 s and GitHub Actions' 7.5 s before the next signal.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// The report of a group that `signal` interrupted. Under `--on-interrupt cancel` (`cancel`), a
/// refresh that this `start` started or adopted, and that has not ended, is cancelled at once
/// (`WaitForTransitioningInstances=false`).
async fn interrupted(
    signal: Signal,
    mut report: GroupReport,
    cancel: Option<Refresher>,
) -> GroupReport {
    let sig = signal.name();
    let group = report.group.clone();
    report.interrupted = true;
    report.signal = Some(sig);
    report.exit_code = signal.exit_code();
    let mut error = ErrorReport {
        kind: "interrupted",
        ..ErrorReport::default()
    };
    let running = report.final_status.is_none();
    error.message = match (report.command, report.refresh_id.clone()) {
        ("start", Some(id)) if running => match cancel {
            Some(refresher) => {
                match tokio::time::timeout(CANCEL_TIMEOUT, refresher.cancel(&group, false)).await {
                    Ok(Ok(_)) => {
                        report.on_interrupt = Some("cancelled");
                        format!(
                            "interrupted by {sig}: cancelled instance refresh {id} (at once, without waiting for instances in flight); instances it replaced stay replaced"
                        )
                    }
                    Ok(Err(err)) => {
                        report.on_interrupt = Some("cancel_failed");
                        let mut details = ErrorReport::default();
                        if let Some(sdk) =
                            err.sdk_error::<SdkError<CancelInstanceRefreshError, HttpResponse>>()
                        {
                            sdk_details(&mut details, sdk, true);
                        }
                        error.code = details.code;
                        error.request_id = details.request_id;
                        format!(
                            "interrupted by {sig}: could not cancel instance refresh {id}, which keeps running: {}",
                            if details.message.is_empty() {
                                err.to_string()
                            } else {
                                details.message
                            }
                        )
                    }
                    Err(_) => {
                        report.on_interrupt = Some("cancel_failed");
                        format!(
                            "interrupted by {sig}: CancelInstanceRefresh did not answer within {} s; instance refresh {id} may keep running",
                            CANCEL_TIMEOUT.as_secs()
                        )
                    }
                }
            }
            None => {
                report.on_interrupt = Some("left_running");
                format!(
                    "interrupted by {sig}: instance refresh {id} keeps running in Auto Scaling; `asg-refresh wait --group {group} --id {id}` follows it, `asg-refresh cancel --group {group}` stops it, and a re-run with --on-conflict adopt takes it over"
                )
            }
        },
        ("start", _) => format!(
            "interrupted by {sig} before an instance refresh of this run started (if a StartInstanceRefresh was in flight, `asg-refresh status --group {group}` shows whether it did)"
        ),
        (_, Some(id)) if running => format!(
            "interrupted by {sig}: stopped following instance refresh {id}, which goes on in Auto Scaling"
        ),
        _ => format!("interrupted by {sig}"),
    };
    report.error = Some(error);
    report
}

fn refresher(client: Client, policy: RetryPolicy, progress: &GroupProgress) -> Refresher {
    let progress = progress.clone();
    Refresher::new(client, policy).on_progress(move |p| progress.progress(p))
}

async fn start(
    refresher: Refresher,
    args: Arc<StartArgs>,
    request: Arc<StartRequest>,
    group: String,
    progress: GroupProgress,
) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "start",
        ..GroupReport::default()
    };
    let on_conflict = match args.on_conflict {
        ConflictArg::Wait => OnConflict::Wait,
        ConflictArg::Cancel => OnConflict::CancelAndReplace,
        ConflictArg::Fail => OnConflict::Fail,
        ConflictArg::Adopt => OnConflict::Adopt,
    };
    let refresher = refresher
        .on_conflict(on_conflict)
        .status_aware(!args.no_status_aware);
    let input = request.input(&group);
    if on_conflict == OnConflict::Adopt
        && let Err(why) = Refresher::adoptable(&input)
    {
        progress.event(format!(
            "--on-conflict adopt cannot adopt a running refresh: {why}; waiting for it instead (pin the launch template version to adopt)"
        ));
    }
    progress.event("starting an instance refresh");
    let started = match refresher.start(input).await {
        Ok(started) => started,
        Err(err) => {
            fail(&mut report, &err);
            return report;
        }
    };
    report.refresh_id = Some(started.instance_refresh_id().to_owned());
    report.adopted = Some(started.adopted());
    report.adoption = started.adoption().map(|a| match a {
        Adoption::OwnLostAnswer => "own_lost_answer",
        Adoption::MatchingRefresh => "matching_refresh",
        _ => "other",
    });
    report.start_time = started
        .start_time()
        .map(|t| humantime::format_rfc3339_seconds(t).to_string());
    stats(&mut report, started.stats());
    progress.save(&report);
    if args.wait {
        progress.following();
        let how = match started.adoption() {
            None => "started",
            Some(Adoption::MatchingRefresh) => "adopted the running refresh of this request",
            Some(_) => "adopted",
        };
        progress.event(format!(
            "{how} {}, following it to the end",
            started.instance_refresh_id()
        ));
        follow(
            &refresher,
            &mut report,
            started.instance_refresh_id(),
            args.waiting.max_wait,
            InstanceRefreshStatus::Successful,
            &progress,
        )
        .await;
    }
    report
}

/// Waits for `id` to end and records how it ended; `expected` is the status of exit 0.
async fn follow(
    refresher: &Refresher,
    report: &mut GroupReport,
    id: &str,
    max_wait: Duration,
    expected: InstanceRefreshStatus,
    progress: &GroupProgress,
) {
    match refresher
        .wait_for_completion(&report.group, id, max_wait)
        .await
    {
        Ok(done) => {
            let status = done.status().as_str().to_owned();
            report.describe_calls += done.stats().describe_calls;
            report.waited_seconds += done.stats().waited.as_secs_f64();
            report.percentage = done.refresh().percentage_complete();
            report.status_reason = done.status_reason().map(str::to_owned);
            report.status = Some(status.clone());
            report.final_status = Some(status);
            report.exit_code = if *done.status() == expected {
                exit::OK
            } else {
                exit::NOT_SUCCESSFUL
            };
        }
        Err(err) => {
            let attempts = report.attempts;
            let before = (report.describe_calls, report.waited_seconds);
            fail(report, &err);
            report.attempts = attempts;
            report.describe_calls += before.0;
            report.waited_seconds += before.1;
        }
    }
    progress.save(report);
}

async fn status(refresher: Refresher, group: String) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "status",
        // `Refresher::status` is one `DescribeInstanceRefreshes`, answered or not.
        describe_calls: 1,
        ..GroupReport::default()
    };
    match refresher.status(&group).await {
        Ok(Some(current)) => describe_into(&mut report, &current),
        Ok(None) => {}
        Err(err) => fail(&mut report, &err),
    }
    report
}

async fn wait(
    refresher: Refresher,
    args: Arc<WaitArgs>,
    group: String,
    progress: GroupProgress,
) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "wait",
        ..GroupReport::default()
    };
    let id = match &args.id {
        Some(id) => id.clone(),
        None => match refresher.status(&group).await {
            Ok(Some(current)) => current.instance_refresh_id().to_owned(),
            Ok(None) => {
                report.exit_code = exit::AWS;
                report.error = Some(ErrorReport {
                    kind: "not_found",
                    message: "the group has no instance refresh to wait for".into(),
                    ..ErrorReport::default()
                });
                return report;
            }
            Err(err) => {
                fail(&mut report, &err);
                return report;
            }
        },
    };
    report.refresh_id = Some(id.clone());
    progress.save(&report);
    progress.following();
    progress.event(format!("following {id} to the end"));
    follow(
        &refresher,
        &mut report,
        &id,
        args.waiting.max_wait,
        InstanceRefreshStatus::Successful,
        &progress,
    )
    .await;
    report
}

async fn cancel(
    refresher: Refresher,
    args: Arc<CancelArgs>,
    group: String,
    progress: GroupProgress,
) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "cancel",
        ..GroupReport::default()
    };
    // Auto Scaling's default: Cancelling until the instances in flight are done.
    let id = match refresher.cancel(&group, true).await {
        Ok(id) => id,
        Err(err) => {
            fail(&mut report, &err);
            return report;
        }
    };
    report.refresh_id = Some(id.clone());
    report.status = Some(InstanceRefreshStatus::Cancelling.as_str().to_owned());
    progress.save(&report);
    if args.wait {
        progress.following();
        progress.event(format!("cancelling {id}, waiting until it is Cancelled"));
        follow(
            &refresher,
            &mut report,
            &id,
            args.waiting.max_wait,
            InstanceRefreshStatus::Cancelled,
            &progress,
        )
        .await;
    }
    report
}

async fn rollback(
    refresher: Refresher,
    args: Arc<RollbackArgs>,
    group: String,
    progress: GroupProgress,
) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "rollback",
        ..GroupReport::default()
    };
    let id = match refresher.rollback(&group).await {
        Ok(id) => id,
        Err(err) => {
            fail(&mut report, &err);
            return report;
        }
    };
    report.refresh_id = Some(id.clone());
    report.status = Some(
        InstanceRefreshStatus::RollbackInProgress
            .as_str()
            .to_owned(),
    );
    progress.save(&report);
    if args.wait {
        progress.following();
        progress.event(format!("rolling back {id}, following it to the end"));
        follow(
            &refresher,
            &mut report,
            &id,
            args.waiting.max_wait,
            InstanceRefreshStatus::RollbackSuccessful,
            &progress,
        )
        .await;
    }
    report
}

fn describe_into(report: &mut GroupReport, current: &CurrentRefresh) {
    report.refresh_id = Some(current.instance_refresh_id().to_owned());
    report.status = current.status().map(|s| s.as_str().to_owned());
    report.percentage = current.refresh().percentage_complete();
    report.status_reason = current.status_reason().map(str::to_owned);
}

type HttpResponse = aws_sdk_autoscaling::config::http::HttpResponse;

fn stats(report: &mut GroupReport, stats: RetryStats) {
    report.attempts = stats.attempts;
    report.describe_calls = stats.describe_calls;
    report.waited_seconds = stats.waited.as_secs_f64();
}

/// Records a Refresher failure: its kind decides the exit code.
fn fail(report: &mut GroupReport, err: &RefreshError) {
    stats(report, err.stats());
    let (kind, code) = match err.kind() {
        RefreshErrorKind::GaveUp(_) => ("gave_up", exit::GAVE_UP),
        RefreshErrorKind::WontEndInTime { .. } => ("wont_end_in_time", exit::GAVE_UP),
        RefreshErrorKind::MaxWait { .. } => ("max_wait", exit::GAVE_UP),
        RefreshErrorKind::Conflict { .. } => ("conflict", exit::NOT_SUCCESSFUL),
        RefreshErrorKind::NotFound { .. } => ("not_found", exit::AWS),
        _ => ("aws", exit::AWS),
    };
    match err.kind() {
        RefreshErrorKind::Conflict {
            refresh_id: Some(id),
            status,
        } => {
            report.refresh_id = Some(id.clone());
            report.status = status.as_ref().map(|s| s.as_str().to_owned());
        }
        RefreshErrorKind::MaxWait { refresh_id, status } => {
            report.refresh_id = Some(refresh_id.clone());
            report.status = status.as_ref().map(|s| s.as_str().to_owned());
        }
        RefreshErrorKind::WontEndInTime { refresh_id, .. } => {
            report.refresh_id = Some(refresh_id.clone());
        }
        _ => {}
    }
    let mut error = ErrorReport {
        kind,
        message: err.to_string(),
        ..ErrorReport::default()
    };
    if let Some(sdk) = err.sdk_error::<StartInstanceRefreshSdkError>() {
        sdk_details(&mut error, sdk, code == exit::AWS);
    } else if let Some(sdk) =
        err.sdk_error::<SdkError<DescribeInstanceRefreshesError, HttpResponse>>()
    {
        sdk_details(&mut error, sdk, code == exit::AWS);
    } else if let Some(sdk) = err.sdk_error::<SdkError<CancelInstanceRefreshError, HttpResponse>>()
    {
        sdk_details(&mut error, sdk, code == exit::AWS);
    } else if let Some(sdk) =
        err.sdk_error::<SdkError<RollbackInstanceRefreshError, HttpResponse>>()
    {
        sdk_details(&mut error, sdk, code == exit::AWS);
    }
    report.exit_code = code;
    report.error = Some(error);
}

/// Adds the AWS error code, message and request id.
fn sdk_details<E>(error: &mut ErrorReport, err: &SdkError<E, HttpResponse>, explain: bool)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    error.code = err.code().map(str::to_owned);
    error.request_id = err.request_id().map(str::to_owned);
    if !explain {
        return;
    }
    error.message = match (err.code(), err.message()) {
        (Some(code), message) => format!(
            "Auto Scaling refused the request: {code}{} (request id {})",
            message.map(|m| format!(": {m}")).unwrap_or_default(),
            error.request_id.as_deref().unwrap_or("none")
        ),
        // No answer from Auto Scaling: say why, cause by cause.
        _ => format!("the request failed: {}", causes(err)),
    };
}

/// `err` and its sources, each once, joined with `: `.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
