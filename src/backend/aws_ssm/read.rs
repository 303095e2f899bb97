//! One full read of an SSM fleet: every call of the read path, then the mapping. The
//! poller (next) calls the same pieces by tier; this is the whole sweep at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::client::{SsmClient, SsmError};
use super::map::{self, HostEvidence, MappedDeployment, PATCH_DOCUMENT};
use super::wire::{
    Command, CommandStatus, Instance, Invocation, PatchComplianceState, PatchGroup, PatchRow,
    PatchState, Window, WindowTarget,
};
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

/// What SSM answered, as records: the poller keeps them and refreshes what is in
/// flight between full sweeps; [`map_records`] turns them into the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    pub instances: Vec<Instance>,
    pub states: Vec<PatchState>,
    pub groups: Vec<PatchGroup>,
    /// `AWS-RunPatchBaseline` commands (and patchdeck's own), newest first.
    pub commands: Vec<Command>,
    /// The invocations of each command, by command id.
    pub invocations: HashMap<String, Vec<Invocation>>,
    /// The FAILED patches of the instances that report failures, by instance id.
    pub failed_patches: HashMap<String, Vec<PatchRow>>,
    /// Maintenance windows, enabled or not (read by the sweep only).
    pub windows: Vec<Window>,
    /// The targets of each enabled window, by window id.
    pub window_targets: HashMap<String, Vec<WindowTarget>>,
}

impl Records {
    /// Commands SSM has not finished (Pending, InProgress, Cancelling, unknown).
    pub fn in_flight(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter(|c| {
                !matches!(
                    c.status,
                    CommandStatus::Success
                        | CommandStatus::Cancelled
                        | CommandStatus::Failed
                        | CommandStatus::TimedOut
                )
            })
            .map(|c| c.id.clone())
            .collect()
    }

    fn sort_commands(&mut self) {
        self.commands
            .sort_by(|a, b| b.requested.cmp(&a.requested).then(b.id.cmp(&a.id)));
    }
}

/// Every call of a full sweep: instances, their patch states, patch groups, the
/// `AWS-RunPatchBaseline` commands with their invocations, the FAILED patches of
/// the instances that report failures, and the maintenance windows with the targets
/// of the enabled ones.
pub async fn fetch_all(client: &SsmClient) -> Result<Records, SsmError> {
    fetch_all_with(client, &[]).await
}

/// [`fetch_all`], and the commands of the operator's rollback documents too (a
/// rollback is read as one: its hosts rolled back or failing to).
pub async fn fetch_all_with(
    client: &SsmClient,
    rollback_documents: &[String],
) -> Result<Records, SsmError> {
    let instances = client.instances().await?;
    let ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    let states = client.patch_states(&ids).await?;
    let groups = client.patch_groups().await?;
    let mut commands = client.commands(PATCH_DOCUMENT, None).await?;
    let mut documents: Vec<&String> = rollback_documents
        .iter()
        .filter(|d| d.as_str() != PATCH_DOCUMENT)
        .collect();
    documents.sort();
    documents.dedup();
    for document in documents {
        for command in client.commands(document, None).await? {
            if map::is_rollback(&command) && !commands.iter().any(|c| c.id == command.id) {
                commands.push(command);
            }
        }
    }
    let mut records = Records {
        instances,
        states,
        groups,
        commands,
        ..Records::default()
    };
    records.sort_commands();
    for command in &records.commands {
        let list = client.invocations(&command.id).await?;
        records.invocations.insert(command.id.clone(), list);
    }
    fetch_failed_patches(client, &mut records, &ids).await?;
    records.windows = client.windows().await?;
    for window in records.windows.iter().filter(|w| w.enabled) {
        let targets = client.window_targets(&window.id).await?;
        records.window_targets.insert(window.id.clone(), targets);
    }
    Ok(records)
}

