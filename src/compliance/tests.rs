//! The computation on a small hand-built fleet.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::model::{
    Criticality, Exception, Host, HostKind, HostState, Patch, PatchKind, Severity, Transition,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn patch(id: &str, severity: Severity, days_ago: i64, supersedes: &[&str]) -> Patch {
    Patch {
        id: id.into(),
        kb: id.to_uppercase(),
        title: format!("{id} update"),
        product: "Windows".into(),
        kind: PatchKind::CumulativeUpdate,
        severity,
        released_at: now() - Duration::days(days_ago),
        cves: Vec::new(),
        exploited_cves: Vec::new(),
        reboot_required: true,
        uninstallable: false,
        supersedes: supersedes.iter().map(|s| s.to_string()).collect(),
        version: 1,
    }
}

fn host(id: &str, ring: &str, site: &str, installed: &[&str]) -> Host {
    Host {
        id: id.into(),
        name: id.to_uppercase().into(),
        ring_id: ring.into(),
        kind: HostKind::Workstation,
        site: site.into(),
        os: "Windows 11".into(),
        model: "Contoso Book 15 G4".into(),
        group_id: None,
        tier: None,
        criticality: Criticality::Low,
        exposed: false,
        roaming: false,
        state: HostState::Succeeded,
        deployment_id: None,
        failure: None,
        last_seen: now(),
        deferred_until: None,
        exception: None,
        installed: installed.iter().map(|s| (*s).into()).collect(),
        history: Vec::new(),
        updated_at: now(),
        as_of: None,
        version: 1,
    }
}

fn facts(host: Host) -> HostFacts {
    HostFacts {
        host,
        verified: Vec::new(),
    }
}

/// old (critical, 70 days), mid (critical, 30 days exactly, supersedes old), new
/// (important, 10 days), low (low, 90 days: not counted by default).
fn patches() -> Vec<Patch> {
    vec![
        patch("old", Severity::Critical, 70, &[]),
        patch("mid", Severity::Critical, 30, &["old"]),
        patch("new", Severity::Important, 10, &[]),
        patch("low", Severity::Low, 90, &[]),
    ]
}

fn fleet() -> Vec<HostFacts> {
    let mut excluded = host("h-5", "pilot", "LON", &["low"]);
    excluded.exception = Some(Box::new(Exception {
        owner: "erin".into(),
        reason: "legacy lab software".into(),
        ticket: Some("CHG-1".into()),
        expires_at: now() + Duration::days(3),
        compensating_control: "isolated VLAN".into(),
        ..Exception::default()
    }));
    let mut expired = host("h-6", "pilot", "LON", &["old"]);
    expired.exception = Some(Box::new(Exception {
        expires_at: now() - Duration::days(1),
        ..*excluded.exception.clone().unwrap()
    }));
    vec![
        // Everything: compliant.
        facts(host("h-1", "test", "NYC", &["old", "mid", "new"])),
        // Only mid, which supersedes old; due exactly now: compliant.
        facts(host("h-2", "test", "NYC", &["mid"])),
        // old only: mid is due exactly now (still within), so compliant.
        facts(host("h-3", "pilot", "NYC", &["old"])),
        // Only low installed (runs Windows): misses old (40 days past) and mid.
        facts(host("h-4", "pilot", "LON", &["low"])),
        // Would be past the line but excluded.
        facts(excluded),
        // Its exception expired: measured; old installed, so compliant.
        facts(expired),
    ]
}

#[test]
fn percent_past_line_and_the_oldest() {
    let (c, past) = compute(&CompliancePolicy::default(), now(), &patches(), &fleet());
    assert_eq!((c.hosts, c.measured, c.excluded), (6, 5, 1));
    assert_eq!((c.compliant, c.past_line, c.excluded_past_line), (4, 1, 1));
    assert_eq!(c.percent_compliant, 80.0);
    assert_eq!(past.len(), 1);
    let h4 = &past[0];
    assert_eq!(h4.host_id, "h-4");
    assert_eq!(h4.days_past, 40);
    assert_eq!(h4.days_since_release, 70);
    let missing: Vec<&str> = h4.missing.iter().map(|m| m.patch_id.as_str()).collect();
    assert_eq!(missing, ["old"], "mid is due exactly now: not yet past");
    assert_eq!(c.oldest.as_ref().map(|o| o.host_id.as_str()), Some("h-4"));
    assert_eq!((c.past_30_days, c.past_60_days, c.past_12_weeks), (1, 1, 0));
}

