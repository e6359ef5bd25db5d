//! The command line: clap's derive, with env var support.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, shown by `--help` (and in the README).
pub const EXIT_CODES: &str = "\
Exit codes:
  0    ok
  1    the refresh ended other than Successful (rollback: RollbackSuccessful), or a
       conflict under --on-conflict fail
  2    usage error (the message names the flag or the JSON field)
  3    gave up waiting (--max-wait, or the blocking refresh cannot end in time)
  4    AWS error (the message shows the error code and the request id)
  129  interrupted by SIGHUP, 130 by SIGINT (Ctrl-C), 143 by SIGTERM: each group reports
       at once, and no API call is made after the signal (but --on-interrupt cancel's)
With several groups, the exit code is the worst of the groups' codes.";

/// Start EC2 Auto Scaling instance refreshes without tripping over a running one: wait it out
/// (watching what it does), adopt a start whose answer was lost, and follow a refresh to its end.
#[derive(Debug, Parser)]
#[command(name = "asg-refresh", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every subcommand.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// The AWS profile (the standard credential and region chain otherwise; also AWS_PROFILE).
    #[arg(long, global = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub profile: Option<String>,
    /// The AWS region (also AWS_REGION, or the profile's).
    #[arg(long, global = true, value_parser = parse_region)]
    pub region: Option<String>,
    /// Send requests to this endpoint instead of Auto Scaling's (also AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL", value_parser = parse_endpoint_url)]
    pub endpoint_url: Option<String>,
    /// What goes to stdout: a text report, or one JSON object per group.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "ASG_REFRESH_OUTPUT"
    )]
    pub output: OutputFormat,
    /// More logs on stderr (-v info, -vv debug, -vvv trace; RUST_LOG overrides). Credentials,
    /// session tokens and signatures are never printed.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour on stderr: auto (only when stderr is a terminal and NO_COLOR is unset), always,
    /// or never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorArg,
}

/// When stderr is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Only when stderr is a terminal and `NO_COLOR` is unset (or empty).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorArg {
    /// Whether stderr gets colour.
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable report.
    Text,
    /// One JSON object per group, one per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an instance refresh on each group, waiting out (or cancelling, or refusing) a
    /// running one.
    #[command(after_help = EXIT_CODES)]
    Start(StartArgs),
    /// Show the active or latest instance refresh of each group.
    #[command(after_help = EXIT_CODES)]
    Status(StatusArgs),
    /// Follow an instance refresh (by default the active or latest one) to its end.
    #[command(after_help = EXIT_CODES)]
    Wait(WaitArgs),
    /// Cancel the active instance refresh of each group.
    #[command(after_help = EXIT_CODES)]
    Cancel(CancelArgs),
    /// Roll back the active instance refresh of each group (RollbackInstanceRefresh): it needs
    /// a refresh started with a desired configuration of a pinned launch template version.
    #[command(after_help = EXIT_CODES)]
    Rollback(RollbackArgs),
    /// Tell the whole story against the embedded simulator: no AWS account needed.
    Demo(DemoArgs),
    /// Run the embedded simulator as a local Auto Scaling endpoint for --endpoint-url, until a
    /// signal: test deploy scripts with no AWS account. Prints `READY http://ADDR` on stdout
    /// once it listens.
    Sim(SimArgs),
}

/// The groups and how many run at once.
#[derive(Debug, Args, Clone)]
pub struct Groups {
    /// The Auto Scaling group (repeat for several: --group a --group b).
    #[arg(short, long = "group", value_name = "NAME", required = true, value_parser = parse_name)]
    pub groups: Vec<String>,
    /// How many groups run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..), env = "ASG_REFRESH_CONCURRENCY")]
    pub concurrency: u32,
}

/// How long to wait, and how often to look.
#[derive(Debug, Args, Clone)]
pub struct Waiting {
    /// The first wait before a check (later ones follow the blocking refresh's estimate).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub initial_delay: Duration,
    /// The longest single wait between two checks.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub max_delay: Duration,
    /// The longest wait for a blocking refresh; with --wait, also for the new one to end.
    /// The library's default budget (Refresher::default_policy): checkpoints pause an hour
    /// each by default, and bake times reach 48h.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration, env = "ASG_REFRESH_MAX_WAIT")]
    pub max_wait: Duration,
}

