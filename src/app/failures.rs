//! Failed hosts grouped by error code, kept current from the hosts that change: a
//! batch of events costs work in proportion to the hosts it touches, not to the fleet.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::model::{Fleet, Host, HostState};

/// Hosts that failed with one error code.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureGroup {
    pub code: String,
    /// The most common message for the code.
    pub message: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Ring id -> hosts.
    pub rings: BTreeMap<String, u32>,
    /// Hardware model -> hosts.
    pub models: BTreeMap<String, u32>,
    /// Patch id -> hosts.
    pub patches: BTreeMap<String, u32>,
    /// Host ids, earliest failure first.
    pub hosts: Vec<String>,
}

impl FailureGroup {
    pub fn count(&self) -> usize {
        self.hosts.len()
    }

    /// Entries of a count map, largest first.
    pub fn ranked(map: &BTreeMap<String, u32>) -> Vec<(&str, u32)> {
        let mut entries: Vec<(&str, u32)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        entries
    }
}

/// What one failed host adds to its group, kept so that a change can be taken back.
#[derive(Debug, Clone, PartialEq)]
struct Contribution {
    code: String,
    message: String,
    at: DateTime<Utc>,
    ring: String,
    model: String,
    patch: Option<String>,
}

impl Contribution {
    fn of(host: &Host) -> Option<Contribution> {
        if host.state != HostState::Failed {
            return None;
        }
        let (code, message, at, patch) = match &host.failure {
            Some(f) => (
                f.code.as_str(),
                f.message.as_str(),
                f.at,
                f.patch_id.as_deref(),
            ),
            None => (
                "unknown",
                "failed without an error code",
                host.updated_at,
                None,
            ),
        };
        Some(Contribution {
            code: code.to_string(),
            message: message.to_string(),
            at,
            ring: host.ring_id.to_string(),
            model: host.model.to_string(),
            patch: patch.map(String::from),
        })
    }
}

/// Running counts of one error code.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tally {
    /// (failed at, host id): earliest first.
    hosts: BTreeSet<(DateTime<Utc>, String)>,
    messages: BTreeMap<String, u32>,
    rings: BTreeMap<String, u32>,
    models: BTreeMap<String, u32>,
    patches: BTreeMap<String, u32>,
}

fn count(map: &mut BTreeMap<String, u32>, key: &str, add: bool) {
    if add {
        *map.entry(key.to_string()).or_default() += 1;
    } else if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Tally {
    fn count(&mut self, host: &str, c: &Contribution, add: bool) {
        if add {
            self.hosts.insert((c.at, host.to_string()));
        } else {
            self.hosts.remove(&(c.at, host.to_string()));
        }
        count(&mut self.messages, &c.message, add);
        count(&mut self.rings, &c.ring, add);
        count(&mut self.models, &c.model, add);
        if let Some(patch) = &c.patch {
            count(&mut self.patches, patch, add);
        }
    }

    fn group(&self, code: &str) -> Option<FailureGroup> {
        let first_seen = self.hosts.first()?.0;
        let last_seen = self.hosts.iter().map(|(at, _)| *at).max()?;
        let message = self
            .messages
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(m, _)| m.clone())
            .unwrap_or_default();
        Some(FailureGroup {
            code: code.to_string(),
            message,
            first_seen,
            last_seen,
            rings: self.rings.clone(),
            models: self.models.clone(),
            patches: self.patches.clone(),
            hosts: self.hosts.iter().map(|(_, id)| id.clone()).collect(),
        })
    }
}

/// The Failed pane's groups, biggest first, and what they were counted from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureIndex {
    contributions: BTreeMap<String, Contribution>,
    tallies: BTreeMap<String, Tally>,
    groups: Vec<FailureGroup>,
}

impl FailureIndex {
    /// Groups, biggest first (then by code).
    pub fn groups(&self) -> &[FailureGroup] {
        &self.groups
    }

    /// Count the whole fleet again (a new snapshot).
    pub fn rebuild(&mut self, fleet: &Fleet) {
        *self = FailureIndex::default();
        self.update(fleet, fleet.hosts.keys().map(|k| k.as_str()));
    }

