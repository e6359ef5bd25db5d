//! The Refresher: start a refresh with a conflict strategy, follow it to its end with progress,
//! and report the typed outcome.
//!
//! Against the embedded Auto Scaling simulator on 127.0.0.1 (no AWS account, no network; about
//! 8 s): the group `web` is busy with another refresh for 3 s. The Refresher watches that
//! refresh (`DescribeInstanceRefreshes`), starts as soon as it ends, then follows its own
//! refresh (3 s) to `Successful`.
//!
//! ```sh
//! cargo run --example refresher --features cli
//! cargo run --example refresher --features cli -- --on-conflict cancel   # or fail
//! ```
//!
//! Against your account: `--real GROUP`. The ordinary AWS environment chooses the account and
//! the region (`AWS_PROFILE`, `AWS_REGION`, and everything else `aws_config::load_defaults`
//! reads), and the Refresher runs on [`Refresher::default_policy()`] (checks up to 30 min
//! apart, 6 h in all). **This starts an instance refresh on that group: it replaces the group's
//! instances; `--on-conflict cancel` also cancels someone else's refresh.** The permissions it
//! needs are in `docs/iam.md` ("Refresher" and "wait_for_completion").
//!
//! ```sh
//! AWS_PROFILE=staging AWS_REGION=eu-west-1 \
//!   cargo run --example refresher --features cli -- --real web --on-conflict wait
//! ```
//!
//! It prints each check of the refresh it waits for, then how the refresh ended; it exits 1 if
//! the refresh did not end `Successful`.

