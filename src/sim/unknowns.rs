//! What no public source states about instance refreshes, as values a refresh draws.
//!
//! Every field of [`Unknowns`] is a behaviour that `AWS-FACTS` lists as *not stated* (or a
//! duration no source gives). A refresh takes its `Unknowns` from
//! [`GroupConfig::unknowns`](super::GroupConfig::unknowns) if the group fixes them, else draws
//! them per refresh when the simulator was built with
//! [`SimBuilder::vary_unknowns`](super::SimBuilder::vary_unknowns), else uses
//! [`Unknowns::default`]. See the [module docs](super) for which behaviours are facts.

use std::time::Duration;

/// Guesses about instance refreshes that no public source settles, drawn per refresh.
///
/// # Defaults
///
/// Deterministic values for plain tests: no `StatusReason` text but the documented warmup
/// sentence ([`ReasonWording::None`]), [`Rounding::Floor`], `Pending` for 5 s, every launch
/// 60 s ([`launch_spread`](Self::launch_spread) 0), no lifecycle hook, no health-check failures,
/// [`ItuReading::NotYetInBatch`], a 100 % checkpoint that does not pause,
/// [`ActivityEnd::AtInService`], [`ActivityAccess::Served`], a warmup sentence naming the
/// instance that came into service last ([`HintNames::NewestInService`]) on every describe while
/// one warms ([`WarmupSentence::Always`]) and no early end.
///
/// ```
/// use std::time::Duration;
/// use instance_refresh_retry::sim::{EarlyEnd, EarlyEndKind, Rounding, Unknowns};
///
/// let fixed = Unknowns::default()
///     .with_rounding(Rounding::Nearest)
///     .with_launch(Duration::from_secs(120), 0.2)
///     .with_early_end(EarlyEnd::new(EarlyEndKind::AlarmFailed, Duration::from_secs(600)));
/// assert_eq!(fixed.launch_base, Duration::from_secs(120));
///
/// let mut rng = fastrand::Rng::with_seed(7);
/// let drawn = Unknowns::draw(&mut rng);
/// assert!((5..=90).contains(&drawn.pending.as_secs()));
/// assert_eq!(drawn.early_end, None);
/// assert_eq!(drawn, Unknowns::draw(&mut fastrand::Rng::with_seed(7)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unknowns {
    /// The wording of every `StatusReason` but the documented warmup sentence, and of
    /// `RollbackReason`. Guess: no public source gives any of these texts.
    pub status_reasons: ReasonWording,
    /// How `PercentageComplete` rounds the share of instances replaced and warmed up. Guess: the
    /// API reference gives an integer 0–100, not its rounding.
    pub rounding: Rounding,
    /// How long a refresh stays `Pending`. Guess: the user guide says only that it "should then
    /// quickly change to InProgress". Drawn from 5–90 s.
    pub pending: Duration,
    /// A refresh's typical time from an instance's launch to `InService` (without a lifecycle
    /// hook). Guess: no source gives it. Drawn from 30–300 s.
    pub launch_base: Duration,
    /// How much each instance's launch differs from the base: instance `i` takes
    /// `launch_base × (1 + launch_spread × uᵢ)` with `uᵢ` uniform in −1..1. Drawn from 0–0.5.
    pub launch_spread: f64,
    /// A launch lifecycle hook, if the group has one: its typical duration, spread like the
    /// launch. The hook runs between the launch and `InService`, so it adds to each instance's
    /// time (the user guide: the warmup counts from `InService`, after any launch hook). Guess:
    /// `None` or 5–15 min (configuration management).
    pub lifecycle_hook: Option<Duration>,
    /// The share of new instances that fail their health check and are replaced by another new
    /// instance (user guide: new instances that fail health checks are replaced). Guess:
    /// 0–10 %.
    pub health_check_failures: f64,
    /// What `InstancesToUpdate` counts.
    pub instances_to_update: ItuReading,
    /// Whether a last checkpoint of 100 % pauses for `CheckpointDelay` before the refresh ends.
    /// Guess: the user guide sends an event for every checkpoint but 100 % and does not say.
    pub hundred_percent_checkpoint_pauses: bool,
    /// When a launch activity of `DescribeScalingActivities` ends.
    pub launch_activity_ends: ActivityEnd,
    /// Whether the caller may read the scaling activities.
    pub activities: ActivityAccess,
    /// Which warming instance the warmup `StatusReason` names.
    pub warmup_hint_names: HintNames,
    /// Whether every describe gives the warmup sentence while an instance warms.
    pub warmup_sentence: WarmupSentence,
    /// How the refresh ends early, if it does. [`Unknowns::draw`] leaves it `None`: the caller
    /// decides how often and how refreshes end early.
    pub early_end: Option<EarlyEnd>,
}

