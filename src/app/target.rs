//! What a key acts on from where the operator is: the verb it means here, the target
//! pointed at, and whether this identity may act on it.

use super::lists::Pane;
use super::navigation::selected_hosts;
use super::{App, ListId, Screen, plan};
use crate::keys::KeyAction;
use crate::model::{DeploymentState, RingState, TargetKind, VERBS, Verb};

/// How [`App::availability`] begins the reason of a verb the fleet cannot do.
pub const NOT_ON_THIS_FLEET: &str = "not on this fleet: ";

impl App {
    /// Can the operator use this key here? Err says why not.
    pub fn availability(&self, action: KeyAction) -> Result<(), String> {
        let Some(verb) = verb_of(action, self) else {
            return Ok(());
        };
        // What this fleet cannot do at all comes first: no role would help.
        if let Some(why) = self
            .fleet
            .summary
            .as_ref()
            .and_then(|s| s.capabilities.unavailable(verb))
        {
            return Err(format!("{NOT_ON_THIS_FLEET}{why}"));
        }
        plan::role_check(
            verb,
            self.target_kind_here(verb),
            self.identity.as_ref().map(|i| i.role),
            self.context.read_only,
        )
    }

    /// How this fleet does the verb of `action` its own way, when it says (SSM: "pause
    /// cancels the pending hosts; resume sends a new command").
    pub fn fleet_note(&self, action: KeyAction) -> Option<String> {
        let verb = verb_of(action, self)?;
        self.fleet
            .summary
            .as_ref()
            .and_then(|s| s.capabilities.note(verb))
            .map(str::to_string)
    }

    /// The kind of thing an action acts on from where the operator is.
    fn target_kind_here(&self, verb: Verb) -> TargetKind {
        if verb.spec().targets.contains(&TargetKind::Fleet) {
            return TargetKind::Fleet;
        }
        match self.screen() {
            Some(Screen::Deployment(_)) => TargetKind::Deployment,
            Some(Screen::Ring(_)) => TargetKind::Ring,
            Some(Screen::Host(_) | Screen::Hosts(_)) => TargetKind::Host,
            _ => match self.focus {
                Pane::Rings => TargetKind::Ring,
                Pane::Deployments | Pane::Actions | Pane::Compliance => TargetKind::Deployment,
                Pane::Failed | Pane::Exceptions => TargetKind::Host,
            },
        }
    }
}

/// The verb a key means here, from the verb table (`p` is pause or resume depending on
/// whether the target is paused).
pub(super) fn verb_of(action: KeyAction, app: &App) -> Option<Verb> {
    let mut specs = VERBS.iter().filter(|spec| spec.key_action == action.name());
    let first = specs.next()?;
    let Some(second) = specs.next() else {
        return Some(first.verb);
    };
    let (paused, halted) = match target_here(app) {
        Some(Here::Deployment(id)) => app.fleet.deployments.get(&id).map_or((false, false), |d| {
            (
                d.state == DeploymentState::Paused,
                d.state == DeploymentState::Halted,
            )
        }),
        Some(Here::Ring(id)) => app.fleet.rings.get(&id).map_or((false, false), |r| {
            (r.state == RingState::Paused, r.state == RingState::Halted)
        }),
        Some(Here::Hosts(_)) | None => (false, false),
    };
    if halted && second.when_paused {
        // A halt is resumed by approving the deployment again: `p` offers that.
        return Some(Verb::Approve);
    }
    Some(if second.when_paused == paused {
        second.verb
    } else {
        first.verb
    })
}

/// What the operator points at.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Here {
    Deployment(String),
    Ring(String),
    Hosts(Vec<String>),
}

pub(super) fn target_here(app: &App) -> Option<Here> {
    match app.screen() {
        Some(Screen::Deployment(id)) => return Some(Here::Deployment(id.clone())),
        Some(Screen::Ring(id)) => return Some(Here::Ring(id.clone())),
        Some(Screen::Host(id)) => return Some(Here::Hosts(vec![id.clone()])),
        Some(Screen::Hosts(_)) => return Some(Here::Hosts(selected_hosts(app))),
        Some(_) => return None,
        None => {}
    }
    match app.focus {
        Pane::Deployments => app
            .selected_key(ListId::Pane(Pane::Deployments))
            .map(Here::Deployment),
        Pane::Rings => app.selected_key(ListId::Pane(Pane::Rings)).map(Here::Ring),
        Pane::Failed | Pane::Exceptions => Some(Here::Hosts(selected_hosts(app))),
        Pane::Actions | Pane::Compliance => None,
    }
}
