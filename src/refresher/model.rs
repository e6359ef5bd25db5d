//! A model check of the start-and-adopt protocol (tests only).
//!
//! [stateright] explores every interleaving of: one or two calls (each a [`Refresher::start`] or
//! a plain tower/SDK call), the group's one-refresh lock, each `StartInstanceRefresh` request
//! answered, refused, throttled, answered with a 5xx, or lost on the way there or back (a lost or
//! 5xx request may have been applied), describes that fail, refreshes that end (succeed, fail, or
//! are cancelled, by someone or by a call's `CancelAndReplace`), and a second deployer that starts
//! refreshes of its own at any moment. It checks that
//!
//! - **one refresh per call**: no call ever has more than one refresh started by its requests;
//! - **only its own**: a call returns (started or adopted) only a refresh that its own request
//!   started, never someone else's;
//! - **always ending**: every call ends, within a bound of its own steps;
//! - **never a non-matching refresh**: a call adopts only a refresh of its own request;
//! - **a re-run adopts** ([`OnConflict::Adopt`]): a call that sees a refresh of its request
//!   running, such as the one an earlier run of the same deploy started before it was killed,
//!   adopts it, and never starts a second one.
//!
//! The calls decide with the very functions that the crate runs: the Refresher with
//! [`StartProtocol`] and [`own_refresh`], the plain paths with [`after_failure`] (classifier,
//! guard, schedule), the outcome of each answer with the guard's [`outcome_unknown`] and the
//! default [`Classifier`]. Only the I/O is modelled.
//!
//! Modelling choices:
//! - Each request is one step: the server applies it (or not) and the answer (or its loss) comes
//!   back at once. Nothing reads the group between the two, so anything that could happen in
//!   between may as well happen after. A request is never applied after its answer (or its
//!   timeout) reached the call.
//! - The SDK's own quick retry inside one attempt ([`Fate::SdkRetried`]: a first try whose answer
//!   is lost, then a second that meets the group's refresh) follows its first try at once. That
//!   it may race the end of a refresh its first try started is the one documented exception (the
//!   crate docs, "No second refresh"); [`Variant::QuickRetryRace`] shows the checker finds it.
//! - Time is logical: refreshes from before the calls started long ago or within the clock-skew
//!   window; refreshes during the calls start after the calls began. Each call's request differs
//!   from the second deployer's, and from the other call's (an identical request from someone
//!   else in the window cannot be told apart, as the crate docs say; [`Variant::SameRequest`]
//!   shows the checker finds exactly that).
//! - An earlier run of the deploy that was killed ([`Who::Earlier`]) left a refresh of the
//!   very request of the model's first [`OnConflict::Adopt`] call, started long ago or within
//!   the clock-skew window, still running or ended: the initial states of every model with such
//!   a call.
//! - Waits are counted by the real schedule (`max_attempts`, no jitter); what a status-aware wait
//!   estimates does not matter here, only that the blocker may or may not have ended.
//!
//! Each check runs to the end of every path (the model is finite: the policy bounds the waits,
//! and the second deployer starts at most two refreshes) and prints the unique states and the
//! depth. Broken variants of the decisions ([`Variant`]) are each caught with a shortest
//! counterexample, which the tests print. The runs against a static group are also replayed on
//! the simulator (`replay`), which ties the modelled I/O to the code.
//!
//! [`Refresher::start`]: super::Refresher::start

use std::time::Duration;

use stateright::{Checker, HasDiscoveries, Model, Property};

use super::options::OnConflict;
use super::protocol::{Failure, Own, StartProtocol, Step, matching_blocker, own_refresh};
use crate::core::attempt::{Next, after_failure};
use crate::core::classify::{Classifier, Verdict};
use crate::core::error_code::ProvideErrorCode;
use crate::core::guard::outcome_unknown;
use crate::core::outcome::StopReason;
use crate::core::policy::{Jitter, RetryPolicy};
use crate::core::schedule::Decision;
use crate::core::settings::Settings;

/// Logical start times: before the skew window, within it, and during the calls.
const OLD: u8 = 0;
const RECENT: u8 = 1;
const DURING: u8 = 2;
/// The calls began at `DURING`; less the clock skew, they look back to `RECENT`.
const SINCE: u8 = RECENT;
/// The second deployer's request (a call's request is its index).
const OTHERS: u8 = 9;

/// Which integration makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Refresher(OnConflict),
    /// The SDK interceptor or the tower layer: blind waits, and the duplicate guard.
    Plain,
}

