//! The fake's maintenance windows: `WindowId`, `Name`, `Schedule` (cron or rate),
//! `ScheduleTimezone`, `Duration` and `Cutoff` (hours), `Enabled`, `NextExecutionTime`
//! and the window's targets (`Targets` with `Key: tag:Patch Group`), answering
//! `DescribeMaintenanceWindows` (`Filters` `Enabled`, `Name`) and
//! `DescribeMaintenanceWindowTargets` in AWS's documented shapes.
//!
//! The fake has no time-zone database: a window carries its zone's offset for the
//! fake alone, from which it computes `NextExecutionTime` of a `cron(...)` schedule as
//! its clock moves; a schedule it does not read (`rate(...)`) has its next run set.

use chrono::DateTime;
use serde_json::{Value, json};

use super::fleet::FakeFleet;
use super::ops::FakeError;
use crate::backend::aws_ssm::map::parse_cron;
use crate::model::{MaintenanceWindow, WindowStatus};

/// One target registration of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeWindowTarget {
    pub id: String,
    /// `tag:Patch Group`, `InstanceIds`...
    pub key: String,
    pub values: Vec<String>,
}

/// A maintenance window of the fake account.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeWindow {
    pub id: String,
    pub name: String,
    pub schedule: String,
    /// `ScheduleTimezone`; none: not sent (UTC).
    pub time_zone: Option<String>,
    /// The zone's offset from UTC, minutes (the fake's own knowledge, never sent).
    pub utc_offset_minutes: i32,
    pub duration_hours: i32,
    pub cutoff_hours: i32,
    pub enabled: bool,
    /// `NextExecutionTime` set by hand (epoch seconds); none: computed from a cron
    /// schedule (a schedule the fake cannot read then has none).
    pub next_execution: Option<f64>,
    pub targets: Vec<FakeWindowTarget>,
}

impl FakeWindow {
    /// An enabled window `id` named `name` on `schedule` in `zone` (offset `offset`
    /// minutes for the fake), `duration` hours, cutoff one hour, targeting the
    /// instances tagged `Patch Group = group`.
    pub fn for_group(
        id: &str,
        name: &str,
        schedule: &str,
        zone: Option<(&str, i32)>,
        duration: i32,
        group: &str,
    ) -> FakeWindow {
        FakeWindow {
            id: id.into(),
            name: name.into(),
            schedule: schedule.into(),
            time_zone: zone.map(|(z, _)| z.to_string()),
            utc_offset_minutes: zone.map_or(0, |(_, o)| o),
            duration_hours: duration,
            cutoff_hours: 1,
            enabled: true,
            next_execution: None,
            targets: vec![FakeWindowTarget {
                id: format!("{id}-target"),
                key: "tag:Patch Group".into(),
                values: vec![group.into()],
            }],
        }
    }

    /// `NextExecutionTime` at `now` (epoch seconds), in SSM's form
    /// ("2026-12-05T02:00Z").
    pub fn next_execution_at(&self, now: f64) -> Option<String> {
        let next = match self.next_execution {
            Some(next) => next,
            None => {
                let (days, start) = parse_cron(&self.schedule).ok()?;
                let window = MaintenanceWindow {
                    days,
                    start,
                    duration_minutes: 1,
                    time_zone: String::new(),
                    utc_offset_minutes: self.utc_offset_minutes,
                };
                let now = DateTime::from_timestamp(now as i64, 0)?;
                match window.status(now) {
                    WindowStatus::Closed { opens_at } => opens_at.timestamp() as f64,
                    WindowStatus::Open { closes_at } => match window.status(closes_at) {
                        WindowStatus::Closed { opens_at } => opens_at.timestamp() as f64,
                        WindowStatus::Open { .. } => return None,
                    },
                }
            }
        };
        let at = DateTime::from_timestamp(next as i64, 0)?;
        Some(at.format("%Y-%m-%dT%H:%MZ").to_string())
    }
}

impl FakeFleet {
    /// Adds a maintenance window.
    pub fn add_window(&mut self, window: FakeWindow) {
        self.windows.push(window);
    }

    /// The window `id`, to change.
    pub fn window_mut(&mut self, id: &str) -> Option<&mut FakeWindow> {
        self.windows.iter_mut().find(|w| w.id == id)
    }
}

/// `WindowIdentities` matching `filters` (`Enabled` `true`/`false`, `Name`).
pub(super) fn describe_windows(fleet: &FakeFleet, filters: &[(String, Vec<String>)]) -> Vec<Value> {
    fleet
        .windows
        .iter()
        .filter(|w| {
            filters.iter().all(|(key, values)| match key.as_str() {
                "Enabled" => values
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&w.enabled.to_string())),
                "Name" => values.contains(&w.name),
                _ => true,
            })
        })
        .map(|w| {
            let mut item = json!({
                "WindowId": w.id, "Name": w.name, "Enabled": w.enabled,
                "Duration": w.duration_hours, "Cutoff": w.cutoff_hours,
                "Schedule": w.schedule,
            });
            if let Some(zone) = &w.time_zone {
                item["ScheduleTimezone"] = json!(zone);
            }
            if let Some(next) = w.next_execution_at(fleet.now).filter(|_| w.enabled) {
                item["NextExecutionTime"] = json!(next);
            }
            item
        })
        .collect()
}

/// `Targets` of window `id`; an unknown window is `DoesNotExistException`.
pub(super) fn describe_window_targets(
    fleet: &FakeFleet,
    id: &str,
) -> Result<Vec<Value>, FakeError> {
    let window = fleet.windows.iter().find(|w| w.id == id).ok_or_else(|| {
        FakeError::new(
            400,
            "DoesNotExistException",
            format!("Maintenance window {id} does not exist"),
        )
    })?;
    Ok(window
        .targets
        .iter()
        .map(|t| {
            json!({
                "WindowId": window.id, "WindowTargetId": t.id, "ResourceType": "INSTANCE",
                "Targets": [{"Key": t.key, "Values": t.values}],
                "Name": format!("{}-target", window.name),
            })
        })
        .collect())
}
