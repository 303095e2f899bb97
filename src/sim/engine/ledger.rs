//! The engine's action records, numbered from 0 for ever (an action's index is its
//! id), of which only the newest are kept: the oldest finished ones are forgotten once
//! there are more than [`ACTIONS_KEPT`], so a fleet that runs for months does not grow
//! with every pause and resume. An old record the engine still acts on (a first
//! approval waiting for its second, an emergency request) is set aside, not forgotten,
//! until it is done. The store (with a gateway) keeps every action; the API lists the
//! last [`crate::sim::ACTIONS_LISTED`].

use std::collections::{BTreeMap, VecDeque};
use std::ops::{Index, IndexMut};

/// Actions the engine keeps at least (finished or not); beyond half as many again, the
/// oldest finished ones that nothing refers to are forgotten.
pub const ACTIONS_KEPT: usize = 10_000;

/// Records indexed from 0: `items` from `base` on, and below `base` only the ones set
/// aside in `pinned`.
#[derive(Debug, Clone)]
pub struct Ledger<T> {
    base: usize,
    items: VecDeque<T>,
    pinned: BTreeMap<usize, T>,
}

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Ledger {
            base: 0,
            items: VecDeque::new(),
            pinned: BTreeMap::new(),
        }
    }
}

impl<T> Ledger<T> {
    /// How many records there ever were (the next index).
    pub fn len(&self) -> usize {
        self.base + self.items.len()
    }

    /// How many are still kept.
    pub fn kept(&self) -> usize {
        self.items.len() + self.pinned.len()
    }

    /// How many of the newest are kept in a row (the set-aside old ones apart).
    pub fn newest_kept(&self) -> usize {
        self.items.len()
    }

    pub fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        match index.checked_sub(self.base) {
            Some(i) => self.items.get(i),
            None => self.pinned.get(&index),
        }
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        match index.checked_sub(self.base) {
            Some(i) => self.items.get_mut(i),
            None => self.pinned.get_mut(&index),
        }
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.items.iter_mut()
    }

    /// The last `n` records kept (all of them if fewer).
    pub fn last(&self, n: usize) -> impl Iterator<Item = &T> {
        self.items.iter().skip(self.items.len().saturating_sub(n))
    }

    /// Takes the oldest of the newest records out of the row: it is set aside if `keep`
    /// says the engine still needs it, forgotten otherwise. Returns whether it was kept.
    pub fn retire_oldest(&mut self, keep: impl Fn(usize, &T) -> bool) -> Option<bool> {
        let oldest = self.items.pop_front()?;
        let index = self.base;
        self.base += 1;
        let kept = keep(index, &oldest);
        if kept {
            self.pinned.insert(index, oldest);
        }
        Some(kept)
    }

    /// Forgets the set-aside records the engine no longer needs.
    pub fn release_pinned(&mut self, keep: impl Fn(usize, &T) -> bool) -> Vec<usize> {
        let released: Vec<usize> = self
            .pinned
            .iter()
            .filter(|(index, item)| !keep(**index, item))
            .map(|(index, _)| *index)
            .collect();
        for index in &released {
            self.pinned.remove(index);
        }
        released
    }

    /// Forgets the set-aside record `index` (its twin in another ledger was).
    pub fn forget_pinned(&mut self, index: usize) {
        self.pinned.remove(&index);
    }

    /// Sets aside or forgets the oldest of the row as another ledger did with its twin.
    pub fn retire_oldest_as(&mut self, kept: bool) {
        self.retire_oldest(|_, _| kept);
    }
}

impl<T> Index<usize> for Ledger<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        match self.get(index) {
            Some(item) => item,
            None => panic!(
                "record {index} is not kept (kept: {}..{})",
                self.base,
                self.len()
            ),
        }
    }
}

impl<T> IndexMut<usize> for Ledger<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        let (base, len) = (self.base, self.len());
        self.get_mut(index)
            .unwrap_or_else(|| panic!("record {index} is not kept (kept: {base}..{len})"))
    }
}

impl super::Engine {
    /// Past `ACTIONS_KEPT` and half as many again, forgets the oldest actions down to
    /// `ACTIONS_KEPT`, setting aside those still under way or referred to (a first
    /// approval waiting for its second, a rollback a host is undoing, an emergency
    /// request): nothing the engine still acts on is ever forgotten, and a set-aside
    /// one goes once it is done. Called once the changes of a step are taken, so no
    /// change refers to a forgotten action.
    pub(super) fn forget_old_actions(&mut self) {
        if self.actions.newest_kept() <= ACTIONS_KEPT + ACTIONS_KEPT / 2 {
            return;
        }
        let referred: std::collections::BTreeSet<usize> = self
            .host_runs
            .iter()
            .filter_map(|run| run.uninstall)
            .chain(
                self.deployment_runs
                    .iter()
                    .filter_map(|run| run.first_approval),
            )
            .chain(self.emergency_request)
            .collect();
        let needed = |a: usize, action: &crate::model::Action| {
            action.finished_at.is_none() || referred.contains(&a)
        };
        for a in self.actions.release_pinned(needed) {
            self.action_runs.forget_pinned(a);
        }
        while self.actions.newest_kept() > ACTIONS_KEPT {
            match self.actions.retire_oldest(needed) {
                Some(kept) => self.action_runs.retire_oldest_as(kept),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_stay_the_same_when_the_oldest_are_forgotten() {
        let mut ledger = Ledger::default();
        for i in 0..5 {
            ledger.push(i * 10);
        }
        // 0 is forgotten, 10 is set aside (still needed).
        assert_eq!(ledger.retire_oldest(|_, _| false), Some(false));
        assert_eq!(ledger.retire_oldest(|_, &v| v == 10), Some(true));
        assert_eq!(ledger.len(), 5);
        assert_eq!(ledger.kept(), 4);
        assert_eq!(ledger.newest_kept(), 3);
        assert_eq!(ledger[3], 30);
        assert_eq!(ledger[1], 10);
        ledger[1] = 11;
        assert_eq!(ledger.get(0), None);
        assert_eq!(ledger.last(2).copied().collect::<Vec<_>>(), [30, 40]);
        ledger[4] = 41;
        assert_eq!(ledger.last(9).copied().collect::<Vec<_>>(), [20, 30, 41]);
        // Once no longer needed, the set-aside one goes.
        assert_eq!(ledger.release_pinned(|_, _| false), [1]);
        assert_eq!(ledger.get(1), None);
    }
}
