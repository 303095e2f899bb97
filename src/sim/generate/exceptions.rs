//! Exceptions beyond the excluded hosts of the story: a few that expired days ago on
//! hosts that fell behind (back in the queue, past the compliance line) and a few
//! that hold back one patch only. The excluded hosts themselves (some lapsing in the
//! first minutes, one near its expiry) are written with the story (`scenario`).
//!
//! Drawn from a random stream of its own (from the seed), after the story and its
//! history are built, so that every other part of the fleet is as it was without it.

use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{Exception, HostState, PatchKind, Transition};

use super::scenario::OPERATORS;
use super::{Builder, PROD};

/// Mixed into the seed for this part's own random stream.
const STREAM: u64 = 0x6578_6365_7074_696f;

/// Expired exceptions: owner, reason, compensating control, days since they lapsed.
const LAPSED: [(&str, &str, &str, i64); 2] = [
    (
        "warehouse-it@contoso.example",
        "Scanner docking software crashed on the previous build; vendor hotfix applied since",
        "Scanner VLAN only, no browser, weekly EDR review",
        2,
    ),
    (
        "r.adeyemi (Clinical apps)",
        "Dictation client certification pending for the new build",
        "Local firewall blocks inbound; dictation server reachable only",
        9,
    ),
];

/// Exceptions for one patch: owner, reason, compensating control, days left (the second
/// near its expiry, in fleets of every size).
const ONE_PATCH: [(&str, &str, &str, i64); 2] = [
    (
        "erp-team@contoso.example",
        "This month's .NET update breaks the ERP add-in; the cumulative update is fine",
        "Add-in runs with least privilege; .NET hardening settings applied by policy",
        34,
    ),
    (
        "k.murphy (Print services)",
        "The print-stack update reintroduces the label printer spooler fault",
        "Print spooler restricted to the label printers; Point and Print locked down",
        3,
    ),
];

impl Builder {
    /// Add the lapsed and the one-patch exceptions.
    pub(super) fn exception_history(&mut self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ STREAM);
        let latest_cu = self
            .e
            .patches
            .iter()
            .filter(|p| p.kind == PatchKind::CumulativeUpdate)
            .max_by_key(|p| p.released_at)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let candidates: Vec<usize> = (0..self.e.hosts.len())
            .filter(|&h| {
                matches!(self.e.host_runs[h].home, 2..=4 | PROD)
                    && self.e.hosts[h].state == HostState::Pending
                    && self.e.hosts[h].exception.is_none()
                    && self.e.host_runs[h].deployment.is_some()
            })
            .collect();
        if candidates.len() < LAPSED.len() + ONE_PATCH.len() {
            return;
        }
        // Lapsed ones on hosts that fell behind, where there are such hosts.
        let behind: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&h| !self.e.hosts[h].has_installed(&latest_cu))
            .collect();
        let mut used = std::collections::BTreeSet::new();
        for (k, (owner, reason, control, ago)) in LAPSED.into_iter().enumerate() {
            let pool = if behind.len() > k {
                &behind
            } else {
                &candidates
            };
            let h = loop {
                let h = pool[rng.random_range(0..pool.len())];
                if used.insert(h) {
                    break h;
                }
            };
            let expires_at = self.t - Duration::days(ago);
            let granted_at = expires_at - Duration::days(rng.random_range(30..60));
            let granted_by = OPERATORS[(k + 1) % OPERATORS.len()];
            let ticket = format!("CHG-{}", 39_200 + 53 * k);
            self.e.hosts[h].exception = Some(Box::new(Exception {
                owner: owner.into(),
                reason: reason.into(),
                ticket: Some(ticket.clone()),
                expires_at,
                compensating_control: control.into(),
                patch_id: None,
                granted_by: granted_by.into(),
                granted_at: Some(granted_at),
                renewals: Vec::new(),
                lapsed_at: Some(expires_at),
            }));
            self.note(
                h,
                granted_at,
                HostState::Excluded,
                format!("exception by {granted_by} ({ticket}), owned by {owner}: {reason}"),
            );
            self.note(
                h,
                expires_at,
                HostState::Pending,
                format!("exception expired ({owner}, {ticket}): back in the queue"),
            );
        }
        for (k, (owner, reason, control, left)) in ONE_PATCH.into_iter().enumerate() {
            let h = loop {
                let h = candidates[rng.random_range(0..candidates.len())];
                if used.insert(h) {
                    break h;
                }
            };
            let Some(d) = self.e.host_runs[h].deployment else {
                continue;
            };
            // The patch held back: one that is not the cumulative update, if any.
            let patch_ids = self.e.deployments[d].patch_ids.clone();
            let Some(patch_id) = patch_ids
                .iter()
                .find(|id| {
                    self.e
                        .patches
                        .iter()
                        .any(|p| &&p.id == id && p.kind != PatchKind::CumulativeUpdate)
                })
                .or(patch_ids.first())
                .cloned()
            else {
                continue;
            };
            let kb = self
                .e
                .patches
                .iter()
                .find(|p| p.id == patch_id)
                .map_or(patch_id.clone(), |p| p.kb.clone());
            let granted_at = self.t - Duration::days(rng.random_range(3..15));
            let granted_by = OPERATORS[(k + 3) % OPERATORS.len()];
            let ticket = format!("CHG-{}", 40_800 + 41 * k);
            self.e.hosts[h].exception = Some(Box::new(Exception {
                owner: owner.into(),
                reason: reason.into(),
                ticket: Some(ticket.clone()),
                expires_at: self.t + Duration::days(left),
                compensating_control: control.into(),
                patch_id: Some(patch_id),
                granted_by: granted_by.into(),
                granted_at: Some(granted_at),
                renewals: Vec::new(),
                lapsed_at: None,
            }));
            self.note(
                h,
                granted_at,
                HostState::Pending,
                format!(
                    "exception by {granted_by} ({ticket}, {kb} only), owned by {owner}: {reason}"
                ),
            );
        }
    }

    /// A line of a host's history at `at`, in time order.
    fn note(
        &mut self,
        h: usize,
        at: chrono::DateTime<chrono::Utc>,
        state: HostState,
        note: String,
    ) {
        let history = &mut self.e.histories[h];
        let place = history.partition_point(|t| t.at <= at);
        history.insert(
            place,
            Transition {
                at,
                state,
                note: Some(note.into()),
            },
        );
    }
}