#[test]
fn a_host_exactly_at_the_line_is_within_and_one_second_later_past() {
    let later = now() + Duration::seconds(1);
    let (c, past) = compute(&CompliancePolicy::default(), later, &patches(), &fleet());
    let ids: Vec<&str> = past.iter().map(|p| p.host_id.as_str()).collect();
    // h-3 has old but not mid; h-6 the same (its exception expired, said in its row).
    assert_eq!(ids, ["h-4", "h-3", "h-6"]);
    assert_eq!(past[1].days_past, 0);
    assert_eq!(
        past[2].exception_expired_at,
        Some(now() - Duration::days(1))
    );
    assert_eq!(c.past_line, 3);
}

#[test]
fn a_superseding_patch_counts_only_when_the_policy_says_so() {
    let (c, _) = compute(&CompliancePolicy::default(), now(), &patches(), &fleet());
    let old = c.by_patch.iter().find(|p| p.patch_id == "old").unwrap();
    assert_eq!((old.applicable, old.installed, old.superseded), (5, 3, 1));
    assert_eq!((old.missing, old.past_line), (1, 1));
    let strict = CompliancePolicy {
        count_superseding: false,
        ..CompliancePolicy::default()
    };
    let (c, past) = compute(&strict, now(), &patches(), &fleet());
    let ids: Vec<&str> = past.iter().map(|p| p.host_id.as_str()).collect();
    assert_eq!(
        ids,
        ["h-2", "h-4"],
        "h-2 has only mid, which supersedes old"
    );
    assert_eq!(c.compliant, 3);
}

#[test]
fn severities_the_policy_leaves_out_do_not_count() {
    let (c, _) = compute(&CompliancePolicy::default(), now(), &patches(), &fleet());
    assert!(c.by_patch.iter().all(|p| p.patch_id != "low"));
    let sev: Vec<(Severity, u32, u32)> = c
        .by_severity
        .iter()
        .map(|s| (s.severity, s.patches, s.past_line))
        .collect();
    assert_eq!(
        sev,
        [(Severity::Critical, 2, 1), (Severity::Important, 1, 0)]
    );
    let all = CompliancePolicy {
        severities: vec![Severity::Low],
        ..CompliancePolicy::default()
    };
    let (c, past) = compute(&all, now(), &patches(), &fleet());
    // low applies to every Windows host; h-4 has it, the others miss it.
    assert_eq!(c.past_line, 4);
    assert_eq!(
        past.iter().filter(|p| p.days_since_release == 90).count(),
        4
    );
}

#[test]
fn breakdowns_by_ring_and_site() {
    let (c, _) = compute(&CompliancePolicy::default(), now(), &patches(), &fleet());
    let ring: Vec<(&str, u32, u32, u32, u32)> = c
        .by_ring
        .iter()
        .map(|b| {
            (
                b.key.as_str(),
                b.hosts,
                b.compliant,
                b.past_line,
                b.excluded,
            )
        })
        .collect();
    assert_eq!(ring, [("pilot", 4, 2, 1, 1), ("test", 2, 2, 0, 0)]);
    let lon = c.by_site.iter().find(|b| b.key == "LON").unwrap();
    assert_eq!((lon.measured, lon.percent_compliant), (2, 50.0));
}

#[test]
fn a_patch_of_a_product_the_host_does_not_run_does_not_apply() {
    let mut office = patch("office", Severity::Critical, 50, &[]);
    office.product = "Microsoft 365 Apps".into();
    let list = vec![patch("old", Severity::Critical, 70, &[]), office];
    let hosts = vec![facts(host("h-1", "test", "NYC", &["old"]))];
    let (c, past) = compute(&CompliancePolicy::default(), now(), &list, &hosts);
    assert!(past.is_empty());
    assert_eq!(c.by_patch[1].applicable, 0);
}

