//! Fleet actions as values: a key plans an action (its targets as the operator saw
//! them), and the plan opens the confirmation dialog. What the action would do is the
//! server's to say: the dialog asks for its dry run ([`server`]) and shows that.

mod drift;
mod emergency;
mod resume;
pub mod server;

pub use drift::{current_state, still_takes, what_changed};
pub use emergency::{emergency_candidates, plan_confirm_emergency, plan_emergency};
pub use resume::{after_halt_notes, gate_words};
pub use server::{ServerPlan, count, window_words};

use super::App;
use super::target::{self, Here};
use crate::model::HostState;
use crate::model::{
    Deployment, DeploymentState, Fleet, Host, Ring, Role, Target, TargetKind, Verb,
};

/// One thing an action will be sent to, as the operator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTarget {
    pub target: Target,
    pub name: String,
    /// Version seen when planning: sent as If-Match.
    pub version: u64,
    /// State seen when planning, in words, to say what changed on a 412.
    pub seen_state: String,
}

/// A fleet action ready for confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    pub verb: Verb,
    /// "Halt deployment 2026-11 Patch Tuesday"
    pub title: String,
    pub targets: Vec<PlannedTarget>,
    /// What the console knows beside the server's plan (the halt's cause, the gate,
    /// look-alike warnings; hosts of the selection that cannot take the verb).
    pub notes: Vec<String>,
    /// The operator must type this (case-insensitive) to confirm.
    pub confirm_text: Option<String>,
    /// Emergency: the patch and CVE.
    pub patch_id: Option<String>,
    pub cve: Option<String>,
}

impl PlannedAction {
    pub fn needs_reason(&self) -> bool {
        self.verb.needs_reason()
    }
}

/// The least role for a verb on a target kind, and whether this identity has it.
pub fn role_check(
    verb: Verb,
    kind: TargetKind,
    role: Option<Role>,
    read_only: bool,
) -> Result<(), String> {
    if read_only {
        return Err("read-only: actions are disabled".into());
    }
    let needed = Role::required_for(verb, kind);
    match role {
        Some(role) if role < needed => Err(format!(
            "needs role {} (you are {})",
            needed.as_str(),
            role.as_str()
        )),
        _ => Ok(()),
    }
}

fn deployment_target(deployment: &Deployment) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Deployment,
            id: deployment.id.clone(),
        },
        name: deployment.name.clone(),
        version: deployment.version,
        seen_state: deployment.state.as_str().to_string(),
    }
}

fn ring_target(ring: &Ring) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Ring,
            id: ring.id.clone(),
        },
        name: ring.name.clone(),
        version: ring.version,
        seen_state: ring.state.as_str().to_string(),
    }
}

fn host_target(host: &Host) -> PlannedTarget {
    PlannedTarget {
        target: Target {
            kind: TargetKind::Host,
            id: host.id.to_string(),
        },
        name: host.name.to_string(),
        version: host.version,
        seen_state: host.state.as_str().to_string(),
    }
}

