//! Exceptions: their terms, the cap, one patch held back while the host stays in the
//! queue, renew, revoke, and the expiry that puts a host back in the queue.

use super::*;
use crate::model::{ExceptionPolicy, ExceptionStanding, Expiry};

fn excluded_hosts(sim: &Simulator) -> Vec<Host> {
    all_hosts(sim)
        .into_iter()
        .filter(|h| h.exception.is_some())
        .collect()
}

/// The host whose exception in force expires first.
fn first_to_expire(sim: &Simulator) -> Host {
    let now = sim.now();
    excluded_hosts(sim)
        .into_iter()
        .filter(|h| h.exception.as_ref().is_some_and(|e| e.in_force(now)))
        .min_by_key(|h| h.exception.as_ref().map(|e| e.expires_at))
        .expect("an exception in force")
}

fn pending_in(sim: &Simulator, ring: &str) -> Host {
    sim.hosts(&HostQuery {
        ring: Some(ring.into()),
        state: Some(HostState::Pending),
        limit: 1000,
        ..HostQuery::default()
    })
    .items
    .into_iter()
    .find(|h| h.exception.is_none())
    .expect("a pending host without an exception")
}

#[test]
fn exclude_takes_the_owner_the_control_and_the_expiry_it_is_given() {
    let sim = sim(1000, 9, Scenario::PatchTuesday);
    let host = pending_in(&sim, "wave-2");
    let mut asked = request(Verb::Exclude, TargetKind::Host, &host.id);
    asked.exception.compensating_control = None;
    let refused = sim.act(asked.clone(), &approver("olga")).unwrap_err();
    assert!(
        matches!(&refused, ActError::Invalid(m) if m.contains("compensating control")),
        "{refused}"
    );
    asked.exception.compensating_control = Some("Kiosk mode, no local admin".into());
    asked.exception.expires = None;
    let refused = sim.act(asked.clone(), &approver("olga")).unwrap_err();
    assert!(
        matches!(&refused, ActError::Invalid(m) if m.contains("needs an expiry")),
        "{refused}"
    );
    asked.exception.expires = Some(Expiry::At(sim.now() - chrono::Duration::hours(1)));
    assert!(matches!(
        sim.act(asked.clone(), &approver("olga")),
        Err(ActError::Invalid(m)) if m.contains("not in the future")
    ));
    asked.exception.expires = Some(Expiry::Days(14));
    asked.exception.owner = Some("imaging@contoso.example".into());
    let action = sim.act(asked, &approver("olga")).unwrap();
    assert!(
        action
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("14 days (all patches)")),
        "{:?}",
        action.detail
    );
    let host = sim.host(&host.id).unwrap();
    assert_eq!(host.state, HostState::Excluded);
    let e = host.exception.unwrap();
    assert_eq!(e.owner, "imaging@contoso.example");
    assert_eq!(e.granted_by, "olga");
    assert_eq!(e.granted_at, Some(sim.now()));
    assert_eq!(e.expires_at, sim.now() + chrono::Duration::days(14));
    assert_eq!(e.compensating_control, "Kiosk mode, no local admin");
    assert_eq!(e.patch_id, None);
    assert_counts_consistent(&sim);
}

#[test]
fn the_cap_refuses_an_expiry_beyond_it_and_says_it() {
    let now = start();
    let policy = ExceptionPolicy { max_days: 90 };
    assert_eq!(
        policy.resolve(Expiry::Days(90), now),
        Ok(now + chrono::Duration::days(90))
    );
    let refused = policy.resolve(Expiry::Days(91), now).unwrap_err();
    assert!(refused.contains("at most 90 days"), "{refused}");
    let date = Expiry::parse("2027-06-01").unwrap();
    assert!(
        policy
            .resolve(date, now)
            .unwrap_err()
            .contains("beyond the cap")
    );
    assert!(
        policy
            .resolve(Expiry::parse("2026-12-01").unwrap(), now)
            .is_ok()
    );
    assert!(Expiry::parse("0").is_err());
    assert!(
        Expiry::parse("soon")
            .unwrap_err()
            .contains("give days (30)")
    );
    assert_eq!(Expiry::parse("30d"), Ok(Expiry::Days(30)));
    assert_eq!(
        Expiry::parse(&Expiry::Days(7).to_text()),
        Ok(Expiry::Days(7))
    );
    let at = Expiry::At(now);
    assert_eq!(Expiry::parse(&at.to_text()), Ok(at));
}

