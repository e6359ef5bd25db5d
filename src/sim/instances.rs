//! The new instances of a refresh: each with its own launch time, an optional lifecycle hook,
//! and a seeded share that fails its health check and is replaced.
//!
//! Times are offsets into the refresh's InProgress phase (refresh time, which stands still
//! while the group's `Launch` process is suspended).

use std::time::Duration;

use super::unknowns::Unknowns;

/// How long a refresh keeps trying to place a healthy instance before it fails (UG "How
/// instance refresh works": a refresh that cannot continue "keeps retrying for an hour", then
/// fails). Guess: the hour counts per instance, from its first launch.
pub(crate) const RETRY_FOR: Duration = Duration::from_secs(3600);

/// At most this many launches per instance (a bound for zero launch times).
const MAX_ATTEMPTS: usize = 1000;

/// How a refresh's new instances are timed: from its [`Unknowns`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Timing {
    base: Duration,
    spread: f64,
    hook: Option<Duration>,
    failures: f64,
}

impl Timing {
    pub(crate) fn new(unknowns: &Unknowns) -> Self {
        Timing {
            base: unknowns.launch_base,
            spread: unknowns.launch_spread,
            hook: unknowns.lifecycle_hook,
            failures: unknowns.health_check_failures,
        }
    }

    /// `d × (1 + spread × (2u − 1))`, in whole milliseconds.
    fn vary(&self, d: Duration, u: f64) -> Duration {
        if self.spread == 0.0 {
            return d;
        }
        let factor = (1.0 + self.spread * (2.0 * u - 1.0)).max(0.0);
        let millis = (d.as_secs_f64() * factor * 1000.0).round();
        Duration::try_from_secs_f64(millis / 1000.0).unwrap_or(Duration::MAX)
    }
}

/// One launch of a new instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// Launched.
    pub(crate) launch: Duration,
    /// Booted: the launch lifecycle hook starts (`in_service` without a hook).
    pub(crate) hook_start: Duration,
    /// `InService` (after the hook). The warmup counts from here (UG "How instance refresh
    /// works").
    pub(crate) in_service: Duration,
    /// Whether it passes its health check. Guess: one that fails does so as it comes
    /// `InService`, and its replacement is launched at once.
    pub(crate) healthy: bool,
}

/// The new instance(s) that replace one old instance: launches until one is healthy, or until
/// the refresh gives up ([`RETRY_FOR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) attempts: Vec<Attempt>,
}

impl Slot {
    /// Launch from `start` until an instance is healthy or the hour is over. With `failures`
    /// off, the first launch is healthy.
    pub(crate) fn draw(
        start: Duration,
        timing: &Timing,
        rng: &mut fastrand::Rng,
        failures: bool,
    ) -> Slot {
        let mut attempts = Vec::with_capacity(1);
        let mut t = start;
        loop {
            // Always three draws, so that one unknown does not shift the others.
            let (u_boot, u_hook, u_fail) = (rng.f64(), rng.f64(), rng.f64());
            let boot = timing.vary(timing.base, u_boot);
            let hook = timing
                .hook
                .map_or(Duration::ZERO, |h| timing.vary(h, u_hook));
            let hook_start = t.saturating_add(boot);
            let in_service = hook_start.saturating_add(hook);
            let healthy = !(failures && u_fail < timing.failures);
            attempts.push(Attempt {
                launch: t,
                hook_start,
                in_service,
                healthy,
            });
            if healthy
                || in_service.saturating_sub(start) >= RETRY_FOR
                || attempts.len() >= MAX_ATTEMPTS
            {
                return Slot { attempts };
            }
            t = in_service;
        }
    }

    /// The healthy instance, if one was placed.
    pub(crate) fn healthy(&self) -> Option<(usize, &Attempt)> {
        self.attempts
            .iter()
            .enumerate()
            .next_back()
            .filter(|(_, a)| a.healthy)
    }

    /// The launch in flight at `x` (launched, not yet `InService`), if any.
    pub(crate) fn in_flight_at(&self, x: Duration) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.launch <= x && x < a.in_service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn launches_vary_within_the_spread() {
        let unknowns = Unknowns::default()
            .with_launch(secs(100), 0.5)
            .with_lifecycle_hook(Some(secs(600)));
        let timing = Timing::new(&unknowns);
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..200 {
            let slot = Slot::draw(secs(10), &timing, &mut rng, true);
            let a = slot.attempts[0];
            assert_eq!(slot.attempts.len(), 1);
            let boot = a.hook_start - a.launch;
            let hook = a.in_service - a.hook_start;
            assert!((secs(50)..=secs(150)).contains(&boot), "{boot:?}");
            assert!((secs(300)..=secs(900)).contains(&hook), "{hook:?}");
        }
    }

    #[test]
    fn failed_instances_are_replaced_until_the_hour_is_over() {
        let all_fail = Unknowns::default()
            .with_launch(secs(100), 0.0)
            .with_health_check_failures(1.0);
        let slot = Slot::draw(
            secs(0),
            &Timing::new(&all_fail),
            &mut fastrand::Rng::with_seed(1),
            true,
        );
        assert_eq!(slot.attempts.len(), 36);
        assert!(slot.healthy().is_none());
        assert_eq!(slot.attempts[1].launch, secs(100));
        assert_eq!(slot.in_flight_at(secs(150)), Some(&slot.attempts[1]));
        // Off, nothing fails.
        let slot = Slot::draw(
            secs(0),
            &Timing::new(&all_fail),
            &mut fastrand::Rng::with_seed(1),
            false,
        );
        assert_eq!(slot.healthy().map(|(i, _)| i), Some(0));
        // Zero launch times end too.
        let instant = all_fail.with_launch(Duration::ZERO, 0.0);
        let slot = Slot::draw(
            secs(0),
            &Timing::new(&instant),
            &mut fastrand::Rng::with_seed(1),
            true,
        );
        assert_eq!(slot.attempts.len(), MAX_ATTEMPTS);
    }
}
