//! Past months: the cumulative updates of the three months before last (each
//! superseding the one before), and the hosts that fell behind. Most hosts took every
//! month's update (last month's is installed wherever it was before); a few wave and
//! production hosts missed one, two or three months (roaming laptops first, as real
//! fleets go). Each behind host's history starts with the last update it was verified
//! with. Hosts under an exception keep last month's build, as their reasons say.
//!
//! Drawn from a random stream of its own (from the seed), after the story is built,
//! so that every other part of the fleet and its story is as it was without it.

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{HostState, Interned, Patch, PatchKind, PatchList, Severity, Transition};
use crate::sim::engine::Applies;

use super::{Builder, PROD, previous_month, second_tuesday};

/// Shares of the wave and production hosts that missed the last one, two or three
/// months' cumulative update, per thousand (at least one host each).
const BEHIND_PER_MILLE: [usize; 3] = [40, 15, 7];
/// Mixed into the seed for this part's own random stream.
const STREAM: u64 = 0x6869_7374_6f72_7921;

/// The KB number of a month's cumulative update, as `patches` numbers them.
fn cu_kb(month_index: i32) -> i32 {
    5_000_000 + month_index.rem_euclid(1000) * 100 + 1
}

impl Builder {
    /// Add the older cumulative updates and put the behind hosts behind.
    pub(super) fn history(&mut self, pt: DateTime<Utc>, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ STREAM);
        let month_index = pt.year() * 12 + pt.month0() as i32;
        // Month -2, -3 and -4 (last month, -1, is the list's first patch).
        let mut releases = Vec::new();
        let (mut y, mut m) = previous_month(pt.year(), pt.month());
        for back in 2..=4 {
            (y, m) = previous_month(y, m);
            let released = second_tuesday(y, m);
            let kb = cu_kb(month_index - back);
            let cves: Vec<String> = {
                let mut list: Vec<String> = (0..rng.random_range(4..8))
                    .map(|_| format!("CVE-{y}-{}", rng.random_range(20000..60000)))
                    .collect();
                list.sort();
                list.dedup();
                list
            };
            self.e.patches.push(Patch {
                id: format!("kb{kb}"),
                kb: format!("KB{kb}"),
                title: format!(
                    "{} Cumulative Update for Windows (servicing stack included)",
                    released.format("%Y-%m")
                ),
                product: "Windows".into(),
                kind: PatchKind::CumulativeUpdate,
                severity: Severity::Critical,
                released_at: released,
                cves,
                exploited_cves: Vec::new(),
                reboot_required: true,
                uninstallable: false,
                supersedes: vec![format!("kb{}", cu_kb(month_index - back - 1))],
                version: 1,
            });
            self.e.applies.push(Applies::All);
            releases.push((format!("kb{kb}"), format!("KB{kb}"), released));
        }
        let prev = Interned::from(self.e.patches[0].id.as_str());
        let candidates: Vec<usize> = (0..self.e.hosts.len())
            .filter(|&h| {
                matches!(self.e.host_runs[h].home, 2..=4 | PROD)
                    && self.e.hosts[h].state != HostState::Excluded
                    && self.e.hosts[h].installed == [prev.clone()]
            })
            .collect();
        let mut chosen = std::collections::BTreeSet::new();
        for (months, per_mille) in BEHIND_PER_MILLE.iter().enumerate() {
            let wanted = (candidates.len() * per_mille / 1000).max(1);
            let mut picked = 0;
            for _ in 0..wanted * 20 {
                if picked == wanted || chosen.len() == candidates.len() {
                    break;
                }
                let h = candidates[rng.random_range(0..candidates.len())];
                // Roaming laptops miss updates more than desks do.
                if chosen.contains(&h) || (!self.e.hosts[h].roaming && rng.random_bool(0.5)) {
                    continue;
                }
                chosen.insert(h);
                picked += 1;
                self.fall_behind(h, &releases[months], &mut rng);
            }
        }
    }

    /// `h` last took the update `(id, kb, released)`, a few days after its release.
    fn fall_behind(
        &mut self,
        h: usize,
        (id, kb, released): &(String, String, DateTime<Utc>),
        rng: &mut ChaCha8Rng,
    ) {
        let at = *released + Duration::hours(rng.random_range(30..240));
        self.e.hosts[h].installed = PatchList::new(&[id.into()]);
        self.e.histories[h].insert(
            0,
            Transition {
                at,
                state: HostState::Succeeded,
                note: Some(format!("verified installed {kb}").into()),
            },
        );
    }
}
