//! The detector, kind by kind: each notice said once, with its words and fields;
//! what the fleet held when watching began is never news.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::*;
use crate::model::{
    Change, Deployment, DeploymentState, Event, Fleet, GateState, Patch, Ring, RingState, Seq,
    Summary,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Wednesday noon, UTC.
fn noon() -> DateTime<Utc> {
    at("2026-11-11T12:00:00Z")
}

fn summary(version: u64) -> Summary {
    serde_json::from_value(json!({
        "name": "contoso (simulated)", "now": noon(), "clock_speed": 60.0,
        "patch_tuesday": "2026-11-10T18:00:00Z", "counts": {},
        "capabilities": {"rollback": true, "emergency": true, "two_person_rule": true},
        "version": version
    }))
    .unwrap()
}

/// A ring deploying with `pending` hosts, its window open 10:00-14:00 UTC daily.
fn ring(id: &str, name: &str, pending: u32) -> Ring {
    serde_json::from_value(json!({
        "id": id, "name": name, "order": 1, "kind": "workstations", "production": false,
        "state": "deploying",
        "gate": {"mode": "manual", "success_threshold_pct": 95, "failure_threshold_pct": 10,
                 "min_soak_secs": 3600, "state": "not-reached"},
        "window": {"days": [], "start": "10:00:00", "duration_minutes": 240,
                   "time_zone": "UTC", "utc_offset_minutes": 0},
        "counts": {"total": 100, "pending": pending},
        "version": 1
    }))
    .unwrap()
}

fn deployment(id: &str, ring: &str) -> Deployment {
    serde_json::from_value(json!({
        "id": id, "name": "November CU", "patch_ids": ["kb1"], "rings": ["test", ring],
        "current_ring": ring, "next_ring": "wave-1", "state": "running",
        "counts": {}, "created_at": "2026-11-10T19:00:00Z", "created_by": "alice",
        "version": 1
    }))
    .unwrap()
}

fn patch(exploited: &[&str]) -> Patch {
    serde_json::from_value(json!({
        "id": "kb1", "kb": "KB5070001", "title": "November cumulative update",
        "product": "Windows 11", "kind": "cumulative-update", "severity": "critical",
        "released_at": "2026-11-10T18:00:00Z", "cves": ["CVE-2026-1", "CVE-2026-2"],
        "exploited_cves": exploited, "reboot_required": true, "uninstallable": true,
        "version": 1
    }))
    .unwrap()
}

fn fleet() -> Fleet {
    let mut fleet = Fleet::default();
    fleet.upsert(Change::Summary(summary(1)));
    fleet.upsert(Change::Ring(ring("pilot", "Pilot", 40)));
    fleet.upsert(Change::Ring(ring("wave-1", "Wave 1", 0)));
    fleet.upsert(Change::Deployment(deployment("dep-1", "pilot")));
    fleet.upsert(Change::Patch(patch(&[])));
    fleet.sequence = 10;
    fleet
}

/// A detector watching [`fleet`], primed at 11:00 (no window closes within 30 min).
fn watching() -> NoticeDetector {
    let mut detector = NoticeDetector::new(NoticeRules::default());
    detector.prime(&fleet(), noon() - Duration::hours(1));
    detector
}

fn event(seq: Seq, change: Change) -> Event {
    Event {
        seq,
        at: noon(),
        change,
    }
}

/// The same burst twice: the second says nothing.
fn once(detector: &mut NoticeDetector, events: &[Event]) -> Vec<Notice> {
    let now = noon() - Duration::hours(1);
    let notices = detector.observe(events, now);
    assert_eq!(detector.observe(events, now), vec![], "said twice");
    notices
}

fn kinds(notices: &[Notice]) -> Vec<NoticeKind> {
    notices.iter().map(|n| n.kind).collect()
}

fn halted_pilot(version: u64, reason: &str) -> (Ring, Deployment) {
    let mut r = ring("pilot", "Pilot", 20);
    r.state = RingState::Halted;
    r.state_reason = Some(reason.into());
    r.version = version;
    let mut d = deployment("dep-1", "pilot");
    d.state = DeploymentState::Halted;
    d.state_reason = Some(reason.into());
    d.version = version;
    (r, d)
}

#[test]
fn a_threshold_halt_is_one_notice_naming_deployment_ring_patch_and_cause() {
    let mut detector = watching();
    let reason = "failure threshold: 23% failed (limit 10%): 7 of 30 installs";
    let (r, d) = halted_pilot(2, reason);
    let notices = once(
        &mut detector,
        &[event(11, Change::Ring(r)), event(12, Change::Deployment(d))],
    );
    assert_eq!(kinds(&notices), [NoticeKind::DeploymentHalted]);
    let n = &notices[0];
    assert_eq!(n.severity, NoticeSeverity::Critical);
    assert_eq!(n.key, "deployment-halted:dep-1:12");
    assert_eq!(n.sequence, 12);
    assert_eq!(n.fleet, "contoso (simulated)");
    assert_eq!(n.ring.as_ref().map(|r| r.name.as_str()), Some("Pilot"));
    assert_eq!(n.patch.as_ref().map(|p| p.name.as_str()), Some("KB5070001"));
    assert_eq!(n.cause.as_deref(), Some(reason));
    assert_eq!(n.text, format!("HALTED: November CU in Pilot: {reason}"));
    // Still halted in later versions: nothing new.
    let (r, d) = halted_pilot(3, reason);
    assert_eq!(
        detector.observe(
            &[event(13, Change::Ring(r)), event(14, Change::Deployment(d))],
            noon()
        ),
        vec![]
    );
}

#[test]
fn a_ring_halted_alone_is_its_own_notice_and_a_second_halt_is_news_again() {
    let mut detector = watching();
    let mut r = ring("pilot", "Pilot", 20);
    r.state = RingState::Halted;
    r.state_reason = Some("rollback by alice".into());
    r.version = 2;
    let notices = once(&mut detector, &[event(11, Change::Ring(r.clone()))]);
    assert_eq!(kinds(&notices), [NoticeKind::RingHalted]);
    assert_eq!(notices[0].text, "HALTED: ring Pilot: rollback by alice");
    // Resumed, then halted again: a new notice with a new key.
    r.state = RingState::Deploying;
    r.version = 3;
    detector.observe(&[event(12, Change::Ring(r.clone()))], noon());
    r.state = RingState::Halted;
    r.version = 4;
    let again = once(&mut detector, &[event(13, Change::Ring(r))]);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, "ring-halted:pilot:13");
}

