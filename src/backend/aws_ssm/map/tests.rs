//! Table tests of the mapping: one case per SSM enum value, and one unknown value each.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::super::wire::*;

use super::*;
use crate::model::{DeploymentState, HostState, RingState};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 1, 0, 0).unwrap()
}

fn instance(ping: PingStatus) -> Instance {
    Instance {
        id: "i-0001".into(),
        ping,
        last_ping: Some(now() - Duration::hours(3)),
        platform: PlatformType::Windows,
        platform_name: "Microsoft Windows Server 2022 Datacenter".into(),
        platform_version: "10.0.20348".into(),
        resource_type: ResourceType::Ec2Instance,
        computer_name: Some("WEB01".into()),
        name: None,
        ip: None,
    }
}

fn patch_state() -> PatchState {
    PatchState {
        instance_id: "i-0001".into(),
        patch_group: "pilot".into(),
        baseline_id: "pb-1".into(),
        installed: 10,
        installed_other: 0,
        installed_pending_reboot: 0,
        installed_rejected: 0,
        missing: 0,
        failed: 0,
        not_applicable: 0,
        operation: PatchOperation::Install,
        operation_start: now() - Duration::minutes(10),
        operation_end: now() - Duration::minutes(5),
        reboot_option: Some(RebootOption::RebootIfNeeded),
    }
}

fn invocation(status: InvocationStatus, details: InvocationDetails) -> Invocation {
    Invocation {
        command_id: "c-1".into(),
        instance_id: "i-0001".into(),
        instance_name: "WEB01".into(),
        requested: Some(now() - Duration::minutes(30)),
        status,
        details,
        plugins: vec![Plugin {
            name: "PatchWindows".into(),
            status: PluginStatus::Failed,
            details: "Failed".into(),
            response_code: 1,
            output: "Installing KB5070007\nInstallation failed with error 0x800F0922\n".into(),
            finished: Some(now() - Duration::minutes(6)),
        }],
    }
}

fn state_of(ping: PingStatus, state: Option<&PatchState>, inv: Option<&Invocation>) -> HostState {
    let instance = instance(ping);
    let evidence = HostEvidence {
        instance: &instance,
        patch_state: state,
        invocation: inv,
        command_requested: Some(now() - Duration::minutes(30)),
        deployment_id: Some("cmd-c-1"),
        patches: &[],
        rollback: false,
    };
    host(&evidence, "pilot", now()).state
}

#[test]
fn every_wire_value_parses_back_to_itself_and_an_unknown_one_is_kept() {
    fn check<T: PartialEq + std::fmt::Debug>(
        all: &[T],
        parse: fn(&str) -> T,
        as_str: fn(&T) -> &str,
    ) {
        for value in all {
            assert_eq!(&parse(as_str(value)), value);
        }
        assert_eq!(as_str(&parse("BrandNew")), "BrandNew");
    }
    check(PingStatus::ALL, PingStatus::parse, PingStatus::as_str);
    check(PlatformType::ALL, PlatformType::parse, PlatformType::as_str);
    check(ResourceType::ALL, ResourceType::parse, ResourceType::as_str);
    check(
        CommandStatus::ALL,
        CommandStatus::parse,
        CommandStatus::as_str,
    );
    check(
        CommandDetails::ALL,
        CommandDetails::parse,
        CommandDetails::as_str,
    );
    check(
        InvocationStatus::ALL,
        InvocationStatus::parse,
        InvocationStatus::as_str,
    );
    check(
        InvocationDetails::ALL,
        InvocationDetails::parse,
        InvocationDetails::as_str,
    );
    check(PluginStatus::ALL, PluginStatus::parse, PluginStatus::as_str);
    check(
        PatchComplianceState::ALL,
        PatchComplianceState::parse,
        PatchComplianceState::as_str,
    );
    check(
        PatchOperation::ALL,
        PatchOperation::parse,
        PatchOperation::as_str,
    );
    check(RebootOption::ALL, RebootOption::parse, RebootOption::as_str);
    check(
        OperatingSystem::ALL,
        OperatingSystem::parse,
        OperatingSystem::as_str,
    );
    assert!(matches!(
        PingStatus::parse("BrandNew"),
        PingStatus::Unknown(_)
    ));
}

#[test]
fn ping_status_online_reads_the_patch_state_and_every_other_is_offline_with_last_seen() {
    let state = patch_state();
    let cases = [
        (PingStatus::Online, HostState::Succeeded),
        (PingStatus::ConnectionLost, HostState::Offline),
        (PingStatus::Inactive, HostState::Offline),
        (
            PingStatus::Unknown("Hibernating".into()),
            HostState::Offline,
        ),
    ];
    assert_eq!(cases.len(), PingStatus::ALL.len() + 1);
    for (ping, expected) in cases {
        assert_eq!(
            state_of(ping.clone(), Some(&state), None),
            expected,
            "{ping:?}"
        );
    }
    let lost = instance(PingStatus::ConnectionLost);
    let evidence = HostEvidence {
        instance: &lost,
        patch_state: Some(&state),
        invocation: None,
        command_requested: None,
        deployment_id: None,
        patches: &[],
        rollback: false,
    };
    let host = host(&evidence, "pilot", now());
    assert_eq!(host.last_seen, now() - Duration::hours(3));
    assert_eq!(
        host_note(&evidence, now()).as_deref(),
        Some("SSM agent connection lost")
    );
}

