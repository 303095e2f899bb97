//! The two-person emergency: one approver requests it, a second person confirms it
//! (the same `emergency` naming the same patch) before the request expires. Only a
//! patch that fixes a known exploited CVE is expedited as is; any other, and a halted
//! patch that cannot be uninstalled, needs the confirmer's override reason.

use chrono::Duration;

use crate::backend::{ActError, ActionRequest};
use crate::model::{
    ActionState, DeploymentState, EMERGENCY_REQUEST_TTL_SECS, Emergency, Identity,
    PendingEmergency, Verb,
};

use super::Engine;
use super::act::{Record, Scope};
use super::approve::another_person;

/// Longest override reason kept (as for reasons).
const MAX_OVERRIDE_CHARS: usize = 500;

impl Engine {
    /// `emergency` on the fleet:
    /// - nothing pending: records the request (action awaiting-second-approver, shown
    ///   as `summary.pending_emergency` until it is confirmed or expires);
    /// - pending for the same patch: the same person is refused; another person starts
    ///   the emergency, giving `override_reason` when the request needs one;
    /// - pending for another patch: refused until that request is confirmed or expires.
    ///
    /// On a fleet without the two-person rule one approver starts it at once (the
    /// override reason is still needed where it would be).
    pub(super) fn emergency(
        &mut self,
        request: &ActionRequest,
        actor: &Identity,
    ) -> Result<usize, ActError> {
        if !self.summary.capabilities.emergency {
            return Err(ActError::Unsupported(
                "this fleet has no emergency deployments".into(),
            ));
        }
        if let Some(e) = &self.summary.emergency {
            return Err(ActError::Conflict(format!(
                "emergency deployment {} is already running",
                e.deployment_id
            )));
        }
        let p = self.emergency_patch(request)?;
        let (patch_id, kb) = (self.patches[p].id.clone(), self.patches[p].kb.clone());
        if let Some(pending) = &self.summary.pending_emergency
            && pending.patch_id != patch_id
        {
            return Err(ActError::Conflict(format!(
                "{} asked for an emergency of {} ({}) until {}: confirm that request \
                 (patch_id {}) or let it expire before asking for {}",
                pending.requested_by,
                pending.kb,
                pending.cve,
                pending.expires_at.format("%H:%M UTC"),
                pending.patch_id,
                kb
            )));
        }
        let targets = self.emergency_targets(p)?;
        let Some(pending) = self.summary.pending_emergency.clone() else {
            if !self.summary.capabilities.two_person_rule {
                let override_reason = self.check_override(p, request)?;
                let started = Emergency {
                    deployment_id: String::new(),
                    cve: cve_of(request, &self.patches[p]),
                    patch_id,
                    started_by: actor.name.clone(),
                    started_at: self.now,
                    reason: request.reason.clone().unwrap_or_default(),
                    ticket: request.ticket.clone().unwrap_or_default(),
                    confirmed_by: String::new(),
                    override_reason,
                };
                return Ok(self.start_emergency(p, targets, started, request, &actor.name));
            }
            return Ok(self.request_emergency(p, request, actor));
        };
        another_person(
            &pending.person,
            &pending.requested_by,
            actor,
            &format!("the emergency of {}", pending.kb),
        )?;
        let override_reason = self.check_override(p, request)?;
        let started = Emergency {
            deployment_id: String::new(),
            cve: pending.cve.clone(),
            patch_id: pending.patch_id.clone(),
            started_by: pending.requested_by.clone(),
            started_at: self.now,
            reason: pending.reason.clone(),
            ticket: pending.ticket.clone(),
            confirmed_by: actor.name.clone(),
            override_reason: override_reason.clone(),
        };
        self.summary.pending_emergency = None;
        self.dirty.summary = true;
        let overridden = override_reason
            .as_deref()
            .map(|why| format!("; override: {why}"))
            .unwrap_or_default();
        if let Some(first) = self.emergency_request.take() {
            let action = &mut self.actions[first];
            action.state = ActionState::Succeeded;
            action.finished_at = Some(self.now);
            action.detail = Some(format!(
                "started after confirmation by {}{overridden}",
                actor.name
            ));
            self.dirty.actions.insert(first);
        }
        let a = self.start_emergency(p, targets, started, request, &actor.name);
        let detail = self.actions[a].detail.take().unwrap_or_default();
        self.actions[a].detail = Some(format!(
            "confirmed the request of {}{overridden}; {detail}",
            pending.requested_by
        ));
        Ok(a)
    }

