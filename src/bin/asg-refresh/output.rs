//! What the tool prints: results on stdout (text, or one JSON object per group), progress and
//! diagnostics on stderr (a progress bar per group on a TTY, one plain line per event otherwise).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use instance_refresh_retry::Progress;
use serde::Serialize;

use crate::args::OutputFormat;

/// Exit codes (see `args::EXIT_CODES`).
pub mod exit {
    pub const OK: i32 = 0;
    pub const NOT_SUCCESSFUL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const GAVE_UP: i32 = 3;
    pub const AWS: i32 = 4;
}

/// What happened to one group: printed as text or as one JSON object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupReport {
    /// The Auto Scaling group.
    pub group: String,
    /// The subcommand: `start`, `status`, `wait`, `cancel` or `rollback`.
    pub command: &'static str,
    /// The refresh started, adopted, shown, followed, cancelled or rolled back.
    pub refresh_id: Option<String>,
    /// `start`: whether the refresh was found rather than started: this call's own earlier
    /// attempt (its answer lost), or under `--on-conflict adopt` a running refresh of the
    /// same request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// `start`, adopted: `own_lost_answer` or `matching_refresh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoption: Option<&'static str>,
    /// `start`, adopted: when the refresh started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `StartInstanceRefresh` calls.
    pub attempts: u32,
    /// `DescribeInstanceRefreshes` calls made while waiting.
    pub describe_calls: u32,
    /// Seconds spent waiting between checks.
    pub waited_seconds: f64,
    /// The refresh's status as last seen (`status`, or the end of a wait).
    pub status: Option<String>,
    /// The terminal status, when the command waited for it (`--wait`, `wait`).
    pub final_status: Option<String>,
    /// Its `PercentageComplete`, as last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<i32>,
    /// Its `StatusReason`, as last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// A signal stopped the command (`error.kind` is `interrupted`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// The signal: `SIGINT`, `SIGTERM` or `SIGHUP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    /// Interrupted `start` with a refresh: `left_running`, `cancelled` or `cancel_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_interrupt: Option<&'static str>,
    /// This group's exit code.
    pub exit_code: i32,
    /// Why the group failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// A failure, as printed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorReport {
    /// `gave_up`, `conflict`, `wont_end_in_time`, `max_wait`, `not_found`, `aws` or
    /// `interrupted`.
    pub kind: &'static str,
    /// The whole message.
    pub message: String,
    /// The AWS error code, if AWS answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The AWS request id, if AWS answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Prints results, progress and diagnostics.
#[derive(Debug)]
pub struct Reporter {
    format: OutputFormat,
    multi: Option<MultiProgress>,
    color: bool,
}

impl Reporter {
    /// Progress bars when stderr is a terminal, plain lines otherwise; `color` styles them.
    pub fn new(format: OutputFormat, color: bool) -> Arc<Reporter> {
        let tty = std::io::stderr().is_terminal() && std::env::var_os("NO_PROGRESS").is_none();
        let multi = tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(Reporter {
            format,
            multi,
            color,
        })
    }

