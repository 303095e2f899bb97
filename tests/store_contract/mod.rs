//! The store's contract: one body, run against SQLite (tests/store_sqlite.rs) and
//! PostgreSQL (tests/store_postgres.rs). Each case gets a fixture that opens the same,
//! initially empty database as often as it likes (a second gateway, a restart).
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};

use patchdeck::model::{
    Action, ActionState, Approval, Change, Event, Exception, GateState, Identity, RingState, Role,
    Target, TargetKind, Verb,
};
use patchdeck::store::{
    AnyStore, AuditEntry, Claim, EventsCompacted, HostException, IdempotentAnswer, JournalEntry,
    LeaseOutcome, PendingRequest, ReplayRequest, RingRollout, Store, StoreError,
};

/// Opens the database under test; every call is a new connection pool (another
/// gateway, or the same one after a restart).
pub trait Fixture {
    fn open(&self) -> impl Future<Output = AnyStore>;
}

/// Every case, in the order the PostgreSQL test runs them. A new case goes here.
#[macro_export]
macro_rules! store_contract_cases {
    ($callback:ident) => {
        $callback! {
            audit_round_trips,
            actions_keep_the_newest_version,
            pending_requests_expire_and_are_taken_once,
            idempotency_claim_replay_and_mismatch,
            idempotency_claim_acts_once_across_connections,
            exceptions_round_trip,
            ring_rollouts_compare_and_set,
            events_since_and_compaction,
            lease_passes_to_another_holder_after_expiry,
            lease_is_held_by_one_of_racing_gateways,
            journal_round_trips,
            everything_survives_reopening,
        }
    };
}

/// A directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "patchdeck-store-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 12, 14, 0, 0).unwrap() + Duration::seconds(secs)
}

fn alice() -> Identity {
    Identity::new("alice", Role::Approver)
}

fn target(kind: TargetKind, id: &str) -> Target {
    Target {
        kind,
        id: id.into(),
    }
}

pub fn audit_entry(n: u32, status: u16) -> AuditEntry {
    AuditEntry {
        at: t(n as i64),
        identity: "alice".into(),
        verb: "halt".into(),
        target: target(TargetKind::Deployment, "dep-0001"),
        reason: Some(format!("bad patch {n}")),
        ticket: Some("CHG-7".into()),
        idempotency_key: Some(format!("key-{n}")),
        status,
        problem_type: (status != 200).then(|| "version-mismatch".to_string()),
        action_id: (status == 200).then(|| format!("act-{n:06}")),
        gateway: Some("gw-a".into()),
    }
}

pub fn action(id: &str, version: u64, state: ActionState) -> Action {
    Action {
        id: id.into(),
        verb: Verb::Rollback,
        target: target(TargetKind::Ring, "pilot"),
        target_name: "Pilot".into(),
        by: "alice".into(),
        at: t(10),
        reason: Some("bad patch".into()),
        ticket: Some("CHG-1".into()),
        state,
        progress_done: version as u32,
        progress_total: 40,
        detail: None,
        finished_at: (state == ActionState::Succeeded).then(|| t(99)),
        version,
    }
}

fn pending(id: &str, by: &str, at: i64, ttl: i64) -> PendingRequest {
    PendingRequest {
        id: id.into(),
        target: target(TargetKind::Deployment, "dep-0002"),
        first_approver: Identity::new(by, Role::Approver),
        requested_at: t(at),
        expires_at: t(at + ttl),
        request: serde_json::json!({"verb": "approve", "ring": "prod"}),
    }
}

fn answer(status: u16, body: &str) -> IdempotentAnswer {
    IdempotentAnswer {
        status,
        content_type: "application/json".into(),
        etag: Some("\"3\"".into()),
        body: body.as_bytes().to_vec(),
    }
}

pub fn event(seq: u64) -> Event {
    Event {
        seq,
        at: t(seq as i64),
        change: Change::Action(action(&format!("act-{seq:06}"), 1, ActionState::Running)),
    }
}

fn rollout(ring: &str, state: RingState) -> RingRollout {
    RingRollout {
        ring_id: ring.into(),
        state,
        gate: GateState::AwaitingSecondApprover,
        gate_decision: Some("success 97% >= 95%".into()),
        soak_started_at: Some(t(5)),
        halt_reason: None,
        approvals: vec![Approval {
            ring_id: ring.into(),
            by: "alice".into(),
            at: t(6),
        }],
    }
}