#[test]
fn a_gate_awaiting_approval_names_the_ring_it_would_open() {
    let mut detector = watching();
    let mut r = ring("pilot", "Pilot", 0);
    r.state = RingState::Soaking;
    r.gate.state = GateState::AwaitingApproval;
    r.version = 2;
    let notices = once(&mut detector, &[event(11, Change::Ring(r))]);
    assert_eq!(kinds(&notices), [NoticeKind::GateAwaitingApproval]);
    assert_eq!(notices[0].severity, NoticeSeverity::Warning);
    assert_eq!(
        notices[0].text,
        "Pilot passed its gate and awaits approval to open Wave 1 (November CU)"
    );
    assert_eq!(
        notices[0].deployment.as_ref().map(|d| d.id.as_str()),
        Some("dep-1")
    );
}

#[test]
fn a_second_approver_is_awaited_for_a_gate_a_resume_and_an_emergency() {
    let mut detector = watching();
    let mut d = deployment("dep-1", "pilot");
    d.pending_approval = Some(crate::model::PendingApproval {
        ring_id: "wave-1".into(),
        first_approver: "alice-laptop".into(),
        first_person: "alice".into(),
        at: noon(),
        resume: false,
    });
    d.version = 2;
    let notices = once(&mut detector, &[event(11, Change::Deployment(d.clone()))]);
    assert_eq!(kinds(&notices), [NoticeKind::SecondApproverAwaited]);
    assert_eq!(
        notices[0].text,
        "alice-laptop approved opening Wave 1 (November CU): a second approver, another person, must approve too"
    );
    assert_eq!(notices[0].by.as_deref(), Some("alice-laptop"));

    // A halted resume.
    let mut pending = d.pending_approval.clone().unwrap();
    pending.ring_id = "pilot".into();
    pending.resume = true;
    pending.at = noon() + Duration::minutes(5);
    d.pending_approval = Some(pending);
    d.version = 3;
    let notices = once(&mut detector, &[event(12, Change::Deployment(d))]);
    assert!(
        notices[0].text.contains("approved resuming Pilot"),
        "{notices:?}"
    );

    // An emergency requested by one approver.
    let mut s = summary(2);
    s.pending_emergency = Some(crate::model::PendingEmergency {
        action_id: "act-9".into(),
        requested_by: "bob".into(),
        person: "bob".into(),
        patch_id: "kb1".into(),
        kb: "KB5070001".into(),
        cve: "CVE-2026-1".into(),
        exploited_cves: vec!["CVE-2026-1".into()],
        override_needed: None,
        reason: "exploited".into(),
        ticket: "CHG-1".into(),
        requested_at: noon(),
        expires_at: noon() + Duration::minutes(30),
    });
    let notices = once(&mut detector, &[event(13, Change::Summary(s))]);
    assert_eq!(kinds(&notices), [NoticeKind::SecondApproverAwaited]);
    assert_eq!(notices[0].key, "second-approver-awaited:emergency:act-9");
    assert_eq!(
        notices[0].text,
        "bob asks for an emergency: KB5070001 for CVE-2026-1: a second approver, another person, must confirm within 30 min"
    );
}

