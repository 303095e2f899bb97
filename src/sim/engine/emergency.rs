//! Emergency deployments: staging the targets, taking hosts over from their monthly
//! deployment, and handing them back.

use std::collections::{BTreeMap, BTreeSet};

use crate::backend::{ActError, ActionRequest};
use crate::model::{
    Criticality, Deployment, DeploymentState, Emergency, Gate, GateMode, GateState, Host,
    HostCounts, HostKind, HostState, MaintenanceWindow, Ring, RingKind, RingState, Verb,
};

use super::act::Scope;
use super::{Applies, DeploymentRun, Engine, RingRun};

/// The stages of an emergency, in order: ring id suffix, name, soak seconds. A stage
/// without hosts gets no ring.
pub(super) const EMERGENCY_STAGES: [(&str, &str, u64); 4] = [
    ("lookalike", "Emergency: look-alike test", 900),
    ("exposed", "Emergency: exposed and mission-critical", 600),
    ("high", "Emergency: high criticality", 600),
    ("remaining", "Emergency: everyone else", 0),
];

impl Engine {
    /// The patch an emergency request names (by id or KB, or by the CVE it fixes).
    pub(super) fn emergency_patch(&self, request: &ActionRequest) -> Result<usize, ActError> {
        match (&request.patch_id, &request.cve) {
            (Some(id), _) => self
                .patches
                .iter()
                .position(|p| p.id.eq_ignore_ascii_case(id) || p.kb.eq_ignore_ascii_case(id))
                .ok_or_else(|| ActError::NotFound(format!("patch {id}"))),
            (None, Some(cve)) => self
                .patches
                .iter()
                .rposition(|p| {
                    p.cves
                        .iter()
                        .chain(&p.exploited_cves)
                        .any(|c| c.eq_ignore_ascii_case(cve))
                })
                .ok_or_else(|| ActError::NotFound(format!("a patch fixing {cve}"))),
            (None, None) => Err(ActError::Invalid(
                "an emergency needs the patch_id or the cve to expedite".into(),
            )),
        }
    }

    /// Hosts an emergency of patch `p` would install it on; refused when there are none.
    pub(super) fn emergency_targets(&self, p: usize) -> Result<Vec<usize>, ActError> {
        let patch = &self.patches[p];
        let targets: Vec<usize> = (0..self.hosts.len())
            .filter(|&h| {
                self.hosts[h].state != HostState::Excluded
                    && !self.hosts[h].has_installed(&patch.id)
                    && match &self.applies[p] {
                        Applies::All => true,
                        Applies::Workstations => self.hosts[h].kind == HostKind::Workstation,
                        Applies::ModelPrefix(prefix) => {
                            self.hosts[h].model.starts_with(prefix.as_str())
                        }
                    }
            })
            .collect();
        if targets.is_empty() {
            return Err(ActError::Conflict(format!(
                "{} is already installed on every host it applies to",
                patch.kb
            )));
        }
        Ok(targets)
    }

