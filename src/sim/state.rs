//! The shared, lock-protected state of one simulator instance.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::SimError;
use super::clock::Clock;
use super::fault::FaultPlan;
use super::log::CallRecord;
use super::model::{Group, GroupConfig, Refresh};
use super::prefs::StartRequest;
use super::unknowns::Unknowns;

/// Everything behind the simulator's mutex. The mutex is never held across an `.await`.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clock: Clock,
    pub(crate) groups: BTreeMap<String, Group>,
    /// Refresh ids only, so they depend on the seed and the number of refreshes alone.
    pub(crate) rng: fastrand::Rng,
    /// Request ids.
    pub(crate) request_rng: fastrand::Rng,
    pub(crate) faults: FaultPlan,
    pub(crate) calls: Vec<CallRecord>,
    /// The seed refreshes draw their [`Unknowns`] from, if they vary.
    pub(crate) vary_unknowns: Option<u64>,
}

impl State {
    pub(crate) fn new(clock: Clock, seed: u64) -> Self {
        State {
            clock,
            groups: BTreeMap::new(),
            rng: fastrand::Rng::with_seed(seed),
            request_rng: fastrand::Rng::with_seed(seed ^ 0x5EED_5EED_5EED_5EED),
            faults: FaultPlan::default(),
            calls: Vec::new(),
            vary_unknowns: None,
        }
    }

    /// A fresh request id (UUID-shaped, like AWS's).
    pub(crate) fn request_id(&mut self) -> String {
        uuid_from(self.request_rng.u128(..))
    }

    /// Start a refresh on `group` with `config` as `request` asks, unless one is active.
    pub(crate) fn start_refresh(
        &mut self,
        group: &str,
        config: &GroupConfig,
        request: StartRequest,
        now: Instant,
    ) -> Result<String, SimError> {
        let g = self
            .groups
            .get_mut(group)
            .ok_or_else(|| SimError::UnknownGroup(group.to_owned()))?;
        if let Some(active) = g.active_index(now) {
            return Err(SimError::RefreshInProgress {
                group: group.to_owned(),
                id: g.refreshes[active].id.clone(),
            });
        }
        let id = uuid_from(self.rng.u128(..));
        let unknowns = match (config.fixed_unknowns(), self.vary_unknowns) {
            (Some(fixed), _) => fixed.clone(),
            (None, Some(seed)) => {
                let mut rng = fastrand::Rng::with_seed(draw_seed(seed, group, g.refreshes.len()));
                Unknowns::draw(&mut rng)
            }
            (None, None) => Unknowns::default(),
        };
        g.refreshes.push(Refresh::new(
            id.clone(),
            group.to_owned(),
            now,
            config,
            request.strategy,
            &request.preferences,
            request.desired,
            unknowns,
        ));
        Ok(id)
    }
}

/// The seed of the `index`-th refresh of `group` under `vary_unknowns(seed)` (FNV-1a over the
/// three).
fn draw_seed(seed: u64, group: &str, index: usize) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    for byte in seed
        .to_le_bytes()
        .into_iter()
        .chain(group.bytes())
        .chain(index.to_le_bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Format 128 random bits as a version-4, RFC 4122 variant UUID.
pub(crate) fn uuid_from(bits: u128) -> String {
    let bits = (bits & !(0xF_u128 << 76)) | (0x4_u128 << 76);
    let bits = (bits & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::uuid_from;

    #[test]
    fn uuid_shape() {
        let id = uuid_from(u128::MAX);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = uuid_from(0);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
    }
}
