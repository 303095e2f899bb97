//! Arbitrary action sequences keep every count and version consistent; ignored
//! exploration, measurement and sweep runs.

use super::*;

/// One arbitrary action: verb, a pick among the targets, and whether to give reasons.
fn arbitrary_action(sim: &Simulator, verb: usize, pick: usize, reasons: bool) -> ActionRequest {
    let verb = Verb::ALL[verb % Verb::ALL.len()];
    let (kind, id) = match (verb, pick % 4) {
        (Verb::Emergency, _) => (TargetKind::Fleet, "fleet".to_string()),
        (_, 3) => (TargetKind::Host, format!("h-{:06}", pick % 400)),
        (Verb::Retry | Verb::Exclude, _) | (Verb::Rollback, 2) => {
            let hosts = all_hosts(sim);
            let failed: Vec<_> = hosts
                .iter()
                .filter(|h| h.state == HostState::Failed)
                .collect();
            let host = if failed.is_empty() || pick.is_multiple_of(2) {
                &hosts[pick % hosts.len()]
            } else {
                failed[pick % failed.len()]
            };
            (TargetKind::Host, host.id.to_string())
        }
        (Verb::Pause | Verb::Resume, 0) | (Verb::Rollback, 1) => {
            let rings = sim.rings().items;
            (TargetKind::Ring, rings[pick % rings.len()].id.clone())
        }
        _ => {
            let deployments = sim.deployments().items;
            (
                TargetKind::Deployment,
                deployments[pick % deployments.len()].id.clone(),
            )
        }
    };
    let mut body = request(verb, kind, &id);
    if !reasons {
        body.reason = None;
        body.ticket = None;
    }
    if verb == Verb::Emergency {
        body.cve = Some("CVE-2026-41234".into());
        if pick.is_multiple_of(3) {
            body.cve = None;
            body.patch_id = Some(sim.patches().items[pick % 6].id.clone());
        }
    }
    body
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    /// Whatever operators do, in whatever order, the fleet stays consistent: counts
    /// match the hosts, action ids ascend, versions only grow, history runs forward.
    #[test]
    fn any_sequence_of_actions_keeps_the_fleet_consistent(
        seed in 0u64..1000,
        moves in proptest::collection::vec((0u64..7200, 0usize..9, 0usize..10_000, proptest::bool::weighted(0.8)), 1..20),
    ) {
        let scenario = [Scenario::PatchTuesday, Scenario::BadPatch, Scenario::ZeroDay][seed as usize % 3];
        let sim = sim(300, seed, scenario);
        let mut last_action = String::new();
        for (secs, verb, pick, reasons) in moves {
            sim.advance(secs);
            let body = arbitrary_action(&sim, verb, pick, reasons);
            let who = if pick.is_multiple_of(2) { "alice" } else { "bob" };
            if let Ok(action) = sim.act(body, &approver(who)) {
                proptest::prop_assert!(action.id > last_action);
                last_action = action.id;
            }
        }
        assert_counts_consistent(&sim);
        let mut versions = std::collections::BTreeMap::new();
        for event in sim.events_since(0).unwrap() {
            let (key, version) = match &event.change {
                Change::Host(h) => (format!("host {}", h.id), h.version),
                Change::Ring(r) => (format!("ring {}", r.id), r.version),
                Change::Deployment(d) => (format!("deployment {}", d.id), d.version),
                Change::Action(a) => (format!("action {}", a.id), a.version),
                Change::Summary(s) => ("summary".to_string(), s.version),
                Change::Patch(p) => (format!("patch {}", p.id), p.version),
            };
            let before = versions.insert(key.clone(), version);
            proptest::prop_assert!(before.is_none_or(|v| v < version), "{key} went back");
        }
        for host in all_hosts(&sim).iter().step_by(17) {
            let host = sim.host(&host.id).unwrap();
            proptest::prop_assert!(host.history.windows(2).all(|w| w[0].at <= w[1].at));
        }
    }
}

#[test]
#[ignore = "exploration: prints the story"]
fn explore() {
    let show = |sim: &Simulator, label: &str| {
        println!("-- {label} now {} seq {}", sim.now(), sim.sequence());
        for r in sim.rings().items {
            let c = r.counts;
            println!(
                "  {:28} {:?} gate {:?} {:?} tot {} pend {} flight {} ok {} fail {} off {} def {} rb {} excl {} soak {:?} reason {:?}",
                r.id,
                r.state,
                r.gate.state,
                r.gate.blocked_reason,
                c.total,
                c.pending,
                c.in_flight(),
                c.succeeded,
                c.failed,
                c.offline,
                c.deferred,
                c.rolled_back,
                c.excluded,
                r.soak_ends_at,
                r.state_reason
            );
        }
        for d in sim.deployments().items {
            let c = d.counts;
            println!(
                "  {} {} {:?} {:?} cur {:?} next {:?} rate {} eta {:?} tot {} ok {} pend {} fail {}",
                d.id,
                d.name,
                d.state,
                d.state_reason,
                d.current_ring,
                d.next_ring,
                d.rate_per_hour,
                d.eta,
                c.total,
                c.succeeded,
                c.pending,
                c.failed
            );
        }
        for a in sim.actions().items {
            println!(
                "  {} {:?} {} {:?} {:?} {:?} {}/{}",
                a.id, a.verb, a.by, a.state, a.reason, a.detail, a.progress_done, a.progress_total
            );
        }
        println!("  summary {:?}", sim.summary().0.emergency);
    };
    let pt = sim(5000, 1, Scenario::PatchTuesday);
    pt.advance(1800);
    let dep = deployment_named(&pt, "2026-11 Patch Tuesday");
    pt.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("alice"),
    )
    .unwrap();
    pt.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("bob"),
    )
    .unwrap();
    for hours in [2, 6, 12, 24, 48] {
        pt.advance(if hours == 2 {
            2 * 3600
        } else {
            3600 * hours / 2
        });
        show(&pt, &format!("patch-tuesday after approval +{hours}h"));
    }
    let zd = sim(5000, 1, Scenario::ZeroDay);
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.cve = Some("CVE-2026-41234".into());
    zd.act(body, &approver("alice")).unwrap();
    for hours in [0, 1, 3, 6, 12, 24] {
        zd.advance(3600 * if hours <= 1 { hours } else { hours / 2 });
        show(&zd, &format!("zero-day +{hours}h"));
    }
}

