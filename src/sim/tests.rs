//! Simulator unit tests: lifecycle, gates, threshold halt, reboot order, two-person
//! rule, rollback, retry, exclude, emergency, determinism, events and host queries.

use chrono::{DateTime, Utc};

use super::*;
use crate::backend::{ActionRequest, Backend, HostQuery};
use crate::model::{Identity, Role, Target, TargetKind, Verb};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-16T14:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn sim(hosts: usize, seed: u64, scenario: Scenario) -> Arc<Simulator> {
    Simulator::new(SimConfig {
        hosts,
        seed,
        scenario,
        start: start(),
    })
}

#[allow(dead_code)]
fn approver(name: &str) -> Identity {
    Identity {
        name: name.into(),
        role: Role::Approver,
    }
}

#[allow(dead_code)]
fn request(verb: Verb, kind: TargetKind, id: &str) -> ActionRequest {
    ActionRequest {
        verb,
        target: Target {
            kind,
            id: id.into(),
        },
        reason: Some("testing".into()),
        ticket: Some("CHG-1".into()),
        patch_id: None,
        cve: None,
        if_match: None,
    }
}

fn all_hosts(sim: &Simulator) -> Vec<crate::model::Host> {
    let mut hosts = Vec::new();
    let mut after = None;
    loop {
        let page = sim.hosts(&HostQuery {
            after: after.clone(),
            limit: 1000,
            ..HostQuery::default()
        });
        after = page.items.last().map(|h| h.id.clone());
        hosts.extend(page.items);
        if !page.more {
            return hosts;
        }
    }
}

#[test]
fn generates_the_requested_number_of_hosts_with_sorted_ids() {
    let sim = sim(1000, 1, Scenario::PatchTuesday);
    let hosts = all_hosts(&sim);
    assert_eq!(hosts.len(), 1000);
    assert!(hosts.windows(2).all(|w| w[0].id < w[1].id));
    let (summary, _) = sim.summary();
    assert_eq!(summary.counts.total, 1000);
    let rings = sim.rings().items;
    let ids: Vec<&str> = rings.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "test",
            "pilot",
            "wave-1",
            "wave-2",
            "wave-3",
            "servers-nonprod",
            "servers-prod"
        ]
    );
    assert_eq!(rings.iter().map(|r| r.counts.total).sum::<u32>(), 1000);
}

#[test]
fn hundred_thousand_hosts_generate() {
    let sim = sim(100_000, 7, Scenario::PatchTuesday);
    assert_eq!(sim.summary().0.counts.total, 100_000);
}

#[test]
fn same_seed_same_history_different_seed_different() {
    let run = |seed: u64| {
        let sim = sim(500, seed, Scenario::PatchTuesday);
        sim.advance(3600);
        sim.events_since(0).unwrap()
    };
    let a = run(3);
    let b = run(3);
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, run(4));
}
