//! Simulator unit tests: lifecycle, gates, threshold halt, reboot order, two-person
//! rule (approvals, halted resumes, emergencies), rollback, retry, exceptions, emergency,
//! determinism, events and host queries.
//! One file per topic; this one holds the shared helpers.

mod actions;
mod coverage;
mod emergency;
mod exceptions;
mod explore;
mod gates;
mod generation;
mod lifecycle;
mod lookalike;
mod plan;
mod queries;
mod two_person;

use chrono::{DateTime, Utc};

use super::*;
use crate::backend::{ActError, ActionRequest, Backend, HostQuery};
use crate::model::{
    ActionState, Change, DeploymentState, GateState, Host, HostKind, HostState, Identity,
    RingState, Role, Target, TargetKind, Tier, Verb,
};

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

fn approver(name: &str) -> Identity {
    Identity::new(name, Role::Approver)
}

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
        override_reason: None,
        // An exception's terms where the verb takes them: 30 days, a control.
        exception: Box::new(match verb {
            Verb::Exclude => crate::model::ExceptionTerms {
                owner: None,
                compensating_control: Some("Isolated VLAN, EDR in block mode".into()),
                expires: Some(crate::model::Expiry::Days(30)),
            },
            Verb::Renew => crate::model::ExceptionTerms {
                expires: Some(crate::model::Expiry::Days(30)),
                ..Default::default()
            },
            _ => crate::model::ExceptionTerms::default(),
        }),
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
        after = page.items.last().map(|h| h.id.to_string());
        hosts.extend(page.items);
        if !page.more {
            return hosts;
        }
    }
}

/// The engine's running counts equal a full recount.
fn assert_counts_consistent(sim: &Simulator) {
    let inner = sim.lock();
    let (rings, deployments, summary) = inner.engine.recount();
    for (r, ring) in inner.engine.rings.iter().enumerate() {
        assert_eq!(ring.counts, rings[r], "counts of ring {}", ring.id);
    }
    // The first deployment is last month's report: its counts are frozen.
    for (d, dep) in inner.engine.deployments.iter().enumerate().skip(1) {
        assert_eq!(dep.counts, deployments[d], "counts of {}", dep.id);
    }
    assert_eq!(inner.engine.summary.counts, summary);
    for (r, (lent, before)) in inner.engine.recount_lent().into_iter().enumerate() {
        assert_eq!(inner.engine.ring_runs[r].lent, lent);
        assert_eq!(inner.engine.ring_runs[r].lent_before, before);
    }
}

fn deployment_named(sim: &Simulator, name: &str) -> crate::model::Deployment {
    sim.deployments()
        .items
        .into_iter()
        .find(|d| d.name == name)
        .expect("deployment")
}

fn ring(sim: &Simulator, id: &str) -> crate::model::Ring {
    sim.ring(id).expect("ring")
}

/// Advance minute by minute until `done` or `limit_secs` passed; returns seconds used.
fn advance_until(
    sim: &Simulator,
    limit_secs: u64,
    mut done: impl FnMut(&Simulator) -> bool,
) -> Option<u64> {
    let mut used = 0;
    while used <= limit_secs {
        if done(sim) {
            return Some(used);
        }
        sim.advance(60);
        used += 60;
    }
    None
}

fn states_in_order(history: &[crate::model::Transition]) -> Vec<HostState> {
    let mut states: Vec<HostState> = history.iter().map(|t| t.state).collect();
    states.dedup();
    states
}

fn is_subsequence(wanted: &[HostState], states: &[HostState]) -> bool {
    let mut it = states.iter();
    wanted.iter().all(|w| it.any(|s| s == w))
}