fn exception(host: &str) -> HostException {
    HostException {
        host_id: host.into(),
        exception: Exception {
            owner: "lab team".into(),
            reason: "vendor-certified image".into(),
            ticket: Some("EXC-9".into()),
            expires_at: t(86_400),
            compensating_control: "isolated VLAN".into(),
            // The terms kept beside the first columns round-trip too.
            patch_id: Some("kb5046617".into()),
            granted_by: "alice".into(),
            granted_at: Some(t(0)),
            renewals: vec![patchdeck::model::Renewal {
                at: t(3600),
                by: "bob".into(),
                reason: "vendor fix slipped".into(),
                ticket: Some("EXC-10".into()),
                from: t(7200),
                expires_at: t(86_400),
            }],
            lapsed_at: None,
        },
    }
}

fn journal_entry(n: u32) -> JournalEntry {
    JournalEntry {
        fleet_time: t(n as i64 * 60),
        actor: alice(),
        request: Some(ReplayRequest {
            verb: Verb::Halt,
            target: target(TargetKind::Deployment, "dep-0001"),
            reason: Some("bad".into()),
            ticket: Some("CHG-2".into()),
            patch_id: None,
            cve: None,
            override_reason: None,
            exception: Default::default(),
            if_match: Some(u64::from(n)),
        }),
        action_id: Some(format!("act-{n:06}")),
        idempotency_key: Some(format!("key-{n}")),
    }
}

pub async fn audit_round_trips(fx: &impl Fixture) {
    let store = fx.open().await;
    assert!(store.audit_after(0, 10).await.unwrap().is_empty());
    let first = store.append_audit(&audit_entry(1, 200)).await.unwrap();
    let second = store.append_audit(&audit_entry(2, 409)).await.unwrap();
    assert!(second > first);
    let all = store.audit_after(0, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].seq, first);
    assert_eq!(all[0].entry, audit_entry(1, 200));
    assert_eq!(all[1].entry, audit_entry(2, 409));
    let rest = store.audit_after(first, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, second);
    assert_eq!(store.audit_after(0, 1).await.unwrap().len(), 1);
}

pub async fn actions_keep_the_newest_version(fx: &impl Fixture) {
    let store = fx.open().await;
    assert!(store.action("act-000001").await.unwrap().is_none());
    assert!(
        store
            .put_action(&action("act-000001", 1, ActionState::Running))
            .await
            .unwrap()
    );
    let done = action("act-000001", 3, ActionState::Succeeded);
    assert!(store.put_action(&done).await.unwrap());
    // A late writer with an older version does not win.
    assert!(
        !store
            .put_action(&action("act-000001", 2, ActionState::Running))
            .await
            .unwrap()
    );
    assert_eq!(
        store.action("act-000001").await.unwrap(),
        Some(done.clone())
    );
    let mut later = action("act-000002", 1, ActionState::Failed);
    later.at = t(20);
    store.put_action(&later).await.unwrap();
    assert_eq!(store.actions().await.unwrap(), vec![done, later]);
}

pub async fn pending_requests_expire_and_are_taken_once(fx: &impl Fixture) {
    let store = fx.open().await;
    let first = pending("deployment/dep-0002/prod", "alice", 0, 600);
    assert_eq!(store.put_pending(&first, t(0)).await.unwrap(), None);
    // A second first-approval while one is pending finds the pending one.
    let other = pending("deployment/dep-0002/prod", "bob", 10, 600);
    assert_eq!(
        store.put_pending(&other, t(10)).await.unwrap(),
        Some(first.clone())
    );
    // Another gateway sees it.
    let gateway_b = fx.open().await;
    assert_eq!(
        gateway_b.pending(&first.id, t(20)).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        gateway_b.pending_requests(t(20)).await.unwrap(),
        vec![first.clone()]
    );
    // Taken once: the second taker finds nothing.
    let (a, b) = tokio::join!(
        store.take_pending(&first.id, t(30)),
        gateway_b.take_pending(&first.id, t(30))
    );
    let taken: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken, vec![first.clone()]);
    // Expiry: not seen, not taken, replaced by a new first approval, then forgotten.
    store.put_pending(&first, t(100)).await.unwrap();
    assert_eq!(store.pending(&first.id, t(600)).await.unwrap(), None);
    assert_eq!(store.take_pending(&first.id, t(600)).await.unwrap(), None);
    assert!(store.pending_requests(t(600)).await.unwrap().is_empty());
    let late = pending("deployment/dep-0002/prod", "bob", 700, 600);
    assert_eq!(store.put_pending(&late, t(700)).await.unwrap(), None);
    assert_eq!(
        store.pending(&late.id, t(700)).await.unwrap(),
        Some(late.clone())
    );
    assert_eq!(store.expire_pending(t(1300)).await.unwrap(), 1);
    assert_eq!(store.pending(&late.id, t(700)).await.unwrap(), None);
}

