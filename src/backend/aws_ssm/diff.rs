//! Poll differences into changes: the last read fleet, and what a new read changed, as
//! the `Change`s of the event stream (the console consumes them as from any backend).
//! Pure. Only changed resources get `version + 1`; a read older than the snapshot is
//! ignored (never backwards); a host missing from a complete read is kept, offline;
//! an online host's moving last ping alone is no change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::map::MappedDeployment;
use super::read::FleetRead;
use crate::model::{Change, Deployment, Host, HostState, Patch, Ring};

/// The fleet as last read, with patchdeck's versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub rings: BTreeMap<String, Ring>,
    pub hosts: BTreeMap<String, Host>,
    pub deployments: BTreeMap<String, MappedDeployment>,
    pub patches: BTreeMap<String, Patch>,
    /// When the read it holds was received (`None` before the first).
    pub as_of: Option<DateTime<Utc>>,
}

/// The same host but for its version, when it was read (`updated_at`, `as_of`) and
/// when an online host last pinged (which moves on every poll: alone it is no change,
/// so a quiet fleet makes no events; an offline host's last ping does not move). The
/// poll diff and the backend's published view both compare with these.
pub(crate) fn same_host(old: &Host, new: &Host) -> bool {
    let mut new = new.clone();
    new.version = old.version;
    new.updated_at = old.updated_at;
    new.as_of = old.as_of;
    if old.state != HostState::Offline && new.state != HostState::Offline {
        new.last_seen = old.last_seen;
    }
    &new == old
}

pub(crate) fn same_ring(old: &Ring, new: &Ring) -> bool {
    let mut new = new.clone();
    new.version = old.version;
    new.as_of = old.as_of;
    &new == old
}

pub(crate) fn same_deployment(old: &Deployment, new: &Deployment) -> bool {
    let mut new = new.clone();
    new.version = old.version;
    new.as_of = old.as_of;
    &new == old
}

pub(crate) fn same_patch(old: &Patch, new: &Patch) -> bool {
    let mut new = new.clone();
    new.version = old.version;
    &new == old
}

