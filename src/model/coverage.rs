//! Test coverage: does the test bed resemble production? For a ring about to be opened
//! or resumed, the hardware models, OS builds and server tiers of that ring (and of the
//! deployment's rings after it) that never passed through an earlier ring, with host
//! counts. Pure, over hosts and rings: the simulator's plan notes, any backend's plan
//! and the console's ring detail all call [`coverage`].
//!
//! A value *passed* through an earlier ring of the deployment when some host with it,
//! homed in that earlier ring, has one of the deployment's patches verified installed,
//! or when that earlier ring is done.

use std::collections::{BTreeMap, BTreeSet};

use super::{Deployment, Host, HostState, Ring, RingState};

/// What a host is compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trait {
    Model,
    OsBuild,
    ServerTier,
}

impl Trait {
    /// In a sentence: "hardware model", "OS build", "server tier".
    pub fn words(self) -> &'static str {
        match self {
            Trait::Model => "hardware model",
            Trait::OsBuild => "OS build",
            Trait::ServerTier => "server tier",
        }
    }
}

/// A model, OS build or tier no earlier ring passed, and where its hosts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub what: Trait,
    pub value: String,
    /// Hosts with it homed in the ring itself.
    pub in_ring: u32,
    /// ... and in the deployment's rings after it.
    pub later: u32,
}

/// The coverage of one ring of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub ring_name: String,
    /// Names of the deployment's rings before this one, in order.
    pub earlier: Vec<String>,
    /// What never passed through them, most hosts first.
    pub gaps: Vec<Gap>,
}

/// How every coverage note starts (a warning, as the dialogs show it).
pub const NOTE_PREFIX: &str = "WARNING: test coverage:";

/// Most gaps said one by one in [`Coverage::notes`]; the rest are counted.
pub const NOTED_GAPS: usize = 6;

impl Coverage {
    /// "Test", "Test or Pilot", "Test, Pilot or Wave 1".
    pub fn earlier_words(&self) -> String {
        match self.earlier.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }

    /// One gap in words: "hardware model Contoso Book 14 G3 (19 hosts in Pilot, 518
    /// later) never passed through Test".
    pub fn gap_words(&self, gap: &Gap) -> String {
        let hosts = |n: u32| if n == 1 { "host" } else { "hosts" };
        let counts = if gap.in_ring > 0 {
            format!(
                "{} {} in {}, {} later",
                gap.in_ring,
                hosts(gap.in_ring),
                self.ring_name,
                gap.later
            )
        } else {
            format!("{} later {}", gap.later, hosts(gap.later))
        };
        format!(
            "{} {} ({counts}) never passed through {}",
            gap.what.words(),
            gap.value,
            self.earlier_words()
        )
    }

    /// The plan's warnings: one per gap (at most [`NOTED_GAPS`], then how many more),
    /// each starting "WARNING: test coverage:". None when every value passed.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .gaps
            .iter()
            .take(NOTED_GAPS)
            .map(|gap| format!("{NOTE_PREFIX} {}", self.gap_words(gap)))
            .collect();
        if self.gaps.len() > NOTED_GAPS {
            notes.push(format!(
                "{NOTE_PREFIX} {} more models, builds or tiers never passed through {}",
                self.gaps.len() - NOTED_GAPS,
                self.earlier_words()
            ));
        }
        notes
    }
}

/// What `host` is compared by: its model, its OS build, and a server's tier.
fn traits(host: &Host) -> impl Iterator<Item = (Trait, String)> + '_ {
    [
        Some((Trait::Model, host.model.to_string())),
        Some((Trait::OsBuild, host.os.to_string())),
        host.tier
            .map(|t| (Trait::ServerTier, t.as_str().to_string())),
    ]
    .into_iter()
    .flatten()
    .filter(|(_, value)| !value.is_empty())
}

