//! What `DescribeScalingActivities` says about the blocking refresh's launches, reduced to what
//! the estimate reads: when each launch began, whether it is in service yet, and when it ended.
//!
//! API `DescribeScalingActivities` and `Activity`: activities are sorted by start time, the ones
//! still in progress first; each has a `StartTime`, an `EndTime` once it ends, and a
//! `StatusCode`. No public source says which activities belong to a refresh, nor whether a launch
//! activity ends when its instance is in service or after its warmup. So the match is only what is
//! safe: an activity that started inside the refresh (at or after its `StartTime`) and whose
//! description speaks of a launch. A wrong match (a scale-out during the refresh) moves a check,
//! and the estimate never lets it lengthen a sleep past what the describes allow.

use std::time::SystemTime;

use aws_sdk_autoscaling::types::{Activity, ScalingActivityStatusCode};

use super::estimate::work;

/// The most launches kept from one read: one page (`MaxRecords` is at most 100).
pub(crate) const MAX_LAUNCHES: usize = 100;
/// How much of a description is read: the start says what it is (`Launching a new EC2
/// instance: i-…`).
const TEXT: usize = 256;

/// Where a launch is, as far as its instance's service goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Certainly not in service yet: waiting for an instance or a Spot request, `PreInService`,
    /// or a launch lifecycle hook (`MidLifecycleAction`). Its warmup is all ahead.
    BeforeService,
    /// In service and warming up (`WaitingForInstanceWarmup`): this launch activity stays open
    /// through the warmup.
    Warming,
    /// Ended successfully (at `EndTime`): in service, and, if launch activities stay open through
    /// the warmup, warmed up too.
    Done,
    /// Ended without an instance (`Failed`, `Cancelled`).
    Failed,
    /// In flight, in a state that does not tell (`InProgress`, a code this crate does not know).
    Unknown,
}

/// One launch of the refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Launch {
    pub(crate) start: SystemTime,
    pub(crate) end: Option<SystemTime>,
    pub(crate) stage: Stage,
}

fn stage(code: Option<&ScalingActivityStatusCode>, ended: bool) -> Stage {
    use ScalingActivityStatusCode as C;
    match code {
        Some(C::Successful) => Stage::Done,
        Some(C::Failed | C::Cancelled) => Stage::Failed,
        Some(
            C::PendingSpotBidPlacement
            | C::WaitingForSpotInstanceRequestId
            | C::WaitingForSpotInstanceId
            | C::WaitingForInstanceId
            | C::PreInService
            | C::MidLifecycleAction,
        ) => Stage::BeforeService,
        Some(C::WaitingForInstanceWarmup) => Stage::Warming,
        _ if ended => Stage::Done,
        _ => Stage::Unknown,
    }
}

