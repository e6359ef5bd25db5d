//! The scaling activities of a refresh (API `DescribeScalingActivities`, `Activity`): one
//! launch and one terminate activity per replaced instance, and per instance that failed its
//! health check.
//!
//! Facts: the fields, the status codes, and that activities still in progress come first, then
//! by start time (API). Guesses: the `Cause` wording (public captures show "At ... an instance
//! was launched in response to an instance refresh.", not a contract), the `Progress` values,
//! how long a termination takes, whether a launch activity ends at `InService` or after the
//! warmup ([`ActivityEnd`]), and what happens to launches in flight when a refresh ends.
//! Refreshes that progress linearly have no instances, and no activities.

use std::time::Duration;

use tokio::time::Instant;

use super::batches::Order;
use super::clock::Clock;
use super::ending::{Outcome, Undo};
use super::ids::{activity_id, instance_id};
use super::instances::Attempt;
use super::refresh::{Refresh, Suspension};
use super::unknowns::ActivityEnd;

/// How long a termination takes. Guess: no source gives it, and it holds nothing up.
const TERMINATE: Duration = Duration::from_secs(30);

/// Where the instances are said to run.
const DETAILS: &str =
    r#"{"Subnet ID":"subnet-0123456789abcdef0","Availability Zone":"us-east-1a"}"#;

/// One scaling activity, as it stands at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Activity {
    pub(crate) id: String,
    pub(crate) group: String,
    pub(crate) description: String,
    pub(crate) cause: String,
    pub(crate) start: Instant,
    pub(crate) end: Option<Instant>,
    pub(crate) status: &'static str,
    pub(crate) progress: u32,
    pub(crate) details: &'static str,
}

/// Why an instance is launched or terminated.
#[derive(Debug, Clone, Copy)]
enum Why {
    Refresh,
    HealthCheck,
    Rollback,
}

impl Why {
    fn launched(self, at: &str) -> String {
        match self {
            Why::Refresh | Why::HealthCheck => {
                format!("At {at} an instance was launched in response to an instance refresh.")
            }
            Why::Rollback => format!(
                "At {at} an instance was launched in response to an instance refresh rollback."
            ),
        }
    }

    fn terminated(self, at: &str) -> String {
        match self {
            Why::Refresh => format!(
                "At {at} an instance was taken out of service in response to an instance refresh."
            ),
            Why::HealthCheck => format!(
                "At {at} an instance was taken out of service in response to an EC2 instance status checks failure."
            ),
            Why::Rollback => format!(
                "At {at} an instance was taken out of service in response to an instance refresh rollback."
            ),
        }
    }
}

/// How the refresh's course was cut, for its launches in flight. Guess, but for the cancel
/// (API `CancelInstanceRefresh`: in-flight launches and terminations go on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Launches in flight go on (a cancel: API `CancelInstanceRefresh`).
    GoOn,
    /// Launches not yet `InService` end with this status code (a failure, a rollback).
    End(&'static str),
}

/// The activities of `refresh` that have started by `now`, in the refresh's order of events.
pub(crate) fn of_refresh(
    refresh: &Refresh,
    now: Instant,
    suspended: &[Suspension],
    clock: &Clock,
) -> Vec<Activity> {
    let Some(layout) = refresh.plan.layout() else {
        return Vec::new();
    };
    let pending = refresh.plan.pending;
    let (resolved, freeze) = refresh.ending(now, suspended);
    let offset = |at: Instant| {
        let at = freeze.map_or(at, |f| at.min(f));
        refresh.refresh_time(at, suspended).checked_sub(pending)
    };
    // The course up to the cut (or now), and what happens after.
    let (limit, cut) = match resolved {
        Some(r) => {
            let Some(x) = offset(r.at) else {
                return Vec::new();
            };
            let cut = match r.outcome {
                Outcome::Cancel => Cut::GoOn,
                Outcome::Fail { .. } => Cut::End("Failed"),
                Outcome::Rollback { .. } => Cut::End("Cancelled"),
            };
            (Some((x, r.at)), cut)
        }
        None => (None, Cut::GoOn),
    };
    let Some(current) = (match limit {
        Some((x, at)) => Some(x.saturating_add(now.saturating_duration_since(at))),
        None => offset(now),
    }) else {
        return Vec::new();
    };
    // The instant of offset `x`: on the refresh's clock before the cut, on the wall clock after.
    let when = |x: Duration| -> Option<Instant> {
        match limit {
            Some((cut_x, at)) if x > cut_x => at.checked_add(x - cut_x),
            _ => refresh.instant_at(pending.saturating_add(x), suspended),
        }
    };
    let started = |x: Duration| match limit {
        Some((cut_x, _)) => x < cut_x,
        None => x <= current,
    };
    let mut out = Vec::new();
    let ctx = Context {
        refresh,
        clock,
        now,
        current,
        warmup: layout.warmup,
        ends: refresh.unknowns.launch_activity_ends,
    };
    for batch in &layout.batches {
        if !started(batch.start) {
            break;
        }
        for i in batch.first..batch.first + batch.size {
            let Some(slot) = layout.slots.get(usize::try_from(i).unwrap_or(usize::MAX)) else {
                continue;
            };
            // The old instance.
            let terminate_at = match layout.order {
                Order::Simultaneous => Some(batch.start),
                Order::LaunchFirst => slot.healthy().map(|(_, a)| a.in_service),
            };
            if let Some(x) = terminate_at.filter(|&x| started(x))
                && let Some(start) = when(x)
            {
                out.push(ctx.terminate(
                    activity_id(&refresh.id, b"terminate-old", i, 0),
                    &instance_id(&refresh.id, b"old", i, 0),
                    start,
                    Why::Refresh,
                ));
            }
            for (k, attempt) in slot.attempts.iter().enumerate() {
                if !started(attempt.launch) {
                    break;
                }
                let k = u32::try_from(k).unwrap_or(u32::MAX);
                let instance = instance_id(&refresh.id, b"new", i, k);
                let why = if k == 0 {
                    Why::Refresh
                } else {
                    Why::HealthCheck
                };
                let cut_here = match (limit, cut) {
                    (Some((cut_x, at)), Cut::End(code)) if attempt.in_service > cut_x => {
                        Some((at, code))
                    }
                    _ => None,
                };
                if let Some(a) = ctx.launch(
                    activity_id(&refresh.id, b"launch", i, k),
                    &instance,
                    attempt,
                    &when,
                    cut_here,
                    why,
                ) {
                    out.push(a);
                }
                if !attempt.healthy
                    && started(attempt.in_service)
                    && cut_here.is_none()
                    && let Some(start) = when(attempt.in_service)
                {
                    out.push(ctx.terminate(
                        activity_id(&refresh.id, b"terminate-unhealthy", i, k),
                        &instance,
                        start,
                        Why::HealthCheck,
                    ));
                }
            }
        }
    }
    if let Some(r) = resolved
        && let Some(Undo::Batched(undo)) = &r.undo
    {
        let taken = r.nat.taken;
        for (batch_start, first) in undo.batch_starts() {
            let Some(start) = r.at.checked_add(batch_start).filter(|&s| s <= now) else {
                break;
            };
            for (j, slot) in undo.slots.iter().enumerate().skip(first) {
                let attempt = &slot.attempts[0];
                if attempt.launch != batch_start {
                    break;
                }
                let j = u32::try_from(j).unwrap_or(u32::MAX);
                // The newest instances are undone first.
                let undone = taken.saturating_sub(j + 1);
                out.push(ctx.terminate(
                    activity_id(&refresh.id, b"rollback-terminate", j, 0),
                    &instance_id(&refresh.id, b"new", undone, 0),
                    start,
                    Why::Rollback,
                ));
                let on_wall = |x: Duration| r.at.checked_add(x);
                let rollback_ctx = Context {
                    current: now.saturating_duration_since(r.at),
                    ..ctx
                };
                if let Some(a) = rollback_ctx.launch(
                    activity_id(&refresh.id, b"rollback-launch", j, 0),
                    &instance_id(&refresh.id, b"rollback", j, 0),
                    attempt,
                    &on_wall,
                    None,
                    Why::Rollback,
                ) {
                    out.push(a);
                }
            }
        }
    }
    out.retain(|a| a.start <= now);
    out
}

