//! `StartInstanceRefresh` parameters: `Strategy`, `Preferences` and `DesiredConfiguration`,
//! validated the way Auto Scaling validates them, and the `Preferences` element that
//! `DescribeInstanceRefreshes` echoes back (with the defaults Auto Scaling fills in).
//!
//! See the [module docs](super) for the rules.

use std::collections::BTreeMap;

use super::api::{ApiError, Params};
use super::xml::Node;

/// `MinHealthyPercentage` when the request sets none (and the group has no instance
/// maintenance policy, which the simulator does not model).
pub(crate) const DEFAULT_MIN_HEALTHY: u32 = 90;
/// `MaxHealthyPercentage` when the request sets none.
pub(crate) const DEFAULT_MAX_HEALTHY: u32 = 100;
/// `CheckpointDelay` when the request sets `CheckpointPercentages` but no delay (one hour).
pub(crate) const DEFAULT_CHECKPOINT_DELAY: u32 = 3600;
/// Upper bound of `CheckpointDelay` and `BakeTime` (48 hours).
pub(crate) const MAX_DELAY: u32 = 172_800;
/// What Describe echoes for `ScaleInProtectedInstances` and `StandbyInstances` when unset.
pub(crate) const DEFAULT_PROTECTED_AND_STANDBY: &str = "Ignore";

const STRATEGIES: &[&str] = &["Rolling", "ReplaceRootVolume"];
const SCALE_IN_PROTECTED: &[&str] = &["Ignore", "Wait", "Refresh"];
const STANDBY: &[&str] = &["Terminate", "Ignore", "Wait"];

/// The refresh preferences a request set (`None`: not set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Preferences {
    pub(crate) min_healthy: Option<u32>,
    pub(crate) max_healthy: Option<u32>,
    pub(crate) instance_warmup: Option<u32>,
    pub(crate) checkpoints: Option<Vec<u32>>,
    pub(crate) checkpoint_delay: Option<u32>,
    pub(crate) skip_matching: Option<bool>,
    pub(crate) auto_rollback: Option<bool>,
    pub(crate) scale_in_protected: Option<String>,
    pub(crate) standby: Option<String>,
    /// The `AlarmSpecification` subtree, echoed as sent.
    pub(crate) alarms: Option<Node>,
    pub(crate) bake_time: Option<u32>,
}

impl Preferences {
    /// Whether the request set a preference that shapes the InProgress phase into batches.
    pub(crate) fn affects_batches(&self) -> bool {
        self.instance_warmup.is_some()
            || self.min_healthy.is_some()
            || self.max_healthy.is_some()
            || self.checkpoints.is_some()
    }

    pub(crate) fn min_healthy(&self) -> u32 {
        self.min_healthy.unwrap_or(DEFAULT_MIN_HEALTHY)
    }

    pub(crate) fn max_healthy(&self) -> u32 {
        self.max_healthy.unwrap_or(DEFAULT_MAX_HEALTHY)
    }

    /// The checkpoint percentages (empty: none).
    pub(crate) fn checkpoints(&self) -> &[u32] {
        self.checkpoints.as_deref().unwrap_or_default()
    }

    pub(crate) fn checkpoint_delay(&self) -> u32 {
        self.checkpoint_delay.unwrap_or(DEFAULT_CHECKPOINT_DELAY)
    }

    pub(crate) fn auto_rollback(&self) -> bool {
        self.auto_rollback.unwrap_or(false)
    }

