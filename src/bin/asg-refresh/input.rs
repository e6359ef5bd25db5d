//! `start`'s request: `--preferences` and `--desired-configuration` JSON in the AWS CLI's shapes
//! (literal or `file://PATH`), the single-value flags over them, `--strategy`, and the rules
//! Auto Scaling would refuse, checked before any call (exit 2, naming the field).

use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshInput;
use aws_sdk_autoscaling::types::{
    AlarmSpecification, DesiredConfiguration, InstanceRequirements, InstancesDistribution,
    LaunchTemplate, LaunchTemplateOverrides, LaunchTemplateSpecification, MixedInstancesPolicy,
    RefreshPreferences, RefreshStrategy, ScaleInProtectedInstances, StandbyInstances,
};
use serde::Deserialize;

use crate::args::{StartArgs, StrategyArg, is_launch_template_id, parse_version, whole_secs};
use crate::run::Usage;

/// The longest `BakeTime` and `CheckpointDelay` (48 h).
const MAX_DELAY: i32 = 172_800;

/// `--preferences`, as the AWS CLI takes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Preferences {
    min_healthy_percentage: Option<i32>,
    max_healthy_percentage: Option<i32>,
    instance_warmup: Option<i32>,
    checkpoint_percentages: Option<Vec<i32>>,
    checkpoint_delay: Option<i32>,
    skip_matching: Option<bool>,
    auto_rollback: Option<bool>,
    scale_in_protected_instances: Option<ScaleInProtected>,
    standby_instances: Option<Standby>,
    alarm_specification: Option<Alarms>,
    bake_time: Option<i32>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum ScaleInProtected {
    Refresh,
    Ignore,
    Wait,
}