    /// Start an emergency deployment of patch `p` on `targets` (see
    /// `Engine::emergency` for who may). Targets, in order: a small look-alike test
    /// group (hosts of the same models and tiers as the exposed and mission-critical
    /// ones, themselves low-risk), then exposed and mission-critical hosts, then high
    /// criticality, then everyone else by criticality. Each stage is a ring with a
    /// short automatic gate; maintenance windows and user deferrals are overridden.
    /// Hosts busy with another deployment are taken over when their current work
    /// finishes. `started` is the emergency as requested (by the first approver);
    /// `actor` starts it now.
    pub(super) fn start_emergency(
        &mut self,
        p: usize,
        targets: Vec<usize>,
        started: Emergency,
        request: &ActionRequest,
        actor: &str,
    ) -> usize {
        let patch = self.patches[p].clone();
        let cve = started.cve.clone();
        let stages = emergency_stages(&self.hosts, &targets);
        let d = self.deployments.len();
        let number = d + 1;
        let dep_id = format!("dep-{number:04}");
        let stage_names = EMERGENCY_STAGES;
        let mut ring_ids = Vec::new();
        let mut stage_rings = Vec::new();
        let base_order = self.rings.iter().map(|r| r.order).max().unwrap_or(0) + 1;
        for (i, ((slug, name, soak), members)) in stage_names.iter().zip(&stages).enumerate() {
            if members.is_empty() {
                continue;
            }
            let r = self.rings.len();
            let servers = members
                .iter()
                .filter(|&&h| self.hosts[h].kind == HostKind::Server)
                .count();
            let id = format!("emergency-{number}-{slug}");
            self.rings.push(Ring {
                id: id.clone(),
                name: (*name).to_string(),
                order: base_order + i as u32,
                kind: if servers * 2 > members.len() {
                    RingKind::Servers
                } else {
                    RingKind::Workstations
                },
                site: None,
                production: false,
                state: RingState::Waiting,
                gate: Gate {
                    mode: GateMode::Automatic,
                    success_threshold_pct: 90,
                    failure_threshold_pct: 10,
                    min_soak_secs: *soak,
                    state: GateState::NotReached,
                    blocked_reason: None,
                },
                window: MaintenanceWindow::always("UTC", 0),
                soak_ends_at: None,
                state_reason: Some("emergency: maintenance windows overridden".into()),
                groups: Default::default(),
                counts: HostCounts::default(),
                as_of: None,
                version: 0,
            });
            self.ring_runs.push(RingRun {
                members: members.iter().map(|&h| h as u32).collect(),
                ..RingRun::default()
            });
            self.dirty.rings.insert(r);
            ring_ids.push(id);
            stage_rings.push(r);
        }
        let name = format!("Emergency: {} ({cve})", patch.kb);
        self.deployments.push(Deployment {
            id: dep_id.clone(),
            name: name.clone(),
            patch_ids: vec![patch.id.clone()],
            rings: ring_ids,
            current_ring: None,
            next_ring: None,
            state: DeploymentState::Running,
            state_reason: None,
            emergency: true,
            approvals: Vec::new(),
            pending_approval: None,
            counts: HostCounts::default(),
            rate_per_hour: 0.0,
            eta: None,
            created_at: self.now,
            created_by: started.started_by.clone(),
            requested_state: None,
            as_of: None,
            limits: None,
            version: 0,
        });
        self.deployment_runs.push(DeploymentRun::default());
        self.dirty.deployments.insert(d);
        let mut busy = 0;
        for &r in &stage_rings {
            let members = self.ring_runs[r].members.clone();
            for h in members {
                let h = h as usize;
                let state = self.hosts[h].state;
                if let Some(old) = self.host_runs[h].stage
                    && !self.host_runs[h].stage_done
                {
                    self.ring_runs[old].away.add(state);
                }
                self.host_runs[h].stage = Some(r);
                self.host_runs[h].stage_done = false;
                self.rings[r].counts.add(state);
                if self.hosts[h].state.is_in_flight() || self.host_runs[h].uninstall.is_some() {
                    self.host_runs[h].adopt = Some(d);
                    busy += 1;
                } else {
                    self.adopt(h, d);
                }
            }
        }
        self.summary.emergency = Some(Emergency {
            deployment_id: dep_id,
            started_at: self.now,
            ..started
        });
        self.dirty.summary = true;
        self.open_ring(d, stage_rings[0], actor);
        let sizes: Vec<String> = stage_rings
            .iter()
            .map(|&r| {
                format!(
                    "{} {}",
                    self.rings[r].name.trim_start_matches("Emergency: "),
                    self.ring_runs[r].members.len()
                )
            })
            .collect();
        let mut detail = format!("{} hosts in stages: {}", targets.len(), sizes.join(", "));
        if busy > 0 {
            detail.push_str(&format!(
                "; {busy} busy hosts join when their current install finishes"
            ));
        }
        self.done(Verb::Emergency, Scope::Fleet, request, actor, Some(detail))
    }

    /// An emergency deployment takes a host over: it becomes pending for the emergency.
    /// The deployment it came from keeps counting it as it was, and gets it back once
    /// the emergency patch is installed.
    pub(super) fn adopt(&mut self, h: usize, e: usize) {
        let state = self.hosts[h].state;
        match self.host_runs[h].deployment {
            Some(old) if !self.deployments[old].emergency && old != e => {
                self.host_runs[h].away_from = Some((old, state));
                self.deployment_runs[old].away.add(state);
                self.host_runs[h].deployment = None;
                let home = &mut self.ring_runs[self.host_runs[h].home];
                home.lent.add(state);
                home.lent_before.add(state);
            }
            _ => self.set_deployment(h, None),
        }
        self.set_deployment(h, Some(e));
        self.hosts[h].failure = None;
        self.hosts[h].deferred_until = None;
        if self.hosts[h].state == HostState::Offline {
            return;
        }
        self.disarm(h);
        let note = format!("taken over by {}", self.deployments[e].name);
        self.set_state(h, HostState::Pending, Some(note));
        self.enqueue_front(h);
    }

