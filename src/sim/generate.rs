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

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::engine::{
    Applies, DeploymentRun, Engine, Fault, GroupRun, HostRun, RebootPhase, RingRun,
};
use super::{Scenario, SimConfig};
use crate::model::{
    Approval, Capabilities, Criticality, Deployment, DeploymentState, Exception, Failure, Gate,
    GateMode, GateState, Host, HostCounts, HostKind, HostState, MaintenanceWindow, Patch,
    PatchKind, PatchingGroup, Ring, RingKind, RingState, Severity, Summary, Tier, Transition,
};

/// The hardware model the bad patch breaks.
pub const BAD_MODEL: &str = "Contoso Book 14 G3";
/// The exploited CVE of the zero-day scenario.
pub const ZERO_DAY_CVE_NUMBER: u32 = 41234;
/// Fewest hosts a fleet has.
pub const MIN_HOSTS: usize = 20;
/// Most hosts a fleet has (host ids have six digits and sort as text).
pub const MAX_HOSTS: usize = 999_999;

const LAPTOPS: [&str; 2] = [BAD_MODEL, "Contoso Book 15 G4"];
const DESKTOPS: [&str; 3] = [
    "Fabrikam Desk 800 G6",
    "Fabrikam Mini 400",
    "Northwind Tower 7",
];
const OPERATORS: [&str; 4] = ["j.okafor", "m.garcia", "a.lindqvist", "s.tanaka"];

struct Wave {
    id: &'static str,
    name: &'static str,
    region: &'static str,
    sites: [&'static str; 2],
    time_zone: &'static str,
    offset: i32,
    share_pct: usize,
}

const WAVES: [Wave; 3] = [
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

struct Service {
    abbr: &'static str,
    name: &'static str,
    owner: &'static str,
    criticality: Criticality,
    tiers: &'static [Tier],
    redundant: bool,
}

const SERVICES: [Service; 6] = [
    Service {
        abbr: "pay",
        name: "Payments",
        owner: "Payments Platform team",
        criticality: Criticality::MissionCritical,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: true,
    },
    Service {
        abbr: "intra",
        name: "Intranet",
        owner: "Digital Workplace",
        criticality: Criticality::Medium,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: false,
    },
    Service {
        abbr: "file",
        name: "File services",
        owner: "Infrastructure",
        criticality: Criticality::Medium,
        tiers: &[Tier::File],
        redundant: true,
    },
    Service {
        abbr: "crm",
        name: "CRM",
        owner: "Sales Engineering",
        criticality: Criticality::High,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: true,
    },
    Service {
        abbr: "hr",
        name: "HR portal",
        owner: "People Systems",
        criticality: Criticality::High,
        tiers: &[Tier::Web, Tier::App, Tier::Db],
        redundant: false,
    },
    Service {
        abbr: "erp",
        name: "ERP",
        owner: "Finance Systems",
        criticality: Criticality::MissionCritical,
        tiers: &[Tier::App, Tier::Db],
        redundant: false,
    },
];

const EXCEPTIONS: [(&str, &str, &str); 3] = [
    (
        "lab-it@contoso.example",
        "Legacy lab instrument software breaks with this month's cumulative update; vendor fix due next quarter",
        "Isolated on the lab VLAN, no internet egress, EDR in block mode",
    ),
    (
        "trading-it@contoso.example",
        "Trading plug-in certified only for last month's build",
        "Application allow-listing; weekly vulnerability scan; no e-mail client",
    ),
    (
        "imaging@contoso.example",
        "Medical imaging viewer validated only on the current build",
        "Kiosk mode, no local admin, network restricted to the PACS servers",
    ),
];

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
        counts: HostCounts::default(),
        capabilities: Capabilities {
            rollback: true,
            emergency: true,
            two_person_rule: true,
        },
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
    b.finish()
}

impl Builder {
    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.e.rng
    }

    fn cves(&mut self, year: i32, count: usize) -> Vec<String> {
        let mut list: Vec<String> = (0..count)
            .map(|_| format!("CVE-{year}-{}", self.e.rng.random_range(20000..60000)))
            .collect();
        list.sort();
        list.dedup();
        list
    }

