//! The decisions of [`Refresher::start`](super::Refresher::start), as a pure state machine:
//! given what the call has seen so far, what it does next (send `StartInstanceRefresh`, look for
//! its own refresh, adopt it, wait, deal with a blocker, or fail). `start` performs the steps;
//! the model check (`model`, tests only) drives the very same functions through every
//! interleaving of lost requests and answers, refreshes that end or are cancelled, and a second
//! deployer.
//!
//! The rule it keeps: once an attempt's outcome is unknown, the call looks for its own refresh
//! before anything else, and starts again only after a look that found none.

/// What a look for the call's own refresh found (`Id` is the refresh's id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Own<Id> {
    Found(Id),
    NotThere,
    /// The describe failed: the call cannot tell, so it must not start another.
    Unknown,
}

/// How an attempt of `StartInstanceRefresh` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Failure {
    /// It (or an earlier attempt of the same SDK call) may have started a refresh: its outcome is
    /// unknown ([`ProvideErrorCode::may_have_started_refresh`](crate::ProvideErrorCode::may_have_started_refresh)).
    pub(crate) unknown: bool,
    /// A refresh blocks the group: the classifier says to wait (`InstanceRefreshInProgress`).
    pub(crate) blocked: bool,
}

/// What the call does next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Step<Id> {
    /// Send `StartInstanceRefresh`.
    Start,
    /// Describe the group's refreshes, looking for the call's own.
    Look,
    /// Return this refresh, which the call's own attempt started, as adopted.
    Adopt(Id),
    /// A describe failed while the call may have started a refresh: wait on the plain schedule,
    /// then look again.
    WaitToLookAgain,
    /// Another refresh blocks the group: what `on_conflict` says (wait it out, or cancel it, then
    /// [`StartProtocol::after_wait`]; or fail).
    Conflict,
    /// Return the attempt's error.
    Fail,
}

/// What one `start` call has learned so far. Each method takes what the last step saw and returns
/// the next step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct StartProtocol {
    /// An attempt's outcome was unknown: a refresh of the call's own may exist.
    may_have_started: bool,
    /// Since the last attempt, a look found none of the call's own.
    looked: bool,
    /// The look after a failed attempt is pending; whether that attempt was blocked.
    after_attempt: Option<bool>,
}

impl StartProtocol {
    /// An attempt failed (a success ends the call with the refresh it started).
    pub(crate) fn after_attempt<Id>(&mut self, failure: Failure) -> Step<Id> {
        self.looked = false;
        self.may_have_started |= failure.unknown;
        if self.may_have_started {
            self.after_attempt = Some(failure.blocked);
            return Step::Look;
        }
        Self::settle(failure.blocked)
    }

    /// A look for the call's own refresh is over.
    pub(crate) fn after_look<Id>(&mut self, own: Own<Id>) -> Step<Id> {
        match (own, self.after_attempt.take()) {
            (Own::Found(id), _) => Step::Adopt(id),
            // Before an attempt: none of the call's own exists, so it may start.
            (Own::NotThere, None) => Step::Start,
            (Own::NotThere, Some(blocked)) => {
                self.looked = true;
                Self::settle(blocked)
            }
            (Own::Unknown, None | Some(true)) => Step::WaitToLookAgain,
            // Not blocked (a timeout, a 5xx): the call ends with that error, but not while the
            // refresh it may have started could be running: it looks again, and ends only after
            // a look that finds none (or adopts it, or gives up when the policy stops).
            (Own::Unknown, Some(false)) => {
                self.after_attempt = Some(false);
                Step::WaitToLookAgain
            }
        }
    }

    /// A wait is over (to look again, or for a blocker that was waited out or cancelled).
    /// Whether the failed attempt's error is the one the call ends with unless its own refresh
    /// turns up: after a look that could not tell, following an attempt that waiting does not fix.
    pub(crate) fn attempt_error_stands(&self) -> bool {
        self.after_attempt == Some(false)
    }

    pub(crate) fn after_wait<Id>(&self) -> Step<Id> {
        if self.may_have_started && !self.looked {
            Step::Look
        } else {
            Step::Start
        }
    }

    fn settle<Id>(blocked: bool) -> Step<Id> {
        if blocked { Step::Conflict } else { Step::Fail }
    }
}

/// The call's own refresh among the group's refreshes (newest first): the first that started at
/// or after `since` (the call's start, less the clock skew) and matches the request.
pub(crate) fn own_refresh<'a, R, T: PartialOrd>(
    newest_first: &'a [R],
    since: &T,
    started: impl Fn(&R) -> Option<T>,
    matches: impl Fn(&R) -> bool,
) -> Option<&'a R> {
    newest_first
        .iter()
        .find(|r| started(r).is_some_and(|t| t >= *since) && matches(r))
}