    /// The `Preferences` element Describe sends: what the request set plus the defaults Auto
    /// Scaling fills in, in the service model's member order. `bake_time` is the bake time in
    /// effect (seconds), echoed when it is not zero or the request set it.
    pub(crate) fn echo(&self, bake_time: u32) -> Node {
        let mut node = Node::new("Preferences");
        node.push_leaf("MinHealthyPercentage", &self.min_healthy().to_string());
        if let Some(warmup) = self.instance_warmup {
            node.push_leaf("InstanceWarmup", &warmup.to_string());
        }
        if let Some(checkpoints) = &self.checkpoints {
            let mut list = Node::new("CheckpointPercentages");
            for (i, c) in checkpoints.iter().enumerate() {
                list.insert(&["member", &(i + 1).to_string()], &c.to_string());
            }
            node.push(list);
            node.push_leaf("CheckpointDelay", &self.checkpoint_delay().to_string());
        }
        node.push_leaf(
            "SkipMatching",
            bool_str(self.skip_matching.unwrap_or(false)),
        )
        .push_leaf("AutoRollback", bool_str(self.auto_rollback()))
        .push_leaf(
            "ScaleInProtectedInstances",
            self.scale_in_protected
                .as_deref()
                .unwrap_or(DEFAULT_PROTECTED_AND_STANDBY),
        )
        .push_leaf(
            "StandbyInstances",
            self.standby
                .as_deref()
                .unwrap_or(DEFAULT_PROTECTED_AND_STANDBY),
        );
        if let Some(alarms) = &self.alarms {
            node.push(alarms.clone());
        }
        // Not echoed when unset: omitting it is not the same as setting 100 (see the SDK docs).
        if let Some(max) = self.max_healthy {
            node.push_leaf("MaxHealthyPercentage", &max.to_string());
        }
        if self.bake_time.is_some() || bake_time > 0 {
            node.push_leaf("BakeTime", &bake_time.to_string());
        }
        node
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A decoded, valid `StartInstanceRefresh`.
#[derive(Debug, Clone)]
pub(crate) struct StartRequest {
    pub(crate) strategy: String,
    pub(crate) preferences: Preferences,
    /// `DesiredConfiguration`, as sent.
    pub(crate) desired: Option<Node>,
}

/// Whether a refresh with this desired configuration can be rolled back: there is one, and it
/// does not name the launch template version `$Latest` or `$Default`.
pub(crate) fn reversible(desired: Option<&Node>) -> bool {
    desired.is_some_and(|d| !d.any_leaf("Version", &|v| matches!(v, "$Latest" | "$Default")))
}

fn malformed(key: &str, raw: &str) -> ApiError {
    ApiError::malformed(key, raw)
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "ValidationError", message)
}

fn int(params: Params<'_>, key: &str) -> Result<Option<i64>, ApiError> {
    params.int(key)
}

fn boolean(params: Params<'_>, key: &str) -> Result<Option<bool>, ApiError> {
    params.boolean(key)
}

/// Collects constraint violations, phrased like Auto Scaling's
/// `N validation error(s) detected: ...` messages.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    /// Check `value` against `min..=max`; returns it as `u32` if it is in range.
    fn range(&mut self, value: Option<i64>, member: &str, min: i64, max: i64) -> Option<u32> {
        let v = value?;
        if v < min {
            self.0.push(format!(
                "Value '{v}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
            ));
            None
        } else if v > max {
            self.0.push(format!(
                "Value '{v}' at '{member}' failed to satisfy constraint: Member must have value less than or equal to {max}"
            ));
            None
        } else {
            u32::try_from(v).ok()
        }
    }