/// The coverage of ring `ring_id` in `deployment`: `None` when the deployment does not
/// run through that ring, or the ring is its first (no earlier ring to compare with).
/// `rings` are the fleet's rings (any order, others ignored); `hosts` every host, by
/// its home ring.
pub fn coverage<'a>(
    deployment: &Deployment,
    ring_id: &str,
    rings: impl IntoIterator<Item = &'a Ring>,
    hosts: impl IntoIterator<Item = &'a Host>,
) -> Option<Coverage> {
    let at = deployment.rings.iter().position(|id| id == ring_id)?;
    if at == 0 {
        return None;
    }
    let rings: BTreeMap<&str, &Ring> = rings.into_iter().map(|r| (r.id.as_str(), r)).collect();
    let name = |id: &str| rings.get(id).map_or(id.to_string(), |r| r.name.clone());
    let earlier = &deployment.rings[..at];
    let later = &deployment.rings[at + 1..];
    let done: BTreeSet<&str> = earlier
        .iter()
        .filter(|id| {
            rings
                .get(id.as_str())
                .is_some_and(|r| r.state == RingState::Done)
        })
        .map(String::as_str)
        .collect();
    let mut passed: BTreeSet<(Trait, String)> = BTreeSet::new();
    // (in the ring, later) by trait and value.
    let mut ahead: BTreeMap<(Trait, String), (u32, u32)> = BTreeMap::new();
    // A host under an exception from this deployment is not going to install it: it
    // is no gap in the test bed.
    let spared = |host: &Host| {
        host.state == HostState::Excluded
            || host.exception.as_ref().is_some_and(|e| {
                e.lapsed_at.is_none()
                    && e.patch_id
                        .as_ref()
                        .is_some_and(|p| deployment.patch_ids == std::slice::from_ref(p))
            })
    };
    for host in hosts {
        let home = host.ring_id.as_str();
        let ahead_of_it = home == ring_id || later.iter().any(|id| id == home);
        if ahead_of_it && spared(host) {
            continue;
        }
        if earlier.iter().any(|id| id == home) {
            let verified =
                done.contains(home) || deployment.patch_ids.iter().any(|p| host.has_installed(p));
            if verified {
                passed.extend(traits(host));
            }
        } else if home == ring_id {
            for key in traits(host) {
                ahead.entry(key).or_default().0 += 1;
            }
        } else if later.iter().any(|id| id == home) {
            for key in traits(host) {
                ahead.entry(key).or_default().1 += 1;
            }
        }
    }
    let mut gaps: Vec<Gap> = ahead
        .into_iter()
        .filter(|(key, _)| !passed.contains(key))
        .map(|((what, value), (in_ring, later))| Gap {
            what,
            value,
            in_ring,
            later,
        })
        .collect();
    gaps.sort_by(|a, b| {
        (b.in_ring + b.later)
            .cmp(&(a.in_ring + a.later))
            .then(a.what.cmp(&b.what))
            .then_with(|| a.value.cmp(&b.value))
    });
    Some(Coverage {
        ring_name: name(ring_id),
        earlier: earlier.iter().map(|id| name(id.as_str())).collect(),
        gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        Criticality, DeploymentState, Gate, GateMode, GateState, HostCounts, HostKind, HostState,
        MaintenanceWindow, RingKind, Tier,
    };
    use chrono::{TimeZone, Utc};

    fn host(id: &str, ring: &str, model: &str, os: &str, installed: &[&str]) -> Host {
        let at = Utc.with_ymd_and_hms(2026, 11, 10, 18, 0, 0).unwrap();
        Host {
            id: id.into(),
            name: id.to_uppercase().into(),
            ring_id: ring.into(),
            kind: HostKind::Workstation,
            site: "LON".into(),
            os: os.into(),
            model: model.into(),
            group_id: None,
            tier: None,
            criticality: Criticality::Low,
            exposed: false,
            roaming: false,
            state: HostState::Pending,
            deployment_id: None,
            failure: None,
            last_seen: at,
            deferred_until: None,
            exception: None,
            installed: installed.iter().map(|s| (*s).into()).collect(),
            history: Vec::new(),
            updated_at: at,
            as_of: None,
            version: 1,
        }
    }

    fn deployment(rings: &[&str]) -> Deployment {
        let at = Utc.with_ymd_and_hms(2026, 11, 10, 18, 0, 0).unwrap();
        Deployment {
            id: "d1".into(),
            name: "2026-11".into(),
            patch_ids: vec!["kb1".into(), "kb2".into()],
            rings: rings.iter().map(|s| s.to_string()).collect(),
            current_ring: None,
            next_ring: None,
            state: DeploymentState::Running,
            state_reason: None,
            emergency: false,
            approvals: Vec::new(),
            pending_approval: None,
            counts: HostCounts::default(),
            rate_per_hour: 0.0,
            eta: None,
            created_at: at,
            created_by: "system".into(),
            requested_state: None,
            limits: None,
            as_of: None,
            version: 1,
        }
    }

    fn ring(id: &str, name: &str, state: RingState) -> Ring {
        Ring {
            id: id.into(),
            name: name.into(),
            order: 0,
            kind: RingKind::Workstations,
            site: None,
            production: false,
            state,
            gate: Gate {
                mode: GateMode::Manual,
                success_threshold_pct: 95,
                failure_threshold_pct: 5,
                min_soak_secs: 0,
                state: GateState::NotReached,
                blocked_reason: None,
            },
            window: MaintenanceWindow::always("UTC", 0),
            soak_ends_at: None,
            state_reason: None,
            groups: Default::default(),
            counts: HostCounts::default(),
            as_of: None,
            version: 1,
        }
    }

    const OS: &str = "Windows 11 24H2";

    #[test]
    fn a_model_test_never_installed_is_a_gap_with_its_counts_here_and_later() {
        let d = deployment(&["test", "pilot", "wave-1"]);
        let rings = [
            ring("test", "Test", RingState::Soaking),
            ring("pilot", "Pilot", RingState::Halted),
            ring("wave-1", "Wave 1", RingState::Waiting),
        ];
        let mut hosts = vec![
            host("t1", "test", "Desk 5", OS, &["kb1"]),
            // In Test but never installed it (Test not done): passes nothing.
            host("t2", "test", "Tablet 2", "Windows 11 23H2", &[]),
        ];
        hosts.extend((0..3).map(|i| host(&format!("p{i}"), "pilot", "Book G3", OS, &[])));
        hosts.push(host("p9", "pilot", "Desk 5", OS, &[]));
        hosts.extend((0..5).map(|i| host(&format!("w{i}"), "wave-1", "Book G3", OS, &[])));
        hosts.push(host("w9", "wave-1", "Tablet 2", OS, &[]));
        let c = coverage(&d, "pilot", &rings, &hosts).expect("pilot has an earlier ring");
        assert_eq!(c.earlier, vec!["Test".to_string()]);
        assert_eq!(
            c.gaps,
            vec![
                Gap {
                    what: Trait::Model,
                    value: "Book G3".into(),
                    in_ring: 3,
                    later: 5
                },
                Gap {
                    what: Trait::Model,
                    value: "Tablet 2".into(),
                    in_ring: 0,
                    later: 1
                },
            ]
        );
        assert_eq!(
            c.notes(),
            vec![
                "WARNING: test coverage: hardware model Book G3 (3 hosts in Pilot, 5 later) never passed through Test",
                "WARNING: test coverage: hardware model Tablet 2 (1 later host) never passed through Test",
            ]
        );
        // Once Test is done, whatever was in it passed.
        let rings = [
            ring("test", "Test", RingState::Done),
            ring("pilot", "Pilot", RingState::Halted),
            ring("wave-1", "Wave 1", RingState::Waiting),
        ];
        let c = coverage(&d, "pilot", &rings, &hosts).unwrap();
        assert_eq!(c.gaps.len(), 1, "{:?}", c.gaps);
        assert_eq!(c.gaps[0].value, "Book G3");
    }

    #[test]
    fn hosts_under_an_exception_from_the_deployment_are_no_gap() {
        let mut d = deployment(&["test", "pilot"]);
        let rings = [ring("test", "Test", RingState::Done)];
        let mut excluded = host("p1", "pilot", "Book G3", OS, &[]);
        excluded.state = HostState::Excluded;
        let mut spared = host("p2", "pilot", "Tablet 2", OS, &[]);
        spared.exception = Some(Box::new(crate::model::Exception {
            patch_id: Some("kb1".into()),
            ..crate::model::Exception::default()
        }));
        let hosts = vec![host("t1", "test", "Desk 5", OS, &[]), excluded, spared];
        // kb1 and kb2: p2 still installs kb2, so Tablet 2 is a gap; p1 installs nothing.
        let c = coverage(&d, "pilot", &rings, &hosts).unwrap();
        let values: Vec<&str> = c.gaps.iter().map(|g| g.value.as_str()).collect();
        assert_eq!(values, ["Tablet 2"]);
        // The deployment is kb1 alone: p2 is spared it too.
        d.patch_ids = vec!["kb1".into()];
        let c = coverage(&d, "pilot", &rings, &hosts).unwrap();
        assert!(c.gaps.is_empty(), "{:?}", c.gaps);
    }

    #[test]
    fn later_rings_compare_with_every_earlier_ring_and_servers_by_tier() {
        let d = deployment(&["test", "pilot", "wave-1"]);
        let rings = [
            ring("test", "Test", RingState::Done),
            ring("pilot", "Pilot", RingState::Done),
            ring("wave-1", "Wave 1", RingState::Waiting),
        ];
        let mut db = host("s2", "wave-1", "Rack 1", OS, &[]);
        db.tier = Some(Tier::Db);
        let mut web = host("s1", "pilot", "Rack 1", OS, &["kb2"]);
        web.tier = Some(Tier::Web);
        let hosts = vec![
            host("t1", "test", "Desk 5", OS, &[]),
            web,
            db,
            host("w1", "wave-1", "Desk 5", OS, &[]),
        ];
        let c = coverage(&d, "wave-1", &rings, &hosts).unwrap();
        assert_eq!(c.earlier_words(), "Test or Pilot");
        assert_eq!(
            c.gaps,
            vec![Gap {
                what: Trait::ServerTier,
                value: "db".into(),
                in_ring: 1,
                later: 0
            }]
        );
        assert_eq!(
            c.notes(),
            vec![
                "WARNING: test coverage: server tier db (1 host in Wave 1, 0 later) never passed through Test or Pilot"
            ]
        );
    }

    #[test]
    fn the_first_ring_and_rings_outside_the_deployment_have_no_coverage() {
        let d = deployment(&["test", "pilot"]);
        let rings = [ring("test", "Test", RingState::Done)];
        let hosts = [host("t1", "test", "Desk 5", OS, &[])];
        assert_eq!(coverage(&d, "test", &rings, &hosts), None);
        assert_eq!(coverage(&d, "wave-3", &rings, &hosts), None);
        // Every value passed: no gaps, no notes.
        let hosts = [
            host("t1", "test", "Desk 5", OS, &["kb1"]),
            host("p1", "pilot", "Desk 5", OS, &[]),
        ];
        let c = coverage(&d, "pilot", &rings, &hosts).unwrap();
        assert!(c.gaps.is_empty() && c.notes().is_empty());
    }

    #[test]
    fn many_gaps_are_noted_up_to_a_limit_then_counted() {
        let d = deployment(&["test", "pilot"]);
        let rings = [ring("test", "Test", RingState::Waiting)];
        let hosts: Vec<Host> = (0..9)
            .map(|i| host(&format!("p{i}"), "pilot", &format!("M{i}"), OS, &[]))
            .collect();
        let c = coverage(&d, "pilot", &rings, &hosts).unwrap();
        // Nine models and one OS build.
        assert_eq!(c.gaps.len(), 10);
        let notes = c.notes();
        assert_eq!(notes.len(), NOTED_GAPS + 1);
        assert!(notes[0].contains("OS build Windows 11 24H2 (9 hosts in pilot"));
        assert!(
            notes
                .last()
                .unwrap()
                .contains("4 more models, builds or tiers")
        );
    }
}
