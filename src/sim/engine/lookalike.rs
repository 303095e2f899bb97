//! Look-alike hosts: what a resume would meet again. Before a halted (or paused) ring
//! resumes, the plan warns when pending hosts share the model of the hosts that failed
//! there (or, failures of mixed models, their patch), with their count. It reads the
//! failures kept on the hosts (`HostRun::last_failure`), which a rollback or an
//! exclusion does not clear, so the warning is still there when the failed hosts are.

use std::collections::BTreeMap;

use crate::backend::ActionRequest;
use crate::model::{DeploymentState, Failure, HostState, TargetKind, Verb};

use super::Engine;

impl Engine {
    /// The deployment and ring `request` would resume, if it resumes one: approving a
    /// halted deployment, resuming a deployment or a ring.
    pub(super) fn resumed(&self, request: &ActionRequest) -> Option<(usize, usize)> {
        let id = request.target.id.as_str();
        match (request.verb, request.target.kind) {
            (Verb::Approve, TargetKind::Deployment) => {
                let d = self.deployment_index(id)?;
                (self.deployments[d].state == DeploymentState::Halted)
                    .then(|| self.current_ring(d).map(|r| (d, r)))?
            }
            (Verb::Resume, TargetKind::Deployment) => {
                let d = self.deployment_index(id)?;
                Some((d, self.current_ring(d)?))
            }
            (Verb::Resume, TargetKind::Ring) => {
                let r = self.ring_index(id)?;
                Some((self.ring_runs[r].deployment?, r))
            }
            _ => None,
        }
    }

    /// The warnings for resuming deployment `d` in ring `r`: the biggest group of the
    /// ring's failures in `d` (by code), and the pending hosts (in `r` and the later
    /// rings of `d`) that share its model, or else its patch.
    pub(super) fn look_alike_warnings(&self, d: usize, r: usize) -> Vec<String> {
        let mut by_code: BTreeMap<&str, Vec<(usize, &Failure)>> = BTreeMap::new();
        for (h, run) in self.host_runs.iter().enumerate() {
            if let Some((fd, failure)) = run.last_failure.as_deref()
                && *fd == d
                && run.home == r
            {
                by_code.entry(&failure.code).or_default().push((h, failure));
            }
        }
        // The biggest group; of equal ones, the first code.
        let Some((code, group)) = by_code
            .iter()
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then(b.0.cmp(a.0)))
        else {
            return Vec::new();
        };
        let ring = &self.rings[r];
        let deployment = &self.deployments[d];
        let pending: Vec<usize> = (0..self.hosts.len())
            .filter(|&h| {
                matches!(
                    self.hosts[h].state,
                    HostState::Pending | HostState::Deferred
                )
            })
            .filter(|&h| {
                let home = &self.rings[self.host_runs[h].home];
                self.host_runs[h].home == r
                    || (home.order > ring.order && deployment.rings.contains(&home.id))
            })
            .collect();
        let where_words = |hosts: &[usize]| {
            let here = hosts
                .iter()
                .filter(|&&h| self.host_runs[h].home == r)
                .count();
            format!(
                "{here} in {}, {} in later rings",
                ring.name,
                hosts.len() - here
            )
        };
        let failed = group.len();
        let code = crate::text::clean(code);
        let them = if failed == 1 {
            "the host that failed".to_string()
        } else {
            format!("the {failed} hosts that failed")
        };
        let model = &self.hosts[group[0].0].model;
        if group.iter().all(|(h, _)| &self.hosts[*h].model == model) {
            let same: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&h| &self.hosts[h].model == model)
                .collect();
            let model = crate::text::clean(model);
            return vec![match same.len() {
                0 => format!(
                    "look-alikes: no pending host shares model {model} with {them} with {code}"
                ),
                n => format!(
                    "WARNING: {} ({}) {} model {model} with {them} with {code}: exclude them first or they may fail too",
                    pending_hosts(n),
                    where_words(&same),
                    if n == 1 { "shares" } else { "share" },
                ),
            }];
        }
        // Failures of several models: what they share is the patch.
        let patch = group[0].1.patch_id.as_ref();
        if let Some(patch) = patch
            && group
                .iter()
                .all(|(_, f)| f.patch_id.as_ref() == Some(patch))
            && deployment.patch_ids.iter().any(|p| p == patch)
            && !pending.is_empty()
        {
            let kb = self
                .patches
                .iter()
                .find(|p| &p.id == patch)
                .map_or(patch.as_str(), |p| p.kb.as_str());
            return vec![format!(
                "WARNING: {} ({}) {} {}, the patch that failed with {code} on {}",
                pending_hosts(pending.len()),
                where_words(&pending),
                if pending.len() == 1 {
                    "installs"
                } else {
                    "install"
                },
                crate::text::clean(kb),
                if failed == 1 {
                    "the failed host".to_string()
                } else {
                    format!("all {failed} failed hosts (of several models)")
                },
            )];
        }
        Vec::new()
    }
}

/// "1 pending host", "5 pending hosts".
fn pending_hosts(n: usize) -> String {
    if n == 1 {
        "1 pending host".into()
    } else {
        format!("{n} pending hosts")
    }
}
