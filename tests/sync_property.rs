//! Property: whatever happens to the fleet (time passing, actions, compaction of the
//! event history, dropped streams, 429 bursts), the client's synced fleet ends up equal
//! to the server's. A small simulator is served over real HTTP on 127.0.0.1; the test
//! waits on the sync updates until the synced sequence reaches the backend's, never on
//! a clock.

mod client_mock;
mod sync_support;

use client_mock::recording_sleeper;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use patchdeck::api::client::Client;
use patchdeck::api::server::{Faults, ServerOptions, spawn};
use patchdeck::api::tokens::Tokens;
use patchdeck::backend::{ActionRequest, Backend, HostQuery};
use patchdeck::model::{DeploymentState, Fleet, Identity, Role, Target, TargetKind, Verb};
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use proptest::prelude::*;
use sync_support::Synced;

const TOKEN: &str = "approver-token-0123456789";

#[derive(Debug, Clone)]
enum Step {
    /// Fleet time passes.
    Advance(u64),
    /// An approver acts on the `pick`th target of its kind (errors are fine).
    Act(Verb, TargetKind, usize),
    /// Fleet time passes and the server forgets its event history at once, before the
    /// client may have read it: a client that reconnects now gets 410 and lists again.
    AdvanceAndCompact(u64),
    /// Two approvers open the next ring of every deployment that waits for it: the
    /// rollout moves on and many hosts change.
    ApproveWaiting,
}

fn step() -> impl Strategy<Value = Step> {
    // Every verb but the emergency (one per fleet; tested on its own).
    let verb = prop::sample::select(
        Verb::ALL
            .into_iter()
            .filter(|v| *v != Verb::Emergency)
            .collect::<Vec<_>>(),
    );
    let kind = prop::sample::select(vec![
        TargetKind::Deployment,
        TargetKind::Ring,
        TargetKind::Host,
    ]);
    prop_oneof![
        4 => (60u64..=4 * 3600).prop_map(Step::Advance),
        3 => (verb, kind, 0usize..64).prop_map(|(v, k, i)| Step::Act(v, k, i)),
        2 => (60u64..=4 * 3600).prop_map(Step::AdvanceAndCompact),
        2 => Just(Step::ApproveWaiting),
    ]
}

fn faults() -> impl Strategy<Value = Faults> {
    (
        prop::option::of(2u32..40),
        prop::sample::select(vec![0u32, 5, 9]),
    )
        .prop_map(|(drop_stream_after, throttle_every)| Faults {
            drop_stream_after,
            throttle_every,
            retry_after_secs: 3,
            ..Faults::default()
        })
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-16T14:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// The `pick`th target of `kind` in the fleet now.
fn target(sim: &Simulator, kind: TargetKind, pick: usize) -> Option<Target> {
    let ids: Vec<String> = match kind {
        TargetKind::Deployment => sim.deployments().items.into_iter().map(|d| d.id).collect(),
        TargetKind::Ring => sim.rings().items.into_iter().map(|r| r.id).collect(),
        TargetKind::Host => sim
            .hosts(&HostQuery {
                limit: 1000,
                ..HostQuery::default()
            })
            .items
            .into_iter()
            .map(|h| h.id.to_string())
            .collect(),
        TargetKind::Fleet => Vec::new(),
    };
    let id = ids.get(pick % ids.len().max(1))?.clone();
    Some(Target { kind, id })
}

fn request(verb: Verb, kind: TargetKind, id: &str) -> ActionRequest {
    ActionRequest {
        verb,
        target: Target {
            kind,
            id: id.to_string(),
        },
        reason: Some("property test".into()),
        ticket: Some("CHG-0001".into()),
        patch_id: None,
        cve: None,
        override_reason: None,
        exception: Default::default(),
        if_match: None,
    }
}

/// The fleet as the backend holds it, built without HTTP.
fn backend_fleet(sim: &Simulator) -> Fleet {
    let mut fleet = Fleet {
        summary: Some(sim.summary().0),
        ..Fleet::default()
    };
    fleet.rings = sim
        .rings()
        .items
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    fleet.deployments = sim
        .deployments()
        .items
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    fleet.patches = sim
        .patches()
        .items
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    fleet.actions = sim
        .actions()
        .items
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let hosts = sim.hosts(&HostQuery {
        limit: 100_000,
        ..HostQuery::default()
    });
    fleet.hosts = hosts
        .items
        .into_iter()
        .map(|mut h| {
            h.history.clear();
            (h.id.clone(), h)
        })
        .collect();
    fleet
}

/// The fleet without the summary's `now`: the simulator serves its clock as read, with
/// no version bump or event when only time passes (the console extrapolates it from
/// `clock_speed`), so `now` is the one value a synced copy cannot follow.
fn without_clock(mut fleet: Fleet) -> Fleet {
    if let Some(summary) = &mut fleet.summary {
        summary.now = DateTime::UNIX_EPOCH;
    }
    fleet
}

/// What differs between two fleets, for the failure message.
fn differences(synced: &Fleet, truth: &Fleet) -> Vec<String> {
    fn keyed<K: Ord + std::fmt::Display, T: PartialEq + std::fmt::Debug>(
        what: &str,
        a: &std::collections::BTreeMap<K, T>,
        b: &std::collections::BTreeMap<K, T>,
        out: &mut Vec<String>,
    ) {
        for id in a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            match (a.get(id), b.get(id)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => out.push(format!("{what} {id}: synced {x:?}\n   truth {y:?}")),
            }
        }
    }
    let mut out = Vec::new();
    if synced.summary != truth.summary {
        out.push(format!(
            "summary: synced {:?}\n   truth {:?}",
            synced.summary, truth.summary
        ));
    }
    keyed("ring", &synced.rings, &truth.rings, &mut out);
    keyed(
        "deployment",
        &synced.deployments,
        &truth.deployments,
        &mut out,
    );
    keyed("host", &synced.hosts, &truth.hosts, &mut out);
    keyed("patch", &synced.patches, &truth.patches, &mut out);
    keyed("action", &synced.actions, &truth.actions, &mut out);
    out
}