/// What every activity of one refresh needs.
#[derive(Clone, Copy)]
struct Context<'a> {
    refresh: &'a Refresh,
    clock: &'a Clock,
    now: Instant,
    /// The refresh's offset now, on the clock the launches are timed on.
    current: Duration,
    warmup: Duration,
    ends: ActivityEnd,
}

impl Context<'_> {
    fn terminate(&self, id: String, instance: &str, start: Instant, why: Why) -> Activity {
        let end = start.checked_add(TERMINATE).filter(|&e| e <= self.now);
        Activity {
            id,
            group: self.refresh.group.clone(),
            description: format!("Terminating EC2 instance: {instance}"),
            cause: why.terminated(&self.clock.timestamp(start)),
            start,
            end,
            status: if end.is_some() {
                "Successful"
            } else {
                "InProgress"
            },
            progress: if end.is_some() { 100 } else { 50 },
            details: DETAILS,
        }
    }

    /// The launch activity of `attempt`, its offsets turned into instants by `when`; ended at
    /// the cut with its status code if the refresh's end cut it short.
    fn launch(
        &self,
        id: String,
        instance: &str,
        attempt: &Attempt,
        when: &dyn Fn(Duration) -> Option<Instant>,
        cut: Option<(Instant, &'static str)>,
        why: Why,
    ) -> Option<Activity> {
        let start = when(attempt.launch)?;
        let activity = |end: Option<Instant>, status: &'static str, progress: u32| Activity {
            id: id.clone(),
            group: self.refresh.group.clone(),
            description: format!("Launching a new EC2 instance: {instance}"),
            cause: why.launched(&self.clock.timestamp(start)),
            start,
            end,
            status,
            progress,
            details: DETAILS,
        };
        if let Some((at, code)) = cut
            && self.now >= at
        {
            return Some(activity(Some(at), code, 100));
        }
        let y = self.current;
        let warmed = attempt.in_service.saturating_add(self.warmup);
        let through_warmup = attempt.healthy && self.ends == ActivityEnd::AfterWarmup;
        Some(if y < attempt.hook_start {
            activity(None, "PreInService", 30)
        } else if y < attempt.in_service {
            activity(None, "MidLifecycleAction", 50)
        } else if through_warmup && y < warmed {
            activity(None, "WaitingForInstanceWarmup", 70)
        } else {
            let end = if through_warmup {
                when(warmed)
            } else {
                when(attempt.in_service)
            };
            activity(end, "Successful", 100)
        })
    }
}

/// Sort `activities` like `DescribeScalingActivities`: "Activities are sorted by start time.
/// Activities still in progress are described first." (API), newest first; ties keep the
/// later-created first.
pub(crate) fn sort(activities: &mut [Activity]) {
    activities.reverse();
    // Stable: ties stay later-created first.
    activities.sort_by(|a, b| {
        a.end
            .is_some()
            .cmp(&b.end.is_some())
            .then(b.start.cmp(&a.start))
    });
}
