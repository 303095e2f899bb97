//! The computation: one pass over the hosts, each against the counted patches.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::CompliancePolicy;
use super::types::{
    Breakdown, Compliance, Missing, PastLine, PatchCompliance, SeverityCompliance, Verified,
};
use crate::model::{Host, HostState, Patch, Severity};

/// A host as compliance needs it: the host (its history may be empty) and when it was
/// verified with each installed patch ([`verified`] of the host with its history).
#[derive(Debug, Clone, PartialEq)]
pub struct HostFacts {
    pub host: Host,
    pub verified: Vec<Verified>,
}

/// When `host` (with its history) was verified with each patch it has installed: the
/// first transition to `succeeded` at or after the patch's release whose note names
/// the patch's KB; failing that, the first at or after the release and before any
/// patch superseding it was released (a later success is that patch's). Patches the
/// list does not know, or with no such transition, have no time.
pub fn verified(host: &Host, patches: &[Patch]) -> Vec<Verified> {
    host.installed
        .iter()
        .filter_map(|id| {
            let patch = patches.iter().find(|p| p.id == *id)?;
            let successes = || {
                host.history
                    .iter()
                    .filter(|t| t.state == HostState::Succeeded && t.at >= patch.released_at)
            };
            let named = successes()
                .filter(|t| t.note.as_deref().is_some_and(|n| n.contains(&patch.kb)))
                .map(|t| t.at)
                .min();
            let until = patches
                .iter()
                .filter(|p| p.supersedes.contains(&patch.id))
                .map(|p| p.released_at)
                .min();
            let at = named.or_else(|| {
                successes()
                    .filter(|t| until.is_none_or(|until| t.at < until))
                    .map(|t| t.at)
                    .min()
            })?;
            Some(Verified {
                patch_id: id.clone(),
                at,
            })
        })
        .collect()
}

/// A counted patch, with the patches that supersede it (directly or through others).
struct Counted<'a> {
    patch: &'a Patch,
    due_at: DateTime<Utc>,
    superseded_by: HashSet<&'a str>,
    row: PatchCompliance,
    waits: Vec<i64>,
}

#[derive(Default)]
struct Tally {
    hosts: u32,
    measured: u32,
    compliant: u32,
    past_line: u32,
    excluded: u32,
}

impl Tally {
    fn breakdown(&self, key: String) -> Breakdown {
        Breakdown {
            key,
            hosts: self.hosts,
            measured: self.measured,
            compliant: self.compliant,
            past_line: self.past_line,
            excluded: self.excluded,
            percent_compliant: percent(self.compliant, self.measured),
        }
    }
}

/// `part` of `whole`, percent, rounded down to 0.1 so that 100 means every one.
fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    (f64::from(part) * 1000.0 / f64::from(whole)).floor() / 10.0
}

/// The median of `values` (seconds), the mean of the middle two for an even count.
fn median(values: &mut [i64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    let m = if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    };
    Some(u64::try_from(m).unwrap_or(0))
}

fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from((to - from).num_days()).unwrap_or(0)
}

/// For each patch, every patch that supersedes it, directly or through others.
fn superseders(patches: &[Patch]) -> HashMap<&str, HashSet<&str>> {
    let mut direct: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in patches {
        for old in &p.supersedes {
            direct.entry(old.as_str()).or_default().push(p.id.as_str());
        }
    }
    let mut all = HashMap::new();
    for p in patches {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = direct.get(p.id.as_str()).cloned().unwrap_or_default();
        while let Some(next) = todo.pop() {
            if next != p.id && seen.insert(next) {
                todo.extend(direct.get(next).into_iter().flatten());
            }
        }
        all.insert(p.id.as_str(), seen);
    }
    all
}