#[derive(Debug, Clone, Copy, Deserialize)]
enum Standby {
    Terminate,
    Ignore,
    Wait,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Alarms {
    alarms: Option<Vec<String>>,
}

/// `--desired-configuration`, as the AWS CLI takes it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Desired {
    launch_template: Option<TemplateSpec>,
    mixed_instances_policy: Option<Mixed>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TemplateSpec {
    launch_template_id: Option<String>,
    launch_template_name: Option<String>,
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Mixed {
    launch_template: Option<MixedTemplate>,
    instances_distribution: Option<Distribution>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct MixedTemplate {
    launch_template_specification: Option<TemplateSpec>,
    overrides: Option<Vec<Override>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Override {
    instance_type: Option<String>,
    weighted_capacity: Option<String>,
    launch_template_specification: Option<TemplateSpec>,
    image_id: Option<String>,
    instance_requirements: Option<Requirements>,
}

/// Attribute-based instance type selection (`InstanceRequirements`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Requirements {
    v_cpu_count: Option<MinMax<i32>>,
    #[serde(rename = "MemoryMiB")]
    memory_mib: Option<MinMax<i32>>,
    cpu_manufacturers: Option<Vec<String>>,
    #[serde(rename = "MemoryGiBPerVCpu")]
    memory_gib_per_v_cpu: Option<MinMax<f64>>,
    excluded_instance_types: Option<Vec<String>>,
    instance_generations: Option<Vec<String>>,
    spot_max_price_percentage_over_lowest_price: Option<i32>,
    max_spot_price_as_percentage_of_optimal_on_demand_price: Option<i32>,
    on_demand_max_price_percentage_over_lowest_price: Option<i32>,
    bare_metal: Option<String>,
    burstable_performance: Option<String>,
    require_hibernate_support: Option<bool>,
    network_interface_count: Option<MinMax<i32>>,
    local_storage: Option<String>,
    local_storage_types: Option<Vec<String>>,
    #[serde(rename = "TotalLocalStorageGB")]
    total_local_storage_gb: Option<MinMax<f64>>,
    baseline_ebs_bandwidth_mbps: Option<MinMax<i32>>,
    accelerator_types: Option<Vec<String>>,
    accelerator_count: Option<MinMax<i32>>,
    accelerator_manufacturers: Option<Vec<String>>,
    accelerator_names: Option<Vec<String>>,
    #[serde(rename = "AcceleratorTotalMemoryMiB")]
    accelerator_total_memory_mib: Option<MinMax<i32>>,
    network_bandwidth_gbps: Option<MinMax<f64>>,
    allowed_instance_types: Option<Vec<String>>,
    baseline_performance_factors: Option<PerformanceFactors>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct MinMax<T> {
    min: Option<T>,
    max: Option<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct PerformanceFactors {
    cpu: Option<CpuFactors>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct CpuFactors {
    references: Option<Vec<FactorReference>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct FactorReference {
    instance_family: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Distribution {
    on_demand_allocation_strategy: Option<String>,
    on_demand_base_capacity: Option<i32>,
    on_demand_percentage_above_base_capacity: Option<i32>,
    spot_allocation_strategy: Option<String>,
    spot_instance_pools: Option<i32>,
    spot_max_price: Option<String>,
}

/// What `start` sends for every group: strategy, preferences, desired configuration.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    strategy: Option<RefreshStrategy>,
    preferences: Option<RefreshPreferences>,
    desired: Option<DesiredConfiguration>,
}

impl StartRequest {
    /// The request for `group`.
    pub fn input(&self, group: &str) -> StartInstanceRefreshInput {
        StartInstanceRefreshInput::builder()
            .auto_scaling_group_name(group)
            .set_strategy(self.strategy.clone())
            .set_preferences(self.preferences.clone())
            .set_desired_configuration(self.desired.clone())
            .build()
            .expect("StartInstanceRefreshInput has no required field to miss")
    }

    /// Reads the JSON, applies the flags over it and checks the result.
    pub fn from_args(args: &StartArgs) -> Result<StartRequest, Usage> {
        let mut prefs: Preferences = match &args.preferences {
            Some(raw) => parse("--preferences", raw)?,
            None => Preferences::default(),
        };
        let mut desired: Option<Desired> = match &args.desired_configuration {
            Some(raw) => Some(parse("--desired-configuration", raw)?),
            None => None,
        };

        // The single-value flags override the JSON's fields.
        let set = |field: &mut Option<i32>, flag: Option<i32>| {
            if flag.is_some() {
                *field = flag;
            }
        };
        set(
            &mut prefs.min_healthy_percentage,
            args.min_healthy_percentage,
        );
        set(
            &mut prefs.max_healthy_percentage,
            args.max_healthy_percentage,
        );
        set(
            &mut prefs.instance_warmup,
            args.instance_warmup.map(whole_secs),
        );
        set(
            &mut prefs.checkpoint_delay,
            args.checkpoint_delay.map(whole_secs),
        );
        set(&mut prefs.bake_time, args.bake_time.map(whole_secs));
        if let Some(checkpoints) = &args.checkpoints {
            prefs.checkpoint_percentages = Some(checkpoints.clone());
        }
        if args.skip_matching {
            prefs.skip_matching = Some(true);
        }
        if args.auto_rollback {
            prefs.auto_rollback = Some(true);
        }
        if args.launch_template.is_some() || args.launch_template_version.is_some() {
            let desired = desired.get_or_insert_with(Desired::default);
            // The shorthands name the mixed instances policy's template when there is one.
            let spec = match &mut desired.mixed_instances_policy {
                Some(mixed) => mixed
                    .launch_template
                    .get_or_insert_with(MixedTemplate::default)
                    .launch_template_specification
                    .get_or_insert_with(TemplateSpec::default),
                None => desired
                    .launch_template
                    .get_or_insert_with(TemplateSpec::default),
            };
            if let Some(template) = &args.launch_template {
                if is_launch_template_id(template) {
                    spec.launch_template_id = Some(template.clone());
                    spec.launch_template_name = None;
                } else {
                    spec.launch_template_name = Some(template.clone());
                    spec.launch_template_id = None;
                }
            }
            if let Some(version) = &args.launch_template_version {
                spec.version = Some(version.clone());
                if spec.launch_template_id.is_none() && spec.launch_template_name.is_none() {
                    return Err(Usage(
                        "--launch-template-version needs a launch template: --launch-template NAME|lt-ID, or one in --desired-configuration".into(),
                    ));
                }
            }
        }

        let desired = desired.map(|d| d.check()).transpose()?;
        let preferences = prefs.check(desired.as_ref())?;
        let strategy = args.strategy.map(|s| match s {
            StrategyArg::Rolling => RefreshStrategy::Rolling,
            StrategyArg::ReplaceRootVolume => RefreshStrategy::ReplaceRootVolume,
        });
        Ok(StartRequest {
            strategy,
            preferences,
            desired,
        })
    }
}

/// A JSON value of `flag`, literal or `file://PATH`.
fn parse<T: serde::de::DeserializeOwned>(flag: &str, raw: &str) -> Result<T, Usage> {
    let text = match raw.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Usage(format!("{flag}: cannot read {path}: {e}")))?,
        None => raw.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| Usage(format!("{flag}: {e}")))
}

fn bad(field: &str, why: impl std::fmt::Display) -> Usage {
    Usage(format!("{field}: {why}"))
}

fn range(field: &str, value: Option<i32>, min: i32, max: i32) -> Result<(), Usage> {
    match value {
        Some(v) if v < min || v > max => Err(bad(field, format!("{v} is not in {min}..={max}"))),
        _ => Ok(()),
    }
}

impl Preferences {
    fn is_empty(&self) -> bool {
        self.min_healthy_percentage.is_none()
            && self.max_healthy_percentage.is_none()
            && self.instance_warmup.is_none()
            && self.checkpoint_percentages.is_none()
            && self.checkpoint_delay.is_none()
            && self.skip_matching.is_none()
            && self.auto_rollback.is_none()
            && self.scale_in_protected_instances.is_none()
            && self.standby_instances.is_none()
            && self.alarm_specification.is_none()
            && self.bake_time.is_none()
    }

    /// The rules Auto Scaling applies, named by field (flag names in parentheses).
    fn check(
        self,
        desired: Option<&DesiredConfiguration>,
    ) -> Result<Option<RefreshPreferences>, Usage> {
        if self.is_empty() {
            return Ok(None);
        }
        range(
            "MinHealthyPercentage (--min-healthy-percentage)",
            self.min_healthy_percentage,
            0,
            100,
        )?;
        range(
            "MaxHealthyPercentage (--max-healthy-percentage)",
            self.max_healthy_percentage,
            100,
            200,
        )?;
        if let Some(max) = self.max_healthy_percentage {
            let Some(min) = self.min_healthy_percentage else {
                return Err(bad(
                    "MaxHealthyPercentage (--max-healthy-percentage)",
                    "needs MinHealthyPercentage (--min-healthy-percentage) too",
                ));
            };
            if max - min > 100 {
                return Err(bad(
                    "MaxHealthyPercentage (--max-healthy-percentage)",
                    format!("{max} is more than 100 above MinHealthyPercentage {min}"),
                ));
            }
        }
        range(
            "InstanceWarmup (--instance-warmup)",
            self.instance_warmup,
            0,
            i32::MAX,
        )?;
        range(
            "CheckpointDelay (--checkpoint-delay)",
            self.checkpoint_delay,
            0,
            MAX_DELAY,
        )?;
        range("BakeTime (--bake-time)", self.bake_time, 0, MAX_DELAY)?;
        if let Some(checkpoints) = &self.checkpoint_percentages {
            let field = "CheckpointPercentages (--checkpoints)";
            if checkpoints.is_empty() {
                return Err(bad(field, "empty"));
            }
            for &c in checkpoints {
                range(field, Some(c), 1, 100)?;
            }
            if checkpoints.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad(field, "must be unique and in ascending order"));
            }
        }
        if self.checkpoint_delay.is_some() && self.checkpoint_percentages.is_none() {
            return Err(bad(
                "CheckpointDelay (--checkpoint-delay)",
                "needs CheckpointPercentages (--checkpoints)",
            ));
        }
        if self.auto_rollback == Some(true) {
            let field = "AutoRollback (--auto-rollback)";
            let Some(desired) = desired else {
                return Err(bad(
                    field,
                    "needs a desired configuration (--desired-configuration, or --launch-template and --launch-template-version): Auto Scaling rolls back only to one",
                ));
            };
            if let Some(v) = floating_version(desired) {
                return Err(bad(
                    field,
                    format!("needs a numbered launch template version, not {v}"),
                ));
            }
        }
        if let Some(alarms) = &self.alarm_specification
            && alarms
                .alarms
                .as_ref()
                .is_some_and(|a| a.iter().any(String::is_empty))
        {
            return Err(bad("AlarmSpecification.Alarms", "an alarm name is empty"));
        }
        Ok(Some(
            RefreshPreferences::builder()
                .set_min_healthy_percentage(self.min_healthy_percentage)
                .set_max_healthy_percentage(self.max_healthy_percentage)
                .set_instance_warmup(self.instance_warmup)
                .set_checkpoint_percentages(self.checkpoint_percentages)
                .set_checkpoint_delay(self.checkpoint_delay)
                .set_skip_matching(self.skip_matching)
                .set_auto_rollback(self.auto_rollback)
                .set_scale_in_protected_instances(self.scale_in_protected_instances.map(
                    |p| match p {
                        ScaleInProtected::Refresh => ScaleInProtectedInstances::Refresh,
                        ScaleInProtected::Ignore => ScaleInProtectedInstances::Ignore,
                        ScaleInProtected::Wait => ScaleInProtectedInstances::Wait,
                    },
                ))
                .set_standby_instances(self.standby_instances.map(|s| match s {
                    Standby::Terminate => StandbyInstances::Terminate,
                    Standby::Ignore => StandbyInstances::Ignore,
                    Standby::Wait => StandbyInstances::Wait,
                }))
                .set_alarm_specification(
                    self.alarm_specification
                        .map(|a| AlarmSpecification::builder().set_alarms(a.alarms).build()),
                )
                .set_bake_time(self.bake_time)
                .build(),
        ))
    }
}

/// A `$Latest` or `$Default` version anywhere in the desired configuration.
fn floating_version(desired: &DesiredConfiguration) -> Option<&str> {
    let mut specs: Vec<&LaunchTemplateSpecification> =
        desired.launch_template().into_iter().collect();
    if let Some(template) = desired
        .mixed_instances_policy()
        .and_then(|m| m.launch_template())
    {
        specs.extend(template.launch_template_specification());
        specs.extend(
            template
                .overrides()
                .iter()
                .filter_map(|o| o.launch_template_specification()),
        );
    }
    specs.into_iter().find_map(|s| match s.version() {
        None => Some("$Default (no Version)"),
        Some(v @ ("$Latest" | "$Default")) => Some(v),
        Some(_) => None,
    })
}

impl TemplateSpec {
    fn check(self, field: &str) -> Result<LaunchTemplateSpecification, Usage> {
        match (&self.launch_template_id, &self.launch_template_name) {
            (None, None) => {
                return Err(bad(
                    field,
                    "names no launch template: set LaunchTemplateId or LaunchTemplateName (--launch-template)",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    field,
                    "sets both LaunchTemplateId and LaunchTemplateName: set one",
                ));
            }
            _ => {}
        }
        if let Some(version) = &self.version {
            parse_version(version).map_err(|why| bad(&format!("{field}.Version"), why))?;
        }
        Ok(LaunchTemplateSpecification::builder()
            .set_launch_template_id(self.launch_template_id)
            .set_launch_template_name(self.launch_template_name)
            .set_version(self.version)
            .build())
    }
}

impl Desired {
    fn check(self) -> Result<DesiredConfiguration, Usage> {
        if self.launch_template.is_none() && self.mixed_instances_policy.is_none() {
            return Err(bad(
                "DesiredConfiguration",
                "needs a LaunchTemplate or a MixedInstancesPolicy",
            ));
        }
        let launch_template = self
            .launch_template
            .map(|t| t.check("DesiredConfiguration.LaunchTemplate"))
            .transpose()?;
        let mixed = self.mixed_instances_policy.map(Mixed::check).transpose()?;
        Ok(DesiredConfiguration::builder()
            .set_launch_template(launch_template)
            .set_mixed_instances_policy(mixed)
            .build())
    }
}

impl Mixed {
    fn check(self) -> Result<MixedInstancesPolicy, Usage> {
        const FIELD: &str = "DesiredConfiguration.MixedInstancesPolicy";
        let template = match self.launch_template {
            None => None,
            Some(t) => {
                let spec = t
                    .launch_template_specification
                    .map(|s| {
                        s.check(&format!(
                            "{FIELD}.LaunchTemplate.LaunchTemplateSpecification"
                        ))
                    })
                    .transpose()?;
                let mut overrides = Vec::new();
                for (i, o) in t.overrides.unwrap_or_default().into_iter().enumerate() {
                    let field = format!("{FIELD}.LaunchTemplate.Overrides[{i}]");
                    let requirements = o
                        .instance_requirements
                        .map(|r| r.check(&format!("{field}.InstanceRequirements")))
                        .transpose()?;
                    let spec = o
                        .launch_template_specification
                        .map(|s| s.check(&format!("{field}.LaunchTemplateSpecification")))
                        .transpose()?;
                    overrides.push(
                        LaunchTemplateOverrides::builder()
                            .set_instance_type(o.instance_type)
                            .set_weighted_capacity(o.weighted_capacity)
                            .set_launch_template_specification(spec)
                            .set_image_id(o.image_id)
                            .set_instance_requirements(requirements)
                            .build(),
                    );
                }
                Some(
                    LaunchTemplate::builder()
                        .set_launch_template_specification(spec)
                        .set_overrides((!overrides.is_empty()).then_some(overrides))
                        .build(),
                )
            }
        };
        let distribution = match self.instances_distribution {
            None => None,
            Some(d) => {
                let field = format!("{FIELD}.InstancesDistribution");
                range(
                    &format!("{field}.OnDemandBaseCapacity"),
                    d.on_demand_base_capacity,
                    0,
                    i32::MAX,
                )?;
                range(
                    &format!("{field}.OnDemandPercentageAboveBaseCapacity"),
                    d.on_demand_percentage_above_base_capacity,
                    0,
                    100,
                )?;
                range(
                    &format!("{field}.SpotInstancePools"),
                    d.spot_instance_pools,
                    1,
                    20,
                )?;
                Some(
                    InstancesDistribution::builder()
                        .set_on_demand_allocation_strategy(d.on_demand_allocation_strategy)
                        .set_on_demand_base_capacity(d.on_demand_base_capacity)
                        .set_on_demand_percentage_above_base_capacity(
                            d.on_demand_percentage_above_base_capacity,
                        )
                        .set_spot_allocation_strategy(d.spot_allocation_strategy)
                        .set_spot_instance_pools(d.spot_instance_pools)
                        .set_spot_max_price(d.spot_max_price)
                        .build(),
                )
            }
        };
        Ok(MixedInstancesPolicy::builder()
            .set_launch_template(template)
            .set_instances_distribution(distribution)
            .build())
    }
}

/// Each value of a list field of an SDK enum, converted; a value the SDK does not know is
/// refused, naming the field and the values it knows.
fn values<T: From<&'static str> + Clone>(
    field: &str,
    given: Option<Vec<String>>,
    known: &[&'static str],
) -> Result<Option<Vec<T>>, Usage> {
    given
        .map(|values| {
            values
                .iter()
                .map(|v| one(field, v, known))
                .collect::<Result<Vec<T>, Usage>>()
        })
        .transpose()
}

fn one<T: From<&'static str>>(field: &str, v: &str, known: &[&'static str]) -> Result<T, Usage> {
    known
        .iter()
        .find(|k| **k == v)
        .map(|k| T::from(k))
        .ok_or_else(|| bad(field, format!("{v:?} is not one of {}", known.join(", "))))
}

impl Requirements {
    fn check(self, field: &str) -> Result<InstanceRequirements, Usage> {
        use aws_sdk_autoscaling::types::{
            AcceleratorCountRequest, AcceleratorManufacturer, AcceleratorName,
            AcceleratorTotalMemoryMiBRequest, AcceleratorType, BareMetal,
            BaselineEbsBandwidthMbpsRequest, BaselinePerformanceFactorsRequest,
            BurstablePerformance, CpuManufacturer, CpuPerformanceFactorRequest, InstanceGeneration,
            LocalStorage, LocalStorageType, MemoryGiBPerVCpuRequest, MemoryMiBRequest,
            NetworkBandwidthGbpsRequest, NetworkInterfaceCountRequest,
            PerformanceFactorReferenceRequest, TotalLocalStorageGbRequest, VCpuCountRequest,
        };
        let f = |name: &str| format!("{field}.{name}");
        // The two that Auto Scaling requires.
        if self.v_cpu_count.as_ref().and_then(|r| r.min).is_none() {
            return Err(bad(&f("VCpuCount.Min"), "required"));
        }
        if self.memory_mib.as_ref().and_then(|r| r.min).is_none() {
            return Err(bad(&f("MemoryMiB.Min"), "required"));
        }
        let single = |name: &str, v: Option<String>, known: &[&'static str]| {
            v.map(|v| one::<String>(&f(name), &v, known)).transpose()
        };
        let bare_metal = single("BareMetal", self.bare_metal, BareMetal::values())?;
        let burstable = single(
            "BurstablePerformance",
            self.burstable_performance,
            BurstablePerformance::values(),
        )?;
        let local_storage = single("LocalStorage", self.local_storage, LocalStorage::values())?;
        let references = self
            .baseline_performance_factors
            .and_then(|b| b.cpu)
            .and_then(|c| c.references)
            .map(|refs| {
                refs.into_iter()
                    .map(|r| {
                        PerformanceFactorReferenceRequest::builder()
                            .set_instance_family(r.instance_family)
                            .build()
                    })
                    .collect::<Vec<_>>()
            });
        Ok(InstanceRequirements::builder()
            .set_v_cpu_count(self.v_cpu_count.map(|r| {
                VCpuCountRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_memory_mib(self.memory_mib.map(|r| {
                MemoryMiBRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_cpu_manufacturers(values(
                &f("CpuManufacturers"),
                self.cpu_manufacturers,
                CpuManufacturer::values(),
            )?)
            .set_memory_gib_per_v_cpu(self.memory_gib_per_v_cpu.map(|r| {
                MemoryGiBPerVCpuRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_excluded_instance_types(self.excluded_instance_types)
            .set_instance_generations(values(
                &f("InstanceGenerations"),
                self.instance_generations,
                InstanceGeneration::values(),
            )?)
            .set_spot_max_price_percentage_over_lowest_price(
                self.spot_max_price_percentage_over_lowest_price,
            )
            .set_max_spot_price_as_percentage_of_optimal_on_demand_price(
                self.max_spot_price_as_percentage_of_optimal_on_demand_price,
            )
            .set_on_demand_max_price_percentage_over_lowest_price(
                self.on_demand_max_price_percentage_over_lowest_price,
            )
            .set_bare_metal(bare_metal.as_deref().map(BareMetal::from))
            .set_burstable_performance(burstable.as_deref().map(BurstablePerformance::from))
            .set_require_hibernate_support(self.require_hibernate_support)
            .set_network_interface_count(self.network_interface_count.map(|r| {
                NetworkInterfaceCountRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_local_storage(local_storage.as_deref().map(LocalStorage::from))
            .set_local_storage_types(values(
                &f("LocalStorageTypes"),
                self.local_storage_types,
                LocalStorageType::values(),
            )?)
            .set_total_local_storage_gb(self.total_local_storage_gb.map(|r| {
                TotalLocalStorageGbRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_baseline_ebs_bandwidth_mbps(self.baseline_ebs_bandwidth_mbps.map(|r| {
                BaselineEbsBandwidthMbpsRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_accelerator_types(values(
                &f("AcceleratorTypes"),
                self.accelerator_types,
                AcceleratorType::values(),
            )?)
            .set_accelerator_count(self.accelerator_count.map(|r| {
                AcceleratorCountRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_accelerator_manufacturers(values(
                &f("AcceleratorManufacturers"),
                self.accelerator_manufacturers,
                AcceleratorManufacturer::values(),
            )?)
            .set_accelerator_names(values(
                &f("AcceleratorNames"),
                self.accelerator_names,
                AcceleratorName::values(),
            )?)
            .set_accelerator_total_memory_mib(self.accelerator_total_memory_mib.map(|r| {
                AcceleratorTotalMemoryMiBRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_network_bandwidth_gbps(self.network_bandwidth_gbps.map(|r| {
                NetworkBandwidthGbpsRequest::builder()
                    .set_min(r.min)
                    .set_max(r.max)
                    .build()
            }))
            .set_allowed_instance_types(self.allowed_instance_types)
            .set_baseline_performance_factors(references.map(|refs| {
                BaselinePerformanceFactorsRequest::builder()
                    .cpu(
                        CpuPerformanceFactorRequest::builder()
                            .set_references(Some(refs))
                            .build(),
                    )
                    .build()
            }))
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn request(args: &[&str]) -> Result<StartRequest, Usage> {
        let argv = ["asg-refresh", "start", "--group", "web"]
            .into_iter()
            .chain(args.iter().copied());
        let cli = crate::args::Cli::try_parse_from(argv).expect("parses");
        let crate::args::Command::Start(start) = cli.command else {
            panic!("start")
        };
        StartRequest::from_args(&start)
    }

    fn error(args: &[&str]) -> String {
        request(args).expect_err("a usage error").0
    }

    #[test]
    fn json_in_the_aws_clis_shape_and_flags_over_it() {
        let r = request(&[
            "--preferences",
            r#"{"MinHealthyPercentage": 90, "SkipMatching": true, "CheckpointPercentages": [50, 100],
                "AlarmSpecification": {"Alarms": ["high-5xx"]}, "ScaleInProtectedInstances": "Wait"}"#,
            "--min-healthy-percentage",
            "80",
            "--desired-configuration",
            r#"{"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "6"}}"#,
            "--launch-template-version",
            "7",
            "--strategy",
            "Rolling",
        ])
        .unwrap();
        let input = r.input("web");
        let p = input.preferences().unwrap();
        assert_eq!(p.min_healthy_percentage(), Some(80), "the flag wins");
        assert_eq!(p.skip_matching(), Some(true));
        assert_eq!(p.checkpoint_percentages(), [50, 100]);
        assert_eq!(
            p.scale_in_protected_instances(),
            Some(&ScaleInProtectedInstances::Wait)
        );
        assert_eq!(
            p.alarm_specification().unwrap().alarms(),
            ["high-5xx".to_owned()]
        );
        let lt = input
            .desired_configuration()
            .unwrap()
            .launch_template()
            .unwrap();
        assert_eq!(lt.launch_template_name(), Some("web"));
        assert_eq!(lt.version(), Some("7"), "the flag wins");
        assert_eq!(input.strategy(), Some(&RefreshStrategy::Rolling));
    }

    #[test]
    fn the_shorthands_alone_make_a_desired_configuration() {
        let r = request(&[
            "--launch-template",
            "lt-0abc123",
            "--launch-template-version",
            "3",
        ])
        .unwrap();
        let input = r.input("web");
        let lt = input
            .desired_configuration()
            .unwrap()
            .launch_template()
            .unwrap();
        assert_eq!(lt.launch_template_id(), Some("lt-0abc123"));
        assert_eq!(lt.launch_template_name(), None);
        assert_eq!(lt.version(), Some("3"));
        assert!(input.preferences().is_none());
    }

    #[test]
    fn a_mixed_instances_policy_with_instance_requirements() {
        let desired = r#"{"MixedInstancesPolicy": {
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateName": "web", "Version": "5"},
                "Overrides": [
                    {"InstanceType": "m7g.large", "WeightedCapacity": "2"},
                    {"InstanceRequirements": {"VCpuCount": {"Min": 2, "Max": 8},
                        "MemoryMiB": {"Min": 4096}, "CpuManufacturers": ["amazon-web-services"],
                        "MemoryGiBPerVCpu": {"Max": 4.0}, "TotalLocalStorageGB": {"Min": 1.5},
                        "BareMetal": "excluded", "AcceleratorTotalMemoryMiB": {"Max": 0},
                        "BaselinePerformanceFactors": {"Cpu": {"References": [{"InstanceFamily": "c6i"}]}}}}
                ]
            },
            "InstancesDistribution": {"OnDemandBaseCapacity": 1, "OnDemandPercentageAboveBaseCapacity": 50,
                "SpotAllocationStrategy": "price-capacity-optimized"}
        }}"#;
        let r = request(&[
            "--desired-configuration",
            desired,
            "--launch-template-version",
            "6",
        ])
        .unwrap();
        let input = r.input("web");
        let mixed = input
            .desired_configuration()
            .unwrap()
            .mixed_instances_policy()
            .unwrap();
        let template = mixed.launch_template().unwrap();
        // The shorthand names the policy's template.
        assert_eq!(
            template.launch_template_specification().unwrap().version(),
            Some("6")
        );
        let req = template.overrides()[1].instance_requirements().unwrap();
        assert_eq!(req.v_cpu_count().unwrap().max(), Some(8));
        assert_eq!(req.memory_mib().unwrap().min(), Some(4096));
        assert_eq!(req.total_local_storage_gb().unwrap().min(), Some(1.5));
        assert_eq!(
            req.bare_metal(),
            Some(&aws_sdk_autoscaling::types::BareMetal::Excluded)
        );
        assert_eq!(
            mixed
                .instances_distribution()
                .unwrap()
                .on_demand_base_capacity(),
            Some(1)
        );
        let unknown = desired.replace(
            "\"BareMetal\": \"excluded\"",
            "\"BareMetal\": \"sometimes\"",
        );
        let message = error(&["--desired-configuration", &unknown]);
        assert!(
            message.contains("InstanceRequirements.BareMetal"),
            "{message}"
        );
        let no_memory = desired.replace("\"MemoryMiB\": {\"Min\": 4096}", "\"MemoryMiB\": {}");
        let message = error(&["--desired-configuration", &no_memory]);
        assert!(message.contains("MemoryMiB.Min: required"), "{message}");
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        for (args, needle) in [
            (
                &["--preferences", r#"{"MinHealthyPercent": 90}"#][..],
                "unknown field `MinHealthyPercent`",
            ),
            (
                &[
                    "--desired-configuration",
                    r#"{"LaunchTemplate": {"Name": "web"}}"#,
                ],
                "unknown field `Name`",
            ),
            (
                &["--preferences", r#"{"MinHealthyPercentage": 101}"#],
                "MinHealthyPercentage",
            ),
            (
                &["--preferences", r#"{"StandbyInstances": "Keep"}"#],
                "unknown variant `Keep`",
            ),
            (
                &["--preferences", r#"{"CheckpointPercentages": [50, 20]}"#],
                "ascending",
            ),
            (
                &["--preferences", r#"{"CheckpointDelay": 60}"#],
                "CheckpointDelay",
            ),
            (
                &["--auto-rollback"],
                "AutoRollback (--auto-rollback): needs a desired configuration",
            ),
            (
                &[
                    "--auto-rollback",
                    "--launch-template",
                    "web",
                    "--launch-template-version",
                    "$Latest",
                ],
                "numbered launch template version",
            ),
            (
                &["--launch-template-version", "2"],
                "--launch-template-version needs a launch template",
            ),
            (
                &[
                    "--desired-configuration",
                    r#"{"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "latest"}}"#,
                ],
                "DesiredConfiguration.LaunchTemplate.Version",
            ),
            (
                &["--max-healthy-percentage", "150"],
                "needs MinHealthyPercentage",
            ),
            (
                &["--preferences", "file:///nonexistent/prefs.json"],
                "cannot read",
            ),
            (&["--preferences", "{"], "--preferences: EOF"),
        ] {
            let message = error(args);
            assert!(message.contains(needle), "{args:?}: {message}");
        }
    }
}