/// The first `n` bytes of `s` (less, to end on a character).
pub(crate) fn head(s: &str, n: usize) -> &str {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Whether an activity is a launch: its description says so (`Launching a new EC2 instance: …`
/// in public captures; the wording is no contract, so only the word is looked for).
fn is_launch(a: &Activity) -> bool {
    a.description().is_some_and(|d| {
        let d = &d.as_bytes()[..d.len().min(TEXT)];
        d.windows(6).any(|w| w.eq_ignore_ascii_case(b"launch"))
            && !d.windows(7).any(|w| w.eq_ignore_ascii_case(b"termina"))
    })
}

/// The instance an activity's description names (`… EC2 instance: i-0123…`), if any: the
/// first word that starts with `i-`.
fn instance(a: &Activity) -> Option<&str> {
    head(a.description()?, TEXT)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.len() > 2 && w.starts_with("i-"))
}

/// The launches among `activities` that started inside the refresh that started at
/// `refresh_start` (and not after `now`), oldest first, at most [`MAX_LAUNCHES`]. A launch whose
/// instance a later activity of the refresh terminates was replaced (it failed its health
/// check, UG "How instance refresh works"): it counts as failed.
pub(crate) fn launches(
    activities: &[Activity],
    refresh_start: SystemTime,
    now: SystemTime,
) -> Vec<Launch> {
    let time =
        |t: Option<&aws_smithy_types::DateTime>| t.and_then(|t| SystemTime::try_from(*t).ok());
    let inside = |a: &Activity| {
        time(a.start_time())
            .filter(|s| *s >= refresh_start && *s <= now)
            .is_some()
    };
    // One page has at most 100 activities (API `MaxRecords`); more are not looked at.
    let activities = &activities[..activities.len().min(4 * MAX_LAUNCHES)];
    let terminated: Vec<&str> = activities
        .iter()
        .filter(|a| !is_launch(a) && inside(a))
        .filter_map(instance)
        .take(2 * MAX_LAUNCHES)
        .collect();
    let mut out: Vec<Launch> = activities
        .iter()
        .filter(|a| is_launch(a))
        .filter_map(|a| {
            let start = time(a.start_time()).filter(|s| *s >= refresh_start && *s <= now)?;
            let end = time(a.end_time()).filter(|e| *e >= start && *e <= now);
            work::tick(terminated.len());
            let replaced = instance(a).is_some_and(|i| terminated.contains(&i));
            Some(Launch {
                start,
                end,
                stage: if replaced {
                    Stage::Failed
                } else {
                    stage(a.status_code(), end.is_some())
                },
            })
        })
        .take(MAX_LAUNCHES)
        .collect();
    out.sort_by_key(|l| l.start);
    out
}

/// Seconds since the epoch (negative before it): the estimate's time axis.
pub(crate) fn secs(t: SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Whether a launch activity ends when its instance is in service, or after its warmup: no
/// public source says. `WaitingForInstanceWarmup` says the latter; the gap between one batch's
/// last end and the next batch's start says which (a warmup, or nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    InService,
    AfterWarmup,
    Unknown,
}

/// What one read of the launches says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Digest {
    /// When the first launch began: when the work began, if the read went back that far.
    pub(crate) first_start: Option<f64>,
    /// The shortest and longest launch activity that ended (`EndTime` − `StartTime`), if any.
    pub(crate) took: Option<(f64, f64)>,
    /// The shortest and longest time a finished batch took from its first launch to its last
    /// launch activity's end (a warmup more, if activities end in service).
    pub(crate) batches_took: Option<(f64, f64)>,
    /// The most launches a batch began with.
    pub(crate) batch_size: usize,
    /// Launches that ended successfully, and whose instance was counted by the time of the
    /// describe the read goes with (ended a warmup before it, if activities end in service).
    pub(crate) counted: usize,
    /// The latest `EndTime` of a successful launch.
    pub(crate) last_end: Option<f64>,
    /// The batch that began last.
    pub(crate) batch: Batch,
    pub(crate) ending: Ending,
}

/// The launches of the batch that began last: those from the last launch that began after
/// every earlier one had ended.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Batch {
    /// When its first launch began, and its last.
    pub(crate) first_start: f64,
    pub(crate) last_start: f64,
    /// How many launches it has, and how many of them were not counted by the time of the
    /// describe the read goes with.
    pub(crate) size: usize,
    pub(crate) uncounted: usize,
    /// Its launches still in flight, and whether one of them is certainly not in service, or
    /// warming up, or in a stage that does not tell.
    pub(crate) in_flight: usize,
    pub(crate) before_service: bool,
    pub(crate) warming: bool,
    pub(crate) unknown: bool,
    /// The latest end of its launches that ended successfully.
    pub(crate) last_end: Option<f64>,
}

