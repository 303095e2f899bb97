//! The fixed rings: Test, Pilot, three regional waves, non-production and production
//! servers, with their gates and maintenance windows.

use chrono::{NaiveTime, Weekday};

use crate::model::{
    Gate, GateMode, GateState, HostCounts, MaintenanceWindow, Ring, RingKind, RingState,
};
use crate::sim::engine::RingRun;

use super::Builder;

pub(super) struct Wave {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) region: &'static str,
    pub(super) sites: [&'static str; 2],
    pub(super) time_zone: &'static str,
    pub(super) offset: i32,
    pub(super) share_pct: usize,
}

pub(super) const WAVES: [Wave; 3] = [
    Wave {
        id: "wave-1",
        name: "Wave 1: Americas",
        region: "Americas (New York)",
        sites: ["NYC", "CHI"],
        time_zone: "America/New_York",
        offset: -300,
        share_pct: 40,
    },
    Wave {
        id: "wave-2",
        name: "Wave 2: EMEA",
        region: "EMEA (London)",
        sites: ["LON", "FRA"],
        time_zone: "Europe/London",
        offset: 0,
        share_pct: 35,
    },
    Wave {
        id: "wave-3",
        name: "Wave 3: APAC",
        region: "APAC (Singapore)",
        sites: ["SGP", "SYD"],
        time_zone: "Asia/Singapore",
        offset: 480,
        share_pct: 25,
    },
];

/// A ring to add, after the rings already there.
pub(super) struct RingSpec<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub kind: RingKind,
    pub site: Option<&'a str>,
    pub production: bool,
    /// The gate's mode and minimum soak in seconds.
    pub gate: (GateMode, u64),
    pub window: MaintenanceWindow,
}

impl Builder {
    pub(super) fn ring(&mut self, spec: RingSpec<'_>) {
        let RingSpec {
            id,
            name,
            kind,
            site,
            production,
            gate,
            window,
        } = spec;
        let order = self.e.rings.len() as u32;
        self.e.rings.push(Ring {
            id: id.into(),
            name: name.into(),
            order,
            kind,
            site: site.map(str::to_string),
            production,
            state: RingState::Waiting,
            gate: Gate {
                mode: gate.0,
                success_threshold_pct: 95,
                failure_threshold_pct: 10,
                min_soak_secs: gate.1,
                state: GateState::NotReached,
                blocked_reason: None,
            },
            window,
            soak_ends_at: None,
            state_reason: None,
            groups: Default::default(),
            counts: HostCounts::default(),
            as_of: None,
            version: 1,
        });
        self.e.ring_runs.push(RingRun::default());
    }

    pub(super) fn rings(&mut self) {
        const DAY: u64 = 86_400;
        let weekdays = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let ws = RingKind::Workstations;
        self.ring(RingSpec {
            id: "test",
            name: "Test",
            kind: ws,
            site: None,
            production: false,
            gate: (GateMode::Automatic, DAY),
            window: MaintenanceWindow::always("UTC", 0),
        });
        self.ring(RingSpec {
            id: "pilot",
            name: "Pilot",
            kind: ws,
            site: Some("all sites"),
            production: false,
            gate: (GateMode::Manual, 3 * DAY),
            window: MaintenanceWindow::always("UTC", 0),
        });
        for wave in &WAVES {
            self.ring(RingSpec {
                id: wave.id,
                name: wave.name,
                kind: ws,
                site: Some(wave.region),
                production: true,
                gate: (GateMode::Manual, DAY),
                window: MaintenanceWindow {
                    days: weekdays.clone(),
                    start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
                    duration_minutes: 9 * 60,
                    time_zone: wave.time_zone.into(),
                    utc_offset_minutes: wave.offset,
                },
            });
        }
        self.ring(RingSpec {
            id: "servers-nonprod",
            name: "Servers: non-production",
            kind: RingKind::Servers,
            site: None,
            production: false,
            gate: (GateMode::Manual, 2 * DAY),
            window: MaintenanceWindow::always("UTC", 0),
        });
        self.ring(RingSpec {
            id: "servers-prod",
            name: "Servers: production",
            kind: RingKind::Servers,
            site: None,
            production: true,
            gate: (GateMode::Manual, DAY),
            window: MaintenanceWindow {
                days: Vec::new(),
                start: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or_default(),
                duration_minutes: 6 * 60,
                time_zone: "UTC".into(),
                utc_offset_minutes: 0,
            },
        });
    }
}
