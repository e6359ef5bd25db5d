//! A simulated Auto Scaling group: its configuration, its refreshes, and when its `Launch`
//! process was suspended.

use tokio::time::Instant;

use super::config::GroupConfig;
use super::refresh::{Refresh, Suspension};
use super::view::View;

/// A simulated Auto Scaling group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) config: GroupConfig,
    /// Oldest first.
    pub(crate) refreshes: Vec<Refresh>,
    /// When the `Launch` process was suspended, oldest first, never overlapping.
    suspensions: Vec<Suspension>,
}

impl Group {
    pub(crate) fn new(config: GroupConfig) -> Self {
        Group {
            config,
            refreshes: Vec::new(),
            suspensions: Vec::new(),
        }
    }

    /// The group's `Launch` suspensions, for [`Refresh::view`].
    pub(crate) fn suspensions(&self) -> &[Suspension] {
        &self.suspensions
    }

    /// The state of the refresh at `index` at `now`.
    pub(crate) fn view(&self, index: usize, now: Instant) -> View {
        self.refreshes[index].view(now, &self.suspensions)
    }

    /// The index of the refresh that is active at `now`, if any: only the newest can be (a
    /// refresh starts only when none is active).
    pub(crate) fn active_index(&self, now: Instant) -> Option<usize> {
        self.refreshes
            .len()
            .checked_sub(1)
            .filter(|&i| self.view(i, now).status.is_active())
    }

    /// Whether the `Launch` process is suspended.
    pub(crate) fn launch_suspended(&self) -> bool {
        self.suspensions.last().is_some_and(|s| s.1.is_none())
    }

    /// Suspend the `Launch` process at `now` (no-op if it is suspended).
    pub(crate) fn suspend_launch(&mut self, now: Instant) {
        if !self.launch_suspended() {
            self.suspensions.push((now, None));
        }
    }

    /// Resume the `Launch` process at `now` (no-op if it is not suspended).
    pub(crate) fn resume_launch(&mut self, now: Instant) {
        if let Some(last) = self.suspensions.last_mut()
            && last.1.is_none()
        {
            last.1 = Some(now);
        }
    }
}
