//! The emergency path: stages, look-alikes first, taking hosts over and handing them
//! back.

use super::*;

#[test]
fn emergency_deploys_lookalikes_first_then_by_exposure_and_criticality() {
    let sim = sim(2000, 10, Scenario::ZeroDay);
    let patch = sim
        .patches()
        .items
        .into_iter()
        .find(|p| !p.exploited_cves.is_empty())
        .expect("zero-day patch");
    let cve = patch.exploited_cves[0].clone();
    assert!(sim.summary().0.emergency.is_none());
    let mut body = request(Verb::Emergency, TargetKind::Fleet, "fleet");
    body.cve = Some(cve.clone());
    body.ticket = None;
    assert!(matches!(
        sim.act(body.clone(), &approver("alice")),
        Err(ActError::Invalid(_))
    ));
    body.ticket = Some("INC-7".into());
    // Two-person: alice asks, bob confirms.
    let asked = sim.act(body.clone(), &approver("alice")).unwrap();
    assert_eq!(asked.state, ActionState::AwaitingSecondApprover);
    let action = sim.act(body.clone(), &approver("bob")).unwrap();
    assert_eq!(action.state, ActionState::Succeeded);
    assert!(matches!(
        sim.act(body, &approver("carol")),
        Err(ActError::Conflict(_))
    ));

    let emergency = sim
        .summary()
        .0
        .emergency
        .expect("summary shows the emergency");
    assert_eq!(emergency.cve, cve);
    assert_eq!(emergency.patch_id, patch.id);
    let dep = sim.deployment(&emergency.deployment_id).unwrap();
    assert!(dep.emergency);
    assert_eq!(dep.rings.len(), 4);
    let stage = |i: usize| -> Vec<Host> {
        let mut hosts = Vec::new();
        let mut after = None;
        loop {
            let page = sim.hosts(&HostQuery {
                ring: Some(dep.rings[i].clone()),
                after: after.clone(),
                limit: 500,
                ..HostQuery::default()
            });
            after = page.items.last().map(|h| h.id.to_string());
            hosts.extend(page.items);
            if !page.more {
                return hosts;
            }
        }
    };
    let priority =
        |h: &Host| h.exposed || h.criticality == crate::model::Criticality::MissionCritical;
    let lookalike = stage(0);
    let exposed = stage(1);
    assert!(!lookalike.is_empty() && lookalike.len() <= 50);
    assert!(lookalike.iter().all(|h| !priority(h)));
    let profiles: std::collections::BTreeSet<_> =
        exposed.iter().map(|h| (h.model.clone(), h.tier)).collect();
    let resembles = |h: &Host| profiles.contains(&(h.model.clone(), h.tier));
    // Workstations resemble an urgent host; servers come as whole groups of which at
    // least one member resembles one.
    for host in &lookalike {
        match &host.group_id {
            None => assert!(resembles(host), "{}", host.name),
            Some(g) => assert!(
                lookalike
                    .iter()
                    .any(|h| h.group_id.as_ref() == Some(g) && resembles(h))
            ),
        }
    }
    assert!(!exposed.is_empty());
    // The exposed stage: exposed hosts first; everyone urgent, or in an urgent group.
    let first_unexposed = exposed
        .iter()
        .position(|h| !h.exposed)
        .unwrap_or(exposed.len());
    assert!(exposed[..first_unexposed].iter().all(|h| h.exposed));
    let urgent_groups: std::collections::BTreeSet<_> = exposed
        .iter()
        .filter(|h| priority(h))
        .filter_map(|h| h.group_id.clone())
        .collect();
    assert!(exposed.iter().all(|h| {
        priority(h)
            || h.group_id
                .as_ref()
                .is_some_and(|g| urgent_groups.contains(g))
    }));
    let in_stage_groups = |hosts: &[Host]| -> std::collections::BTreeSet<String> {
        hosts
            .iter()
            .filter_map(|h| h.group_id.clone().map(String::from))
            .collect()
    };
    // A patching group is never split across stages.
    let (high, rest) = (stage(2), stage(3));
    let groups: Vec<_> = [&lookalike, &exposed, &high, &rest]
        .iter()
        .map(|s| in_stage_groups(s))
        .collect();
    for (i, a) in groups.iter().enumerate() {
        for b in &groups[i + 1..] {
            assert!(a.is_disjoint(b), "{a:?} / {b:?}");
        }
    }
    assert!(
        high.iter()
            .all(|h| h.criticality == crate::model::Criticality::High || h.group_id.is_some())
    );
    assert!(rest.iter().all(|h| !priority(h)));
    // The look-alike stage deploys first, ignoring windows; its automatic gate opens
    // the next stage after a short soak.
    assert_eq!(ring(&sim, &dep.rings[0]).state, RingState::Deploying);
    assert_eq!(ring(&sim, &dep.rings[1]).state, RingState::Waiting);
    advance_until(&sim, 6 * 3600, |sim| {
        ring(sim, &dep.rings[1]).state != RingState::Waiting
    })
    .expect("the automatic gate opens the exposed stage");
    let first = ring(&sim, &dep.rings[0]);
    assert_eq!(first.gate.state, GateState::Passed);
    assert!(sim.now() >= first.soak_ends_at.unwrap());
    let dep_now = sim.deployment(&dep.id).unwrap();
    assert!(
        dep_now
            .approvals
            .iter()
            .any(|a| a.ring_id == dep.rings[1] && a.by == SYSTEM)
    );
    assert!(dep_now.counts.succeeded > 0);
    assert_counts_consistent(&sim);
    // Everyone is patched in the end, and the emergency is over.
    if advance_until(&sim, 3 * 86_400, |sim| sim.summary().0.emergency.is_none()).is_none() {
        for r in &dep.rings {
            let r = ring(&sim, r);
            eprintln!(
                "{} {:?} {:?} {:?} {:?}",
                r.id, r.state, r.gate, r.counts, r.state_reason
            );
        }
        panic!("the emergency completes");
    }
    assert_eq!(
        sim.deployment(&dep.id).unwrap().state,
        DeploymentState::Completed
    );
    // Hosts went back to the monthly deployment; the emergency keeps its report.
    let dep_done = sim.deployment(&dep.id).unwrap();
    assert!(dep_done.counts.succeeded > 0);
    let back = sim.host(&lookalike[0].id).unwrap();
    assert_ne!(back.deployment_id.as_deref(), Some(dep.id.as_str()));
    assert!(back.has_installed(&patch.id));
    // Its patch can be uninstalled: rolling it back succeeds without restore.
    let rollback = sim
        .act(
            request(Verb::Rollback, TargetKind::Deployment, &dep.id),
            &approver("alice"),
        )
        .unwrap();
    assert_eq!(rollback.state, ActionState::Running);
    assert!(rollback.progress_total > 0);
    sim.advance(600);
    let done = sim
        .actions()
        .items
        .into_iter()
        .find(|a| a.id == rollback.id)
        .unwrap();
    assert_eq!(done.state, ActionState::Succeeded, "{:?}", done.detail);
    assert_eq!(done.progress_done, done.progress_total);
    assert_eq!(
        sim.deployment(&dep.id).unwrap().state,
        DeploymentState::RolledBack
    );
    // Every host is rid of the patch; hosts the emergency gave back keep their state in
    // the monthly deployment.
    assert!(all_hosts(&sim).iter().all(|h| !h.has_installed(&patch.id)));
    let host = sim.host(&lookalike[0].id).unwrap();
    assert_eq!(host.state, back.state);
    let note = host.history.last().unwrap().note.clone().unwrap();
    assert!(note.starts_with("uninstalled"), "{note}");
    assert_counts_consistent(&sim);
}