use std::time::{Duration, Instant, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use instance_refresh_retry::sim::{AutoScalingSim, GroupConfig};
use instance_refresh_retry::{
    Jitter, OnConflict, Progress, RefreshError, RefreshErrorKind, Refresher, RetryPolicy,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let target = Target::from_args().await?;
    let began = Instant::now();

    // 1. A Refresher with a conflict strategy, printing each check.
    let refresher = Refresher::new(target.client.clone(), target.policy.clone())
        .on_conflict(target.on_conflict)
        .on_progress(move |p| print_progress(began, p));

    // 2. Start: wait out (or cancel, or refuse) a running refresh; a start whose answer was
    // lost is adopted, never started twice.
    println!(
        "starting a refresh on `{}` ({:?} on a conflict)",
        target.group, target.on_conflict
    );
    let input = StartInstanceRefreshInput::builder()
        .auto_scaling_group_name(&target.group)
        .build()?;
    let started = match refresher.start(input).await {
        Ok(started) => started,
        Err(err) => fail("no refresh started", &err),
    };
    println!(
        "{} refresh {} at {:.1?} ({})",
        if started.adopted() {
            "adopted"
        } else {
            "started"
        },
        started.instance_refresh_id(),
        began.elapsed(),
        started.stats()
    );

    // 3. Follow it to a terminal status: the waiter AWS does not ship.
    let done = match refresher
        .wait_for_completion(
            &target.group,
            started.instance_refresh_id(),
            target.max_wait,
        )
        .await
    {
        Ok(done) => done,
        Err(err) => fail("stopped following the refresh", &err),
    };
    println!(
        "refresh {} ended {} at {:.1?}{} ({})",
        started.instance_refresh_id(),
        done.status().as_str(),
        began.elapsed(),
        done.status_reason()
            .map(|r| format!(": {r}"))
            .unwrap_or_default(),
        done.stats()
    );

    if let Some(sim) = target.sim {
        println!("\nwhat the simulator received:");
        for call in sim.calls() {
            println!(
                "  {:>5.2} s  {} -> {}",
                call.at.as_secs_f64(),
                call.operation.as_deref().unwrap_or("?"),
                call.error_code().unwrap_or("ok")
            );
        }
        sim.shutdown().await;
    }
    if !done.is_successful() {
        std::process::exit(1);
    }
    Ok(())
}

fn print_progress(began: Instant, p: &Progress) {
    let ends = p
        .estimated_end
        .and_then(|end| end.duration_since(SystemTime::now()).ok())
        .map(|left| format!(", ends in ~{:.0?}", left))
        .unwrap_or_default();
    println!(
        "  {:>5.1?}  {} {} {}%{ends}, next check in {:.1?}{}",
        began.elapsed(),
        p.refresh_id,
        p.status.as_ref().map_or("?", |s| s.as_str()),
        p.percentage,
        p.next_check,
        if p.stalled { " (stalled)" } else { "" }
    );
}

/// Says what went wrong, kind by kind, and exits 1.
fn fail(what: &str, err: &RefreshError) -> ! {
    let why = match err.kind() {
        RefreshErrorKind::Conflict { refresh_id, status } => format!(
            "the group is busy with {} ({}), and the strategy is to fail",
            refresh_id.as_deref().unwrap_or("another refresh"),
            status.as_ref().map_or("?", |s| s.as_str())
        ),
        RefreshErrorKind::WontEndInTime {
            refresh_id,
            earliest_end,
            ..
        } => format!(
            "{refresh_id} cannot end within the policy's max_elapsed (in {:.0?} at the earliest)",
            earliest_end
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        ),
        RefreshErrorKind::GaveUp(reason) => format!("gave up waiting: {reason}"),
        RefreshErrorKind::MaxWait { refresh_id, status } => format!(
            "{refresh_id} was still {} at max_wait",
            status.as_ref().map_or("?", |s| s.as_str())
        ),
        RefreshErrorKind::NotFound { refresh_id } => format!("no refresh {refresh_id}"),
        // `Aws` and kinds added later: the message, and the SDK error as the source.
        _ => match std::error::Error::source(err) {
            Some(source) => format!("{err}: {source}"),
            None => err.to_string(),
        },
    };
    eprintln!("{what}: {why} ({})", err.stats());
    std::process::exit(1);
}

/// Where the example runs: the simulator (no `--real`), or your account (`--real GROUP`).
struct Target {
    client: aws_sdk_autoscaling::Client,
    group: String,
    on_conflict: OnConflict,
    policy: RetryPolicy,
    max_wait: Duration,
    sim: Option<AutoScalingSim>,
}

impl Target {
    async fn from_args() -> Result<Target, Error> {
        const USAGE: &str = "usage: refresher [--real GROUP] [--on-conflict wait|cancel|fail]";
        let mut real = None;
        let mut on_conflict = OnConflict::Wait;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match (arg.as_str(), args.next().as_deref()) {
                ("--real", Some(group)) => real = Some(group.to_owned()),
                ("--on-conflict", Some("wait")) => on_conflict = OnConflict::Wait,
                ("--on-conflict", Some("cancel")) => on_conflict = OnConflict::CancelAndReplace,
                ("--on-conflict", Some("fail")) => on_conflict = OnConflict::Fail,
                _ => return Err(USAGE.into()),
            }
        }
        let Some(group) = real else {
            return Target::simulator(on_conflict).await;
        };
        let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(Target {
            client: aws_sdk_autoscaling::Client::new(&sdk_config),
            group,
            on_conflict,
            policy: Refresher::default_policy(),
            max_wait: Duration::from_secs(6 * 3600),
            sim: None,
        })
    }

    /// The simulator with a group `web` that is busy for another 3 s and whose refreshes take
    /// 3.5 s, a client pointed at it (test credentials; nothing is read from `~/.aws`), and
    /// short waits.
    async fn simulator(on_conflict: OnConflict) -> Result<Target, Error> {
        let sim = AutoScalingSim::start().await?;
        sim.create_group(
            "web",
            GroupConfig::default()
                .pending_duration(Duration::from_millis(500))
                .refresh_duration(Duration::from_secs(3))
                .bake_duration(Duration::ZERO)
                .cancel_duration(Duration::from_millis(500)),
        );
        let blocker = sim.seed_running_refresh("web", Duration::from_secs(3))?;
        println!(
            "simulator at {}: `web` is busy with refresh {blocker} for another 3 s\n",
            sim.endpoint_url()
        );
        // Checks 0.5 s to 1 s apart so that the run takes seconds; keep
        // Refresher::default_policy() for real refreshes.
        let policy = RetryPolicy::builder()
            .initial_delay(Duration::from_millis(500))
            .max_delay(Duration::from_secs(1))
            .jitter(Jitter::Equal)
            .max_elapsed(Duration::from_secs(60))
            .build()?;
        Ok(Target {
            client: sim.client(),
            group: "web".to_owned(),
            on_conflict,
            policy,
            max_wait: Duration::from_secs(60),
            sim: Some(sim),
        })
    }
}
