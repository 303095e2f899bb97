//! Plans (dry runs): what an action would do, learned by doing it with `act` itself on
//! a scratch copy of the fleet and reading what changed. The plan and the action are
//! one code path, so a plan cannot disagree with what the action then does.

use std::collections::{BTreeMap, BTreeSet};

use crate::backend::{ActError, ActionRequest};
use crate::model::{
    ActionPlan, ActionState, ApprovalPlan, ApprovalStep, HostKind, HostState, Identity, PlanHosts,
    PlanStage, PlanWindow, Skipped, TargetKind, Verb, WindowStatus,
};

use super::Engine;
use super::emergency::EMERGENCY_STAGES;

/// The person a plan imagines as the second approver, to show what the approval that
/// completes the two-person rule would start. Never a real token's person.
const ANOTHER_PERSON: &str = "\u{1}another approver";

impl Engine {
    /// The plan of `request` by `identity`: refused as the action would be (unknown
    /// target, wrong state, missing reason, version mismatch), except that a second
    /// approval by the same person is answered with a plan saying so
    /// ([`ApprovalStep::AlreadyYours`]), so that the first approver learns it before
    /// filling in the form. Changes nothing.
    pub fn plan(
        &self,
        request: &ActionRequest,
        identity: &Identity,
    ) -> Result<ActionPlan, ActError> {
        let first = self.first_approval(request);
        let mut notes = Vec::new();
        // A dialog asks for the plan before its form is filled in: what the form still
        // needs is listed, not a refusal.
        let mut needs = Vec::new();
        let mut request = request.clone();
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        if request.verb.needs_reason() {
            for (name, field) in [
                ("reason", &mut request.reason),
                ("ticket", &mut request.ticket),
            ] {
                if blank(field) {
                    needs.push(name.to_string());
                    *field = Some("(plan)".into());
                }
            }
        }
        // An exception's terms are part of the form too.
        if matches!(request.verb, Verb::Exclude | Verb::Renew) {
            let terms = &mut request.exception;
            if request.verb == Verb::Exclude && blank(&terms.compensating_control) {
                needs.push("compensating_control".into());
                terms.compensating_control = Some("(plan)".into());
            }
            if terms.expires.is_none() {
                needs.push("expires".into());
                terms.expires = Some(crate::model::Expiry::Days(30));
            }
        }
        if request.verb == Verb::Emergency && request.override_reason.is_none() {
            let mut probe = self.clone();
            if let Err(ActError::Invalid(why)) = probe.act(&request, identity)
                && why.contains("override_reason")
            {
                let needed = self
                    .emergency_patch(&request)
                    .ok()
                    .and_then(|p| self.override_needed(p))
                    .unwrap_or(why);
                notes.push(format!("the confirmation needs override_reason: {needed}"));
                needs.push("override_reason".into());
                request.override_reason = Some("(plan)".into());
            }
        }
        let request = &request;
        let mut after = self.clone();
        let mut summary = None;
        let (action, approval) = match after.act(request, identity) {
            Ok(a) if after.actions[a].state == ActionState::AwaitingSecondApprover => {
                let words = after.actions[a].detail.clone().unwrap_or_default();
                summary = Some(words.clone());
                // What the approval of another person would then start (the stages).
                if let Err(why) = after.act(&second_half(request), &another(identity)) {
                    notes.push(format!("the second approval would be refused: {why}"));
                }
                let approval = ApprovalPlan {
                    step: ApprovalStep::First,
                    first_approver: None,
                    first_at: None,
                    words,
                };
                (a, Some(approval))
            }
            Ok(a) => {
                let approval = first.map(|(by, at)| ApprovalPlan {
                    step: ApprovalStep::Completes,
                    words: format!(
                        "{by} approved at {}; yours is the second approval and completes the two-person rule",
                        at.format("%H:%M UTC")
                    ),
                    first_approver: Some(by),
                    first_at: Some(at),
                });
                (a, approval)
            }
            Err(ActError::SecondApproverRequired(why)) => {
                after = self.clone();
                let a = after.act(&second_half(request), &another(identity))?;
                let (by, at) = first.unzip();
                summary = Some(
                    "nothing: another approval of yours is refused; the stages are what another person's approval starts"
                        .into(),
                );
                let approval = ApprovalPlan {
                    step: ApprovalStep::AlreadyYours,
                    first_approver: by,
                    first_at: at,
                    words: why,
                };
                (a, Some(approval))
            }
            Err(why) => return Err(why),
        };
        let summary = summary
            .or_else(|| after.actions[action].detail.clone())
            .unwrap_or_else(|| {
                format!(
                    "{} {}",
                    request.verb.past_tense(),
                    after.actions[action].target_name
                )
            });
        // The expiry was imagined for the plan: say what the form still decides.
        let summary = if needs.iter().any(|n| n == "expires") {
            format!(
                "exception {} until the expiry you give (within the server's cap)",
                if request.verb == Verb::Exclude {
                    "granted"
                } else {
                    "renewed"
                }
            )
        } else {
            summary
        };
        let (target_name, target_version) = self.name_and_version(request);
        let mut plan = ActionPlan {
            verb: request.verb,
            target: request.target.clone(),
            target_name,
            target_version,
            at: self.now,
            summary,
            approval,
            stages: Vec::new(),
            hosts: 0,
            servers: 0,
            reboots: 0,
            reboots_uncertain: false,
            services: Vec::new(),
            restore_required: PlanHosts::default(),
            not_uninstallable: Vec::new(),
            skipped: Vec::new(),
            notes,
            needs,
        };
        let restore: BTreeSet<usize> = after
            .action_runs
            .get(action)
            .map(|run| run.restore_hosts.iter().map(|&h| h as usize).collect())
            .unwrap_or_default();
        plan.restore_required = PlanHosts::of(restore.iter().map(|&h| self.hosts[h].id.as_str()));
        plan.not_uninstallable = after
            .action_runs
            .get(action)
            .map(|run| run.restore_kbs.clone())
            .unwrap_or_default();
        self.read_changes(&after, request, &restore, &mut plan);
        if let Some((d, r)) = self.resumed(request) {
            plan.notes.extend(self.look_alike_warnings(d, r));
        }
        plan.notes.extend(self.coverage_warnings(request));
        Ok(plan)
    }

