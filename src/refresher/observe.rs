//! What `DescribeInstanceRefreshes` says, reduced to what the Refresher decides on: the phase of
//! a refresh, its progress and timing preferences, and whether it is the one a request would
//! have started.

use std::time::{Duration, SystemTime};

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{
    DesiredConfiguration, InstanceRefresh, InstanceRefreshStatus, RefreshPreferences,
    RefreshStrategy,
};

/// Where a refresh is, as far as waiting for it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    #[default]
    Pending,
    InProgress,
    Baking,
    Cancelling,
    RollbackInProgress,
    /// A terminal status: `Successful`, `Failed`, `Cancelled`, `RollbackSuccessful`,
    /// `RollbackFailed`.
    Ended,
}

impl Phase {
    /// The phase of a status. A status this crate does not know yet counts as active
    /// (`Cancelling`-like short checks): starting into it would only be refused.
    pub(crate) fn of(status: Option<&InstanceRefreshStatus>) -> Phase {
        match status {
            Some(InstanceRefreshStatus::Pending) => Phase::Pending,
            Some(InstanceRefreshStatus::InProgress) => Phase::InProgress,
            Some(InstanceRefreshStatus::Baking) => Phase::Baking,
            Some(InstanceRefreshStatus::Cancelling) => Phase::Cancelling,
            Some(InstanceRefreshStatus::RollbackInProgress) => Phase::RollbackInProgress,
            Some(
                InstanceRefreshStatus::Successful
                | InstanceRefreshStatus::Failed
                | InstanceRefreshStatus::Cancelled
                | InstanceRefreshStatus::RollbackSuccessful
                | InstanceRefreshStatus::RollbackFailed,
            ) => Phase::Ended,
            _ => Phase::Cancelling,
        }
    }

    /// Whether a refresh in this phase blocks a new one: everything but [`Phase::Ended`]
    /// (`Baking` and `RollbackInProgress` included).
    pub(crate) fn is_active(self) -> bool {
        self != Phase::Ended
    }
}

/// One described refresh, reduced to what the estimate reads. Any value a describe can carry
/// (any `i32`, a field missing, an unknown status) reduces to something bounded: numbers out of
/// their documented range are unknown (`None`), checkpoints are the distinct ones in 1..=100.
#[derive(Debug, Clone, Default)]
pub(crate) struct Refresh {
    pub(crate) id: String,
    pub(crate) phase: Phase,
    pub(crate) status: Option<InstanceRefreshStatus>,
    pub(crate) status_reason: Option<String>,
    /// `PercentageComplete`, when described and within 0..=100 (API `InstanceRefresh`).
    pub(crate) percentage: Option<u32>,
    pub(crate) start_time: Option<SystemTime>,
    pub(crate) warmup: Option<Duration>,
    /// `CheckpointPercentages`: ascending, distinct, each in 1..=100 (at most 100 of them).
    pub(crate) checkpoints: Vec<u32>,
    pub(crate) checkpoint_delay: Option<Duration>,
    pub(crate) bake_time: Option<Duration>,
    /// `InstancesToUpdate`. AWS's own examples show 0 while still `InProgress` (at 0 % and at
    /// 50 %): it counts instances not yet taken into a batch, or not yet replaced; never "done".
    pub(crate) instances_to_update: Option<u32>,
    /// The status reason is the documented warmup sentence (`Waiting for instances to warm up
    /// before continuing. For example: i-… is warming up.`): a hint that an instance of the
    /// batch is in service and warming up, never relied on. `Some` with a hash of the instance it
    /// names (0 if none).
    pub(crate) warming: Option<u64>,
    /// `RollbackDetails`: when the rollback began, and the percentage it began from.
    pub(crate) rollback_start: Option<SystemTime>,
    pub(crate) percentage_on_rollback: Option<u32>,
    /// `MinHealthyPercentage` and `MaxHealthyPercentage` as described. UG "How instance
    /// refresh works": Min 90 / Max 100 replaces 10 % of the group at a time, Min 100 one
    /// instance, Min 0 all; a wider range, more at once.
    pub(crate) min_healthy: Option<u32>,
    pub(crate) max_healthy: Option<u32>,
}