/// The in-flight tier: each command in flight (and `extra`, e.g. one just sent) read
/// again with its invocations, then the patch states and failed patches of the
/// instances those commands reached. Answers the records refreshed.
pub async fn fetch_in_flight(
    client: &SsmClient,
    old: &Records,
    extra: &[String],
) -> Result<Records, SsmError> {
    let mut records = old.clone();
    let mut ids = records.in_flight();
    for id in extra {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let mut reached: Vec<String> = Vec::new();
    for id in &ids {
        let fresh = client.commands(PATCH_DOCUMENT, Some(id)).await?;
        for command in fresh {
            records.commands.retain(|c| c.id != command.id);
            records.commands.push(command);
        }
        let list = client.invocations(id).await?;
        for invocation in &list {
            if !reached.contains(&invocation.instance_id) {
                reached.push(invocation.instance_id.clone());
            }
        }
        records.invocations.insert(id.clone(), list);
    }
    records.sort_commands();
    if !reached.is_empty() {
        let states = client.patch_states(&reached).await?;
        for state in states {
            records
                .states
                .retain(|s| s.instance_id != state.instance_id);
            records.states.push(state);
        }
        fetch_failed_patches(client, &mut records, &reached).await?;
    }
    Ok(records)
}

/// The FAILED patches of those of `ids` whose state or newest invocation reports a
/// failure.
async fn fetch_failed_patches(
    client: &SsmClient,
    records: &mut Records,
    ids: &[String],
) -> Result<(), SsmError> {
    for id in ids {
        let reported_failed = records
            .states
            .iter()
            .any(|s| &s.instance_id == id && s.failed > 0);
        let invocation_failed = records.commands.iter().find_map(|c| {
            let list = records.invocations.get(&c.id)?;
            let found = list.iter().find(|i| &i.instance_id == id)?;
            Some(found.plugins.iter().any(|p| p.response_code > 0))
        });
        if reported_failed || invocation_failed == Some(true) {
            let rows = client.patches(id, Some("FAILED")).await?;
            records.failed_patches.insert(id.clone(), rows);
        } else {
            records.failed_patches.remove(id);
        }
    }
    Ok(())
}

/// Reads the whole fleet at once (a sweep, mapped).
pub async fn read_fleet(client: &SsmClient, now: DateTime<Utc>) -> Result<FleetRead, SsmError> {
    Ok(map_records(&fetch_all(client).await?, now))
}

/// The records in patchdeck's model, as of `now`.
pub fn map_records(records: &Records, now: DateTime<Utc>) -> FleetRead {
    let instances = &records.instances;
    let commands = &records.commands;
    let empty = Vec::new();
    let invocations: Vec<(usize, &Vec<Invocation>)> = commands
        .iter()
        .enumerate()
        .map(|(index, c)| (index, records.invocations.get(&c.id).unwrap_or(&empty)))
        .collect();
    let states: HashMap<&str, _> = records
        .states
        .iter()
        .map(|s| (s.instance_id.as_str(), s))
        .collect();
    // Each host's invocation of the newest command that reached it.
    let mut latest: HashMap<&str, (usize, &Invocation)> = HashMap::new();
    for (index, list) in &invocations {
        for invocation in list.iter() {
            latest
                .entry(invocation.instance_id.as_str())
                .or_insert((*index, invocation));
        }
    }
    let patches_of = &records.failed_patches;
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
                rollback: command.is_some_and(map::is_rollback),
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
    let rings = rings(&records.groups, &hosts, &deployments);
    let mut patches: Vec<Patch> = Vec::new();
    let mut ids: Vec<&String> = patches_of.keys().collect();
    ids.sort();
    for id in ids {
        for row in &patches_of[id] {
            if row.state != PatchComplianceState::NotApplicable
                && !patches.iter().any(|p| p.kb == row.kb)
            {
                patches.push(map::patch(row, "Windows", now));
            }
        }
    }
    patches.sort_by(|a, b| a.id.cmp(&b.id));
    FleetRead {
        rings,
        hosts,
        deployments,
        patches,
        commands: commands.clone(),
        as_of: now,
    }
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
                name: host.ring_id.to_string(),
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