    /// The emergency installed its patch on a host: the emergency's deployment and stage
    /// keep its final state as their report, and the host goes back to the deployment it
    /// was taken from (succeeded there if it had succeeded, else pending again).
    pub(super) fn return_home(&mut self, h: usize) {
        let Some(e) = self.host_runs[h].deployment else {
            return;
        };
        if !self.deployments[e].emergency {
            return;
        }
        let state = self.hosts[h].state;
        self.deployment_runs[e].away.add(state);
        if let Some(stage) = self.host_runs[h].stage
            && !self.host_runs[h].stage_done
        {
            self.ring_runs[stage].away.add(state);
            self.host_runs[h].stage_done = true;
        }
        let Some((d, before)) = self.host_runs[h].away_from.take() else {
            // Nowhere to go back to: the host stays with the emergency.
            self.deployment_runs[e].away.remove(state);
            return;
        };
        self.deployment_runs[d].away.remove(before);
        let home = &mut self.ring_runs[self.host_runs[h].home];
        home.lent.remove(state);
        home.lent_before.remove(before);
        let restored = if before == HostState::Succeeded {
            HostState::Succeeded
        } else {
            HostState::Pending
        };
        if restored != before {
            self.deployments[d].counts.remove(before);
            self.deployments[d].counts.add(restored);
            self.dirty.deployments.insert(d);
        }
        // Neither deployment's counts follow the host during the move.
        self.host_runs[h].deployment = None;
        let note = format!("back to {}", self.deployments[d].name);
        self.set_state(h, restored, Some(note));
        self.host_runs[h].deployment = Some(d);
        self.hosts[h].deployment_id = Some(self.deployments[d].id.as_str().into());
        if restored == HostState::Pending {
            self.enqueue_front(h);
        }
    }
}

/// Split emergency targets into the four stages (see `Engine::emergency`). A server
/// patching group moves as one, in the stage of its most urgent member, so that it can
/// reboot in order; look-alike servers come as whole groups without urgent members.
fn emergency_stages(hosts: &[Host], targets: &[usize]) -> [Vec<usize>; 4] {
    let priority = |h: &Host| h.exposed || h.criticality == Criticality::MissionCritical;
    let profile = |h: &Host| (h.model.clone(), h.tier, h.kind == HostKind::Server);
    let wanted: BTreeSet<_> = targets
        .iter()
        .map(|&h| &hosts[h])
        .filter(|h| priority(h))
        .map(profile)
        .collect();
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &h in targets {
        if let Some(g) = hosts[h].group_id.as_deref() {
            members.entry(g).or_default().push(h);
        }
    }
    let urgent_groups: BTreeSet<&str> = members
        .iter()
        .filter(|(_, list)| list.iter().any(|&h| priority(&hosts[h])))
        .map(|(g, _)| *g)
        .collect();
    let lookalike_size = (targets.len() / 100).clamp(3, 50);
    let candidates: Vec<usize> = targets
        .iter()
        .copied()
        .filter(|&h| {
            let host = &hosts[h];
            !priority(host)
                && matches!(host.criticality, Criticality::Low | Criticality::Medium)
                && !host.roaming
                && host
                    .group_id
                    .as_deref()
                    .is_none_or(|g| !urgent_groups.contains(g))
                && wanted.contains(&profile(host))
        })
        .collect();
    // Round-robin over profiles so every kind of important host has a twin tested.
    let mut lookalike: BTreeSet<usize> = BTreeSet::new();
    let mut per_profile: BTreeMap<_, usize> = BTreeMap::new();
    for round in 0..20 {
        let before = lookalike.len();
        for &h in &candidates {
            if lookalike.contains(&h) {
                continue;
            }
            let count = per_profile.entry(profile(&hosts[h])).or_default();
            if *count != round {
                continue;
            }
            let unit = match hosts[h].group_id.as_deref() {
                Some(g) => members[g].clone(),
                None => vec![h],
            };
            if lookalike.len() + unit.len() <= lookalike_size {
                *count += 1;
                lookalike.extend(unit);
            }
        }
        if lookalike.len() == before || lookalike.len() >= lookalike_size {
            break;
        }
    }
    let base = |h: usize| -> usize {
        let host = &hosts[h];
        if lookalike.contains(&h) {
            0
        } else if priority(host) {
            1
        } else if host.criticality == Criticality::High {
            2
        } else {
            3
        }
    };
    let group_stage: BTreeMap<&str, usize> = members
        .iter()
        .map(|(g, list)| (*g, list.iter().map(|&h| base(h)).min().unwrap_or(3)))
        .collect();
    let mut stages: [Vec<usize>; 4] = Default::default();
    for &h in targets {
        let stage = match hosts[h].group_id.as_deref() {
            Some(g) => group_stage[g],
            None => base(h),
        };
        stages[stage].push(h);
    }
    let group_of = |h: usize| hosts[h].group_id.clone();
    stages[1].sort_by_key(|&h| (!hosts[h].exposed, hosts[h].criticality, group_of(h), h));
    stages[3].sort_by_key(|&h| (hosts[h].criticality, group_of(h), h));
    stages
}
