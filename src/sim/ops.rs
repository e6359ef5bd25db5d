//! The four awsQuery operations, applied to [`State`].

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::SimError;
use super::clock::Clock;
use super::model::{InterruptKind, Refresh, RefreshStatus, View};
use super::prefs;
use super::state::State;
use super::xml::{ErrorType, Node};

/// The API version this simulator speaks.
pub(crate) const API_VERSION: &str = "2011-01-01";

/// The exact message AWS sends with `InstanceRefreshInProgress`.
pub(crate) const IN_PROGRESS_MESSAGE: &str =
    "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.";

/// The message sent with `IrreversibleInstanceRefresh` (the fault's documented meaning).
pub(crate) const IRREVERSIBLE_MESSAGE: &str = "The request failed because a desired configuration was not found or an incompatible launch template (uses a Systems Manager parameter instead of an AMI ID) or launch template version ($Latest or $Default) is present on the Auto Scaling group.";

/// An error answered as an `<ErrorResponse>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) kind: ErrorType,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: if status >= 500 && code != "ResourceContention" {
                ErrorType::Receiver
            } else {
                ErrorType::Sender
            },
            code: code.to_owned(),
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        ApiError::new(400, "ValidationError", message)
    }

    fn missing(member: &str) -> Self {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    fn unknown_group(name: &str) -> Self {
        ApiError::validation(format!(
            "AutoScalingGroup name not found - AutoScalingGroup '{name}' not found"
        ))
    }

    fn no_active(group: &str) -> Self {
        ApiError::new(
            400,
            "ActiveInstanceRefreshNotFound",
            format!(
                "No in progress or pending Instance Refresh found for Auto Scaling group {group}"
            ),
        )
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::UnknownGroup(name) => ApiError::unknown_group(&name),
            SimError::RefreshInProgress { .. } => {
                ApiError::new(400, "InstanceRefreshInProgress", IN_PROGRESS_MESSAGE)
            }
            SimError::NoActiveRefresh(group) => ApiError::no_active(&group),
        }
    }
}

/// A successful operation: the elements inside `<{Action}Result>` and whether state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) result: Vec<Node>,
    pub(crate) applied: bool,
}

/// Form parameters of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(pub(crate) &'a [(String, String)]);

impl<'a> Params<'a> {
    /// The last value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn group(&self) -> Result<&'a str, ApiError> {
        let name = self
            .get("AutoScalingGroupName")
            .ok_or_else(|| ApiError::missing("autoScalingGroupName"))?;
        if name.is_empty() {
            return Err(ApiError::validation(
                "1 validation error detected: Value '' at 'autoScalingGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        Ok(name)
    }

    /// Every parameter whose name starts with `prefix`, with the rest of the name.
    pub(crate) fn with_prefix(
        &self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}

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
            let kind = cancel_kind(params)?;
            interrupt(state, now, params, kind)
        }
        "RollbackInstanceRefresh" => interrupt(state, now, params, InterruptKind::Rollback),
        _ => Err(ApiError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {action} for version {API_VERSION}"),
        )),
    }
}

/// `WaitForTransitioningInstances` (default `true`); `false` cancels at once.
fn cancel_kind(params: Params<'_>) -> Result<InterruptKind, ApiError> {
    match params.get("WaitForTransitioningInstances") {
        None => Ok(InterruptKind::Cancel),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(InterruptKind::Cancel),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(InterruptKind::CancelAtOnce),
        Some(v) => Err(ApiError::new(
            400,
            "MalformedInput",
            format!("Invalid value for WaitForTransitioningInstances: '{v}'"),
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
    kind: InterruptKind,
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
        (InterruptKind::Cancel | InterruptKind::CancelAtOnce, RefreshStatus::Cancelling)
        | (InterruptKind::Rollback, RefreshStatus::RollbackInProgress) => {
            Ok(id_result(&refresh.id, false))
        }
        (InterruptKind::Rollback, _) if !refresh.reversible() => Err(ApiError::new(
            400,
            "IrreversibleInstanceRefresh",
            IRREVERSIBLE_MESSAGE,
        )),
        (_, RefreshStatus::Pending | RefreshStatus::InProgress | RefreshStatus::Baking) => {
            refresh.interrupt(kind, now);
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
        rollback
            .push_leaf("RollbackReason", &rb.reason)
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
    let max_records = match params.get("MaxRecords") {
        None => 50,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n > 100 => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100"
                )));
            }
            Ok(n) if n < 1 => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{n}' at 'maxRecords' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            Ok(n) => usize::try_from(n).unwrap_or(50),
            Err(_) => {
                return Err(ApiError::new(
                    400,
                    "MalformedInput",
                    format!("Invalid value for MaxRecords: '{raw}'"),
                ));
            }
        },
    };
    let offset = match params.get("NextToken") {
        None | Some("") => 0,
        Some(token) => token
            .strip_prefix("sim-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidNextToken",
                    format!("The token '{token}' is invalid."),
                )
            })?,
    };
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