/// Plan a deployment action.
pub fn plan_deployment(
    fleet: &Fleet,
    verb: Verb,
    deployment: &Deployment,
) -> Result<PlannedAction, String> {
    let mut notes = Vec::new();
    let title = match verb {
        // A halted deployment: approval resumes its ring once the failures are handled
        // (retried, excluded or rolled back); the fleet refuses it otherwise.
        Verb::Approve if deployment.state == DeploymentState::Halted => {
            let ring = deployment
                .current_ring
                .as_deref()
                .ok_or_else(|| format!("{} is halted outside any ring", deployment.name))?;
            if let Some(ring) = fleet.rings.get(ring) {
                notes = after_halt_notes(fleet, deployment, ring);
            }
            format!(
                "Approve resuming {} in {}",
                deployment.name,
                fleet.ring_name(ring)
            )
        }
        Verb::Approve => {
            let next = deployment
                .next_ring
                .as_deref()
                .ok_or_else(|| format!("{} has no ring waiting for approval", deployment.name))?;
            if deployment.state != DeploymentState::AwaitingApproval {
                return Err(format!(
                    "{} is {}, not awaiting approval",
                    deployment.name,
                    deployment.state.as_str()
                ));
            }
            format!("Approve {} for {}", deployment.name, fleet.ring_name(next))
        }
        Verb::Rollback => format!("Roll back {}", deployment.name),
        Verb::Decline | Verb::Pause | Verb::Resume | Verb::Halt => {
            format!("{} {}", capitalised(verb.as_str()), deployment.name)
        }
        Verb::Retry | Verb::Exclude | Verb::Renew | Verb::Revoke | Verb::Emergency => {
            return Err(format!("{} does not apply to a deployment", verb.as_str()));
        }
    };
    Ok(PlannedAction {
        verb,
        title,
        targets: vec![deployment_target(deployment)],
        notes,
        confirm_text: verb
            .spec()
            .types_name(TargetKind::Deployment)
            .then(|| deployment.name.clone()),
        patch_id: None,
        cve: None,
    })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Plan a ring action (pause, resume, rollback).
pub fn plan_ring(verb: Verb, ring: &Ring) -> Result<PlannedAction, String> {
    let notes = match verb {
        Verb::Resume => vec![gate_words(ring)],
        Verb::Pause | Verb::Rollback => Vec::new(),
        Verb::Approve
        | Verb::Decline
        | Verb::Halt
        | Verb::Retry
        | Verb::Exclude
        | Verb::Renew
        | Verb::Revoke
        | Verb::Emergency => {
            return Err(format!("{} does not apply to a ring", verb.as_str()));
        }
    };
    Ok(PlannedAction {
        verb,
        title: format!("{} ring {}", capitalised(verb.as_str()), ring.name),
        targets: vec![ring_target(ring)],
        notes,
        confirm_text: verb
            .spec()
            .types_name(TargetKind::Ring)
            .then(|| ring.name.clone()),
        patch_id: None,
        cve: None,
    })
}

/// Plan a host action (retry, exclude, rollback) on a set of hosts: one request per
/// host the verb table lets take it; the others are named as skipped.
pub fn plan_hosts(fleet: &Fleet, verb: Verb, host_ids: &[String]) -> Result<PlannedAction, String> {
    let hosts: Vec<&Host> = host_ids
        .iter()
        .filter_map(|id| fleet.hosts.get(id.as_str()))
        .collect();
    if hosts.is_empty() {
        return Err("select hosts first (a failure group, a host, or Space in a host list)".into());
    }
    let (chosen, skipped): (Vec<&Host>, Vec<&Host>) =
        hosts.into_iter().partition(|h| verb.spec().host_takes(h));
    let why_not = if verb.spec().on_exception {
        "they have no exception"
    } else {
        "not in a state to be"
    };
    if chosen.is_empty() {
        return Err(if verb.spec().on_exception {
            format!(
                "none of the selected hosts has an exception to {}",
                verb.as_str()
            )
        } else {
            format!("none of the selected hosts can be {}", verb.past_tense())
        });
    }
    let mut notes = Vec::new();
    if !skipped.is_empty() {
        notes.push(if verb.spec().on_exception {
            format!("{} selected hosts skipped: {why_not}", skipped.len())
        } else {
            format!(
                "{} selected hosts skipped: {why_not} {}",
                skipped.len(),
                verb.past_tense()
            )
        });
    }
    if verb.spec().on_exception {
        let now = fleet.summary.as_ref().map(|s| s.now);
        for host in chosen.iter().take(3) {
            if let (Some(e), Some(now)) = (&host.exception, now) {
                notes.push(format!(
                    "{}: {}, owned by {}, {} ({})",
                    host.name,
                    super::exceptions::scope_words(fleet, e),
                    e.owner,
                    if e.in_force(now) {
                        format!("expires {}", e.expires_at.format("%Y-%m-%d %H:%M UTC"))
                    } else {
                        format!("EXPIRED {}", e.expires_at.format("%Y-%m-%d %H:%M UTC"))
                    },
                    e.ticket.as_deref().unwrap_or("no ticket")
                ));
            }
        }
    }
    let noun = if verb.spec().on_exception {
        "the exception of "
    } else {
        ""
    };
    let title = if chosen.len() == 1 {
        format!(
            "{} {noun}host {}",
            capitalised(verb.as_str()),
            chosen[0].name
        )
    } else {
        format!(
            "{} {noun}{} hosts",
            capitalised(verb.as_str()),
            chosen.len()
        )
    };
    Ok(PlannedAction {
        verb,
        title,
        targets: chosen.into_iter().map(host_target).collect(),
        notes,
        confirm_text: None,
        patch_id: None,
        cve: None,
    })
}

/// Can a host in `state` take `verb`? (The verb table says.)
pub fn host_eligible(verb: Verb, state: HostState) -> bool {
    verb.spec().host_eligible(state)
}

pub(super) fn plan_here(app: &App, verb: Verb) -> Result<PlannedAction, String> {
    let fleet = &app.fleet;
    match target::target_here(app) {
        Some(Here::Deployment(id)) => {
            let deployment = fleet
                .deployments
                .get(&id)
                .ok_or("that deployment is gone")?;
            plan_deployment(fleet, verb, deployment)
        }
        Some(Here::Ring(id)) => {
            let ring = fleet.rings.get(&id).ok_or("that ring is gone")?;
            if verb.spec().targets.contains(&TargetKind::Ring) {
                plan_ring(verb, ring)
            } else {
                // Approve, decline and halt act on the deployment in the ring.
                let deployment = fleet
                    .deployments
                    .values()
                    .filter(|d| {
                        d.state.is_active()
                            && (d.current_ring.as_deref() == Some(id.as_str())
                                || d.next_ring.as_deref() == Some(id.as_str()))
                    })
                    .max_by_key(|d| d.created_at)
                    .ok_or_else(|| format!("no deployment is in {}", ring.name))?;
                let mut plan = plan_deployment(fleet, verb, deployment)?;
                if verb == Verb::Halt {
                    plan.title = format!("Halt {} ({} in this ring)", ring.name, deployment.name);
                    plan.confirm_text = Some(ring.name.clone());
                }
                Ok(plan)
            }
        }
        Some(Here::Hosts(ids)) if verb.spec().targets.contains(&TargetKind::Host) => {
            plan_hosts(fleet, verb, &ids)
        }
        Some(Here::Hosts(_)) => Err("select a deployment (2) or a ring (1) for this".into()),
        None => Err("select a deployment, a ring or hosts first".into()),
    }
}

/// Plan the same action again against the current fleet (after a 412).
pub(super) fn replan(
    app: &App,
    old: &PlannedAction,
    target_ids: &[String],
) -> Result<PlannedAction, String> {
    let fleet = &app.fleet;
    let Some(first) = old.targets.first() else {
        return Err("nothing to act on".into());
    };
    let mut plan = match first.target.kind {
        TargetKind::Deployment => {
            let deployment = fleet
                .deployments
                .get(&first.target.id)
                .ok_or("the deployment is gone")?;
            plan_deployment(fleet, old.verb, deployment)?
        }
        TargetKind::Ring => {
            let ring = fleet
                .rings
                .get(&first.target.id)
                .ok_or("the ring is gone")?;
            plan_ring(old.verb, ring)?
        }
        // The host plan's own title counts the hosts left.
        TargetKind::Host => return plan_hosts(fleet, old.verb, target_ids),
        TargetKind::Fleet => {
            let patch = old
                .patch_id
                .as_ref()
                .and_then(|id| fleet.patches.get(id))
                .ok_or("the patch is gone")?;
            plan_emergency(fleet, patch)
        }
    };
    plan.title = old.title.clone();
    plan.confirm_text = old.confirm_text.clone();
    Ok(plan)
}