/// Digests launches (oldest first) read at `read_at` (`complete`: the read went back to the
/// refresh's start), `warmup` being the refresh's `InstanceWarmup` and `pause` its
/// `CheckpointDelay`, if it has checkpoints; what was counted is told as of `counted_at`, the
/// describe whose percentage it is compared with.
pub(crate) fn digest(
    launches: &[Launch],
    complete: bool,
    warmup: Option<f64>,
    pause: Option<f64>,
    counted_at: f64,
) -> Option<Digest> {
    let first_start = secs(launches.first()?.start);
    let first_start = complete.then_some(first_start);
    let warming = launches.iter().any(|l| l.stage == Stage::Warming);
    let ending = if warming {
        Ending::AfterWarmup
    } else {
        ending_from_gaps(launches, warmup, pause)
    };
    // When an instance whose launch ended at `e` counts: then, or a warmup later.
    let counts_after = match ending {
        Ending::InService => warmup.unwrap_or(0.0),
        Ending::AfterWarmup | Ending::Unknown => 0.0,
    };
    let mut took: Option<(f64, f64)> = None;
    let mut batches_took: Option<(f64, f64)> = None;
    let mut last_end: Option<f64> = None;
    let mut batch = Batch::default();
    let mut batch_size = 0;
    let mut counted = 0;
    let mut open_until = f64::NEG_INFINITY;
    let widen = |range: Option<(f64, f64)>, d: f64| {
        Some(range.map_or((d, d), |(lo, hi): (f64, f64)| (lo.min(d), hi.max(d))))
    };
    work::tick(launches.len());
    for l in launches {
        let start = secs(l.start);
        if start >= open_until {
            // A new batch: the one before it is finished.
            if let Some(end) = batch.last_end.filter(|_| batch.size > 0) {
                batches_took = widen(batches_took, end - batch.first_start);
            }
            batch = Batch {
                first_start: start,
                ..Batch::default()
            };
        }
        batch.last_start = start;
        batch.size += 1;
        batch_size = batch_size.max(batch.size);
        match (l.stage, l.end) {
            (Stage::Done, Some(end)) => {
                let end = secs(end);
                took = widen(took, end - start);
                last_end = Some(last_end.map_or(end, |e| e.max(end)));
                batch.last_end = Some(batch.last_end.map_or(end, |e| e.max(end)));
                open_until = open_until.max(end);
                if end + counts_after <= counted_at {
                    counted += 1;
                } else {
                    batch.uncounted += 1;
                }
            }
            (_, Some(end)) => {
                open_until = open_until.max(secs(end));
                batch.size -= 1;
            }
            (stage, None) => {
                batch.in_flight += 1;
                batch.uncounted += 1;
                batch.before_service |= stage == Stage::BeforeService;
                batch.warming |= stage == Stage::Warming;
                batch.unknown |= stage == Stage::Unknown;
                open_until = f64::INFINITY;
            }
        }
    }
    if batch.in_flight == 0
        && let Some(end) = batch.last_end
    {
        batches_took = widen(batches_took, end - batch.first_start);
    }
    Some(Digest {
        first_start,
        took,
        batches_took,
        batch_size,
        counted,
        last_end,
        batch,
        ending,
    })
}

