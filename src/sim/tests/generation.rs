//! Generation: fleet size and ids, determinism from the seed, the Patch Tuesday
//! calendar, and tiny fleets that still tell every story.

use super::*;

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
        let sim = sim(800, seed, Scenario::PatchTuesday);
        sim.advance(1800);
        let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
        sim.act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap();
        sim.act(
            request(Verb::Approve, TargetKind::Deployment, &dep.id),
            &approver("bob"),
        )
        .unwrap();
        sim.advance(3600);
        let failed = sim.hosts(&HostQuery {
            state: Some(HostState::Failed),
            limit: 3,
            ..HostQuery::default()
        });
        for host in failed.items {
            sim.act(
                request(Verb::Retry, TargetKind::Host, &host.id),
                &approver("olga"),
            )
            .unwrap();
        }
        sim.advance(3600);
        let listed = (sim.rings().items, sim.deployments().items, all_hosts(&sim));
        (sim.events_since(0).unwrap(), listed)
    };
    let a = run(3);
    let b = run(3);
    assert!(!a.0.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, run(4));
}

#[test]
fn patch_tuesday_is_the_second_tuesday_and_the_story_fits_before_start() {
    let day = |s: &str| {
        DateTime::parse_from_rfc3339(&format!("{s}T18:00:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(second_tuesday(2026, 11), day("2026-11-10"));
    assert_eq!(second_tuesday(2026, 12), day("2026-12-08"));
    assert_eq!(second_tuesday(2027, 1), day("2027-01-12"));
    assert_eq!(second_tuesday(2026, 9), day("2026-09-08"));
    assert_eq!(patch_tuesday(day("2026-11-10")), day("2026-11-10"));
    assert_eq!(patch_tuesday(day("2026-11-09")), day("2026-10-13"));
    for (start, scenario) in [
        ("2026-11-11T12:00:00Z", Scenario::PatchTuesday),
        ("2026-11-16T14:00:00Z", Scenario::PatchTuesday),
        ("2026-11-12T09:30:00.123Z", Scenario::BadPatch),
        ("2027-01-01T00:00:00Z", Scenario::ZeroDay),
    ] {
        let start = DateTime::parse_from_rfc3339(start)
            .unwrap()
            .with_timezone(&Utc);
        let sim = Simulator::new(SimConfig {
            hosts: 300,
            seed: 20,
            scenario,
            start,
        });
        let (summary, _) = sim.summary();
        assert!(summary.patch_tuesday <= start);
        assert_eq!(sim.now().timestamp(), start.timestamp());
        let month = summary.patch_tuesday.format("%Y-%m").to_string();
        let dep = deployment_named(&sim, &format!("{month} Patch Tuesday"));
        for id in &dep.patch_ids {
            let patch = sim
                .patches()
                .items
                .into_iter()
                .find(|p| &p.id == id)
                .unwrap();
            assert!(
                patch.released_at <= dep.created_at,
                "{start}: {} after the deployment",
                patch.kb
            );
        }
        let tested = sim.host(&all_hosts(&sim)[0].id).unwrap();
        assert!(
            tested
                .history
                .iter()
                .all(|t| t.at >= dep.created_at && t.at <= start)
        );
    }
}

#[test]
fn tiny_fleets_tell_every_story() {
    for scenario in [
        Scenario::PatchTuesday,
        Scenario::BadPatch,
        Scenario::ZeroDay,
    ] {
        let sim = sim(5, 18, scenario);
        assert_eq!(sim.summary().0.counts.total, MIN_HOSTS as u32);
        assert!(sim.rings().items.iter().all(|r| r.counts.total > 0));
        if scenario == Scenario::ZeroDay {
            let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
            body.cve = Some("CVE-2026-41234".into());
            sim.act(body, &approver("alice")).unwrap();
        }
        for _ in 0..48 {
            sim.advance(3600);
        }
        assert_counts_consistent(&sim);
    }
}