    fn one_of(&mut self, value: Option<&str>, member: &str, allowed: &[&str]) -> Option<String> {
        let v = value?;
        if allowed.contains(&v) {
            Some(v.to_owned())
        } else {
            self.0.push(format!(
                "Value '{v}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ));
            None
        }
    }

    fn into_error(self) -> Option<ApiError> {
        match self.0.len() {
            0 => None,
            1 => Some(validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Some(validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// The subtree of all parameters under `prefix` (e.g. `DesiredConfiguration.`), as a `name`
/// element; `None` if there are none.
fn subtree(params: Params<'_>, prefix: &str, name: &str) -> Option<Node> {
    let mut node = Node::new(name);
    let mut any = false;
    for (path, value) in params.with_prefix(prefix) {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().all(|s| !s.is_empty()) {
            node.insert(&segments, value);
            any = true;
        }
    }
    any.then_some(node)
}

/// Decode and validate the parameters of a `StartInstanceRefresh` (all but the group name).
pub(crate) fn parse_start(params: Params<'_>) -> Result<StartRequest, ApiError> {
    let mut violations = Violations::default();
    let strategy = violations
        .one_of(
            Some(params.get("Strategy").unwrap_or("Rolling")),
            "strategy",
            STRATEGIES,
        )
        .unwrap_or_default();

    let min_healthy = violations.range(
        int(params, "Preferences.MinHealthyPercentage")?,
        "preferences.minHealthyPercentage",
        0,
        100,
    );
    let max_healthy = violations.range(
        int(params, "Preferences.MaxHealthyPercentage")?,
        "preferences.maxHealthyPercentage",
        100,
        200,
    );
    let instance_warmup = violations.range(
        int(params, "Preferences.InstanceWarmup")?,
        "preferences.instanceWarmup",
        0,
        i64::from(u32::MAX),
    );
    let checkpoint_delay = violations.range(
        int(params, "Preferences.CheckpointDelay")?,
        "preferences.checkpointDelay",
        0,
        i64::from(MAX_DELAY),
    );
    let bake_time = violations.range(
        int(params, "Preferences.BakeTime")?,
        "preferences.bakeTime",
        0,
        i64::from(MAX_DELAY),
    );
    let scale_in_protected = violations.one_of(
        params.get("Preferences.ScaleInProtectedInstances"),
        "preferences.scaleInProtectedInstances",
        SCALE_IN_PROTECTED,
    );
    let standby = violations.one_of(
        params.get("Preferences.StandbyInstances"),
        "preferences.standbyInstances",
        STANDBY,
    );
    let skip_matching = boolean(params, "Preferences.SkipMatching")?;
    let auto_rollback = boolean(params, "Preferences.AutoRollback")?;

    // CheckpointPercentages.member.N, in index order (a repeated index keeps its last value).
    let mut members = BTreeMap::new();
    for (index, raw) in params.with_prefix("Preferences.CheckpointPercentages.member.") {
        let key = format!("Preferences.CheckpointPercentages.member.{index}");
        let index: u64 = index.parse().map_err(|_| malformed(&key, raw))?;
        let value: i64 = raw.parse().map_err(|_| malformed(&key, raw))?;
        members.insert(index, value);
    }
    let checkpoints: Option<Vec<u32>> = (!members.is_empty()).then(|| {
        members
            .values()
            .filter_map(|&v| {
                violations.range(Some(v), "preferences.checkpointPercentages.member", 1, 100)
            })
            .collect()
    });

    if let Some(error) = violations.into_error() {
        return Err(error);
    }

    let desired = subtree(params, "DesiredConfiguration.", "DesiredConfiguration");
    let preferences = Preferences {
        min_healthy,
        max_healthy,
        instance_warmup,
        checkpoints,
        checkpoint_delay,
        skip_matching,
        auto_rollback,
        scale_in_protected,
        standby,
        alarms: subtree(
            params,
            "Preferences.AlarmSpecification.",
            "AlarmSpecification",
        ),
        bake_time,
    };
    check_rules(&preferences, desired.as_ref())?;
    Ok(StartRequest {
        strategy,
        preferences,
        desired,
    })
}

/// The rules that relate several parameters to each other.
fn check_rules(p: &Preferences, desired: Option<&Node>) -> Result<(), ApiError> {
    if let Some(checkpoints) = &p.checkpoints
        && checkpoints.windows(2).any(|w| w[0] >= w[1])
    {
        return Err(validation(
            "CheckpointPercentages must be unique and in ascending order.",
        ));
    }
    if p.checkpoint_delay.is_some() && p.checkpoints.is_none() {
        return Err(validation(
            "CheckpointDelay can only be specified together with CheckpointPercentages.",
        ));
    }
    if let Some(max) = p.max_healthy {
        let Some(min) = p.min_healthy else {
            return Err(validation(
                "MinHealthyPercentage must be specified when MaxHealthyPercentage is specified.",
            ));
        };
        // (max < min cannot happen: the ranges already keep min <= 100 <= max.)
        if max - min > 100 {
            return Err(validation(format!(
                "The difference between MaxHealthyPercentage ({max}) and MinHealthyPercentage ({min}) cannot be greater than 100."
            )));
        }
    }
    if let Some(d) = desired
        && d.child("LaunchTemplate").is_none()
        && d.child("MixedInstancesPolicy").is_none()
    {
        return Err(validation(
            "A desired configuration must specify either a LaunchTemplate or a MixedInstancesPolicy.",
        ));
    }
    if p.auto_rollback() {
        if desired.is_none() {
            return Err(validation(
                "AutoRollback is not supported for an instance refresh without a desired configuration.",
            ));
        }
        if !reversible(desired) {
            return Err(validation(
                "AutoRollback is not supported when the desired configuration uses the launch template version $Latest or $Default.",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(form: &[(&str, &str)]) -> Result<StartRequest, ApiError> {
        let pairs: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_start(Params(&pairs))
    }

    #[test]
    fn defaults_and_batch_affecting_preferences() {
        let r = parse(&[]).expect("valid");
        assert_eq!(r.strategy, "Rolling");
        assert!(!r.preferences.affects_batches());
        assert_eq!(r.preferences.min_healthy(), 90);
        assert_eq!(r.preferences.max_healthy(), 100);
        assert!(r.desired.is_none());
        for key in [
            "Preferences.InstanceWarmup",
            "Preferences.MinHealthyPercentage",
            "Preferences.MaxHealthyPercentage",
            "Preferences.CheckpointPercentages.member.1",
        ] {
            let mut form = vec![(key, "100")];
            if key.contains("Max") {
                form.push(("Preferences.MinHealthyPercentage", "90"));
            }
            assert!(
                parse(&form).expect(key).preferences.affects_batches(),
                "{key}"
            );
        }
        let r = parse(&[
            ("Preferences.BakeTime", "60"),
            ("Preferences.SkipMatching", "true"),
        ])
        .expect("valid");
        assert!(!r.preferences.affects_batches());
    }

    #[test]
    fn constraint_violations_are_collected() {
        let e = parse(&[
            ("Preferences.MinHealthyPercentage", "101"),
            ("Preferences.StandbyInstances", "Nope"),
        ])
        .expect_err("invalid");
        assert_eq!(e.code, "ValidationError");
        assert!(
            e.message.starts_with("2 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("Value '101' at 'preferences.minHealthyPercentage'")
        );
        assert!(e.message.contains("[Terminate, Ignore, Wait]"));
        let e = parse(&[("Preferences.MinHealthyPercentage", "x")]).expect_err("malformed");
        assert_eq!(e.code, "MalformedInput");
    }

    #[test]
    fn reversibility_needs_a_pinned_desired_configuration() {
        assert!(!reversible(None));
        let mut d = Node::new("DesiredConfiguration");
        d.insert(&["LaunchTemplate", "LaunchTemplateName"], "web");
        assert!(reversible(Some(&d)));
        d.insert(&["LaunchTemplate", "Version"], "$Default");
        assert!(!reversible(Some(&d)));
    }

    #[test]
    fn echo_follows_the_model_order() {
        let r = parse(&[
            ("Preferences.BakeTime", "30"),
            ("Preferences.CheckpointPercentages.member.2", "100"),
            ("Preferences.CheckpointPercentages.member.1", "50"),
            ("Preferences.MaxHealthyPercentage", "110"),
            ("Preferences.MinHealthyPercentage", "+80"),
        ])
        .expect("valid");
        let mut expected = Node::new("Preferences");
        expected.push_leaf("MinHealthyPercentage", "80");
        let mut list = Node::new("CheckpointPercentages");
        list.insert(&["member", "1"], "50");
        list.insert(&["member", "2"], "100");
        expected
            .push(list)
            .push_leaf("CheckpointDelay", "3600")
            .push_leaf("SkipMatching", "false")
            .push_leaf("AutoRollback", "false")
            .push_leaf("ScaleInProtectedInstances", "Ignore")
            .push_leaf("StandbyInstances", "Ignore")
            .push_leaf("MaxHealthyPercentage", "110")
            .push_leaf("BakeTime", "30");
        assert_eq!(r.preferences.echo(30), expected);
    }
}