pub async fn idempotency_claim_replay_and_mismatch(fx: &impl Fixture) {
    let store = fx.open().await;
    let claim = |who: &'static str, key: &'static str, fp: &'static str| {
        let store = &store;
        async move { store.claim_key(who, key, fp, "gw-a", t(0)).await.unwrap() }
    };
    assert_eq!(claim("alice", "k1", "POST /a").await, Claim::Claimed);
    assert_eq!(
        claim("alice", "k1", "POST /a").await,
        Claim::InFlight {
            claimed_by: "gw-a".into()
        }
    );
    assert_eq!(claim("alice", "k1", "POST /b").await, Claim::Mismatch);
    // Keys are per identity.
    assert_eq!(claim("bob", "k1", "POST /b").await, Claim::Claimed);
    assert_eq!(
        store.unanswered_keys("gw-a").await.unwrap(),
        vec![
            ("alice".to_string(), "k1".to_string()),
            ("bob".to_string(), "k1".to_string())
        ]
    );
    let ok = answer(200, r#"{"id":"act-000001"}"#);
    store.answer_key("alice", "k1", &ok, t(1)).await.unwrap();
    assert_eq!(claim("alice", "k1", "POST /a").await, Claim::Replay(ok));
    assert_eq!(claim("alice", "k1", "POST /b").await, Claim::Mismatch);
    // A released claim can be claimed again; an answered key cannot be released.
    store.release_key("bob", "k1").await.unwrap();
    assert!(store.unanswered_keys("gw-a").await.unwrap().is_empty());
    assert_eq!(claim("bob", "k1", "POST /c").await, Claim::Claimed);
    store.release_key("alice", "k1").await.unwrap();
    assert!(matches!(
        claim("alice", "k1", "POST /a").await,
        Claim::Replay(_)
    ));
    // Old keys are forgotten.
    assert_eq!(store.forget_keys(t(1)).await.unwrap(), 2);
    assert_eq!(claim("alice", "k1", "POST /z").await, Claim::Claimed);
}

pub async fn idempotency_claim_acts_once_across_connections(fx: &impl Fixture) {
    let gateway_a = fx.open().await;
    let gateway_b = fx.open().await;
    for round in 0..5 {
        let key = format!("race-{round}");
        let mut claims = Vec::new();
        for i in 0..8 {
            let store = if i % 2 == 0 { &gateway_a } else { &gateway_b };
            let claimant = if i % 2 == 0 { "gw-a" } else { "gw-b" };
            claims.push(store.claim_key("alice", &key, "POST /x", claimant, t(0)));
        }
        let results = futures_util::future::join_all(claims).await;
        let claimed = results
            .iter()
            .filter(|r| matches!(r, Ok(Claim::Claimed)))
            .count();
        assert_eq!(claimed, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Ok(Claim::Claimed | Claim::InFlight { .. }))),
            "{results:?}"
        );
    }
}

pub async fn exceptions_round_trip(fx: &impl Fixture) {
    let store = fx.open().await;
    store.put_exception(&exception("h-0002")).await.unwrap();
    store.put_exception(&exception("h-0001")).await.unwrap();
    let mut changed = exception("h-0002");
    changed.exception.owner = "security".into();
    changed.exception.ticket = None;
    store.put_exception(&changed).await.unwrap();
    assert_eq!(
        store.exceptions().await.unwrap(),
        vec![exception("h-0001"), changed]
    );
    assert!(store.remove_exception("h-0001").await.unwrap());
    assert!(!store.remove_exception("h-0001").await.unwrap());
    assert_eq!(store.exceptions().await.unwrap().len(), 1);
}

pub async fn ring_rollouts_compare_and_set(fx: &impl Fixture) {
    let store = fx.open().await;
    let pilot = rollout("pilot", RingState::Soaking);
    let v1 = store.put_ring_rollout(&pilot, None).await.unwrap();
    assert!(matches!(
        store.put_ring_rollout(&pilot, None).await,
        Err(StoreError::Conflict { .. })
    ));
    let mut halted = pilot.clone();
    halted.state = RingState::Halted;
    halted.halt_reason = Some("failure threshold 10% reached".into());
    let v2 = store.put_ring_rollout(&halted, Some(v1)).await.unwrap();
    assert!(v2 > v1);
    // A stale writer (another gateway that read v1) is refused.
    assert!(matches!(
        store.put_ring_rollout(&pilot, Some(v1)).await,
        Err(StoreError::Conflict { .. })
    ));
    let stored = store.ring_rollout("pilot").await.unwrap().unwrap();
    assert_eq!((stored.value, stored.version), (halted.clone(), v2));
    store
        .put_ring_rollout(&rollout("prod", RingState::Waiting), None)
        .await
        .unwrap();
    let all = store.ring_rollouts().await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.value.ring_id.as_str()).collect();
    assert_eq!(ids, ["pilot", "prod"]);
    assert!(store.ring_rollout("wave-1").await.unwrap().is_none());
}

