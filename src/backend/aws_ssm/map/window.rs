//! A ring's window from SSM Maintenance Windows: the enabled window whose targets name
//! the ring's patch group (`tag:<tag_key>`), its `cron(...)` schedule read into the
//! model's weekly window (days, local start, duration, zone and a fixed offset), and
//! the order of rings by when their windows open in the week.
//!
//! The forms read are the common ones: `cron(M H ? * DOW *)` (DOW: `MON`, `1`-`7` with
//! 1 = Sunday, lists and ranges of them) and `cron(M H * * ? *)` / `cron(M H ? * * *)`
//! (daily). Anything else (`rate(...)`, `at(...)`, `L`, `#`, `W`, steps, lists of hours,
//! days of the month, months, years, a `ScheduleOffset`) is shown as always open, with
//! the schedule and its next run in the window's words.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc, Weekday};

use crate::backend::aws_ssm::wire::{Window, WindowTarget};
use crate::model::MaintenanceWindow;

/// A ring's window and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct RingWindow {
    pub window_id: String,
    pub window_name: String,
    pub window: MaintenanceWindow,
    /// SSM's `NextExecutionTime`.
    pub next_execution: Option<DateTime<Utc>>,
    /// The schedule was read as a weekly window (else: always open, with a note).
    pub parsed: bool,
}

/// Days and local start of a `cron(...)` schedule in the forms read; else why not.
/// Days empty: every day.
pub fn parse_cron(schedule: &str) -> Result<(Vec<Weekday>, NaiveTime), String> {
    let schedule = schedule.trim();
    let Some(body) = schedule
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
    else {
        return Err(format!("not a cron expression: {schedule}"));
    };
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [minute, hour, day_of_month, month, day_of_week, year] = fields[..] else {
        return Err(format!("{} fields, not 6", fields.len()));
    };
    let number = |text: &str, max: u32, what: &str| {
        text.parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{what} '{text}' is not one number"))
    };
    let minute = number(minute, 59, "minute")?;
    let hour = number(hour, 23, "hour")?;
    if month != "*" {
        return Err(format!("month '{month}' is not *"));
    }
    if year != "*" {
        return Err(format!("year '{year}' is not *"));
    }
    let days = match (day_of_month, day_of_week) {
        ("*", "?") | ("?", "*") => Vec::new(),
        ("?", list) => days_of_week(list)?,
        (dom, _) => return Err(format!("day of month '{dom}' is not ? or *")),
    };
    let start = NaiveTime::from_hms_opt(hour, minute, 0).ok_or("no such time")?;
    Ok((days, start))
}

/// `MON,WED-FRI` or `2,4-6` (1 = Sunday) as weekdays in week order, no repeats.
fn days_of_week(list: &str) -> Result<Vec<Weekday>, String> {
    let mut days: Vec<Weekday> = Vec::new();
    for item in list.split(',') {
        let (from, to) = match item.split_once('-') {
            Some((from, to)) => (day(from)?, day(to)?),
            None => (day(item)?, day(item)?),
        };
        let mut d = from;
        loop {
            if !days.contains(&d) {
                days.push(d);
            }
            if d == to {
                break;
            }
            d = d.succ();
        }
    }
    days.sort_by_key(|d| d.num_days_from_monday());
    Ok(days)
}

fn day(text: &str) -> Result<Weekday, String> {
    let named = match text.to_ascii_uppercase().as_str() {
        "SUN" | "1" => Weekday::Sun,
        "MON" | "2" => Weekday::Mon,
        "TUE" | "3" => Weekday::Tue,
        "WED" | "4" => Weekday::Wed,
        "THU" | "5" => Weekday::Thu,
        "FRI" | "6" => Weekday::Fri,
        "SAT" | "7" => Weekday::Sat,
        _ => return Err(format!("day of week '{text}' is not a day")),
    };
    Ok(named)
}

