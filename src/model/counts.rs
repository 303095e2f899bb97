//! Host counts: how many hosts of a ring, a deployment or the fleet are in each state.

use serde::{Deserialize, Serialize};

use super::HostState;

/// How many hosts are in each lifecycle state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostCounts {
    pub total: u32,
    pub pending: u32,
    pub downloading: u32,
    pub installing: u32,
    pub pending_reboot: u32,
    pub rebooting: u32,
    pub verifying: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub rolled_back: u32,
    pub excluded: u32,
    pub offline: u32,
    pub deferred: u32,
}

impl HostCounts {
    /// Hosts with work under way (downloading to verifying).
    pub fn in_flight(&self) -> u32 {
        self.downloading + self.installing + self.pending_reboot + self.rebooting + self.verifying
    }

    /// Adds one host in `state`.
    pub fn add(&mut self, state: HostState) {
        self.total += 1;
        *self.slot(state) += 1;
    }

    /// Removes one host in `state` (the inverse of `add`).
    pub fn remove(&mut self, state: HostState) {
        self.total = self.total.saturating_sub(1);
        let slot = self.slot(state);
        *slot = slot.saturating_sub(1);
    }

    /// The counter for one state.
    pub fn get(&self, state: HostState) -> u32 {
        let mut copy = *self;
        *copy.slot(state)
    }

    fn slot(&mut self, state: HostState) -> &mut u32 {
        match state {
            HostState::Pending => &mut self.pending,
            HostState::Downloading => &mut self.downloading,
            HostState::Installing => &mut self.installing,
            HostState::PendingReboot => &mut self.pending_reboot,
            HostState::Rebooting => &mut self.rebooting,
            HostState::Verifying => &mut self.verifying,
            HostState::Succeeded => &mut self.succeeded,
            HostState::Failed => &mut self.failed,
            HostState::RolledBack => &mut self.rolled_back,
            HostState::Excluded => &mut self.excluded,
            HostState::Offline => &mut self.offline,
            HostState::Deferred => &mut self.deferred,
        }
    }

    /// Share of hosts that reached a final, verified success, in percent of the hosts
    /// that are targeted (excluded hosts do not count).
    pub fn success_pct(&self) -> f64 {
        let targeted = self.total.saturating_sub(self.excluded);
        if targeted == 0 {
            return 0.0;
        }
        f64::from(self.succeeded) * 100.0 / f64::from(targeted)
    }

    /// Share of targeted hosts that failed, in percent.
    pub fn failure_pct(&self) -> f64 {
        let targeted = self.total.saturating_sub(self.excluded);
        if targeted == 0 {
            return 0.0;
        }
        f64::from(self.failed) * 100.0 / f64::from(targeted)
    }
}