pub async fn events_since_and_compaction(fx: &impl Fixture) {
    let store = fx.open().await;
    let bounds = store.event_bounds().await.unwrap();
    assert_eq!((bounds.oldest_retained, bounds.last), (0, 0));
    assert_eq!(store.events_since(0, 100).await.unwrap(), Ok(vec![]));
    let events: Vec<Event> = (1..=10).map(event).collect();
    store.append_events(&events[..4]).await.unwrap();
    store.append_events(&events[4..]).await.unwrap();
    // A sequence number already stored is refused, and nothing of the batch is kept.
    let again = store.append_events(&[event(11), event(5)]).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    assert_eq!(store.event_bounds().await.unwrap().last, 10);
    assert_eq!(
        store.events_since(0, 100).await.unwrap(),
        Ok(events.clone())
    );
    assert_eq!(
        store.events_since(7, 100).await.unwrap(),
        Ok(events[7..].to_vec())
    );
    assert_eq!(
        store.events_since(2, 3).await.unwrap(),
        Ok(events[2..5].to_vec())
    );
    assert_eq!(store.compact_events(4).await.unwrap(), 4);
    let bounds = store.event_bounds().await.unwrap();
    assert_eq!((bounds.oldest_retained, bounds.last), (4, 10));
    // Resuming from 4 still works (5.. are kept); from 3 it does not.
    assert_eq!(
        store.events_since(4, 100).await.unwrap(),
        Ok(events[4..].to_vec())
    );
    assert_eq!(
        store.events_since(3, 100).await.unwrap(),
        Err(EventsCompacted { oldest: 5 })
    );
    // Compacting everything keeps the last number.
    assert_eq!(store.compact_events(10).await.unwrap(), 6);
    let bounds = store.event_bounds().await.unwrap();
    assert_eq!((bounds.oldest_retained, bounds.last), (10, 10));
    assert_eq!(store.events_since(10, 100).await.unwrap(), Ok(vec![]));
    store.append_events(&[event(11)]).await.unwrap();
    assert_eq!(
        store.events_since(10, 100).await.unwrap(),
        Ok(vec![event(11)])
    );
}

pub async fn lease_passes_to_another_holder_after_expiry(fx: &impl Fixture) {
    let gateway_a = fx.open().await;
    let gateway_b = fx.open().await;
    let ttl = Duration::seconds(10);
    let lease = "rollout";
    let a = gateway_a
        .acquire_lease(lease, "gw-a", ttl, t(0))
        .await
        .unwrap();
    assert!(a.is_held(), "{a:?}");
    let first_term = a.lease().term;
    let b = gateway_b
        .acquire_lease(lease, "gw-b", ttl, t(5))
        .await
        .unwrap();
    assert_eq!(b, LeaseOutcome::HeldBy(a.lease().clone()));
    // A renews before expiry and keeps it past the first expiry.
    let renewed = gateway_a
        .acquire_lease(lease, "gw-a", ttl, t(8))
        .await
        .unwrap();
    assert!(renewed.is_held());
    assert_eq!(renewed.lease().expires_at, t(18));
    assert_eq!(renewed.lease().term, first_term);
    assert!(
        !gateway_b
            .acquire_lease(lease, "gw-b", ttl, t(17))
            .await
            .unwrap()
            .is_held()
    );
    // A stops renewing: B takes it after expiry, with a new term; A has lost it.
    let taken = gateway_b
        .acquire_lease(lease, "gw-b", ttl, t(18))
        .await
        .unwrap();
    assert!(taken.is_held(), "{taken:?}");
    assert_eq!(taken.lease().holder, "gw-b");
    assert!(taken.lease().term > first_term);
    let lost = gateway_a
        .acquire_lease(lease, "gw-a", ttl, t(19))
        .await
        .unwrap();
    assert_eq!(lost.lease().holder, "gw-b");
    assert!(!lost.is_held());
    // Release: only by the holder; then anyone may take it at once.
    assert!(!gateway_a.release_lease(lease, "gw-a").await.unwrap());
    assert!(gateway_b.release_lease(lease, "gw-b").await.unwrap());
    assert!(
        gateway_a
            .acquire_lease(lease, "gw-a", ttl, t(20))
            .await
            .unwrap()
            .is_held()
    );
    // Leases are independent of each other.
    assert!(
        gateway_b
            .acquire_lease("other", "gw-b", ttl, t(20))
            .await
            .unwrap()
            .is_held()
    );
}

