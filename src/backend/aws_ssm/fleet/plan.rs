//! The dry run of an action: what `act` would do now, from the same decision.

use chrono::{DateTime, Utc};

use super::decide::{Decision, decide, ring_hosts};
use super::{Core, State};
use crate::backend::aws_ssm::rollout::Phase;
use crate::backend::{ActError, ActionRequest};
use crate::model::{
    ActionPlan, ApprovalPlan, ApprovalStep, HostKind, Identity, PlanHosts, PlanStage, PlanWindow,
    Target,
};

/// What `act` would do now (a dry run): approve, halt, pause and resume with their
/// stages; a second approval by the same person is a plan that says so.
pub fn plan(
    core: &Core,
    request: &ActionRequest,
    actor: &Identity,
) -> Result<ActionPlan, ActError> {
    let now = core.now();
    let state = core.lock();
    let decided = match decide(&state, core, request, actor, true) {
        Ok(decided) => decided,
        Err(ActError::SecondApproverRequired(why)) => {
            let rollout = state.rollouts.get(&request.target.id);
            let pending = rollout.and_then(|r| r.pending.clone());
            let mut plan = empty_plan(&state, request, now, why.clone());
            plan.approval = Some(ApprovalPlan {
                step: ApprovalStep::AlreadyYours,
                first_approver: pending.as_ref().map(|p| p.first_approver.clone()),
                first_at: pending.as_ref().map(|p| p.at),
                words: why,
            });
            return Ok(plan);
        }
        Err(error) => return Err(error),
    };
    let mut plan = empty_plan(&state, request, now, String::new());
    plan.target_name = decided.target_name.clone();
    plan.target_version = decided.target_version;
    let settings = &core.settings;
    let stage = |ring: &str| {
        let ids = ring_hosts(&state, ring);
        let servers = ids
            .iter()
            .filter(|h| {
                state
                    .view
                    .hosts
                    .get(*h)
                    .is_some_and(|h| h.kind == HostKind::Server)
            })
            .count() as u32;
        let found = state.view.rings.iter().find(|r| r.id == ring);
        let name = state.ring_name(ring);
        PlanStage {
            ring_id: ring.to_string(),
            ring_name: name,
            hosts: PlanHosts::of(ids.iter().map(String::as_str)),
            servers,
            window: found.map_or_else(
                || plan_window(&crate::model::MaintenanceWindow::always("UTC", 0), now),
                |r| plan_window(&r.window, now),
            ),
        }
    };
    match &decided.decision {
        Decision::Open { dep, ring, .. } | Decision::FirstApproval { dep, ring, .. } => {
            let (attempt, completes) = match &decided.decision {
                Decision::Open {
                    attempt, completes, ..
                } => (*attempt, completes.clone()),
                _ => (1, None),
            };
            let s = stage(ring);
            plan.hosts = s.hosts.count;
            plan.servers = s.servers;
            // RebootIfNeeded: a host reboots if its updates ask; SSM does not say
            // beforehand which will, so every host of the ring may.
            plan.reboots = s.hosts.count;
            plan.reboots_uncertain = true;
            let first = matches!(decided.decision, Decision::FirstApproval { .. });
            let waits = s.window.opens_at.filter(|_| !s.window.open_now);
            plan.summary = if first {
                format!(
                    "first approval to open {}: a second person must approve",
                    s.ring_name
                )
            } else if let Some(opens_at) = waits {
                format!(
                    "{} approved: SendCommand AWS-RunPatchBaseline Install, attempt {attempt}, when its window opens ({})",
                    s.ring_name,
                    opens_at.format("%a %H:%M UTC")
                )
            } else {
                format!(
                    "{} opened: SendCommand AWS-RunPatchBaseline Install, attempt {attempt}",
                    s.ring_name
                )
            };
            plan.notes.push(format!(
                "SendCommand to tag {}={}, MaxConcurrency {}, MaxErrors {}",
                settings.tag_key, s.ring_name, settings.max_concurrency, settings.max_errors
            ));
            plan.notes
                .push("RebootOption RebootIfNeeded: a host reboots if its updates need it".into());
            if let Some(opens_at) = waits {
                plan.notes.push(format!(
                    "{}'s maintenance window is closed: the command is sent when {}'s window \
                     opens ({}); nothing goes to SSM before",
                    s.ring_name,
                    s.ring_name,
                    opens_at.format("%a %H:%M UTC")
                ));
            }
            let excluded: Vec<&str> = state
                .view
                .hosts
                .values()
                .filter(|h| h.ring_id == *ring && h.state == crate::model::HostState::Excluded)
                .map(|h| h.id.as_str())
                .collect();
            if !excluded.is_empty() {
                plan.notes.push(format!(
                    "{} excluded hosts carry the ring's tag: SSM's tag-targeted command still reaches them",
                    excluded.len()
                ));
            }
            // The models, builds and tiers of this ring and the later ones that never
            // passed through an earlier ring (the one computation the simulator uses).
            let deployment = state.view.deployments.iter().find(|d| d.id == *dep);
            if let Some(gaps) = deployment.and_then(|d| {
                crate::model::coverage(d, ring, &state.view.rings, state.view.hosts.values())
            }) {
                plan.notes.extend(gaps.notes());
            }
            if first {
                plan.approval = Some(ApprovalPlan {
                    step: ApprovalStep::First,
                    first_approver: None,
                    first_at: None,
                    words: "production ring: this is the first of two approvals".into(),
                });
            } else if let Some(p) = completes {
                plan.approval = Some(ApprovalPlan {
                    step: ApprovalStep::Completes,
                    first_approver: Some(p.first_approver.clone()),
                    first_at: Some(p.at),
                    words: format!("completes {}'s approval", p.first_approver),
                });
            }
            plan.stages.push(s);
        }
        Decision::Hold {
            dep,
            ring,
            state: hold,
            cancel,
        } => {
            let name = state.ring_name(ring);
            plan.summary = format!("{name} {}", hold.words());
            match cancel {
                Some(c) => plan.notes.push(format!(
                    "CancelCommand {c}: pending hosts are cancelled; invocations already running may finish (SSM cannot pause)"
                )),
                None if waits(&state, dep, ring) => plan.notes.push(format!(
                    "{name}'s approved command waits for its window: the wait is cancelled, nothing is sent to SSM"
                )),
                None => plan.notes.push("no command is running: nothing is sent to SSM".into()),
            }
        }
        Decision::Decline { dep } => {
            plan.summary = format!("{dep} declined: nothing is sent to SSM")
        }
        Decision::Retry { host, .. } => {
            plan.summary = format!("SendCommand AWS-RunPatchBaseline Install to {host}");
            plan.hosts = 1;
        }
        Decision::Exclude { host } => {
            plan.summary = format!(
                "{host}: exception {} (kept by patchdeck)",
                request.verb.past_tense()
            )
        }
        Decision::Rollback {
            document,
            hosts,
            kb,
            ..
        } => {
            plan.summary = format!("operator-defined rollback: {document} uninstalling KB{kb}");
            plan.hosts = hosts.len() as u32;
            plan.restore_required = PlanHosts::default();
        }
    }
    if request.verb.needs_reason() {
        if decided.request.reason.is_none() {
            plan.needs.push("reason".into());
        }
        if decided.request.ticket.is_none() {
            plan.needs.push("ticket".into());
        }
    }
    Ok(plan)
}