impl Default for Unknowns {
    fn default() -> Self {
        Unknowns {
            status_reasons: ReasonWording::None,
            rounding: Rounding::Floor,
            pending: Duration::from_secs(5),
            launch_base: Duration::from_secs(60),
            launch_spread: 0.0,
            lifecycle_hook: None,
            health_check_failures: 0.0,
            instances_to_update: ItuReading::NotYetInBatch,
            hundred_percent_checkpoint_pauses: false,
            launch_activity_ends: ActivityEnd::AtInService,
            activities: ActivityAccess::Served,
            warmup_hint_names: HintNames::NewestInService,
            warmup_sentence: WarmupSentence::Always,
            early_end: None,
        }
    }
}

/// How many wordings [`ReasonWording::Variant`] chooses from.
pub(crate) const VARIANTS: usize = 3;

/// Lowest and highest drawn `Pending` time, in seconds.
const PENDING_SECS: (u64, u64) = (5, 90);
/// Lowest and highest drawn launch base, in seconds.
const LAUNCH_SECS: (u64, u64) = (30, 300);
/// Highest drawn launch spread.
const MAX_SPREAD: f64 = 0.5;
/// Lowest and highest drawn lifecycle hook, in seconds.
const HOOK_SECS: (u64, u64) = (5 * 60, 15 * 60);
/// Highest drawn share of health-check failures.
const MAX_FAILURES: f64 = 0.10;

impl Unknowns {
    /// Draw every field from its stated range (see each field); `early_end` stays `None`.
    ///
    /// The wording is [`ReasonWording::None`] or one of the variants, each as likely; a
    /// lifecycle hook is drawn for one refresh in three; [`ActivityAccess::AccessDenied`] and
    /// [`ActivityAccess::Empty`] for one in six each; every other choice is even.
    pub fn draw(rng: &mut fastrand::Rng) -> Unknowns {
        let variants = u8::try_from(VARIANTS).unwrap_or(u8::MAX);
        let status_reasons = match rng.u8(0..=variants) {
            0 => ReasonWording::None,
            k => ReasonWording::Variant(k - 1),
        };
        let rounding = if rng.bool() {
            Rounding::Floor
        } else {
            Rounding::Nearest
        };
        let pending = Duration::from_secs(rng.u64(PENDING_SECS.0..=PENDING_SECS.1));
        let launch_base = Duration::from_secs(rng.u64(LAUNCH_SECS.0..=LAUNCH_SECS.1));
        let launch_spread = rng.f64() * MAX_SPREAD;
        let lifecycle_hook =
            (rng.u8(0..3) == 0).then(|| Duration::from_secs(rng.u64(HOOK_SECS.0..=HOOK_SECS.1)));
        let health_check_failures = rng.f64() * MAX_FAILURES;
        let instances_to_update = if rng.bool() {
            ItuReading::NotYetInBatch
        } else {
            ItuReading::NotYetReplaced
        };
        let hundred_percent_checkpoint_pauses = rng.bool();
        let launch_activity_ends = if rng.bool() {
            ActivityEnd::AtInService
        } else {
            ActivityEnd::AfterWarmup
        };
        let activities = match rng.u8(0..6) {
            0 => ActivityAccess::AccessDenied,
            1 => ActivityAccess::Empty,
            _ => ActivityAccess::Served,
        };
        let warmup_hint_names = match rng.u8(0..3) {
            0 => HintNames::NewestInService,
            1 => HintNames::OldestInService,
            _ => HintNames::LowestId,
        };
        let warmup_sentence = if rng.bool() {
            WarmupSentence::Always
        } else {
            WarmupSentence::Intermittent
        };
        Unknowns {
            status_reasons,
            rounding,
            pending,
            launch_base,
            launch_spread,
            lifecycle_hook,
            health_check_failures,
            instances_to_update,
            hundred_percent_checkpoint_pauses,
            launch_activity_ends,
            activities,
            warmup_hint_names,
            warmup_sentence,
            early_end: None,
        }
    }

    /// With this wording of the non-warmup `StatusReason`s.
    pub fn with_status_reasons(mut self, wording: ReasonWording) -> Self {
        self.status_reasons = wording;
        self
    }

    /// With this rounding of `PercentageComplete`.
    pub fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// With this `Pending` time.
    pub fn with_pending(mut self, pending: Duration) -> Self {
        self.pending = pending;
        self
    }