#[test]
#[ignore = "measurement: prints timings and event rates"]
fn measure() {
    for scenario in [
        Scenario::PatchTuesday,
        Scenario::BadPatch,
        Scenario::ZeroDay,
    ] {
        let t = std::time::Instant::now();
        let big = sim(100_000, 1, scenario);
        println!("{scenario:?}: new(100k) {:?}", t.elapsed());
        let t = std::time::Instant::now();
        big.advance(600);
        println!(
            "  advance 10 min at 100k: {:?}, {} events",
            t.elapsed(),
            big.sequence()
        );
    }
    let s = sim(10_000, 1, Scenario::PatchTuesday);
    s.advance(3600);
    println!(
        "10k patch-tuesday: {} events in the first fleet hour",
        s.sequence()
    );
    let dep = deployment_named(&s, "2026-11 Patch Tuesday");
    s.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("a"),
    )
    .unwrap();
    s.act(
        request(Verb::Approve, TargetKind::Deployment, &dep.id),
        &approver("b"),
    )
    .unwrap();
    let before = s.sequence();
    let t = std::time::Instant::now();
    s.advance(3600);
    println!(
        "10k wave 1 deploying: {} events/fleet minute, hour took {:?}",
        (s.sequence() - before) / 60,
        t.elapsed()
    );
    let z = sim(10_000, 1, Scenario::ZeroDay);
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.cve = Some("CVE-2026-41234".into());
    z.act(body, &approver("a")).unwrap();
    let before = z.sequence();
    z.advance(3600);
    println!(
        "10k emergency, first hour: {} events/fleet minute",
        (z.sequence() - before) / 60
    );
    let mut busiest = 0;
    for _ in 0..12 {
        let before = z.sequence();
        z.advance(3600);
        busiest = busiest.max((z.sequence() - before) / 60);
    }
    println!("10k emergency, busiest of the next 12 hours: {busiest} events/fleet minute");
}

#[test]
#[ignore = "slow: no false halts in normal months and emergencies, bad patch halts within 30 fleet minutes, across seeds"]
fn sweep() {
    let mut false_halts = 0;
    let mut halt_minutes = Vec::new();
    for seed in 0..12 {
        let z = sim(3000, seed, Scenario::ZeroDay);
        let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
        body.cve = Some("CVE-2026-41234".into());
        z.act(body, &approver("a")).unwrap();
        z.advance(2 * 86_400);
        if z.actions().items.iter().any(|a| a.verb == Verb::Halt) {
            false_halts += 1;
            println!(
                "seed {seed}: zero-day halted: {:?}",
                z.actions()
                    .items
                    .iter()
                    .find(|a| a.verb == Verb::Halt)
                    .unwrap()
                    .reason
            );
        }
        let b = sim(2000, seed, Scenario::BadPatch);
        let used = advance_until(&b, 3 * 3600, |sim| {
            deployment_named(sim, "2026-11 Patch Tuesday").state == DeploymentState::Halted
        });
        halt_minutes.push(used.map(|s| s / 60));
        let p = sim(3000, seed, Scenario::PatchTuesday);
        p.advance(1800);
        for _ in 0..3 {
            let dep = deployment_named(&p, "2026-11 Patch Tuesday");
            let _ = p.act(
                request(Verb::Approve, TargetKind::Deployment, &dep.id),
                &approver("a"),
            );
            let _ = p.act(
                request(Verb::Approve, TargetKind::Deployment, &dep.id),
                &approver("b"),
            );
            p.advance(2 * 86_400);
        }
        if p.actions().items.iter().any(|a| a.verb == Verb::Halt) {
            false_halts += 1;
            println!("seed {seed}: patch-tuesday halted");
        }
        let dep = deployment_named(&p, "2026-11 Patch Tuesday");
        println!(
            "seed {seed}: patch-tuesday after 6 days {:?} {:?} {:?}",
            dep.state, dep.current_ring, dep.state_reason
        );
    }
    println!("false halts {false_halts}; bad-patch halt minutes {halt_minutes:?}");
    assert_eq!(false_halts, 0);
    assert!(halt_minutes.iter().all(|m| m.is_some_and(|m| m <= 30)));
}
