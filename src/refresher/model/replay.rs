//! The model's runs, replayed against the simulator: the real [`Refresher`] and the tower layer
//! must make the same requests and end the same way. This ties the model's glue (what each step does on the wire,
//! how `wait_out_blocker` waits) to the code, where the model check ties the decisions.
//!
//! Each run of one call against a group that only its own requests change (see
//! [`ProtocolModel::static_runs`]) becomes a script: a simulator with the group's earlier
//! refresh, and a fault on the n-th `StartInstanceRefresh` or describe for each request whose
//! fate is not a plain answer. The blocker runs for an hour, the waits take a second at most.

use std::time::Duration;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, LaunchTemplateSpecification, RefreshPreferences,
};

use std::sync::{Arc, Mutex};

use aws_smithy_async::time::TimeSource;
use tower::{Layer, ServiceExt};

use super::*;
use crate::InstanceRefreshRetryLayer;
use crate::core::clock::TokioTime;
use crate::core::outcome::RetryOutcome;
use crate::layer::sdk_service::StartInstanceRefreshService;
use crate::refresher::{RefreshError, RefreshErrorKind, Refresher, Started};
use crate::sim::{AutoScalingSim, Fault, FaultRule, GroupConfig};

const START: &str = "StartInstanceRefresh";
const DESCRIBE: &str = "DescribeInstanceRefreshes";
const CANCEL: &str = "CancelInstanceRefresh";

/// What happens to a request of this fate, on the simulator.
fn fault(fate: Fate) -> Option<Fault> {
    match fate {
        Fate::Answered => None,
        Fate::AnswerLost => Some(Fault::ResponseLost),
        Fate::RequestLost => Some(Fault::CloseConnection),
        Fate::Throttled => Some(Fault::Throttling),
        Fate::InternalFailure { applied: true } => Some(Fault::AppliedInternalFailure),
        Fate::InternalFailure { applied: false } => Some(Fault::InternalFailure),
        Fate::ResourceContention => Some(Fault::ResourceContention),
        Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded => {
            unreachable!("the replay's client makes one request per SDK call")
        }
    }
}

/// The requests an action makes: a cancel that fails is followed by a describe (is the refresh
/// rolling back, which cannot be cancelled?).
fn operations(action: &Action) -> &'static [&'static str] {
    match action {
        Action::Start(..) => &[START],
        Action::Describe(..) => &[DESCRIBE],
        Action::Cancel(_, true) => &[CANCEL],
        Action::Cancel(_, false) => &[CANCEL, DESCRIBE],
        Action::Probe(_) => &[],
        Action::OtherStarts | Action::Ends => unreachable!("not the call's"),
    }
}

/// How a call ended, without ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Started,
    Adopted,
    GaveUp(StopReason),
    Failed,
    Conflict,
}

fn modelled(end: End) -> Ended {
    match end {
        End::Started(_) => Ended::Started,
        End::Adopted(_) => Ended::Adopted,
        End::GaveUp(reason) => Ended::GaveUp(reason),
        End::Failed => Ended::Failed,
        End::Conflict => Ended::Conflict,
    }
}

fn real(result: &Result<Started, RefreshError>) -> Ended {
    match result {
        Ok(started) if started.adopted() => Ended::Adopted,
        Ok(_) => Ended::Started,
        Err(err) => match err.kind() {
            RefreshErrorKind::GaveUp(reason) => Ended::GaveUp(*reason),
            RefreshErrorKind::Conflict { .. } => Ended::Conflict,
            RefreshErrorKind::Aws => Ended::Failed,
            other => panic!("an end the model does not have: {other:?}"),
        },
    }
}

/// The launch template, and the version, of a call under `Adopt` (and of the earlier run).
const TEMPLATE: (&str, &str) = ("app", "7");

/// The call's request: it sets a preference, so that the blocker (none set) does not match.
/// Under `Adopt`, a pinned desired configuration instead, which the earlier run's refresh has
/// too and the blocker has not.
fn input(path: Path) -> StartInstanceRefreshInput {
    let builder = StartInstanceRefreshInput::builder().auto_scaling_group_name("web");
    let builder = if path == Path::Refresher(OnConflict::Adopt) {
        builder.desired_configuration(
            DesiredConfiguration::builder()
                .launch_template(
                    LaunchTemplateSpecification::builder()
                        .launch_template_name(TEMPLATE.0)
                        .version(TEMPLATE.1)
                        .build(),
                )
                .build(),
        )
    } else {
        builder.preferences(RefreshPreferences::builder().instance_warmup(60).build())
    };
    builder.build().expect("a valid input")
}