#[test]
fn release_to_verified_is_the_first_success_after_release() {
    let list = patches();
    let mut h = host("h-1", "test", "NYC", &["old", "new"]);
    let at = |days_ago: i64| now() - Duration::days(days_ago);
    h.history = vec![
        Transition {
            at: at(80),
            state: HostState::Succeeded,
            note: None,
        },
        Transition {
            at: at(68),
            state: HostState::Installing,
            note: None,
        },
        Transition {
            at: at(67),
            state: HostState::Succeeded,
            note: None,
        },
        Transition {
            at: at(8),
            state: HostState::Succeeded,
            note: None,
        },
        Transition {
            at: at(2),
            state: HostState::Succeeded,
            note: None,
        },
    ];
    let v = verified(&h, &list);
    assert_eq!(
        v,
        [
            Verified {
                patch_id: "old".into(),
                at: at(67)
            },
            Verified {
                patch_id: "new".into(),
                at: at(8)
            },
        ]
    );
    let hosts = vec![HostFacts {
        host: h,
        verified: v,
    }];
    let (c, _) = compute(&CompliancePolicy::default(), now(), &list, &hosts);
    // 3 days (old) and 2 days (new): the median of two is their mean.
    assert_eq!(c.median_release_to_verified_secs, Some(5 * 86_400 / 2));
}

#[test]
fn a_success_after_a_superseding_release_is_not_the_older_patchs() {
    // old is superseded by mid (released 30 days ago): a success 8 days ago verified
    // mid, not old; a note naming OLD wins.
    let list = patches();
    let at = |days_ago: i64| now() - Duration::days(days_ago);
    let mut h = host("h-1", "test", "NYC", &["old", "mid"]);
    h.history = vec![Transition {
        at: at(8),
        state: HostState::Succeeded,
        note: None,
    }];
    let v = verified(&h, &list);
    assert_eq!(
        v.iter().map(|v| v.patch_id.as_str()).collect::<Vec<_>>(),
        ["mid"]
    );
    h.history.insert(
        0,
        Transition {
            at: at(40),
            state: HostState::Succeeded,
            note: Some("verified installed OLD".into()),
        },
    );
    assert_eq!(
        verified(&h, &list)[0],
        Verified {
            patch_id: "old".into(),
            at: at(40)
        }
    );
}

#[test]
fn policy_files_parse_with_defaults_and_refuse_nonsense() {
    let p = CompliancePolicy::from_toml("within_days = 14\n").unwrap();
    assert_eq!(p.within_days, 14);
    assert_eq!(p.severities, [Severity::Critical, Severity::Important]);
    assert!(p.count_superseding);
    let p = CompliancePolicy::from_toml("severities = [\"critical\"]\ncount_superseding = false\n")
        .unwrap();
    assert_eq!((p.severities.len(), p.count_superseding), (1, false));
    for bad in [
        "severities = []",
        "within_days = 0",
        "within_days = 99999",
        "severities = [\"urgent\"]",
        "within = 3",
    ] {
        assert!(CompliancePolicy::from_toml(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_exception_for_one_patch_excuses_that_patch_alone() {
    let exception = |patch: &str| Exception {
        owner: "erin".into(),
        reason: "old breaks the lab's driver".into(),
        expires_at: now() + Duration::days(3),
        compensating_control: "isolated VLAN".into(),
        patch_id: Some(patch.into()),
        ..Exception::default()
    };
    // Misses old (past the line) and mid (due exactly now): excused for old, measured.
    let mut for_old = host("h-7", "pilot", "LON", &["low"]);
    for_old.exception = Some(Box::new(exception("old")));
    // Excused for new, which is within the line anyway: old still puts it past.
    let mut for_new = host("h-8", "pilot", "LON", &["low"]);
    for_new.exception = Some(Box::new(exception("new")));
    let fleet = vec![facts(for_old), facts(for_new)];
    let (c, past) = compute(&CompliancePolicy::default(), now(), &patches(), &fleet);
    assert_eq!((c.measured, c.excluded), (2, 0), "both measured");
    assert_eq!((c.compliant, c.past_line), (1, 1));
    let ids: Vec<&str> = past.iter().map(|p| p.host_id.as_str()).collect();
    assert_eq!(ids, ["h-8"]);
    let old = c.by_patch.iter().find(|p| p.patch_id == "old").unwrap();
    assert_eq!(
        old.applicable, 1,
        "h-7 is not counted for the patch it is excused"
    );
}
