//! One refresh: its natural course, what ends it early, and what it shows at any instant.
//!
//! Status is computed lazily from the tokio clock whenever it is read; there is no background
//! task. A refresh's progress is laid out when it starts, so reading it is a binary search; an
//! ending, once it has happened, is resolved once and kept.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::clock::Clock;
use super::config::GroupConfig;
use super::course::{Natural, Phase, Plan, Replacement};
use super::ending::{self, Request, Resolved};
use super::ids::{fnv1a, instance_id};
use super::instances::RETRY_FOR;
use super::prefs::{self, Preferences};
use super::snapshot::{RefreshSnapshot, RefreshStatus, RollbackSnapshot};
use super::unknowns::{EarlyEndKind, Unknowns, WarmupSentence};
use super::view::View;
use super::wording::{self, Situation};
use super::xml::Node;

/// A period during which the group's `Launch` process was suspended (`None`: still is).
pub(crate) type Suspension = (Instant, Option<Instant>);

/// What may end a refresh at a moment known in advance, or asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    Request(Request),
    FailAfter,
    Early(EarlyEndKind),
    /// An instance could not be made healthy for an hour.
    GaveUp,
    /// A stall has lasted an hour.
    StallOver,
}

/// One refresh and what it needs to compute its status at any instant.
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    pub(crate) id: String,
    pub(crate) group: String,
    pub(crate) started: Instant,
    pub(crate) strategy: String,
    /// The `Preferences` element Describe echoes.
    pub(crate) preferences: Node,
    /// The `DesiredConfiguration` element, as the request sent it.
    pub(crate) desired: Option<Node>,
    pub(crate) plan: Plan,
    pub(crate) unknowns: Unknowns,
    request: Option<(Instant, Request)>,
    fail_after: Option<Duration>,
    fail_reason: Option<String>,
    cancel: Duration,
    linear_rollback: Duration,
    auto_rollback: bool,
    /// The ending, once it has happened.
    resolved: OnceLock<Resolved>,
}