/// Under [`OnConflict::Adopt`](super::OnConflict::Adopt): the refresh that blocks the group,
/// if the request may adopt it. At most one refresh is active, so this is the active one, or
/// none.
pub(crate) fn matching_blocker<R>(
    newest_first: &[R],
    active: impl Fn(&R) -> bool,
    adopts: impl Fn(&R) -> bool,
) -> Option<&R> {
    newest_first
        .iter()
        .find(|r| active(r))
        .filter(|r| adopts(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOST: Failure = Failure {
        unknown: true,
        blocked: false,
    };
    const BLOCKED: Failure = Failure {
        unknown: false,
        blocked: true,
    };

    #[test]
    fn a_known_refusal_never_looks() {
        let mut p = StartProtocol::default();
        assert_eq!(p.after_attempt::<u8>(BLOCKED), Step::Conflict);
        assert_eq!(p.after_wait::<u8>(), Step::Start);
        let throttled = Failure {
            unknown: false,
            blocked: false,
        };
        assert_eq!(p.after_attempt::<u8>(throttled), Step::Fail);
    }

    #[test]
    fn after_an_unknown_outcome_it_looks_before_it_starts_again() {
        let mut p = StartProtocol::default();
        assert_eq!(p.after_attempt::<u8>(LOST), Step::Look);
        assert_eq!(p.after_look(Own::Found(7)), Step::Adopt(7));

        let mut p = StartProtocol::default();
        assert_eq!(p.after_attempt::<u8>(LOST), Step::Look);
        // A lost answer that waiting does not fix, and a look that cannot tell: look again
        // (never end as refused while the call's own refresh may run), until a look tells.
        assert_eq!(p.after_look::<u8>(Own::Unknown), Step::WaitToLookAgain);
        assert!(p.attempt_error_stands());
        assert_eq!(p.after_wait::<u8>(), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::Unknown), Step::WaitToLookAgain);
        assert_eq!(p.after_wait::<u8>(), Step::Look);
        assert_eq!(p.after_look(Own::Found(7)), Step::Adopt(7));

        let mut p = StartProtocol::default();
        assert_eq!(p.after_attempt::<u8>(LOST), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::Unknown), Step::WaitToLookAgain);
        assert_eq!(p.after_wait::<u8>(), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::NotThere), Step::Fail);

        // Blocked, and the SDK's own retry inside the attempt had an unknown outcome first: the
        // describe must answer before anything else.
        let mut p = StartProtocol::default();
        assert_eq!(p.after_attempt::<u8>(BLOCKED), Step::Conflict);
        assert_eq!(p.after_wait::<u8>(), Step::Start);
        let lost_then_blocked = Failure {
            unknown: true,
            blocked: true,
        };
        assert_eq!(p.after_attempt::<u8>(lost_then_blocked), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::Unknown), Step::WaitToLookAgain);
        assert_eq!(p.after_wait::<u8>(), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::Unknown), Step::WaitToLookAgain);
        assert_eq!(p.after_wait::<u8>(), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::NotThere), Step::Start);
        // The unknown outcome stays: even a plain refusal is followed by a look.
        assert_eq!(p.after_attempt::<u8>(BLOCKED), Step::Look);
        assert_eq!(p.after_look::<u8>(Own::NotThere), Step::Conflict);
        // Looked since that attempt: after the blocker, start again.
        assert_eq!(p.after_wait::<u8>(), Step::Start);
    }

    #[test]
    fn own_refresh_is_the_newest_match_since_the_start() {
        // (id, start time, matches)
        let refreshes = [(3, Some(9), false), (2, Some(8), true), (1, Some(7), true)];
        let pick = |since: u32| own_refresh(&refreshes, &since, |r| r.1, |r| r.2).map(|r| r.0);
        assert_eq!(pick(5), Some(2));
        assert_eq!(pick(8), Some(2));
        assert_eq!(pick(9), None);
        let no_time = [(4, None, true)];
        assert_eq!(own_refresh(&no_time, &0, |r| r.1, |r| r.2), None);
    }

    #[test]
    fn the_matching_blocker_is_the_active_refresh_or_none() {
        // (id, active, adoptable)
        let refreshes = [(3, false, true), (2, true, false), (1, false, true)];
        let pick = |rs: &[(u8, bool, bool)]| matching_blocker(rs, |r| r.1, |r| r.2).map(|r| r.0);
        assert_eq!(pick(&refreshes), None, "never an ended one, never another");
        assert_eq!(pick(&[(3, false, true), (2, true, true)]), Some(2));
        assert_eq!(pick(&[(3, false, true)]), None);
    }
}