    fn patches(&mut self, pt: DateTime<Utc>) {
        let month_index = pt.year() * 12 + pt.month0() as i32;
        let kb = |index: i32, n: i32| 5_000_000 + (index.rem_euclid(1000)) * 100 + n;
        let (py, pm) = previous_month(pt.year(), pt.month());
        let prev_pt = second_tuesday(py, pm);
        let label = pt.format("%Y-%m").to_string();
        let prev_label = prev_pt.format("%Y-%m").to_string();
        let year = pt.year();
        let prev_cu = kb(month_index - 1, 1);
        let cu = kb(month_index, 1);
        let cu_cves = {
            let n = self.rng().random_range(4..8);
            self.cves(year, n)
        };
        let prev_cves = {
            let n = self.rng().random_range(4..8);
            self.cves(py, n)
        };
        let net_cves = self.cves(year, 2);
        let office_cves = self.cves(year, 2);
        let edge_cves = self.cves(year, 3);
        let edge_major = 100 + month_index.rem_euclid(60);
        let patch = |id: String,
                     kb: String,
                     title: String,
                     product: &str,
                     kind: PatchKind,
                     severity: Severity,
                     released_at: DateTime<Utc>,
                     cves: Vec<String>,
                     reboot_required: bool,
                     uninstallable: bool,
                     supersedes: Vec<String>| Patch {
            id,
            kb,
            title,
            product: product.into(),
            kind,
            severity,
            released_at,
            cves,
            exploited_cves: Vec::new(),
            reboot_required,
            uninstallable,
            supersedes,
            version: 1,
        };
        let list = vec![
            (
                patch(
                    format!("kb{prev_cu}"),
                    format!("KB{prev_cu}"),
                    format!(
                        "{prev_label} Cumulative Update for Windows (servicing stack included)"
                    ),
                    "Windows",
                    PatchKind::CumulativeUpdate,
                    Severity::Critical,
                    prev_pt,
                    prev_cves,
                    true,
                    false,
                    vec![format!("kb{}", kb(month_index - 2, 1))],
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{cu}"),
                    format!("KB{cu}"),
                    format!("{label} Cumulative Update for Windows (servicing stack included)"),
                    "Windows",
                    PatchKind::CumulativeUpdate,
                    Severity::Critical,
                    pt,
                    cu_cves,
                    true,
                    false,
                    vec![format!("kb{prev_cu}")],
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{}", cu + 1),
                    format!("KB{}", cu + 1),
                    format!("{label} Cumulative Update for .NET Framework 3.5 and 4.8.1"),
                    ".NET Framework",
                    PatchKind::Rollup,
                    Severity::Important,
                    pt,
                    net_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::All,
            ),
            (
                patch(
                    format!("kb{}", cu + 2),
                    format!("KB{}", cu + 2),
                    format!("{label} security update for Microsoft 365 Apps"),
                    "Microsoft 365 Apps",
                    PatchKind::Application,
                    Severity::Important,
                    pt,
                    office_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::Workstations,
            ),
            (
                patch(
                    format!("edge-{edge_major}"),
                    format!("Edge {edge_major}.0.3595.53"),
                    format!("Microsoft Edge {edge_major} stable channel security update"),
                    "Microsoft Edge",
                    PatchKind::Application,
                    Severity::Important,
                    pt - Duration::days(4),
                    edge_cves,
                    false,
                    true,
                    Vec::new(),
                ),
                Applies::Workstations,
            ),
            (
                patch(
                    format!("sp{}", 150_000 + month_index.rem_euclid(10_000)),
                    format!("SP{}", 150_000 + month_index.rem_euclid(10_000)),
                    "Contoso Book graphics driver 32.0.101.6881".into(),
                    "Contoso drivers",
                    PatchKind::Driver,
                    Severity::Moderate,
                    pt - Duration::days(6),
                    Vec::new(),
                    true,
                    true,
                    Vec::new(),
                ),
                Applies::ModelPrefix("Contoso Book".into()),
            ),
        ];
        for (p, applies) in list {
            self.e.patches.push(p);
            self.e.applies.push(applies);
        }
        if self.e.scenario == Scenario::ZeroDay {
            let oob = kb(month_index, 50);
            let cve = format!("CVE-{}-{ZERO_DAY_CVE_NUMBER}", self.t.year());
            self.e.patches.push(Patch {
                id: format!("kb{oob}"),
                kb: format!("KB{oob}"),
                title: format!("Out-of-band security update for Windows ({cve}, exploited)"),
                product: "Windows".into(),
                kind: PatchKind::Hotfix,
                severity: Severity::Critical,
                released_at: self.t,
                cves: vec![cve.clone()],
                exploited_cves: vec![cve],
                reboot_required: true,
                uninstallable: true,
                supersedes: Vec::new(),
                version: 1,
            });
            self.e.applies.push(Applies::All);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ring(
        &mut self,
        id: &str,
        name: &str,
        kind: RingKind,
        site: Option<&str>,
        production: bool,
        gate: (GateMode, u64),
        window: MaintenanceWindow,
    ) {
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
            groups: Vec::new(),
            counts: HostCounts::default(),
            version: 1,
        });
        self.e.ring_runs.push(RingRun::default());
    }

    fn rings(&mut self) {
        const DAY: u64 = 86_400;
        let weekdays = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let ws = RingKind::Workstations;
        self.ring(
            "test",
            "Test",
            ws,
            None,
            false,
            (GateMode::Automatic, DAY),
            MaintenanceWindow::always("UTC", 0),
        );
        self.ring(
            "pilot",
            "Pilot",
            ws,
            Some("all sites"),
            false,
            (GateMode::Manual, 3 * DAY),
            MaintenanceWindow::always("UTC", 0),
        );
        for wave in &WAVES {
            self.ring(
                wave.id,
                wave.name,
                ws,
                Some(wave.region),
                true,
                (GateMode::Manual, DAY),
                MaintenanceWindow {
                    days: weekdays.clone(),
                    start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
                    duration_minutes: 9 * 60,
                    time_zone: wave.time_zone.into(),
                    utc_offset_minutes: wave.offset,
                },
            );
        }
        self.ring(
            "servers-nonprod",
            "Servers: non-production",
            RingKind::Servers,
            None,
            false,
            (GateMode::Manual, 2 * DAY),
            MaintenanceWindow::always("UTC", 0),
        );
        self.ring(
            "servers-prod",
            "Servers: production",
            RingKind::Servers,
            None,
            true,
            (GateMode::Manual, DAY),
            MaintenanceWindow {
                days: Vec::new(),
                start: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or_default(),
                duration_minutes: 6 * 60,
                time_zone: "UTC".into(),
                utc_offset_minutes: 0,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn push_host(
        &mut self,
        ring: usize,
        name: String,
        kind: HostKind,
        site: &str,
        os: &str,
        model: &str,
        group: Option<(usize, String, Tier)>,
        criticality: Criticality,
        exposed: bool,
        roaming: bool,
    ) {
        let h = self.e.hosts.len();
        let group_name = group
            .as_ref()
            .map(|(g, id, _)| {
                let ring = self.e.groups.get(*g).map_or(ring, |run| run.ring);
                let name = self.e.rings[ring]
                    .groups
                    .iter()
                    .find(|group| &group.id == id)
                    .map(|group| group.name.clone())
                    .unwrap_or_default();
                format!("{id} {name}")
            })
            .unwrap_or_default();
        self.e
            .search_keys
            .push(format!("{name} {model} {site} {group_name}").to_lowercase());
        self.e.hosts.push(Host {
            id: format!("h-{:06}", h + 1),
            name,
            ring_id: self.e.rings[ring].id.clone(),
            kind,
            site: site.into(),
            os: os.into(),
            model: model.into(),
            group_id: group.as_ref().map(|(_, id, _)| id.clone()),
            tier: group.as_ref().map(|(_, _, tier)| *tier),
            criticality,
            exposed,
            roaming,
            state: HostState::Pending,
            deployment_id: None,
            failure: None,
            last_seen: self.t,
            deferred_until: None,
            exception: None,
            installed: vec![self.e.patches[0].id.clone()],
            history: Vec::new(),
            updated_at: self.t,
            version: 1,
        });
        self.e.histories.push(Vec::new());
        self.e.host_runs.push(HostRun {
            home: ring,
            group: group.map(|(g, _, _)| g),
            ..HostRun::default()
        });
        self.e.ring_runs[ring].members.push(h as u32);
    }

    fn workstation(&mut self, ring: usize, site: &str) {
        let laptop = self.rng().random_bool(0.5);
        // The Test ring is lab machines: no Contoso Book 14 G3 among them (which is how
        // the bad patch slips through Test).
        let model = if laptop && ring == TEST {
            LAPTOPS[1]
        } else if laptop {
            LAPTOPS[usize::from(!self.rng().random_bool(0.6))]
        } else {
            DESKTOPS[self.rng().random_range(0..DESKTOPS.len())]
        };
        let roaming = laptop && self.rng().random_bool(0.6);
        let os = if self.rng().random_bool(0.7) {
            "Windows 11 Enterprise 24H2"
        } else {
            "Windows 11 Enterprise 23H2"
        };
        let roll: f64 = self.rng().random();
        let criticality = if roll < 0.03 {
            Criticality::High
        } else if roll < 0.2 {
            Criticality::Medium
        } else {
            Criticality::Low
        };
        let counter = self.site_counters.entry(site.to_string()).or_default();
        *counter += 1;
        let name = format!("{site}-{}-{:05}", if laptop { "LT" } else { "WS" }, counter);
        self.push_host(
            ring,
            name,
            HostKind::Workstation,
            site,
            os,
            model,
            None,
            criticality,
            false,
            roaming,
        );
    }

    fn servers(&mut self, ring: usize, count: usize, production: bool) {
        let groups = (count / 12).max(1);
        for g in 0..groups {
            let size = count / groups + usize::from(g < count % groups);
            let service = &SERVICES[g % SERVICES.len()];
            let instance = g / SERVICES.len() + 1;
            let suffix = if instance > 1 {
                instance.to_string()
            } else {
                String::new()
            };
            // A second group of the same service is "payments 2" / "grp-pay-2".
            let (id_suffix, name_suffix) = if instance > 1 {
                (format!("-{instance}"), format!(" {instance}"))
            } else {
                (String::new(), String::new())
            };
            let (id, name, prefix, criticality, redundant) = if production {
                (
                    format!("grp-{}{id_suffix}", service.abbr),
                    format!("{}{name_suffix}", service.name),
                    format!("srv-{}{suffix}", service.abbr),
                    service.criticality,
                    service.redundant,
                )
            } else {
                (
                    format!("grp-{}-stg{id_suffix}", service.abbr),
                    format!("{} (staging){name_suffix}", service.name),
                    format!("stg-{}{suffix}", service.abbr),
                    Criticality::Low,
                    false,
                )
            };
            let tiers = service.tiers;
            let mut per_tier = vec![0usize; tiers.len()];
            match tiers.len() {
                1 => per_tier[0] = size,
                2 => {
                    per_tier[0] = (size * 60 / 100).max(1);
                    per_tier[1] = size - per_tier[0];
                }
                _ => {
                    per_tier[0] = (size * 40 / 100).max(1);
                    per_tier[1] = (size * 35 / 100).max(1);
                    per_tier[2] = size - per_tier[0] - per_tier[1];
                }
            }
            let group_index = self.e.rings[ring].groups.len();
            self.e.rings[ring].groups.push(PatchingGroup {
                id: id.clone(),
                name,
                service: service.name.to_lowercase(),
                owner: service.owner.into(),
                criticality,
                reboot_order: tiers.to_vec(),
                redundant,
            });
            let g_index = self.e.groups.len();
            let datacenter = if g % 2 == 0 { "NYC-DC1" } else { "LON-DC2" };
            let mut members = Vec::new();
            for (t, &tier) in tiers.iter().enumerate() {
                for i in 0..per_tier[t] {
                    let cloud = production && tier == Tier::Web && self.rng().random_bool(0.5);
                    let model = if cloud {
                        "Azure VM D4s v5"
                    } else if !production || tier == Tier::App {
                        if self.rng().random_bool(0.7) {
                            "Hyper-V VM (Gen 2)"
                        } else {
                            "Fabrikam ProLiant DL380 Gen11"
                        }
                    } else if self.rng().random_bool(0.5) {
                        "Fabrikam ProLiant DL380 Gen11"
                    } else {
                        "Contoso PowerEdge R760"
                    };
                    let os = if self.rng().random_bool(0.6) {
                        "Windows Server 2022 Datacenter"
                    } else {
                        "Windows Server 2025 Datacenter"
                    };
                    let site = if cloud {
                        "Azure West Europe"
                    } else {
                        datacenter
                    };
                    members.push(self.e.hosts.len() as u32);
                    self.push_host(
                        ring,
                        format!("{prefix}-{}-{:02}", super::engine::tier_name(tier), i + 1),
                        HostKind::Server,
                        site,
                        os,
                        model,
                        Some((g_index, id.clone(), tier)),
                        criticality,
                        production && tier == Tier::Web,
                        false,
                    );
                }
            }
            self.e.groups.push(GroupRun {
                ring,
                index: group_index,
                members,
                phase: RebootPhase::Idle,
            });
        }
    }

    fn hosts(&mut self, n: usize) {
        let servers = (n * 8 / 100).max(6);
        let nonprod = (servers * 3 / 8).max(3);
        let prod = servers - nonprod;
        let workstations = n - servers;
        let test = (n / 100).max(1);
        let pilot = (n * 5 / 100).max(1);
        let rest = workstations - test - pilot;
        let all_sites: Vec<&str> = WAVES.iter().flat_map(|w| w.sites).collect();
        for _ in 0..test {
            let site = all_sites[self.rng().random_range(0..all_sites.len())];
            self.workstation(TEST, site);
        }
        for _ in 0..pilot {
            let site = all_sites[self.rng().random_range(0..all_sites.len())];
            self.workstation(PILOT, site);
        }
        let mut assigned = 0;
        for (i, wave) in WAVES.iter().enumerate() {
            let count = if i + 1 == WAVES.len() {
                rest - assigned
            } else {
                rest * wave.share_pct / 100
            };
            assigned += count;
            for _ in 0..count {
                let site = wave.sites[usize::from(self.rng().random_bool(0.35))];
                self.workstation(2 + i, site);
            }
        }
        self.servers(NONPROD, nonprod, false);
        self.servers(PROD, prod, true);
    }

    fn deployment(
        &mut self,
        name: String,
        patch_ids: Vec<String>,
        rings: &[usize],
        created_at: DateTime<Utc>,
        created_by: &str,
        state: DeploymentState,
    ) -> usize {
        let d = self.e.deployments.len();
        self.e.deployments.push(Deployment {
            id: format!("dep-{:04}", d + 1),
            name,
            patch_ids,
            rings: rings.iter().map(|&r| self.e.rings[r].id.clone()).collect(),
            current_ring: None,
            next_ring: None,
            state,
            state_reason: None,
            emergency: false,
            approvals: Vec::new(),
            pending_approval: None,
            counts: HostCounts::default(),
            rate_per_hour: 0.0,
            eta: None,
            created_at,
            created_by: created_by.into(),
            version: 1,
        });
        self.e.deployment_runs.push(DeploymentRun::default());
        d
    }

    fn deployments(&mut self, pt: DateTime<Utc>) {
        let (py, pm) = previous_month(pt.year(), pt.month());
        let prev_pt = second_tuesday(py, pm);
        let all: Vec<usize> = (0..self.e.rings.len()).collect();
        let prev = self.deployment(
            format!("{} Patch Tuesday", prev_pt.format("%Y-%m")),
            vec![self.e.patches[0].id.clone()],
            &all,
            prev_pt + Duration::hours(2),
            OPERATORS[1],
            DeploymentState::Completed,
        );
        let total = self.e.hosts.len() as u32;
        let dep = &mut self.e.deployments[prev];
        dep.counts = HostCounts {
            total,
            succeeded: total,
            ..HostCounts::default()
        };
        for (i, ring) in self.e.rings.iter().enumerate() {
            dep.approvals.push(Approval {
                ring_id: ring.id.clone(),
                by: if ring.gate.mode == GateMode::Automatic && i > 0 {
                    "system".into()
                } else {
                    OPERATORS[i % OPERATORS.len()].into()
                },
                at: prev_pt + Duration::hours(2 + 36 * i as i64),
            });
        }
        let month = pt.format("%Y-%m").to_string();
        let ws_patches: Vec<String> = self.e.patches[1..6].iter().map(|p| p.id.clone()).collect();
        let srv_patches: Vec<String> = self.e.patches[1..3].iter().map(|p| p.id.clone()).collect();
        let created = self.timeline().0 - Duration::hours(2);
        self.deployment(
            format!("{month} Patch Tuesday"),
            ws_patches,
            &[TEST, PILOT, 2, 3, 4],
            created,
            OPERATORS[0],
            DeploymentState::Running,
        );
        self.deployment(
            format!("{month} Patch Tuesday: servers"),
            srv_patches,
            &[NONPROD, PROD],
            created,
            OPERATORS[0],
            DeploymentState::AwaitingApproval,
        );
    }

    /// When Test opened and when Pilot's installs finished.
    fn timeline(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.e.scenario {
            // Test soaks until T; Pilot opens at T.
            Scenario::BadPatch => (self.t - Duration::hours(28), self.t + Duration::days(10)),
            // Pilot's three-day soak ends 20 minutes after T.
            Scenario::PatchTuesday | Scenario::ZeroDay => (
                self.t - Duration::hours(4 * 24 + 14),
                self.t - Duration::days(3) + Duration::minutes(20),
            ),
        }
    }

    /// Write a finished lifecycle into a host's history, starting at `at`.
    fn walk(
        &mut self,
        h: usize,
        at: DateTime<Utc>,
        outcome: Option<(&str, &str, String)>,
    ) -> DateTime<Utc> {
        let mut at = at;
        let mut steps = vec![HostState::Downloading, HostState::Installing];
        if outcome.is_none() {
            steps.extend([
                HostState::PendingReboot,
                HostState::Rebooting,
                HostState::Verifying,
                HostState::Succeeded,
            ]);
        }
        for state in steps {
            self.e.histories[h].push(Transition {
                at,
                state,
                note: None,
            });
            let minutes = self.rng().random_range(2..12);
            at += Duration::minutes(minutes);
        }
        if let Some((code, message, patch_id)) = outcome {
            let kb = self
                .e
                .patches
                .iter()
                .find(|p| p.id == patch_id)
                .map(|p| p.kb.clone())
                .unwrap_or_default();
            self.e.histories[h].push(Transition {
                at,
                state: HostState::Failed,
                note: Some(format!("{kb}: {code}")),
            });
            self.e.hosts[h].failure = Some(Failure {
                code: code.into(),
                message: message.into(),
                patch_id: Some(patch_id),
                at,
            });
            self.e.hosts[h].state = HostState::Failed;
        } else {
            self.e.hosts[h].state = HostState::Succeeded;
        }
        self.e.hosts[h].last_seen = at;
        self.e.hosts[h].updated_at = at;
        at
    }

    fn start_state(&mut self) {
        let ws_dep = 1;
        let srv_dep = 2;
        let (test_open, pilot_done) = self.timeline();
        let created = self.e.deployments[ws_dep].created_at;
        // Exceptions: about 0.3% of wave and production hosts, at least one.
        let candidates: Vec<usize> = (0..self.e.hosts.len())
            .filter(|&h| matches!(self.e.host_runs[h].home, 2..=4 | PROD))
            .collect();
        let wanted = (candidates.len() * 3 / 1000).max(1);
        let mut excluded = std::collections::BTreeSet::new();
        while excluded.len() < wanted.min(candidates.len()) {
            let i = self.rng().random_range(0..candidates.len());
            excluded.insert(candidates[i]);
        }
        for (k, &h) in excluded.iter().enumerate() {
            let (owner, reason, control) = EXCEPTIONS[k % EXCEPTIONS.len()];
            let days = self.rng().random_range(20..90);
            self.e.hosts[h].state = HostState::Excluded;
            self.e.hosts[h].exception = Some(Exception {
                owner: owner.into(),
                reason: reason.into(),
                ticket: Some(format!("CHG-{}", 40_000 + 37 * k)),
                expires_at: self.t + Duration::days(days),
                compensating_control: control.into(),
            });
            self.e.histories[h].push(Transition {
                at: created - Duration::days(20),
                state: HostState::Excluded,
                note: Some(format!("exception owned by {owner}")),
            });
        }
        // Every other host is targeted by this month's deployments.
        for h in 0..self.e.hosts.len() {
            if excluded.contains(&h) {
                continue;
            }
            let d = if self.e.hosts[h].kind == HostKind::Server {
                srv_dep
            } else {
                ws_dep
            };
            self.e.host_runs[h].deployment = Some(d);
            self.e.hosts[h].deployment_id = Some(self.e.deployments[d].id.clone());
            let note = format!("targeted by {}", self.e.deployments[d].name);
            self.e.histories[h].push(Transition {
                at: created,
                state: HostState::Pending,
                note: Some(note),
            });
            let seen = self.rng().random_range(0..900);
            self.e.hosts[h].last_seen = self.t - Duration::seconds(seen);
        }
        let ws_patches = self.e.deployments[ws_dep].patch_ids.clone();
        // Test: every host succeeded within three hours of opening.
        let test_members = self.e.ring_runs[TEST].members.clone();
        for &h in &test_members {
            let start = test_open + Duration::minutes(self.rng().random_range(1..60));
            self.walk(h as usize, start, None);
            self.grant(h as usize, &ws_patches);
        }
        let test_done = test_open + Duration::hours(4);
        self.e.rings[TEST].soak_ends_at = Some(test_done + Duration::days(1));
        let ws_name = self.e.deployments[ws_dep].name.clone();
        self.e.deployments[ws_dep].approvals.push(Approval {
            ring_id: "test".into(),
            by: OPERATORS[0].into(),
            at: test_open,
        });
        if self.e.scenario == Scenario::BadPatch {
            // Test soaks until T; the automatic gate opens Pilot at T.
            self.e.rings[TEST].soak_ends_at = Some(self.t);
            self.e.rings[TEST].state = RingState::Soaking;
            self.e.rings[TEST].gate.state = GateState::Soaking;
            self.e.deployments[ws_dep].current_ring = Some("test".into());
            let cu = self.e.patches[1].id.clone();
            self.e.faults.push(Fault {
                deployment: ws_dep,
                model: BAD_MODEL.into(),
                patch_id: cu,
                code: "0x800f0922",
                message: "CBS_E_INSTALLERS_FAILED: the update could not be installed because the system reserved partition is full",
            });
        } else {
            self.e.rings[TEST].state = RingState::Done;
            self.e.rings[TEST].gate.state = GateState::Passed;
            let pilot_open = test_done + Duration::days(1);
            self.e.deployments[ws_dep].approvals.push(Approval {
                ring_id: "pilot".into(),
                by: "system".into(),
                at: pilot_open,
            });
            self.pilot_finished(pilot_open, pilot_done, &ws_patches);
            self.e.deployments[ws_dep].current_ring = Some("pilot".into());
            self.e.ring_runs[PILOT].deployment = Some(ws_dep);
        }
        self.e.ring_runs[TEST].deployment = Some(ws_dep);
        let _ = ws_name;
        // Servers: the non-production ring is approved 20 minutes before T.
        self.e.deployments[srv_dep].next_ring = Some("servers-nonprod".into());
        self.count();
        self.e.now = self.t - Duration::minutes(20);
        // Opened by an approver before this server's life: in the deployment's
        // approvals, not in the audit trail (which starts empty).
        self.e.open_ring(srv_dep, NONPROD, OPERATORS[2]);
        while self.e.now < self.t {
            self.e.step();
        }
        self.e.flush();
        self.e.discard_changes();
        // The start state is version 1 everywhere; what happened before is history.
        for host in &mut self.e.hosts {
            host.version = 1;
        }
        for ring in &mut self.e.rings {
            ring.version = 1;
        }
        for dep in &mut self.e.deployments {
            dep.version = 1;
        }
        for action in &mut self.e.actions {
            action.version = 1;
        }
        self.e.summary.version = 1;
    }

    fn grant(&mut self, h: usize, patch_ids: &[String]) {
        let host = &self.e.hosts[h];
        let granted: Vec<String> = patch_ids
            .iter()
            .filter(|id| {
                let Some(p) = self.e.patches.iter().position(|p| &p.id == *id) else {
                    return false;
                };
                match &self.e.applies[p] {
                    Applies::All => true,
                    Applies::Workstations => host.kind == HostKind::Workstation,
                    Applies::ModelPrefix(prefix) => host.model.starts_with(prefix.as_str()),
                }
            })
            .cloned()
            .collect();
        self.e.hosts[h].installed.extend(granted);
    }

    /// Pilot finished installing at `done`: most hosts succeeded, a few failed with two
    /// or three codes, a few roaming laptops were offline; its soak runs.
    fn pilot_finished(&mut self, open: DateTime<Utc>, done: DateTime<Utc>, patches: &[String]) {
        let members: Vec<usize> = self.e.ring_runs[PILOT]
            .members
            .iter()
            .map(|&h| h as usize)
            .collect();
        let size = members.len();
        let offline_budget = if size >= 40 { size * 15 / 1000 + 1 } else { 0 };
        let reachable = size - offline_budget;
        let failures = if size >= 10 {
            (size * 3 / 100).max(2).min(reachable * 4 / 100)
        } else {
            0
        };
        let codes = &super::engine::FAILURE_CODES[..3];
        let cu = self.e.patches[1].id.clone();
        let span = (done - open).num_minutes().max(60);
        let mut offline = 0;
        let mut failed = 0;
        for (k, &h) in members.iter().enumerate() {
            let start = open + Duration::minutes(self.rng().random_range(0..span - 50));
            if offline < offline_budget && self.e.hosts[h].roaming {
                offline += 1;
                let away = self.rng().random_range(1..4);
                self.e.hosts[h].state = HostState::Offline;
                self.e.hosts[h].last_seen = open - Duration::days(away);
                self.e.histories[h].push(Transition {
                    at: start,
                    state: HostState::Offline,
                    note: Some("not reachable".into()),
                });
                let back = self.rng().random_range(3600..2 * 86_400);
                self.e.arm_at(h, self.t + Duration::seconds(back));
                continue;
            }
            // Spread the failures over the ring, by the first three codes.
            if failed < failures && k % (size / failures.max(1)).max(1) == 0 {
                let (code, message, _) = codes[failed % codes.len()];
                failed += 1;
                self.walk(h, start, Some((code, message, cu.clone())));
                // Patches before the cumulative update were installed.
                let before: Vec<String> = patches.iter().filter(|id| **id != cu).cloned().collect();
                self.grant(h, &before);
                continue;
            }
            self.walk(h, start, None);
            self.grant(h, patches);
        }
        let ring = &mut self.e.rings[PILOT];
        ring.state = RingState::Soaking;
        ring.gate.state = GateState::Soaking;
        ring.soak_ends_at = Some(done + Duration::days(3));
    }

    /// Compute every count from the hosts once.
    fn count(&mut self) {
        let e = &mut self.e;
        for ring in &mut e.rings {
            ring.counts = HostCounts::default();
        }
        for d in 1..e.deployments.len() {
            e.deployments[d].counts = HostCounts::default();
        }
        e.summary.counts = HostCounts::default();
        for (h, host) in e.hosts.iter().enumerate() {
            let run = &e.host_runs[h];
            e.rings[run.home].counts.add(host.state);
            if let Some(d) = run.deployment {
                e.deployments[d].counts.add(host.state);
            }
            e.summary.counts.add(host.state);
        }
    }

    fn finish(self) -> Engine {
        self.e
    }
}
