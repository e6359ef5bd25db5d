//! Adoption: [`Adoption`], what [`Started`](super::Started) says about a refresh the call found
//! rather than started, and which running refresh a request may adopt under
//! [`OnConflict::Adopt`](super::OnConflict::Adopt) ([`NotAdoptable`] says why not).

use std::fmt;

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{DesiredConfiguration, InstanceRefresh};

use super::observe::{Phase, matches_request};
use super::options::Refresher;

/// How [`Refresher::start`] came by a refresh it did not start itself
/// ([`Started::adoption`](super::Started::adoption)).
///
/// ```
/// use instance_refresh_retry::{Adoption, Started};
///
/// fn how(started: &Started) -> &'static str {
///     match started.adoption() {
///         None => "started",
///         Some(Adoption::OwnLostAnswer) => "started (its answer was lost, found again)",
///         Some(Adoption::MatchingRefresh) => "already running: an earlier run's, followed",
///         Some(_) => "adopted",
///     }
/// }
/// # let _ = how;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Adoption {
    /// The call's own attempt started it: that attempt's outcome was unknown (a lost answer, a
    /// timeout, a 5xx other than `ResourceContention`), and the look that followed found a
    /// refresh that matches the request and started after the call began (less the
    /// [clock skew](Refresher::clock_skew)). A refresh of the very same request that someone
    /// else started in that window cannot be told apart from it.
    OwnLostAnswer,
    /// [`OnConflict::Adopt`](super::OnConflict::Adopt): the refresh that blocked the group
    /// matches the request (the same pinned desired configuration, strategy and preferences),
    /// typically one that an earlier run of the same deploy started before it was cancelled or
    /// died. The call takes it instead of waiting for it and rolling the fleet a second time.
    MatchingRefresh,
}

/// Why a request cannot adopt a running refresh under
/// [`OnConflict::Adopt`](super::OnConflict::Adopt); the Refresher then waits, as under
/// [`OnConflict::Wait`](super::OnConflict::Wait). See [`Refresher::adoptable`].
///
/// A running refresh is adopted only when it certainly rolls out what the request would:
/// without a desired configuration a refresh replaces instances with whatever the group's
/// launch template is when it starts, and `$Latest` or `$Default` name a version that moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotAdoptable {
    /// The request has no `DesiredConfiguration`.
    NoDesiredConfiguration,
    /// A launch template of the desired configuration (or of its mixed instances policy) has
    /// no `Version`: Auto Scaling takes its `$Default`, whatever that is at the time.
    NoVersion,
    /// A launch template version is `$Latest` or `$Default` (the value).
    FloatingVersion(String),
}

impl fmt::Display for NotAdoptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAdoptable::NoDesiredConfiguration => f.write_str(
                "the request has no desired configuration, so a running refresh cannot be told to roll out the same thing",
            ),
            NotAdoptable::NoVersion => f.write_str(
                "a launch template of the desired configuration names no version (Auto Scaling would take $Default), so a running refresh cannot be told to roll out the same thing",
            ),
            NotAdoptable::FloatingVersion(v) => write!(
                f,
                "the desired configuration's launch template version is {v}, which moves, so a running refresh cannot be told to roll out the same thing"
            ),
        }
    }
}

impl std::error::Error for NotAdoptable {}