#[test]
fn every_invocation_status_details_value_maps_to_a_host_state() {
    let state = patch_state();
    use InvocationDetails as D;
    use InvocationStatus as S;
    let cases = [
        (S::Pending, D::Pending, HostState::Pending),
        (S::InProgress, D::InProgress, HostState::Installing),
        (S::Delayed, D::Delayed, HostState::Pending),
        (S::Success, D::Success, HostState::Succeeded),
        (S::Cancelled, D::Cancelled, HostState::Pending),
        (S::Cancelling, D::Cancelling, HostState::Installing),
        (S::Failed, D::Failed, HostState::Failed),
        (S::Failed, D::AccessDenied, HostState::Failed),
        (S::TimedOut, D::DeliveryTimedOut, HostState::Offline),
        (S::TimedOut, D::ExecutionTimedOut, HostState::Failed),
        (S::Failed, D::Undeliverable, HostState::Offline),
        (S::Failed, D::InvalidPlatform, HostState::Failed),
        (S::Cancelled, D::Terminated, HostState::Pending),
        (
            S::InProgress,
            D::Unknown("Thinking".into()),
            HostState::Installing,
        ),
    ];
    assert_eq!(cases.len(), InvocationDetails::ALL.len() + 1);
    for (status, details, expected) in cases {
        let inv = invocation(status, details.clone());
        assert_eq!(
            state_of(PingStatus::Online, Some(&state), Some(&inv)),
            expected,
            "{details:?}"
        );
    }
}

#[test]
fn every_invocation_status_maps_when_the_details_do_not_say_more() {
    let state = patch_state();
    use InvocationStatus as S;
    let cases = [
        (S::Pending, HostState::Pending),
        (S::InProgress, HostState::Installing),
        (S::Delayed, HostState::Pending),
        (S::Success, HostState::Succeeded),
        (S::Cancelled, HostState::Pending),
        (S::Cancelling, HostState::Installing),
        (S::Failed, HostState::Failed),
        (S::TimedOut, HostState::Failed),
        (S::Unknown("Paused".into()), HostState::Pending),
    ];
    assert_eq!(cases.len(), InvocationStatus::ALL.len() + 1);
    for (status, expected) in cases {
        let inv = invocation(status.clone(), InvocationDetails::Unknown("".into()));
        assert_eq!(
            state_of(PingStatus::Online, Some(&state), Some(&inv)),
            expected,
            "{status:?}"
        );
    }
    // Running while the agent is gone: a reboot, inferred.
    let running = invocation(S::InProgress, InvocationDetails::InProgress);
    let lost = PingStatus::ConnectionLost;
    assert_eq!(
        state_of(lost, Some(&state), Some(&running)),
        HostState::Rebooting
    );
}

#[test]
fn a_finished_install_is_verified_only_by_a_fresh_patch_state() {
    let done = invocation(InvocationStatus::Success, InvocationDetails::Success);
    let mut stale = patch_state();
    stale.operation_end = now() - Duration::hours(2);
    assert_eq!(
        state_of(PingStatus::Online, Some(&stale), Some(&done)),
        HostState::Verifying
    );
    let mut reboot = patch_state();
    reboot.installed_pending_reboot = 1;
    assert_eq!(
        state_of(PingStatus::Online, Some(&reboot), Some(&done)),
        HostState::PendingReboot
    );
    let mut missing = patch_state();
    missing.missing = 2;
    assert_eq!(
        state_of(PingStatus::Online, Some(&missing), Some(&done)),
        HostState::Failed
    );
    let mut failed = patch_state();
    failed.failed = 1;
    assert_eq!(
        state_of(PingStatus::Online, Some(&failed), Some(&done)),
        HostState::Failed
    );
    // Without a command, missing patches are pending work.
    assert_eq!(
        state_of(PingStatus::Online, Some(&missing), None),
        HostState::Pending
    );
    assert_eq!(state_of(PingStatus::Online, None, None), HostState::Pending);
}

