//! The exceptions the console shows: the list of the Exceptions pane (soonest expiry
//! first), what its filter matches, and the expiries it must make loud: a host whose
//! exception lapsed went back to the queue, and the operator is told until they have
//! seen it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::App;
use super::lists::matches;
use crate::model::{Exception, Fleet, Host};

/// The hosts under an exception, kept current from the hosts that change, in the
/// pane's order: the pane and its tab's count never walk or sort a million hosts per
/// frame or per batch of events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionHosts {
    ordered: BTreeSet<OrderKey>,
    keys: BTreeMap<String, OrderKey>,
    /// Moves on whenever a host under an exception (or one that was) changes: the
    /// pane's rows are worked out again only then.
    generation: u64,
}

/// Soonest expiry first, then by name (and id).
type OrderKey = (DateTime<Utc>, CompactString, CompactString);

impl ExceptionHosts {
    pub fn rebuild(&mut self, fleet: &Fleet) {
        let generation = self.generation + 1;
        *self = ExceptionHosts {
            generation,
            ..ExceptionHosts::default()
        };
        self.update(fleet, fleet.hosts.keys().map(|k| k.as_str()));
    }

    pub fn update<'a>(&mut self, fleet: &Fleet, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            let key = fleet.hosts.get(id).and_then(|h| {
                let e = h.exception.as_ref()?;
                Some((e.expires_at, h.name.clone(), h.id.clone()))
            });
            if key.is_some() || self.keys.contains_key(id) {
                self.generation += 1;
            }
            if self.keys.get(id) == key.as_ref() {
                continue;
            }
            if let Some(old) = self.keys.remove(id) {
                self.ordered.remove(&old);
            }
            if let Some(key) = key {
                self.ordered.insert(key.clone());
                self.keys.insert(id.to_string(), key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Hosts under an exception (in force or expired), the soonest expiry first (expired
/// ones on top), then by name.
pub fn exceptions_in_order<'a>(fleet: &'a Fleet, under: &ExceptionHosts) -> Vec<&'a Host> {
    under
        .ordered
        .iter()
        .filter_map(|(_, _, id)| fleet.hosts.get(id.as_str()))
        .collect()
}

/// "all patches", or the KB of the one patch it covers.
pub fn scope_words(fleet: &Fleet, exception: &Exception) -> String {
    match &exception.patch_id {
        None => "all patches".into(),
        Some(id) => fleet
            .patches
            .get(id)
            .map_or_else(|| id.clone(), |p| p.kb.clone()),
    }
}

pub fn exception_matches(fleet: &Fleet, host: &Host, filter: &str) -> bool {
    let Some(e) = &host.exception else {
        return false;
    };
    matches(
        filter,
        &[
            &host.name,
            &host.ring_id,
            &e.owner,
            e.ticket.as_deref().unwrap_or(""),
            &e.compensating_control,
            &e.reason,
            &scope_words(fleet, e),
        ],
    )
}

/// Whether this change of a host is the fleet enforcing its exception's expiry.
pub fn lapsed_now(old: Option<&Host>, new: &Host) -> bool {
    let lapsed = |h: &Host| h.exception.as_ref().is_some_and(|e| e.lapsed_at.is_some());
    lapsed(new) && !old.is_some_and(lapsed)
}

/// The words of the notice for `n` expiries not yet seen.
pub fn lapsed_words(n: usize) -> String {
    let (exceptions, hosts) = if n == 1 {
        ("1 exception expired", "its host is back in the queue")
    } else {
        ("exceptions expired", "hosts back in the queue")
    };
    let count = if n == 1 {
        String::new()
    } else {
        format!("{n} ")
    };
    format!("{count}{exceptions}: {hosts} (6 Exceptions lists them; Esc when seen)")
}

impl App {
    /// Tell the operator that `n` more exceptions expired: one notice, counting every
    /// expiry since the last one was dismissed, until Esc.
    pub(super) fn exceptions_lapsed(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let standing = self.notice.is_some() && self.notice == self.lapsed_notice;
        let unseen = if standing { self.lapsed_unseen + n } else { n };
        if self.notice.is_some() && !standing {
            // Another notice stands (a server restart): it keeps its place; the expiry
            // still flashes and is in the Exceptions pane.
            self.set_flash(lapsed_words(n), true);
            return;
        }
        self.lapsed_unseen = unseen;
        let words = lapsed_words(unseen);
        self.notice = Some(words.clone());
        self.lapsed_notice = Some(words);
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::lapsed_words;

    #[test]
    fn the_notice_counts_the_expiries() {
        assert_eq!(
            lapsed_words(2),
            "2 exceptions expired: hosts back in the queue (6 Exceptions lists them; Esc when seen)"
        );
        assert!(lapsed_words(1).starts_with("1 exception expired: its host is back"));
    }
}