    /// With this launch base and spread (the spread is clamped to 0..=1; NaN means 0).
    pub fn with_launch(mut self, base: Duration, spread: f64) -> Self {
        self.launch_base = base;
        self.launch_spread = clamp_share(spread);
        self
    }

    /// With (or without) a launch lifecycle hook of this typical duration.
    pub fn with_lifecycle_hook(mut self, hook: Option<Duration>) -> Self {
        self.lifecycle_hook = hook;
        self
    }

    /// With this share of new instances failing their health check (clamped to 0..=1; NaN
    /// means 0). A share of 1 makes every new instance fail: the refresh fails after an hour.
    pub fn with_health_check_failures(mut self, share: f64) -> Self {
        self.health_check_failures = clamp_share(share);
        self
    }

    /// With this reading of `InstancesToUpdate`.
    pub fn with_instances_to_update(mut self, reading: ItuReading) -> Self {
        self.instances_to_update = reading;
        self
    }

    /// With (or without) a pause at a last checkpoint of 100 %.
    pub fn with_hundred_percent_checkpoint_pauses(mut self, pauses: bool) -> Self {
        self.hundred_percent_checkpoint_pauses = pauses;
        self
    }

    /// With launch activities ending at this moment.
    pub fn with_launch_activity_ends(mut self, end: ActivityEnd) -> Self {
        self.launch_activity_ends = end;
        self
    }

    /// With the warmup sentence naming this warming instance.
    pub fn with_warmup_hint_names(mut self, names: HintNames) -> Self {
        self.warmup_hint_names = names;
        self
    }

    /// With the warmup sentence given on every describe while an instance warms, or not.
    pub fn with_warmup_sentence(mut self, sentence: WarmupSentence) -> Self {
        self.warmup_sentence = sentence;
        self
    }

    /// With this access to the scaling activities.
    pub fn with_activities(mut self, access: ActivityAccess) -> Self {
        self.activities = access;
        self
    }

    /// With this early end.
    pub fn with_early_end(mut self, early_end: EarlyEnd) -> Self {
        self.early_end = Some(early_end);
        self
    }

    /// Without an early end.
    pub fn without_early_end(mut self) -> Self {
        self.early_end = None;
        self
    }
}

fn clamp_share(share: f64) -> f64 {
    if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    }
}

/// The wording of the `StatusReason`s no public source gives (checkpoint pause, `Pending`,
/// launching, `Baking`, `Cancelling`, `Cancelled`, a rollback, `Failed`, a stall) and of
/// `RollbackReason`.
///
/// Guess: the only `StatusReason` on record is the warmup sentence, which the simulator always
/// uses while an instance warms up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonWording {
    /// No text: the element is omitted.
    None,
    /// One of several sets of sentences (taken modulo their number). Variant 0 is the wording
    /// this simulator used before it followed the public facts (`Waiting for the checkpoint
    /// delay to elapse. Checkpoint 20% reached.` and so on); the others differ, and some leave
    /// some statuses without text.
    Variant(u8),
}

/// How `PercentageComplete` rounds `100 × replaced / instances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Down (1 of 3 instances: 33 %).
    Floor,
    /// To the nearest integer, halves up (2 of 3 instances: 67 %).
    Nearest,
}

impl Rounding {
    /// `100 × part / whole` rounded this way (100 when `whole` is 0; never above 100).
    pub(crate) fn percent(self, part: u64, whole: u64) -> u32 {
        if whole == 0 {
            return 100;
        }
        let scaled = u128::from(part.min(whole)) * 100;
        let whole = u128::from(whole);
        let p = match self {
            Rounding::Floor => scaled / whole,
            Rounding::Nearest => (2 * scaled + whole) / (2 * whole),
        };
        u32::try_from(p.min(100)).unwrap_or(100)
    }
}

/// What `InstancesToUpdate` counts while a refresh runs.
///
/// The API reference says "the number of instances remaining to update"; AWS's own examples
/// (the CLI's `describe-instance-refreshes` example at 0 %, the user guide's "Check the status
/// of an instance refresh" at 50 %) show 0 while still `InProgress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItuReading {
    /// Instances not yet taken into a batch (fits AWS's samples; the default).
    NotYetInBatch,
    /// Instances not yet replaced and warmed up.
    NotYetReplaced,
}

/// When a launch activity ends. Guess: no source says whether it stays open through the warmup
/// (the `WaitingForInstanceWarmup` status code suggests so) or ends at `InService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityEnd {
    /// `Successful` once the instance is `InService`.
    AtInService,
    /// `WaitingForInstanceWarmup` through the warmup, then `Successful`.
    AfterWarmup,
}

