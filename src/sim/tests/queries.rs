//! Events (replay and compaction) and host queries (filters and pages).

use super::*;

#[test]
fn events_replay_and_compaction() {
    let sim = sim(2000, 14, Scenario::PatchTuesday);
    assert_eq!(sim.sequence(), 0);
    let mut live = sim.subscribe();
    sim.advance(1800);
    let seq = sim.sequence();
    assert!(seq > 10);
    let events = sim.events_since(0).unwrap();
    assert_eq!(events.len() as u64, seq);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 + 1)
    );
    assert_eq!(live.try_recv().unwrap(), events[0]);
    // Events carry no host history, and versions only grow per resource.
    let mut versions = std::collections::BTreeMap::new();
    for event in &events {
        if let Change::Host(host) = &event.change {
            assert!(host.history.is_empty());
            let last = versions.insert(host.id.clone(), host.version);
            assert!(last.is_none_or(|v| v < host.version));
        }
    }
    assert_eq!(sim.events_since(seq - 3).unwrap().len(), 3);
    assert!(sim.events_since(seq + 10).unwrap().is_empty());

    let half = seq / 2;
    sim.compact_events_through(half);
    assert_eq!(
        sim.events_since(half - 1),
        Err(crate::backend::Compacted { oldest: half + 1 })
    );
    assert_eq!(sim.events_since(half).unwrap().len() as u64, seq - half);

    // The log caps itself.
    let small = Simulator::with_log_capacity(
        SimConfig {
            hosts: 2000,
            seed: 14,
            scenario: Scenario::PatchTuesday,
            start: start(),
        },
        100,
    );
    small.advance(3600);
    assert!(small.sequence() > 200);
    assert!(small.logged_events() <= 110);
    assert!(small.events_since(0).is_err());
    assert!(small.events_since(small.sequence() - 50).is_ok());
}

#[test]
fn host_queries_filter_and_page_by_id() {
    let sim = sim(3000, 15, Scenario::PatchTuesday);
    let everything = all_hosts(&sim);
    let pages = |query: HostQuery| {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = sim.hosts(&HostQuery {
                after: after.clone(),
                limit: 7,
                ..query.clone()
            });
            assert!(page.items.len() <= 7);
            after = page.items.last().map(|h| h.id.to_string());
            got.extend(page.items.into_iter().map(|h| h.id));
            if !page.more {
                return got;
            }
        }
    };
    let expect = |f: &dyn Fn(&Host) -> bool| -> Vec<String> {
        everything
            .iter()
            .filter(|h| f(h))
            .map(|h| h.id.to_string())
            .collect()
    };
    let by_ring = pages(HostQuery {
        ring: Some("wave-3".into()),
        ..HostQuery::default()
    });
    assert_eq!(by_ring, expect(&|h| h.ring_id == "wave-3"));
    assert!(!by_ring.is_empty());
    let failed = pages(HostQuery {
        state: Some(HostState::Failed),
        ..HostQuery::default()
    });
    assert_eq!(failed, expect(&|h| h.state == HostState::Failed));
    let code = everything
        .iter()
        .find_map(|h| h.failure.as_ref())
        .map(|f| f.code.clone())
        .unwrap();
    assert_eq!(
        pages(HostQuery {
            error: Some(code.to_uppercase().replace("0X", "0x")),
            ..HostQuery::default()
        }),
        expect(&|h| h.failure.as_ref().is_some_and(|f| f.code == code))
    );
    let text = pages(HostQuery {
        text: Some("lon-lt".into()),
        ..HostQuery::default()
    });
    assert_eq!(text, expect(&|h| h.name.starts_with("LON-LT")));
    assert!(!text.is_empty());
    let group = pages(HostQuery {
        text: Some("grp-pay".into()),
        ..HostQuery::default()
    });
    assert!(group.iter().all(|id| {
        everything
            .iter()
            .any(|h| h.id == id.as_str() && h.kind == HostKind::Server)
    }));
    assert!(!group.is_empty());
    // Paging resumes after the given id even if it is not in the filter.
    let page = sim.hosts(&HostQuery {
        ring: Some("wave-3".into()),
        after: Some(everything[0].id.to_string()),
        limit: 1,
        ..HostQuery::default()
    });
    assert_eq!(page.items[0].id, by_ring[0]);
    assert!(
        sim.hosts(&HostQuery {
            ring: Some("no-such-ring".into()),
            ..HostQuery::default()
        })
        .items
        .is_empty()
    );
}