/// What to do when another refresh blocks the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConflictArg {
    /// Wait for the other refresh to end, then start.
    Wait,
    /// Cancel the other refresh (destroying someone else's deployment), then start.
    Cancel,
    /// Fail at once (exit 1), naming the other refresh.
    Fail,
    /// Adopt the other refresh if it is this request's own (the same pinned desired
    /// configuration, strategy and preferences: an earlier run of the same deploy), else wait.
    Adopt,
}

/// What an interrupted `start` does with the refresh it started or adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnInterruptArg {
    /// Leave it running in Auto Scaling, and say so with its id.
    Leave,
    /// Cancel it (CancelInstanceRefresh with WaitForTransitioningInstances=false, so that it is
    /// Cancelled at once, within a CI system's grace period).
    Cancel,
}

/// The refresh strategy (the AWS CLI's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Replace instances in batches (the default).
    #[value(name = "Rolling")]
    Rolling,
    /// Replace the root volumes of the instances.
    #[value(name = "ReplaceRootVolume")]
    ReplaceRootVolume,
}

#[derive(Debug, Args, Clone)]
pub struct StartArgs {
    #[command(flatten)]
    pub groups: Groups,
    #[command(flatten)]
    pub waiting: Waiting,
    /// What to do when another refresh blocks the group.
    #[arg(
        long,
        value_enum,
        default_value = "wait",
        env = "ASG_REFRESH_ON_CONFLICT"
    )]
    pub on_conflict: ConflictArg,
    /// Retry a blocked start on the plain schedule instead of watching the blocking refresh.
    #[arg(long)]
    pub no_status_aware: bool,
    /// Follow the new refresh until it completes.
    #[arg(long)]
    pub wait: bool,
    /// On SIGINT, SIGTERM or SIGHUP: leave the refresh this run started (or adopted) running,
    /// or cancel it. Either way the run reports at once and exits 130, 143 or 129.
    #[arg(
        long,
        value_enum,
        default_value = "leave",
        env = "ASG_REFRESH_ON_INTERRUPT"
    )]
    pub on_interrupt: OnInterruptArg,
    /// The refresh preferences as JSON, in the AWS CLI's shape (or file://PATH), for example
    /// '{"MinHealthyPercentage": 90, "SkipMatching": true}'. The single-value flags below
    /// override its fields.
    #[arg(long, value_name = "JSON")]
    pub preferences: Option<String>,
    /// The desired configuration as JSON, in the AWS CLI's shape (or file://PATH), for example
    /// '{"LaunchTemplate": {"LaunchTemplateName": "web", "Version": "7"}}'.
    #[arg(long, value_name = "JSON")]
    pub desired_configuration: Option<String>,
    /// The refresh strategy.
    #[arg(long, value_enum)]
    pub strategy: Option<StrategyArg>,
    /// Desired configuration: the launch template, by name or by id (lt-...).
    #[arg(long, value_name = "NAME|ID", value_parser = parse_launch_template)]
    pub launch_template: Option<String>,
    /// Desired configuration: the launch template version (a number, $Latest or $Default; only
    /// a number can be rolled back or adopted).
    #[arg(long, value_name = "N", value_parser = parse_version)]
    pub launch_template_version: Option<String>,
    /// Preferences: the percentage of the group that stays in service (0-100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..=100))]
    pub min_healthy_percentage: Option<i32>,
    /// Preferences: the most the group may grow to, as a percentage (100-200).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(100..=200))]
    pub max_healthy_percentage: Option<i32>,
    /// Preferences: how long a new instance warms up (whole seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_warmup)]
    pub instance_warmup: Option<Duration>,
    /// Preferences: skip instances that already have the desired configuration.
    #[arg(long)]
    pub skip_matching: bool,
    /// Preferences: pause at these percentages (for example 20,50,100).
    #[arg(long, value_name = "PERCENTAGES", value_delimiter = ',', value_parser = clap::value_parser!(i32).range(1..=100))]
    pub checkpoints: Option<Vec<i32>>,
    /// Preferences: how long each checkpoint pauses (whole seconds, at most 48h; needs
    /// checkpoints, here or in --preferences).
    #[arg(long, value_name = "DURATION", value_parser = parse_up_to_48h)]
    pub checkpoint_delay: Option<Duration>,
    /// Preferences: how long to watch the refreshed group before the refresh is Successful
    /// (whole seconds, at most 48h).
    #[arg(long, value_name = "DURATION", value_parser = parse_up_to_48h)]
    pub bake_time: Option<Duration>,
    /// Preferences: roll back if the refresh fails (needs a desired configuration with a
    /// numbered launch template version).
    #[arg(long)]
    pub auto_rollback: bool,
}

