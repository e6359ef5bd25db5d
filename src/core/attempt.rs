//! After a failed attempt: the one decision both paths make.
//!
//! 1. The [classifier](super::classify) says what the error is. Anything but
//!    [`Verdict::RetryAfterWait`] is not ours: it goes back to the caller (tower path) or to the
//!    SDK's own retry (SDK path).
//! 2. The [guard](super::guard) vetoes a wait once the call may have started a refresh.
//! 3. The [schedule](super::schedule) says how long to wait, or to stop.
//!
//! The integrations only measure the elapsed time, feed the answer to their sleep, and count.

use std::time::Duration;

use super::classify::Verdict;
use super::error_code::ProvideErrorCode;
use super::outcome::StopReason;
use super::schedule::{Decision, Schedule};
use super::settings::Settings;

/// What a call does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Not ours to handle: the error goes on unchanged.
    PassThrough,
    /// Wait this long, then make the next attempt.
    Wait(Duration),
    /// Ours, but the call stops here with this error.
    GiveUp(StopReason),
}

/// Decides what follows the failed attempt `err`. `may_have_started_refresh` is the guard's answer
/// for the whole call so far, this attempt included; `elapsed` gives what the call counts against
/// `max_elapsed` (asked only when the error is ours, so that other errors read no clock). The call's schedule is made here, at the first failure that is ours: a call that
/// never fails that way never seeds an RNG or clones the policy.
pub(crate) fn after_failure<E>(
    settings: &Settings,
    schedule: &mut Option<Box<Schedule>>,
    err: &E,
    may_have_started_refresh: bool,
    elapsed: impl FnOnce() -> Duration,
) -> Next
where
    E: ProvideErrorCode + ?Sized,
{
    if settings.classifier.classify(err) != Verdict::RetryAfterWait {
        return Next::PassThrough;
    }
    if may_have_started_refresh {
        return Next::GiveUp(StopReason::PossiblyOwnRefresh);
    }
    // Boxed: a call that is never blocked carries one pointer for it, not the whole schedule.
    let schedule = schedule.get_or_insert_with(|| Box::new(settings.policy.schedule()));
    match schedule.on_failure(elapsed()) {
        Decision::RetryAfter(delay) => Next::Wait(delay),
        Decision::Stop(reason) => Next::GiveUp(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::Classifier;
    use crate::core::policy::{Jitter, RetryPolicy};

    struct Code(&'static str);

    impl ProvideErrorCode for Code {
        fn error_code(&self) -> Option<&str> {
            Some(self.0)
        }
    }

    fn settings() -> Settings {
        let policy = RetryPolicy::builder()
            .jitter(Jitter::None)
            .max_attempts(3)
            .build()
            .unwrap();
        let mut s = Settings::new(policy);
        s.classifier = Classifier::default().with_code("InternalFailure");
        s
    }

    #[test]
    fn classifier_then_guard_then_schedule() {
        let s = settings();
        let mut schedule = None;
        let blocked = Code("InstanceRefreshInProgress");
        let secs = Duration::from_secs;
        // Not ours: nothing is counted.
        let throttled = Code("Throttling");
        assert_eq!(
            after_failure(&s, &mut schedule, &throttled, true, || secs(0)),
            Next::PassThrough
        );
        assert!(
            schedule.is_none(),
            "nothing is built for an error that is not ours"
        );
        assert_eq!(
            after_failure(&s, &mut schedule, &blocked, false, || secs(0)),
            Next::Wait(secs(5))
        );
        // A code the user classifier waits on, but the call may have started a refresh.
        assert_eq!(
            after_failure(&s, &mut schedule, &Code("InternalFailure"), true, || secs(
                5
            )),
            Next::GiveUp(StopReason::PossiblyOwnRefresh)
        );
        assert_eq!(
            after_failure(&s, &mut schedule, &blocked, false, || secs(5)),
            Next::Wait(secs(10))
        );
        assert_eq!(
            after_failure(&s, &mut schedule, &blocked, false, || secs(15)),
            Next::GiveUp(StopReason::MaxAttempts)
        );
    }
}
