//! A host's lifecycle, server reboot order within patching groups, and the clock.

use super::*;

#[test]
fn a_host_walks_every_state_to_succeeded() {
    let sim = sim(1000, 2, Scenario::PatchTuesday);
    sim.advance(2 * 3600);
    let full = [
        HostState::Pending,
        HostState::Downloading,
        HostState::Installing,
        HostState::PendingReboot,
        HostState::Rebooting,
        HostState::Verifying,
        HostState::Succeeded,
    ];
    let servers = all_hosts(&sim)
        .into_iter()
        .filter(|h| h.ring_id == "servers-nonprod" && h.state == HostState::Succeeded)
        .collect::<Vec<_>>();
    assert!(
        !servers.is_empty(),
        "non-production servers finish in two hours"
    );
    for listed in &servers {
        assert!(listed.history.is_empty(), "lists carry no history");
        let host = sim.host(&listed.id).unwrap();
        let states = states_in_order(&host.history);
        assert!(
            is_subsequence(&full, &states),
            "{} went {:?}",
            host.name,
            states
        );
        assert!(host.installed.iter().any(|p| p.starts_with("kb")));
        assert!(host.history.windows(2).all(|w| w[0].at <= w[1].at));
    }
    assert_counts_consistent(&sim);
}

#[test]
fn servers_reboot_in_the_groups_order() {
    let sim = sim(2000, 5, Scenario::PatchTuesday);
    sim.advance(3 * 3600);
    let inner = sim.lock();
    let engine = &inner.engine;
    let nonprod = engine.ring_index("servers-nonprod").unwrap();
    let mut checked = 0;
    for group in engine.rings[nonprod].groups.iter() {
        if group.reboot_order != [Tier::Web, Tier::App, Tier::Db] {
            continue;
        }
        // Per tier: when hosts went down (rebooting) and came back (verifying).
        let mut down: std::collections::BTreeMap<Tier, Vec<_>> = Default::default();
        let mut up: std::collections::BTreeMap<Tier, Vec<_>> = Default::default();
        for (h, host) in engine.hosts.iter().enumerate() {
            if host.group_id.as_deref() != Some(group.id.as_str()) {
                continue;
            }
            let tier = host.tier.unwrap();
            for t in &engine.histories[h] {
                match t.state {
                    HostState::Rebooting => down.entry(tier).or_default().push(t.at),
                    HostState::Verifying => up.entry(tier).or_default().push(t.at),
                    _ => {}
                }
            }
        }
        if down.len() < 3 {
            continue;
        }
        let last =
            |m: &std::collections::BTreeMap<Tier, Vec<_>>, t: Tier| *m[&t].iter().max().unwrap();
        let first =
            |m: &std::collections::BTreeMap<Tier, Vec<_>>, t: Tier| *m[&t].iter().min().unwrap();
        assert!(
            last(&down, Tier::Web) < first(&down, Tier::App),
            "{}: web down before app",
            group.id
        );
        assert!(
            last(&down, Tier::App) < first(&down, Tier::Db),
            "{}: app down before db",
            group.id
        );
        assert!(
            last(&down, Tier::Db) < first(&up, Tier::Db),
            "{}: all down before db up",
            group.id
        );
        assert!(
            last(&up, Tier::Db) < first(&up, Tier::App),
            "{}: db up before app",
            group.id
        );
        assert!(
            last(&up, Tier::App) < first(&up, Tier::Web),
            "{}: app up before web",
            group.id
        );
        checked += 1;
    }
    assert!(checked >= 2, "checked {checked} groups");
}

#[tokio::test]
async fn a_frozen_clock_never_changes_anything() {
    let sim = sim(1000, 16, Scenario::PatchTuesday);
    let before = (sim.now(), sim.sequence());
    sim.spawn_clock(0.0).await.unwrap();
    let (summary, _) = sim.summary();
    assert_eq!(summary.clock_speed, 0.0);
    assert_eq!((sim.now(), sim.sequence()), before);
}

#[tokio::test]
async fn a_running_clock_advances_the_fleet() {
    let sim = sim(1000, 17, Scenario::PatchTuesday);
    let start = sim.now();
    let mut live = sim.subscribe();
    let clock = sim.spawn_clock(3600.0);
    assert_eq!(sim.summary().0.clock_speed, 3600.0);
    // The speed change itself is an event; then the fleet moves.
    let mut moved = false;
    while !moved {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), live.recv())
            .await
            .expect("events within 10 s")
            .unwrap();
        moved = event.at > start;
    }
    assert!(sim.now() > start);
    clock.abort();
}
