//! The shared, lock-protected state of one simulator instance.

use std::collections::BTreeMap;

use tokio::time::Instant;

use super::clock::Clock;
use super::config::GroupConfig;
use super::error::SimError;
use super::fault::FaultPlan;
use super::group::Group;
use super::ids::{fnv1a, uuid_from};
use super::log::CallRecord;
use super::prefs::StartRequest;
use super::refresh::Refresh;
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
        let unknowns = config.apply_overrides(unknowns);
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

/// The seed of the `index`-th refresh of `group` under `vary_unknowns(seed)`.
fn draw_seed(seed: u64, group: &str, index: usize) -> u64 {
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    fnv1a(
        seed.to_le_bytes()
            .into_iter()
            .chain(group.bytes())
            .chain(index.to_le_bytes()),
    )
}
