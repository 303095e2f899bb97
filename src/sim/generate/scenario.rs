//! The story at start: deployments, exceptions, Test and Pilot's history, and the
//! servers mid-reboot, per scenario.

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::Rng;

use crate::model::{
    Approval, Deployment, DeploymentState, Exception, Failure, GateMode, GateState, HostCounts,
    HostKind, HostState, Interned, PatchList, Renewal, RingState, Transition,
};
use crate::sim::Scenario;
use crate::sim::engine::{Applies, DeploymentRun, Fault};

use super::{BAD_MODEL, Builder, NONPROD, PILOT, PROD, TEST, previous_month, second_tuesday};

pub(super) const OPERATORS: [&str; 4] = ["j.okafor", "m.garcia", "a.lindqvist", "s.tanaka"];

/// Exceptions as a patch manager meets them: owner (a team or a person), reason,
/// compensating control.
pub(super) const EXCEPTIONS: [(&str, &str, &str); 6] = [
    (
        "lab-it@contoso.example",
        "Legacy lab instrument software breaks with this month's cumulative update; vendor fix due next quarter",
        "Isolated on the lab VLAN, no internet egress, EDR in block mode",
    ),
    (
        "trading-it@contoso.example",
        "Trading plug-in certified only for last month's build",
        "Application allow-listing; weekly vulnerability scan; no e-mail client",
    ),
    (
        "imaging@contoso.example",
        "Medical imaging viewer validated only on the current build",
        "Kiosk mode, no local admin, network restricted to the PACS servers",
    ),
    (
        "p.nakamura (Finance systems)",
        "Quarter-end close: the ledger client must not change until the books are closed",
        "Host firewall limits inbound to the ERP subnet; daily EDR scan reviewed by the SOC",
    ),
    (
        "plant-ot@contoso.example",
        "Line controller HMI: the vendor supports only the certified OS build",
        "Behind the OT firewall, USB disabled, remote access only through the jump host",
    ),
    (
        "e.brennan (Legal)",
        "e-Discovery hold: the workstation image is preserved until the case is closed",
        "Offline except for the review VLAN; full-disk encryption; access logged",
    ),
];

/// Fleet time from the start until the first exceptions lapse (k = 0, 1): within the
/// first minutes of a demo at speed 60, so that the expiry is seen.
const EXPIRES_SOON_MINUTES: [i64; 2] = [40, 150];
/// The third exception is near its expiry at the start.
const NEAR_EXPIRY_HOURS: i64 = 4 * 24 + 5;

impl Builder {
    pub(super) fn deployment(
        &mut self,
        name: String,
        patch_ids: Vec<String>,
        rings: &[usize],
        created_at: DateTime<Utc>,
        created_by: &str,
        state: DeploymentState,
    ) -> usize {
        let d = self.e.deployments.len();
        self.e.deployments.push(Deployment {
            id: format!("dep-{:04}", d + 1),
            name,
            patch_ids,
            rings: rings.iter().map(|&r| self.e.rings[r].id.clone()).collect(),
            current_ring: None,
            next_ring: None,
            state,
            state_reason: None,
            emergency: false,
            approvals: Vec::new(),
            pending_approval: None,
            counts: HostCounts::default(),
            rate_per_hour: 0.0,
            eta: None,
            created_at,
            created_by: created_by.into(),
            requested_state: None,
            as_of: None,
            limits: None,
            version: 1,
        });
        self.e.deployment_runs.push(DeploymentRun::default());
        d
    }

    pub(super) fn deployments(&mut self, pt: DateTime<Utc>) {
        let (py, pm) = previous_month(pt.year(), pt.month());
        let prev_pt = second_tuesday(py, pm);
        let all: Vec<usize> = (0..self.e.rings.len()).collect();
        let prev = self.deployment(
            format!("{} Patch Tuesday", prev_pt.format("%Y-%m")),
            vec![self.e.patches[0].id.clone()],
            &all,
            prev_pt + Duration::hours(2),
            OPERATORS[1],
            DeploymentState::Completed,
        );
        let total = self.e.hosts.len() as u32;
        let dep = &mut self.e.deployments[prev];
        dep.counts = HostCounts {
            total,
            succeeded: total,
            ..HostCounts::default()
        };
        for (i, ring) in self.e.rings.iter().enumerate() {
            dep.approvals.push(Approval {
                ring_id: ring.id.clone(),
                by: if ring.gate.mode == GateMode::Automatic && i > 0 {
                    "system".into()
                } else {
                    OPERATORS[i % OPERATORS.len()].into()
                },
                at: prev_pt + Duration::hours(2 + 36 * i as i64),
            });
        }
        let month = pt.format("%Y-%m").to_string();
        let ws_patches: Vec<String> = self.e.patches[1..6].iter().map(|p| p.id.clone()).collect();
        let srv_patches: Vec<String> = self.e.patches[1..3].iter().map(|p| p.id.clone()).collect();
        let created = self.timeline().0 - Duration::hours(2);
        self.deployment(
            format!("{month} Patch Tuesday"),
            ws_patches,
            &[TEST, PILOT, 2, 3, 4],
            created,
            OPERATORS[0],
            DeploymentState::Running,
        );
        self.deployment(
            format!("{month} Patch Tuesday: servers"),
            srv_patches,
            &[NONPROD, PROD],
            created,
            OPERATORS[0],
            DeploymentState::AwaitingApproval,
        );
    }