/// A plain call: the tower layer over `StartInstanceRefreshService`, with the model's
/// classifier. How it ended (from `on_finish`), and the refresh it returned.
async fn plain(sim: &AutoScalingSim, policy: RetryPolicy) -> (Ended, Option<String>) {
    let finished = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&finished);
    let layer = InstanceRefreshRetryLayer::new(policy)
        .classifier(Classifier::default().with_code("InternalFailure"))
        .on_finish(move |stats| *seen.lock().expect("not poisoned") = Some(stats.outcome));
    let result = layer
        .layer(StartInstanceRefreshService::new(sim.client()))
        .oneshot(input(Path::Plain))
        .await;
    let outcome = finished.lock().expect("not poisoned").take();
    let ended = match outcome {
        Some(RetryOutcome::Succeeded) => Ended::Started,
        Some(RetryOutcome::GaveUp(reason)) => Ended::GaveUp(reason),
        Some(RetryOutcome::NotRetryable) => Ended::Failed,
        other => panic!("an end the model does not have: {other:?}"),
    };
    let id = result
        .ok()
        .and_then(|out| out.instance_refresh_id().map(str::to_owned));
    (ended, id)
}

/// Replays one run of the model's first call; panics where the code does otherwise. How it
/// ended.
async fn replay(model: &ProtocolModel, init: &State, actions: &[Action], end: &State) -> Ended {
    // The Refresher's clock (tokio's) and the simulator's read the same time.
    let clock = TokioTime::new();
    let sim = AutoScalingSim::builder()
        .wall_clock_start(clock.now())
        .start()
        .await
        .expect("the simulator starts");
    let hour = GroupConfig::default()
        .refresh_duration(Duration::from_secs(3600))
        .cancel_duration(Duration::ZERO);
    sim.create_group("web", hour.clone());
    let blocker = init.refreshes.first().map(|before| {
        let config = if before.active {
            hour.clone()
        } else {
            GroupConfig::default().refresh_duration(Duration::from_secs(10))
        };
        let id = if before.by == Who::Earlier {
            sim.start_refresh_with_launch_template("web", config, TEMPLATE.0, TEMPLATE.1)
        } else {
            sim.start_refresh("web", config)
        };
        (id.expect("the blocker starts"), before)
    });
    if let Some((_, before)) = blocker {
        // Long before the call (past the clock skew), or just before it.
        let ago = if before.started == OLD { 600 } else { 30 };
        tokio::time::sleep(Duration::from_secs(ago)).await;
    }
    // The rules count the calls of their operation, the ones they let pass included.
    let mut counts = std::collections::HashMap::<&str, u32>::new();
    for action in actions {
        let fault = match action {
            Action::Start(_, fate) => fault(*fate),
            Action::Describe(_, ok) | Action::Cancel(_, ok) => (!ok).then_some(Fault::Throttling),
            Action::Probe(_) | Action::OtherStarts | Action::Ends => None,
        };
        for (i, op) in operations(action).iter().enumerate() {
            let count = counts.entry(op).or_default();
            if let (0, Some(fault)) = (i, fault.clone()) {
                sim.inject(FaultRule::new(fault).on(*op).after(*count));
            }
            *count += 1;
        }
    }
    let before = sim.calls().len();

    let policy = RetryPolicy::builder()
        .initial_delay(Duration::from_secs(1))
        .max_delay(Duration::from_secs(1))
        .jitter(Jitter::None)
        .max_attempts(model.waits + 1)
        .max_elapsed(Duration::from_secs(10 * 3600))
        .build()
        .expect("a valid policy");
    let (ended, returned) = match model.calls[0] {
        Path::Refresher(on_conflict) => {
            let result = Refresher::new(sim.client(), policy)
                .time_source(clock)
                .on_conflict(on_conflict)
                .status_aware(model.status_aware)
                .start(input(model.calls[0]))
                .await;
            let id = result
                .as_ref()
                .ok()
                .map(|s| s.instance_refresh_id().to_owned());
            (real(&result), id)
        }
        Path::Plain => plain(&sim, policy).await,
    };

    // Reads of the scaling activities change nothing and decide nothing the model decides.
    let made: Vec<String> = sim.calls()[before..]
        .iter()
        .filter_map(|c| c.operation.clone())
        .filter(|op| op != "DescribeScalingActivities")
        .collect();
    let what = format!("{actions:?} from {:?}", init.refreshes);
    let At::Done(modelled_end) = end.calls[0].at else {
        panic!("the model's run never ended: {what}")
    };
    let mut expected: Vec<&str> = actions
        .iter()
        .flat_map(|a| operations(a).iter().copied())
        .collect();
    if modelled_end == End::Conflict {
        // The describe that names the blocker in the error.
        expected.push(DESCRIBE);
    }
    assert_eq!(made, expected, "the requests of {what}");
    assert_eq!(ended, modelled(modelled_end), "the end of {what}");
    let refreshes = sim.refreshes("web").expect("the group");
    let ours: Vec<_> = refreshes
        .iter()
        .filter(|r| blocker.as_ref().is_none_or(|(id, _)| r.id != *id))
        .collect();
    let modelled_ours = end
        .refreshes
        .iter()
        .filter(|r| r.by == Who::Call(0))
        .count();
    assert_eq!(ours.len(), modelled_ours, "the refreshes of {what}");
    match (returned, &blocker) {
        // The earlier run's refresh, adopted.
        (Some(id), Some((blocker, before))) if id == *blocker => {
            assert_eq!(before.by, Who::Earlier, "adopted the blocker: {what}");
            assert_eq!(modelled_end, End::Adopted(before.id), "{what}");
        }
        (Some(id), _) => assert_eq!(
            ours.first().map(|r| r.id.as_str()),
            Some(id.as_str()),
            "the refresh returned by {what}"
        ),
        (None, _) => {}
    }
    ended
}