#[test]
fn a_window_closing_with_hosts_pending_is_said_once_per_closing() {
    let mut detector = watching();
    // 13:20: Pilot's window closes at 14:00 (40 min): not yet.
    assert_eq!(detector.tick(at("2026-11-11T13:20:00Z")), vec![]);
    let notices = detector.tick(at("2026-11-11T13:35:00Z"));
    assert_eq!(kinds(&notices), [NoticeKind::WindowClosing]);
    let n = &notices[0];
    assert_eq!(
        n.key,
        format!(
            "window-closing:pilot:{}",
            at("2026-11-11T14:00:00Z").timestamp()
        )
    );
    assert_eq!(n.pending_hosts, Some(40));
    assert_eq!(n.until, Some(at("2026-11-11T14:00:00Z")));
    assert_eq!(
        n.text,
        "Pilot's window closes in 25 min (daily 10:00 +4h (UTC)) with 40 hosts still pending"
    );
    // Wave 1 has nothing pending; Pilot is said once.
    assert_eq!(detector.tick(at("2026-11-11T13:50:00Z")), vec![]);
    // The next day's closing is news again.
    assert_eq!(detector.tick(at("2026-11-12T13:45:00Z")).len(), 1);
}

#[test]
fn a_window_that_never_closes_or_closing_at_priming_is_not_news() {
    let mut detector = NoticeDetector::new(NoticeRules::default());
    let mut fleet = fleet();
    let mut always = ring("wave-1", "Wave 1", 10);
    always.window = crate::model::MaintenanceWindow::always("UTC", 0);
    fleet.upsert(Change::Ring(always));
    detector.prime(&fleet, at("2026-11-11T13:45:00Z"));
    assert_eq!(detector.tick(at("2026-11-11T13:50:00Z")), vec![]);
    assert_eq!(detector.tick(at("2026-11-11T23:50:00Z")), vec![]);
}

#[test]
fn the_window_warning_is_a_setting() {
    let mut detector = NoticeDetector::new(NoticeRules {
        window_warning: Duration::minutes(90),
    });
    detector.prime(&fleet(), at("2026-11-11T12:00:00Z"));
    assert_eq!(detector.tick(at("2026-11-11T12:40:00Z")).len(), 1);
}

#[test]
fn an_exploited_cve_is_said_when_it_appears_on_a_patch_new_or_known() {
    let mut detector = watching();
    let mut p = patch(&["CVE-2026-2"]);
    p.version = 2;
    let notices = once(&mut detector, &[event(11, Change::Patch(p))]);
    assert_eq!(kinds(&notices), [NoticeKind::ExploitedCve]);
    assert_eq!(notices[0].cves, ["CVE-2026-2"]);
    assert_eq!(
        notices[0].text,
        "EXPLOITED: KB5070001 fixes CVE-2026-2, exploited in the wild (November cumulative update)"
    );
    let mut new = patch(&["CVE-2026-9"]);
    new.id = "kb9".into();
    new.kb = "KB5070009".into();
    let notices = once(&mut detector, &[event(12, Change::Patch(new))]);
    assert_eq!(notices[0].key, "exploited-cve:kb9:CVE-2026-9");
}