#[derive(Debug, Args, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub groups: Groups,
}

#[derive(Debug, Args, Clone)]
pub struct WaitArgs {
    #[command(flatten)]
    pub groups: Groups,
    #[command(flatten)]
    pub waiting: Waiting,
    /// The refresh to follow (by default the group's active or latest one).
    #[arg(long, value_name = "ID", value_parser = parse_name)]
    pub id: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CancelArgs {
    #[command(flatten)]
    pub groups: Groups,
    #[command(flatten)]
    pub waiting: Waiting,
    /// Follow the cancelled refresh until it is Cancelled.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub groups: Groups,
    #[command(flatten)]
    pub waiting: Waiting,
    /// Follow the rollback until it ends (exit 0 for RollbackSuccessful, 1 otherwise).
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {}

#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// The address to listen on (the simulator checks no credentials: keep it on loopback).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// An Auto Scaling group to simulate (repeat for several).
    #[arg(short, long = "group", value_name = "NAME", required = true, value_parser = parse_name)]
    pub groups: Vec<String>,
    /// How long each simulated refresh stays InProgress (it is Pending 5s first).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub refresh_duration: Duration,
}

/// A human-friendly duration: `90s`, `5m`, `1h`, `1h 30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("{e} (expected a duration such as 90s, 5m or 1h)"))
}

/// An Auto Scaling group name or instance refresh id: 1 to 255 characters, as the API allows.
pub fn parse_name(s: &str) -> Result<String, String> {
    match s.chars().count() {
        0 => Err("must not be empty".into()),
        1..=255 => Ok(s.to_owned()),
        n => Err(format!("{n} characters (at most 255)")),
    }
}

/// A region: one DNS label (the SDK builds the endpoint's host name from it).
pub fn parse_region(s: &str) -> Result<String, String> {
    let label = !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if label {
        Ok(s.to_owned())
    } else {
        Err("expected a region such as eu-west-1".into())
    }
}

/// An `http` or `https` URL with a host.
pub fn parse_endpoint_url(s: &str) -> Result<String, String> {
    let uri: hyper::Uri = s.parse().map_err(|e| {
        format!("{e} (expected a URL such as https://autoscaling.eu-west-1.amazonaws.com)")
    })?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    Ok(s.to_owned())
}

/// A duration in whole seconds, the API's resolution: `500ms` or `1.5s` is refused, not
/// rounded.
pub fn parse_whole_seconds(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "{} is below the API's resolution of whole seconds (it is not rounded)",
            humantime::format_duration(d)
        ));
    }
    Ok(d)
}

/// A duration that fits the API's `InstanceWarmup` (whole seconds in an `i32`).
pub fn parse_warmup(s: &str) -> Result<Duration, String> {
    let d = parse_whole_seconds(s)?;
    if i32::try_from(d.as_secs()).is_err() {
        return Err(format!("at most {} s", i32::MAX));
    }
    Ok(d)
}

/// A duration of at most 48 hours: Auto Scaling's limit for `BakeTime` and `CheckpointDelay`
/// (172800 s).
pub fn parse_up_to_48h(s: &str) -> Result<Duration, String> {
    let d = parse_whole_seconds(s)?;
    if d > Duration::from_secs(172_800) {
        return Err("at most 48h (Auto Scaling's limit)".into());
    }
    Ok(d)
}

/// A launch template name (3 to 128 characters) or id (`lt-` and hex digits).
pub fn parse_launch_template(s: &str) -> Result<String, String> {
    match s.chars().count() {
        0..=2 => Err("a launch template name has at least 3 characters".into()),
        3..=128 => Ok(s.to_owned()),
        n => Err(format!("{n} characters (at most 128)")),
    }
}

/// A launch template version: a number from 1, `$Latest` or `$Default`.
pub fn parse_version(s: &str) -> Result<String, String> {
    let number = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok_and(|n| n > 0);
    if number || s == "$Latest" || s == "$Default" {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: expected a version number from 1, $Latest or $Default"
        ))
    }
}

/// Whether a `--launch-template` value is an id (`lt-` and hex digits) rather than a name.
pub fn is_launch_template_id(s: &str) -> bool {
    s.strip_prefix("lt-")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whole seconds, for the API's integer fields.
pub fn whole_secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}
