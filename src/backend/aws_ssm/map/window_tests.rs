use chrono::{NaiveTime, Weekday};

use super::*;
use crate::backend::aws_ssm::wire::window_time;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn window(schedule: &str, zone: Option<&str>, next: Option<&str>) -> Window {
    Window {
        id: "mw-1".into(),
        name: "w".into(),
        enabled: true,
        schedule: schedule.into(),
        time_zone: zone.map(String::from),
        schedule_offset: None,
        duration_hours: 4,
        cutoff_hours: 1,
        next_execution: next.map(|t| window_time(t).expect(t)),
    }
}

#[test]
fn accepted_cron_forms() {
    use Weekday::*;
    let table: &[(&str, &[Weekday], NaiveTime)] = &[
        ("cron(0 22 ? * TUE *)", &[Tue], hm(22, 0)),
        ("cron(30 2 ? * sat *)", &[Sat], hm(2, 30)),
        ("cron(0 3 ? * MON,WED,FRI *)", &[Mon, Wed, Fri], hm(3, 0)),
        (
            "cron(0 3 ? * MON-FRI *)",
            &[Mon, Tue, Wed, Thu, Fri],
            hm(3, 0),
        ),
        ("cron(0 1 ? * FRI-MON *)", &[Mon, Fri, Sat, Sun], hm(1, 0)),
        ("cron(15 4 ? * 1 *)", &[Sun], hm(4, 15)),
        ("cron(15 4 ? * 2-3,7 *)", &[Mon, Tue, Sat], hm(4, 15)),
        ("cron(0 20 * * ? *)", &[], hm(20, 0)),
        ("cron(0 20 ? * * *)", &[], hm(20, 0)),
        (" cron(5 0  ?  *  SUN  *) ", &[Sun], hm(0, 5)),
    ];
    for (schedule, days, start) in table {
        assert_eq!(
            parse_cron(schedule),
            Ok((days.to_vec(), *start)),
            "{schedule}"
        );
    }
}

#[test]
fn refused_schedules() {
    let table = [
        "rate(1 day)",
        "rate(7 days)",
        "at(2026-12-24T22:00:00)",
        "cron(0 22 ? * TUE#2 *)",
        "cron(0 22 ? * 3L *)",
        "cron(0 22 L * ? *)",
        "cron(0 22 15W * ? *)",
        "cron(0 22 15 * ? *)",
        "cron(0 22 ? 12 TUE *)",
        "cron(0 22 ? * TUE 2026)",
        "cron(0/15 22 ? * TUE *)",
        "cron(0 1,13 ? * TUE *)",
        "cron(0 1-3 ? * TUE *)",
        "cron(0 24 ? * TUE *)",
        "cron(60 1 ? * TUE *)",
        "cron(0 22 ? * TUE)",
        "cron(0 22 ? * TUE * *)",
        "cron(0 22 ? * ? *)",
        "cron(0 22 * * * *)",
        "cron(0 22 ? * XYZ *)",
        "cron(0 22 ? * 8 *)",
        "cron(0 22 ? * */2 *)",
        "",
    ];
    for schedule in table {
        assert!(parse_cron(schedule).is_err(), "{schedule} refused");
    }
}

#[test]
fn berlin_tuesday_window_takes_the_offset_at_its_next_run() {
    // Winter: 22:00 Berlin is 21:00 UTC (+1 h).
    let winter = ring_window(&window(
        "cron(0 22 ? * TUE *)",
        Some("Europe/Berlin"),
        Some("2026-12-08T21:00Z"),
    ));
    assert!(winter.parsed);
    assert_eq!(winter.window.days, vec![Weekday::Tue]);
    assert_eq!(winter.window.start, hm(22, 0));
    assert_eq!(winter.window.duration_minutes, 240);
    assert_eq!(winter.window.utc_offset_minutes, 60);
    assert_eq!(winter.window.describe(), "Tue 22:00 +4h (Europe/Berlin)");
    assert!(winter.window.is_open(at("2026-12-08T23:00:00Z")));
    assert!(!winter.window.is_open(at("2026-12-09T01:30:00Z")));
    // Summer: +2 h.
    let summer = ring_window(&window(
        "cron(0 22 ? * TUE *)",
        Some("Europe/Berlin"),
        Some("2026-07-07T20:00Z"),
    ));
    assert_eq!(summer.window.utc_offset_minutes, 120);
}

#[test]
fn offsets_across_midnight_and_half_hours() {
    // 02:00 Saturday in Tokyo is 17:00 Friday UTC.
    let tokyo = ring_window(&window(
        "cron(0 2 ? * SAT *)",
        Some("Asia/Tokyo"),
        Some("2026-12-04T17:00Z"),
    ));
    assert_eq!(tokyo.window.utc_offset_minutes, 9 * 60);
    // 22:00 Friday in Honolulu is 08:00 Saturday UTC.
    let honolulu = ring_window(&window(
        "cron(0 22 ? * FRI *)",
        Some("Pacific/Honolulu"),
        Some("2026-12-05T08:00Z"),
    ));
    assert_eq!(honolulu.window.utc_offset_minutes, -10 * 60);
    // 23:30 daily in Kolkata is 18:00 UTC.
    let kolkata = ring_window(&window(
        "cron(30 23 * * ? *)",
        Some("Asia/Kolkata"),
        Some("2026-12-02T18:00Z"),
    ));
    assert_eq!(kolkata.window.utc_offset_minutes, 330);
    // No zone: UTC.
    let utc = ring_window(&window("cron(0 2 ? * SAT *)", None, None));
    assert_eq!(utc.window.utc_offset_minutes, 0);
    assert_eq!(utc.window.time_zone, "UTC");
}