/// Whether every launch template of the request's desired configuration names a version that
/// does not move.
pub(crate) fn pinned(input: &StartInstanceRefreshInput) -> Result<(), NotAdoptable> {
    let desired = input
        .desired_configuration()
        .ok_or(NotAdoptable::NoDesiredConfiguration)?;
    let mut versions = Vec::new();
    if let Some(template) = desired.launch_template() {
        versions.push(template.version());
    }
    if let Some(mixed) = desired.mixed_instances_policy() {
        let template = mixed.launch_template();
        versions.push(
            template
                .and_then(|t| t.launch_template_specification())
                .and_then(|s| s.version()),
        );
        versions.extend(
            template
                .map(|t| t.overrides())
                .unwrap_or_default()
                .iter()
                .filter_map(|o| o.launch_template_specification())
                .map(|s| s.version()),
        );
    }
    if versions.is_empty() {
        return Err(NotAdoptable::NoVersion);
    }
    for version in versions {
        match version {
            None => return Err(NotAdoptable::NoVersion),
            Some(v @ ("$Latest" | "$Default")) => {
                return Err(NotAdoptable::FloatingVersion(v.to_owned()));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Whether `described` is an active refresh that `input` (checked with [`pinned`]) may adopt:
/// what it would start (the same strategy, every preference the request sets, its launch
/// template and version), with a desired configuration of the same shape (a launch template,
/// a mixed instances policy, or both, as in the request).
pub(crate) fn adopts(input: &StartInstanceRefreshInput, described: &InstanceRefresh) -> bool {
    Phase::of(described.status()).is_active()
        && matches_request(input, described)
        && same_shape(
            input.desired_configuration(),
            described.desired_configuration(),
        )
}

fn same_shape(ours: Option<&DesiredConfiguration>, theirs: Option<&DesiredConfiguration>) -> bool {
    match (ours, theirs) {
        (Some(a), Some(b)) => {
            a.launch_template().is_some() == b.launch_template().is_some()
                && a.mixed_instances_policy().is_some() == b.mixed_instances_policy().is_some()
        }
        (None, None) => true,
        _ => false,
    }
}

impl Refresher {
    /// Whether [`OnConflict::Adopt`](super::OnConflict::Adopt) can adopt a running refresh for
    /// this request: it needs a desired configuration whose launch templates all name a
    /// numbered version (not `$Latest` or `$Default`). When it cannot, `start` waits as under
    /// [`OnConflict::Wait`](super::OnConflict::Wait) and logs why (a `WARN` event); this tells
    /// a caller in advance, to say so in its own output.
    ///
    /// ```
    /// use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
    /// use aws_sdk_autoscaling::types::{DesiredConfiguration, LaunchTemplateSpecification};
    /// use instance_refresh_retry::{NotAdoptable, Refresher};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let template = |version: &str| {
    ///     DesiredConfiguration::builder()
    ///         .launch_template(
    ///             LaunchTemplateSpecification::builder()
    ///                 .launch_template_name("web")
    ///                 .version(version)
    ///                 .build(),
    ///         )
    ///         .build()
    /// };
    /// let input = |desired| {
    ///     StartInstanceRefreshInput::builder()
    ///         .auto_scaling_group_name("web")
    ///         .set_desired_configuration(desired)
    ///         .build()
    /// };
    /// assert_eq!(Refresher::adoptable(&input(Some(template("7")))?), Ok(()));
    /// assert_eq!(
    ///     Refresher::adoptable(&input(Some(template("$Latest")))?),
    ///     Err(NotAdoptable::FloatingVersion("$Latest".into()))
    /// );
    /// assert_eq!(
    ///     Refresher::adoptable(&input(None)?),
    ///     Err(NotAdoptable::NoDesiredConfiguration)
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`NotAdoptable`], which says why.
    pub fn adoptable(input: &StartInstanceRefreshInput) -> Result<(), NotAdoptable> {
        pinned(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::types::{
        InstanceRefreshStatus, LaunchTemplate, LaunchTemplateOverrides,
        LaunchTemplateSpecification, MixedInstancesPolicy, RefreshPreferences,
    };

    fn spec(version: Option<&str>) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .launch_template_name("web")
            .set_version(version.map(str::to_owned))
            .build()
    }

    fn template(version: Option<&str>) -> DesiredConfiguration {
        DesiredConfiguration::builder()
            .launch_template(spec(version))
            .build()
    }

    fn input(desired: Option<DesiredConfiguration>) -> StartInstanceRefreshInput {
        StartInstanceRefreshInput::builder()
            .auto_scaling_group_name("web")
            .set_desired_configuration(desired)
            .preferences(RefreshPreferences::builder().skip_matching(true).build())
            .build()
            .unwrap()
    }

    fn running(desired: Option<DesiredConfiguration>) -> InstanceRefresh {
        described(InstanceRefreshStatus::InProgress, true, desired)
    }

    fn described(
        status: InstanceRefreshStatus,
        skip_matching: bool,
        desired: Option<DesiredConfiguration>,
    ) -> InstanceRefresh {
        InstanceRefresh::builder()
            .instance_refresh_id("r-1")
            .status(status)
            .set_desired_configuration(desired)
            .preferences(
                RefreshPreferences::builder()
                    .min_healthy_percentage(90)
                    .skip_matching(skip_matching)
                    .build(),
            )
            .build()
    }

    #[test]
    fn only_a_pinned_version_can_be_adopted() {
        assert_eq!(pinned(&input(Some(template(Some("3"))))), Ok(()));
        assert_eq!(
            pinned(&input(None)),
            Err(NotAdoptable::NoDesiredConfiguration)
        );
        assert_eq!(
            pinned(&input(Some(template(None)))),
            Err(NotAdoptable::NoVersion)
        );
        for floating in ["$Latest", "$Default"] {
            assert_eq!(
                pinned(&input(Some(template(Some(floating))))),
                Err(NotAdoptable::FloatingVersion(floating.into()))
            );
        }
        // A mixed instances policy: its template and every override's must be pinned.
        let mixed = |override_version: Option<&str>| {
            let overrides = LaunchTemplateOverrides::builder()
                .instance_type("m7g.large")
                .launch_template_specification(spec(override_version))
                .build();
            DesiredConfiguration::builder()
                .mixed_instances_policy(
                    MixedInstancesPolicy::builder()
                        .launch_template(
                            LaunchTemplate::builder()
                                .launch_template_specification(spec(Some("3")))
                                .overrides(overrides)
                                .build(),
                        )
                        .build(),
                )
                .build()
        };
        assert_eq!(pinned(&input(Some(mixed(Some("4"))))), Ok(()));
        assert_eq!(
            pinned(&input(Some(mixed(Some("$Latest"))))),
            Err(NotAdoptable::FloatingVersion("$Latest".into()))
        );
        let empty = DesiredConfiguration::builder().build();
        assert_eq!(pinned(&input(Some(empty))), Err(NotAdoptable::NoVersion));
    }

    #[test]
    fn adopts_only_an_active_refresh_of_the_same_configuration() {
        let ours = input(Some(template(Some("3"))));
        assert!(adopts(&ours, &running(Some(template(Some("3"))))));
        assert!(!adopts(&ours, &running(Some(template(Some("4"))))));
        assert!(!adopts(&ours, &running(None)));
        let ended = described(
            InstanceRefreshStatus::Successful,
            true,
            Some(template(Some("3"))),
        );
        assert!(!adopts(&ours, &ended));
        // A preference the request sets must be the same.
        let other = described(
            InstanceRefreshStatus::InProgress,
            false,
            Some(template(Some("3"))),
        );
        assert!(!adopts(&ours, &other));
        // The same template, but with a mixed instances policy the request does not have.
        let mixed = DesiredConfiguration::builder()
            .launch_template(spec(Some("3")))
            .mixed_instances_policy(MixedInstancesPolicy::builder().build())
            .build();
        assert!(!adopts(&ours, &running(Some(mixed))));
    }
}