    /// When Test opened and when Pilot's installs finished.
    pub(super) fn timeline(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.e.scenario {
            // Test soaks until T; Pilot opens at T.
            Scenario::BadPatch => (self.t - Duration::hours(28), self.t + Duration::days(10)),
            // Pilot's three-day soak ends 20 minutes after T.
            Scenario::PatchTuesday | Scenario::ZeroDay => (
                self.t - Duration::hours(4 * 24 + 14),
                self.t - Duration::days(3) + Duration::minutes(20),
            ),
        }
    }

    /// Write a finished lifecycle into a host's history, starting at `at`.
    pub(super) fn walk(
        &mut self,
        h: usize,
        at: DateTime<Utc>,
        outcome: Option<(&str, &str, String)>,
    ) -> DateTime<Utc> {
        let mut at = at;
        let mut steps = vec![HostState::Downloading, HostState::Installing];
        if outcome.is_none() {
            steps.extend([
                HostState::PendingReboot,
                HostState::Rebooting,
                HostState::Verifying,
                HostState::Succeeded,
            ]);
        }
        for state in steps {
            self.e.histories[h].push(Transition {
                at,
                state,
                note: None,
            });
            let minutes = self.rng().random_range(2..12);
            at += Duration::minutes(minutes);
        }
        if let Some((code, message, patch_id)) = outcome {
            let kb = self
                .e
                .patches
                .iter()
                .find(|p| p.id == patch_id)
                .map(|p| p.kb.clone())
                .unwrap_or_default();
            self.e.histories[h].push(Transition {
                at,
                state: HostState::Failed,
                note: Some(format!("{kb}: {code}").into()),
            });
            self.e.hosts[h].failure = Some(Box::new(Failure {
                code: code.into(),
                message: message.into(),
                patch_id: Some(patch_id.into()),
                at,
            }));
            self.e.hosts[h].state = HostState::Failed;
        } else {
            self.e.hosts[h].state = HostState::Succeeded;
        }
        self.e.hosts[h].last_seen = at;
        self.e.hosts[h].updated_at = at;
        at
    }

