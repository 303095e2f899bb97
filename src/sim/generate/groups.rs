//! Server patching groups by service (tiers, reboot order, redundancy) and their
//! servers.

use rand::Rng;

use crate::model::{Criticality, HostKind, PatchingGroup, Tier};
use crate::sim::engine::{GroupRun, RebootPhase};

use super::Builder;
use super::hosts::HostSpec;

struct Service {
    abbr: &'static str,
    name: &'static str,
    owner: &'static str,
    criticality: Criticality,
    tiers: &'static [Tier],
    redundant: bool,
}

const SERVICES: [Service; 6] = [
    Service {
        abbr: "pay",
        name: "Payments",
        owner: "Payments Platform team",
        criticality: Criticality::MissionCritical,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: true,
    },
    Service {
        abbr: "intra",
        name: "Intranet",
        owner: "Digital Workplace",
        criticality: Criticality::Medium,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: false,
    },
    Service {
        abbr: "file",
        name: "File services",
        owner: "Infrastructure",
        criticality: Criticality::Medium,
        tiers: &[Tier::File],
        redundant: true,
    },
    Service {
        abbr: "crm",
        name: "CRM",
        owner: "Sales Engineering",
        criticality: Criticality::High,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: true,
    },
    Service {
        abbr: "hr",
        name: "HR portal",
        owner: "People Systems",
        criticality: Criticality::High,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: false,
    },
    Service {
        abbr: "erp",
        name: "ERP",
        owner: "Finance Systems",
        criticality: Criticality::MissionCritical,
        tiers: &[Tier::App, Tier::Db],
        redundant: false,
    },
];

impl Builder {
    pub(super) fn servers(&mut self, ring: usize, count: usize, production: bool) {
        let groups = (count / 12).max(1);
        // The ring's groups are one shared list: built here, then put in once.
        let mut ring_groups = self.e.rings[ring].groups.to_vec();
        for g in 0..groups {
            let size = count / groups + usize::from(g < count % groups);
            let service = &SERVICES[g % SERVICES.len()];
            let instance = g / SERVICES.len() + 1;
            let suffix = if instance > 1 {
                instance.to_string()
            } else {
                String::new()
            };
            // A second group of the same service is "payments 2" / "grp-pay-2".
            let (id_suffix, name_suffix) = if instance > 1 {
                (format!("-{instance}"), format!(" {instance}"))
            } else {
                (String::new(), String::new())
            };
            let (id, name, prefix, criticality, redundant) = if production {
                (
                    format!("grp-{}{id_suffix}", service.abbr),
                    format!("{}{name_suffix}", service.name),
                    format!("srv-{}{suffix}", service.abbr),
                    service.criticality,
                    service.redundant,
                )
            } else {
                (
                    format!("grp-{}-stg{id_suffix}", service.abbr),
                    format!("{} (staging){name_suffix}", service.name),
                    format!("stg-{}{suffix}", service.abbr),
                    Criticality::Low,
                    false,
                )
            };
            let tiers = service.tiers;
            let mut per_tier = vec![0usize; tiers.len()];
            match tiers.len() {
                1 => per_tier[0] = size,
                2 => {
                    per_tier[0] = (size * 60 / 100).max(1);
                    per_tier[1] = size - per_tier[0];
                }
                _ => {
                    per_tier[0] = (size * 40 / 100).max(1);
                    per_tier[1] = (size * 35 / 100).max(1);
                    per_tier[2] = size - per_tier[0] - per_tier[1];
                }
            }
            let group_index = ring_groups.len();
            ring_groups.push(PatchingGroup {
                id: id.clone(),
                name: name.clone(),
                service: service.name.to_lowercase(),
                owner: service.owner.into(),
                criticality,
                reboot_order: tiers.to_vec(),
                redundant,
            });
            let g_index = self.e.groups.len();
            let datacenter = if g % 2 == 0 { "NYC-DC1" } else { "LON-DC2" };
            let mut members = Vec::new();
            for (t, &tier) in tiers.iter().enumerate() {
                for i in 0..per_tier[t] {
                    let cloud = production && tier == Tier::Web && self.rng().random_bool(0.5);
                    let model = if cloud {
                        "Azure VM D4s v5"
                    } else if !production || tier == Tier::App {
                        if self.rng().random_bool(0.7) {
                            "Hyper-V VM (Gen 2)"
                        } else {
                            "Fabrikam ProLiant DL380 Gen11"
                        }
                    } else if self.rng().random_bool(0.5) {
                        "Fabrikam ProLiant DL380 Gen11"
                    } else {
                        "Contoso PowerEdge R760"
                    };
                    let os = if self.rng().random_bool(0.6) {
                        "Windows Server 2022 Datacenter"
                    } else {
                        "Windows Server 2025 Datacenter"
                    };
                    let site = if cloud {
                        "Azure West Europe"
                    } else {
                        datacenter
                    };
                    members.push(self.e.hosts.len() as u32);
                    self.push_host(HostSpec {
                        ring,
                        name: format!("{prefix}-{}-{:02}", tier.as_str(), i + 1),
                        kind: HostKind::Server,
                        site,
                        os,
                        model,
                        group: Some((g_index, id.clone(), &name, tier)),
                        criticality,
                        exposed: production && tier == Tier::Web,
                        roaming: false,
                    });
                }
            }
            self.e.groups.push(GroupRun {
                ring,
                index: group_index,
                members,
                phase: RebootPhase::Idle,
            });
        }
        self.e.rings[ring].groups = ring_groups.into();
    }
}