impl Snapshot {
    /// Takes in a complete read; answers the changes, hosts first, then patches,
    /// deployments and rings (aggregates after their parts).
    pub fn apply(&mut self, read: FleetRead) -> Vec<Change> {
        if self.as_of.is_some_and(|as_of| read.as_of < as_of) {
            return Vec::new();
        }
        self.as_of = Some(read.as_of);
        let mut changes = Vec::new();
        let mut seen = Vec::with_capacity(read.hosts.len());
        for mut host in read.hosts {
            seen.push(host.id.clone());
            match self.hosts.get(host.id.as_str()) {
                Some(old) if same_host(old, &host) => continue,
                Some(old) => host.version = old.version + 1,
                None => host.version = 1,
            }
            changes.push(Change::Host(host.clone()));
            self.hosts.insert(host.id.to_string(), host);
        }
        for host in self.hosts.values_mut() {
            if seen.contains(&host.id) || host.state == HostState::Offline {
                continue;
            }
            host.state = HostState::Offline;
            host.failure = None;
            host.deployment_id = None;
            host.updated_at = read.as_of;
            host.version += 1;
            changes.push(Change::Host(host.clone()));
        }
        for mut patch in read.patches {
            match self.patches.get(&patch.id) {
                Some(old) => {
                    // First seen stays first seen.
                    patch.released_at = old.released_at;
                    if same_patch(old, &patch) {
                        continue;
                    }
                    patch.version = old.version + 1;
                }
                None => patch.version = 1,
            }
            changes.push(Change::Patch(patch.clone()));
            self.patches.insert(patch.id.clone(), patch);
        }
        for mut mapped in read.deployments {
            let id = mapped.deployment.id.clone();
            match self.deployments.get(&id) {
                Some(old)
                    if same_deployment(&old.deployment, &mapped.deployment)
                        && old.rate == mapped.rate
                        && old.failure_gate == mapped.failure_gate =>
                {
                    continue;
                }
                Some(old) => mapped.deployment.version = old.deployment.version + 1,
                None => mapped.deployment.version = 1,
            }
            changes.push(Change::Deployment(mapped.deployment.clone()));
            self.deployments.insert(id, mapped);
        }
        for mut ring in read.rings {
            match self.rings.get(&ring.id) {
                Some(old) if same_ring(old, &ring) => continue,
                Some(old) => ring.version = old.version + 1,
                None => ring.version = 1,
            }
            changes.push(Change::Ring(ring.clone()));
            self.rings.insert(ring.id.clone(), ring);
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::backend::aws_ssm::map::{self, HostEvidence};
    use crate::backend::aws_ssm::wire::{Instance, PingStatus, PlatformType, ResourceType};

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn host(id: &str, ping: PingStatus, now: DateTime<Utc>) -> Host {
        let instance = Instance {
            id: id.into(),
            ping,
            last_ping: Some(at(0)),
            platform: PlatformType::Linux,
            platform_name: "Ubuntu".into(),
            platform_version: "22.04".into(),
            resource_type: ResourceType::Ec2Instance,
            computer_name: None,
            name: None,
            ip: None,
        };
        let evidence = HostEvidence {
            instance: &instance,
            patch_state: None,
            invocation: None,
            command_requested: None,
            deployment_id: None,
            patches: &[],
            rollback: false,
        };
        map::host(&evidence, "pilot", now)
    }

    fn read(hosts: Vec<Host>, now: DateTime<Utc>) -> FleetRead {
        FleetRead {
            rings: Vec::new(),
            hosts,
            deployments: Vec::new(),
            patches: Vec::new(),
            commands: Vec::new(),
            as_of: now,
        }
    }

    fn versions(changes: &[Change]) -> Vec<(String, u64)> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Host(h) => Some((h.id.to_string(), h.version)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn only_what_changed_between_polls_becomes_a_change_with_its_version_bumped() {
        let mut snapshot = Snapshot::default();
        let first = read(
            vec![
                host("i-1", PingStatus::Online, at(0)),
                host("i-2", PingStatus::Online, at(0)),
            ],
            at(0),
        );
        assert_eq!(
            versions(&snapshot.apply(first)),
            [("i-1".into(), 1), ("i-2".into(), 1)]
        );
        // Same facts a minute later: nothing to say (updated_at alone is no change).
        let same = read(
            vec![
                host("i-1", PingStatus::Online, at(1)),
                host("i-2", PingStatus::Online, at(1)),
            ],
            at(1),
        );
        assert!(snapshot.apply(same).is_empty());
        let lost = read(
            vec![
                host("i-1", PingStatus::Online, at(2)),
                host("i-2", PingStatus::ConnectionLost, at(2)),
            ],
            at(2),
        );
        assert_eq!(versions(&snapshot.apply(lost)), [("i-2".into(), 2)]);
        assert_eq!(snapshot.hosts["i-2"].state, HostState::Offline);
    }

    #[test]
    fn an_older_read_never_overwrites_a_newer_one() {
        let mut snapshot = Snapshot::default();
        snapshot.apply(read(
            vec![host("i-1", PingStatus::ConnectionLost, at(5))],
            at(5),
        ));
        let stale = read(vec![host("i-1", PingStatus::Online, at(3))], at(3));
        assert!(snapshot.apply(stale).is_empty());
        assert_eq!(snapshot.hosts["i-1"].state, HostState::Offline);
    }

    #[test]
    fn a_host_that_ssm_stops_listing_is_kept_offline_once() {
        let mut snapshot = Snapshot::default();
        snapshot.apply(read(vec![host("i-1", PingStatus::Online, at(0))], at(0)));
        let gone = snapshot.apply(read(Vec::new(), at(1)));
        assert_eq!(versions(&gone), [("i-1".into(), 2)]);
        assert_eq!(snapshot.hosts["i-1"].state, HostState::Offline);
        assert!(snapshot.apply(read(Vec::new(), at(2))).is_empty());
    }
}
