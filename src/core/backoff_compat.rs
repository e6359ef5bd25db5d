//! Interoperability with the unmaintained `backoff` crate (feature `backoff`).
//!
//! See [`RetryPolicyBuilder::backoff`](crate::RetryPolicyBuilder::backoff).

use backoff::backoff::Backoff;

/// Produces a fresh, reset [`Backoff`] for each wrapped call.
pub(crate) trait MakeBackoff: Send + Sync {
    fn make(&self) -> Box<dyn Backoff + Send + Sync>;
}

impl<F, B> MakeBackoff for F
where
    F: Fn() -> B + Send + Sync,
    B: Backoff + Send + Sync + 'static,
{
    fn make(&self) -> Box<dyn Backoff + Send + Sync> {
        let mut b = self();
        b.reset();
        Box::new(b)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Decision, RetryPolicy, StopReason};
    use backoff::backoff::{Constant, Stop};
    use std::time::Duration;

    #[test]
    fn exponential_backoff_supplies_the_delays_and_our_limits_apply() {
        let eb = backoff::ExponentialBackoffBuilder::new()
            .with_initial_interval(Duration::from_secs(2))
            .with_randomization_factor(0.0)
            .with_multiplier(2.0)
            .with_max_interval(Duration::from_secs(600))
            .with_max_elapsed_time(None)
            .build();
        let policy = RetryPolicy::builder()
            .backoff(eb)
            .max_delay(Duration::from_secs(30))
            .max_elapsed(Duration::from_secs(100))
            .build()
            .unwrap();
        let secs: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
        // 2, 4, 8, 16, then capped at max_delay 30, then the budget cut: 2+4+8+16+30+30 = 90.
        assert_eq!(secs, [2, 4, 8, 16, 30, 30, 10]);
        // Every call starts from a reset clone.
        assert_eq!(policy.delays().next(), Some(Duration::from_secs(2)));
        assert!(format!("{policy:?}").contains("backoff::Backoff"));
    }

    #[test]
    fn exhausted_backoff_stops() {
        let policy = RetryPolicy::builder()
            .backoff_with(|| Stop {})
            .build()
            .unwrap();
        let mut s = policy.schedule();
        assert_eq!(
            s.on_failure(Duration::ZERO),
            Decision::Stop(StopReason::BackoffExhausted)
        );
        let constant = RetryPolicy::builder()
            .backoff_with(|| Constant::new(Duration::from_secs(7)))
            .max_attempts(3)
            .build()
            .unwrap();
        assert_eq!(
            constant.delays().collect::<Vec<_>>(),
            [Duration::from_secs(7); 2]
        );
    }
}