    /// One diagnostic line on stderr (above the progress bars, if any).
    pub fn note(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(line);
            }
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }

    /// One line of the story on stdout (for `demo`).
    pub fn say(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        match &self.multi {
            Some(multi) => multi.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// Progress of one group, which runs `command`.
    pub fn group(self: &Arc<Self>, group: &str, command: &'static str) -> GroupProgress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new(100));
            let template = if self.color {
                "{spinner} {prefix:.bold} [{bar:24}] {pos:>3}% {wide_msg}"
            } else {
                "{spinner} {prefix} [{bar:24}] {pos:>3}% {wide_msg}"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(group.to_owned());
            bar.set_message("queued (--concurrency)");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let snapshot = GroupReport {
            group: group.to_owned(),
            command,
            ..GroupReport::default()
        };
        GroupProgress {
            reporter: Arc::clone(self),
            group: group.to_owned(),
            bar,
            state: Arc::new(Mutex::new(State {
                snapshot,
                ..State::default()
            })),
        }
    }

    /// One group's result on stdout.
    pub fn result(&self, report: &GroupReport) {
        let line = match self.format {
            OutputFormat::Json => serde_json::to_string(report).expect("a report serializes"),
            // A failure is a diagnostic: stderr (the summary table, on stdout, lists it too).
            OutputFormat::Text if report.error.is_some() => return self.note(text(report)),
            OutputFormat::Text => text(report),
        };
        match &self.multi {
            Some(multi) => multi.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
        if let (OutputFormat::Json, Some(err)) = (self.format, &report.error) {
            self.note(format!("{}: error: {}", report.group, err.message));
        }
    }

    /// The summary table (text output, several groups).
    pub fn summary(&self, reports: &[GroupReport]) {
        if self.format != OutputFormat::Text || reports.len() < 2 {
            return;
        }
        let mut out = String::from("\n");
        let w = reports
            .iter()
            .map(|r| r.group.len())
            .max()
            .unwrap_or(5)
            .max(5);
        out.push_str(&format!(
            "{:<w$}  {:<36}  {:<8}  {:>8}  {:>9}  {:>8}  {:<18}  {}\n",
            "GROUP", "REFRESH", "ADOPTED", "ATTEMPTS", "DESCRIBES", "WAITED", "STATUS", "EXIT"
        ));
        for r in reports {
            let status = r
                .final_status
                .as_deref()
                .or(r.status.as_deref())
                .or(r.error.as_ref().map(|e| e.kind))
                .unwrap_or("-");
            out.push_str(&format!(
                "{:<w$}  {:<36}  {:<8}  {:>8}  {:>9}  {:>8}  {:<18}  {}\n",
                r.group,
                r.refresh_id.as_deref().unwrap_or("-"),
                r.adopted.map_or("-", |a| if a { "yes" } else { "no" }),
                r.attempts,
                r.describe_calls,
                format!("{:.0}s", r.waited_seconds),
                status,
                r.exit_code
            ));
        }
        match &self.multi {
            Some(multi) => multi.suspend(|| print!("{out}")),
            None => print!("{out}"),
        }
    }

    /// Clears the progress bars (before exiting on a second signal).
    pub fn clear(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

fn text(r: &GroupReport) -> String {
    let id = r.refresh_id.as_deref().unwrap_or("-");
    let mut line = match (&r.error, r.command) {
        (Some(err), _) => format!("{}: error: {}", r.group, err.message),
        (None, "start") => format!(
            "{}: {} instance refresh {id} ({} attempt{}, {} describe{}, waited {})",
            r.group,
            match (r.adopted, r.adoption) {
                (Some(true), Some("matching_refresh")) => "adopted the running",
                (Some(true), _) => "adopted",
                _ => "started",
            },
            r.attempts,
            if r.attempts == 1 { "" } else { "s" },
            r.describe_calls,
            if r.describe_calls == 1 { "" } else { "s" },
            secs(r.waited_seconds)
        ),
        (None, "cancel") => format!("{}: cancelling instance refresh {id}", r.group),
        (None, "rollback") if r.final_status.is_none() => {
            format!("{}: rolling back instance refresh {id}", r.group)
        }
        (None, "status") if r.refresh_id.is_none() => {
            format!("{}: no instance refresh", r.group)
        }
        (None, _) => format!(
            "{}: instance refresh {id} {}{}",
            r.group,
            r.status.as_deref().unwrap_or("unknown"),
            r.percentage.map(|p| format!(" {p}%")).unwrap_or_default()
        ),
    };
    if r.error.is_none() {
        if let Some(status) = &r.final_status {
            line.push_str(&format!(
                "\n{}: instance refresh {id} ended {status}",
                r.group
            ));
        }
        if let Some(reason) = &r.status_reason
            && (r.command == "status" || r.final_status.is_some())
        {
            line.push_str(&format!(" ({reason})"));
        }
    }
    line
}

fn secs(s: f64) -> String {
    humantime::format_duration(Duration::from_secs_f64(s.max(0.0).round())).to_string()
}

/// What the progress bar shows about the refresh being watched, and what the group would
/// report if interrupted now.
#[derive(Debug, Default)]
struct State {
    checks: u32,
    following: bool,
    snapshot: GroupReport,
}

/// Progress of one group: the `on_progress` callback's sink.
#[derive(Debug, Clone)]
pub struct GroupProgress {
    reporter: Arc<Reporter>,
    group: String,
    bar: Option<ProgressBar>,
    state: Arc<Mutex<State>>,
}

impl GroupProgress {
    /// From now on, progress is about the group's own refresh (no longer a blocking one).
    pub fn following(&self) {
        let mut state = self.state.lock().expect("not poisoned");
        state.following = true;
        state.checks = 0;
    }

    /// Keeps `report` as what the group reports if it is interrupted from now on.
    pub fn save(&self, report: &GroupReport) {
        self.state.lock().expect("not poisoned").snapshot = report.clone();
    }

    /// What the group has so far.
    pub fn snapshot(&self) -> GroupReport {
        self.state.lock().expect("not poisoned").snapshot.clone()
    }

    /// One event line (and on a TTY, the bar's message).
    pub fn event(&self, line: impl AsRef<str>) {
        let line = line.as_ref();
        match &self.bar {
            Some(bar) => bar.set_message(line.to_owned()),
            None => self.reporter.note(format!("{}: {line}", self.group)),
        }
    }

    /// One check of the refresh being watched.
    pub fn progress(&self, p: &Progress) {
        let (checks, following) = {
            let mut state = self.state.lock().expect("not poisoned");
            state.checks += 1;
            (state.checks, state.following)
        };
        let status = p.status.as_ref().map_or("unknown", |s| s.as_str());
        let whose = if following { "refresh" } else { "blocked by" };
        let mut msg = match &self.bar {
            // The bar shows the percentage; a short id keeps the line within the terminal.
            Some(_) => format!(
                "{whose} {} {status}",
                p.refresh_id.get(..8).unwrap_or(&p.refresh_id)
            ),
            None => format!(
                "check {checks}: {whose} {} {status} {}%",
                p.refresh_id, p.percentage
            ),
        };
        if let Some(end) = p.estimated_end {
            msg.push_str(&format!(", ends {}", when(end)));
        }
        if !p.next_check.is_zero() {
            msg.push_str(&format!(
                ", next check in {}",
                humantime::format_duration(Duration::from_secs(p.next_check.as_secs().max(1)))
            ));
        }
        if p.stalled {
            msg.push_str(" (stalled?)");
        }
        if self.bar.is_some() {
            msg.push_str(&format!(" [check {checks}]"));
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position(u64::from(p.percentage.min(100)));
                bar.set_message(msg);
            }
            None => self.reporter.note(format!("{}: {msg}", self.group)),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `~10:03:12Z (in 1m 10s)`.
fn when(end: SystemTime) -> String {
    let at = humantime::format_rfc3339_seconds(end).to_string();
    let clock = at.get(11..).unwrap_or(&at).to_owned();
    match end.duration_since(SystemTime::now()) {
        Ok(left) if left < Duration::from_secs(1) => format!("~{clock} (now)"),
        Ok(left) => format!(
            "~{clock} (in {})",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ),
        Err(late) if late.duration() < Duration::from_secs(2) => format!("~{clock} (now)"),
        Err(_) => format!("~{clock} (overdue)"),
    }
}