#[tokio::test(start_paused = true)]
async fn the_code_does_on_the_simulator_what_the_model_does() {
    // A start whose outcome is unknown, ended by an error that waiting does not fix, while the
    // describes cannot tell: the call looks again until the policy stops
    // (`GaveUp(PossiblyOwnRefresh)`), on every strategy.
    let waiting = &[
        "Adopted",
        "Failed",
        "GaveUp(MaxAttempts)",
        "GaveUp(PossiblyOwnRefresh)",
        "Started",
    ][..];
    for (path, status_aware, every_end) in [
        (Path::Refresher(OnConflict::Wait), true, waiting),
        (Path::Refresher(OnConflict::Wait), false, waiting),
        // The group is free once the blocker is cancelled: nothing to wait out.
        (
            Path::Refresher(OnConflict::CancelAndReplace),
            true,
            &["Adopted", "Failed", "GaveUp(PossiblyOwnRefresh)", "Started"][..],
        ),
        (
            Path::Refresher(OnConflict::Fail),
            true,
            &[
                "Adopted",
                "Conflict",
                "Failed",
                "GaveUp(PossiblyOwnRefresh)",
                "Started",
            ][..],
        ),
        (
            Path::Refresher(OnConflict::Adopt),
            true,
            &[
                "Adopted",
                "Failed",
                "GaveUp(MaxAttempts)",
                "GaveUp(PossiblyOwnRefresh)",
                "Started",
            ][..],
        ),
        (
            Path::Refresher(OnConflict::Adopt),
            false,
            &[
                "Adopted",
                "Failed",
                "GaveUp(MaxAttempts)",
                "GaveUp(PossiblyOwnRefresh)",
                "Started",
            ][..],
        ),
        (
            Path::Plain,
            false,
            &[
                "Failed",
                "GaveUp(MaxAttempts)",
                "GaveUp(PossiblyOwnRefresh)",
                "Started",
            ][..],
        ),
    ] {
        let mut model = ProtocolModel::new(vec![path], Variant::Real);
        model.status_aware = status_aware;
        let mut ends = std::collections::BTreeMap::<String, u32>::new();
        for init in model.init_states() {
            for (actions, end) in model.static_runs(&init) {
                let ended = replay(&model, &init, &actions, &end).await;
                *ends.entry(format!("{ended:?}")).or_default() += 1;
            }
        }
        println!(
            "{path:?} (status-aware: {status_aware}): replayed the model's runs on the simulator, by end: {ends:?}"
        );
        // Every end the Refresher has with one request per SDK call.
        let seen: Vec<&str> = ends.keys().map(String::as_str).collect();
        assert_eq!(seen, every_end, "{ends:?}");
    }
}
