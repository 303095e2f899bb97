//! The hosts: workstations by ring and site, and how a host is added to the fleet.

use rand::Rng;

use crate::model::{Criticality, Host, HostKind, HostState, PatchList, Tier};
use crate::sim::engine::HostRun;

use super::rings::WAVES;
use super::{BAD_MODEL, Builder, NONPROD, PILOT, PROD, TEST};

const LAPTOPS: [&str; 2] = [BAD_MODEL, "Contoso Book 15 G4"];
const DESKTOPS: [&str; 3] = [
    "Fabrikam Desk 800 G6",
    "Fabrikam Mini 400",
    "Northwind Tower 7",
];

/// A host to add to the fleet.
pub(super) struct HostSpec<'a> {
    /// Home ring index.
    pub ring: usize,
    pub name: String,
    pub kind: HostKind,
    pub site: &'a str,
    pub os: &'a str,
    pub model: &'a str,
    /// Servers: the patching group (index into the engine's groups, its id and name)
    /// and tier.
    pub group: Option<(usize, String, &'a str, Tier)>,
    pub criticality: Criticality,
    pub exposed: bool,
    pub roaming: bool,
}

impl Builder {
    /// Add a pending host to its home ring.
    pub(super) fn push_host(&mut self, spec: HostSpec<'_>) {
        let HostSpec {
            ring,
            name,
            kind,
            site,
            os,
            model,
            group,
            criticality,
            exposed,
            roaming,
        } = spec;
        let h = self.e.hosts.len();
        let group_name = group
            .as_ref()
            .map(|(_, id, name, _)| format!("{id} {name}"))
            .unwrap_or_default();
        self.e
            .search_keys
            .push(format!("{name} {model} {site} {group_name}").to_lowercase());
        self.e.hosts.push(Host {
            id: compact_str::format_compact!("h-{:06}", h + 1),
            name: name.into(),
            ring_id: self.e.rings[ring].id.as_str().into(),
            kind,
            site: site.into(),
            os: os.into(),
            model: model.into(),
            group_id: group.as_ref().map(|(_, id, _, _)| id.into()),
            tier: group.as_ref().map(|(_, _, _, tier)| *tier),
            criticality,
            exposed,
            roaming,
            state: HostState::Pending,
            deployment_id: None,
            failure: None,
            last_seen: self.t,
            deferred_until: None,
            exception: None,
            installed: PatchList::new(&[self.e.patches[0].id.as_str().into()]),
            history: Vec::new(),
            updated_at: self.t,
            as_of: None,
            version: 1,
        });
        self.e.histories.push(Vec::new());
        self.e.host_runs.push(HostRun {
            home: ring,
            group: group.map(|(g, _, _, _)| g),
            ..HostRun::default()
        });
        self.e.ring_runs[ring].members.push(h as u32);
    }

    pub(super) fn workstation(&mut self, ring: usize, site: &str) {
        let laptop = self.rng().random_bool(0.5);
        // The Test ring is lab machines: no Contoso Book 14 G3 among them (which is how
        // the bad patch slips through Test).
        let model = if laptop && ring == TEST {
            LAPTOPS[1]
        } else if laptop {
            LAPTOPS[usize::from(!self.rng().random_bool(0.6))]
        } else {
            DESKTOPS[self.rng().random_range(0..DESKTOPS.len())]
        };
        let roaming = laptop && self.rng().random_bool(0.6);
        let os = if self.rng().random_bool(0.7) {
            "Windows 11 Enterprise 24H2"
        } else {
            "Windows 11 Enterprise 23H2"
        };
        let roll: f64 = self.rng().random();
        let criticality = if roll < 0.03 {
            Criticality::High
        } else if roll < 0.2 {
            Criticality::Medium
        } else {
            Criticality::Low
        };
        let counter = self.site_counters.entry(site.to_string()).or_default();
        *counter += 1;
        let name = format!("{site}-{}-{:05}", if laptop { "LT" } else { "WS" }, counter);
        self.push_host(HostSpec {
            ring,
            name,
            kind: HostKind::Workstation,
            site,
            os,
            model,
            group: None,
            criticality,
            exposed: false,
            roaming,
        });
    }

    pub(super) fn hosts(&mut self, n: usize) {
        let servers = (n * 8 / 100).max(6);
        let nonprod = (servers * 3 / 8).max(3);
        let prod = servers - nonprod;
        let workstations = n - servers;
        let test = (n / 100).max(1);
        let pilot = (n * 5 / 100).max(1);
        let rest = workstations - test - pilot;
        let all_sites: Vec<&str> = WAVES.iter().flat_map(|w| w.sites).collect();
        for _ in 0..test {
            let site = all_sites[self.rng().random_range(0..all_sites.len())];
            self.workstation(TEST, site);
        }
        for _ in 0..pilot {
            let site = all_sites[self.rng().random_range(0..all_sites.len())];
            self.workstation(PILOT, site);
        }
        let mut assigned = 0;
        for (i, wave) in WAVES.iter().enumerate() {
            let count = if i + 1 == WAVES.len() {
                rest - assigned
            } else {
                rest * wave.share_pct / 100
            };
            assigned += count;
            for _ in 0..count {
                let site = wave.sites[usize::from(self.rng().random_bool(0.35))];
                self.workstation(2 + i, site);
            }
        }
        self.servers(NONPROD, nonprod, false);
        self.servers(PROD, prod, true);
    }
}
