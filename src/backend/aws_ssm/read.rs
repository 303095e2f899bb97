//! One full read of an SSM fleet: every call of the read path, then the mapping. The
//! poller (next) calls the same pieces by tier; this is the whole sweep at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::client::{SsmClient, SsmError};
use super::map::{self, HostEvidence, MappedDeployment, PATCH_DOCUMENT};
use super::wire::{Command, Invocation, PatchComplianceState, PatchGroup, PatchRow};
use crate::model::{Host, Patch, Ring};

/// The ring of instances in no patch group.
pub const NO_PATCH_GROUP: &str = "no-patch-group";

/// A fleet as SSM reported it at `as_of`, in patchdeck's model.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRead {
    pub rings: Vec<Ring>,
    /// Ordered by id.
    pub hosts: Vec<Host>,
    /// Newest first.
    pub deployments: Vec<MappedDeployment>,
    pub patches: Vec<Patch>,
    /// The SSM commands read, newest first (the poller's in-flight list).
    pub commands: Vec<Command>,
    pub as_of: DateTime<Utc>,
}

/// Reads the whole fleet: instances, their patch states, patch groups, the
/// `AWS-RunPatchBaseline` commands with their invocations, and the patches of the
/// instances that report failures.
pub async fn read_fleet(client: &SsmClient, now: DateTime<Utc>) -> Result<FleetRead, SsmError> {
    let instances = client.instances().await?;
    let ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    let states = client.patch_states(&ids).await?;
    let groups = client.patch_groups().await?;
    let mut commands = client.commands(PATCH_DOCUMENT, None).await?;
    commands.sort_by(|a, b| b.requested.cmp(&a.requested).then(b.id.cmp(&a.id)));
    let mut invocations: Vec<(usize, Vec<Invocation>)> = Vec::new();
    for (index, command) in commands.iter().enumerate() {
        invocations.push((index, client.invocations(&command.id).await?));
    }
    let states: HashMap<&str, _> = states.iter().map(|s| (s.instance_id.as_str(), s)).collect();
    // Each host's invocation of the newest command that reached it.
    let mut latest: HashMap<&str, (usize, &Invocation)> = HashMap::new();
    for (index, list) in &invocations {
        for invocation in list {
            latest
                .entry(invocation.instance_id.as_str())
                .or_insert((*index, invocation));
        }
    }
    let mut patches_of: HashMap<String, Vec<PatchRow>> = HashMap::new();
    for instance in &instances {
        let reported_failed = states
            .get(instance.id.as_str())
            .is_some_and(|s| s.failed > 0);
        let invocation_failed = latest
            .get(instance.id.as_str())
            .is_some_and(|(_, i)| i.plugins.iter().any(|p| p.response_code > 0));
        if reported_failed || invocation_failed {
            let rows = client.patches(&instance.id, Some("FAILED")).await?;
            patches_of.insert(instance.id.clone(), rows);
        }
    }
    let mut hosts: Vec<Host> = instances
        .iter()
        .map(|instance| {
            let state = states.get(instance.id.as_str()).copied();
            let found = latest.get(instance.id.as_str());
            let command = found.map(|(index, _)| &commands[*index]);
            let deployment_id = command.map(|c| format!("cmd-{}", c.id));
            let evidence = HostEvidence {
                instance,
                patch_state: state,
                invocation: found.map(|(_, i)| *i),
                command_requested: command.and_then(|c| c.requested),
                deployment_id: deployment_id.as_deref(),
                patches: patches_of.get(&instance.id).map_or(&[], Vec::as_slice),
            };
            let group = state.map_or("", |s| s.patch_group.as_str());
            let ring = if group.is_empty() {
                NO_PATCH_GROUP.to_string()
            } else {
                map::ring_id(group)
            };
            map::host(&evidence, &ring, now)
        })
        .collect();
    hosts.sort_by(|a, b| a.id.cmp(&b.id));
    let deployments: Vec<MappedDeployment> = commands
        .iter()
        .enumerate()
        .map(|(index, command)| {
            let targeted: Vec<&str> = invocations[index]
                .1
                .iter()
                .map(|i| i.instance_id.as_str())
                .collect();
            let members: Vec<&Host> = hosts
                .iter()
                .filter(|h| targeted.contains(&h.id.as_str()))
                .collect();
            map::deployment(command, &members, now)
        })
        .collect();
    let rings = rings(&groups, &hosts, &deployments);
    let mut patches: Vec<Patch> = Vec::new();
    for rows in patches_of.values() {
        for row in rows {
            if row.state != PatchComplianceState::NotApplicable
                && !patches.iter().any(|p| p.kb == row.kb)
            {
                patches.push(map::patch(row, "Windows", now));
            }
        }
    }
    patches.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(FleetRead {
        rings,
        hosts,
        deployments,
        patches,
        commands,
        as_of: now,
    })
}

/// Rings: the registered patch groups in their order, then groups only seen on hosts,
/// then the instances in no group.
fn rings(groups: &[PatchGroup], hosts: &[Host], deployments: &[MappedDeployment]) -> Vec<Ring> {
    let mut all: Vec<PatchGroup> = groups.to_vec();
    for host in hosts {
        if !all.iter().any(|g| map::ring_id(&g.name) == host.ring_id)
            && host.ring_id != NO_PATCH_GROUP
        {
            all.push(PatchGroup {
                name: host.ring_id.clone(),
                baseline_id: String::new(),
                baseline_name: "default baseline".into(),
                operating_system: super::wire::OperatingSystem::Unknown(String::new()),
            });
        }
    }
    if hosts.iter().any(|h| h.ring_id == NO_PATCH_GROUP) {
        all.push(PatchGroup {
            name: NO_PATCH_GROUP.into(),
            baseline_id: String::new(),
            baseline_name: "default baseline".into(),
            operating_system: super::wire::OperatingSystem::Unknown(String::new()),
        });
    }
    all.iter()
        .enumerate()
        .map(|(order, group)| {
            let id = map::ring_id(&group.name);
            let members: Vec<&Host> = hosts.iter().filter(|h| h.ring_id == id).collect();
            let latest = deployments.iter().find(|d| d.ring_ids.contains(&id));
            map::ring(group, order as u32, &members, latest)
        })
        .collect()
}