impl Refresh {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        group: String,
        started: Instant,
        config: &GroupConfig,
        strategy: String,
        preferences: &Preferences,
        desired: Option<Node>,
        unknowns: Unknowns,
    ) -> Self {
        let plan = Plan::new(&id, config, preferences, &unknowns);
        Refresh {
            preferences: preferences.echo(plan.bake_secs()),
            id,
            group,
            started,
            strategy,
            desired,
            plan,
            unknowns,
            request: None,
            fail_after: config.fail_after,
            fail_reason: config.fail_reason.clone(),
            cancel: config.cancel_duration,
            linear_rollback: config.rollback_duration,
            auto_rollback: preferences.auto_rollback(),
            resolved: OnceLock::new(),
        }
    }

    /// Whether `RollbackInstanceRefresh` can undo this refresh: it has a desired configuration
    /// pinned to a launch template version (UG "Undo changes with a rollback").
    pub(crate) fn reversible(&self) -> bool {
        prefs::reversible(self.desired.as_ref())
    }

    /// Cancel, roll back or fail at `now`. The caller checked that the refresh is Pending,
    /// InProgress or Baking.
    pub(crate) fn request(&mut self, request: Request, now: Instant) {
        self.request = Some((now, request));
        self.resolved = OnceLock::new();
    }

    /// Refresh time at `at`: the time since start, minus the time the refresh stood still
    /// because `Launch` was suspended while it was InProgress (it keeps running while
    /// Pending, and reaching InProgress under a suspension it stops at 0 %).
    pub(crate) fn refresh_time(&self, at: Instant, suspended: &[Suspension]) -> Duration {
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let mut tau = Duration::ZERO;
        let mut cursor = self.started;
        if at <= cursor {
            return tau;
        }
        for &(a, b) in suspended {
            let b = b.map_or(at, |b| b.min(at));
            let a = a.max(cursor);
            if a >= b {
                continue;
            }
            tau = tau.saturating_add(a - cursor);
            let d = b - a;
            if from < to && tau < to {
                if tau < from {
                    tau = tau.saturating_add(d).min(from);
                }
            } else {
                tau = tau.saturating_add(d);
            }
            cursor = b;
        }
        tau.saturating_add(at.saturating_duration_since(cursor))
    }

    /// The instant refresh time reaches `target` (the inverse of
    /// [`refresh_time`](Self::refresh_time)); `None` if it does not while `Launch` stays
    /// suspended, or beyond the clock's range.
    pub(crate) fn instant_at(&self, target: Duration, suspended: &[Suspension]) -> Option<Instant> {
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let mut tau = Duration::ZERO;
        let mut cursor = self.started;
        for &(a, b) in suspended {
            if b.is_some_and(|b| b <= cursor) {
                continue;
            }
            let a = a.max(cursor);
            // Running from the cursor to the suspension.
            let run = a - cursor;
            if tau.saturating_add(run) >= target {
                return cursor.checked_add(target - tau);
            }
            tau += run;
            let frozen = from < to && tau < to;
            match b {
                None if frozen && tau >= from => return None,
                None if frozen => {
                    // Pending runs out, then InProgress stands still.
                    return (target <= from)
                        .then(|| a.checked_add(target - tau))
                        .flatten();
                }
                None => return a.checked_add(target - tau),
                Some(b) => {
                    let d = b - a;
                    let moved = if !frozen {
                        d
                    } else if tau < from {
                        d.min(from - tau)
                    } else {
                        Duration::ZERO
                    };
                    if tau.saturating_add(moved) >= target {
                        return a.checked_add(target - tau);
                    }
                    tau += moved;
                    cursor = b;
                }
            }
        }
        cursor.checked_add(target.saturating_sub(tau))
    }

    /// When the refresh stalls ([`EarlyEndKind::Stalled`]), if it does: at the drawn moment,
    /// or when InProgress starts if that is later, provided it is then InProgress. Guess: a
    /// stall keeps `InProgress` with its progress frozen and no warmup sentence, and a refresh
    /// that is `Baking` does not stall.
    fn freeze(&self, suspended: &[Suspension]) -> Option<Instant> {
        let early = self.unknowns.early_end?;
        if early.kind != EarlyEndKind::Stalled {
            return None;
        }
        let at = self.started.checked_add(early.at)?;
        let in_progress = self.instant_at(self.plan.pending, suspended)?;
        let at = at.max(in_progress);
        matches!(
            self.plan.natural(self.refresh_time(at, suspended)).phase,
            Phase::Replacing | Phase::Checkpoint(_)
        )
        .then_some(at)
    }

    /// Whether a describe at refresh time `tau` gives the warmup sentence while an instance
    /// warms up (a guess, [`WarmupSentence`]): intermittently, on about half the whole seconds,
    /// by a hash of the refresh's id and the second.
    fn gives_warmup_sentence(&self, tau: Duration) -> bool {
        match self.unknowns.warmup_sentence {
            WarmupSentence::Always => true,
            WarmupSentence::Intermittent => {
                let second = tau.as_secs().to_le_bytes();
                // A high bit: FNV-1a's lowest one follows the bytes' parity alone.
                (fnv1a(self.id.bytes().chain(second)) >> 40) & 1 == 0
            }
        }
    }

    /// Refresh time at `at`, standing still from the stall on.
    fn effective_time(
        &self,
        at: Instant,
        freeze: Option<Instant>,
        suspended: &[Suspension],
    ) -> Duration {
        let at = freeze.map_or(at, |f| at.min(f));
        self.refresh_time(at, suspended)
    }

    /// The ending that has happened by `now`, if any: the earliest that applies of the API
    /// request, the scripted failure, the early end, giving up after an hour, and the end of a
    /// stall. Guess: an alarm or another actor's cancel applies while `Pending`, `InProgress`
    /// or `Baking` (alarms watch the bake too), and does nothing once the refresh ended.
    fn resolve(
        &self,
        now: Instant,
        freeze: Option<Instant>,
        suspended: &[Suspension],
    ) -> Option<&Resolved> {
        if let Some(resolved) = self.resolved.get() {
            return Some(resolved);
        }
        let mut causes: Vec<(Instant, Cause)> = Vec::with_capacity(5);
        if let Some((at, request)) = &self.request {
            causes.push((*at, Cause::Request(request.clone())));
        }
        if let Some(at) = self.fail_after.and_then(|d| self.started.checked_add(d)) {
            causes.push((at, Cause::FailAfter));
        }
        if let Some(early) = self.unknowns.early_end
            && early.kind != EarlyEndKind::Stalled
            && let Some(at) = self.started.checked_add(early.at)
        {
            causes.push((at, Cause::Early(early.kind)));
        }
        if let Some(at) = self
            .plan
            .failed_at()
            .and_then(|f| self.instant_at(f, suspended))
            .filter(|&at| freeze.is_none_or(|f| at <= f))
        {
            causes.push((at, Cause::GaveUp));
        }
        if let Some(at) = freeze.and_then(|f| f.checked_add(RETRY_FOR)) {
            causes.push((at, Cause::StallOver));
        }
        causes.sort_by_key(|c| c.0);
        let (at, cause, nat) =
            causes
                .into_iter()
                .filter(|c| c.0 <= now)
                .find_map(|(at, cause)| {
                    let nat = self
                        .plan
                        .natural(self.effective_time(at, freeze, suspended));
                    let applies = match cause {
                        Cause::Request(_) | Cause::GaveUp | Cause::StallOver => true,
                        Cause::FailAfter | Cause::Early(_) => nat.phase.is_running(),
                    };
                    applies.then_some((at, cause, nat))
                })?;
        let resolved = self.resolved_by(at, cause, nat, freeze, suspended);
        // Fixed from now on: the moments before `now` cannot change, and no request is taken
        // once the refresh has ended (`request` clears it otherwise).
        let _ = self.resolved.set(resolved);
        self.resolved.get()
    }

    fn resolved_by(
        &self,
        at: Instant,
        cause: Cause,
        nat: Natural,
        freeze: Option<Instant>,
        suspended: &[Suspension],
    ) -> Resolved {
        let wording = self.unknowns.status_reasons;
        let failed = || wording::reason(wording, Situation::Failed);
        match cause {
            Cause::Request(Request::Cancel { wait }) => {
                self.cancelled(at, nat, wait, freeze, suspended)
            }
            Cause::Early(EarlyEndKind::Cancelled {
                wait_for_transitioning_instances: wait,
            }) => self.cancelled(at, nat, wait, freeze, suspended),
            Cause::Request(Request::Rollback) => {
                self.rolled_back(at, nat, wording::reason(wording, Situation::UserRollback))
            }
            Cause::Request(Request::Fail(reason)) => self.failed(at, nat, Some(reason)),
            Cause::FailAfter => self.failed(at, nat, self.fail_reason.clone().or_else(failed)),
            Cause::Early(EarlyEndKind::AlarmRolledBack) if self.reversible() => {
                self.rolled_back(at, nat, wording::auto_rollback_reason(wording, None))
            }
            Cause::Early(_) => self.failed(at, nat, failed()),
            Cause::GaveUp | Cause::StallOver => self.failed(
                at,
                nat,
                wording::reason(wording, Situation::FailedNoHealthyInstance),
            ),
        }
    }

    fn cancelled(
        &self,
        at: Instant,
        nat: Natural,
        wait: bool,
        freeze: Option<Instant>,
        suspended: &[Suspension],
    ) -> Resolved {
        let x = self
            .effective_time(at, freeze, suspended)
            .checked_sub(self.plan.pending);
        let in_flight = match (self.plan.layout(), x) {
            (Some(layout), Some(x)) => layout
                .in_flight_until(x)
                .map_or(Duration::ZERO, |end| end.saturating_sub(x)),
            _ => Duration::ZERO,
        };
        Resolved::cancel(at, nat, wait, in_flight, self.cancel)
    }

    /// `Failed` at `at`, or with `AutoRollback` a rollback (API `RefreshPreferences`: roll back
    /// "if the instance refresh fails or a CloudWatch alarm threshold is met").
    fn failed(&self, at: Instant, nat: Natural, reason: Option<String>) -> Resolved {
        if self.auto_rollback && self.reversible() {
            let wording = self.unknowns.status_reasons;
            self.rolled_back(
                at,
                nat,
                wording::auto_rollback_reason(wording, reason.as_deref()),
            )
        } else {
            Resolved::fail(at, nat, reason)
        }
    }

    fn rolled_back(&self, at: Instant, nat: Natural, reason: Option<String>) -> Resolved {
        let mut rng = fastrand::Rng::with_seed(fnv1a(self.id.bytes().chain(*b"rollback")));
        let undo = ending::undo(&self.plan, &nat, self.linear_rollback, &mut rng);
        Resolved::rollback(at, nat, reason, undo)
    }

    /// The refresh's state at `now`, given the group's `Launch` suspensions.
    pub(crate) fn view(&self, now: Instant, suspended: &[Suspension]) -> View {
        let freeze = self.freeze(suspended);
        if let Some(resolved) = self.resolve(now, freeze, suspended) {
            return resolved.view(now, &self.plan, self.unknowns.status_reasons);
        }
        let tau = self.effective_time(now, freeze, suspended);
        let nat = self.plan.natural(tau);
        let wording = self.unknowns.status_reasons;
        let frozen = freeze.is_some_and(|f| now >= f);
        let (from, to) = (self.plan.pending, self.plan.in_progress_end());
        let suspended_now = from < to
            && (from..to).contains(&tau)
            && suspended
                .last()
                .is_some_and(|&(a, b)| a <= now && b.is_none());
        let reason = match nat.phase {
            _ if frozen => wording::reason(wording, Situation::NoProgress),
            _ if suspended_now => wording::reason(wording, Situation::LaunchSuspended),
            Phase::Pending => wording::reason(wording, Situation::Pending),
            Phase::Replacing => match &self.plan.replacement {
                // Linear refreshes keep the sentence, naming the next instance.
                Replacement::Linear(_) => Some(wording::warming_up(&instance_id(
                    &self.id, b"new", nat.done, 0,
                ))),
                Replacement::Batched(layout) => match nat.warming {
                    Some(slot) if self.gives_warmup_sentence(tau) => {
                        let attempt = layout
                            .slots
                            .get(usize::try_from(slot).unwrap_or(usize::MAX))
                            .and_then(|s| s.healthy())
                            .map_or(0, |(a, _)| a);
                        Some(wording::warming_up(&instance_id(
                            &self.id,
                            b"new",
                            slot,
                            u32::try_from(attempt).unwrap_or(0),
                        )))
                    }
                    _ => wording::reason(wording, Situation::Launching),
                },
            },
            Phase::Checkpoint(c) => wording::reason(wording, Situation::Checkpoint(c)),
            Phase::Baking => wording::reason(wording, Situation::Baking),
            Phase::Done => None,
            Phase::Failed => wording::reason(wording, Situation::FailedNoHealthyInstance),
        };
        View {
            status: match nat.phase {
                Phase::Pending => RefreshStatus::Pending,
                Phase::Replacing | Phase::Checkpoint(_) => RefreshStatus::InProgress,
                Phase::Baking => RefreshStatus::Baking,
                Phase::Done => RefreshStatus::Successful,
                Phase::Failed => RefreshStatus::Failed,
            },
            reason,
            percentage: nat.percentage,
            instances_to_update: self.plan.instances_to_update(&nat),
            end: matches!(nat.phase, Phase::Done | Phase::Failed)
                .then(|| self.instant_at(self.plan.natural_end(), suspended))
                .flatten(),
            checkpoint: match nat.phase {
                Phase::Checkpoint(c) => Some(c),
                _ => None,
            },
            stalled: frozen || suspended_now,
            rollback: None,
        }
    }

    /// When the refresh would end if nothing intervened.
    fn planned_end(&self, suspended: &[Suspension]) -> Option<Instant> {
        self.instant_at(self.plan.natural_end(), suspended)
    }

    /// What ended the refresh and when, once it has (for its activities), and when it stalls.
    pub(crate) fn ending(
        &self,
        now: Instant,
        suspended: &[Suspension],
    ) -> (Option<&Resolved>, Option<Instant>) {
        let freeze = self.freeze(suspended);
        (self.resolve(now, freeze, suspended), freeze)
    }

    /// The public snapshot of this refresh at `now`.
    pub(crate) fn snapshot(
        &self,
        now: Instant,
        suspended: &[Suspension],
        clock: &Clock,
    ) -> RefreshSnapshot {
        let v = self.view(now, suspended);
        let wall = |at: Instant| -> SystemTime { clock.wall(at) };
        RefreshSnapshot {
            id: self.id.clone(),
            group: self.group.clone(),
            status: v.status,
            status_reason: v.reason,
            percentage_complete: v.percentage,
            instances_to_update: v.instances_to_update,
            start_time: wall(self.started),
            end_time: v.end.map(wall),
            checkpoint: v.checkpoint,
            stalled: v.stalled,
            batch_size: self.plan.layout().map(|l| l.size),
            rollback: v.rollback.map(|r| RollbackSnapshot {
                reason: r.reason,
                start_time: wall(r.at),
                percentage_complete_on_rollback: r.percentage,
                instances_to_update_on_rollback: r.instances_to_update,
            }),
            unknowns: self.unknowns.clone(),
            planned_end: self.planned_end(suspended).map(wall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::unknowns::{EarlyEnd, ReasonWording};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn refresh_with(config: GroupConfig, preferences: &Preferences) -> (Refresh, Instant) {
        let t0 = Instant::now();
        let unknowns = config.apply_overrides(config.fixed_unknowns().cloned().unwrap_or_default());
        let r = Refresh::new(
            "id".into(),
            "web".into(),
            t0,
            &config,
            "Rolling".into(),
            preferences,
            None,
            unknowns,
        );
        (r, t0)
    }

    fn refresh(config: GroupConfig) -> (Refresh, Instant) {
        refresh_with(config, &Preferences::default())
    }

    fn linear(instances: u32, pending: u64, work: u64) -> GroupConfig {
        GroupConfig::default()
            .instances(instances)
            .pending_duration(secs(pending))
            .refresh_duration(secs(work))
    }

    #[test]
    fn linear_lifecycle() {
        let (r, t0) = refresh(linear(4, 10, 100).bake_duration(secs(20)));
        let at = |s| r.view(t0 + secs(s), &[]);
        assert_eq!(at(0).status, RefreshStatus::Pending);
        assert_eq!(at(0).reason, None);
        assert_eq!(at(10).status, RefreshStatus::InProgress);
        assert_eq!((at(60).percentage, at(60).instances_to_update), (50, 2));
        assert!(
            at(60)
                .reason
                .is_some_and(|r| r.starts_with("Waiting for instances to warm up"))
        );
        assert_eq!(
            (at(110).status, at(110).percentage),
            (RefreshStatus::Baking, 100)
        );
        assert_eq!(at(110).reason, None);
        assert_eq!(at(130).status, RefreshStatus::Successful);
        assert_eq!(at(999).end, Some(t0 + secs(130)));
        assert_eq!(at(999).reason, None);

        let worded = Unknowns::default().with_status_reasons(ReasonWording::Variant(0));
        let (r, t0) = refresh(linear(4, 10, 100).unknowns(worded));
        assert!(r.view(t0, &[]).reason.is_some());
    }

    #[test]
    fn a_scripted_failure_freezes_progress() {
        let (r, t0) = refresh(linear(2, 0, 100).fail_after(secs(30)));
        let v = r.view(t0 + secs(50), &[]);
        assert_eq!((v.status, v.percentage), (RefreshStatus::Failed, 30));
        assert_eq!(v.end, Some(t0 + secs(30)));
        assert_eq!(v.reason, None);
        let (r, t0) = refresh(linear(2, 0, 100).fail_after(secs(30)).fail_reason("boom"));
        assert_eq!(r.view(t0 + secs(50), &[]).reason.as_deref(), Some("boom"));
    }

    #[test]
    fn cancel_waits_or_not_and_rollback_goes_back_down() {
        let config = linear(10, 0, 100)
            .cancel_duration(secs(5))
            .rollback_duration(secs(10));
        let (mut r, t0) = refresh(config.clone());
        r.request(Request::Cancel { wait: true }, t0 + secs(40));
        assert_eq!(r.view(t0 + secs(41), &[]).status, RefreshStatus::Cancelling);
        let done = r.view(t0 + secs(45), &[]);
        assert_eq!(
            (done.status, done.percentage),
            (RefreshStatus::Cancelled, 40)
        );
        assert_eq!(done.end, Some(t0 + secs(45)));

        let (mut r, t0) = refresh(config.clone());
        r.request(Request::Cancel { wait: false }, t0 + secs(40));
        let done = r.view(t0 + secs(40), &[]);
        assert_eq!(
            (done.status, done.end),
            (RefreshStatus::Cancelled, Some(t0 + secs(40)))
        );

        let (mut r, t0) = refresh(config);
        r.request(Request::Rollback, t0 + secs(50));
        let mid = r.view(t0 + secs(55), &[]);
        assert_eq!(mid.status, RefreshStatus::RollbackInProgress);
        let details = mid.rollback.expect("details");
        assert_eq!(
            (details.at, details.percentage, details.instances_to_update),
            (t0 + secs(50), 50, 5)
        );
        assert_eq!(mid.percentage, 25);
        let end = r.view(t0 + secs(60), &[]);
        assert_eq!(
            (end.status, end.percentage),
            (RefreshStatus::RollbackSuccessful, 0)
        );
        assert_eq!(end.end, Some(t0 + secs(60)));
    }

    #[test]
    fn instant_at_inverts_refresh_time() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..200 {
            let config = GroupConfig::default()
                .instances(rng.u32(1..6))
                .pending_duration(secs(rng.u64(0..50)))
                .launch_duration(secs(rng.u64(0..100)));
            let (r, t0) = refresh(config);
            let mut suspended = Vec::new();
            let mut t = t0;
            for _ in 0..rng.usize(0..4) {
                let a = t + secs(rng.u64(0..200));
                let b = a + secs(rng.u64(1..200));
                suspended.push((a, Some(b)));
                t = b;
            }
            if rng.bool() {
                suspended.push((t + secs(rng.u64(0..200)), None));
            }
            for _ in 0..20 {
                let target = secs(rng.u64(0..1500));
                if let Some(at) = r.instant_at(target, &suspended) {
                    assert_eq!(r.refresh_time(at, &suspended), target);
                    // The first such instant.
                    if at > t0 {
                        let before = at - Duration::from_millis(1);
                        assert!(r.refresh_time(before, &suspended) < target);
                    }
                }
            }
        }
    }

    #[test]
    fn launch_suspension_freezes_in_progress_only() {
        let (r, t0) = refresh(linear(10, 10, 100));
        // Suspended from 5 s (Pending) to 50 s: Pending runs out at 10 s, then the refresh
        // stands at 0 % until 50 s.
        let s = [(t0 + secs(5), Some(t0 + secs(50)))];
        let v = r.view(t0 + secs(30), &s);
        assert_eq!((v.status, v.percentage), (RefreshStatus::InProgress, 0));
        assert_eq!(r.view(t0 + secs(100), &s).percentage, 50);
        assert_eq!(r.view(t0 + secs(200), &s).end, Some(t0 + secs(150)));
        assert_eq!(r.planned_end(&s), Some(t0 + secs(150)));
        // Still suspended: frozen, and said so; no planned end.
        let open = [(t0 + secs(60), None)];
        let v = r.view(t0 + secs(1000), &open);
        assert_eq!((v.status, v.percentage), (RefreshStatus::InProgress, 50));
        assert!(v.stalled);
        assert_eq!(r.planned_end(&open), None);
    }

    #[test]
    fn extreme_durations_do_not_panic() {
        let config = GroupConfig::default()
            .instances(3)
            .pending_duration(Duration::MAX)
            .cancel_duration(Duration::MAX)
            .fail_after(Duration::MAX)
            .launch_duration(Duration::MAX);
        let preferences = Preferences {
            instance_warmup: Some(u32::MAX),
            ..Preferences::default()
        };
        let (mut r, t0) = refresh_with(config.clone(), &preferences);
        assert_eq!(r.view(t0 + secs(1), &[]).status, RefreshStatus::Pending);
        r.request(Request::Cancel { wait: true }, t0 + secs(2));
        let v = r.view(t0 + secs(3), &[(t0, None)]);
        assert_eq!((v.status, v.end), (RefreshStatus::Cancelling, None));

        let stall =
            Unknowns::default().with_early_end(EarlyEnd::new(EarlyEndKind::Stalled, Duration::MAX));
        let (r, t0) = refresh_with(
            config.pending_duration(Duration::ZERO).unknowns(stall),
            &preferences,
        );
        let v = r.view(t0 + secs(3600), &[]);
        assert_eq!((v.status, v.percentage), (RefreshStatus::InProgress, 0));
        assert_eq!(r.planned_end(&[]), None);
    }
}
