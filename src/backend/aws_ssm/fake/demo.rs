//! A demo account for the fake SSM (`patchdeck dev fake-ssm`): four patch groups of
//! Windows servers and workstations, one of them production, a November cumulative
//! update missing everywhere, and the story's trouble: in `bad-patch`, the update fails
//! with `0x800f0922` on one hardware line; in every story one instance has stopped
//! answering.

use super::fleet::{FakeFleet, FakeInstance, InstallOutcome};
use super::windows::FakeWindow;

/// The KB the demo fleet is missing.
pub const DEMO_KB: &str = "KB5070007";

/// The patch groups of the demo account, in rollout order.
pub const DEMO_GROUPS: [&str; 4] = ["Test", "Pilot", "Wave 1", "Production"];

/// Which story the demo account tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoStory {
    /// Every install succeeds (but for the instance that does not answer).
    #[default]
    Calm,
    /// Every fourth instance of the Pilot and later groups fails with `0x800f0922`.
    BadPatch,
}

/// A fleet of `instances` managed instances spread over [`DEMO_GROUPS`] (a fifth in
/// Test, more in the later groups), whose clock reads `now` (epoch seconds).
pub fn demo_fleet(now: f64, instances: usize, story: DemoStory) -> FakeFleet {
    let mut fleet = FakeFleet::new(now);
    for group in DEMO_GROUPS {
        fleet.add_patch_group(group, "Windows Server critical and security", "WINDOWS");
    }
    let instances = instances.max(DEMO_GROUPS.len());
    for n in 0..instances {
        let group = match n * 10 / instances {
            0 | 1 => DEMO_GROUPS[0],
            2 | 3 => DEMO_GROUPS[1],
            4..=6 => DEMO_GROUPS[2],
            _ => DEMO_GROUPS[3],
        };
        let id = format!("i-0{:016x}", 0x5eed_0000_u64 + n as u64);
        let name = format!("{}-{:03}", group.to_lowercase().replace(' ', ""), n + 1);
        let mut instance = FakeInstance::windows(&id, &name, group, DEMO_KB);
        instance.ip = format!("10.0.{}.{}", n / 200, 10 + n % 200);
        if story == DemoStory::BadPatch && group != DEMO_GROUPS[0] && n % 4 == 1 {
            instance.outcome = InstallOutcome::Fail {
                kb: DEMO_KB.into(),
                response_code: 1,
                output: format!(
                    "Installing {DEMO_KB}\nInstallation failed with HRESULT 0x800f0922 (CBS_E_INSTALLERS_FAILED)"
                ),
            };
        }
        fleet.add_instance(instance);
    }
    // One maintenance window per group: Test and Pilot daily, four hours each, Test's
    // opened in the hour before `now` and Pilot's at the top of `now`'s hour, so both are
    // open when the demo starts whatever the time of day; Wave 1 Tuesday evening in
    // Berlin, Production early Saturday (UTC): closed most of the week, so an approval
    // of them waits for its window.
    let hour = (now.rem_euclid(86_400.0) / 3_600.0) as u32;
    let test_daily = format!("cron(0 {} * * ? *)", (hour + 23) % 24);
    let pilot_daily = format!("cron(0 {hour} * * ? *)");
    let windows = [
        (
            "mw-0de0000000000test",
            "patch-test-daily",
            test_daily.as_str(),
            None,
            4,
        ),
        (
            "mw-0de000000000pilot",
            "patch-pilot-daily",
            pilot_daily.as_str(),
            None,
            4,
        ),
        (
            "mw-0de00000000wave1",
            "patch-wave-1-tuesday",
            "cron(0 22 ? * TUE *)",
            Some(("Europe/Berlin", 60)),
            4,
        ),
        (
            "mw-0de0000000000prod",
            "patch-production-saturday",
            "cron(0 2 ? * SAT *)",
            Some(("UTC", 0)),
            3,
        ),
    ];
    for ((id, name, schedule, zone, hours), group) in windows.into_iter().zip(DEMO_GROUPS) {
        fleet.add_window(FakeWindow::for_group(
            id, name, schedule, zone, hours, group,
        ));
    }
    // One instance of Wave 1 has stopped answering an hour ago.
    let offline = fleet
        .instances
        .iter()
        .find(|i| i.patch_group.as_deref() == Some(DEMO_GROUPS[2]))
        .map(|i| i.id.clone());
    if let Some(id) = offline {
        fleet.set_ping(&id, "ConnectionLost");
        if let Some(instance) = fleet.instance_mut(&id) {
            instance.last_ping = now - 3600.0;
        }
    }
    fleet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fleet_spreads_over_every_group_and_tells_its_story() {
        let fleet = demo_fleet(1_700_000_000.0, 40, DemoStory::BadPatch);
        assert_eq!(fleet.instances.len(), 40);
        for group in DEMO_GROUPS {
            assert!(
                fleet
                    .instances
                    .iter()
                    .any(|i| i.patch_group.as_deref() == Some(group)),
                "{group} has instances"
            );
        }
        let failing = fleet
            .instances
            .iter()
            .filter(|i| matches!(i.outcome, InstallOutcome::Fail { .. }))
            .count();
        assert!(failing > 0 && failing < 40);
        assert!(
            fleet
                .instances
                .iter()
                .filter(|i| matches!(i.outcome, InstallOutcome::Fail { .. }))
                .all(|i| i.patch_group.as_deref() != Some("Test")),
            "Test passes: the trouble shows from Pilot on"
        );
        assert_eq!(
            fleet
                .instances
                .iter()
                .filter(|i| i.ping == "ConnectionLost")
                .count(),
            1
        );
        assert_eq!(fleet.windows.len(), DEMO_GROUPS.len(), "a window per group");
        let calm = demo_fleet(1_700_000_000.0, 40, DemoStory::Calm);
        assert!(
            calm.instances
                .iter()
                .all(|i| i.outcome == InstallOutcome::Succeed)
        );
    }
}
