//! Maintenance windows: when a ring or group may install and reboot.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// A recurring window in a site's local time. Offsets are fixed (no daylight-saving
/// shifts): the simulator and the console agree on them, and a vendor backend converts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Days the window opens on; empty means every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    /// Local opening time, "HH:MM".
    pub start: NaiveTime,
    pub duration_minutes: u32,
    /// Time zone name for people ("America/New_York").
    pub time_zone: String,
    /// Fixed offset from UTC used for computing, minutes.
    pub utc_offset_minutes: i32,
}

/// Where a window stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowStatus {
    Open { closes_at: DateTime<Utc> },
    Closed { opens_at: DateTime<Utc> },
}

impl MaintenanceWindow {
    /// A window that never closes.
    pub fn always(time_zone: &str, utc_offset_minutes: i32) -> Self {
        MaintenanceWindow {
            days: Vec::new(),
            start: NaiveTime::MIN,
            duration_minutes: 24 * 60,
            time_zone: time_zone.to_string(),
            utc_offset_minutes,
        }
    }

    fn opens_on(&self, day: Weekday) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }

    /// Is the window open at `now`, and until when; or when does it open next.
    pub fn status(&self, now: DateTime<Utc>) -> WindowStatus {
        let offset = Duration::minutes(i64::from(self.utc_offset_minutes));
        let length = Duration::minutes(i64::from(self.duration_minutes.max(1)));
        let local_now = now + offset;
        // Look at openings from 8 days back to 8 days ahead; windows are at most a week.
        let today = local_now.date_naive();
        let mut next_open: Option<DateTime<Utc>> = None;
        let mut open_until: Option<DateTime<Utc>> = None;
        for delta in -8i64..=8 {
            let day = today + Duration::days(delta);
            if !self.opens_on(day.weekday()) {
                continue;
            }
            let local_open = Utc.from_utc_datetime(&day.and_time(self.start));
            let open = local_open - offset;
            let close = open + length;
            if open <= now && now < close {
                open_until = Some(open_until.map_or(close, |c: DateTime<Utc>| c.max(close)));
            } else if open > now && next_open.is_none_or(|n| open < n) {
                next_open = Some(open);
            }
        }
        match (open_until, next_open) {
            (Some(closes_at), _) => WindowStatus::Open { closes_at },
            (None, Some(opens_at)) => WindowStatus::Closed { opens_at },
            // No opening day at all: treat as closed for a week.
            (None, None) => WindowStatus::Closed {
                opens_at: now + Duration::days(7),
            },
        }
    }

    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status(now), WindowStatus::Open { .. })
    }

    /// "daily 22:00 +6h (America/New_York)" or "Sat,Sun 01:00 +4h (UTC)".
    pub fn describe(&self) -> String {
        if self.duration_minutes >= 24 * 60 && self.days.is_empty() {
            return format!("always ({})", self.time_zone);
        }
        let days = if self.days.is_empty() {
            "daily".to_string()
        } else {
            self.days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let hours = self.duration_minutes / 60;
        let minutes = self.duration_minutes % 60;
        let length = if minutes == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{minutes:02}")
        };
        format!(
            "{days} {} +{length} ({})",
            self.start.format("%H:%M"),
            self.time_zone
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn nightly_window_in_new_york() {
        let window = MaintenanceWindow {
            days: vec![],
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            duration_minutes: 6 * 60,
            time_zone: "America/New_York".into(),
            utc_offset_minutes: -5 * 60,
        };
        // 23:00 local = 04:00 UTC next day: open until 04:00 local = 09:00 UTC.
        assert_eq!(
            window.status(at("2026-11-11T04:00:00Z")),
            WindowStatus::Open {
                closes_at: at("2026-11-11T09:00:00Z")
            }
        );
        // 12:00 local = 17:00 UTC: opens at 22:00 local = 03:00 UTC next day.
        assert_eq!(
            window.status(at("2026-11-11T17:00:00Z")),
            WindowStatus::Closed {
                opens_at: at("2026-11-12T03:00:00Z")
            }
        );
    }

    #[test]
    fn weekend_window() {
        let window = MaintenanceWindow {
            days: vec![Weekday::Sat],
            start: NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
            duration_minutes: 4 * 60,
            time_zone: "UTC".into(),
            utc_offset_minutes: 0,
        };
        // Wednesday 2026-11-11 -> Saturday 2026-11-14 01:00.
        assert_eq!(
            window.status(at("2026-11-11T12:00:00Z")),
            WindowStatus::Closed {
                opens_at: at("2026-11-14T01:00:00Z")
            }
        );
        assert!(window.is_open(at("2026-11-14T02:00:00Z")));
        assert_eq!(window.describe(), "Sat 01:00 +4h (UTC)");
    }

    #[test]
    fn always_open() {
        let window = MaintenanceWindow::always("UTC", 0);
        assert!(window.is_open(at("2026-11-11T12:00:00Z")));
        assert_eq!(window.describe(), "always (UTC)");
    }
}
