//! Validating an action into a [`Decision`]: pure, against the view and the rollout
//! state, with the rules SSM lacks (the gate, two persons on production rings, a ring
//! never sent twice). `act` applies a decision, `plan` describes it; the capabilities
//! say what SSM cannot do of each verb, and how it does the rest.

use super::{Core, State};
use crate::backend::aws_ssm::rollout::{Marker, RingStatus};
use crate::backend::aws_ssm::settings::SsmSettings;
use crate::backend::{ActError, ActionRequest};
use crate::model::{
    Capabilities, DeploymentState, Identity, PendingApproval, RingState, TargetKind, Verb,
    VerbSupport,
};

/// At most this many instance ids per `SendCommand` (the API's bound).
pub const IDS_PER_SEND: usize = 50;

/// What SSM can do of each verb, and how.
pub fn capabilities(settings: &SsmSettings) -> Capabilities {
    let note = |verb, available, note: &str| VerbSupport {
        verb,
        available,
        note: note.to_string(),
    };
    let rollback = match settings.rollback.as_slice() {
        [] => note(
            Verb::Rollback,
            false,
            "SSM has no rollback and no operator-defined rollback document is configured",
        ),
        docs => {
            let list: Vec<String> = docs
                .iter()
                .map(|d| format!("{} on {}", d.document, d.platform))
                .collect();
            note(
                Verb::Rollback,
                true,
                &format!("operator-defined rollback: {}", list.join(", ")),
            )
        }
    };
    Capabilities {
        rollback: !settings.rollback.is_empty(),
        emergency: false,
        two_person_rule: true,
        verbs: vec![
            note(
                Verb::Pause,
                true,
                "SSM cannot pause: CancelCommand cancels the pending hosts (running ones may finish); resume sends a new command",
            ),
            note(
                Verb::Resume,
                true,
                "sends the ring's command again (a new attempt); hosts already patched only scan",
            ),
            note(
                Verb::Halt,
                true,
                "CancelCommand: pending hosts are cancelled, invocations already running may finish",
            ),
            note(
                Verb::Decline,
                true,
                "patchdeck's rollout state only: nothing is sent to SSM",
            ),
            note(
                Verb::Retry,
                true,
                "a new SendCommand to the chosen instances, never to excluded ones",
            ),
            note(
                Verb::Exclude,
                true,
                "an exception kept by patchdeck: retries skip the host, but a ring's tag-targeted command still reaches it",
            ),
            rollback,
            note(
                Verb::Emergency,
                false,
                "no emergency document configured for SSM",
            ),
        ],
    }
}

/// What an action would do.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send `ring`'s command, attempt `attempt` (`completes`: the first approval it
    /// completes under the two-person rule).
    Open {
        dep: String,
        ring: String,
        attempt: u32,
        completes: Option<PendingApproval>,
    },
    /// The first of two approvals of a production ring.
    FirstApproval {
        dep: String,
        ring: String,
        resume: bool,
    },
    /// Pause or halt `ring` of `dep`, cancelling the command in flight.
    Hold {
        dep: String,
        ring: String,
        state: RingState,
        cancel: Option<String>,
    },
    Decline {
        dep: String,
    },
    Retry {
        dep: Option<String>,
        host: String,
    },
    Exclude {
        host: String,
    },
    Rollback {
        document: String,
        commands: Vec<String>,
        hosts: Vec<String>,
        kb: String,
    },
}

pub struct Decided {
    pub decision: Decision,
    pub request: ActionRequest,
    pub target_name: String,
    pub target_version: u64,
}

