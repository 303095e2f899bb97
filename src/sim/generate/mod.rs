//! Building the fleet and its start state directly from the seed (no days of history
//! are simulated step by step; only the last 20 fleet minutes run through the engine,
//! so that the non-production servers are visibly mid-reboot at start).
//!
//! The fleet: 1% Test (lab machines), 5% Pilot (users from every site), three waves by
//! region (Americas/New York, EMEA/London, APAC/Singapore, business-hours windows),
//! 8% servers in non-production and production rings of patching groups (payments,
//! intranet, file, CRM, HR, ERP; web/app/db tiers; production web tier exposed), a few
//! hosts under a documented exception. Laptops roam; a fifth of all workstations are
//! "Contoso Book 14 G3".
//!
//! The story at `start` (T), for every scenario:
//! - The rollout month is the latest Patch Tuesday (second Tuesday, 18:00 UTC) that
//!   leaves room for the story below before T ([`rollout_patch_tuesday`]). Its patches:
//!   a cumulative update (servicing stack included: cannot be uninstalled), a .NET
//!   rollup, a Microsoft 365 Apps update, an Edge update and a Contoso laptop driver;
//!   last month's cumulative update was deployed by an older, completed deployment.
//! - Two deployments carry this month's patches: workstations (Test, Pilot, Wave 1-3)
//!   and servers (non-production, then production). The audit trail starts empty.
//! - patch-tuesday and zero-day: Test is done, Pilot finished installing three days ago
//!   with a few failures (three error codes) and a few laptops offline, and its soak
//!   ends 20 minutes after T (then its manual gate to Wave 1 awaits two approvers);
//!   non-production servers started 20 minutes before T and reboot group by group in
//!   order. zero-day adds an out-of-band update for an exploited CVE, released at T
//!   (no emergency yet: starting one is the operator's call).
//! - bad-patch: Test's soak ends at T, so Pilot opens at T; the cumulative update fails
//!   with 0x800f0922 on every "Contoso Book 14 G3" (there is none in Test, which is how
//!   it got through) and the failure threshold halts Pilot within about ten minutes.
//!
//! - Every scenario: most hosts took every month's update; a few wave and production
//!   hosts missed one, two or three months (behind the compliance line, past 60 days,
//!   past 12 weeks; `history`: the older cumulative updates and who fell behind).
//!
//! Where each part lives: `patches`, `rings` (the fixed rings, gates and windows),
//! `hosts` (workstations, adding a host), `groups` (server patching groups and their
//! servers), `scenario` (deployments and the start state of each story), `history` (past months).

mod exceptions;
mod groups;
mod history;
mod hosts;
mod patches;
mod rings;
mod scenario;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::{Capabilities, HostCounts, Summary};

use super::engine::Engine;
use super::{Scenario, SimConfig};

/// The hardware model the bad patch breaks.
pub const BAD_MODEL: &str = "Contoso Book 14 G3";
/// The exploited CVE of the zero-day scenario.
pub const ZERO_DAY_CVE_NUMBER: u32 = 41234;
/// Fewest hosts a fleet has.
pub const MIN_HOSTS: usize = 20;
/// Most hosts a fleet has (host ids have six digits and sort as text).
pub const MAX_HOSTS: usize = 999_999;

/// The second Tuesday of a month, at 18:00 UTC (10:00 in Redmond).
pub fn second_tuesday(year: i32, month: u32) -> DateTime<Utc> {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let to_tuesday = (7 + Weekday::Tue.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        % 7;
    let day = first + Duration::days(to_tuesday + 7);
    Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default()))
}

fn previous_month(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

/// This month's Patch Tuesday as seen at `now`: the latest one not after `now`.
pub fn patch_tuesday(now: DateTime<Utc>) -> DateTime<Utc> {
    let this = second_tuesday(now.year(), now.month());
    if now >= this {
        this
    } else {
        let (y, m) = previous_month(now.year(), now.month());
        second_tuesday(y, m)
    }
}

/// The Patch Tuesday whose rollout the scenario shows at `t`: the latest one that leaves
/// room for the story before `t` (Test and Pilot took almost five days; in bad-patch,
/// Test took a day and a half). In the first days after a Patch Tuesday the fleet is
/// therefore still finishing the month before, as real fleets do.
pub fn rollout_patch_tuesday(t: DateTime<Utc>, scenario: Scenario) -> DateTime<Utc> {
    let lead = match scenario {
        Scenario::BadPatch => Duration::hours(32),
        Scenario::PatchTuesday | Scenario::ZeroDay => Duration::hours(4 * 24 + 18),
    };
    patch_tuesday(t - lead)
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::PatchTuesday => "patch-tuesday",
        Scenario::BadPatch => "bad-patch",
        Scenario::ZeroDay => "zero-day",
    }
}

/// Ring ids, in order, of the fixed rings.
const TEST: usize = 0;
const PILOT: usize = 1;
const NONPROD: usize = 5;
const PROD: usize = 6;

struct Builder {
    e: Engine,
    t: DateTime<Utc>,
    site_counters: std::collections::BTreeMap<String, u32>,
}

/// Build the engine in its start state.
pub fn generate(config: &SimConfig) -> Engine {
    // Whole seconds: the engine steps in seconds.
    let t = DateTime::from_timestamp(config.start.timestamp(), 0).unwrap_or(config.start);
    let pt = rollout_patch_tuesday(t, config.scenario);
    let summary = Summary {
        name: "contoso (simulated)".into(),
        scenario: Some(scenario_name(config.scenario).into()),
        now: t,
        clock_speed: 0.0,
        patch_tuesday: pt,
        emergency: None,
        pending_emergency: None,
        counts: HostCounts::default(),
        capabilities: Capabilities {
            rollback: true,
            emergency: true,
            two_person_rule: true,
            verbs: Vec::new(),
        },
        as_of: None,
        version: 1,
    };
    let rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut b = Builder {
        e: Engine::empty(t, rng, config.scenario, summary),
        t,
        site_counters: Default::default(),
    };
    b.patches(pt);
    b.rings();
    b.hosts(config.hosts.clamp(MIN_HOSTS, MAX_HOSTS));
    b.deployments(pt);
    b.start_state();
    b.history(pt, config.seed);
    b.exception_history(config.seed);
    b.finish()
}

impl Builder {
    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.e.rng
    }

    fn finish(mut self) -> Engine {
        // The clock enforces every exception in force.
        for h in 0..self.e.hosts.len() {
            self.e.schedule_expiry(h);
        }
        // Built by pushing: each list holds up to twice its hosts; a million hosts'
        // lists are kept exactly as long as they are.
        self.e.hosts.shrink_to_fit();
        self.e.host_runs.shrink_to_fit();
        self.e.search_keys.shrink_to_fit();
        self.e.histories.shrink_to_fit();
        for history in &mut self.e.histories {
            history.shrink_to_fit();
        }
        self.e
    }
}
