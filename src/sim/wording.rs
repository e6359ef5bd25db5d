//! The texts of `StatusReason` and `RollbackReason`.
//!
//! The only `StatusReason` on record is the warmup sentence ([`warming_up`]; the CLI's
//! `describe-instance-refreshes` example, the user guide "Check the status of an instance
//! refresh", and captures from real accounts). Every other text here is a guess, chosen by the
//! refresh's [`ReasonWording`]: none at all, or one of [`VARIANTS`] sets of sentences, some of
//! which leave some statuses without text.

use super::unknowns::{ReasonWording, VARIANTS};

/// A status (or phase) whose reason text no public source gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Situation {
    /// `Pending`.
    Pending,
    /// `InProgress`, instances launching, none warming up.
    Launching,
    /// `InProgress`, paused at this checkpoint.
    Checkpoint(u32),
    /// `InProgress`, the group's `Launch` process suspended.
    LaunchSuspended,
    /// `InProgress`, no progress (instances fail to become healthy, or a stall).
    NoProgress,
    /// `Baking`.
    Baking,
    /// `Cancelling`.
    Cancelling,
    /// `Cancelled`.
    Cancelled,
    /// `RollbackInProgress`.
    RollingBack,
    /// `Failed`: an alarm, or the scripted failure of a group.
    Failed,
    /// `Failed`: no healthy instance for an hour.
    FailedNoHealthyInstance,
    /// `RollbackReason` of `RollbackInstanceRefresh`.
    UserRollback,
}

/// Each situation's sentences, by variant (`None`: no text in that variant).
fn table(situation: Situation) -> [Option<&'static str>; VARIANTS] {
    match situation {
        Situation::Pending => [
            Some("Waiting for the instance refresh to start."),
            Some("The instance refresh is starting."),
            None,
        ],
        Situation::Launching => [
            None,
            Some("Replacing instances."),
            Some("Waiting for new instances to become healthy."),
        ],
        Situation::Checkpoint(_) => [
            Some("Waiting for the checkpoint delay to elapse. Checkpoint {p}% reached."),
            Some("Checkpoint reached. The instance refresh continues after the checkpoint delay."),
            None,
        ],
        Situation::LaunchSuspended => [
            Some(
                "Waiting for the Launch process to be resumed: it is suspended for this Auto Scaling group, so no instances can be launched.",
            ),
            Some("The Launch process is suspended."),
            None,
        ],
        Situation::NoProgress => [
            None,
            Some("Waiting for new instances to pass their health checks."),
            Some("Instances failed to launch. Retrying."),
        ],
        Situation::Baking => [
            Some("Waiting for the bake time to elapse before completing the instance refresh."),
            None,
            Some("Baking."),
        ],
        Situation::Cancelling => [
            Some("Cancelling the instance refresh as requested."),
            Some("The instance refresh is being cancelled."),
            None,
        ],
        Situation::Cancelled => [
            Some("The instance refresh was cancelled as requested."),
            None,
            Some("Cancelled."),
        ],
        Situation::RollingBack => [
            Some("Rolling back the instance refresh to the previous configuration."),
            Some("Rollback in progress."),
            None,
        ],
        Situation::Failed => [
            Some("Simulated failure: the instance refresh failed."),
            Some("The instance refresh failed because an alarm went into the ALARM state."),
            Some("Instance refresh failed."),
        ],
        Situation::FailedNoHealthyInstance => [
            Some("Simulated failure: the instance refresh failed."),
            Some("Instance refresh failed: no new instance passed its health checks for an hour."),
            None,
        ],
        Situation::UserRollback => [
            Some("Rollback started by user"),
            Some("Rollback requested by user."),
            None,
        ],
    }
}

/// The text for `situation` in `wording`, if any.
pub(crate) fn reason(wording: ReasonWording, situation: Situation) -> Option<String> {
    let ReasonWording::Variant(k) = wording else {
        return None;
    };
    let text = table(situation)[usize::from(k) % VARIANTS]?;
    Some(match situation {
        Situation::Checkpoint(p) => text.replace("{p}", &p.to_string()),
        _ => text.to_owned(),
    })
}

/// The `RollbackReason` of an automatic rollback after a failure whose `StatusReason` would
/// have been `failure`.
pub(crate) fn auto_rollback_reason(
    wording: ReasonWording,
    failure: Option<&str>,
) -> Option<String> {
    let ReasonWording::Variant(k) = wording else {
        return None;
    };
    match usize::from(k) % VARIANTS {
        0 => Some(format!(
            "Automatic rollback after the instance refresh failed: {}",
            failure.unwrap_or("an alarm went into the ALARM state.")
        )),
        1 => Some("An alarm went into the ALARM state.".to_owned()),
        _ => None,
    }
}

/// The documented warmup sentence, naming `instance` (UG "Check the status of an instance
/// refresh"; CLI `describe-instance-refreshes` example).
pub(crate) fn warming_up(instance: &str) -> String {
    format!(
        "Waiting for instances to warm up before continuing. For example: {instance} is warming up."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_says_nothing_and_variants_differ() {
        assert_eq!(reason(ReasonWording::None, Situation::Cancelling), None);
        let texts: Vec<Option<String>> = (0..3)
            .map(|k| reason(ReasonWording::Variant(k), Situation::Checkpoint(20)))
            .collect();
        assert_eq!(
            texts[0].as_deref(),
            Some("Waiting for the checkpoint delay to elapse. Checkpoint 20% reached.")
        );
        assert_ne!(texts[0], texts[1]);
        assert_eq!(texts[2], None);
        // Taken modulo the number of variants.
        assert_eq!(
            reason(ReasonWording::Variant(3), Situation::Pending),
            reason(ReasonWording::Variant(0), Situation::Pending)
        );
    }

    #[test]
    fn the_warmup_sentence_is_the_documented_one() {
        assert_eq!(
            warming_up("i-0123456789abcdef0"),
            "Waiting for instances to warm up before continuing. For example: i-0123456789abcdef0 is warming up."
        );
    }
}