/// A launch that begins after every earlier launch ended begins a batch; the gap since the
/// latest end is either a warmup (activities end in service) or about nothing (they end after
/// it), or a checkpoint's `pause` on top (taken out: a pause that follows a batch tells the
/// ending as well as any gap). Most gaps decide (as many each way: unknown), when the warmup
/// is long enough to tell (over 2 s, the wire's whole seconds twice over): a replacement for an
/// instance that failed its health check begins its own short gap either way.
fn ending_from_gaps(launches: &[Launch], warmup: Option<f64>, pause: Option<f64>) -> Ending {
    let Some(w) = warmup.filter(|w| *w > 2.0) else {
        return Ending::Unknown;
    };
    let mut gaps = [0.0_f64; MAX_LAUNCHES];
    let mut n = 0;
    let mut latest_end: Option<f64> = None;
    work::tick(2 * launches.len());
    for l in launches {
        let start = secs(l.start);
        if let Some(e) = latest_end
            && start >= e
            && n < gaps.len()
        {
            gaps[n] = start - e;
            n += 1;
        }
        match l.end {
            Some(end) => {
                let end = secs(end);
                latest_end = Some(latest_end.map_or(end, |e| e.max(end)));
            }
            // One still open: nothing later begins a batch until it ends.
            None => latest_end = Some(f64::INFINITY),
        }
    }
    if n == 0 {
        return Ending::Unknown;
    }
    // Each gap is nearer a warmup (in service) or nothing (after it), a checkpoint's pause on
    // top or not (UG "Add checkpoints": the pause begins once the batch before it is counted).
    let off = |g: f64, at: f64| {
        let d = (g - at).abs();
        pause.map_or(d, |p| d.min((g - at - p).abs()))
    };
    let long = gaps[..n]
        .iter()
        .filter(|g| off(**g, w) < off(**g, 0.0))
        .count();
    match (2 * long).cmp(&n) {
        std::cmp::Ordering::Greater => Ending::InService,
        std::cmp::Ordering::Less => Ending::AfterWarmup,
        std::cmp::Ordering::Equal => Ending::Unknown,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_smithy_types::DateTime;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    fn activity(description: &str, start: u64, end: Option<u64>, code: &str) -> Activity {
        test_activity(description, at(start), end.map(at), code)
    }

    /// An activity of group `web`, as `DescribeScalingActivities` would list it.
    pub(crate) fn test_activity(
        description: &str,
        start: SystemTime,
        end: Option<SystemTime>,
        code: &str,
    ) -> Activity {
        Activity::builder()
            .activity_id("a")
            .auto_scaling_group_name("web")
            .cause("c")
            .description(description)
            .start_time(DateTime::from(start))
            .set_end_time(end.map(DateTime::from))
            .status_code(ScalingActivityStatusCode::from(code))
            .build()
    }

    #[test]
    fn only_launches_that_started_inside_the_refresh_count() {
        let all = [
            activity(
                "Launching a new EC2 instance: i-1",
                120,
                None,
                "PreInService",
            ),
            activity(
                "Terminating EC2 instance: i-0",
                100,
                Some(150),
                "Successful",
            ),
            activity(
                "Launching a new EC2 instance: i-2",
                100,
                Some(200),
                "Successful",
            ),
            activity(
                "Launching a new EC2 instance: i-9",
                50,
                Some(80),
                "Successful",
            ),
            activity(
                "Launching a new EC2 instance: i-3",
                110,
                None,
                "WaitingForInstanceWarmup",
            ),
            activity(
                "Launching a new EC2 instance: i-4",
                115,
                None,
                "MidLifecycleAction",
            ),
            activity("launch of i-5", 116, None, "InProgress"),
            activity(
                "Launching a new EC2 instance: i-6",
                117,
                None,
                "SomethingNew",
            ),
        ];
        let l = launches(&all, at(90), at(300));
        let stages: Vec<_> = l.iter().map(|l| (l.start, l.stage)).collect();
        assert_eq!(
            stages,
            [
                (at(100), Stage::Done),
                (at(110), Stage::Warming),
                (at(115), Stage::BeforeService),
                (at(116), Stage::Unknown),
                (at(117), Stage::Unknown),
                (at(120), Stage::BeforeService),
            ]
        );
        assert_eq!(l[0].end, Some(at(200)));
        // Times after the read (a clock that is off) are not believed.
        assert!(launches(&all, at(90), at(112)).len() == 2);
    }

    /// Launches, each `(start, end)`, all successful.
    fn done(spans: &[(u64, u64)]) -> Vec<Launch> {
        let all: Vec<_> = spans
            .iter()
            .enumerate()
            .map(|(i, (s, e))| {
                activity(
                    &format!("Launching a new EC2 instance: i-{i}"),
                    *s,
                    Some(*e),
                    "Successful",
                )
            })
            .collect();
        launches(&all, at(0), at(100_000))
    }

    #[test]
    fn the_gaps_between_batches_tell_how_launch_activities_end() {
        let (w, pause) = (Some(200.0), Some(600.0));
        // Each batch begins a warmup after the last one ended: they end in service.
        let in_service = done(&[(0, 100), (300, 400), (600, 700)]);
        assert_eq!(ending_from_gaps(&in_service, w, None), Ending::InService);
        // Right after: they end after the warmup.
        let after = done(&[(0, 100), (101, 200), (202, 300)]);
        assert_eq!(ending_from_gaps(&after, w, None), Ending::AfterWarmup);
        // Checkpoint pauses between every batch: what is left of each gap past the pause
        // tells, where gaps of a pause or more once told nothing at all.
        let paused = done(&[(0, 100), (900, 1000), (1800, 1900)]);
        assert_eq!(ending_from_gaps(&paused, w, pause), Ending::InService);
        let paused = done(&[(0, 100), (701, 800), (1401, 1500)]);
        assert_eq!(ending_from_gaps(&paused, w, pause), Ending::AfterWarmup);
        // A pause shorter than the warmup: a warmup's gap is no pause taken out of it.
        let (w3, p2) = (Some(300.0), Some(200.0));
        let in_service = done(&[(0, 100), (400, 500), (800, 900)]);
        assert_eq!(ending_from_gaps(&in_service, w3, p2), Ending::InService);
        let after = done(&[(0, 100), (300, 400), (600, 700)]);
        assert_eq!(ending_from_gaps(&after, w3, p2), Ending::AfterWarmup);
        // A replacement for an instance that failed its health check begins its own short gap:
        // as many gaps each way tell nothing.
        let replaced = done(&[(0, 100), (300, 400), (405, 500)]);
        assert_eq!(ending_from_gaps(&replaced, w, None), Ending::Unknown);
        // No gap, or a warmup too short to tell: unknown.
        assert_eq!(
            ending_from_gaps(&done(&[(0, 100)]), w, None),
            Ending::Unknown
        );
        assert_eq!(
            ending_from_gaps(&in_service, Some(2.0), None),
            Ending::Unknown
        );
    }
}
