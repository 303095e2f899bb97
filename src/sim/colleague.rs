//! The demo's second approver. The built-in demo has one operator, and an emergency
//! takes two people; so that one person can walk the whole path, a simulated
//! colleague, `dana (demo colleague)`, confirms the operator's emergency request a
//! few seconds after it is made, saying in the confirmation that she is simulated.
//! Only the console's demo starts her; `patchdeck serve` never does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{ActionRequest, Backend};
use crate::model::{Identity, Role, Summary, Target, TargetKind, Verb};

use super::Simulator;

/// The simulated colleague's name.
pub const DEMO_COLLEAGUE: &str = "dana (demo colleague)";

/// How long she takes to read the request before she confirms it.
pub const DEMO_COLLEAGUE_DELAY: Duration = Duration::from_secs(4);

/// The confirmation she sends for `pending`: the same patch, reason and ticket, and
/// an override reason when the patch needs one.
pub fn confirmation(pending: &crate::model::PendingEmergency) -> ActionRequest {
    let mut request = ActionRequest::new(
        Verb::Emergency,
        Target {
            kind: TargetKind::Fleet,
            id: TargetKind::Fleet.as_str().to_string(),
        },
    );
    request.patch_id = Some(pending.patch_id.clone());
    request.reason = Some(format!(
        "demo: a simulated colleague confirms ({})",
        pending.reason
    ));
    request.ticket = Some(pending.ticket.clone());
    request.override_reason = pending
        .override_needed
        .as_ref()
        .map(|_| "demo: a simulated colleague accepts the override".to_string());
    request
}

/// What the colleague remembers: the request she is reading and since when.
#[derive(Debug, Default)]
pub struct Colleague {
    reading: Option<(String, Instant)>,
}

impl Colleague {
    /// Looks at the summary at `now`: the confirmation to send, once a request by
    /// someone else has waited [`DEMO_COLLEAGUE_DELAY`].
    pub fn look(&mut self, summary: &Summary, now: Instant) -> Option<ActionRequest> {
        let pending = summary
            .pending_emergency
            .as_ref()
            .filter(|p| p.requested_by != DEMO_COLLEAGUE);
        let Some(pending) = pending else {
            self.reading = None;
            return None;
        };
        match &self.reading {
            Some((id, since)) if *id == pending.action_id => {
                if now.duration_since(*since) < DEMO_COLLEAGUE_DELAY {
                    return None;
                }
                self.reading = None;
                Some(confirmation(pending))
            }
            _ => {
                self.reading = Some((pending.action_id.clone(), now));
                None
            }
        }
    }
}

/// Runs the colleague until the task is aborted: every second she looks at the
/// summary and confirms what has waited long enough.
pub fn spawn_demo_colleague(simulator: Arc<Simulator>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let dana = Identity::new(DEMO_COLLEAGUE, Role::Approver);
        let mut colleague = Colleague::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let (summary, _) = simulator.summary();
            if let Some(confirm) = colleague.look(&summary, Instant::now()) {
                // A refusal (the request expired, a race) is the fleet's answer.
                let _ = simulator.act(confirm, &dana);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Scenario, SimConfig};

    #[test]
    fn the_demo_colleague_confirms_the_operator_s_emergency_request() {
        let sim = Simulator::new(SimConfig {
            hosts: 300,
            seed: 10,
            scenario: Scenario::ZeroDay,
            start: chrono::Utc::now(),
        });
        let patch = sim
            .patches()
            .items
            .into_iter()
            .find(|p| !p.exploited_cves.is_empty())
            .expect("the zero-day fix");
        let mut ask = ActionRequest::new(
            Verb::Emergency,
            Target {
                kind: TargetKind::Fleet,
                id: "fleet".into(),
            },
        );
        ask.patch_id = Some(patch.id.clone());
        ask.reason = Some("exploited".into());
        ask.ticket = Some("SEC-1".into());
        sim.act(ask, &Identity::new("you", Role::Approver))
            .expect("the request");
        let mut dana = Colleague::default();
        let t0 = Instant::now();
        assert!(
            dana.look(&sim.summary().0, t0).is_none(),
            "she reads it first"
        );
        let early = t0 + DEMO_COLLEAGUE_DELAY / 2;
        assert!(dana.look(&sim.summary().0, early).is_none());
        let confirm = dana
            .look(&sim.summary().0, t0 + DEMO_COLLEAGUE_DELAY)
            .expect("she confirms once she has read it");
        sim.act(confirm, &Identity::new(DEMO_COLLEAGUE, Role::Approver))
            .expect("the confirmation starts it");
        let summary = sim.summary().0;
        let emergency = summary.emergency.expect("confirmed by the colleague");
        assert_eq!(emergency.confirmed_by, DEMO_COLLEAGUE);
        assert!(summary.pending_emergency.is_none());
    }
}
