//! The four awsQuery operations, applied to [`State`].

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::SimError;
use super::model::{InterruptKind, RefreshStatus};
use super::state::State;
use super::xml::{ErrorType, Node};

/// The API version this simulator speaks.
pub(crate) const API_VERSION: &str = "2011-01-01";

/// The exact message AWS sends with `InstanceRefreshInProgress`.
pub(crate) const IN_PROGRESS_MESSAGE: &str =
    "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.";

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

    fn with_prefix(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
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
        "CancelInstanceRefresh" => interrupt(state, now, params, InterruptKind::Cancel),
        "RollbackInstanceRefresh" => interrupt(state, now, params, InterruptKind::Rollback),
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
    let strategy = params.get("Strategy").unwrap_or("Rolling");
    if !matches!(strategy, "Rolling" | "ReplaceRootVolume") {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{strategy}' at 'strategy' failed to satisfy constraint: Member must satisfy enum value set: [Rolling, ReplaceRootVolume]"
        )));
    }
    let mut preferences = Node::new("Preferences");
    if params.get("Preferences.MinHealthyPercentage").is_none() {
        preferences.insert(&["MinHealthyPercentage"], "90");
    }
    for (path, value) in params.with_prefix("Preferences.") {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().all(|s| !s.is_empty()) {
            preferences.insert(&segments, value);
        }
    }
    let config = state
        .groups
        .get(group)
        .ok_or_else(|| ApiError::unknown_group(group))?
        .config
        .clone();
    let id = state.start_refresh(group, config, strategy.to_owned(), preferences, now)?;
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
    let refresh = g
        .active_mut(now)
        .ok_or_else(|| ApiError::no_active(group))?;
    let status = refresh.view(now).status;
    match (kind, status) {
        (InterruptKind::Cancel, RefreshStatus::Cancelling)
        | (InterruptKind::Rollback, RefreshStatus::RollbackInProgress) => {
            Ok(id_result(&refresh.id, false))
        }
        (_, RefreshStatus::Pending | RefreshStatus::InProgress | RefreshStatus::Baking) => {
            refresh.interrupt(kind, now);
            Ok(id_result(&refresh.id, true))
        }
        _ => Err(ApiError::no_active(group)),
    }
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
    let matching: Vec<_> = g
        .refreshes
        .iter()
        .rev()
        .filter(|r| ids.is_empty() || ids.contains(r.id.as_str()))
        .collect();
    let clock = state.clock;
    let mut refreshes = Node::new("InstanceRefreshes");
    for r in matching.iter().skip(offset).take(max_records) {
        let v = r.view(now);
        let mut member = Node::new("member");
        member
            .push_leaf("InstanceRefreshId", &r.id)
            .push_leaf("AutoScalingGroupName", &r.group)
            .push_leaf("Status", v.status.as_str());
        if v.status == RefreshStatus::Failed {
            member.push_leaf(
                "StatusReason",
                "Simulated failure: the instance refresh failed.",
            );
        }
        member.push_leaf("StartTime", &clock.timestamp(r.started));
        if let Some(end) = v.end {
            member.push_leaf("EndTime", &clock.timestamp(end));
        }
        member
            .push_leaf("PercentageComplete", &v.percentage.to_string())
            .push_leaf("InstancesToUpdate", &v.instances_to_update.to_string());
        if !r.preferences.is_empty() {
            member.push(r.preferences.clone());
        }
        if let Some((at, pct, to_update)) = v.rollback {
            let mut rollback = Node::new("RollbackDetails");
            rollback
                .push_leaf("RollbackReason", "Rollback started by user")
                .push_leaf("RollbackStartTime", &clock.timestamp(at))
                .push_leaf("PercentageCompleteOnRollback", &pct.to_string())
                .push_leaf("InstancesToUpdateOnRollback", &to_update.to_string());
            member.push(rollback);
        }
        member.push_leaf("Strategy", &r.strategy);
        refreshes.push(member);
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