async fn check(seed: u64, scenario: Scenario, faults: Faults, steps: Vec<Step>) {
    let sim = Simulator::new(SimConfig {
        hosts: 60,
        seed,
        scenario,
        start: start(),
    });
    let options = ServerOptions {
        tokens: Tokens::single("alice", Role::Approver, TOKEN),
        faults,
        ..ServerOptions::default()
    };
    let backend: Arc<dyn Backend> = sim.clone();
    let server = spawn(backend, options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut synced = Synced::start(&server.url, TOKEN);
    synced.until_live_at(sim.sequence()).await;
    let alice = Identity::new("alice", Role::Approver);
    let bob = Identity::new("bob", Role::Approver);

    for step in steps {
        match step {
            Step::Advance(secs) => sim.advance(secs),
            Step::Act(verb, kind, pick) => {
                if let Some(target) = target(&sim, kind, pick) {
                    let _ = sim.act(request(verb, kind, &target.id), &alice);
                }
            }
            Step::AdvanceAndCompact(secs) => {
                sim.advance(secs);
                sim.compact_events_through(sim.sequence());
            }
            Step::ApproveWaiting => {
                let waiting = sim
                    .deployments()
                    .items
                    .into_iter()
                    .filter(|d| d.state == DeploymentState::AwaitingApproval);
                for deployment in waiting {
                    for approver in [&alice, &bob] {
                        let request =
                            request(Verb::Approve, TargetKind::Deployment, &deployment.id);
                        let _ = sim.act(request, approver);
                    }
                }
            }
        }
        synced.until_live_at(sim.sequence()).await;
    }
    eprintln!(
        "{} events, {} snapshots",
        sim.sequence(),
        synced.snapshots.len()
    );

    let synced_fleet = without_clock(synced.fleet.clone());
    let truth = without_clock(backend_fleet(&sim));
    assert!(
        synced_fleet.same_content(&truth),
        "synced fleet differs from the backend's:\n{}",
        differences(&synced_fleet, &truth).join("\n")
    );
    let (sleeper, _) = recording_sleeper();
    let client = Client::new(&server.url, Some(TOKEN.into()))
        .unwrap()
        .with_sleeper(sleeper);
    let listed = without_clock(client.snapshot().await.unwrap());
    assert!(
        synced_fleet.same_content(&listed),
        "synced fleet differs from a fresh listing:\n{}",
        differences(&synced_fleet, &listed).join("\n")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_synced_fleet_equals_the_servers(
        seed in 0u64..1000,
        scenario in prop::sample::select(vec![Scenario::PatchTuesday, Scenario::BadPatch, Scenario::ZeroDay]),
        faults in faults(),
        steps in prop::collection::vec(step(), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(seed, scenario, faults, steps));
    }
}
