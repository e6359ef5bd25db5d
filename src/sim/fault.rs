//! Fault injection: what can go wrong with one call, and which calls it hits.
//!
//! See the [module docs](super) for an overview.

use std::time::Duration;

/// One thing that goes wrong with a single call to the simulator.
///
/// Faults are attached to calls with [`AutoScalingSim::inject`](super::AutoScalingSim::inject)
/// (scripted) or [`AutoScalingSim::set_fault_rate`](super::AutoScalingSim::set_fault_rate)
/// (seeded random). Unless stated otherwise the request is **not** applied: the simulated
/// service state does not change.
///
/// ```
/// use std::time::Duration;
/// use instance_refresh_retry::sim::{Fault, FaultRule};
///
/// // Throttle the next two StartInstanceRefresh calls.
/// let rule = FaultRule::new(Fault::Throttling).on("StartInstanceRefresh").times(2);
/// assert_eq!(rule.fault(), &Fault::Throttling);
/// // Delay every call by 30 seconds of tokio time.
/// let slow = FaultRule::new(Fault::Slow(Duration::from_secs(30))).always();
/// assert_eq!(slow.remaining(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 400 with code `Throttling` and message `Rate exceeded`, like `wire/throttling.xml`.
    Throttling,
    /// HTTP 500 with code `InternalFailure` (error type `Receiver`).
    InternalFailure,
    /// HTTP 503 with code `ServiceUnavailable` (error type `Receiver`).
    ServiceUnavailable,
    /// HTTP 500 with code `ResourceContention`, like `wire/resource_contention.xml`.
    ResourceContention,
    /// Any `<ErrorResponse>`: HTTP `status`, `code` and `message` of your choice.
    Error {
        /// HTTP status code.
        status: u16,
        /// The `<Code>` element.
        code: String,
        /// The `<Message>` element.
        message: String,
    },
    /// The connection is closed before any response is written. The request is not applied.
    CloseConnection,
    /// The request **is applied**, then the connection is closed without a response.
    ///
    /// This is the case a retrying client must be careful about: a retried
    /// `StartInstanceRefresh` then meets the refresh its own first attempt started.
    ResponseLost,
    /// The request **is applied**, then HTTP 500 `InternalFailure` is answered: a server error
    /// after which the client cannot know whether its request took effect.
    AppliedInternalFailure,
    /// The request is handled (and applied) on arrival, but the response is sent only after
    /// this much tokio time.
    Slow(Duration),
    /// HTTP 200 whose body is XML truncated inside the root start tag. The request is not
    /// applied. The SDK reports it as `SdkError::ServiceError` with the operation error's
    /// `Unhandled` variant and no error code.
    ///
    /// (The SDK's XML reader accepts a body cut anywhere *after* the root start tag as a
    /// success with missing fields; use [`Fault::Raw`] to serve such a body.)
    MalformedBody,
    /// A canned response: HTTP `status` with exactly this `body` (served as `text/xml`).
    ///
    /// If the body contains a `<RequestId>` element, its text is also sent in the
    /// `x-amzn-RequestId` header, which is where the SDK reads request ids from.
    Raw {
        /// HTTP status code.
        status: u16,
        /// The response body, sent unchanged.
        body: String,
    },
}

impl Fault {
    /// A short stable name for logs and test output, e.g. `"Throttling"` or `"Slow"`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Throttling => "Throttling",
            Fault::InternalFailure => "InternalFailure",
            Fault::ServiceUnavailable => "ServiceUnavailable",
            Fault::ResourceContention => "ResourceContention",
            Fault::Error { .. } => "Error",
            Fault::CloseConnection => "CloseConnection",
            Fault::ResponseLost => "ResponseLost",
            Fault::AppliedInternalFailure => "AppliedInternalFailure",
            Fault::Slow(_) => "Slow",
            Fault::MalformedBody => "MalformedBody",
            Fault::Raw { .. } => "Raw",
        }
    }
}

/// Which calls a [`Fault`] hits, and how many times.
///
/// See the [module docs](super) for an overview.
///
/// # Defaults
///
/// - operation: any (including requests without a valid `Action`)
/// - after: 0 (the next matching call)
/// - times: 1
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    fault: Fault,
    operation: Option<String>,
    skip: u32,
    remaining: Option<u32>,
}

impl FaultRule {
    /// A rule that applies `fault` once, to the next call of any operation.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            fault,
            operation: None,
            skip: 0,
            remaining: Some(1),
        }
    }

    /// Only hit calls whose `Action` is `operation`, e.g. `"StartInstanceRefresh"`.
    pub fn on(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }

    /// Let the first `calls` matching calls pass, then hit. Every matching call counts, whichever
    /// rule (if any) hits it, so rules with different `after` values script a sequence:
    ///
    /// ```
    /// use instance_refresh_retry::sim::{Fault, FaultRule};
    ///
    /// // The 2nd StartInstanceRefresh is throttled, and so are the 4th and 5th.
    /// let second = FaultRule::new(Fault::Throttling).on("StartInstanceRefresh").after(1);
    /// let fourth_and_fifth = FaultRule::new(Fault::Throttling)
    ///     .on("StartInstanceRefresh")
    ///     .after(3)
    ///     .times(2);
    /// # let _ = (second, fourth_and_fifth);
    /// ```
    pub fn after(mut self, calls: u32) -> Self {
        self.skip = calls;
        self
    }

    /// Hit the next `times` matching calls, then retire. `times(0)` never fires.
    pub fn times(mut self, times: u32) -> Self {
        self.remaining = Some(times);
        self
    }

    /// Hit every matching call, forever (until [`clear_faults`](super::AutoScalingSim::clear_faults)).
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    /// The fault this rule injects.
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    /// The operation this rule is limited to, if any.
    pub fn operation(&self) -> Option<&str> {
        self.operation.as_deref()
    }

    /// How many more calls this rule hits; `None` means unlimited.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    fn matches(&self, operation: Option<&str>) -> bool {
        self.remaining != Some(0)
            && match &self.operation {
                None => true,
                Some(op) => operation == Some(op.as_str()),
            }
    }
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> Self {
        FaultRule::new(fault)
    }
}

