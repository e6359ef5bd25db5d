//! The awsQuery operations, applied to [`State`]: the four instance-refresh operations here,
//! `DescribeScalingActivities` in `scaling`.

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::api::{self, ApiError, Done, Params};
use super::clock::Clock;
use super::ending::Request;
use super::prefs;
use super::refresh::Refresh;
use super::scaling;
use super::snapshot::RefreshStatus;
use super::state::State;
use super::view::View;
use super::xml::Node;

/// The API version this simulator speaks.
pub(crate) const API_VERSION: &str = "2011-01-01";

/// The message sent with `IrreversibleInstanceRefresh` (the fault's documented meaning).
pub(crate) const IRREVERSIBLE_MESSAGE: &str = "The request failed because a desired configuration was not found or an incompatible launch template (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) is present on the Auto Scaling group.";

/// Run `action` against `state` at `now`.
pub(crate) fn dispatch(
    state: &mut State,
    now: Instant,
    action: &str,
    params: Params<'_>,
) -> Result<Done, ApiError> {
    if let Some(version) = params.get("Version")
        && version != API_VERSION
    {
        return Err(ApiError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        ));
    }
    match action {
        "StartInstanceRefresh" => start(state, now, params),
        "DescribeInstanceRefreshes" => describe(state, now, params),
        "CancelInstanceRefresh" => {
            // API `CancelInstanceRefresh`: WaitForTransitioningInstances defaults to true.
            let wait = params
                .boolean("WaitForTransitioningInstances")?
                .unwrap_or(true);
            interrupt(state, now, params, Request::Cancel { wait })
        }
        "RollbackInstanceRefresh" => interrupt(state, now, params, Request::Rollback),
        "DescribeScalingActivities" => scaling::describe(state, now, params),
        _ => Err(ApiError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {action} for version {API_VERSION}"),
        )),
    }
}

fn id_result(id: &str, applied: bool) -> Done {
    Done {
        result: vec![Node::leaf("InstanceRefreshId", id)],
        applied,
    }
}

fn start(state: &mut State, now: Instant, params: Params<'_>) -> Result<Done, ApiError> {
    let group = params.group()?;
    let request = prefs::parse_start(params)?;
    let config = state
        .groups
        .get(group)
        .ok_or_else(|| ApiError::unknown_group(group))?
        .config
        .clone();
    let id = state.start_refresh(group, &config, request, now)?;
    tracing::debug!(group, refresh_id = %id, "sim: refresh started");
    Ok(id_result(&id, true))
}

fn interrupt(
    state: &mut State,
    now: Instant,
    params: Params<'_>,
    kind: Request,
) -> Result<Done, ApiError> {
    let group = params.group()?;
    let g = state
        .groups
        .get_mut(group)
        .ok_or_else(|| ApiError::unknown_group(group))?;
    let index = g
        .active_index(now)
        .ok_or_else(|| ApiError::no_active(group))?;
    let status = g.view(index, now).status;
    let refresh = &mut g.refreshes[index];
    match (&kind, status) {
        (Request::Cancel { .. }, RefreshStatus::Cancelling)
        | (Request::Rollback, RefreshStatus::RollbackInProgress) => {
            Ok(id_result(&refresh.id, false))
        }
        (Request::Rollback, _) if !refresh.reversible() => Err(ApiError::new(
            400,
            "IrreversibleInstanceRefresh",
            IRREVERSIBLE_MESSAGE,
        )),
        (_, RefreshStatus::Pending | RefreshStatus::InProgress | RefreshStatus::Baking) => {
            refresh.request(kind, now);
            Ok(id_result(&refresh.id, true))
        }
        _ => Err(ApiError::no_active(group)),
    }
}

/// `PercentageComplete` and `InstancesToUpdate` in a `ProgressDetails` element called `name`
/// (the live pool only: the simulator models no warm pool, so `WarmPoolProgress` is omitted).
fn progress_details(name: &str, percentage: u32, instances_to_update: u32) -> Node {
    let mut live = Node::new("LivePoolProgress");
    live.push_leaf("PercentageComplete", &percentage.to_string())
        .push_leaf("InstancesToUpdate", &instances_to_update.to_string());
    let mut details = Node::new(name);
    details.push(live);
    details
}

/// One `<member>` of `InstanceRefreshes`, in the service model's member order.
fn refresh_member(r: &Refresh, v: &View, clock: &Clock) -> Node {
    let mut member = Node::new("member");
    member
        .push_leaf("InstanceRefreshId", &r.id)
        .push_leaf("AutoScalingGroupName", &r.group)
        .push_leaf("Status", v.status.as_str());
    if let Some(reason) = &v.reason {
        member.push_leaf("StatusReason", reason);
    }
    member.push_leaf("StartTime", &clock.timestamp(r.started));
    if let Some(end) = v.end {
        member.push_leaf("EndTime", &clock.timestamp(end));
    }
    member
        .push_leaf("PercentageComplete", &v.percentage.to_string())
        .push_leaf("InstancesToUpdate", &v.instances_to_update.to_string())
        .push(progress_details(
            "ProgressDetails",
            v.percentage,
            v.instances_to_update,
        ))
        .push(r.preferences.clone());
    if let Some(desired) = &r.desired {
        member.push(desired.clone());
    }
    if let Some(rb) = &v.rollback {
        let mut rollback = Node::new("RollbackDetails");
        if let Some(reason) = &rb.reason {
            rollback.push_leaf("RollbackReason", reason);
        }
        rollback
            .push_leaf("RollbackStartTime", &clock.timestamp(rb.at))
            .push_leaf("PercentageCompleteOnRollback", &rb.percentage.to_string())
            .push_leaf(
                "InstancesToUpdateOnRollback",
                &rb.instances_to_update.to_string(),
            )
            .push(progress_details(
                "ProgressDetailsOnRollback",
                rb.percentage,
                rb.instances_to_update,
            ));
        member.push(rollback);
    }
    member.push_leaf("Strategy", &r.strategy);
    member
}

fn describe(state: &mut State, now: Instant, params: Params<'_>) -> Result<Done, ApiError> {
    let group = params.group()?;
    let max_records = api::max_records(params, 50)?;
    let offset = api::next_token_offset(params, "sim-")?;
    let ids: BTreeSet<&str> = params
        .with_prefix("InstanceRefreshIds.member.")
        .map(|(_, v)| v)
        .collect();
    let g = state
        .groups
        .get(group)
        .ok_or_else(|| ApiError::unknown_group(group))?;
    let matching: Vec<usize> = (0..g.refreshes.len())
        .rev()
        .filter(|&i| ids.is_empty() || ids.contains(g.refreshes[i].id.as_str()))
        .collect();
    let clock = state.clock;
    let mut refreshes = Node::new("InstanceRefreshes");
    for &i in matching.iter().skip(offset).take(max_records) {
        refreshes.push(refresh_member(&g.refreshes[i], &g.view(i, now), &clock));
    }
    let mut result = vec![refreshes];
    let next = offset.saturating_add(max_records);
    if next < matching.len() {
        result.push(Node::leaf("NextToken", &format!("sim-{next}")));
    }
    Ok(Done {
        result,
        applied: false,
    })
}
