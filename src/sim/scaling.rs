//! `DescribeScalingActivities` (API reference): the activities of the simulated groups'
//! refreshes, in progress first, then by start time, newest first; `MaxRecords` up to 100
//! (default 100) a page, with `NextToken`.

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::activities::{self, Activity};
use super::api::{self, ApiError, Done, Params};
use super::clock::Clock;
use super::group::Group;
use super::state::State;
use super::unknowns::ActivityAccess;
use super::xml::Node;

/// The `NextToken` prefix of this operation.
const TOKEN: &str = "sim-activities-";

/// What AWS answers a caller whose role may not call the operation (HTTP 403 `AccessDenied`;
/// Guess: the message's wording).
fn access_denied() -> ApiError {
    ApiError::new(
        403,
        "AccessDenied",
        "User: arn:aws:sts::123456789012:assumed-role/deployer/session is not authorized to perform: autoscaling:DescribeScalingActivities because no identity-based policy allows the autoscaling:DescribeScalingActivities action",
    )
}

/// How the group answers, from its newest refresh's [`Unknowns`](super::Unknowns): served
/// when it has none. Guess: one answer for the whole group (IAM allows or denies the action,
/// not one refresh's activities).
fn access(group: &Group) -> ActivityAccess {
    group
        .refreshes
        .last()
        .map_or(ActivityAccess::Served, |r| r.unknowns.activities)
}

fn group_activities(group: &Group, now: Instant, clock: &Clock) -> Vec<Activity> {
    if access(group) == ActivityAccess::Empty {
        return Vec::new();
    }
    group
        .refreshes
        .iter()
        .flat_map(|r| activities::of_refresh(r, now, group.suspensions(), clock))
        .collect()
}

/// `DescribeScalingActivities`, for the group named or for all.
pub(crate) fn describe(
    state: &mut State,
    now: Instant,
    params: Params<'_>,
) -> Result<Done, ApiError> {
    let max_records = api::max_records(params, 100)?;
    let offset = api::next_token_offset(params, TOKEN)?;
    let ids: BTreeSet<&str> = params
        .with_prefix("ActivityIds.member.")
        .map(|(_, v)| v)
        .collect();
    let groups: Vec<&Group> = match params.get("AutoScalingGroupName") {
        Some(_) => {
            let name = params.group()?;
            vec![
                state
                    .groups
                    .get(name)
                    .ok_or_else(|| ApiError::unknown_group(name))?,
            ]
        }
        None => state.groups.values().collect(),
    };
    if groups
        .iter()
        .any(|g| access(g) == ActivityAccess::AccessDenied)
    {
        return Err(access_denied());
    }
    let clock = state.clock;
    let mut all: Vec<Activity> = groups
        .iter()
        .flat_map(|g| group_activities(g, now, &clock))
        .filter(|a| ids.is_empty() || ids.contains(a.id.as_str()))
        .collect();
    activities::sort(&mut all);
    let mut list = Node::new("Activities");
    for a in all.iter().skip(offset).take(max_records) {
        list.push(member(a, &clock));
    }
    let mut result = vec![list];
    let next = offset.saturating_add(max_records);
    if next < all.len() {
        result.push(Node::leaf("NextToken", &format!("{TOKEN}{next}")));
    }
    Ok(Done {
        result,
        applied: false,
    })
}

/// One `<member>` of `Activities`, in the service model's member order.
fn member(a: &Activity, clock: &Clock) -> Node {
    let mut m = Node::new("member");
    m.push_leaf("ActivityId", &a.id)
        .push_leaf("AutoScalingGroupName", &a.group)
        .push_leaf("Description", &a.description)
        .push_leaf("Cause", &a.cause)
        .push_leaf("StartTime", &clock.timestamp(a.start));
    if let Some(end) = a.end {
        m.push_leaf("EndTime", &clock.timestamp(end));
    }
    m.push_leaf("StatusCode", a.status)
        .push_leaf("Progress", &a.progress.to_string())
        .push_leaf("Details", a.details);
    m
}
