//! A host's history as SSM lets us tell it, for the host detail: each command that
//! reached the instance (oldest first; the rollout's attempts by their markers, a
//! rollback, a command sent outside patchdeck) with its invocation's `StatusDetails`,
//! `ResponseCode` and the first lines of its output, then the host's state now. Read
//! from the invocations the poller already holds (`ListCommandInvocations` with
//! `Details=true`): opening a detail costs no SSM call.

use super::State;
use crate::backend::aws_ssm::map;
use crate::backend::aws_ssm::rollout::Marker;
use crate::model::{Host, Transition};

/// Commands a history lists at most (the newest).
const COMMANDS_LISTED: usize = 20;

/// The history of `host` from the records held.
pub fn history(state: &State, host: &Host) -> Vec<Transition> {
    let mut steps: Vec<Transition> = state
        .records
        .commands
        .iter()
        .filter_map(|command| {
            let invocation = state
                .records
                .invocations
                .get(&command.id)?
                .iter()
                .find(|i| i.instance_id == host.id)?;
            let rollback = map::is_rollback(command);
            let label = match Marker::parse(&command.comment) {
                Some(m) => format!("{} {} try {}", m.deployment, m.ring, m.attempt),
                None if rollback => format!("rollback {}", command.document),
                None => format!("{} (outside patchdeck)", command.document),
            };
            let at = invocation
                .plugins
                .iter()
                .filter_map(|p| p.finished)
                .max()
                .or(invocation.requested)
                .or(command.requested)
                .unwrap_or(host.updated_at);
            Some(Transition {
                at,
                state: map::invocation_state(invocation, rollback),
                note: Some(
                    format!(
                        "{label}, command {}: {}",
                        command.id,
                        map::invocation_words(invocation)
                    )
                    .into(),
                ),
            })
        })
        .take(COMMANDS_LISTED)
        .collect();
    // Commands are held newest first; a history reads oldest first.
    steps.reverse();
    steps.push(Transition {
        at: host.updated_at,
        state: host.state,
        note: Some(match &host.failure {
            Some(f) => format!("now: {}: {}", f.code, f.message).into(),
            None => "now".into(),
        }),
    });
    steps
}