#[test]
fn a_failure_code_is_the_hresult_then_the_exit_code_then_the_details() {
    let rows = [PatchRow {
        kb: "KB5070007".into(),
        title: "2026-11 Cumulative Update".into(),
        classification: "SecurityUpdates".into(),
        severity: "Critical".into(),
        state: PatchComplianceState::Failed,
        installed_time: None,
        cves: vec![],
    }];
    let inv = invocation(InvocationStatus::Failed, InvocationDetails::Failed);
    let failure = host_failure(&inv, &rows, now());
    assert_eq!(failure.code, "0x800f0922");
    assert_eq!(failure.patch_id.as_deref(), Some("kb5070007"));
    assert_eq!(
        failure.message,
        "Failed: Installation failed with error 0x800F0922"
    );
    let mut exit = inv.clone();
    exit.plugins[0].output = "something went wrong".into();
    assert_eq!(host_failure(&exit, &[], now()).code, "ssm-exit-1");
    let mut timed_out = invocation(
        InvocationStatus::TimedOut,
        InvocationDetails::ExecutionTimedOut,
    );
    timed_out.plugins[0].output.clear();
    timed_out.plugins[0].response_code = -1;
    assert_eq!(
        host_failure(&timed_out, &[], now()).code,
        "ssm-ExecutionTimedOut"
    );
}

#[test]
fn every_plugin_status_decides_which_plugin_failed() {
    use PluginStatus as P;
    let cases = [
        (P::Pending, false),
        (P::InProgress, false),
        (P::Success, false),
        (P::Cancelled, false),
        (P::Failed, true),
        (P::TimedOut, true),
        (P::Unknown("Odd".into()), true),
    ];
    assert_eq!(cases.len(), PluginStatus::ALL.len() + 1);
    for (status, failed) in cases {
        let mut inv = invocation(InvocationStatus::Failed, InvocationDetails::Failed);
        let ok = Plugin {
            name: "First".into(),
            status: PluginStatus::Success,
            details: "Success".into(),
            response_code: 0,
            output: "fine".into(),
            finished: None,
        };
        inv.plugins[0].status = status.clone();
        inv.plugins.insert(0, ok);
        let failure = host_failure(&inv, &[], now());
        assert_eq!(failure.code == "0x800f0922", failed, "{status:?}");
    }
}

#[test]
fn every_patch_compliance_state_is_installed_or_not() {
    use PatchComplianceState as P;
    let cases = [
        (P::Installed, true),
        (P::InstalledOther, true),
        (P::InstalledPendingReboot, true),
        (P::InstalledRejected, true),
        (P::Missing, false),
        (P::NotApplicable, false),
        (P::Failed, false),
        (P::AvailableSecurityUpdate, false),
        (P::Unknown("WEIRD".into()), false),
    ];
    assert_eq!(cases.len(), PatchComplianceState::ALL.len() + 1);
    for (state, expected) in cases {
        assert_eq!(installed(&state), expected, "{state:?}");
    }
}

#[test]
fn every_reboot_option_explains_a_pending_reboot() {
    let mut state = patch_state();
    state.installed_pending_reboot = 1;
    let inst = instance(PingStatus::Online);
    for option in RebootOption::ALL
        .iter()
        .cloned()
        .chain([RebootOption::Unknown("Later".into())])
    {
        state.reboot_option = Some(option.clone());
        let evidence = HostEvidence {
            instance: &inst,
            patch_state: Some(&state),
            invocation: None,
            command_requested: None,
            deployment_id: None,
            patches: &[],
            rollback: false,
        };
        let note = host_note(&evidence, now()).unwrap_or_default();
        assert!(!note.is_empty(), "{option:?}");
        assert_eq!(
            host(&evidence, "pilot", now()).state,
            HostState::PendingReboot
        );
    }
}

fn command(status: CommandStatus, details: CommandDetails) -> Command {
    Command {
        id: "c-1".into(),
        document: PATCH_DOCUMENT.into(),
        comment: String::new(),
        requested: Some(now()),
        status,
        details,
        max_concurrency: "10%".into(),
        max_errors: "5%".into(),
        target_count: 120,
        completed_count: 37,
        error_count: 7,
        delivery_timed_out_count: 0,
        targets: vec![("tag:Patch Group".into(), vec!["Wave 1 EMEA".into()])],
        instance_ids: vec![],
        operation: Some("Install".into()),
    }
}

