//! Test coverage in the simulator's plans: before a ring opens (a deployment's approval)
//! or resumes, the plan warns of the hardware models, OS builds and server tiers of that
//! ring and the later ones that never passed through an earlier ring
//! ([`crate::model::coverage`], the one computation every backend and the console use).

use crate::backend::ActionRequest;
use crate::model::{DeploymentState, TargetKind, Verb};

use super::Engine;

impl Engine {
    /// The deployment and ring `request` would open or resume, if any: approving a
    /// deployment that awaits approval opens its next ring; a resume is
    /// [`Engine::resumed`]'s.
    fn opened_or_resumed(&self, request: &ActionRequest) -> Option<(usize, usize)> {
        if (request.verb, request.target.kind) == (Verb::Approve, TargetKind::Deployment) {
            let d = self.deployment_index(&request.target.id)?;
            if self.deployments[d].state == DeploymentState::AwaitingApproval {
                let next = self.deployments[d].next_ring.as_deref()?;
                return Some((d, self.ring_index(next)?));
            }
        }
        self.resumed(request)
    }

    /// The plan's test-coverage warnings for `request` (none for other actions, for
    /// a deployment's first ring, or when every model, build and tier passed).
    pub(super) fn coverage_warnings(&self, request: &ActionRequest) -> Vec<String> {
        let Some((d, r)) = self.opened_or_resumed(request) else {
            return Vec::new();
        };
        crate::model::coverage(
            &self.deployments[d],
            &self.rings[r].id,
            &self.rings,
            &self.hosts,
        )
        .map(|c| c.notes())
        .unwrap_or_default()
    }
}
