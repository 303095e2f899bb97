//! Exceptions: granting one (exclude, for a host or for one patch on it), renewing and
//! revoking it, and enforcing its expiry: when the fleet clock passes `expires_at`
//! the host goes back to the queue, with a history line.

use chrono::{DateTime, Utc};

use crate::backend::{ActError, ActionRequest};
use crate::model::{Exception, Expiry, HostState, Renewal, Verb};

use super::act::Scope;
use super::{Engine, secs};

/// "2026-12-12 14:00 UTC"
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Engine {
    /// Exclude: grant an exception with the request's terms. For every patch, the
    /// host is excluded; for one patch (`patch_id`, an id or a KB), the host stays in
    /// the queue and only that patch is held back.
    pub(super) fn exclude(
        &mut self,
        h: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let name = self.hosts[h].name.clone();
        let asked_patch = match request.patch_id.as_deref() {
            None => None,
            Some(asked) => Some(self.patch_named(asked).ok_or_else(|| {
                ActError::Invalid(format!("no patch `{asked}` (give its id or its KB)"))
            })?),
        };
        // One in force that covers as much is renewed or revoked, not granted again; one
        // for another patch (or one patch, where every patch is asked) is replaced.
        let asked_id = asked_patch.map(|p| self.patches[p].id.as_str());
        if let Some(current) = self.hosts[h].exception.as_ref().filter(|e| {
            e.in_force(self.now) && (e.is_host_wide() || e.patch_id.as_deref() == asked_id)
        }) {
            let scope = self.scope_words(current.patch_id.as_deref());
            return Err(ActError::Conflict(format!(
                "{name} already has an exception ({scope}, until {}): renew or revoke it",
                when(current.expires_at)
            )));
        }
        let terms = &request.exception;
        let control = terms.compensating_control.clone().ok_or_else(|| {
            ActError::Invalid(
                "exclude needs a compensating control: what protects the host meanwhile".into(),
            )
        })?;
        let expires_at = self.future_expiry(Verb::Exclude, terms.expires)?;
        let patch = asked_patch;
        let state = self.hosts[h].state;
        if state.is_in_flight() || self.host_runs[h].uninstall.is_some() {
            return Err(ActError::Conflict(format!(
                "{name} is {}: exclude it once the work under way has finished",
                state.as_str()
            )));
        }
        let reason = request.reason.clone().unwrap_or_default();
        let patch_id = patch.map(|p| self.patches[p].id.clone());
        let scope = self.scope_words(patch_id.as_deref());
        self.forget_expiry(h);
        self.hosts[h].exception = Some(Box::new(Exception {
            owner: terms.owner.clone().unwrap_or_else(|| actor.to_string()),
            reason: reason.clone(),
            ticket: request.ticket.clone(),
            expires_at,
            compensating_control: control,
            patch_id,
            granted_by: actor.to_string(),
            granted_at: Some(self.now),
            renewals: Vec::new(),
            lapsed_at: None,
        }));
        self.schedule_expiry(h);
        let note = format!(
            "exception by {actor} ({scope}, until {}): {reason}",
            when(expires_at)
        );
        if patch.is_none() {
            self.hold(h, note);
        } else {
            // The host stays where it is; only the patch is held back.
            self.set_state(h, state, Some(note));
        }
        let days = (expires_at - self.now).num_days();
        Ok(self.done(
            Verb::Exclude,
            Scope::Host(h),
            request,
            actor,
            Some(format!(
                "exception recorded for {days} days ({scope}), until {}",
                when(expires_at)
            )),
        ))
    }

    /// Renew: a new expiry, with the renewal's reason and ticket kept. An exception
    /// that expired for every patch excludes its host again.
    pub(super) fn renew(
        &mut self,
        h: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let name = self.hosts[h].name.clone();
        let Some(current) = self.hosts[h].exception.clone() else {
            return Err(ActError::Conflict(format!(
                "{name} has no exception to renew (exclude it to grant one)"
            )));
        };
        let expires_at = self.future_expiry(Verb::Renew, request.exception.expires)?;
        let lapsed = !current.in_force(self.now);
        let state = self.hosts[h].state;
        if lapsed
            && current.is_host_wide()
            && (state.is_in_flight() || self.host_runs[h].uninstall.is_some())
        {
            return Err(ActError::Conflict(format!(
                "{name} is {} since its exception expired: renew it once the work under way has finished",
                state.as_str()
            )));
        }
        let reason = request.reason.clone().unwrap_or_default();
        self.forget_expiry(h);
        if let Some(exception) = self.hosts[h].exception.as_mut() {
            exception.renewals.push(Renewal {
                at: self.now,
                by: actor.to_string(),
                reason: reason.clone(),
                ticket: request.ticket.clone(),
                from: current.expires_at,
                expires_at,
            });
            exception.expires_at = expires_at;
            exception.lapsed_at = None;
        }
        self.schedule_expiry(h);
        let note = format!(
            "exception renewed by {actor} until {}: {reason}",
            when(expires_at)
        );
        if lapsed && current.is_host_wide() && state != HostState::Excluded {
            self.hold(h, note);
        } else {
            self.set_state(h, state, Some(note));
        }
        Ok(self.done(
            Verb::Renew,
            Scope::Host(h),
            request,
            actor,
            Some(format!(
                "exception renewed until {} (was {})",
                when(expires_at),
                when(current.expires_at)
            )),
        ))
    }

    /// Revoke: the exception ends now and is removed; an excluded host goes back to
    /// the queue.
    pub(super) fn revoke(
        &mut self,
        h: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let name = self.hosts[h].name.clone();
        let Some(current) = self.hosts[h].exception.clone() else {
            return Err(ActError::Conflict(format!(
                "{name} has no exception to revoke"
            )));
        };
        let reason = request.reason.clone().unwrap_or_default();
        self.forget_expiry(h);
        self.hosts[h].exception = None;
        let note = format!("exception revoked by {actor}: {reason}");
        let detail = if current.is_host_wide() && self.hosts[h].state == HostState::Excluded {
            let back = self.release(h, note);
            format!("exception revoked: {name} is {}", back.words())
        } else {
            let state = self.hosts[h].state;
            self.set_state(h, state, Some(note));
            "exception revoked".to_string()
        };
        Ok(self.done(Verb::Revoke, Scope::Host(h), request, actor, Some(detail)))
    }

    /// Enforce the expiries the clock has passed: each host goes back to the queue
    /// (or its held-back patch does), marked with when it lapsed.
    pub(super) fn expire_exceptions(&mut self) {
        let now = secs(self.now);
        while let Some(&(at, h)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.expiries.pop_first();
            let h = h as usize;
            let Some(exception) = self.hosts[h].exception.as_mut() else {
                continue;
            };
            if exception.lapsed_at.is_some() || secs(exception.expires_at) != at {
                continue;
            }
            exception.lapsed_at = Some(self.now);
            let owner = exception.owner.clone();
            let ticket = exception
                .ticket
                .clone()
                .unwrap_or_else(|| "no ticket".into());
            let patch_id = exception.patch_id.clone();
            if patch_id.is_none() && self.hosts[h].state == HostState::Excluded {
                self.release(
                    h,
                    format!("exception expired ({owner}, {ticket}): back in the queue"),
                );
            } else {
                let scope = self.scope_words(patch_id.as_deref());
                let state = self.hosts[h].state;
                self.set_state(
                    h,
                    state,
                    Some(format!(
                        "exception expired ({scope}; {owner}, {ticket}): the patch is back in the queue"
                    )),
                );
            }
        }
    }

    /// Keep the expiry of host `h`'s exception in force on the clock (the generator
    /// calls it for the exceptions it writes).
    pub fn schedule_expiry(&mut self, h: usize) {
        if let Some(e) = self.hosts[h]
            .exception
            .as_ref()
            .filter(|e| e.lapsed_at.is_none())
        {
            self.expiries.insert((secs(e.expires_at), h as u32));
        }
    }

    fn forget_expiry(&mut self, h: usize) {
        if let Some(e) = &self.hosts[h].exception {
            self.expiries.remove(&(secs(e.expires_at), h as u32));
        }
    }

    /// The expiry a grant or renewal asks for: given, and in the future. (The cap is
    /// the gateway's, applied before the fleet sees the request.)
    fn future_expiry(&self, verb: Verb, asked: Option<Expiry>) -> Result<DateTime<Utc>, ActError> {
        let at = asked.map(|e| e.at(self.now)).ok_or_else(|| {
            ActError::Invalid(format!(
                "{} needs an expiry: days (30) or a date (2027-01-15)",
                verb.as_str()
            ))
        })?;
        if at <= self.now {
            return Err(ActError::Invalid(format!(
                "the expiry {} is not in the future (fleet time {})",
                when(at),
                when(self.now)
            )));
        }
        Ok(at)
    }

    /// A patch by id or KB (case-insensitive).
    fn patch_named(&self, asked: &str) -> Option<usize> {
        self.patches
            .iter()
            .position(|p| p.id == asked || p.kb.eq_ignore_ascii_case(asked))
    }

    /// "all patches" or "KB5046617 only".
    fn scope_words(&self, patch_id: Option<&str>) -> String {
        match patch_id {
            None => "all patches".into(),
            Some(id) => {
                let kb = self
                    .patches
                    .iter()
                    .find(|p| p.id == id)
                    .map_or(id, |p| p.kb.as_str());
                format!("{kb} only")
            }
        }
    }

    /// Take a host out of the rollout: excluded, with nothing armed, no longer counted
    /// where an emergency took it from.
    fn hold(&mut self, h: usize, note: String) {
        let state = self.hosts[h].state;
        self.disarm(h);
        self.host_runs[h].adopt = None;
        // Taken by an emergency: the deployment it came from stops counting it as away.
        if let Some((old, before)) = self.host_runs[h].away_from.take() {
            self.deployment_runs[old].away.remove(before);
            self.deployments[old].counts.remove(before);
            self.dirty.deployments.insert(old);
            let home = &mut self.ring_runs[self.host_runs[h].home];
            home.lent.remove(state);
            home.lent_before.remove(before);
        }
        self.hosts[h].deferred_until = None;
        self.set_state(h, HostState::Excluded, Some(note));
    }

    /// An excluded host back in the queue of its rollout: its deployment's, or the
    /// rollout now under way for its ring. Pending (queued when its ring is open),
    /// succeeded if it has every patch of that rollout already, pending with no
    /// deployment when no rollout wants it. Returns the state it is in.
    fn release(&mut self, h: usize, note: String) -> HostState {
        let d = self.host_runs[h].deployment.or_else(|| self.rollout_for(h));
        if d != self.host_runs[h].deployment {
            self.set_deployment(h, d);
        }
        let done = d.is_some_and(|d| {
            let patches = self.patches_for(d, h);
            !patches.is_empty()
                && patches
                    .iter()
                    .all(|&p| self.hosts[h].has_installed(&self.patches[p].id))
        });
        if done {
            self.set_state(h, HostState::Succeeded, Some(note));
            return HostState::Succeeded;
        }
        self.set_state(h, HostState::Pending, Some(note));
        let r = self.queue_ring(h);
        if d.is_some() && self.ring_runs[r].deployment == d {
            self.ring_runs[r].queue.push_back(h as u32);
        }
        HostState::Pending
    }

    /// The newest active monthly deployment that covers host `h`'s ring and has a
    /// patch for it.
    fn rollout_for(&self, h: usize) -> Option<usize> {
        let ring = &self.rings[self.host_runs[h].home].id;
        (0..self.deployments.len())
            .filter(|&d| {
                let dep = &self.deployments[d];
                !dep.emergency && dep.state.is_active() && dep.rings.contains(ring)
            })
            .filter(|&d| !self.patches_for(d, h).is_empty())
            .max_by_key(|&d| self.deployments[d].created_at)
    }
}