#[test]
fn every_command_status_details_value_maps_to_a_deployment_state() {
    use CommandDetails as D;
    use CommandStatus as S;
    use DeploymentState::*;
    let cases = [
        (S::Pending, D::Pending, Running),
        (S::InProgress, D::InProgress, Running),
        (S::Pending, D::Delayed, Running),
        (S::Success, D::Success, Completed),
        (S::Cancelled, D::Cancelled, Halted),
        (S::Cancelling, D::Cancelling, Running),
        (S::Failed, D::Failed, Halted),
        (S::Failed, D::AccessDenied, Halted),
        (S::TimedOut, D::DeliveryTimedOut, Halted),
        (S::TimedOut, D::ExecutionTimedOut, Halted),
        (S::Failed, D::Incomplete, Completed),
        (S::Failed, D::NoInstancesInTag, Halted),
        (S::Failed, D::LimitExceeded, Halted),
        (S::Failed, D::RateExceeded, Halted),
        (S::InProgress, D::Unknown("Pondering".into()), Running),
    ];
    assert_eq!(cases.len(), CommandDetails::ALL.len() + 1);
    for (status, details, expected) in cases {
        let mapped = deployment(&command(status, details.clone()), &[], now());
        assert_eq!(mapped.deployment.state, expected, "{details:?}");
        if expected == Halted {
            assert!(
                mapped.deployment.state_reason.is_some(),
                "{details:?} says why"
            );
        }
    }
    let failed = deployment(&command(S::Failed, D::Failed), &[], now());
    assert_eq!(
        failed.deployment.state_reason.as_deref(),
        Some("MaxErrors 5% exceeded: 7 of 120 failed")
    );
    assert_eq!(
        (failed.rate.clone(), failed.failure_gate.clone()),
        (Limit::Percent(10), Limit::Percent(5))
    );
    assert_eq!(failed.ring_ids, vec!["wave-1-emea".to_string()]);
    assert_eq!(failed.deployment.id, "cmd-c-1");
}

#[test]
fn every_command_status_maps_when_the_details_do_not_say_more() {
    use CommandStatus as S;
    use DeploymentState::*;
    let cases = [
        (S::Pending, Running),
        (S::InProgress, Running),
        (S::Success, Completed),
        (S::Cancelled, Halted),
        (S::Cancelling, Running),
        (S::Failed, Halted),
        (S::TimedOut, Halted),
        (S::Unknown("Frozen".into()), Running),
    ];
    assert_eq!(cases.len(), CommandStatus::ALL.len() + 1);
    for (status, expected) in cases {
        let mapped = deployment(
            &command(status.clone(), CommandDetails::Unknown("".into())),
            &[],
            now(),
        );
        assert_eq!(mapped.deployment.state, expected, "{status:?}");
    }
}

#[test]
fn a_ring_follows_its_latest_command_and_takes_maxerrors_as_its_failure_threshold() {
    let group = PatchGroup {
        name: "Wave 1 EMEA".into(),
        baseline_id: "pb-1".into(),
        baseline_name: "corp".into(),
        operating_system: OperatingSystem::Windows,
    };
    let waiting = ring(&group, 2, &[], None);
    assert_eq!(
        (waiting.id.as_str(), waiting.state, waiting.order),
        ("wave-1-emea", RingState::Waiting, 2)
    );
    let failed = deployment(
        &command(CommandStatus::Failed, CommandDetails::Failed),
        &[],
        now(),
    );
    let halted = ring(&group, 2, &[], Some(&failed));
    assert_eq!(halted.state, RingState::Halted);
    assert_eq!(halted.gate.failure_threshold_pct, 5);
    assert!(halted.gate.blocked_reason.is_some());
}

#[test]
fn every_platform_resource_and_operating_system_has_words() {
    let mut seen = std::collections::HashSet::new();
    for os in OperatingSystem::ALL {
        assert!(seen.insert(operating_system_words(os)), "{os:?}");
    }
    assert_eq!(
        operating_system_words(&OperatingSystem::Unknown("PLAN9".into())),
        "PLAN9"
    );
    let words: Vec<String> = PlatformType::ALL.iter().map(platform_words).collect();
    assert_eq!(words, ["Windows", "Linux", "macOS"]);
    assert_eq!(
        platform_words(&PlatformType::Unknown("Haiku".into())),
        "Haiku"
    );
    for resource in ResourceType::ALL {
        let mut inst = instance(PingStatus::Online);
        inst.resource_type = resource.clone();
        let evidence = HostEvidence {
            instance: &inst,
            patch_state: None,
            invocation: None,
            command_requested: None,
            deployment_id: None,
            patches: &[],
            rollback: false,
        };
        assert!(!host(&evidence, "pilot", now()).model.is_empty());
    }
}

#[test]
fn limits_hresults_and_slugs() {
    assert_eq!(Limit::parse("10%"), Limit::Percent(10));
    assert_eq!(Limit::parse("3"), Limit::Count(3));
    assert_eq!(Limit::parse("lots"), Limit::Unparsed("lots".into()));
    assert_eq!(Limit::Percent(5).of(120), Some(6));
    assert_eq!(Limit::Count(1).words(), "1 host");
    assert_eq!(hresult("error 0x800F0922."), Some("0x800f0922".into()));
    assert_eq!(hresult("0x12 and 0x80070005"), Some("0x80070005".into()));
    assert_eq!(hresult("no code"), None);
    assert_eq!(slug("Wave 1 EMEA"), "wave-1-emea");
    assert_eq!(slug("--"), "unnamed");
}
