//! The in-memory copy of a fleet that the console reads: built from lists, kept current
//! by change events. Never goes backwards: an item is replaced only by a newer version.

use std::collections::BTreeMap;

use compact_str::CompactString;

use super::{Action, Change, Deployment, Event, Host, Patch, Ring, Seq, Summary};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fleet {
    pub summary: Option<Summary>,
    pub rings: BTreeMap<String, Ring>,
    pub deployments: BTreeMap<String, Deployment>,
    pub hosts: BTreeMap<CompactString, Host>,
    pub patches: BTreeMap<String, Patch>,
    pub actions: BTreeMap<String, Action>,
    /// Sequence number of the last event applied (or of the listing it was built from).
    pub sequence: Seq,
    /// Only the first screen's hosts (the failed ones) are in; the others are still
    /// being listed behind it: no count of hosts here is the fleet's whole yet.
    pub listing_hosts: bool,
}

/// Insert `item` unless the map holds the same or a newer version. Returns whether it changed.
fn upsert_versioned<K: Ord + std::borrow::Borrow<str> + for<'a> From<&'a str>, T>(
    map: &mut BTreeMap<K, T>,
    id: &str,
    item: T,
    version: fn(&T) -> u64,
) -> bool {
    match map.get_mut(id) {
        Some(existing) if version(existing) >= version(&item) => false,
        Some(existing) => {
            *existing = item;
            true
        }
        None => {
            map.insert(K::from(id), item);
            true
        }
    }
}

impl Fleet {
    /// Apply one resource's new state. Returns whether anything changed.
    pub fn upsert(&mut self, change: Change) -> bool {
        match change {
            Change::Summary(summary) => match &self.summary {
                Some(existing) if existing.version >= summary.version => false,
                _ => {
                    self.summary = Some(summary);
                    true
                }
            },
            Change::Ring(ring) => {
                let id = ring.id.clone();
                upsert_versioned(&mut self.rings, &id, ring, |r| r.version)
            }
            Change::Deployment(deployment) => {
                let id = deployment.id.clone();
                upsert_versioned(&mut self.deployments, &id, deployment, |d| d.version)
            }
            Change::Host(mut host) => {
                host.history.clear();
                let id = host.id.clone();
                upsert_versioned(&mut self.hosts, &id, host, |h| h.version)
            }
            Change::Patch(patch) => {
                let id = patch.id.clone();
                upsert_versioned(&mut self.patches, &id, patch, |p| p.version)
            }
            Change::Action(action) => {
                let id = action.id.clone();
                upsert_versioned(&mut self.actions, &id, action, |a| a.version)
            }
        }
    }

    /// Apply an event from the stream. Events at or below the current sequence were
    /// already seen and are ignored, so a replay after a reconnect never doubles.
    pub fn apply(&mut self, event: Event) -> bool {
        if event.seq <= self.sequence {
            return false;
        }
        self.sequence = event.seq;
        self.upsert(event.change);
        true
    }

    /// Hosts inserted one page at a time leave the map's nodes part empty (each split
    /// keeps about half); taken out and put back in one sorted pass, every node is full:
    /// about a third less memory for a fleet listed page by page.
    pub fn repack_hosts(&mut self) {
        self.hosts = std::mem::take(&mut self.hosts).into_iter().collect();
    }

    /// A ring's name for people, or its id when the fleet does not know the ring.
    pub fn ring_name(&self, id: &str) -> String {
        self.rings
            .get(id)
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    }

    /// Rings in rollout order.
    pub fn rings_in_order(&self) -> Vec<&Ring> {
        let mut rings: Vec<&Ring> = self.rings.values().collect();
        rings.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        rings
    }

    /// Items in a form that can be compared between two fleets regardless of how they
    /// were built (lists versus events): everything but the sequence.
    pub fn same_content(&self, other: &Fleet) -> bool {
        self.summary == other.summary
            && self.rings == other.rings
            && self.deployments == other.deployments
            && self.hosts == other.hosts
            && self.patches == other.patches
            && self.actions == other.actions
    }
}