    pub(super) fn start_state(&mut self) {
        let ws_dep = 1;
        let srv_dep = 2;
        let (test_open, pilot_done) = self.timeline();
        let created = self.e.deployments[ws_dep].created_at;
        // Exceptions: about 0.3% of wave and production hosts, at least one.
        let candidates: Vec<usize> = (0..self.e.hosts.len())
            .filter(|&h| matches!(self.e.host_runs[h].home, 2..=4 | PROD))
            .collect();
        let wanted = (candidates.len() * 3 / 1000).max(1);
        let mut excluded = std::collections::BTreeSet::new();
        while excluded.len() < wanted.min(candidates.len()) {
            let i = self.rng().random_range(0..candidates.len());
            excluded.insert(candidates[i]);
        }
        for (k, &h) in excluded.iter().enumerate() {
            let (owner, reason, control) = EXCEPTIONS[k % EXCEPTIONS.len()];
            // Drawn for every exception, so that the rest of the story stays as it was.
            let days = self.rng().random_range(20..90);
            let expires_at = match k {
                0 | 1 => self.t + Duration::minutes(EXPIRES_SOON_MINUTES[k]),
                2 => self.t + Duration::hours(NEAR_EXPIRY_HOURS),
                _ => self.t + Duration::days(days),
            };
            let granted_at = created - Duration::days(20);
            let granted_by = OPERATORS[(k + 2) % OPERATORS.len()];
            let ticket = format!("CHG-{}", 40_000 + 37 * k);
            // The second one was renewed once already (a month ago it was due).
            let renewals = if k == 1 {
                vec![Renewal {
                    at: granted_at + Duration::days(12),
                    by: OPERATORS[0].into(),
                    reason: "Vendor fix slipped to next month; control re-checked".into(),
                    ticket: Some(format!("CHG-{}", 40_500 + 37 * k)),
                    from: granted_at + Duration::days(14),
                    expires_at,
                }]
            } else {
                Vec::new()
            };
            self.e.hosts[h].state = HostState::Excluded;
            self.e.hosts[h].exception = Some(Box::new(Exception {
                owner: owner.into(),
                reason: reason.into(),
                ticket: Some(ticket.clone()),
                expires_at,
                compensating_control: control.into(),
                patch_id: None,
                granted_by: granted_by.into(),
                granted_at: Some(granted_at),
                renewals,
                lapsed_at: None,
            }));
            self.e.histories[h].push(Transition {
                at: granted_at,
                state: HostState::Excluded,
                note: Some(
                    format!("exception by {granted_by} ({ticket}), owned by {owner}: {reason}")
                        .into(),
                ),
            });
        }
        // Every other host is targeted by this month's deployments.
        for h in 0..self.e.hosts.len() {
            if excluded.contains(&h) {
                continue;
            }
            let d = if self.e.hosts[h].kind == HostKind::Server {
                srv_dep
            } else {
                ws_dep
            };
            self.e.host_runs[h].deployment = Some(d);
            self.e.hosts[h].deployment_id = Some(self.e.deployments[d].id.as_str().into());
            let note = format!("targeted by {}", self.e.deployments[d].name);
            self.e.histories[h].push(Transition {
                at: created,
                state: HostState::Pending,
                note: Some(note.into()),
            });
            let seen = self.rng().random_range(0..900);
            self.e.hosts[h].last_seen = self.t - Duration::seconds(seen);
        }
        let ws_patches = self.e.deployments[ws_dep].patch_ids.clone();
        // Test: every host succeeded within three hours of opening.
        let test_members = self.e.ring_runs[TEST].members.clone();
        for &h in &test_members {
            let start = test_open + Duration::minutes(self.rng().random_range(1..60));
            self.walk(h as usize, start, None);
            self.grant(h as usize, &ws_patches);
        }
        let test_done = test_open + Duration::hours(4);
        self.e.rings[TEST].soak_ends_at = Some(test_done + Duration::days(1));
        let ws_name = self.e.deployments[ws_dep].name.clone();
        self.e.deployments[ws_dep].approvals.push(Approval {
            ring_id: "test".into(),
            by: OPERATORS[0].into(),
            at: test_open,
        });
        if self.e.scenario == Scenario::BadPatch {
            // Test soaks until T; the automatic gate opens Pilot at T.
            self.e.rings[TEST].soak_ends_at = Some(self.t);
            self.e.rings[TEST].state = RingState::Soaking;
            self.e.rings[TEST].gate.state = GateState::Soaking;
            self.e.deployments[ws_dep].current_ring = Some("test".into());
            let cu = self.e.patches[1].id.clone();
            self.e.faults.push(Fault {
                deployment: ws_dep,
                model: BAD_MODEL.into(),
                patch_id: cu,
                code: "0x800f0922",
                message: "CBS_E_INSTALLERS_FAILED: the update could not be installed because the system reserved partition is full",
            });
        } else {
            self.e.rings[TEST].state = RingState::Done;
            self.e.rings[TEST].gate.state = GateState::Passed;
            let pilot_open = test_done + Duration::days(1);
            self.e.deployments[ws_dep].approvals.push(Approval {
                ring_id: "pilot".into(),
                by: "system".into(),
                at: pilot_open,
            });
            self.pilot_finished(pilot_open, pilot_done, &ws_patches);
            self.e.deployments[ws_dep].current_ring = Some("pilot".into());
            self.e.ring_runs[PILOT].deployment = Some(ws_dep);
        }
        self.e.ring_runs[TEST].deployment = Some(ws_dep);
        let _ = ws_name;
        // Servers: the non-production ring is approved 20 minutes before T.
        self.e.deployments[srv_dep].next_ring = Some("servers-nonprod".into());
        self.count();
        self.e.now = self.t - Duration::minutes(20);
        // Opened by an approver before this server's life: in the deployment's
        // approvals, not in the audit trail (which starts empty).
        self.e.open_ring(srv_dep, NONPROD, OPERATORS[2]);
        while self.e.now < self.t {
            self.e.step();
        }
        self.e.flush();
        self.e.discard_changes();
        // The start state is version 1 everywhere; what happened before is history.
        for host in &mut self.e.hosts {
            host.version = 1;
        }
        for ring in &mut self.e.rings {
            ring.version = 1;
        }
        for dep in &mut self.e.deployments {
            dep.version = 1;
        }
        for action in self.e.actions.iter_mut() {
            action.version = 1;
        }
        self.e.summary.version = 1;
    }