pub async fn lease_is_held_by_one_of_racing_gateways(fx: &impl Fixture) {
    let gateway_a = fx.open().await;
    let gateway_b = fx.open().await;
    let ttl = Duration::seconds(10);
    for round in 0..5i64 {
        // Every round starts after the previous holder's expiry.
        let now = t(round * 100);
        let mut asks = Vec::new();
        for i in 0..6 {
            let store = if i % 2 == 0 { &gateway_a } else { &gateway_b };
            asks.push(async move {
                let holder = format!("gw-{i}");
                store.acquire_lease("rollout", &holder, ttl, now).await
            });
        }
        let results = futures_util::future::join_all(asks).await;
        let held: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                Ok(LeaseOutcome::Held(lease)) => Some(lease.holder.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(held.len(), 1, "round {round}: {results:?}");
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    }
}

pub async fn journal_round_trips(fx: &impl Fixture) {
    let store = fx.open().await;
    let first = store.append_journal(&journal_entry(1)).await.unwrap();
    let second = store.append_journal(&journal_entry(2)).await.unwrap();
    assert!(second > first);
    let all = store.journal_after(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|j| j.entry.clone()).collect::<Vec<_>>(),
        vec![journal_entry(1), journal_entry(2)]
    );
    let rest = store.journal_after(first, 100).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].seq, second);
}

/// Writes one of every record kind.
pub async fn write_one_of_each(store: &AnyStore) {
    store.append_audit(&audit_entry(1, 200)).await.unwrap();
    store
        .put_action(&action("act-000001", 2, ActionState::Succeeded))
        .await
        .unwrap();
    store
        .put_pending(&pending("fleet/emergency", "alice", 0, 3600), t(0))
        .await
        .unwrap();
    store
        .claim_key("alice", "k1", "POST /v1/emergency", "gw-a", t(0))
        .await
        .unwrap();
    store
        .answer_key("alice", "k1", &answer(202, "{}"), t(0))
        .await
        .unwrap();
    store.put_exception(&exception("h-0001")).await.unwrap();
    store
        .put_ring_rollout(&rollout("prod", RingState::Paused), None)
        .await
        .unwrap();
    store.append_events(&[event(1), event(2)]).await.unwrap();
    store
        .acquire_lease("rollout", "gw-a", Duration::seconds(30), t(0))
        .await
        .unwrap();
    store.append_journal(&journal_entry(1)).await.unwrap();
}

/// Checks what [`write_one_of_each`] wrote.
pub async fn check_one_of_each(store: &AnyStore) {
    assert_eq!(
        store.audit_after(0, 10).await.unwrap()[0].entry,
        audit_entry(1, 200)
    );
    assert_eq!(
        store.actions().await.unwrap(),
        vec![action("act-000001", 2, ActionState::Succeeded)]
    );
    assert_eq!(
        store.pending("fleet/emergency", t(60)).await.unwrap(),
        Some(pending("fleet/emergency", "alice", 0, 3600))
    );
    assert_eq!(
        store
            .claim_key("alice", "k1", "POST /v1/emergency", "gw-b", t(1))
            .await
            .unwrap(),
        Claim::Replay(answer(202, "{}"))
    );
    assert_eq!(store.exceptions().await.unwrap(), vec![exception("h-0001")]);
    let prod = store.ring_rollout("prod").await.unwrap().unwrap();
    assert_eq!(prod.value, rollout("prod", RingState::Paused));
    assert_eq!(
        store.events_since(0, 10).await.unwrap(),
        Ok(vec![event(1), event(2)])
    );
    let lease = store
        .acquire_lease("rollout", "gw-b", Duration::seconds(30), t(1))
        .await
        .unwrap();
    assert_eq!(lease.lease().holder, "gw-a");
    assert_eq!(
        store.journal_after(0, 10).await.unwrap()[0].entry,
        journal_entry(1)
    );
}

pub async fn everything_survives_reopening(fx: &impl Fixture) {
    {
        let store = fx.open().await;
        write_one_of_each(&store).await;
        store.close().await;
    }
    let reopened = fx.open().await;
    check_one_of_each(&reopened).await;
    assert!(reopened.schema_version().await.unwrap() >= 1);
}