    /// Count again the hosts that changed (or went away).
    pub fn update<'a>(&mut self, fleet: &Fleet, ids: impl IntoIterator<Item = &'a str>) {
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for id in ids {
            let now = fleet.hosts.get(id).and_then(Contribution::of);
            if self.contributions.get(id) == now.as_ref() {
                continue;
            }
            if let Some(old) = self.contributions.remove(id) {
                if let Some(tally) = self.tallies.get_mut(&old.code) {
                    tally.count(id, &old, false);
                }
                touched.insert(old.code);
            }
            if let Some(new) = now {
                self.tallies
                    .entry(new.code.clone())
                    .or_default()
                    .count(id, &new, true);
                touched.insert(new.code.clone());
                self.contributions.insert(id.to_string(), new);
            }
        }
        if touched.is_empty() {
            return;
        }
        for code in &touched {
            let group = self.tallies.get(code).and_then(|t| t.group(code));
            let at = self.groups.iter().position(|g| &g.code == code);
            match (group, at) {
                (Some(group), Some(at)) => self.groups[at] = group,
                (Some(group), None) => self.groups.push(group),
                (None, Some(at)) => {
                    self.groups.remove(at);
                    self.tallies.remove(code);
                }
                (None, None) => {
                    self.tallies.remove(code);
                }
            }
        }
        self.groups
            .sort_by(|a, b| b.count().cmp(&a.count()).then_with(|| a.code.cmp(&b.code)));
    }
}

#[cfg(test)]
mod tests {
    use super::{Contribution, FailureGroup, FailureIndex};
    use crate::backend::Backend;
    use crate::model::{Fleet, Host, HostState};
    use crate::sim::{Scenario, SimConfig, Simulator};
    use std::collections::BTreeMap;

    /// Group every failed host from scratch: what the index must always agree with.
    fn counted_from_scratch(fleet: &Fleet) -> Vec<FailureGroup> {
        let mut by_code: BTreeMap<String, Vec<(&Host, Contribution)>> = BTreeMap::new();
        for host in fleet.hosts.values() {
            if let Some(c) = Contribution::of(host) {
                by_code.entry(c.code.clone()).or_default().push((host, c));
            }
        }
        let mut groups: Vec<FailureGroup> = by_code
            .into_iter()
            .map(|(code, mut hosts)| {
                hosts.sort_by(|a, b| a.1.at.cmp(&b.1.at).then_with(|| a.0.id.cmp(&b.0.id)));
                let mut messages: BTreeMap<&str, u32> = BTreeMap::new();
                let mut group = FailureGroup {
                    code,
                    message: String::new(),
                    first_seen: hosts[0].1.at,
                    last_seen: hosts.iter().map(|h| h.1.at).max().unwrap(),
                    rings: BTreeMap::new(),
                    models: BTreeMap::new(),
                    patches: BTreeMap::new(),
                    hosts: hosts.iter().map(|h| h.0.id.to_string()).collect(),
                };
                for (_, c) in &hosts {
                    *messages.entry(&c.message).or_default() += 1;
                    *group.rings.entry(c.ring.clone()).or_default() += 1;
                    *group.models.entry(c.model.clone()).or_default() += 1;
                    if let Some(p) = &c.patch {
                        *group.patches.entry(p.clone()).or_default() += 1;
                    }
                }
                group.message = messages
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(m, _)| m.to_string())
                    .unwrap();
                group
            })
            .collect();
        groups.sort_by(|a, b| b.count().cmp(&a.count()).then_with(|| a.code.cmp(&b.code)));
        groups
    }

    #[test]
    fn kept_current_from_changed_hosts_it_agrees_with_a_full_count() {
        let sim = Simulator::new(SimConfig {
            hosts: 600,
            seed: 7,
            scenario: Scenario::BadPatch,
            start: "2026-11-12T14:00:00Z".parse().unwrap(),
        });
        let mut fleet = sim.hosts_fleet();
        let mut index = FailureIndex::default();
        index.rebuild(&fleet);
        assert_eq!(index.groups(), counted_from_scratch(&fleet));
        let mut seen_failures = false;
        for _ in 0..40 {
            let since = sim.sequence();
            sim.advance(5 * 60);
            let mut changed = Vec::new();
            for event in sim.events_since(since).unwrap() {
                if let crate::model::Change::Host(host) = &event.change {
                    changed.push(host.id.to_string());
                }
                fleet.apply(event);
            }
            index.update(&fleet, changed.iter().map(String::as_str));
            assert_eq!(index.groups(), counted_from_scratch(&fleet));
            seen_failures |= !index.groups().is_empty();
        }
        assert!(seen_failures, "the bad patch failed some hosts");
        // A host that recovers (or goes away) leaves its group; an empty group goes.
        let failed: Vec<String> = fleet
            .hosts
            .values()
            .filter(|h| h.state == HostState::Failed)
            .map(|h| h.id.to_string())
            .collect();
        for id in &failed {
            fleet.hosts.get_mut(id.as_str()).unwrap().state = HostState::Pending;
        }
        fleet.hosts.remove(failed[0].as_str());
        index.update(&fleet, failed.iter().map(String::as_str));
        assert_eq!(index.groups(), []);
    }
}