#[test]
fn one_patch_held_back_keeps_the_host_in_the_queue_for_the_others() {
    // bad-patch: the cumulative update fails on every Contoso Book 14 G3 in Pilot.
    let sim = sim(2000, 4, Scenario::BadPatch);
    let dep = deployment_named(&sim, "2026-11 Patch Tuesday");
    let cu = sim
        .patches()
        .items
        .into_iter()
        .find(|p| {
            dep.patch_ids.contains(&p.id) && p.kind == crate::model::PatchKind::CumulativeUpdate
        })
        .expect("the month's cumulative update");
    let books: Vec<Host> = sim
        .hosts(&HostQuery {
            ring: Some("pilot".into()),
            state: Some(HostState::Pending),
            limit: 1000,
            ..HostQuery::default()
        })
        .items
        .into_iter()
        .filter(|h| h.model == BAD_MODEL)
        .take(6)
        .collect();
    assert!(books.len() >= 3);
    for host in &books {
        let mut asked = request(Verb::Exclude, TargetKind::Host, &host.id);
        asked.patch_id = Some(cu.kb.clone());
        let action = sim.act(asked, &approver("olga")).unwrap();
        assert!(action.detail.unwrap().contains(&format!("{} only", cu.kb)));
        let after = sim.host(&host.id).unwrap();
        assert_eq!(after.state, HostState::Pending, "stays in the queue");
        assert_eq!(
            after.exception.unwrap().patch_id.as_deref(),
            Some(cu.id.as_str())
        );
    }
    advance_until(&sim, 6 * 3600, |sim| {
        books.iter().all(|h| {
            let s = sim.host(&h.id).unwrap().state;
            !(s == HostState::Pending || s.is_in_flight())
        })
    });
    let mut succeeded = 0;
    for host in &books {
        let after = sim.host(&host.id).unwrap();
        assert!(
            !after.has_installed(&cu.id),
            "{} got the held-back patch",
            after.name
        );
        assert!(
            after
                .failure
                .as_ref()
                .is_none_or(|f| f.code != "0x800f0922"),
            "{} failed on the held-back patch",
            after.name
        );
        if after.state == HostState::Succeeded {
            succeeded += 1;
            assert!(dep.patch_ids.iter().any(|p| after.has_installed(p)));
        }
    }
    assert!(succeeded > 0, "the other patches were installed");
    assert_counts_consistent(&sim);
}

#[test]
fn renew_moves_the_expiry_and_keeps_the_renewal() {
    let sim = sim(1000, 9, Scenario::PatchTuesday);
    let host = first_to_expire(&sim);
    let before = host.exception.clone().unwrap();
    let none = pending_in(&sim, "wave-1");
    assert!(matches!(
        sim.act(request(Verb::Renew, TargetKind::Host, &none.id), &approver("olga")),
        Err(ActError::Conflict(m)) if m.contains("no exception to renew")
    ));
    let mut asked = request(Verb::Renew, TargetKind::Host, &host.id);
    asked.exception.expires = None;
    assert!(matches!(
        sim.act(asked.clone(), &approver("olga")),
        Err(ActError::Invalid(_))
    ));
    asked.exception.expires = Some(Expiry::Days(20));
    let action = sim.act(asked, &approver("olga")).unwrap();
    assert_eq!(action.verb, Verb::Renew);
    let e = sim.host(&host.id).unwrap().exception.unwrap();
    assert_eq!(e.expires_at, sim.now() + chrono::Duration::days(20));
    let renewal = e.renewals.last().unwrap();
    assert_eq!(renewal.by, "olga");
    assert_eq!(renewal.from, before.expires_at);
    assert_eq!(renewal.ticket.as_deref(), Some("CHG-1"));
    // Past the old expiry, the host is still excluded.
    sim.advance_to(before.expires_at + chrono::Duration::minutes(30));
    let after = sim.host(&host.id).unwrap();
    assert_eq!(after.state, HostState::Excluded);
    assert!(after.exception.unwrap().in_force(sim.now()));
}