#[test]
fn an_emergency_is_said_when_it_starts_and_when_it_ends() {
    let mut detector = watching();
    let mut s = summary(2);
    s.emergency = Some(crate::model::Emergency {
        deployment_id: "dep-1".into(),
        cve: "CVE-2026-1".into(),
        patch_id: "kb1".into(),
        started_by: "alice".into(),
        started_at: noon(),
        reason: "exploited in the wild".into(),
        ticket: "INC-7".into(),
        confirmed_by: "bob".into(),
        override_reason: None,
    });
    let notices = once(&mut detector, &[event(11, Change::Summary(s.clone()))]);
    assert_eq!(kinds(&notices), [NoticeKind::EmergencyStarted]);
    assert_eq!(
        notices[0].text,
        "EMERGENCY started by alice: KB5070001 for CVE-2026-1 (exploited in the wild, ticket INC-7)"
    );
    s.emergency = None;
    s.version = 3;
    let notices = once(&mut detector, &[event(12, Change::Summary(s))]);
    assert_eq!(kinds(&notices), [NoticeKind::EmergencyEnded]);
    assert_eq!(notices[0].severity, NoticeSeverity::Info);
    assert_eq!(notices[0].key, "emergency-ended:dep-1");
    assert_eq!(
        notices[0].text,
        "Emergency for CVE-2026-1 ended: KB5070001 is running"
    );
}

#[test]
fn what_the_fleet_held_when_watching_began_is_not_news() {
    let mut fleet = fleet();
    let (r, d) = halted_pilot(2, "failure threshold");
    fleet.upsert(Change::Ring(r));
    fleet.upsert(Change::Deployment(d));
    fleet.upsert(Change::Patch(patch(&["CVE-2026-1"])));
    let mut detector = NoticeDetector::new(NoticeRules::default());
    // Events before priming only build the fleet up.
    assert_eq!(
        detector.observe(&[event(1, Change::Summary(summary(1)))], noon()),
        vec![]
    );
    assert_eq!(
        detector.relist(&fleet, noon()),
        vec![],
        "the first listing primes"
    );
    assert!(detector.is_primed());
    // Old events replayed after a reconnect are ignored by their sequence.
    let (r, d) = halted_pilot(3, "failure threshold");
    assert_eq!(
        detector.observe(
            &[event(9, Change::Ring(r)), event(10, Change::Deployment(d))],
            noon()
        ),
        vec![]
    );
}

#[test]
fn a_listing_after_a_reconnect_says_what_changed_meanwhile() {
    let mut detector = watching();
    let mut fleet = fleet();
    let (r, d) = halted_pilot(2, "failure threshold");
    fleet.upsert(Change::Ring(r));
    fleet.upsert(Change::Deployment(d));
    fleet.sequence = 40;
    let notices = detector.relist(&fleet, noon() - Duration::hours(1));
    assert_eq!(kinds(&notices), [NoticeKind::DeploymentHalted]);
    assert_eq!(notices[0].key, "deployment-halted:dep-1:40");
    assert_eq!(detector.relist(&fleet, noon() - Duration::hours(1)), vec![]);
}

#[test]
fn every_kind_has_its_word_and_a_severity() {
    for kind in NoticeKind::ALL {
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::Value::String(kind.as_str().into())
        );
        assert_eq!(
            serde_json::to_value(kind.severity()).unwrap(),
            serde_json::Value::String(kind.severity().as_str().into())
        );
    }
}

#[test]
fn a_halt_says_who_halted_when_its_action_comes_in_the_same_burst() {
    let mut detector = watching();
    let (r, d) = halted_pilot(2, "halted by erin: driver");
    let action: crate::model::Action = serde_json::from_value(json!({
        "id": "act-000002", "verb": "halt", "target": {"kind": "deployment", "id": "dep-1"},
        "target_name": "November CU", "by": "erin", "at": noon(), "state": "succeeded",
        "version": 1
    }))
    .unwrap();
    let notices = once(
        &mut detector,
        &[
            event(11, Change::Ring(r)),
            event(12, Change::Deployment(d)),
            event(13, Change::Action(action)),
        ],
    );
    assert_eq!(kinds(&notices), [NoticeKind::DeploymentHalted]);
    assert_eq!(notices[0].by.as_deref(), Some("erin"));
}
