//! The host list's index (`:hosts` and its `/` filter): typing a letter into a list of
//! a million hosts looks up the few distinct values of each field (models, sites,
//! rings, states, error codes, groups) and searches one buffer of every lower-cased
//! name, instead of lower-casing and scanning each host's strings per key. Rows come
//! out in the list's order (hosts without a failure by name, then failed hosts by
//! earliest failure) as small ordinals, not copies of ids. Kept current from the hosts
//! that change; rebuilt when the fleet is replaced or a host is renamed.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::lists::HostFilter;
use crate::model::{Fleet, Host};

/// A host's place in the index: stable until the index is rebuilt.
pub type Ordinal = u32;

/// The fields a filter matches besides the name: few distinct values each.
const MODEL: usize = 0;
const SITE: usize = 1;
const RING: usize = 2;
const STATE: usize = 3;
const CODE: usize = 4;
const GROUP: usize = 5;
const FIELDS: usize = 6;

fn field(host: &Host, which: usize) -> &str {
    match which {
        MODEL => &host.model,
        SITE => &host.site,
        RING => &host.ring_id,
        STATE => host.state.as_str(),
        CODE => host.failure.as_ref().map_or("", |f| f.code.as_str()),
        GROUP => host.group_id.as_deref().unwrap_or(""),
        _ => "",
    }
}

/// The distinct values of one field, each with a small id, and their lower case.
#[derive(Debug, Clone, Default, PartialEq)]
struct Dictionary {
    ids: HashMap<String, u32>,
    lower: Vec<String>,
}

impl Dictionary {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.lower.len() as u32;
        self.ids.insert(value.to_string(), id);
        self.lower.push(value.to_lowercase());
        id
    }

    /// Per value id: does the value contain `needle` (lower case)?
    fn containing(&self, needle: &str) -> Vec<bool> {
        self.lower.iter().map(|v| v.contains(needle)).collect()
    }
}

/// Why a host sits where it does among the failed ones: earliest failure, then name.
type FailedKey = (DateTime<Utc>, CompactString, CompactString);

const SEPARATOR: char = '\u{1}';

/// Strings by ordinal, all in one buffer, each followed by a separator no filter
/// contains (so one substring search covers them all and never spans two).
#[derive(Debug, Clone, Default)]
struct Texts {
    text: String,
    /// Ordinal -> where its string starts in `text` (rising with the ordinal).
    starts: Vec<u32>,
}

impl Texts {
    fn push(&mut self, value: &str) {
        self.starts.push(self.text.len() as u32);
        self.text.push_str(value);
        self.text.push(SEPARATOR);
    }

    fn get(&self, ordinal: Ordinal) -> &str {
        let start = self.starts[ordinal as usize] as usize;
        let end = self
            .starts
            .get(ordinal as usize + 1)
            .map_or(self.text.len(), |e| *e as usize);
        &self.text[start..end - SEPARATOR.len_utf8()]
    }

    /// Per ordinal: does its string contain `needle`? One pass of a fast substring
    /// search over the whole buffer.
    fn containing(&self, needle: &str) -> Vec<bool> {
        let mut hits = vec![false; self.starts.len()];
        let mut ordinal = 0usize;
        for at in memchr::memmem::find_iter(self.text.as_bytes(), needle.as_bytes()) {
            // Matches come in rising order: step on to the string holding this one.
            while self
                .starts
                .get(ordinal + 1)
                .is_some_and(|next| *next as usize <= at)
            {
                ordinal += 1;
            }
            hits[ordinal] = true;
        }
        hits
    }
}

#[derive(Debug, Clone, Default)]
pub struct HostIndex {
    /// Ordinal -> host id.
    ids: Texts,
    /// Host id -> ordinal, hashed from `ids` (the ids are not copied again).
    by_id: HashTable<Ordinal>,
    hasher: RandomState,
    dictionaries: [Dictionary; FIELDS],
    /// Per field, ordinal -> value id.
    columns: [Vec<u32>; FIELDS],
    /// Ordinal -> lower-cased name.
    names: Texts,
    /// Hosts without a failure come first, by name then id: every ordinal in that order.
    by_name: Vec<Ordinal>,
    /// Hosts with a failure, in their order, and each one's key.
    failed: BTreeMap<FailedKey, Ordinal>,
    failed_keys: HashMap<Ordinal, FailedKey>,
    /// Ordinal -> has a failure (in `failed`).
    failing: Vec<bool>,
    /// A host was renamed: the name buffer is rebuilt at the next look-up.
    stale: bool,
}

impl HostIndex {
    /// The index of every host of `fleet`.
    /// Ordinals are given in name order, so a look-up walks every column front to back.
    pub fn build(fleet: &Fleet) -> HostIndex {
        let mut hosts: Vec<&Host> = fleet.hosts.values().collect();
        // `fleet.hosts` is in id order, so a stable sort by name is by name then id.
        hosts.sort_by(|a, b| a.name.cmp(&b.name));
        let mut index = HostIndex::default();
        for host in hosts {
            index.add(host);
        }
        index
    }