/// Compliance of `hosts` at `now` under `policy`, and the measured hosts past the line
/// (earliest due first, then by host id). `sequence` is left 0 for the caller to set.
pub fn compute<'h>(
    policy: &CompliancePolicy,
    now: DateTime<Utc>,
    patches: &[Patch],
    hosts: impl IntoIterator<Item = &'h HostFacts>,
) -> (Compliance, Vec<PastLine>) {
    let products: HashMap<&str, &str> = patches
        .iter()
        .map(|p| (p.id.as_str(), p.product.as_str()))
        .collect();
    let mut supersede = superseders(patches);
    let within = Duration::days(i64::from(policy.within_days));
    let mut counted: Vec<Counted> = patches
        .iter()
        .filter(|p| policy.counts(p.severity))
        .map(|p| Counted {
            patch: p,
            due_at: p.released_at + within,
            superseded_by: supersede.remove(p.id.as_str()).unwrap_or_default(),
            row: PatchCompliance {
                patch_id: p.id.clone(),
                kb: p.kb.clone(),
                title: p.title.clone(),
                severity: p.severity,
                released_at: p.released_at,
                due_at: p.released_at + within,
                applicable: 0,
                installed: 0,
                superseded: 0,
                missing: 0,
                past_line: 0,
                median_release_to_verified_secs: None,
            },
            waits: Vec::new(),
        })
        .collect();
    let mut severities: BTreeMap<Severity, (SeverityCompliance, Vec<i64>)> = policy
        .severities
        .iter()
        .map(|&severity| {
            let row = SeverityCompliance {
                severity,
                patches: counted
                    .iter()
                    .filter(|c| c.patch.severity == severity)
                    .count() as u32,
                missing: 0,
                past_line: 0,
                median_release_to_verified_secs: None,
            };
            (severity, (row, Vec::new()))
        })
        .collect();
    let mut total = Tally::default();
    let mut rings: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut sites: BTreeMap<&str, Tally> = BTreeMap::new();
    let (mut past_30, mut past_60, mut past_84) = (0, 0, 0);
    let mut excluded_past_line = 0;
    let mut all_waits = Vec::new();
    let mut past = Vec::new();

    for facts in hosts {
        let host = &facts.host;
        // A host has a handful of patches: slices beat sets here.
        let installed = &host.installed;
        let runs: Vec<&str> = installed
            .iter()
            .filter_map(|id| products.get(id.as_str()).copied())
            .collect();
        let exception = host.exception.as_ref();
        // An exception for one patch excuses that patch only: the host is measured on
        // every other one.
        let excused_patch = exception
            .filter(|e| e.expires_at > now)
            .and_then(|e| e.patch_id.as_deref());
        let excluded = match exception {
            Some(e) if e.patch_id.is_some() => false,
            Some(e) => e.expires_at > now,
            None => host.state == HostState::Excluded,
        };
        let mut missing: Vec<Missing> = Vec::new();
        let mut oldest_missing: Option<DateTime<Utc>> = None;
        let mut severities_past: Vec<Severity> = Vec::new();
        for c in &mut counted {
            let p = c.patch;
            if excused_patch == Some(p.id.as_str()) {
                continue;
            }
            let has = host.has_installed(&p.id);
            if !has && !runs.contains(&p.product.as_str()) {
                continue;
            }
            let by_successor = !has
                && installed
                    .iter()
                    .any(|id| c.superseded_by.contains(id.as_str()));
            let satisfied = has || (policy.count_superseding && by_successor);
            if excluded {
                if !satisfied && now > c.due_at {
                    missing.push(missing_row(c));
                }
                continue;
            }
            c.row.applicable += 1;
            if has {
                c.row.installed += 1;
                if let Some(v) = facts.verified.iter().find(|v| v.patch_id == p.id) {
                    let wait = (v.at - p.released_at).num_seconds().max(0);
                    c.waits.push(wait);
                    all_waits.push(wait);
                    if let Some((_, waits)) = severities.get_mut(&p.severity) {
                        waits.push(wait);
                    }
                }
            } else if satisfied {
                c.row.superseded += 1;
            }
            if satisfied {
                continue;
            }
            c.row.missing += 1;
            if let Some((row, _)) = severities.get_mut(&p.severity) {
                row.missing += 1;
            }
            oldest_missing = Some(oldest_missing.map_or(p.released_at, |o| o.min(p.released_at)));
            if now > c.due_at {
                c.row.past_line += 1;
                if !severities_past.contains(&p.severity) {
                    severities_past.push(p.severity);
                }
                missing.push(missing_row(c));
            }
        }
        missing.sort_by(|a, b| {
            a.due_at
                .cmp(&b.due_at)
                .then_with(|| a.patch_id.cmp(&b.patch_id))
        });
        let is_past = !missing.is_empty();
        for tally in [
            &mut total,
            rings.entry(host.ring_id.as_str()).or_default(),
            sites.entry(host.site.as_str()).or_default(),
        ] {
            tally.hosts += 1;
            if excluded {
                tally.excluded += 1;
            } else {
                tally.measured += 1;
                if is_past {
                    tally.past_line += 1;
                } else {
                    tally.compliant += 1;
                }
            }
        }
        if excluded {
            excluded_past_line += u32::from(is_past);
            continue;
        }
        for severity in severities_past {
            if let Some((row, _)) = severities.get_mut(&severity) {
                row.past_line += 1;
            }
        }
        if let Some(released) = oldest_missing {
            let age = now - released;
            past_30 += u32::from(age > Duration::days(30));
            past_60 += u32::from(age > Duration::days(60));
            past_84 += u32::from(age > Duration::weeks(12));
        }
        if let Some(first) = missing.first() {
            let due_at = first.due_at;
            let oldest_released_at = missing
                .iter()
                .map(|m| m.released_at)
                .min()
                .unwrap_or(first.released_at);
            past.push(PastLine {
                host_id: host.id.to_string(),
                name: host.name.to_string(),
                ring_id: host.ring_id.to_string(),
                site: host.site.to_string(),
                kind: host.kind,
                model: host.model.to_string(),
                os: host.os.to_string(),
                due_at,
                days_past: whole_days(due_at, now),
                oldest_released_at,
                days_since_release: whole_days(oldest_released_at, now),
                missing,
                exception_expired_at: exception.map(|e| e.expires_at),
            });
        }
    }
    past.sort_by(|a, b| {
        a.due_at
            .cmp(&b.due_at)
            .then_with(|| a.host_id.cmp(&b.host_id))
    });
    let by_patch = counted
        .into_iter()
        .map(|mut c| {
            c.row.median_release_to_verified_secs = median(&mut c.waits);
            c.row
        })
        .collect();
    let by_severity = severities
        .into_values()
        .map(|(mut row, mut waits)| {
            row.median_release_to_verified_secs = median(&mut waits);
            row
        })
        .collect();
    let compliance = Compliance {
        sequence: 0,
        now,
        policy: policy.clone(),
        hosts: total.hosts,
        measured: total.measured,
        compliant: total.compliant,
        past_line: total.past_line,
        excluded: total.excluded,
        excluded_past_line,
        percent_compliant: percent(total.compliant, total.measured),
        oldest: past.first().cloned(),
        past_30_days: past_30,
        past_60_days: past_60,
        past_12_weeks: past_84,
        median_release_to_verified_secs: median(&mut all_waits),
        by_ring: rings
            .into_iter()
            .map(|(k, t)| t.breakdown(k.into()))
            .collect(),
        by_site: sites
            .into_iter()
            .map(|(k, t)| t.breakdown(k.into()))
            .collect(),
        by_severity,
        by_patch,
    };
    (compliance, past)
}

fn missing_row(c: &Counted) -> Missing {
    Missing {
        patch_id: c.patch.id.clone(),
        kb: c.patch.kb.clone(),
        severity: c.patch.severity,
        released_at: c.patch.released_at,
        due_at: c.due_at,
    }
}