/// The documented `StatusReason` of a batch that warms up (AWS CLI example and user guide,
/// "Check the status of an instance refresh"): the only text the estimate reads.
const WARMUP_REASON: &str = "Waiting for instances to warm up before continuing.";

/// The documented warmup sentence: a hash of the instance it names (0 if it names none).
fn warming_instance(reason: &str) -> Option<u64> {
    let rest = reason.strip_prefix(WARMUP_REASON)?;
    let rest = super::activity::head(rest, 64);
    let id = rest
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.len() > 2 && w.starts_with("i-"))
        .unwrap_or_default();
    // FNV-1a: stable, no allocation.
    Some(id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }))
}

fn secs(value: Option<i32>) -> Option<Duration> {
    value
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
}

fn percent(value: Option<i32>) -> Option<u32> {
    value
        .and_then(|p| u32::try_from(p).ok())
        .filter(|&p| p <= 100)
}

fn system_time(t: &aws_smithy_types::DateTime) -> Option<SystemTime> {
    SystemTime::try_from(*t).ok()
}

impl Refresh {
    pub(crate) fn of(r: &InstanceRefresh) -> Refresh {
        let prefs = r.preferences();
        let mut checkpoints: Vec<u32> = prefs
            .map(|p| {
                p.checkpoint_percentages()
                    .iter()
                    .filter_map(|c| percent(Some(*c)))
                    .filter(|&c| c > 0)
                    .collect()
            })
            .unwrap_or_default();
        checkpoints.sort_unstable();
        checkpoints.dedup();
        // API `RefreshPreferences`: with checkpoint percentages and no delay, each checkpoint
        // waits 3600 s.
        let checkpoint_delay = secs(prefs.and_then(|p| p.checkpoint_delay()))
            .or_else(|| (!checkpoints.is_empty()).then_some(Duration::from_secs(3600)));
        let rollback = r.rollback_details();
        Refresh {
            id: r.instance_refresh_id().unwrap_or_default().to_owned(),
            phase: Phase::of(r.status()),
            status: r.status().cloned(),
            status_reason: r.status_reason().map(str::to_owned),
            percentage: percent(r.percentage_complete()),
            start_time: r.start_time().and_then(system_time),
            warmup: secs(prefs.and_then(|p| p.instance_warmup())),
            checkpoints,
            checkpoint_delay,
            bake_time: secs(prefs.and_then(|p| p.bake_time())),
            instances_to_update: r.instances_to_update().and_then(|n| u32::try_from(n).ok()),
            warming: r.status_reason().and_then(warming_instance),
            rollback_start: rollback
                .and_then(|d| d.rollback_start_time())
                .and_then(system_time),
            percentage_on_rollback: percent(
                rollback.and_then(|d| d.percentage_complete_on_rollback()),
            ),
            min_healthy: percent(prefs.and_then(|p| p.min_healthy_percentage())),
            max_healthy: prefs
                .and_then(|p| p.max_healthy_percentage())
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (100..=200).contains(n)),
        }
    }
}

/// Whether `described` is what `input` would have started: the same strategy, and every
/// preference and desired configuration the request set, as described. (Auto Scaling echoes
/// defaults for what the request left out, so only what it set is compared.)
pub(crate) fn matches_request(
    input: &StartInstanceRefreshInput,
    described: &InstanceRefresh,
) -> bool {
    let strategy = |s: Option<&RefreshStrategy>| s.cloned().unwrap_or(RefreshStrategy::Rolling);
    strategy(input.strategy()) == strategy(described.strategy())
        && input
            .preferences()
            .is_none_or(|p| preferences_match(p, described.preferences()))
        && input
            .desired_configuration()
            .is_none_or(|d| desired_matches(d, described.desired_configuration()))
}