/// Does `ring`'s approved command in `dep` wait for its window (and is not held)?
fn waits(state: &State, dep: &str, ring: &str) -> bool {
    state.rollouts.get(dep).is_some_and(|r| {
        r.hold(ring).is_none()
            && r.latest(ring)
                .is_some_and(|a| matches!(a.phase, Phase::Waiting(_)))
    })
}

fn empty_plan(
    state: &State,
    request: &ActionRequest,
    now: DateTime<Utc>,
    summary: String,
) -> ActionPlan {
    let _ = state;
    ActionPlan {
        verb: request.verb,
        target: Target {
            kind: request.target.kind,
            id: request.target.id.clone(),
        },
        target_name: request.target.id.clone(),
        target_version: 0,
        at: now,
        summary,
        approval: None,
        stages: Vec::new(),
        hosts: 0,
        servers: 0,
        reboots: 0,
        reboots_uncertain: false,
        services: Vec::new(),
        restore_required: PlanHosts::default(),
        not_uninstallable: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
        needs: Vec::new(),
    }
}

/// Where `window` stands at `now`, as a plan says it.
fn plan_window(window: &crate::model::MaintenanceWindow, now: DateTime<Utc>) -> PlanWindow {
    let always = window.days.is_empty() && window.duration_minutes >= 24 * 60;
    match window.status(now) {
        crate::model::WindowStatus::Open { closes_at } => PlanWindow {
            always,
            open_now: true,
            closes_at: (!always).then_some(closes_at),
            opens_at: None,
        },
        crate::model::WindowStatus::Closed { opens_at } => PlanWindow {
            always,
            open_now: false,
            closes_at: None,
            opens_at: Some(opens_at),
        },
    }
}