/// Which instance the warmup `StatusReason` names while several are warming up. Guess: the
/// documented sentence names one instance "for example"; no source says which.
/// [`Unknowns::draw`] picks each as often; [`Unknowns::default`] names the newest.
///
/// ```
/// use instance_refresh_retry::sim::{GroupConfig, HintNames, Unknowns};
///
/// // A group whose refreshes name the instance that has been warming up longest.
/// let oldest = Unknowns::default().with_warmup_hint_names(HintNames::OldestInService);
/// let group = GroupConfig::default().instances(10).unknowns(oldest.clone());
/// # let _ = group;
/// assert_eq!(oldest.warmup_hint_names, HintNames::OldestInService);
/// assert_eq!(Unknowns::default().warmup_hint_names, HintNames::NewestInService);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintNames {
    /// The instance that came into service last.
    NewestInService,
    /// The instance that has been warming up longest.
    OldestInService,
    /// The warming instance first in the group's own order (as a list sorted by id would).
    LowestId,
}

/// Whether the warmup `StatusReason` is given on every describe while an instance warms up.
/// Guess: the user guide and the CLI example show the sentence during a warmup; no source says
/// that every describe gives it (another reason may take its place for a while). A refresh
/// that gives it [`Intermittent`](Self::Intermittent)ly omits it on about half its whole
/// seconds, chosen by a hash of the refresh and the second, so that its absence at a check does
/// not say that no instance is warming. [`Unknowns::draw`] picks each as often;
/// [`Unknowns::default`] gives it always.
///
/// ```
/// use instance_refresh_retry::sim::{Unknowns, WarmupSentence};
///
/// let sometimes = Unknowns::default().with_warmup_sentence(WarmupSentence::Intermittent);
/// assert_eq!(sometimes.warmup_sentence, WarmupSentence::Intermittent);
/// assert_eq!(Unknowns::default().warmup_sentence, WarmupSentence::Always);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmupSentence {
    /// On every describe while an instance warms up.
    Always,
    /// On some describes while an instance warms up, not on others (the reason given when
    /// none warms takes its place).
    Intermittent,
}

/// How `DescribeScalingActivities` answers the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityAccess {
    /// The activities are served.
    Served,
    /// HTTP 403 `AccessDenied`: the caller's role lacks `autoscaling:DescribeScalingActivities`.
    AccessDenied,
    /// No activities (as if they had aged out, or belonged to another account's view).
    Empty,
}

/// A refresh that ends before its natural end, at a moment fixed in advance.
///
/// Nothing announces when a refresh will end (`AWS-FACTS`, "Early ends"). An early end
/// whose moment falls after the refresh ended, or in a status it does not apply to (see
/// [`EarlyEndKind`]), does nothing. An API call that ends the refresh earlier wins.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct EarlyEnd {
    /// How it ends.
    pub kind: EarlyEndKind,
    /// When, after the refresh's `StartTime`.
    pub at: Duration,
}

impl EarlyEnd {
    /// `kind`, `at` after the refresh's start.
    pub fn new(kind: EarlyEndKind, at: Duration) -> Self {
        EarlyEnd { kind, at }
    }
}

/// The ways a refresh ends early (`AWS-FACTS`, "Early ends").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EarlyEndKind {
    /// Another operator or pipeline calls `CancelInstanceRefresh` (while `Pending`,
    /// `InProgress` or `Baking`). With `wait_for_transitioning_instances` (the API's default)
    /// the refresh is `Cancelling` until the launches in flight are done, then `Cancelled`;
    /// without, `Cancelled` at once (API `CancelInstanceRefresh`).
    Cancelled {
        /// `WaitForTransitioningInstances`.
        wait_for_transitioning_instances: bool,
    },
    /// A CloudWatch alarm of the refresh's `AlarmSpecification` goes into ALARM (while
    /// `Pending`, `InProgress` or `Baking`): `Failed` at once (API `RefreshPreferences`).
    AlarmFailed,
    /// Like [`AlarmFailed`](Self::AlarmFailed), with `AutoRollback`: `RollbackInProgress` while
    /// the replaced instances are replaced again and `PercentageComplete` goes back down, then
    /// `RollbackSuccessful` (API `InstanceRefresh`, UG "Undo changes with a rollback"). A
    /// rollback needs a desired configuration with a numbered launch template version: on a
    /// refresh without one this ends as [`AlarmFailed`](Self::AlarmFailed).
    AlarmRolledBack,
    /// The refresh stops making progress (while `Pending` or `InProgress`): it stays
    /// `InProgress` with its progress frozen, and fails one hour later (UG: a refresh that
    /// cannot continue "keeps retrying for an hour", then fails).
    Stalled,
}