/// Seeded random faults: each call is hit with probability `p` by one of `kinds`.
#[derive(Debug)]
struct RandomFaults {
    rng: fastrand::Rng,
    probability: f64,
    kinds: Vec<Fault>,
}

/// The scripted rules plus the optional random source, in the order they are consulted.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    rules: Vec<FaultRule>,
    random: Option<RandomFaults>,
}

impl FaultPlan {
    /// Queue a scripted rule after the existing ones.
    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    /// Replace the random source. `probability` is clamped to `0.0..=1.0` (NaN counts as 0).
    pub(crate) fn set_random(&mut self, seed: u64, probability: f64, kinds: Vec<Fault>) {
        let probability = if probability.is_nan() {
            0.0
        } else {
            probability.clamp(0.0, 1.0)
        };
        self.random = Some(RandomFaults {
            rng: fastrand::Rng::with_seed(seed),
            probability,
            kinds,
        });
    }

    /// Remove every rule and the random source.
    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    /// The fault for a call of `operation`: the first matching scripted rule that has let its
    /// `after` calls pass (consuming one of its uses), else a random draw. Every matching rule
    /// still counting down its `after` calls counts this one.
    pub(crate) fn take(&mut self, operation: Option<&str>) -> Option<Fault> {
        let hit = self
            .rules
            .iter()
            .position(|r| r.skip == 0 && r.matches(operation));
        for rule in &mut self.rules {
            if rule.skip > 0 && rule.matches(operation) {
                rule.skip -= 1;
            }
        }
        if let Some(pos) = hit {
            let rule = &mut self.rules[pos];
            let fault = rule.fault.clone();
            if let Some(n) = &mut rule.remaining {
                *n -= 1;
                if *n == 0 {
                    self.rules.remove(pos);
                }
            }
            return Some(fault);
        }
        let random = self.random.as_mut()?;
        if random.kinds.is_empty() {
            return None;
        }
        // Always draw both numbers so the sequence depends only on the seed and call count.
        let roll = random.rng.f64();
        let pick = random.rng.usize(..random.kinds.len());
        (roll < random.probability).then(|| random.kinds[pick].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_rules_fire_in_order_and_retire() {
        let mut plan = FaultPlan::default();
        plan.push(FaultRule::new(Fault::Throttling).on("A").times(2));
        plan.push(FaultRule::new(Fault::MalformedBody));
        assert_eq!(plan.take(Some("B")), Some(Fault::MalformedBody));
        assert_eq!(plan.take(Some("B")), None);
        assert_eq!(plan.take(Some("A")), Some(Fault::Throttling));
        assert_eq!(plan.take(Some("A")), Some(Fault::Throttling));
        assert_eq!(plan.take(Some("A")), None);
    }

    #[test]
    fn after_counts_every_matching_call() {
        let mut plan = FaultPlan::default();
        plan.push(FaultRule::new(Fault::Throttling).on("A").after(1));
        plan.push(
            FaultRule::new(Fault::InternalFailure)
                .on("A")
                .after(3)
                .times(2),
        );
        plan.push(FaultRule::new(Fault::MalformedBody).on("B").after(1));
        let seen: Vec<_> = (0..7).map(|_| plan.take(Some("A"))).collect();
        assert_eq!(
            seen,
            [
                None,
                Some(Fault::Throttling),
                None,
                Some(Fault::InternalFailure),
                Some(Fault::InternalFailure),
                None,
                None
            ]
        );
        // Calls of other operations do not count.
        assert_eq!(plan.take(Some("B")), None);
        assert_eq!(plan.take(Some("B")), Some(Fault::MalformedBody));
    }

    #[test]
    fn random_faults_are_seeded() {
        let draw = |seed| {
            let mut plan = FaultPlan::default();
            plan.set_random(seed, 0.5, vec![Fault::Throttling, Fault::InternalFailure]);
            (0..64).map(|_| plan.take(None)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let hits = draw(7).iter().filter(|f| f.is_some()).count();
        assert!(hits > 10 && hits < 54, "hits = {hits}");
    }

    #[test]
    fn nan_probability_never_fires() {
        let mut plan = FaultPlan::default();
        plan.set_random(1, f64::NAN, vec![Fault::Throttling]);
        assert!((0..100).all(|_| plan.take(None).is_none()));
    }
}