/// The zone's offset at `next` (minutes), from the local start and the instant it
/// names; the one that puts `next` on one of `days` (every day: between -12 h and
/// +12 h, so +13 h and +14 h zones read as -11 h and -10 h for daily windows).
fn offset_at(start: NaiveTime, days: &[Weekday], next: DateTime<Utc>) -> i32 {
    let local = (start.hour() * 60 + start.minute()) as i32;
    let utc = (next.hour() * 60 + next.minute()) as i32;
    let mut offset = (local - utc).rem_euclid(24 * 60);
    if offset > 12 * 60 {
        offset -= 24 * 60;
    }
    let lands = |o: i32| {
        days.is_empty() || days.contains(&(next + chrono::Duration::minutes(o.into())).weekday())
    };
    if !lands(offset) {
        let other = if offset > 0 {
            offset - 24 * 60
        } else {
            offset + 24 * 60
        };
        if lands(other) {
            offset = other;
        }
    }
    offset
}

/// "2026-12-05 02:00 UTC", or "none".
fn next_words(next: Option<DateTime<Utc>>) -> String {
    next.map_or("none".into(), |t| {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    })
}

fn utc_zone(zone: &str) -> bool {
    matches!(
        zone,
        "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Etc/UCT" | "UCT"
    )
}

/// Window `w` as the model's window.
pub fn ring_window(w: &Window) -> RingWindow {
    let zone = w.time_zone.clone().unwrap_or_else(|| "UTC".into());
    let parsed = match parse_cron(&w.schedule) {
        Ok(_) if w.schedule_offset.unwrap_or(0) != 0 => Err(format!(
            "ScheduleOffset {} days",
            w.schedule_offset.unwrap_or(0)
        )),
        other => other,
    };
    let window = match &parsed {
        Ok((days, start)) => {
            let (offset, time_zone) = match w.next_execution {
                Some(next) => (offset_at(*start, days, next), zone.clone()),
                None if utc_zone(&zone) => (0, zone.clone()),
                None => (
                    0,
                    format!("{zone}; no next run from SSM, offset taken as UTC"),
                ),
            };
            MaintenanceWindow {
                days: days.clone(),
                start: *start,
                duration_minutes: (w.duration_hours.clamp(1, 24) * 60) as u32,
                time_zone,
                utc_offset_minutes: offset,
            }
        }
        Err(_) => MaintenanceWindow::always(
            &format!(
                "{zone}; SSM schedule {} not read as a weekly window, next run {}",
                w.schedule,
                next_words(w.next_execution)
            ),
            0,
        ),
    };
    RingWindow {
        window_id: w.id.clone(),
        window_name: w.name.clone(),
        window,
        next_execution: w.next_execution,
        parsed: parsed.is_ok(),
    }
}

/// Each patch group's window: the enabled windows whose targets carry
/// `tag:<tag_key>` with the group among the values; where several do, the one that
/// runs next (then by id).
pub fn ring_windows(
    windows: &[Window],
    targets: &HashMap<String, Vec<WindowTarget>>,
    tag_key: &str,
) -> BTreeMap<String, RingWindow> {
    let key = format!("tag:{tag_key}");
    let mut enabled: Vec<&Window> = windows.iter().filter(|w| w.enabled).collect();
    enabled.sort_by(|a, b| {
        let never = DateTime::<Utc>::MAX_UTC;
        (a.next_execution.unwrap_or(never), &a.id).cmp(&(b.next_execution.unwrap_or(never), &b.id))
    });
    let mut out = BTreeMap::new();
    for w in enabled {
        for target in targets.get(&w.id).map_or(&[][..], Vec::as_slice) {
            for (k, values) in &target.targets {
                if *k != key {
                    continue;
                }
                for group in values {
                    out.entry(group.clone()).or_insert_with(|| ring_window(w));
                }
            }
        }
    }
    out
}

/// When the window first opens in a week from Monday 00:00 UTC, minutes (its next
/// execution counted from the week's start, not from now, so the order of rings
/// does not turn as the days pass); a schedule not read: its next run's place in the
/// week; none: no next run.
pub fn week_position(w: &RingWindow) -> Option<i64> {
    if w.parsed {
        let window = &w.window;
        let day = window
            .days
            .iter()
            .map(|d| d.num_days_from_monday())
            .min()
            .unwrap_or(0);
        let start = i64::from(window.start.hour() * 60 + window.start.minute());
        return Some(i64::from(day) * 24 * 60 + start - i64::from(window.utc_offset_minutes));
    }
    let next = w.next_execution?;
    Some(
        i64::from(next.weekday().num_days_from_monday()) * 24 * 60
            + i64::from(next.hour() * 60 + next.minute()),
    )
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