    pub fn len(&self) -> usize {
        self.ids.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.starts.is_empty()
    }

    /// The id of the host at `ordinal`.
    pub fn id(&self, ordinal: Ordinal) -> &str {
        self.ids.get(ordinal)
    }

    /// The ordinal of host `id`, if indexed.
    pub fn ordinal(&self, id: &str) -> Option<Ordinal> {
        let hash = self.hasher.hash_one(id);
        self.by_id.find(hash, |o| self.ids.get(*o) == id).copied()
    }

    fn add(&mut self, host: &Host) -> Ordinal {
        let ordinal = self.len() as Ordinal;
        self.ids.push(&host.id);
        let hash = self.hasher.hash_one(host.id.as_str());
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.by_id
            .insert_unique(hash, ordinal, |o| hasher.hash_one(ids.get(*o)));
        for (which, column) in self.columns.iter_mut().enumerate() {
            column.push(self.dictionaries[which].id(field(host, which)));
        }
        self.names.push(&host.name.to_lowercase());
        self.by_name.push(ordinal);
        self.failing.push(false);
        self.set_failure(ordinal, host);
        ordinal
    }

    fn set_failure(&mut self, ordinal: Ordinal, host: &Host) {
        let key = host
            .failure
            .as_ref()
            .map(|f| (f.at, host.name.clone(), host.id.clone()));
        if self.failed_keys.get(&ordinal) == key.as_ref() {
            return;
        }
        if let Some(old) = self.failed_keys.remove(&ordinal) {
            self.failed.remove(&old);
        }
        self.failing[ordinal as usize] = key.is_some();
        if let Some(key) = key {
            self.failed.insert(key.clone(), ordinal);
            self.failed_keys.insert(ordinal, key);
        }
    }