    pub(super) fn grant(&mut self, h: usize, patch_ids: &[String]) {
        let host = &self.e.hosts[h];
        let granted: Vec<Interned> = patch_ids
            .iter()
            .filter(|id| {
                let Some(p) = self.e.patches.iter().position(|p| &p.id == *id) else {
                    return false;
                };
                match &self.e.applies[p] {
                    Applies::All => true,
                    Applies::Workstations => host.kind == HostKind::Workstation,
                    Applies::ModelPrefix(prefix) => host.model.starts_with(prefix.as_str()),
                }
            })
            .map(|id| Interned::from(id.as_str()))
            .collect();
        let all: Vec<Interned> = self.e.hosts[h]
            .installed
            .iter()
            .cloned()
            .chain(granted)
            .collect();
        self.e.hosts[h].installed = PatchList::new(&all);
    }

    /// Pilot finished installing at `done`: most hosts succeeded, a few failed with two
    /// or three codes, a few roaming laptops were offline; its soak runs.
    pub(super) fn pilot_finished(
        &mut self,
        open: DateTime<Utc>,
        done: DateTime<Utc>,
        patches: &[String],
    ) {
        let members: Vec<usize> = self.e.ring_runs[PILOT]
            .members
            .iter()
            .map(|&h| h as usize)
            .collect();
        let size = members.len();
        let offline_budget = if size >= 40 { size * 15 / 1000 + 1 } else { 0 };
        let reachable = size - offline_budget;
        let failures = if size >= 10 {
            (size * 3 / 100).max(2).min(reachable * 4 / 100)
        } else {
            0
        };
        let codes = &crate::sim::engine::FAILURE_CODES[..3];
        let cu = self.e.patches[1].id.clone();
        let span = (done - open).num_minutes().max(60);
        let mut offline = 0;
        let mut failed = 0;
        for (k, &h) in members.iter().enumerate() {
            let start = open + Duration::minutes(self.rng().random_range(0..span - 50));
            if offline < offline_budget && self.e.hosts[h].roaming {
                offline += 1;
                let away = self.rng().random_range(1..4);
                self.e.hosts[h].state = HostState::Offline;
                self.e.hosts[h].last_seen = open - Duration::days(away);
                self.e.histories[h].push(Transition {
                    at: start,
                    state: HostState::Offline,
                    note: Some("not reachable".into()),
                });
                let back = self.rng().random_range(3600..2 * 86_400);
                self.e.arm_at(h, self.t + Duration::seconds(back));
                continue;
            }
            // Spread the failures over the ring, by the first three codes.
            if failed < failures && k % (size / failures.max(1)).max(1) == 0 {
                let (code, message, _) = codes[failed % codes.len()];
                failed += 1;
                self.walk(h, start, Some((code, message, cu.clone())));
                // Patches before the cumulative update were installed.
                let before: Vec<String> = patches.iter().filter(|id| **id != cu).cloned().collect();
                self.grant(h, &before);
                continue;
            }
            self.walk(h, start, None);
            self.grant(h, patches);
        }
        let ring = &mut self.e.rings[PILOT];
        ring.state = RingState::Soaking;
        ring.gate.state = GateState::Soaking;
        ring.soak_ends_at = Some(done + Duration::days(3));
    }

    /// Compute every count from the hosts once.
    pub(super) fn count(&mut self) {
        let e = &mut self.e;
        for ring in &mut e.rings {
            ring.counts = HostCounts::default();
        }
        for d in 1..e.deployments.len() {
            e.deployments[d].counts = HostCounts::default();
        }
        e.summary.counts = HostCounts::default();
        for (h, host) in e.hosts.iter().enumerate() {
            let run = &e.host_runs[h];
            e.rings[run.home].counts.add(host.state);
            if let Some(d) = run.deployment {
                e.deployments[d].counts.add(host.state);
            }
            e.summary.counts.add(host.state);
        }
    }
}