#[test]
fn a_schedule_not_read_is_always_open_with_its_next_run() {
    let rate = ring_window(&window(
        "rate(1 day)",
        Some("UTC"),
        Some("2026-12-03T02:00Z"),
    ));
    assert!(!rate.parsed);
    assert!(rate.window.is_open(at("2026-12-02T12:00:00Z")));
    assert_eq!(
        rate.window.describe(),
        "always (UTC; SSM schedule rate(1 day) not read as a weekly window, next run 2026-12-03 02:00 UTC)"
    );
    let mut offset = window("cron(0 2 ? * SAT *)", None, None);
    offset.schedule_offset = Some(2);
    assert!(!ring_window(&offset).parsed);
}

fn target(window_id: &str, key: &str, values: &[&str]) -> WindowTarget {
    WindowTarget {
        window_id: window_id.into(),
        target_id: format!("t-{window_id}"),
        resource_type: "INSTANCE".into(),
        targets: vec![(key.into(), values.iter().map(|v| v.to_string()).collect())],
    }
}

#[test]
fn a_group_gets_the_enabled_window_that_targets_its_tag() {
    let mut a = window("cron(0 2 ? * SAT *)", None, Some("2026-12-05T02:00Z"));
    a.id = "mw-a".into();
    let mut b = window("cron(0 20 * * ? *)", None, Some("2026-12-02T20:00Z"));
    b.id = "mw-b".into();
    let mut off = window("cron(0 1 * * ? *)", None, Some("2026-12-02T01:00Z"));
    off.id = "mw-off".into();
    off.enabled = false;
    let targets: HashMap<String, Vec<WindowTarget>> = [
        (
            "mw-a",
            target("mw-a", "tag:Patch Group", &["Production", "Pilot"]),
        ),
        ("mw-b", target("mw-b", "tag:Patch Group", &["Pilot"])),
        ("mw-off", target("mw-off", "tag:Patch Group", &["Test"])),
    ]
    .into_iter()
    .map(|(id, t)| (id.to_string(), vec![t]))
    .collect();
    let mut other_tag = targets.clone();
    other_tag.insert("mw-b".into(), vec![target("mw-b", "tag:Team", &["Test"])]);
    let mapped = ring_windows(
        &[a.clone(), b.clone(), off.clone()],
        &targets,
        "Patch Group",
    );
    assert_eq!(mapped["Production"].window_id, "mw-a");
    // Two windows target Pilot: the one that runs next.
    assert_eq!(mapped["Pilot"].window_id, "mw-b");
    assert!(
        !mapped.contains_key("Test"),
        "a disabled window is no window"
    );
    let mapped = ring_windows(&[a, b, off], &other_tag, "PatchGroup");
    assert!(mapped.is_empty(), "only tag:<tag_key> names a group");
}

#[test]
fn week_positions_count_from_monday_utc() {
    let daily = ring_window(&window(
        "cron(0 20 * * ? *)",
        None,
        Some("2026-12-03T20:00Z"),
    ));
    let tuesday = ring_window(&window(
        "cron(0 22 ? * TUE *)",
        Some("Europe/Berlin"),
        Some("2026-12-08T21:00Z"),
    ));
    let saturday = ring_window(&window(
        "cron(0 2 ? * SAT *)",
        None,
        Some("2026-12-05T02:00Z"),
    ));
    let rate = ring_window(&window("rate(1 day)", None, Some("2026-12-03T02:00Z")));
    assert_eq!(week_position(&daily), Some(20 * 60));
    assert_eq!(week_position(&tuesday), Some(24 * 60 + 21 * 60));
    assert_eq!(week_position(&saturday), Some(5 * 24 * 60 + 2 * 60));
    assert_eq!(week_position(&rate), Some(3 * 24 * 60 + 2 * 60));
    let none = ring_window(&window("rate(1 day)", None, None));
    assert_eq!(week_position(&none), None);
}

#[test]
fn ssm_window_times_read_as_instants() {
    let table = [
        ("2026-12-05T02:00Z", "2026-12-05T02:00:00Z"),
        ("2026-12-05T02:00:30Z", "2026-12-05T02:00:30Z"),
        ("2026-12-05T03:00+01:00", "2026-12-05T02:00:00Z"),
        ("2026-12-05T02:00:00.000Z", "2026-12-05T02:00:00Z"),
    ];
    for (text, instant) in table {
        assert_eq!(window_time(text), Some(at(instant)), "{text}");
    }
    assert_eq!(window_time("next Tuesday"), None);
}