    /// Bring the hosts `ids` up to date with `fleet` (new ones are added).
    pub fn update<'a>(&mut self, fleet: &Fleet, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            let Some(host) = fleet.hosts.get(id) else {
                continue;
            };
            let Some(ordinal) = self.ordinal(id) else {
                let ordinal = self.add(host);
                // Its place by name among the others (the new one is last in by_name).
                self.by_name.pop();
                let at = self.by_name.partition_point(|o| {
                    let other = &fleet.hosts[self.id(*o)];
                    (other.name.as_str(), other.id.as_str()) < (host.name.as_str(), id)
                });
                self.by_name.insert(at, ordinal);
                continue;
            };
            for which in 0..FIELDS {
                let value = self.dictionaries[which].id(field(host, which));
                self.columns[which][ordinal as usize] = value;
            }
            self.set_failure(ordinal, host);
            if self.names.get(ordinal) != host.name.to_lowercase() {
                self.stale = true;
            }
        }
    }

    /// Hosts listed behind the first screen, taken as they come: in the list after
    /// the others until [`HostIndex::build`] puts every host in name order once the
    /// listing is done (a sorted insert per host would move the whole list each time).
    pub fn append<'a>(&mut self, fleet: &Fleet, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            match (fleet.hosts.get(id), self.ordinal(id)) {
                (Some(host), None) => {
                    self.add(host);
                }
                (Some(_), Some(_)) => self.update(fleet, [id]),
                (None, _) => {}
            }
        }
    }

    /// Whether the index was built for this fleet and is current (else rebuild it).
    pub fn fits(&self, fleet: &Fleet) -> bool {
        !self.stale && self.len() == fleet.hosts.len()
    }

    /// The hosts `filter` admits whose name, model, site, ring, state, error code or
    /// group contains `text` (ignoring case), in the list's order.
    pub fn matching(&self, filter: &HostFilter, text: &str) -> Vec<Ordinal> {
        let wanted = |which: usize, value: Option<&str>| -> Result<Option<u32>, ()> {
            match value {
                None => Ok(None),
                Some(v) => self.dictionaries[which]
                    .ids
                    .get(v)
                    .map(|id| Some(*id))
                    .ok_or(()),
            }
        };
        // A state, ring or error no host has: nothing to show.
        let (Ok(state), Ok(ring), Ok(code)) = (
            wanted(STATE, filter.state.map(|s| s.as_str())),
            wanted(RING, filter.ring.as_deref()),
            wanted(CODE, filter.error.as_deref()),
        ) else {
            return Vec::new();
        };
        let admits = |o: usize| {
            state.is_none_or(|s| self.columns[STATE][o] == s)
                && ring.is_none_or(|r| self.columns[RING][o] == r)
                && code.is_none_or(|c| self.columns[CODE][o] == c)
        };
        let needle = text.to_lowercase();
        // Per ordinal: does the name or a field's value contain the text?
        let hit: Option<Vec<bool>> = if needle.is_empty() {
            None
        } else if needle.contains(SEPARATOR) {
            return Vec::new();
        } else {
            let mut hit = self.names.containing(&needle);
            // Only the fields with a value that contains it are looked at, a column
            // at a time.
            for (which, dictionary) in self.dictionaries.iter().enumerate() {
                let values = dictionary.containing(&needle);
                if values.contains(&true) {
                    for (h, value) in hit.iter_mut().zip(&self.columns[which]) {
                        *h |= values[*value as usize];
                    }
                }
            }
            Some(hit)
        };
        let wanted = |o: usize| admits(o) && hit.as_ref().is_none_or(|hit| hit[o]);
        let mut rows: Vec<Ordinal> = Vec::with_capacity(match &hit {
            Some(hit) => hit.iter().filter(|h| **h).count(),
            None => self.len(),
        });
        rows.extend(
            self.by_name
                .iter()
                .copied()
                .filter(|o| !self.failing[*o as usize] && wanted(*o as usize)),
        );
        rows.extend(
            self.failed
                .values()
                .copied()
                .filter(|o| wanted(*o as usize)),
        );
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::lists::host_matches;
    use crate::model::HostState;
    use crate::sim::{Scenario, SimConfig, Simulator};

    /// What the list showed before the index: every admitted host whose fields
    /// contain the text, by (failure time, name, id).
    fn naive<'a>(fleet: &'a Fleet, filter: &HostFilter, text: &str) -> Vec<&'a str> {
        let mut hosts: Vec<&Host> = fleet
            .hosts
            .values()
            .filter(|h| filter.admits(h) && host_matches(h, &text.to_lowercase()))
            .collect();
        hosts.sort_by_key(|h| (h.failure.as_ref().map(|f| f.at), &h.name, &h.id));
        hosts.iter().map(|h| h.id.as_str()).collect()
    }

    fn check(index: &HostIndex, fleet: &Fleet) {
        let failed = HostFilter {
            state: Some(HostState::Failed),
            ..HostFilter::default()
        };
        let in_pilot = HostFilter {
            ring: Some("pilot".into()),
            ..HostFilter::default()
        };
        let by_code = HostFilter {
            error: Some("0x800f0922".into()),
            ..HostFilter::default()
        };
        let nowhere = HostFilter {
            ring: Some("no-such-ring".into()),
            ..HostFilter::default()
        };
        for filter in [HostFilter::default(), failed, in_pilot, by_code, nowhere] {
            for text in [
                "",
                "lon",
                "LT-0",
                "0x800f",
                "pilot",
                "Contoso Book",
                "FAILED",
                "nothing-like-this",
                "\u{1}",
            ] {
                let indexed: Vec<&str> = index
                    .matching(&filter, text)
                    .into_iter()
                    .map(|o| index.id(o))
                    .collect();
                assert_eq!(
                    indexed,
                    naive(fleet, &filter, text),
                    "filter {filter:?} text {text:?}"
                );
            }
        }
    }

    #[test]
    fn the_index_agrees_with_field_by_field_matching_and_keeps_the_lists_order() {
        let sim = Simulator::new(SimConfig {
            hosts: 400,
            seed: 3,
            scenario: Scenario::BadPatch,
            start: "2026-11-12T14:00:00Z".parse().unwrap(),
        });
        sim.advance(600);
        let mut fleet = sim.hosts_fleet();
        let mut index = HostIndex::build(&fleet);
        check(&index, &fleet);
        // The story goes on: hosts fail, succeed and are rolled back; kept current
        // from the hosts that changed, the index still agrees.
        sim.advance(6 * 3600);
        let later = sim.hosts_fleet();
        let changed: Vec<String> = later
            .hosts
            .values()
            .filter(|h| fleet.hosts.get(h.id.as_str()) != Some(*h))
            .map(|h| h.id.to_string())
            .collect();
        assert!(!changed.is_empty());
        fleet = later;
        index.update(&fleet, changed.iter().map(String::as_str));
        assert!(index.fits(&fleet));
        assert!(!index.matching(&HostFilter::default(), "0x800f").is_empty());
        check(&index, &fleet);
    }

    #[test]
    fn a_new_host_takes_its_place_by_name_and_a_renamed_one_asks_for_a_rebuild() {
        let sim = Simulator::new(SimConfig {
            hosts: 50,
            seed: 1,
            scenario: Scenario::PatchTuesday,
            start: "2026-11-12T14:00:00Z".parse().unwrap(),
        });
        let mut fleet = sim.hosts_fleet();
        let mut index = HostIndex::build(&fleet);
        let mut new = fleet.hosts.values().next().unwrap().clone();
        new.id = "h-new".into();
        new.name = "AAA-FIRST".into();
        new.failure = None;
        fleet.hosts.insert(new.id.clone(), new);
        index.update(&fleet, ["h-new"]);
        assert!(index.fits(&fleet));
        check(&index, &fleet);
        let first = index.matching(&HostFilter::default(), "");
        assert_eq!(index.id(first[0]), "h-new");
        fleet.hosts.get_mut("h-new").unwrap().name = "ZZZ-LAST".into();
        index.update(&fleet, ["h-new"]);
        assert!(!index.fits(&fleet), "renamed: rebuild");
        let rebuilt = HostIndex::build(&fleet);
        check(&rebuilt, &fleet);
    }
}
