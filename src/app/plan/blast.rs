//! The blast radius of a plan: rings, hosts, servers, groups and reboots an action
//! touches, and the maintenance windows it will run in.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Deployment, Fleet, Host, HostKind, HostState, Patch, Ring};

/// What an action will touch, shown before anything is sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlastRadius {
    pub rings: Vec<String>,
    pub hosts: u32,
    pub servers: u32,
    /// "payments (web, app, db)" for each server patching group touched.
    pub groups: Vec<String>,
    /// Hosts that will reboot.
    pub reboots: u32,
    /// Patches that cannot be uninstalled, and hosts where a rollback needs a restore.
    pub not_uninstallable: Vec<String>,
    pub restore_hosts: u32,
    /// When it will run: each ring's maintenance window now.
    pub windows: Vec<String>,
    /// Hosts skipped and why ("3 hosts are not failed: not retried").
    pub notes: Vec<String>,
}

fn window_words(ring: &Ring, now: chrono::DateTime<chrono::Utc>) -> String {
    let (words, _) = crate::app::words::window_words(
        &ring.window,
        now,
        crate::app::words::WindowWording::Sentence,
    );
    format!("{}: {words}", ring.name)
}

/// Count hosts, servers, groups and reboots of a host set into a blast radius.
pub(super) fn measure_hosts<'a>(
    fleet: &Fleet,
    hosts: impl IntoIterator<Item = &'a Host>,
    patches: &[&Patch],
    rolling_back: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> BlastRadius {
    let mut blast = BlastRadius::default();
    let mut rings = BTreeSet::new();
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let reboot = patches.iter().any(|p| p.reboot_required);
    let mut stuck_kbs: BTreeSet<String> = BTreeSet::new();
    for host in hosts {
        // A rollback touches what the host has installed: it reboots to uninstall, and
        // what cannot be uninstalled means a restore.
        let (reboots, restore) = if rolling_back {
            let installed: Vec<&&Patch> = patches
                .iter()
                .filter(|p| host.installed.contains(&p.id))
                .collect();
            let stuck: Vec<&&&Patch> = installed.iter().filter(|p| !p.uninstallable).collect();
            stuck_kbs.extend(stuck.iter().map(|p| p.kb.clone()));
            (
                installed
                    .iter()
                    .any(|p| p.uninstallable && p.reboot_required),
                !stuck.is_empty(),
            )
        } else {
            (reboot, false)
        };
        blast.hosts += 1;
        rings.insert(host.ring_id.clone());
        if host.kind == HostKind::Server {
            blast.servers += 1;
            if let Some(group) = &host.group_id {
                let tiers = groups.entry(group.clone()).or_default();
                if let Some(tier) = host.tier {
                    tiers.insert(tier.as_str().to_string());
                }
            }
        }
        if reboots {
            blast.reboots += 1;
        }
        if restore {
            blast.restore_hosts += 1;
        }
    }
    blast.not_uninstallable = stuck_kbs.into_iter().collect();
    for ring_id in &rings {
        if let Some(ring) = fleet.rings.get(ring_id) {
            blast.rings.push(ring.name.clone());
            blast.windows.push(window_words(ring, now));
            for group in &ring.groups {
                if let Some(tiers) = groups.get(&group.id) {
                    blast.groups.push(format!(
                        "{} / {} ({})",
                        group.name,
                        group.service,
                        tiers.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        } else {
            blast.rings.push(ring_id.clone());
        }
    }
    blast
}

pub(super) fn deployment_patches<'a>(fleet: &'a Fleet, deployment: &Deployment) -> Vec<&'a Patch> {
    deployment
        .patch_ids
        .iter()
        .filter_map(|id| fleet.patches.get(id))
        .collect()
}

/// Hosts a deployment has touched (anything installed or attempted).
pub(super) fn touched_hosts<'a>(
    fleet: &'a Fleet,
    deployment_id: &str,
    ring: Option<&str>,
) -> Vec<&'a Host> {
    fleet
        .hosts
        .values()
        .filter(|h| {
            h.deployment_id.as_deref() == Some(deployment_id)
                && ring.is_none_or(|r| h.ring_id == r)
                && matches!(
                    h.state,
                    HostState::Succeeded
                        | HostState::Failed
                        | HostState::Installing
                        | HostState::PendingReboot
                        | HostState::Rebooting
                        | HostState::Verifying
                )
        })
        .collect()
}

/// The deployment running in a ring (for ring rollback), if any.
pub(super) fn deployment_in_ring<'a>(fleet: &'a Fleet, ring_id: &str) -> Option<&'a Deployment> {
    fleet
        .deployments
        .values()
        .filter(|d| d.rings.iter().any(|r| r == ring_id))
        .max_by_key(|d| (d.state.is_active(), d.created_at))
}

pub(super) fn rollback_notes(blast: &mut BlastRadius) {
    if !blast.not_uninstallable.is_empty() {
        blast.notes.push(format!(
            "RESTORE REQUIRED on {} hosts: {} cannot be uninstalled",
            blast.restore_hosts,
            blast.not_uninstallable.join(", ")
        ));
    }
    blast.notes.push(if blast.reboots > 0 {
        format!(
            "{} hosts reboot to uninstall, in their maintenance window",
            blast.reboots
        )
    } else {
        "no reboot needed to uninstall".into()
    });
}