/// The decision under test: the crate's own, or a deliberately broken one that the checker must
/// catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Real,
    /// Refresher: after an unknown outcome that was not a refusal, start again at once.
    ResendAfterLoss,
    /// Refresher: adopt a recent refresh without matching it against the request.
    AdoptUnmatched,
    /// Plain paths: the guard's answer is ignored.
    IgnoreGuard,
    /// Refresher: while describes fail, look again without asking the schedule.
    LookForever,
    /// The real decision, but the SDK's quick retry may race the end of the refresh that its
    /// first try started (documented).
    QuickRetryRace,
    /// The real decision, but the second deployer sends the very same request (documented).
    SameRequest,
    /// Refresher, `Adopt`: adopt whatever blocks the group, matching or not.
    AdoptAnyBlocker,
    /// Refresher, `Adopt`: never adopt a blocker (wait it out, as `Wait`).
    AdoptNever,
}

#[derive(Debug, Clone)]
struct ProtocolModel {
    calls: Vec<Path>,
    /// Waits the policy allows each call (`max_attempts` is one more).
    waits: u32,
    /// Refreshes the second deployer starts, at most.
    others: u8,
    /// The Refresher describes the blocker while it waits (`Refresher::status_aware`).
    status_aware: bool,
    variant: Variant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Call(u8),
    Other,
    /// An earlier run of the deploy, killed after it started its refresh.
    Earlier,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Refresh {
    id: u8,
    by: Who,
    request: u8,
    started: u8,
    active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum End {
    Started(u8),
    Adopted(u8),
    GaveUp(StopReason),
    Failed,
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum At {
    /// The Refresher's next step.
    Step(Step<u8>),
    /// The Refresher inside `wait_out_blocker` (after a cancel, too).
    WaitOut,
    /// A plain call's next attempt.
    Attempt,
    Done(End),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Call {
    at: At,
    protocol: StartProtocol,
    /// The plain paths' guard: an attempt of this call may have started a refresh.
    may_have_started: bool,
    waited: u32,
    nothing_active: u8,
    steps: u8,
    /// A describe showed a refresh of the call's own request running (ground truth, whatever
    /// the call decided).
    saw_matching: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct State {
    /// Oldest first; at most one active.
    refreshes: Vec<Refresh>,
    calls: Vec<Call>,
    others_left: u8,
}

/// What becomes of one `StartInstanceRefresh` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fate {
    /// Applied, and the answer arrives: 200, or 400 `InstanceRefreshInProgress`.
    Answered,
    /// Applied (a refresh starts if the group is free); the answer is lost (a timeout).
    AnswerLost,
    /// Never reached Auto Scaling (a timeout, a broken connection).
    RequestLost,
    /// 400 `Throttling`.
    Throttled,
    /// 500 `InternalFailure`, applied or not.
    InternalFailure { applied: bool },
    /// 500 `ResourceContention`: refused.
    ResourceContention,
    /// The SDK's own quick retry inside the attempt: the first try may have been applied (its
    /// answer was lost), the second is answered at once (nothing happens in between).
    SdkRetried { first_applied: bool },
    /// The same, but the refresh that the first try started ends before the second try: the
    /// documented exception ([`Variant::QuickRetryRace`] only).
    SdkRetriedAfterItEnded,
}

const FATES: [Fate; 9] = [
    Fate::Answered,
    Fate::AnswerLost,
    Fate::RequestLost,
    Fate::Throttled,
    Fate::InternalFailure { applied: true },
    Fate::InternalFailure { applied: false },
    Fate::ResourceContention,
    Fate::SdkRetried {
        first_applied: true,
    },
    Fate::SdkRetried {
        first_applied: false,
    },
];

impl Fate {
    fn applied(self) -> bool {
        matches!(
            self,
            Fate::Answered
                | Fate::AnswerLost
                | Fate::InternalFailure { applied: true }
                | Fate::SdkRetried {
                    first_applied: true
                }
                | Fate::SdkRetriedAfterItEnded
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Action {
    /// A call's `StartInstanceRefresh`, and what becomes of it.
    Start(u8, Fate),
    /// A call's describe of the group's refreshes; `false`: it fails.
    Describe(u8, bool),
    /// A call's `CancelInstanceRefresh`; `false`: it fails.
    Cancel(u8, bool),
    /// A status-aware call waits without a describe, and its next look is a start: its estimate
    /// says nothing but the blocker's end is left to learn (`Estimate::probe`). Whether it does
    /// is the estimate's business; the model lets it happen at any wait.
    Probe(u8),
    /// The second deployer starts a refresh.
    OtherStarts,
    /// The active refresh ends (or someone cancels it).
    Ends,
}

/// A failed attempt, as the error's code and the guard see it.
struct Answer {
    /// An earlier try inside the same SDK call had an unknown outcome (the guard remembers it).
    earlier_unknown: bool,
    transport: bool,
    status: Option<u16>,
    code: Option<&'static str>,
}

impl ProvideErrorCode for Answer {
    fn error_code(&self) -> Option<&str> {
        self.code
    }

    fn may_have_started_refresh(&self) -> bool {
        self.earlier_unknown || outcome_unknown(self.transport, self.status, self.code)
    }
}

impl Answer {
    fn of(fate: Fate) -> Answer {
        let in_progress = (false, Some(400), Some("InstanceRefreshInProgress"));
        let (transport, status, code) = match fate {
            Fate::Answered | Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded => in_progress,
            Fate::AnswerLost | Fate::RequestLost => (true, None, None),
            Fate::Throttled => (false, Some(400), Some("Throttling")),
            Fate::InternalFailure { .. } => (false, Some(500), Some("InternalFailure")),
            Fate::ResourceContention => (false, Some(500), Some("ResourceContention")),
        };
        Answer {
            earlier_unknown: matches!(fate, Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded),
            transport,
            status,
            code,
        }
    }
}

impl State {
    fn active(&self) -> Option<&Refresh> {
        self.refreshes.iter().find(|r| r.active)
    }

    fn begin(&mut self, by: Who, request: u8) -> u8 {
        let id = u8::try_from(self.refreshes.len()).unwrap_or(u8::MAX);
        self.refreshes.push(Refresh {
            id,
            by,
            request,
            started: DURING,
            active: true,
        });
        id
    }

    /// The active refresh, if any, ends (succeeds, fails, or is cancelled).
    fn end_active(&mut self) {
        if let Some(r) = self.refreshes.iter_mut().find(|r| r.active) {
            r.active = false;
        }
    }

    fn running(&self) -> bool {
        self.calls.iter().any(|c| !matches!(c.at, At::Done(_)))
    }
}

impl ProtocolModel {
    fn new(calls: Vec<Path>, variant: Variant) -> Self {
        ProtocolModel {
            calls,
            waits: 2,
            others: 2,
            status_aware: true,
            variant,
        }
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy::builder()
            .jitter(Jitter::None)
            .max_attempts(self.waits + 1)
            .build()
            .expect("a valid policy")
    }

    /// The real schedule after `waited` waits: may the call wait once more?
    fn may_wait(&self, waited: u32) -> Result<(), StopReason> {
        let mut schedule = self.policy().schedule();
        for _ in 0..waited {
            let _ = schedule.on_failure(Duration::ZERO);
        }
        match schedule.on_failure(Duration::ZERO) {
            Decision::RetryAfter(_) => Ok(()),
            Decision::Stop(reason) => Err(reason),
        }
    }

    /// The plain paths' decision after a failed attempt, on the real schedule after `waited`
    /// waits. The classifier also waits on `InternalFailure`, as a user's may: the guard's
    /// hardest case.
    fn plain_next(&self, waited: u32, err: &Answer, may_have_started: bool) -> Next {
        let mut settings = Settings::new(self.policy());
        settings.classifier = Classifier::default().with_code("InternalFailure");
        let mut schedule = None;
        let blocked = Answer::of(Fate::Answered);
        for _ in 0..waited {
            let _ = after_failure(&settings, &mut schedule, &blocked, false, || Duration::ZERO);
        }
        let guard = may_have_started && self.variant != Variant::IgnoreGuard;
        after_failure(&settings, &mut schedule, err, guard, || Duration::ZERO)
    }

    fn request(&self, call: u8) -> u8 {
        call
    }

    /// The request of the first `Adopt` call, which the earlier run sent too.
    fn earlier_request(&self) -> Option<u8> {
        self.calls
            .iter()
            .position(|p| *p == Path::Refresher(OnConflict::Adopt))
            .and_then(|i| u8::try_from(i).ok())
    }

    fn others_request(&self) -> u8 {
        if self.variant == Variant::SameRequest {
            0
        } else {
            OTHERS
        }
    }

    /// A Refresher step that needs nothing from outside (adopt, fail, wait, give up) is taken at
    /// once: the next state shows the step that does.
    fn settle(&self, call: &mut Call, step: Step<u8>, on_conflict: OnConflict) {
        call.at = match step {
            Step::Adopt(id) => At::Done(End::Adopted(id)),
            Step::Fail => At::Done(End::Failed),
            Step::WaitToLookAgain if self.variant == Variant::LookForever => {
                At::Step(call.protocol.after_wait())
            }
            Step::WaitToLookAgain => match self.waited(call) {
                Ok(()) => return self.after_wait_out(call, on_conflict),
                Err(_) => At::Done(End::GaveUp(StopReason::PossiblyOwnRefresh)),
            },
            Step::Conflict => match on_conflict {
                OnConflict::Fail => At::Done(End::Conflict),
                OnConflict::Wait if self.status_aware => At::WaitOut,
                // Adopting describes the blocker even without status.
                OnConflict::Adopt => At::WaitOut,
                // Without status: one wait on the plain schedule, then a new start.
                OnConflict::Wait => match self.waited(call) {
                    Ok(()) => return self.after_wait_out(call, on_conflict),
                    Err(reason) => At::Done(End::GaveUp(reason)),
                },
                // Cancel first: the next action is the cancel.
                OnConflict::CancelAndReplace => At::Step(Step::Conflict),
            },
            step => At::Step(step),
        };
    }

    /// One wait, if the schedule allows it.
    fn waited(&self, call: &mut Call) -> Result<(), StopReason> {
        self.may_wait(call.waited).map(|()| call.waited += 1)
    }

    /// A wait inside `wait_out_blocker`; `then` is where the call goes after it.
    fn wait_or_give_up(&self, call: &mut Call, then: At) {
        call.at = match self.waited(call) {
            Ok(()) => then,
            Err(reason) => At::Done(End::GaveUp(reason)),
        };
    }

    /// A wait is over: the protocol's next step.
    fn after_wait_out(&self, call: &mut Call, on_conflict: OnConflict) {
        let step = call.protocol.after_wait();
        self.settle(call, step, on_conflict);
    }

    fn decide_after_attempt(&self, call: &mut Call, failure: Failure) -> Step<u8> {
        if self.variant == Variant::ResendAfterLoss && failure.unknown && !failure.blocked {
            return Step::Start;
        }
        call.protocol.after_attempt(failure)
    }

    fn start(&self, state: &mut State, i: u8, fate: Fate) {
        let path = self.calls[usize::from(i)];
        let mut started = match (fate.applied(), state.active().is_some()) {
            (true, false) => Some(state.begin(Who::Call(i), self.request(i))),
            _ => None,
        };
        if let Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded = fate {
            if fate == Fate::SdkRetriedAfterItEnded {
                state.end_active();
            }
            // The SDK's second try, answered.
            started = match state.active() {
                Some(_) => None,
                None => Some(state.begin(Who::Call(i), self.request(i))),
            };
        }
        let call = &mut state.calls[usize::from(i)];
        if let Some(id) = started
            && matches!(
                fate,
                Fate::Answered | Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded
            )
        {
            call.at = At::Done(End::Started(id));
            return;
        }
        let err = Answer::of(fate);
        match path {
            Path::Refresher(on_conflict) => {
                let failure = Failure {
                    unknown: err.may_have_started_refresh(),
                    blocked: Classifier::default().classify(&err) == Verdict::RetryAfterWait,
                };
                let step = self.decide_after_attempt(call, failure);
                self.settle(call, step, on_conflict);
            }
            Path::Plain => {
                call.may_have_started |= err.may_have_started_refresh();
                call.at = match self.plain_next(call.waited, &err, call.may_have_started) {
                    Next::PassThrough => At::Done(End::Failed),
                    Next::Wait(_) => {
                        call.waited += 1;
                        At::Attempt
                    }
                    Next::GiveUp(reason) => At::Done(End::GaveUp(reason)),
                };
            }
        }
    }

    fn describe(&self, state: &mut State, i: u8, ok: bool) {
        let Path::Refresher(on_conflict) = self.calls[usize::from(i)] else {
            return;
        };
        let active = state.active().is_some();
        let newest_first: Vec<Refresh> = state.refreshes.iter().rev().cloned().collect();
        let request = self.request(i);
        // Under Adopt, the blocker this describe would adopt: the crate's decision.
        let adopted = (ok
            && on_conflict == OnConflict::Adopt
            && self.variant != Variant::AdoptNever)
            .then(|| {
                let adopts =
                    |r: &Refresh| self.variant == Variant::AdoptAnyBlocker || r.request == request;
                matching_blocker(&newest_first, |r| r.active, adopts).map(|r| r.id)
            })
            .flatten();
        let call = &mut state.calls[usize::from(i)];
        match call.at {
            At::Step(Step::Look) => {
                let own = if ok {
                    let matches = |r: &Refresh| {
                        self.variant == Variant::AdoptUnmatched || r.request == request
                    };
                    match own_refresh(&newest_first, &SINCE, |r| Some(r.started), matches) {
                        Some(r) => Own::Found(r.id),
                        None => adopted.map_or(Own::NotThere, Own::Found),
                    }
                } else {
                    Own::Unknown
                };
                let step = call.protocol.after_look(own);
                self.settle(call, step, on_conflict);
            }
            At::WaitOut => {
                call.saw_matching |= ok
                    && newest_first
                        .iter()
                        .any(|r| r.active && r.request == request);
                if let Some(id) = adopted {
                    call.at = At::Done(End::Adopted(id));
                } else if !ok || (active && !self.status_aware) {
                    // The plain schedule, then a new start (adopting without status: the
                    // describe only matched).
                    self.wait_or_give_up(call, At::WaitOut);
                    if call.at == At::WaitOut {
                        self.after_wait_out(call, on_conflict);
                    }
                } else if active {
                    call.nothing_active = 0;
                    self.wait_or_give_up(call, At::WaitOut);
                } else {
                    call.nothing_active = call.nothing_active.saturating_add(1);
                    if call.nothing_active > 1 {
                        self.wait_or_give_up(call, At::WaitOut);
                    }
                    if call.at == At::WaitOut {
                        self.after_wait_out(call, on_conflict);
                    }
                }
            }
            _ => {}
        }
    }

    fn cancel(&self, state: &mut State, i: u8, ok: bool) {
        if ok {
            // Whatever is active (nothing: `ActiveInstanceRefreshNotFound`, which is fine).
            state.end_active();
            state.calls[usize::from(i)].at = At::WaitOut;
        } else {
            state.calls[usize::from(i)].at = At::Done(End::Failed);
        }
    }

    /// The most steps (requests) a call may make before it ends: a few around each wait (a
    /// start, a look, a cancel, a describe; one describe that finds nothing active waits not),
    /// and a few more before the first and after the last.
    fn step_bound(&self) -> u8 {
        u8::try_from(4 * (self.waits + 2)).unwrap_or(u8::MAX)
    }
}

impl Model for ProtocolModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        let calls: Vec<Call> = self
            .calls
            .iter()
            .map(|path| Call {
                at: match path {
                    Path::Refresher(_) => At::Step(Step::Start),
                    Path::Plain => At::Attempt,
                },
                protocol: StartProtocol::default(),
                may_have_started: false,
                waited: 0,
                nothing_active: 0,
                steps: 0,
                saw_matching: false,
            })
            .collect();
        let before = |started, active| Refresh {
            id: 0,
            by: Who::Other,
            request: self.others_request(),
            started,
            active,
        };
        let mut groups = vec![
            vec![],
            vec![before(OLD, true)],
            vec![before(RECENT, true)],
            vec![before(RECENT, false)],
        ];
        if let Some(request) = self.earlier_request() {
            // The earlier run's refresh, which it started before it was killed.
            let earlier = |started, active| Refresh {
                id: 0,
                by: Who::Earlier,
                request,
                started,
                active,
            };
            groups.extend([
                vec![earlier(OLD, true)],
                vec![earlier(RECENT, true)],
                vec![earlier(RECENT, false)],
            ]);
        }
        groups
            .into_iter()
            .map(|refreshes| State {
                refreshes,
                calls: calls.clone(),
                others_left: self.others,
            })
            .collect()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        if !state.running() {
            return;
        }
        for (i, call) in state.calls.iter().enumerate() {
            let i = u8::try_from(i).expect("a few calls");
            match call.at {
                At::Step(Step::Start) | At::Attempt => {
                    actions.extend(FATES.iter().map(|&f| Action::Start(i, f)));
                    if self.variant == Variant::QuickRetryRace {
                        actions.push(Action::Start(i, Fate::SdkRetriedAfterItEnded));
                    }
                }
                At::Step(Step::Look) => {
                    actions.extend([Action::Describe(i, true), Action::Describe(i, false)]);
                }
                At::WaitOut => {
                    actions.extend([
                        Action::Describe(i, true),
                        Action::Describe(i, false),
                        Action::Probe(i),
                    ]);
                }
                At::Step(Step::Conflict) => {
                    actions.extend([Action::Cancel(i, true), Action::Cancel(i, false)]);
                }
                _ => {}
            }
        }
        if state.others_left > 0 && state.active().is_none() {
            actions.push(Action::OtherStarts);
        }
        if state.active().is_some() {
            actions.push(Action::Ends);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        fn stepped(state: &mut State, i: u8) {
            let call = &mut state.calls[usize::from(i)];
            call.steps = call.steps.saturating_add(1);
        }
        match action {
            Action::Start(i, fate) => {
                stepped(&mut state, i);
                self.start(&mut state, i, fate);
            }
            Action::Describe(i, ok) => {
                stepped(&mut state, i);
                self.describe(&mut state, i, ok);
            }
            Action::Cancel(i, ok) => {
                stepped(&mut state, i);
                self.cancel(&mut state, i, ok);
            }
            Action::Probe(i) => {
                stepped(&mut state, i);
                let Path::Refresher(on_conflict) = self.calls[usize::from(i)] else {
                    return None;
                };
                let call = &mut state.calls[usize::from(i)];
                self.wait_or_give_up(call, At::WaitOut);
                if call.at == At::WaitOut {
                    self.after_wait_out(call, on_conflict);
                }
            }
            Action::OtherStarts => {
                state.others_left -= 1;
                let request = self.others_request();
                state.begin(Who::Other, request);
            }
            Action::Ends => state.end_active(),
        }
        Some(state)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("one refresh per call", |_, s: &State| {
                (0..s.calls.len()).all(|i| {
                    let by = Who::Call(u8::try_from(i).unwrap_or(u8::MAX));
                    s.refreshes.iter().filter(|r| r.by == by).count() <= 1
                })
            }),
            Property::always(
                "returns only its own refresh (or under Adopt a matching one)",
                |m: &Self, s: &State| {
                    s.calls.iter().enumerate().all(|(i, c)| {
                        let i = u8::try_from(i).unwrap_or(u8::MAX);
                        let own = |id: u8| {
                            s.refreshes
                                .iter()
                                .any(|r| r.id == id && r.by == Who::Call(i))
                        };
                        match c.at {
                            At::Done(End::Started(id)) => own(id),
                            At::Done(End::Adopted(id)) => {
                                own(id)
                                    || (m.calls[usize::from(i)]
                                        == Path::Refresher(OnConflict::Adopt)
                                        && s.refreshes
                                            .iter()
                                            .any(|r| r.id == id && r.request == m.request(i)))
                            }
                            _ => true,
                        }
                    })
                },
            ),
            Property::always(
                "never adopts a non-matching refresh",
                |m: &Self, s: &State| {
                    s.calls.iter().enumerate().all(|(i, c)| match c.at {
                        At::Done(End::Adopted(id)) => {
                            let request = m.request(u8::try_from(i).unwrap_or(u8::MAX));
                            s.refreshes
                                .iter()
                                .any(|r| r.id == id && r.request == request)
                        }
                        _ => true,
                    })
                },
            ),
            Property::always(
                "a re-run adopts the matching refresh it sees, never a second",
                |m: &Self, s: &State| {
                    s.calls.iter().zip(&m.calls).all(|(c, path)| {
                        *path != Path::Refresher(OnConflict::Adopt)
                            || !c.saw_matching
                            || matches!(c.at, At::Done(End::Adopted(_)))
                    })
                },
            ),
            Property::always("ends within its step bound", |m: &Self, s: &State| {
                s.calls.iter().all(|c| c.steps <= m.step_bound())
            }),
            Property::eventually("every call ends", |_, s: &State| !s.running()),
            // The model is not vacuous: each outcome happens somewhere.
            Property::sometimes("a call adopts its own refresh", |_, s: &State| {
                s.calls
                    .iter()
                    .any(|c| matches!(c.at, At::Done(End::Adopted(_))))
            }),
            Property::sometimes(
                "a re-run adopts the refresh of the run before",
                |_, s: &State| {
                    s.calls.iter().any(|c| match c.at {
                        At::Done(End::Adopted(id)) => s
                            .refreshes
                            .iter()
                            .any(|r| r.id == id && r.by == Who::Earlier),
                        _ => false,
                    })
                },
            ),
            Property::sometimes("a call starts after a blocker", |_, s: &State| {
                s.calls.iter().any(|c| c.waited > 0)
                    && s.calls
                        .iter()
                        .any(|c| matches!(c.at, At::Done(End::Started(_))))
            }),
            Property::sometimes(
                "a call gives up on a possibly own refresh",
                |_, s: &State| {
                    s.calls.iter().any(|c| {
                        matches!(c.at, At::Done(End::GaveUp(StopReason::PossiblyOwnRefresh)))
                    })
                },
            ),
        ]
    }
}

impl ProtocolModel {
    /// Every run of the first call from `init` while the group changes by the call's own
    /// requests alone (no second deployer, no refresh ends), with one request per SDK call: the
    /// actions, and the state the call ended in. What the simulator replays.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    fn static_runs(&self, init: &State) -> Vec<(Vec<Action>, State)> {
        let mut runs = Vec::new();
        let mut pending = vec![(Vec::new(), init.clone())];
        while let Some((actions, state)) = pending.pop() {
            if !state.running() {
                runs.push((actions, state));
                continue;
            }
            let mut next = Vec::new();
            self.actions(&state, &mut next);
            for action in next {
                let own = match action {
                    Action::Start(_, fate) => {
                        !matches!(fate, Fate::SdkRetried { .. } | Fate::SdkRetriedAfterItEnded)
                    }
                    Action::Describe(..) | Action::Cancel(..) => true,
                    // The code probes only near a blocker's estimated end, which the replayed
                    // blockers never reach within the replay's few waits.
                    Action::Probe(_) | Action::OtherStarts | Action::Ends => false,
                };
                if let (true, Some(after)) = (own, self.next_state(&state, action.clone())) {
                    let mut actions = actions.clone();
                    actions.push(action);
                    pending.push((actions, after));
                }
            }
        }
        runs
    }
}

#[cfg(feature = "sim")]
mod replay;

/// The depth no model here reaches: every check runs to the end of every path.
const MAX_DEPTH: usize = 200;

/// Checks every interleaving up to `depth` steps (breadth first) and prints what was explored.
fn check(model: ProtocolModel, depth: usize) -> impl Checker<ProtocolModel> {
    let aware = if model.status_aware {
        ""
    } else {
        " without status"
    };
    let name = format!("{:?}{aware} {:?}", model.calls, model.variant);
    let checker = model
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .target_max_depth(depth)
        .spawn_bfs()
        .join();
    println!(
        "model {name}: {} unique states ({} visited), max depth {}",
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth()
    );
    checker
}

const SAFETY: [&str; 6] = [
    "one refresh per call",
    "returns only its own refresh (or under Adopt a matching one)",
    "never adopts a non-matching refresh",
    "a re-run adopts the matching refresh it sees, never a second",
    "ends within its step bound",
    "every call ends",
];

fn holds(model: ProtocolModel, examples: &[&'static str]) {
    let checker = check(model, MAX_DEPTH);
    assert!(
        checker.max_depth() < MAX_DEPTH,
        "every path ends before the depth bound"
    );
    for name in SAFETY {
        if let Some(path) = checker.discovery(name) {
            panic!("{name}: counterexample {:#?}", path.into_actions());
        }
    }
    for name in examples {
        assert!(checker.discovery(name).is_some(), "never happens: {name}");
    }
    assert!(checker.is_done());
}

/// The checker finds a counterexample to `property`, and prints a shortest one (the checker
/// keeps any it meets, so the depth grows until one turns up).
fn caught(model: ProtocolModel, property: &'static str) -> Vec<Action> {
    for depth in 1..=MAX_DEPTH {
        let checker = check(model.clone(), depth);
        if let Some(path) = checker.discovery(property) {
            let steps = path.into_vec();
            let (before, _) = &steps[0];
            let actions: Vec<Action> = steps.iter().filter_map(|(_, a)| a.clone()).collect();
            println!(
                "counterexample to {property}: from {:?}, {actions:?}",
                before.refreshes
            );
            return actions;
        }
        if checker.max_depth() < depth {
            break;
        }
    }
    panic!("no counterexample to {property}");
}

mod tests {
    use super::*;

    const REFRESHER: [OnConflict; 4] = [
        OnConflict::Wait,
        OnConflict::CancelAndReplace,
        OnConflict::Fail,
        OnConflict::Adopt,
    ];

    #[test]
    fn the_refresher_holds_for_every_conflict_strategy() {
        for on_conflict in REFRESHER {
            let examples: &[&str] = match on_conflict {
                OnConflict::Fail => &["a call adopts its own refresh"],
                OnConflict::Adopt => &[
                    "a call adopts its own refresh",
                    "a call starts after a blocker",
                    "a call gives up on a possibly own refresh",
                    "a re-run adopts the refresh of the run before",
                ],
                _ => &[
                    "a call adopts its own refresh",
                    "a call starts after a blocker",
                    "a call gives up on a possibly own refresh",
                ],
            };
            holds(
                ProtocolModel::new(vec![Path::Refresher(on_conflict)], Variant::Real),
                examples,
            );
        }
        for on_conflict in [OnConflict::Wait, OnConflict::Adopt] {
            let mut blind = ProtocolModel::new(vec![Path::Refresher(on_conflict)], Variant::Real);
            blind.status_aware = false;
            holds(
                blind,
                &[
                    "a call adopts its own refresh",
                    "a call starts after a blocker",
                    "a call gives up on a possibly own refresh",
                ],
            );
        }
    }

    #[test]
    fn the_plain_paths_hold() {
        holds(
            ProtocolModel::new(vec![Path::Plain], Variant::Real),
            &[
                "a call starts after a blocker",
                "a call gives up on a possibly own refresh",
            ],
        );
    }

    #[test]
    fn two_deployers_each_with_the_crate_hold() {
        let mut model = ProtocolModel::new(
            vec![Path::Refresher(OnConflict::Wait), Path::Plain],
            Variant::Real,
        );
        model.others = 1;
        holds(model, &["a call adopts its own refresh"]);
        // One of them cancels whatever blocks it, the other's refresh included.
        let mut model = ProtocolModel::new(
            vec![
                Path::Refresher(OnConflict::CancelAndReplace),
                Path::Refresher(OnConflict::Wait),
            ],
            Variant::Real,
        );
        model.others = 0;
        model.waits = 1;
        holds(model, &["a call adopts its own refresh"]);
        // A re-run that adopts beside another deployer that waits: neither takes the other's.
        let mut model = ProtocolModel::new(
            vec![
                Path::Refresher(OnConflict::Adopt),
                Path::Refresher(OnConflict::Wait),
            ],
            Variant::Real,
        );
        model.others = 0;
        model.waits = 1;
        holds(
            model,
            &[
                "a call adopts its own refresh",
                "a re-run adopts the refresh of the run before",
            ],
        );
    }

    #[test]
    fn resending_after_a_lost_answer_is_caught() {
        let actions = caught(
            ProtocolModel::new(
                vec![Path::Refresher(OnConflict::Wait)],
                Variant::ResendAfterLoss,
            ),
            "one refresh per call",
        );
        assert!(actions.contains(&Action::Start(0, Fate::AnswerLost)));
    }

    #[test]
    fn adopting_without_matching_the_request_is_caught() {
        caught(
            ProtocolModel::new(
                vec![Path::Refresher(OnConflict::Wait)],
                Variant::AdoptUnmatched,
            ),
            "returns only its own refresh (or under Adopt a matching one)",
        );
    }

    #[test]
    fn adopting_a_blocker_that_does_not_match_is_caught() {
        let actions = caught(
            ProtocolModel::new(
                vec![Path::Refresher(OnConflict::Adopt)],
                Variant::AdoptAnyBlocker,
            ),
            "never adopts a non-matching refresh",
        );
        assert!(actions.contains(&Action::Describe(0, true)));
    }

    #[test]
    fn waiting_out_the_earlier_runs_refresh_under_adopt_is_caught() {
        let actions = caught(
            ProtocolModel::new(
                vec![Path::Refresher(OnConflict::Adopt)],
                Variant::AdoptNever,
            ),
            "a re-run adopts the matching refresh it sees, never a second",
        );
        assert!(actions.contains(&Action::Describe(0, true)));
    }

    #[test]
    fn a_plain_path_without_the_guard_is_caught() {
        caught(
            ProtocolModel::new(vec![Path::Plain], Variant::IgnoreGuard),
            "one refresh per call",
        );
    }

    #[test]
    fn looking_again_without_the_schedule_is_caught() {
        let mut model = ProtocolModel::new(
            vec![Path::Refresher(OnConflict::Wait)],
            Variant::LookForever,
        );
        model.waits = 0;
        let actions = caught(model, "ends within its step bound");
        assert!(actions.ends_with(&[Action::Describe(0, false), Action::Describe(0, false)]));
    }

    #[test]
    fn the_documented_exception_the_sdks_quick_retry_racing_the_end_is_found() {
        for path in [Path::Refresher(OnConflict::Wait), Path::Plain] {
            let actions = caught(
                ProtocolModel::new(vec![path], Variant::QuickRetryRace),
                "one refresh per call",
            );
            assert!(actions.contains(&Action::Start(0, Fate::SdkRetriedAfterItEnded)));
        }
    }

    #[test]
    fn the_documented_limit_an_identical_request_in_the_window_is_adopted() {
        caught(
            ProtocolModel::new(
                vec![Path::Refresher(OnConflict::Wait)],
                Variant::SameRequest,
            ),
            "returns only its own refresh (or under Adopt a matching one)",
        );
    }
}