    /// Who approved first, and when, if `request` would be a second approval.
    fn first_approval(
        &self,
        request: &ActionRequest,
    ) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
        match (request.verb, request.target.kind) {
            (Verb::Approve, TargetKind::Deployment) => {
                let d = self.deployment_index(&request.target.id)?;
                let p = self.deployments[d].pending_approval.as_ref()?;
                Some((p.first_approver.clone(), p.at))
            }
            (Verb::Emergency, TargetKind::Fleet) => {
                let p = self.summary.pending_emergency.as_ref()?;
                Some((p.requested_by.clone(), p.requested_at))
            }
            _ => None,
        }
    }

    fn name_and_version(&self, request: &ActionRequest) -> (String, u64) {
        let id = request.target.id.as_str();
        let found = match request.target.kind {
            TargetKind::Deployment => self.deployment_index(id).map(|d| {
                (
                    self.deployments[d].name.clone(),
                    self.deployments[d].version,
                )
            }),
            TargetKind::Ring => self
                .ring_index(id)
                .map(|r| (self.rings[r].name.clone(), self.rings[r].version)),
            TargetKind::Host => self
                .host_index(id)
                .map(|h| (self.hosts[h].name.to_string(), self.hosts[h].version)),
            TargetKind::Fleet => Some((self.summary.name.clone(), self.summary.version)),
        };
        found.unwrap_or_else(|| (id.to_string(), 0))
    }

    /// Fill the stages, counts, services and skipped hosts of `plan` from what the
    /// action changed between `self` and `after`.
    fn read_changes(
        &self,
        after: &Engine,
        request: &ActionRequest,
        restore: &BTreeSet<usize>,
        plan: &mut ActionPlan,
    ) {
        let mut queued_before: BTreeSet<u32> = BTreeSet::new();
        for run in &self.ring_runs {
            queued_before.extend(run.queue.iter().copied());
        }
        // Rings that start deploying: every host queued there starts.
        let mut queued_now: BTreeSet<u32> = BTreeSet::new();
        for (r, run) in after.ring_runs.iter().enumerate() {
            let opened = self.rings.get(r).is_none_or(|ring| {
                ring.state != after.rings[r].state || self.ring_runs[r].deployment != run.deployment
            });
            for &h in &run.queue {
                if opened || !queued_before.contains(&h) {
                    queued_now.insert(h);
                }
            }
        }
        let mut stages: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut busy = Vec::new();
        for h in 0..self.hosts.len() {
            let (was, now) = (&self.host_runs[h], &after.host_runs[h]);
            let changed = self.hosts[h].state != after.hosts[h].state
                || was.deployment != now.deployment
                || was.uninstall != now.uninstall
                || was.adopt != now.adopt
                || was.stage != now.stage
                || queued_now.contains(&(h as u32));
            if !changed {
                continue;
            }
            if now.adopt.is_some() && was.adopt.is_none() {
                busy.push(h);
            }
            let ring = now.stage.filter(|_| !now.stage_done).unwrap_or(now.home);
            stages.entry(ring).or_default().push(h);
        }
        // New rings (emergency stages) are stages even before a host moves.
        for r in self.rings.len()..after.rings.len() {
            stages.entry(r).or_default();
        }
        let changed_hosts = !stages.is_empty();
        // Only an action that starts work (installs or uninstalls) reboots anything:
        // a pause, a halt, a decline, an exclusion or its renewal stops hosts, whatever
        // they were about to do.
        let starts_work = !matches!(
            request.verb,
            Verb::Pause | Verb::Halt | Verb::Decline | Verb::Exclude | Verb::Renew
        );
        if !changed_hosts {
            // Nothing moves (pause, halt, decline, a ring's resume): the hosts waiting
            // to start in the rings the action stops or starts.
            let mut rings: BTreeSet<usize> = (0..self.rings.len())
                .filter(|&r| self.rings[r].state != after.rings[r].state)
                .collect();
            match request.target.kind {
                TargetKind::Ring => rings.extend(self.ring_index(&request.target.id)),
                TargetKind::Deployment => {
                    if let Some(d) = self.deployment_index(&request.target.id) {
                        rings.extend(self.current_ring(d));
                    }
                }
                TargetKind::Host | TargetKind::Fleet => {}
            }
            for r in rings {
                if request.verb == Verb::Pause && self.ring_runs[r].deployment.is_none() {
                    plan.notes.push(format!(
                        "no deployment is in {} now: it stays paused when its turn comes, until resumed",
                        self.rings[r].name
                    ));
                }
                let waiting = self.ring_runs[r]
                    .queue
                    .iter()
                    .map(|&h| h as usize)
                    .collect();
                stages.insert(r, waiting);
                let members = &self.ring_runs[r].members;
                let under_way = members
                    .iter()
                    .filter(|&&h| self.hosts[h as usize].state.is_in_flight())
                    .count();
                let waiting = self.ring_runs[r].queue.len();
                let verb = request.verb;
                if matches!(verb, Verb::Pause | Verb::Halt | Verb::Decline) {
                    plan.notes.push(format!(
                        "{}: {waiting} hosts waiting to start do not start; {under_way} installs under way finish",
                        self.rings[r].name
                    ));
                } else if verb == Verb::Resume {
                    plan.notes.push(format!(
                        "{}: {waiting} hosts waiting to start start again in open windows",
                        self.rings[r].name
                    ));
                }
            }
        }
        let mut order: Vec<(usize, Vec<usize>)> = stages.into_iter().collect();
        order.sort_by_key(|(r, _)| (after.rings[*r].order, *r));
        let mut services: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
        let mut targeted: BTreeSet<usize> = BTreeSet::new();
        for (r, mut hosts) in order {
            let ring = &after.rings[r];
            if r >= self.rings.len() {
                // An emergency stage: its hosts in the order it patches them.
                hosts = after.ring_runs[r]
                    .members
                    .iter()
                    .map(|&h| h as usize)
                    .collect();
            }
            let mut servers = 0;
            for &h in &hosts {
                let host = &after.hosts[h];
                if host.kind == HostKind::Server {
                    servers += 1;
                    let home = &after.rings[after.host_runs[h].home];
                    if let Some(group) = host
                        .group_id
                        .as_deref()
                        .and_then(|g| home.groups.iter().find(|x| x.id == g))
                    {
                        let tiers = services
                            .entry(format!("{} / {}", group.name, group.service))
                            .or_default();
                        tiers.extend(host.tier.map(|t| t.as_str()));
                    }
                }
                if changed_hosts && starts_work && after.reboots(h) {
                    plan.reboots += 1;
                }
            }
            targeted.extend(hosts.iter().copied());
            plan.hosts += hosts.len() as u32;
            plan.servers += servers;
            plan.stages.push(PlanStage {
                ring_id: ring.id.clone(),
                ring_name: ring.name.clone(),
                hosts: PlanHosts::of(hosts.iter().map(|&h| after.hosts[h].id.as_str())),
                servers,
                window: window(ring, after.now),
            });
        }
        plan.services = services
            .into_iter()
            .map(|(name, tiers)| {
                let tiers: Vec<&str> = tiers.into_iter().collect();
                if tiers.is_empty() {
                    name
                } else {
                    format!("{name} ({})", tiers.join(", "))
                }
            })
            .collect();
        if !busy.is_empty() {
            plan.skipped.push(Skipped {
                reason: "busy: joins once the install under way finishes".into(),
                hosts: PlanHosts::of(busy.iter().map(|&h| self.hosts[h].id.as_str())),
            });
        }
        self.skipped_hosts(after, request, &targeted, restore, plan);
    }

    /// Hosts in scope that the action leaves alone, by state.
    fn skipped_hosts(
        &self,
        after: &Engine,
        request: &ActionRequest,
        targeted: &BTreeSet<usize>,
        restore: &BTreeSet<usize>,
        plan: &mut ActionPlan,
    ) {
        let scope: Vec<usize> = match (request.verb, request.target.kind) {
            (Verb::Rollback, TargetKind::Deployment) => {
                let Some(d) = self.deployment_index(&request.target.id) else {
                    return;
                };
                (0..self.hosts.len())
                    .filter(|&h| self.host_runs[h].deployment == Some(d))
                    .collect()
            }
            (Verb::Rollback, TargetKind::Ring) => {
                let Some(r) = self.ring_index(&request.target.id) else {
                    return;
                };
                self.ring_runs[r]
                    .members
                    .iter()
                    .map(|&h| h as usize)
                    .collect()
            }
            (Verb::Approve, TargetKind::Deployment) => plan
                .stages
                .iter()
                .filter_map(|s| self.ring_index(&s.ring_id))
                .flat_map(|r| self.ring_runs[r].members.iter().map(|&h| h as usize))
                .collect(),
            (Verb::Emergency, _) => (0..self.hosts.len())
                .filter(|&h| self.hosts[h].state == HostState::Excluded)
                .collect(),
            _ => return,
        };
        let mut by_state: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for h in scope {
            if targeted.contains(&h)
                || restore.contains(&h)
                || after.host_runs[h].uninstall.is_some()
            {
                continue;
            }
            by_state
                .entry(self.hosts[h].state.as_str())
                .or_default()
                .push(h);
        }
        for (state, hosts) in by_state {
            plan.skipped.push(Skipped {
                reason: format!("{state}: left as is"),
                hosts: PlanHosts::of(hosts.iter().map(|&h| self.hosts[h].id.as_str())),
            });
        }
        if request.verb == Verb::Emergency && !plan.stages.is_empty() {
            for (slug, name, _) in EMERGENCY_STAGES {
                if !plan.stages.iter().any(|s| s.ring_id.ends_with(slug)) {
                    let name = name.trim_start_matches("Emergency: ");
                    plan.notes.push(if slug == "lookalike" {
                        "no look-alike hosts found: test by hand".to_string()
                    } else {
                        format!("no hosts for the stage {name}")
                    });
                }
            }
        }
    }

    /// Would host `h` reboot for what it was given: installing a patch that needs a
    /// reboot (the rule of `host::finish_install`), or uninstalling one.
    fn reboots(&self, h: usize) -> bool {
        let run = &self.host_runs[h];
        let patches = match (run.uninstall, run.deployment) {
            (Some(a), _) => self.action_runs[a].patches.clone().or_else(|| {
                run.deployment
                    .map(|d| self.deployments[d].patch_ids.clone())
            }),
            (None, Some(d)) => Some(self.deployments[d].patch_ids.clone()),
            (None, None) => None,
        };
        patches.unwrap_or_default().iter().any(|id| {
            (run.uninstall.is_none() || self.hosts[h].has_installed(id))
                && self
                    .patches
                    .iter()
                    .any(|p| &p.id == id && p.reboot_required)
        })
    }
}

fn window(ring: &crate::model::Ring, now: chrono::DateTime<chrono::Utc>) -> PlanWindow {
    let always = ring.window.days.is_empty() && ring.window.duration_minutes >= 24 * 60;
    match ring.window.status(now) {
        WindowStatus::Open { closes_at } => PlanWindow {
            always,
            open_now: true,
            closes_at: (!always).then_some(closes_at),
            opens_at: None,
        },
        WindowStatus::Closed { opens_at } => PlanWindow {
            always,
            open_now: false,
            closes_at: None,
            opens_at: Some(opens_at),
        },
    }
}

/// The request as the second approver would send it: any version, and for an
/// emergency that needs one, some override reason (the plan only shows the stages).
fn second_half(request: &ActionRequest) -> ActionRequest {
    ActionRequest {
        if_match: None,
        override_reason: request
            .override_reason
            .clone()
            .or_else(|| Some("(plan)".into())),
        ..request.clone()
    }
}

fn another(identity: &Identity) -> Identity {
    Identity {
        name: ANOTHER_PERSON.into(),
        role: identity.role,
        person: ANOTHER_PERSON.into(),
    }
}
