//! The vocabulary is spelled once: each enum's words are the ones serde writes, and
//! the verb table has one entry per verb, found where `Verb::spec` looks; what older
//! servers sent still parses.

use super::*;

fn serde_word(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        other => panic!("not a word: {other:?}"),
    }
}

#[test]
fn words_are_the_api_words() {
    for s in RingState::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in DeploymentState::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in HostState::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in ActionState::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in GateState::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in Tier::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in Criticality::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for s in TargetKind::ALL {
        assert_eq!(s.as_str(), serde_word(s));
    }
    for v in Verb::ALL {
        assert_eq!(v.as_str(), serde_word(v));
    }
    assert_eq!(
        DeploymentState::AwaitingApproval.words(),
        "awaiting approval"
    );
}

#[test]
fn every_verb_has_its_own_entry() {
    assert_eq!(VERBS.len(), Verb::ALL.len());
    for verb in Verb::ALL {
        assert_eq!(verb.spec().verb, verb);
        assert_eq!(VERBS.iter().filter(|s| s.verb == verb).count(), 1);
        assert!(!verb.spec().targets.is_empty(), "{verb:?} acts on nothing");
    }
}

#[test]
fn the_table_keeps_the_rules() {
    use Role::*;
    use TargetKind as K;
    assert_eq!(Role::required_for(Verb::Pause, K::Ring), Operator);
    assert_eq!(Role::required_for(Verb::Exclude, K::Host), Operator);
    assert_eq!(Role::required_for(Verb::Rollback, K::Host), Operator);
    assert_eq!(Role::required_for(Verb::Rollback, K::Ring), Approver);
    assert_eq!(Role::required_for(Verb::Approve, K::Host), Approver);
    let on = |kind| {
        Verb::on(kind)
            .map(Verb::as_str)
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(
        on(K::Deployment),
        "approve,decline,pause,resume,halt,rollback"
    );
    assert_eq!(on(K::Ring), "pause,resume,rollback");
    assert_eq!(on(K::Host), "retry,exclude,renew,revoke,rollback");
    assert_eq!(on(K::Fleet), "emergency");
    let reasons: Vec<Verb> = Verb::ALL.into_iter().filter(|v| v.needs_reason()).collect();
    assert_eq!(
        reasons,
        [
            Verb::Halt,
            Verb::Rollback,
            Verb::Exclude,
            Verb::Renew,
            Verb::Revoke,
            Verb::Emergency
        ]
    );
    for verb in [Verb::Renew, Verb::Revoke] {
        assert_eq!(Role::required_for(verb, K::Host), Operator);
        assert!(verb.spec().on_exception);
    }
    assert!(Verb::Exclude.spec().host_eligible(HostState::Failed));
    assert!(!Verb::Exclude.spec().host_eligible(HostState::Excluded));
}

#[test]
fn identities_and_summaries_of_older_servers_still_parse() {
    // `/v1/me` before persons: the name is the person.
    let me: Identity = serde_json::from_str(r#"{"name": "bob", "role": "approver"}"#).unwrap();
    assert_eq!((me.person.as_str(), me.as_person()), ("", "bob"));
    let jump = Identity {
        person: "alice".into(),
        ..Identity::new("alice-jump", Role::Approver)
    };
    assert_eq!(jump.as_person(), "alice");
    assert_eq!(
        serde_json::to_value(&jump).unwrap(),
        serde_json::json!({"name": "alice-jump", "role": "approver", "person": "alice"})
    );
    // A pending approval without first_person or resume, an emergency without
    // confirmed_by: they read as empty and false.
    let pending: PendingApproval = serde_json::from_str(
        r#"{"ring_id": "wave-1", "first_approver": "alice", "at": "2026-11-23T19:30:44Z"}"#,
    )
    .unwrap();
    assert!(!pending.resume && pending.first_person.is_empty());
    let emergency: Emergency = serde_json::from_str(
        r#"{"deployment_id": "dep-0004", "cve": "CVE-1", "patch_id": "kb1", "started_by": "alice",
            "started_at": "2026-11-23T19:30:44Z", "reason": "r", "ticket": "t"}"#,
    )
    .unwrap();
    assert!(emergency.confirmed_by.is_empty() && emergency.override_reason.is_none());
}
