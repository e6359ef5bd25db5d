//! The subcommands: a thin shell over the [`Refresher`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::operation::RequestId;
use aws_sdk_autoscaling::operation::cancel_instance_refresh::CancelInstanceRefreshError;
use aws_sdk_autoscaling::operation::describe_instance_refreshes::DescribeInstanceRefreshesError;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{InstanceRefresh, InstanceRefreshStatus, RefreshPreferences};
use instance_refresh_retry::{
    Jitter, OnConflict, RefreshError, RefreshErrorKind, Refresher, RetryPolicy, RetryStats,
    StartInstanceRefreshSdkError,
};
use tokio::sync::Semaphore;
use tower::limit::ConcurrencyLimit;
use tower::{Service, ServiceExt};

use crate::args::{
    CancelArgs, Command, ConflictArg, Groups, StartArgs, StatusArgs, WaitArgs, Waiting, whole_secs,
};
use crate::output::{ErrorReport, GroupProgress, GroupReport, Reporter, exit};

/// A usage error found after parsing: the message names the flag.
#[derive(Debug)]
pub struct Usage(pub String);

/// Runs a subcommand (all but `demo`) and returns the exit code: the worst of the groups'.
pub async fn execute(
    command: &Command,
    client: &Client,
    reporter: &Arc<Reporter>,
) -> Result<i32, Usage> {
    let reports = match command {
        Command::Start(args) => {
            let policy = policy(&args.waiting)?;
            let args = Arc::new(args.clone());
            for_each_group(&args.groups, reporter, |group, progress| {
                start(
                    client.clone(),
                    policy.clone(),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Status(StatusArgs { groups }) => {
            for_each_group(groups, reporter, |group, _| status(client.clone(), group)).await
        }
        Command::Wait(args) => {
            let policy = policy(&args.waiting)?;
            let args = Arc::new(args.clone());
            for_each_group(&args.groups, reporter, |group, progress| {
                wait(
                    client.clone(),
                    policy.clone(),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Cancel(args) => {
            let policy = policy(&args.waiting)?;
            let args = Arc::new(args.clone());
            for_each_group(&args.groups, reporter, |group, progress| {
                cancel(
                    client.clone(),
                    policy.clone(),
                    Arc::clone(&args),
                    group,
                    progress,
                )
            })
            .await
        }
        Command::Demo(_) => unreachable!("demo runs on its own"),
    };
    reporter.summary(&reports);
    Ok(reports
        .iter()
        .map(|r| r.exit_code)
        .max()
        .unwrap_or(exit::OK))
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

/// Runs `job` for each group, at most `--concurrency` at once (tower's `ConcurrencyLimit`, one
/// semaphore shared by all groups), in the order given, printing each result as it comes.
async fn for_each_group<F, Fut>(
    groups: &Groups,
    reporter: &Arc<Reporter>,
    job: F,
) -> Vec<GroupReport>
where
    F: Fn(String, GroupProgress) -> Fut,
    Fut: Future<Output = GroupReport> + Send + 'static,
{
    let semaphore = Arc::new(Semaphore::new(groups.concurrency as usize));
    let progress: Vec<GroupProgress> = groups.groups.iter().map(|g| reporter.group(g)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (group, progress)) in groups.groups.iter().zip(progress).enumerate() {
        let fut = job(group.clone(), progress.clone());
        let service = tower::service_fn(move |fut: Fut| {
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
        let reporter = Arc::clone(reporter);
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

fn refresher(client: Client, policy: RetryPolicy, progress: &GroupProgress) -> Refresher {
    let progress = progress.clone();
    Refresher::new(client, policy).on_progress(move |p| progress.progress(p))
}

fn preferences(args: &StartArgs) -> Option<RefreshPreferences> {
    let set = args.min_healthy_percentage.is_some()
        || args.max_healthy_percentage.is_some()
        || args.instance_warmup.is_some()
        || args.skip_matching
        || args.checkpoints.is_some()
        || args.checkpoint_delay.is_some()
        || args.bake_time.is_some()
        || args.auto_rollback;
    if !set {
        return None;
    }
    let mut p = RefreshPreferences::builder()
        .set_min_healthy_percentage(args.min_healthy_percentage)
        .set_max_healthy_percentage(args.max_healthy_percentage)
        .set_instance_warmup(args.instance_warmup.map(whole_secs))
        .set_checkpoint_percentages(args.checkpoints.clone())
        .set_checkpoint_delay(args.checkpoint_delay.map(whole_secs))
        .set_bake_time(args.bake_time.map(whole_secs));
    if args.skip_matching {
        p = p.skip_matching(true);
    }
    if args.auto_rollback {
        p = p.auto_rollback(true);
    }
    Some(p.build())
}

async fn start(
    client: Client,
    policy: RetryPolicy,
    args: Arc<StartArgs>,
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
    };
    let refresher = refresher(client, policy, &progress)
        .on_conflict(on_conflict)
        .status_aware(!args.no_status_aware);
    let input = match StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(&group)
        .set_preferences(preferences(&args))
        .build()
    {
        Ok(input) => input,
        Err(e) => {
            report.exit_code = exit::USAGE;
            report.error = Some(ErrorReport {
                kind: "usage",
                message: e.to_string(),
                ..ErrorReport::default()
            });
            return report;
        }
    };
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
    stats(&mut report, started.stats());
    if args.wait {
        progress.following();
        let how = if started.adopted() {
            "adopted"
        } else {
            "started"
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
            false,
        )
        .await;
    }
    report
}

/// Waits for `id` to end and records how it ended.
async fn follow(
    refresher: &Refresher,
    report: &mut GroupReport,
    id: &str,
    max_wait: Duration,
    cancelling: bool,
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
            let ok = if cancelling {
                *done.status() == InstanceRefreshStatus::Cancelled
            } else {
                done.is_successful()
            };
            report.exit_code = if ok { exit::OK } else { exit::NOT_SUCCESSFUL };
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
}

async fn status(client: Client, group: String) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "status",
        ..GroupReport::default()
    };
    match active_or_latest(&client, &group).await {
        Ok(Some(refresh)) => describe_into(&mut report, &refresh),
        Ok(None) => {}
        Err(err) => aws_fail(&mut report, &err),
    }
    report
}

async fn wait(
    client: Client,
    policy: RetryPolicy,
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
        None => match active_or_latest(&client, &group).await {
            Ok(Some(refresh)) => refresh.instance_refresh_id().unwrap_or_default().to_owned(),
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
                aws_fail(&mut report, &err);
                return report;
            }
        },
    };
    report.refresh_id = Some(id.clone());
    progress.following();
    progress.event(format!("following {id} to the end"));
    let refresher = refresher(client, policy, &progress);
    follow(&refresher, &mut report, &id, args.waiting.max_wait, false).await;
    report
}

async fn cancel(
    client: Client,
    policy: RetryPolicy,
    args: Arc<CancelArgs>,
    group: String,
    progress: GroupProgress,
) -> GroupReport {
    let mut report = GroupReport {
        group: group.clone(),
        command: "cancel",
        ..GroupReport::default()
    };
    let id = match client
        .cancel_instance_refresh()
        .auto_scaling_group_name(&group)
        .send()
        .await
    {
        Ok(out) => out.instance_refresh_id().unwrap_or_default().to_owned(),
        Err(err) => {
            aws_fail(&mut report, &err);
            return report;
        }
    };
    report.refresh_id = Some(id.clone());
    report.status = Some(InstanceRefreshStatus::Cancelling.as_str().to_owned());
    if args.wait {
        progress.following();
        progress.event(format!("cancelling {id}, waiting until it is Cancelled"));
        let refresher = refresher(client, policy, &progress);
        follow(&refresher, &mut report, &id, args.waiting.max_wait, true).await;
    }
    report
}

/// The group's active refresh, else its latest.
async fn active_or_latest(
    client: &Client,
    group: &str,
) -> Result<Option<InstanceRefresh>, SdkError<DescribeInstanceRefreshesError, HttpResponse>> {
    let out = client
        .describe_instance_refreshes()
        .auto_scaling_group_name(group)
        .send()
        .await?;
    let refreshes = out.instance_refreshes();
    let active = refreshes.iter().find(|r| {
        matches!(
            r.status(),
            Some(
                InstanceRefreshStatus::Pending
                    | InstanceRefreshStatus::InProgress
                    | InstanceRefreshStatus::Baking
                    | InstanceRefreshStatus::Cancelling
                    | InstanceRefreshStatus::RollbackInProgress
            )
        )
    });
    Ok(active.or(refreshes.first()).cloned())
}

fn describe_into(report: &mut GroupReport, refresh: &InstanceRefresh) {
    report.refresh_id = refresh.instance_refresh_id().map(str::to_owned);
    report.status = refresh.status().map(|s| s.as_str().to_owned());
    report.percentage = refresh.percentage_complete();
    report.status_reason = refresh.status_reason().map(str::to_owned);
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
    }
    report.exit_code = code;
    report.error = Some(error);
}

/// Records an SDK failure of a call the tool made itself: exit 4.
fn aws_fail<E>(report: &mut GroupReport, err: &SdkError<E, HttpResponse>)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut error = ErrorReport {
        kind: "aws",
        ..ErrorReport::default()
    };
    sdk_details(&mut error, err, true);
    report.exit_code = exit::AWS;
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