#[test]
fn revoke_ends_it_now_and_the_host_goes_back_to_the_queue() {
    let sim = sim(1000, 9, Scenario::PatchTuesday);
    let host = first_to_expire(&sim);
    assert_eq!(host.state, HostState::Excluded);
    let action = sim
        .act(
            request(Verb::Revoke, TargetKind::Host, &host.id),
            &approver("olga"),
        )
        .unwrap();
    assert!(action.detail.unwrap().contains("exception revoked"));
    let after = sim.host(&host.id).unwrap();
    assert!(after.exception.is_none());
    assert!(matches!(
        after.state,
        HostState::Pending | HostState::Succeeded
    ));
    assert!(after.deployment_id.is_some(), "back with its rollout");
    assert!(
        after
            .history
            .last()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("revoked by olga")
    );
    assert!(matches!(
        sim.act(request(Verb::Revoke, TargetKind::Host, &host.id), &approver("olga")),
        Err(ActError::Conflict(m)) if m.contains("no exception to revoke")
    ));
    assert_counts_consistent(&sim);
}

#[test]
fn an_expired_exception_puts_the_host_back_in_the_queue() {
    let sim = sim(2000, 1, Scenario::PatchTuesday);
    let host = first_to_expire(&sim);
    let e = host.exception.clone().unwrap();
    // The story lets the first exceptions lapse within the first minutes of a demo.
    assert!(e.expires_at - sim.now() <= chrono::Duration::hours(1));
    let seq = sim.sequence();
    sim.advance_to(e.expires_at + chrono::Duration::seconds(20));
    let after = sim.host(&host.id).unwrap();
    assert_ne!(after.state, HostState::Excluded);
    assert!(after.deployment_id.is_some(), "its ring's rollout took it");
    let lapsed = after.exception.clone().unwrap();
    assert!(lapsed.lapsed_at.is_some());
    assert_eq!(lapsed.standing(sim.now()), ExceptionStanding::Expired);
    let note = after
        .history
        .iter()
        .rev()
        .find_map(|t| t.note.clone())
        .unwrap_or_default();
    assert!(
        note.contains("exception expired") && note.contains("back in the queue"),
        "{note}"
    );
    // A host event carries it.
    let events = sim.events_since(seq).unwrap();
    assert!(events.iter().any(|ev| matches!(
        &ev.change,
        Change::Host(h) if h.id == host.id && h.exception.as_ref().is_some_and(|e| e.lapsed_at.is_some())
    )));
    assert_counts_consistent(&sim);
}

#[test]
fn the_story_has_exceptions_near_and_past_expiry_and_for_one_patch() {
    let sim = sim(2000, 1, Scenario::PatchTuesday);
    let now = sim.now();
    let hosts = excluded_hosts(&sim);
    let standing = |s: ExceptionStanding| {
        hosts
            .iter()
            .filter(|h| h.exception.as_ref().unwrap().standing(now) == s)
            .count()
    };
    assert!(standing(ExceptionStanding::Expired) >= 2, "past the line");
    assert!(standing(ExceptionStanding::NearExpiry) >= 2, "near expiry");
    assert!(standing(ExceptionStanding::InForce) >= 1);
    assert!(
        hosts
            .iter()
            .any(|h| h.exception.as_ref().unwrap().patch_id.is_some()
                && h.state == HostState::Pending)
    );
    for h in &hosts {
        let e = h.exception.as_ref().unwrap();
        assert!(e.ticket.as_deref().is_some_and(|t| t.starts_with("CHG-")));
        assert!(!e.owner.is_empty() && !e.compensating_control.is_empty());
        assert!(!e.granted_by.is_empty() && e.granted_at.is_some());
        assert!(
            e.expires_at - now <= chrono::Duration::days(90),
            "under the cap"
        );
    }
}