fn preferences_match(ours: &RefreshPreferences, theirs: Option<&RefreshPreferences>) -> bool {
    let Some(theirs) = theirs else {
        return false;
    };
    fn same<T: PartialEq>(ours: Option<T>, theirs: Option<T>) -> bool {
        ours.is_none() || ours == theirs
    }
    same(
        ours.min_healthy_percentage(),
        theirs.min_healthy_percentage(),
    ) && same(
        ours.max_healthy_percentage(),
        theirs.max_healthy_percentage(),
    ) && same(ours.instance_warmup(), theirs.instance_warmup())
        && (ours.checkpoint_percentages().is_empty()
            || ours.checkpoint_percentages() == theirs.checkpoint_percentages())
        && same(ours.checkpoint_delay(), theirs.checkpoint_delay())
        && same(ours.skip_matching(), theirs.skip_matching())
        && same(ours.auto_rollback(), theirs.auto_rollback())
        && same(ours.bake_time(), theirs.bake_time())
        && same(
            ours.scale_in_protected_instances(),
            theirs.scale_in_protected_instances(),
        )
        && same(ours.standby_instances(), theirs.standby_instances())
        && same(ours.alarm_specification(), theirs.alarm_specification())
}

fn desired_matches(ours: &DesiredConfiguration, theirs: Option<&DesiredConfiguration>) -> bool {
    let Some(theirs) = theirs else {
        return false;
    };
    let template = match (ours.launch_template(), theirs.launch_template()) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => {
            (a.launch_template_id().is_none() || a.launch_template_id() == b.launch_template_id())
                && (a.launch_template_name().is_none()
                    || a.launch_template_name() == b.launch_template_name())
                && (a.version().is_none() || a.version() == b.version())
        }
    };
    template
        && (ours.mixed_instances_policy().is_none()
            || ours.mixed_instances_policy() == theirs.mixed_instances_policy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::types::LaunchTemplateSpecification;

    /// Launch template "web" at `version`.
    fn template(version: &str) -> DesiredConfiguration {
        DesiredConfiguration::builder()
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_name("web")
                    .version(version)
                    .build(),
            )
            .build()
    }

    fn input(prefs: Option<RefreshPreferences>, lt: Option<&str>) -> StartInstanceRefreshInput {
        StartInstanceRefreshInput::builder()
            .auto_scaling_group_name("web")
            .set_preferences(prefs)
            .set_desired_configuration(lt.map(template))
            .build()
            .unwrap()
    }

    fn described(prefs: RefreshPreferences, lt: Option<&str>) -> InstanceRefresh {
        InstanceRefresh::builder()
            .instance_refresh_id("r-1")
            .status(InstanceRefreshStatus::InProgress)
            .preferences(prefs)
            .set_desired_configuration(lt.map(template))
            .build()
    }

    #[test]
    fn only_what_the_request_set_is_compared() {
        // Auto Scaling echoes its defaults.
        let echoed = RefreshPreferences::builder()
            .min_healthy_percentage(90)
            .skip_matching(false)
            .instance_warmup(60)
            .build();
        assert!(matches_request(
            &input(None, None),
            &described(echoed.clone(), None)
        ));
        let ours = RefreshPreferences::builder().instance_warmup(60).build();
        assert!(matches_request(
            &input(Some(ours), None),
            &described(echoed.clone(), None)
        ));
        let other = RefreshPreferences::builder().instance_warmup(30).build();
        assert!(!matches_request(
            &input(Some(other), None),
            &described(echoed.clone(), None)
        ));
        // A desired configuration must be there, and the same.
        assert!(matches_request(
            &input(None, Some("3")),
            &described(echoed.clone(), Some("3"))
        ));
        assert!(!matches_request(
            &input(None, Some("3")),
            &described(echoed.clone(), Some("4"))
        ));
        assert!(!matches_request(
            &input(None, Some("3")),
            &described(echoed, None)
        ));
    }

    #[test]
    fn phases_and_unknown_statuses() {
        assert_eq!(
            Phase::of(Some(&InstanceRefreshStatus::Baking)),
            Phase::Baking
        );
        assert!(Phase::of(Some(&InstanceRefreshStatus::RollbackInProgress)).is_active());
        assert!(!Phase::of(Some(&InstanceRefreshStatus::RollbackFailed)).is_active());
        let future = InstanceRefreshStatus::from("Paused");
        assert!(Phase::of(Some(&future)).is_active());
        // Checkpoints without a delay wait an hour each.
        let r = InstanceRefresh::builder()
            .preferences(
                RefreshPreferences::builder()
                    .checkpoint_percentages(50)
                    .build(),
            )
            .build();
        assert_eq!(
            Refresh::of(&r).checkpoint_delay,
            Some(Duration::from_secs(3600))
        );
    }
}
