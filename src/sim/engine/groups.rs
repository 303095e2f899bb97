//! Server patching groups: reboot orchestration in the group's reboot order.

use rand::Rng;

use crate::model::HostState;

use super::{Engine, RebootPhase, secs};

impl Engine {
    /// Reboot orchestration of one server patching group (see the module doc).
    pub(super) fn coordinate_group(&mut self, g: usize) {
        let ring = self.groups[g].ring;
        let group = &self.rings[ring].groups[self.groups[g].index];
        let order = group.reboot_order.clone();
        let redundant = group.redundant;
        let members = self.groups[g].members.clone();
        let state_of = |e: &Engine, h: u32| e.hosts[h as usize].state;
        let tier_of = |e: &Engine, h: u32| e.hosts[h as usize].tier;
        let now = secs(self.now);
        match self.groups[g].phase {
            RebootPhase::Idle => {
                if members.iter().any(|&h| {
                    matches!(
                        state_of(self, h),
                        HostState::Downloading | HostState::Installing
                    )
                }) {
                    return;
                }
                let waiting: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        state_of(self, h) == HostState::PendingReboot
                            && self.host_runs[h as usize].uninstall.is_none()
                    })
                    .collect();
                let Some(&first) = waiting.first() else {
                    if !members.iter().any(|&h| state_of(self, h).is_in_flight()) {
                        self.active_groups.remove(&g);
                    }
                    return;
                };
                let d = self.host_runs[first as usize].deployment;
                let r = self.queue_ring(first as usize);
                if !self.in_window(r, d) || order.is_empty() {
                    return;
                }
                self.groups[g].phase = RebootPhase::Down(0);
                self.coordinate_group(g);
            }
            RebootPhase::Down(t) => {
                let tier = order[t];
                let going: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        tier_of(self, h) == Some(tier)
                            && state_of(self, h) == HostState::PendingReboot
                            && self.host_runs[h as usize].uninstall.is_none()
                    })
                    .collect();
                if going.is_empty() {
                    self.groups[g].phase = if t + 1 < order.len() {
                        RebootPhase::Down(t + 1)
                    } else {
                        RebootPhase::Up(order.len() - 1)
                    };
                    return;
                }
                let take = if redundant { 1 } else { going.len() };
                for &h in &going[..take] {
                    let h = h as usize;
                    let length = self.rng.random_range(120..=300);
                    self.host_runs[h].reboot_ready = now + length;
                    self.set_state(
                        h,
                        HostState::Rebooting,
                        Some(format!("{} tier going down", tier.as_str())),
                    );
                }
            }
            RebootPhase::Up(t) => {
                let tier = order[t];
                let down: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        tier_of(self, h) == Some(tier) && state_of(self, h) == HostState::Rebooting
                    })
                    .collect();
                if down.is_empty() {
                    self.groups[g].phase = if t == 0 {
                        RebootPhase::Idle
                    } else {
                        RebootPhase::Up(t - 1)
                    };
                    return;
                }
                let ready: Vec<u32> = down
                    .into_iter()
                    .filter(|&h| self.host_runs[h as usize].reboot_ready <= now)
                    .take(if redundant { 1 } else { usize::MAX })
                    .collect();
                for h in ready {
                    let h = h as usize;
                    self.set_state(
                        h,
                        HostState::Verifying,
                        Some(format!("{} tier back up", tier.as_str())),
                    );
                    self.arm_in(h, 60, 180);
                }
            }
        }
    }
}