    /// The first half: record the request and show it to every console.
    fn request_emergency(&mut self, p: usize, request: &ActionRequest, actor: &Identity) -> usize {
        let patch = &self.patches[p];
        let override_needed = self.override_needed(p);
        let cve = cve_of(request, patch);
        let expires_at = self.now + Duration::seconds(EMERGENCY_REQUEST_TTL_SECS);
        let pending = PendingEmergency {
            action_id: String::new(),
            requested_by: actor.name.clone(),
            person: actor.as_person().to_string(),
            patch_id: patch.id.clone(),
            kb: patch.kb.clone(),
            cve: cve.clone(),
            exploited_cves: patch.exploited_cves.clone(),
            override_needed: override_needed.clone(),
            reason: request.reason.clone().unwrap_or_default(),
            ticket: request.ticket.clone().unwrap_or_default(),
            requested_at: self.now,
            expires_at,
        };
        let a = self.record(Record::asked(
            Verb::Emergency,
            Scope::Fleet,
            request,
            &actor.name,
            ActionState::AwaitingSecondApprover,
        ));
        let caveat = override_needed
            .map(|why| format!("; {why}: the confirmation must give override_reason"))
            .unwrap_or_default();
        self.actions[a].detail = Some(format!(
            "emergency of {} ({cve}) requested; a second approver (another person) must \
             confirm it by {}{caveat}",
            pending.kb,
            expires_at.format("%H:%M UTC"),
        ));
        self.summary.pending_emergency = Some(PendingEmergency {
            action_id: self.actions[a].id.clone(),
            ..pending
        });
        self.emergency_request = Some(a);
        self.dirty.summary = true;
        a
    }

    /// Why patch `p` may be expedited only with an override reason, if it may not
    /// as is: it fixes no known exploited CVE, or it was halted and cannot be
    /// uninstalled.
    pub(super) fn override_needed(&self, p: usize) -> Option<String> {
        let patch = &self.patches[p];
        let mut why = Vec::new();
        if patch.exploited_cves.is_empty() {
            why.push(format!("{} fixes no known exploited CVE", patch.kb));
        }
        if !patch.uninstallable
            && let Some(halted) = self
                .deployments
                .iter()
                .find(|d| d.state == DeploymentState::Halted && d.patch_ids.contains(&patch.id))
        {
            why.push(format!(
                "{} is halted in {} and cannot be uninstalled",
                patch.kb, halted.name
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The override reason the start of patch `p` needs, if any; refused without it.
    fn check_override(
        &self,
        p: usize,
        request: &ActionRequest,
    ) -> Result<Option<String>, ActError> {
        let given = request
            .override_reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(needed) = self.override_needed(p) else {
            return Ok(given.map(str::to_string));
        };
        match given {
            None => Err(ActError::Invalid(format!(
                "{needed}: only a fix for a known exploited CVE is expedited as is; to \
                 expedite this one anyway, the confirming approver must give override_reason \
                 (why it cannot wait for the normal rollout)"
            ))),
            Some(why) if why.chars().count() > MAX_OVERRIDE_CHARS => Err(ActError::Invalid(
                format!("override_reason is longer than {MAX_OVERRIDE_CHARS} characters"),
            )),
            Some(why) => Ok(Some(why.to_string())),
        }
    }

    /// A request nobody confirmed in time expires: it leaves the summary and its action
    /// fails, saying so.
    pub(super) fn expire_emergency_request(&mut self) {
        if self
            .summary
            .pending_emergency
            .as_ref()
            .is_none_or(|p| p.expires_at > self.now)
        {
            return;
        }
        let Some(pending) = self.summary.pending_emergency.take() else {
            return;
        };
        self.dirty.summary = true;
        if let Some(a) = self.emergency_request.take() {
            let action = &mut self.actions[a];
            action.state = ActionState::Failed;
            action.finished_at = Some(self.now);
            action.detail = Some(format!(
                "expired at {}: no second approver confirmed the emergency of {} ({}) within {} minutes",
                pending.expires_at.format("%H:%M UTC"),
                pending.kb,
                pending.cve,
                EMERGENCY_REQUEST_TTL_SECS / 60
            ));
            self.dirty.actions.insert(a);
        }
    }
}

/// The CVE an emergency of `patch` is for: the one asked for, else the first exploited
/// one, else the first it fixes.
fn cve_of(request: &ActionRequest, patch: &crate::model::Patch) -> String {
    request
        .cve
        .clone()
        .or_else(|| patch.exploited_cves.first().cloned())
        .or_else(|| patch.cves.first().cloned())
        .unwrap_or_default()
}