fn check_version(request: &ActionRequest, target: &str, current: u64) -> Result<(), ActError> {
    match request.if_match {
        Some(expected) if expected != current => Err(ActError::VersionMismatch {
            target: target.to_string(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

/// The two-person rule: the second approval must come from another person.
fn another_person(pending: &PendingApproval, actor: &Identity, what: &str) -> Result<(), ActError> {
    if !actor.is_person(&pending.first_person) {
        return Ok(());
    }
    Err(ActError::SecondApproverRequired(format!(
        "{} already approved {what}; the two-person rule needs a second approver who is another person",
        actor.as_person()
    )))
}

/// The ring statuses of deployment `dep` (its rings in order).
fn rings_of(state: &State, core: &Core, dep: &str) -> Vec<(String, RingStatus)> {
    let Some(rollout) = state.rollouts.get(dep) else {
        return Vec::new();
    };
    let order = super::view::ring_order(&state.view.rings);
    let mut counts = std::collections::BTreeMap::new();
    for ring in &state.view.rings {
        counts.insert(ring.id.clone(), ring.counts);
    }
    let statuses =
        super::view::statuses(state, rollout, &order, &counts, &core.settings, core.now());
    order.into_iter().zip(statuses).collect()
}

pub fn decide(
    state: &State,
    core: &Core,
    request: &ActionRequest,
    actor: &Identity,
    dry: bool,
) -> Result<Decided, ActError> {
    let verb = request.verb;
    let request = request.trimmed();
    let caps = capabilities(&core.settings);
    if let Some(why) = caps.unavailable(verb) {
        return Err(ActError::Unsupported(why.to_string()));
    }
    if !dry {
        request.require_reason_and_ticket()?;
    }
    let kind = request.target.kind;
    if !verb.spec().targets.contains(&kind) {
        return Err(ActError::Invalid(format!(
            "{} does not apply to a {}",
            verb.as_str(),
            kind.as_str()
        )));
    }
    let id = request.target.id.clone();
    let (decision, target_name, target_version) = match kind {
        TargetKind::Deployment => {
            let d = state
                .view
                .deployments
                .iter()
                .find(|d| d.id == id)
                .ok_or_else(|| ActError::NotFound(format!("deployment {id}")))?;
            check_version(&request, &d.name, d.version)?;
            if state.rollouts.get(&id).is_none() {
                return Err(ActError::Unsupported(format!(
                    "{id} is a command sent outside patchdeck: shown read-only (patchdeck rolls out only its own deployments)"
                )));
            }
            let rings = rings_of(state, core, &id);
            let current = d
                .current_ring
                .as_ref()
                .and_then(|r| rings.iter().find(|(id, _)| id == r));
            let decision = match verb {
                Verb::Approve => approve(state, core, d, current, actor)?,
                Verb::Pause | Verb::Halt => {
                    let hold = if verb == Verb::Pause {
                        RingState::Paused
                    } else {
                        RingState::Halted
                    };
                    hold_decision(state, d, current, hold)?
                }
                Verb::Resume => resume(state, d, current)?,
                Verb::Decline => match d.state {
                    DeploymentState::AwaitingApproval
                    | DeploymentState::Halted
                    | DeploymentState::Paused => Decision::Decline { dep: id.clone() },
                    // Approved, waiting for its window: nothing sent yet, so declinable.
                    DeploymentState::Running if current.is_some_and(|(_, s)| s.waiting) => {
                        Decision::Decline { dep: id.clone() }
                    }
                    s => {
                        return Err(ActError::Conflict(format!(
                            "{} is {}: only a deployment awaiting approval (or its window), paused or halted can be declined",
                            d.id,
                            s.words()
                        )));
                    }
                },
                _ => {
                    return Err(ActError::Unsupported(format!(
                        "{} a deployment: SSM's rollback is the operator's document on chosen hosts; roll back a ring or a host",
                        verb.as_str()
                    )));
                }
            };
            (decision, d.name.clone(), d.version)
        }
        TargetKind::Ring => {
            let ring = state
                .view
                .rings
                .iter()
                .find(|r| r.id == id)
                .ok_or_else(|| ActError::NotFound(format!("ring {id}")))?;
            check_version(&request, &ring.name, ring.version)?;
            let dep = state
                .rollouts
                .active()
                .map(|r| r.id.clone())
                .ok_or_else(|| ActError::Conflict("no deployment is rolling out".into()))?;
            let d = state
                .view
                .deployments
                .iter()
                .find(|d| d.id == dep)
                .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
            let rings = rings_of(state, core, &dep);
            let current = rings.iter().find(|(r, _)| *r == id);
            let decision = match verb {
                Verb::Pause => hold_decision(state, d, current, RingState::Paused)?,
                Verb::Resume => resume(state, d, current)?,
                _ => rollback_decision(state, core, &request, ring_hosts(state, &id))?,
            };
            (decision, ring.name.clone(), ring.version)
        }
        TargetKind::Host => {
            let host = state
                .view
                .hosts
                .get(&id)
                .ok_or_else(|| ActError::NotFound(format!("host {id}")))?;
            check_version(&request, &host.name, host.version)?;
            if !verb.spec().host_eligible(host.state) {
                return Err(ActError::Conflict(format!(
                    "{} is {}: {} does not apply",
                    host.name,
                    host.state.words(),
                    verb.as_str()
                )));
            }
            let decision = match verb {
                Verb::Retry => Decision::Retry {
                    dep: host
                        .deployment_id
                        .as_deref()
                        .map(String::from)
                        .filter(|d| state.rollouts.get(d).is_some())
                        .or_else(|| state.rollouts.active().map(|r| r.id.clone())),
                    host: id.clone(),
                },
                // The exception's verbs: act.rs tells them apart by the request's verb.
                Verb::Exclude | Verb::Renew | Verb::Revoke => {
                    Decision::Exclude { host: id.clone() }
                }
                _ => rollback_decision(state, core, &request, vec![id.clone()])?,
            };
            (decision, host.name.to_string(), host.version)
        }
        TargetKind::Fleet => {
            return Err(ActError::Unsupported(
                "no emergency document configured for SSM".into(),
            ));
        }
    };
    Ok(Decided {
        decision,
        request,
        target_name,
        target_version,
    })
}

/// The hosts of `ring` that are not excluded.
pub fn ring_hosts(state: &State, ring: &str) -> Vec<String> {
    let hosts = state.view.hosts.values();
    hosts
        .filter(|h| h.ring_id == ring && h.state != crate::model::HostState::Excluded)
        .map(|h| h.id.to_string())
        .collect()
}

fn approve(
    state: &State,
    core: &Core,
    d: &crate::model::Deployment,
    current: Option<&(String, RingStatus)>,
    actor: &Identity,
) -> Result<Decision, ActError> {
    let dep = d.id.clone();
    let rollout = state
        .rollouts
        .get(&dep)
        .ok_or_else(|| ActError::NotFound(format!("deployment {dep}")))?;
    let (ring, resume) = match d.state {
        DeploymentState::AwaitingApproval => {
            let ring = d
                .next_ring
                .clone()
                .ok_or_else(|| ActError::Conflict(format!("{} has no ring to open next", d.id)))?;
            let marked = state.records.commands.iter().find(|c| {
                Marker::parse(&c.comment).is_some_and(|m| m.deployment == dep && m.ring == ring)
            });
            if let Some(c) = marked {
                return Err(ActError::Conflict(format!(
                    "{} is already deploying: command {} carries {dep}'s marker",
                    state.ring_name(&ring),
                    c.id
                )));
            }
            (ring, false)
        }
        DeploymentState::Halted => {
            let (ring, _) = current
                .ok_or_else(|| ActError::Conflict(format!("{} has no ring to resume", d.id)))?;
            (ring.clone(), true)
        }
        DeploymentState::Running => {
            let (ring, status) =
                current.ok_or_else(|| ActError::Conflict(format!("{} is running", d.id)))?;
            let ring = state.ring_name(ring);
            return Err(ActError::Conflict(
                match (status.state, status.soak_ends_at) {
                    _ if status.waiting => format!(
                        "{ring} is {}: the command is sent when the window opens",
                        status.reason.as_deref().unwrap_or("approved")
                    ),
                    (RingState::Soaking, Some(ends)) => format!(
                        "{ring} is soaking until {}: its gate decides then",
                        ends.format("%H:%M UTC")
                    ),
                    _ => format!(
                        "{} is running: {ring} is already deploying{}",
                        d.id,
                        status
                            .in_flight
                            .as_deref()
                            .map(|c| format!(" (command {c})"))
                            .unwrap_or_default()
                    ),
                },
            ));
        }
        s => {
            return Err(ActError::Conflict(format!(
                "{} is {}: no gate is waiting for approval",
                d.id,
                s.words()
            )));
        }
    };
    let production = state
        .view
        .rings
        .iter()
        .any(|r| r.id == ring && r.production);
    let attempt = rollout.next_attempt(&ring);
    let _ = core;
    if production {
        match rollout.pending.clone().filter(|p| p.ring_id == ring) {
            None => {
                return Ok(Decision::FirstApproval { dep, ring, resume });
            }
            Some(p) => {
                let what = if resume { "resuming" } else { "opening" };
                another_person(&p, actor, &format!("{what} {ring}"))?;
                return Ok(Decision::Open {
                    dep,
                    ring,
                    attempt,
                    completes: Some(p),
                });
            }
        }
    }
    Ok(Decision::Open {
        dep,
        ring,
        attempt,
        completes: None,
    })
}

fn hold_decision(
    state: &State,
    d: &crate::model::Deployment,
    current: Option<&(String, RingStatus)>,
    hold: RingState,
) -> Result<Decision, ActError> {
    let verb = if hold == RingState::Paused {
        "paused"
    } else {
        "halted"
    };
    let allowed = match hold {
        RingState::Paused => d.state == DeploymentState::Running,
        _ => matches!(d.state, DeploymentState::Running | DeploymentState::Paused),
    };
    let Some((ring, status)) = current.filter(|_| allowed) else {
        return Err(ActError::Conflict(format!(
            "{} is {}: only a running deployment can be {verb}",
            d.id,
            d.state.words()
        )));
    };
    if status.requested.is_some() {
        return Err(ActError::Conflict(format!(
            "{} is already being cancelled: SSM is finishing the invocations in progress",
            state.ring_name(ring)
        )));
    }
    if hold == RingState::Paused && status.in_flight.is_none() && !status.waiting {
        return Err(ActError::Conflict(format!(
            "{} has no command running to pause (it is {})",
            state.ring_name(ring),
            status.state.words()
        )));
    }
    Ok(Decision::Hold {
        dep: d.id.clone(),
        ring: ring.clone(),
        state: hold,
        cancel: status.in_flight.clone(),
    })
}

fn resume(
    state: &State,
    d: &crate::model::Deployment,
    current: Option<&(String, RingStatus)>,
) -> Result<Decision, ActError> {
    let Some((ring, status)) = current.filter(|_| d.state == DeploymentState::Paused) else {
        return Err(ActError::Conflict(format!(
            "{} is {}: only a paused deployment can be resumed (approve resumes a halted one)",
            d.id,
            d.state.words()
        )));
    };
    if status.requested.is_some() {
        return Err(ActError::Conflict(format!(
            "{} is still being cancelled: resume once SSM has finished",
            state.ring_name(ring)
        )));
    }
    let attempt = state
        .rollouts
        .get(&d.id)
        .map_or(1, |r| r.next_attempt(ring));
    Ok(Decision::Open {
        dep: d.id.clone(),
        ring: ring.clone(),
        attempt,
        completes: None,
    })
}

fn rollback_decision(
    state: &State,
    core: &Core,
    request: &ActionRequest,
    hosts: Vec<String>,
) -> Result<Decision, ActError> {
    let platform_of = |id: &str| {
        state
            .records
            .instances
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.platform.as_str().to_string())
            .unwrap_or_default()
    };
    let first = hosts
        .first()
        .ok_or_else(|| ActError::Conflict("no host to roll back".into()))?;
    let platform = platform_of(first);
    let document = core
        .settings
        .rollback
        .iter()
        .find(|d| d.platform.eq_ignore_ascii_case(&platform))
        .ok_or_else(|| {
            ActError::Unsupported(format!(
                "no operator-defined rollback document for {platform} hosts"
            ))
        })?;
    let kb = request
        .patch_id
        .clone()
        .or_else(|| {
            let host = state.view.hosts.get(first)?;
            host.failure.as_ref()?.patch_id.as_deref().map(String::from)
        })
        .ok_or_else(|| {
            ActError::Invalid("rollback needs the patch to uninstall (patch_id)".into())
        })?;
    let kb = kb.to_ascii_uppercase().trim_start_matches("KB").to_string();
    let hosts = hosts
        .into_iter()
        .filter(|h| platform_of(h).eq_ignore_ascii_case(&platform))
        .collect();
    Ok(Decision::Rollback {
        document: document.document.clone(),
        commands: document.commands.clone(),
        hosts,
        kb,
    })
}
