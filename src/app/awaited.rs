//! Requests that await this console's identity: a ring approval or an emergency whose
//! first approver is another person and that this identity may complete. Each new one
//! rings the terminal bell once ([`Effect::Bell`]) and is said on the main screen
//! ("alice asks you to approve opening Wave 1").

use super::lists::Pane;
use super::{App, Effect, ListId};
use crate::model::{Deployment, TargetKind, Verb};
use crate::text;

/// One request awaiting this console: a stable key (to ring once) and its words.
#[derive(Debug, Clone, PartialEq)]
pub struct Awaited {
    pub key: String,
    pub words: String,
}

/// The requests awaiting this console's identity, oldest first by key order: nothing
/// when it is read-only, has no identity yet, may not approve, or asked itself.
pub fn awaited(app: &App) -> Vec<Awaited> {
    let Some(me) = app.identity.as_ref() else {
        return Vec::new();
    };
    let may = |verb, kind| {
        super::plan::role_check(verb, kind, Some(me.role), app.context.read_only).is_ok()
    };
    let mut out = Vec::new();
    if may(Verb::Approve, TargetKind::Deployment) {
        for deployment in app.fleet.deployments.values() {
            let Some(pending) = &deployment.pending_approval else {
                continue;
            };
            let first = if pending.first_person.is_empty() {
                &pending.first_approver
            } else {
                &pending.first_person
            };
            if me.is_person(first) {
                continue;
            }
            let opening = if pending.resume {
                "resuming"
            } else {
                "opening"
            };
            out.push(Awaited {
                key: format!(
                    "approval:{}:{}:{}",
                    deployment.id,
                    pending.ring_id,
                    pending.at.timestamp()
                ),
                words: format!(
                    "{} asks you to approve {opening} {} ({})",
                    text::clean(&pending.first_approver),
                    text::clean(&app.fleet.ring_name(&pending.ring_id)),
                    where_to_approve(app, deployment, &pending.ring_id),
                ),
            });
        }
    }
    if let Some(pending) = app
        .fleet
        .summary
        .as_ref()
        .filter(|s| s.emergency.is_none())
        .and_then(|s| s.pending_emergency.as_ref())
        && !me.is_person(&pending.person)
        && app.availability(crate::keys::KeyAction::Emergency).is_ok()
    {
        out.push(Awaited {
            key: format!("emergency:{}", pending.action_id),
            words: format!(
                "{} asks you to confirm an emergency for {}: E",
                text::clean(&pending.requested_by),
                text::clean(&pending.kb)
            ),
        });
    }
    out
}

/// After the fleet changed: one bell for any request newly awaiting this console
/// (never again for one already rung), and the set of rung keys kept to those still
/// awaited.
pub(super) fn bell(app: &mut App) -> Vec<Effect> {
    let now: Vec<String> = awaited(app).into_iter().map(|a| a.key).collect();
    let new = now.iter().any(|key| !app.bell_rung.contains(key));
    app.bell_rung = now.into_iter().collect();
    if new { vec![Effect::Bell] } else { Vec::new() }
}

/// How to approve it from where the cursor is: `a` on the ring it opens (or resumes)
/// in 1 Rings, or on its row in 2 Deployments.
fn where_to_approve(app: &App, deployment: &Deployment, ring: &str) -> String {
    let rings = ListId::Pane(Pane::Rings);
    let deployments = ListId::Pane(Pane::Deployments);
    // `a` on a ring approves the newest active deployment there: this one?
    let by_ring = app
        .fleet
        .deployments
        .values()
        .filter(|d| {
            d.state.is_active()
                && (d.current_ring.as_deref() == Some(ring) || d.next_ring.as_deref() == Some(ring))
        })
        .max_by_key(|d| d.created_at)
        .is_some_and(|d| d.id == deployment.id);
    let on = |list| app.active_list() == Some(list);
    let selected = |list| app.selected_key(list);
    if (on(rings) && by_ring && selected(rings).as_deref() == Some(ring))
        || (on(deployments) && selected(deployments).as_deref() == Some(&deployment.id))
    {
        "cursor on it: press a".into()
    } else if on(rings) && by_ring {
        "move to it, press a".into()
    } else if on(deployments) {
        format!("move to {}, press a", text::clean(&deployment.name))
    } else if by_ring {
        "1 Rings, move to it, press a".into()
    } else {
        format!(
            "2 Deployments, move to {}, press a",
            text::clean(&deployment.name)
        )
    }
}
