//! The engine: the whole simulated fleet as plain data, advanced in fixed steps of fleet
//! time. Pure: no I/O, no real clock, no async; all randomness comes from one seeded
//! ChaCha generator, and every collection that is iterated is ordered (Vec, BTreeSet),
//! so the same seed, start and sequence of calls always produce the same history.
//!
//! How the fleet behaves (the rules an operator learns from):
//! - A host belongs to one deployment at a time. When a deployment opens a ring, its
//!   pending hosts there are queued and started in id order (servers: by patching group
//!   and tier), at most `ring_cap` in flight per ring, only while the ring's maintenance
//!   window is open. Emergency deployments ignore maintenance windows and user deferrals.
//! - Workstation lifecycle: pending -> downloading -> installing -> pending-reboot
//!   (until the user restarts) -> rebooting -> verifying -> succeeded. Roaming laptops
//!   may be offline when their turn comes (they install when they come back); users may
//!   defer until a deadline; installs may fail with a Windows error code.
//! - Servers install together within their patching group, then reboot in the group's
//!   reboot order: every web host goes down before any app host, app before db; they
//!   come back db first, then app, then web. In a redundant group the hosts of a tier go
//!   down one at a time and come back one at a time.
//! - Gates: when a ring has nothing pending, in flight or deferred, it soaks for the
//!   gate's minimum soak time; then, if enough of its reachable hosts (offline ones do
//!   not count) succeeded, an automatic gate opens the next ring and a manual gate waits
//!   for approval. Production rings need two different approvers.
//! - Failure threshold: while a ring deploys, once enough hosts failed to mean something
//!   (2% of the ring, at least [`MIN_FAILURES_TO_HALT`], at most 25) and failures exceed
//!   the gate's share of the installs that are over (failed, or installed and waiting
//!   for or past the reboot), the system halts the ring and the deployment.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::backend::{ActError, ActionRequest, HostPage, HostQuery};
use crate::model::{
    Action, ActionState, Approval, Change, Criticality, Deployment, DeploymentState, Emergency,
    Exception, Failure, Gate, GateMode, GateState, Host, HostCounts, HostKind, HostState,
    MaintenanceWindow, Patch, PendingApproval, Ring, RingKind, RingState, Summary, Target,
    TargetKind, Tier, Transition, Verb,
};

use super::Scenario;

/// Fleet seconds per engine step.
pub const STEP_SECS: i64 = 10;
/// The failure threshold is judged only once this many hosts of the ring failed.
pub const MIN_FAILURES_TO_HALT: u32 = 5;
/// The identity of automatic actions.
pub const SYSTEM: &str = crate::model::SYSTEM;
/// Default and largest page of hosts.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// Which hosts a patch applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Applies {
    All,
    Workstations,
    /// Hardware models whose name starts with this.
    ModelPrefix(String),
}

/// A failure injected by the scenario: `patch_id` fails with `code` on `model`
/// whenever `deployment` installs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub deployment: usize,
    pub model: String,
    pub patch_id: String,
    pub code: &'static str,
    pub message: &'static str,
}

/// Per-host engine state that is not part of the served `Host`.
#[derive(Debug, Clone, Default)]
pub struct HostRun {
    /// Home ring index.
    pub home: usize,
    /// Emergency stage ring this host is also counted in.
    pub stage: Option<usize>,
    /// The emergency is done with this host: its stage ring keeps the final state as
    /// its report and no longer follows the host.
    pub stage_done: bool,
    /// The deployment an emergency took this host from, and the host's state in it
    /// then; the host goes back to it once the emergency patch is installed.
    pub away_from: Option<(usize, HostState)>,
    pub deployment: Option<usize>,
    pub group: Option<usize>,
    /// Fleet second of this host's pending timer.
    pub due: Option<i64>,
    /// Servers: when a rebooting host may come back up.
    pub reboot_ready: i64,
    /// An emergency deployment takes this host over once its current work finishes.
    pub adopt: Option<usize>,
    /// Rollback action uninstalling this host.
    pub uninstall: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct RingRun {
    /// Hosts counted in this ring (home members, or emergency stage members), in order.
    pub members: Vec<u32>,
    /// Hosts waiting to start, in order.
    pub queue: VecDeque<u32>,
    /// Deployment now using this ring.
    pub deployment: Option<usize>,
    pub paused_from: Option<RingState>,
    /// Part of `counts` that no live host follows (emergency stages' finished hosts).
    pub away: HostCounts,
    /// Members an emergency borrowed from this ring's deployment: their states now...
    pub lent: HostCounts,
    /// ...and the states they were in when taken (what the ring's own gate judges).
    pub lent_before: HostCounts,
}

#[derive(Debug, Clone, Default)]
pub struct DeploymentRun {
    pub paused_from: Option<DeploymentState>,
    /// Action of the first half of a two-person approval.
    pub first_approval: Option<usize>,
    /// Fleet seconds at which hosts finished (succeeded or failed) in the last hour.
    pub finished: VecDeque<i64>,
    /// Part of `counts` that no live host follows: hosts an emergency took away (kept
    /// in their state then) or that an emergency finished and gave back (its report).
    pub away: HostCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootPhase {
    Idle,
    /// Taking down the tier at this index of the reboot order.
    Down(usize),
    /// Bringing back the tier at this index (walking the order backwards).
    Up(usize),
}

#[derive(Debug, Clone)]
pub struct GroupRun {
    pub ring: usize,
    /// Index into `rings[ring].groups`.
    pub index: usize,
    pub members: Vec<u32>,
    pub phase: RebootPhase,
}

#[derive(Debug, Clone, Default)]
pub struct ActionRun {
    /// Hosts that need a restore because a patch cannot be uninstalled.
    pub restore: u32,
    /// Deployment rolled back as a whole (becomes rolled-back when done).
    pub deployment: Option<usize>,
    /// Patches to uninstall (a deployment's); otherwise those of each host's deployment.
    pub patches: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct Dirty {
    summary: bool,
    rings: BTreeSet<usize>,
    deployments: BTreeSet<usize>,
    hosts: BTreeSet<u32>,
    actions: BTreeSet<usize>,
    patches: BTreeSet<usize>,
}

/// The simulated fleet.
pub struct Engine {
    pub now: DateTime<Utc>,
    pub rng: ChaCha8Rng,
    pub scenario: Scenario,
    pub summary: Summary,
    pub patches: Vec<Patch>,
    pub applies: Vec<Applies>,
    pub rings: Vec<Ring>,
    pub ring_runs: Vec<RingRun>,
    pub deployments: Vec<Deployment>,
    pub deployment_runs: Vec<DeploymentRun>,
    /// Hosts in id order; `history` is kept apart in `histories`.
    pub hosts: Vec<Host>,
    pub host_runs: Vec<HostRun>,
    pub histories: Vec<Vec<Transition>>,
    /// Lower-cased name, model, site and group, for text search.
    pub search_keys: Vec<String>,
    pub groups: Vec<GroupRun>,
    pub actions: Vec<Action>,
    pub action_runs: Vec<ActionRun>,
    pub faults: Vec<Fault>,
    timers: BTreeSet<(i64, u32)>,
    active_groups: BTreeSet<usize>,
    dirty: Dirty,
}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn at_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(secs(t) - secs(t).rem_euclid(60), 0).unwrap_or(t)
}

/// Random install failures: code, message, weight. Grouping by code shows the pattern.
pub const FAILURE_CODES: [(&str, &str, u32); 5] = [
    (
        "0x800f0922",
        "CBS_E_INSTALLERS_FAILED: the update could not be installed because the system reserved partition is full",
        40,
    ),
    (
        "0x80070005",
        "E_ACCESSDENIED: access is denied (endpoint protection blocked the servicing stack)",
        30,
    ),
    (
        "0x8024402c",
        "WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the proxy or server name could not be resolved",
        20,
    ),
    (
        "0x80240022",
        "WU_E_ALL_UPDATES_FAILED: the operation failed for all the updates",
        6,
    ),
    (
        "0x80073712",
        "ERROR_SXS_COMPONENT_STORE_CORRUPT: the component store is corrupt; repair it with DISM /RestoreHealth",
        4,
    ),
];

/// A host that does not report healthy after its reboot.
const VERIFY_FAILURE: (&str, &str) = (
    "0x800705b4",
    "ERROR_TIMEOUT: the host did not report healthy within 15 minutes of its reboot",
);

impl Engine {
    /// An empty engine; `generate` fills it.
    pub fn empty(
        now: DateTime<Utc>,
        rng: ChaCha8Rng,
        scenario: Scenario,
        summary: Summary,
    ) -> Self {
        Engine {
            now,
            rng,
            scenario,
            summary,
            patches: Vec::new(),
            applies: Vec::new(),
            rings: Vec::new(),
            ring_runs: Vec::new(),
            deployments: Vec::new(),
            deployment_runs: Vec::new(),
            hosts: Vec::new(),
            host_runs: Vec::new(),
            histories: Vec::new(),
            search_keys: Vec::new(),
            groups: Vec::new(),
            actions: Vec::new(),
            action_runs: Vec::new(),
            faults: Vec::new(),
            timers: BTreeSet::new(),
            active_groups: BTreeSet::new(),
            dirty: Dirty::default(),
        }
    }

    // -----------------------------------------------------------------------------
    // Reading
    // -----------------------------------------------------------------------------

    pub fn summary(&self) -> Summary {
        let mut summary = self.summary.clone();
        summary.now = self.now;
        summary
    }

    pub fn ring_index(&self, id: &str) -> Option<usize> {
        self.rings.iter().position(|r| r.id == id)
    }

    pub fn deployment_index(&self, id: &str) -> Option<usize> {
        self.deployments.iter().position(|d| d.id == id)
    }

    pub fn host_index(&self, id: &str) -> Option<usize> {
        let i = self.hosts.partition_point(|h| h.id.as_str() < id);
        (i < self.hosts.len() && self.hosts[i].id == id).then_some(i)
    }

    /// One host with its history.
    pub fn host(&self, id: &str) -> Option<Host> {
        let i = self.host_index(id)?;
        let mut host = self.hosts[i].clone();
        host.history = self.histories[i].clone();
        Some(host)
    }

    /// A filtered page of hosts, in id order after `query.after`.
    pub fn query(&self, query: &HostQuery) -> (Vec<Host>, bool) {
        let limit = if query.limit == 0 {
            DEFAULT_PAGE
        } else {
            query.limit.min(MAX_PAGE)
        };
        let start = match &query.after {
            Some(after) => self
                .hosts
                .partition_point(|h| h.id.as_str() <= after.as_str()),
            None => 0,
        };
        let ring = query.ring.as_deref().map(|id| self.ring_index(id));
        let text = query.text.as_deref().map(str::to_lowercase);
        let mut items = Vec::new();
        for i in start..self.hosts.len() {
            let host = &self.hosts[i];
            if let Some(ring) = ring {
                let run = &self.host_runs[i];
                match ring {
                    Some(r) if run.home == r || run.stage == Some(r) => {}
                    _ => continue,
                }
            }
            if query.state.is_some_and(|s| s != host.state) {
                continue;
            }
            if let Some(code) = &query.error
                && host
                    .failure
                    .as_ref()
                    .is_none_or(|f| !f.code.eq_ignore_ascii_case(code))
            {
                continue;
            }
            if let Some(text) = &text
                && !self.search_keys[i].contains(text.as_str())
            {
                continue;
            }
            if items.len() == limit {
                return (items, true);
            }
            items.push(host.clone());
        }
        (items, false)
    }

    pub fn page(&self, query: &HostQuery, sequence: u64) -> HostPage {
        let (items, more) = self.query(query);
        HostPage {
            items,
            more,
            sequence,
        }
    }

    // -----------------------------------------------------------------------------
    // Host state, counts and timers
    // -----------------------------------------------------------------------------

    /// Move a host to `state`, keeping every count in step and recording history.
    pub fn set_state(&mut self, h: usize, state: HostState, note: Option<String>) {
        let old = self.hosts[h].state;
        if old != state {
            let run = &self.host_runs[h];
            let stage = run.stage.filter(|_| !run.stage_done);
            for r in std::iter::once(run.home).chain(stage) {
                self.rings[r].counts.remove(old);
                self.rings[r].counts.add(state);
                self.dirty.rings.insert(r);
            }
            if let Some(d) = run.deployment {
                self.deployments[d].counts.remove(old);
                self.deployments[d].counts.add(state);
                self.dirty.deployments.insert(d);
            }
            if run.away_from.is_some() {
                let lent = &mut self.ring_runs[run.home].lent;
                lent.remove(old);
                lent.add(state);
            }
            self.summary.counts.remove(old);
            self.summary.counts.add(state);
            self.dirty.summary = true;
            self.hosts[h].state = state;
        }
        self.histories[h].push(Transition {
            at: self.now,
            state,
            note,
        });
        self.dirty.hosts.insert(h as u32);
    }

    /// Hand a host to another deployment (or none), moving it between deployment counts.
    fn set_deployment(&mut self, h: usize, deployment: Option<usize>) {
        let state = self.hosts[h].state;
        if let Some(old) = self.host_runs[h].deployment {
            self.deployments[old].counts.remove(state);
            self.dirty.deployments.insert(old);
        }
        if let Some(new) = deployment {
            self.deployments[new].counts.add(state);
            self.dirty.deployments.insert(new);
        }
        self.host_runs[h].deployment = deployment;
        self.hosts[h].deployment_id = deployment.map(|d| self.deployments[d].id.clone());
        self.dirty.hosts.insert(h as u32);
    }

    fn arm(&mut self, h: usize, at: i64) {
        self.disarm(h);
        self.host_runs[h].due = Some(at);
        self.timers.insert((at, h as u32));
    }

    fn arm_in(&mut self, h: usize, low: i64, high: i64) {
        let delay = self.rng.random_range(low..=high);
        self.arm(h, secs(self.now) + delay);
    }

    fn disarm(&mut self, h: usize) {
        if let Some(at) = self.host_runs[h].due.take() {
            self.timers.remove(&(at, h as u32));
        }
    }

    /// The ring whose queue a host waits in.
    fn queue_ring(&self, h: usize) -> usize {
        let run = &self.host_runs[h];
        match (run.stage, run.deployment) {
            (Some(stage), Some(d)) if self.deployments[d].emergency => stage,
            _ => run.home,
        }
    }

    fn enqueue_front(&mut self, h: usize) {
        let r = self.queue_ring(h);
        self.ring_runs[r].queue.push_front(h as u32);
    }

    /// Patches of a deployment that apply to a host, in install order (the cumulative
    /// update last: it carries the reboot).
    fn patches_for(&self, d: usize, h: usize) -> Vec<usize> {
        let host = &self.hosts[h];
        let mut list: Vec<usize> = self.deployments[d]
            .patch_ids
            .iter()
            .filter_map(|id| self.patches.iter().position(|p| &p.id == id))
            .filter(|&p| match &self.applies[p] {
                Applies::All => true,
                Applies::Workstations => host.kind == HostKind::Workstation,
                Applies::ModelPrefix(prefix) => host.model.starts_with(prefix.as_str()),
            })
            .collect();
        list.sort_by_key(|&p| {
            (
                self.patches[p].kind == crate::model::PatchKind::CumulativeUpdate,
                p,
            )
        });
        list
    }

    fn in_window(&self, r: usize, d: Option<usize>) -> bool {
        d.is_some_and(|d| self.deployments[d].emergency) || self.rings[r].window.is_open(self.now)
    }

    // -----------------------------------------------------------------------------
    // The step
    // -----------------------------------------------------------------------------

    /// Advance the clock by one step and let the fleet move.
    pub fn step(&mut self) {
        self.now += Duration::seconds(STEP_SECS);
        let now = secs(self.now);
        while let Some(&(at, h)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.host_runs[h as usize].due = None;
            self.on_timer(h as usize);
        }
        let groups: Vec<usize> = self.active_groups.iter().copied().collect();
        for g in groups {
            self.coordinate_group(g);
        }
        for r in 0..self.rings.len() {
            self.start_installs(r);
        }
        for d in 0..self.deployments.len() {
            if self.deployments[d].state == DeploymentState::Running {
                self.evaluate_gate(d);
            }
        }
        // Once a minute, rates and ETAs of deployments under way catch up.
        if now % 60 < STEP_SECS {
            for d in 0..self.deployments.len() {
                if self.deployments[d].state.is_active() && self.update_rate(d) {
                    self.dirty.deployments.insert(d);
                }
            }
        }
    }

    fn on_timer(&mut self, h: usize) {
        if let Some(action) = self.host_runs[h].uninstall {
            self.finish_uninstall(h, action);
            return;
        }
        let server = self.hosts[h].kind == HostKind::Server;
        match self.hosts[h].state {
            HostState::Offline => {
                self.hosts[h].last_seen = self.now;
                self.set_state(h, HostState::Pending, Some("back online".into()));
                self.enqueue_front(h);
            }
            HostState::Deferred => {
                self.hosts[h].deferred_until = None;
                let r = self.queue_ring(h);
                let d = self.host_runs[h].deployment;
                if d == self.ring_runs[r].deployment && self.may_start(r) {
                    self.set_state(
                        h,
                        HostState::Downloading,
                        Some("deferral deadline reached".into()),
                    );
                    self.arm_in(h, 60, 240);
                } else {
                    // Paused, halted or out of its window: it waits its turn again.
                    self.set_state(
                        h,
                        HostState::Pending,
                        Some("deferral deadline reached; waiting for the ring".into()),
                    );
                    self.enqueue_front(h);
                }
            }
            HostState::Downloading => {
                self.set_state(h, HostState::Installing, None);
                self.arm_in(h, 180, 600);
            }
            HostState::Installing => self.finish_install(h),
            HostState::PendingReboot if !server => {
                let r = self.queue_ring(h);
                let d = self.host_runs[h].deployment;
                if self.in_window(r, d) {
                    self.set_state(h, HostState::Rebooting, Some("user restarted".into()));
                    self.arm_in(h, 90, 300);
                } else if let crate::model::WindowStatus::Closed { opens_at } =
                    self.rings[r].window.status(self.now)
                {
                    let jitter = self.rng.random_range(0..1800);
                    self.arm(h, secs(opens_at) + jitter);
                }
            }
            HostState::Rebooting if !server => {
                self.set_state(h, HostState::Verifying, Some("back up after reboot".into()));
                self.arm_in(h, 60, 180);
            }
            HostState::Verifying => self.finish_verify(h),
            _ => {}
        }
    }

    fn finish_install(&mut self, h: usize) {
        let Some(d) = self.host_runs[h].deployment else {
            return;
        };
        let patches = self.patches_for(d, h);
        let dep_id = self.deployments[d].id.clone();
        let fault = self
            .faults
            .iter()
            .find(|f| self.deployments[f.deployment].id == dep_id && f.model == self.hosts[h].model)
            .and_then(|f| {
                let p = self.patches.iter().position(|p| p.id == f.patch_id)?;
                patches.contains(&p).then_some((p, f.code, f.message))
            });
        let fail_pct = if self.hosts[h].kind == HostKind::Server {
            1.0
        } else {
            2.0
        };
        let failure = match fault {
            Some(f) => Some(f),
            None if self.rng.random_bool(fail_pct / 100.0) && !patches.is_empty() => {
                let cu = *patches.last().unwrap_or(&patches[0]);
                let p = if self.rng.random_bool(0.8) {
                    cu
                } else {
                    patches[self.rng.random_range(0..patches.len())]
                };
                let total: u32 = FAILURE_CODES.iter().map(|c| c.2).sum();
                let mut pick = self.rng.random_range(0..total);
                let mut chosen = FAILURE_CODES[0];
                for code in FAILURE_CODES {
                    if pick < code.2 {
                        chosen = code;
                        break;
                    }
                    pick -= code.2;
                }
                Some((p, chosen.0, chosen.1))
            }
            None => None,
        };
        if let Some((p, code, message)) = failure {
            // Patches before the failing one were installed and committed.
            let before: Vec<String> = patches
                .iter()
                .take_while(|&&q| q != p)
                .map(|&q| self.patches[q].id.clone())
                .collect();
            self.install(h, before);
            self.fail(h, p, code, message);
            return;
        }
        let reboot = patches.iter().any(|&p| self.patches[p].reboot_required);
        if reboot {
            self.set_state(h, HostState::PendingReboot, None);
            if self.hosts[h].kind == HostKind::Server {
                if let Some(g) = self.host_runs[h].group {
                    self.active_groups.insert(g);
                }
            } else {
                // The user restarts, or the deadline restarts for them.
                self.arm_in(h, 300, 3600);
            }
        } else {
            self.set_state(h, HostState::Verifying, None);
            self.arm_in(h, 60, 180);
        }
    }

    fn install(&mut self, h: usize, patch_ids: Vec<String>) {
        for id in patch_ids {
            if !self.hosts[h].installed.contains(&id) {
                self.hosts[h].installed.push(id);
            }
        }
    }

    fn fail(&mut self, h: usize, p: usize, code: &str, message: &str) {
        let kb = self.patches[p].kb.clone();
        self.hosts[h].failure = Some(Failure {
            code: code.to_string(),
            message: message.to_string(),
            patch_id: Some(self.patches[p].id.clone()),
            at: self.now,
        });
        self.set_state(h, HostState::Failed, Some(format!("{kb}: {code}")));
        self.finished(h);
    }

    fn finish_verify(&mut self, h: usize) {
        let Some(d) = self.host_runs[h].deployment else {
            return;
        };
        let patches = self.patches_for(d, h);
        if self.rng.random_bool(0.003) && !patches.is_empty() {
            let p = patches[patches.len() - 1];
            self.fail(h, p, VERIFY_FAILURE.0, VERIFY_FAILURE.1);
            return;
        }
        let ids: Vec<String> = patches
            .iter()
            .map(|&p| self.patches[p].id.clone())
            .collect();
        self.install(h, ids);
        self.hosts[h].last_seen = self.now;
        self.set_state(h, HostState::Succeeded, Some("verified installed".into()));
        self.finished(h);
    }

    /// A host reached a final state: count it for the rate, and hand it over if an
    /// emergency is waiting for it.
    fn finished(&mut self, h: usize) {
        if let Some(d) = self.host_runs[h].deployment {
            let now = secs(self.now);
            let run = &mut self.deployment_runs[d];
            run.finished.push_back(now);
            while run.finished.front().is_some_and(|&t| t <= now - 3600) {
                run.finished.pop_front();
            }
        }
        if let Some(e) = self.host_runs[h].adopt.take() {
            self.adopt(h, e);
        } else if self.hosts[h].state == HostState::Succeeded {
            self.return_home(h);
        }
    }

    /// An emergency deployment takes a host over: it becomes pending for the emergency.
    /// The deployment it came from keeps counting it as it was, and gets it back once
    /// the emergency patch is installed.
    fn adopt(&mut self, h: usize, e: usize) {
        let state = self.hosts[h].state;
        match self.host_runs[h].deployment {
            Some(old) if !self.deployments[old].emergency && old != e => {
                self.host_runs[h].away_from = Some((old, state));
                self.deployment_runs[old].away.add(state);
                self.host_runs[h].deployment = None;
                let home = &mut self.ring_runs[self.host_runs[h].home];
                home.lent.add(state);
                home.lent_before.add(state);
            }
            _ => self.set_deployment(h, None),
        }
        self.set_deployment(h, Some(e));
        self.hosts[h].failure = None;
        self.hosts[h].deferred_until = None;
        if self.hosts[h].state == HostState::Offline {
            return;
        }
        self.disarm(h);
        let note = format!("taken over by {}", self.deployments[e].name);
        self.set_state(h, HostState::Pending, Some(note));
        self.enqueue_front(h);
    }

    /// The emergency installed its patch on a host: the emergency's deployment and stage
    /// keep its final state as their report, and the host goes back to the deployment it
    /// was taken from (succeeded there if it had succeeded, else pending again).
    fn return_home(&mut self, h: usize) {
        let Some(e) = self.host_runs[h].deployment else {
            return;
        };
        if !self.deployments[e].emergency {
            return;
        }
        let state = self.hosts[h].state;
        self.deployment_runs[e].away.add(state);
        if let Some(stage) = self.host_runs[h].stage
            && !self.host_runs[h].stage_done
        {
            self.ring_runs[stage].away.add(state);
            self.host_runs[h].stage_done = true;
        }
        let Some((d, before)) = self.host_runs[h].away_from.take() else {
            // Nowhere to go back to: the host stays with the emergency.
            self.deployment_runs[e].away.remove(state);
            return;
        };
        self.deployment_runs[d].away.remove(before);
        let home = &mut self.ring_runs[self.host_runs[h].home];
        home.lent.remove(state);
        home.lent_before.remove(before);
        let restored = if before == HostState::Succeeded {
            HostState::Succeeded
        } else {
            HostState::Pending
        };
        if restored != before {
            self.deployments[d].counts.remove(before);
            self.deployments[d].counts.add(restored);
            self.dirty.deployments.insert(d);
        }
        // Neither deployment's counts follow the host during the move.
        self.host_runs[h].deployment = None;
        let note = format!("back to {}", self.deployments[d].name);
        self.set_state(h, restored, Some(note));
        self.host_runs[h].deployment = Some(d);
        self.hosts[h].deployment_id = Some(self.deployments[d].id.clone());
        if restored == HostState::Pending {
            self.enqueue_front(h);
        }
    }

    /// Largest number of hosts of a ring in flight at once (emergencies go faster).
    fn ring_cap(&self, r: usize) -> u32 {
        let members = self.ring_runs[r].members.len() as u32;
        let emergency = self.ring_runs[r]
            .deployment
            .is_some_and(|d| self.deployments[d].emergency);
        if emergency {
            (members / 5).clamp(50, 500)
        } else {
            (members / 10).clamp(25, 500)
        }
    }

    /// May ring `r` start installs now: open for its deployment (deploying, or soaking
    /// and done for hosts that come late), neither paused nor halted, in its window.
    fn may_start(&self, r: usize) -> bool {
        let Some(d) = self.ring_runs[r].deployment else {
            return false;
        };
        matches!(
            self.rings[r].state,
            RingState::Deploying | RingState::Soaking | RingState::Done
        ) && matches!(
            self.deployments[d].state,
            DeploymentState::Running
                | DeploymentState::AwaitingApproval
                | DeploymentState::Completed
        ) && self.in_window(r, Some(d))
    }

    fn start_installs(&mut self, r: usize) {
        if self.ring_runs[r].queue.is_empty() || !self.may_start(r) {
            return;
        }
        let Some(d) = self.ring_runs[r].deployment else {
            return;
        };
        let cap = self.ring_cap(r);
        while self.rings[r].counts.in_flight() < cap {
            let Some(h) = self.ring_runs[r].queue.pop_front() else {
                break;
            };
            let h = h as usize;
            if self.hosts[h].state != HostState::Pending
                || self.host_runs[h].deployment != Some(d)
                || self.host_runs[h].uninstall.is_some()
            {
                continue;
            }
            self.begin(h, d);
            // A server patching group starts together, so it can reboot in order.
            if let Some(g) = self.host_runs[h].group {
                for m in self.groups[g].members.clone() {
                    let m = m as usize;
                    if m != h
                        && self.hosts[m].state == HostState::Pending
                        && self.host_runs[m].deployment == Some(d)
                        && self.host_runs[m].uninstall.is_none()
                    {
                        self.begin(m, d);
                    }
                }
            }
        }
    }

    fn begin(&mut self, h: usize, d: usize) {
        let emergency = self.deployments[d].emergency;
        let host = &self.hosts[h];
        let workstation = host.kind == HostKind::Workstation;
        if host.roaming && self.rng.random_bool(0.08) {
            let away = self.rng.random_range(2 * 3600..5 * 86400);
            self.hosts[h].last_seen = self.now - Duration::seconds(away);
            self.set_state(h, HostState::Offline, Some("not reachable".into()));
            self.arm_in(h, 1800, 36 * 3600);
            return;
        }
        if workstation && !emergency && self.rng.random_bool(0.05) {
            let until = self.rng.random_range(2 * 3600..24 * 3600);
            let deadline = self.now + Duration::seconds(until);
            self.hosts[h].deferred_until = Some(deadline);
            self.set_state(
                h,
                HostState::Deferred,
                Some(format!(
                    "user deferred until {}",
                    deadline.format("%Y-%m-%d %H:%M UTC")
                )),
            );
            self.arm(h, secs(deadline));
            return;
        }
        self.hosts[h].last_seen = self.now;
        self.set_state(h, HostState::Downloading, None);
        self.arm_in(h, 60, 240);
        if let Some(g) = self.host_runs[h].group {
            self.active_groups.insert(g);
        }
    }

    /// Reboot orchestration of one server patching group (see the module doc).
    fn coordinate_group(&mut self, g: usize) {
        let ring = self.groups[g].ring;
        let group = &self.rings[ring].groups[self.groups[g].index];
        let order = group.reboot_order.clone();
        let redundant = group.redundant;
        let members = self.groups[g].members.clone();
        let state_of = |e: &Engine, h: u32| e.hosts[h as usize].state;
        let tier_of = |e: &Engine, h: u32| e.hosts[h as usize].tier;
        let now = secs(self.now);
        match self.groups[g].phase {
            RebootPhase::Idle => {
                if members.iter().any(|&h| {
                    matches!(
                        state_of(self, h),
                        HostState::Downloading | HostState::Installing
                    )
                }) {
                    return;
                }
                let waiting: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        state_of(self, h) == HostState::PendingReboot
                            && self.host_runs[h as usize].uninstall.is_none()
                    })
                    .collect();
                let Some(&first) = waiting.first() else {
                    if !members.iter().any(|&h| state_of(self, h).is_in_flight()) {
                        self.active_groups.remove(&g);
                    }
                    return;
                };
                let d = self.host_runs[first as usize].deployment;
                let r = self.queue_ring(first as usize);
                if !self.in_window(r, d) || order.is_empty() {
                    return;
                }
                self.groups[g].phase = RebootPhase::Down(0);
                self.coordinate_group(g);
            }
            RebootPhase::Down(t) => {
                let tier = order[t];
                let going: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        tier_of(self, h) == Some(tier)
                            && state_of(self, h) == HostState::PendingReboot
                            && self.host_runs[h as usize].uninstall.is_none()
                    })
                    .collect();
                if going.is_empty() {
                    self.groups[g].phase = if t + 1 < order.len() {
                        RebootPhase::Down(t + 1)
                    } else {
                        RebootPhase::Up(order.len() - 1)
                    };
                    return;
                }
                let take = if redundant { 1 } else { going.len() };
                for &h in &going[..take] {
                    let h = h as usize;
                    let length = self.rng.random_range(120..=300);
                    self.host_runs[h].reboot_ready = now + length;
                    self.set_state(
                        h,
                        HostState::Rebooting,
                        Some(format!("{} tier going down", tier_name(tier))),
                    );
                }
            }
            RebootPhase::Up(t) => {
                let tier = order[t];
                let down: Vec<u32> = members
                    .iter()
                    .copied()
                    .filter(|&h| {
                        tier_of(self, h) == Some(tier) && state_of(self, h) == HostState::Rebooting
                    })
                    .collect();
                if down.is_empty() {
                    self.groups[g].phase = if t == 0 {
                        RebootPhase::Idle
                    } else {
                        RebootPhase::Up(t - 1)
                    };
                    return;
                }
                let ready: Vec<u32> = down
                    .into_iter()
                    .filter(|&h| self.host_runs[h as usize].reboot_ready <= now)
                    .take(if redundant { 1 } else { usize::MAX })
                    .collect();
                for h in ready {
                    let h = h as usize;
                    self.set_state(
                        h,
                        HostState::Verifying,
                        Some(format!("{} tier back up", tier_name(tier))),
                    );
                    self.arm_in(h, 60, 180);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------
    // Gates
    // -----------------------------------------------------------------------------

    /// The ring as its own deployment sees it: hosts an emergency borrowed count in the
    /// state they were in when taken, so an emergency never blocks a monthly gate.
    pub fn own_counts(&self, r: usize) -> HostCounts {
        let run = &self.ring_runs[r];
        let (c, minus, plus) = (&self.rings[r].counts, &run.lent, &run.lent_before);
        let f = |a: u32, m: u32, p: u32| (a + p).saturating_sub(m);
        HostCounts {
            total: f(c.total, minus.total, plus.total),
            pending: f(c.pending, minus.pending, plus.pending),
            downloading: f(c.downloading, minus.downloading, plus.downloading),
            installing: f(c.installing, minus.installing, plus.installing),
            pending_reboot: f(c.pending_reboot, minus.pending_reboot, plus.pending_reboot),
            rebooting: f(c.rebooting, minus.rebooting, plus.rebooting),
            verifying: f(c.verifying, minus.verifying, plus.verifying),
            succeeded: f(c.succeeded, minus.succeeded, plus.succeeded),
            failed: f(c.failed, minus.failed, plus.failed),
            rolled_back: f(c.rolled_back, minus.rolled_back, plus.rolled_back),
            excluded: f(c.excluded, minus.excluded, plus.excluded),
            offline: f(c.offline, minus.offline, plus.offline),
            deferred: f(c.deferred, minus.deferred, plus.deferred),
        }
    }

    /// Failure share of the hosts of a ring that finished, if it trips the threshold.
    fn failure_tripped(&self, r: usize) -> Option<f64> {
        let c = &self.own_counts(r);
        let installed = installs_done(c);
        let least = (c.total / 50).clamp(MIN_FAILURES_TO_HALT, 25);
        if c.failed < least || installed == 0 {
            return None;
        }
        let pct = f64::from(c.failed) * 100.0 / f64::from(installed);
        (pct > f64::from(self.rings[r].gate.failure_threshold_pct)).then_some(pct)
    }

    /// Share of reachable targeted hosts (not excluded, not offline) that succeeded.
    fn gate_success_pct(&self, r: usize) -> f64 {
        let c = &self.own_counts(r);
        let reachable = c.total.saturating_sub(c.excluded + c.offline);
        if reachable == 0 {
            return 100.0;
        }
        f64::from(c.succeeded) * 100.0 / f64::from(reachable)
    }

    fn set_gate(&mut self, r: usize, state: GateState, reason: Option<String>) {
        let gate = &mut self.rings[r].gate;
        if gate.state != state || gate.blocked_reason != reason {
            gate.state = state;
            gate.blocked_reason = reason;
            self.dirty.rings.insert(r);
        }
    }

    fn set_ring_state(&mut self, r: usize, state: RingState, reason: Option<String>) {
        let ring = &mut self.rings[r];
        if ring.state != state || ring.state_reason != reason {
            ring.state = state;
            ring.state_reason = reason;
            self.dirty.rings.insert(r);
        }
    }

    fn evaluate_gate(&mut self, d: usize) {
        let Some(r) = self.current_ring(d) else {
            return;
        };
        match self.rings[r].state {
            RingState::Deploying => {
                if let Some(pct) = self.failure_tripped(r) {
                    self.system_halt(d, r, pct);
                    return;
                }
                let c = self.own_counts(r);
                if c.pending + c.in_flight() + c.deferred == 0 {
                    let soak = Duration::seconds(self.rings[r].gate.min_soak_secs as i64);
                    self.rings[r].soak_ends_at = Some(self.now + soak);
                    self.set_ring_state(r, RingState::Soaking, None);
                    self.set_gate(r, GateState::Soaking, None);
                    self.evaluate_soak(d, r);
                }
            }
            RingState::Soaking => self.evaluate_soak(d, r),
            _ => {}
        }
    }

    fn evaluate_soak(&mut self, d: usize, r: usize) {
        let success = self.gate_success_pct(r);
        let threshold = f64::from(self.rings[r].gate.success_threshold_pct);
        if success < threshold {
            let reason = format!(
                "{success:.1}% of reachable hosts succeeded, the gate needs {threshold:.0}%"
            );
            let note = format!("{} gate blocked: {reason}", self.rings[r].name);
            self.set_gate(r, GateState::Blocked, Some(reason));
            if self.deployments[d].state_reason.as_ref() != Some(&note) {
                self.deployments[d].state_reason = Some(note);
                self.dirty.deployments.insert(d);
            }
            return;
        }
        if self.rings[r].gate.state == GateState::Blocked {
            self.deployments[d].state_reason = None;
            self.dirty.deployments.insert(d);
        }
        if self.rings[r].soak_ends_at.is_some_and(|end| self.now < end) {
            self.set_gate(r, GateState::Soaking, None);
            return;
        }
        let next = self.next_ring(d, r);
        match (next, self.rings[r].gate.mode) {
            (None, _) => {
                self.set_ring_state(r, RingState::Done, None);
                self.set_gate(r, GateState::Passed, None);
                self.complete(d);
            }
            (Some(n), GateMode::Automatic) => self.open_ring(d, n, SYSTEM),
            (Some(n), GateMode::Manual) => {
                self.set_gate(r, GateState::AwaitingApproval, None);
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::AwaitingApproval;
                dep.next_ring = Some(self.rings[n].id.clone());
                dep.state_reason = Some(format!("gate to {} awaits approval", self.rings[n].name));
                self.dirty.deployments.insert(d);
            }
        }
    }

    pub fn current_ring(&self, d: usize) -> Option<usize> {
        let id = self.deployments[d].current_ring.as_deref()?;
        self.ring_index(id)
    }

    fn next_ring(&self, d: usize, r: usize) -> Option<usize> {
        let rings = &self.deployments[d].rings;
        let pos = rings.iter().position(|id| *id == self.rings[r].id)?;
        rings.get(pos + 1).and_then(|id| self.ring_index(id))
    }

    fn complete(&mut self, d: usize) {
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Completed;
        dep.current_ring = None;
        dep.next_ring = None;
        dep.state_reason = None;
        self.dirty.deployments.insert(d);
        if self
            .summary
            .emergency
            .as_ref()
            .is_some_and(|e| e.deployment_id == self.deployments[d].id)
        {
            self.summary.emergency = None;
            self.dirty.summary = true;
        }
    }

    /// Open ring `n` for deployment `d`: the previous ring is done, `n` deploys.
    pub fn open_ring(&mut self, d: usize, n: usize, by: &str) {
        if let Some(p) = self.current_ring(d)
            && p != n
        {
            self.set_ring_state(p, RingState::Done, None);
            self.set_gate(p, GateState::Passed, None);
        }
        // A ring paused before its turn stays paused: it will deploy when resumed.
        if self.rings[n].state == RingState::Paused {
            self.ring_runs[n].paused_from = Some(RingState::Deploying);
        } else {
            self.set_ring_state(n, RingState::Deploying, None);
            self.ring_runs[n].paused_from = None;
        }
        self.set_gate(n, GateState::NotReached, None);
        self.rings[n].soak_ends_at = None;
        self.ring_runs[n].deployment = Some(d);
        self.requeue(d, n);
        let ring_id = self.rings[n].id.clone();
        let now = self.now;
        let dep = &mut self.deployments[d];
        dep.current_ring = Some(ring_id.clone());
        dep.next_ring = None;
        dep.state = DeploymentState::Running;
        dep.state_reason = None;
        dep.pending_approval = None;
        dep.approvals.push(Approval {
            ring_id,
            by: by.to_string(),
            at: now,
        });
        self.deployment_runs[d].paused_from = None;
        self.dirty.deployments.insert(d);
    }

    /// Queue every pending host of deployment `d` in ring `r`, in member order.
    fn requeue(&mut self, d: usize, r: usize) {
        let queue: VecDeque<u32> = self.ring_runs[r]
            .members
            .iter()
            .copied()
            .filter(|&h| {
                let h = h as usize;
                self.hosts[h].state == HostState::Pending && self.host_runs[h].deployment == Some(d)
            })
            .collect();
        self.ring_runs[r].queue = queue;
    }

    fn system_halt(&mut self, d: usize, r: usize, pct: f64) {
        let limit = self.rings[r].gate.failure_threshold_pct;
        let c = self.own_counts(r);
        let reason = format!(
            "failure threshold: {pct:.0}% failed (limit {limit}%): {} of {} installs",
            c.failed,
            installs_done(&c)
        );
        self.halt(d, Some(r), reason.clone());
        let name = self.deployments[d].name.clone();
        let id = self.deployments[d].id.clone();
        let a = self.record(
            Verb::Halt,
            Target {
                kind: TargetKind::Deployment,
                id,
            },
            name,
            SYSTEM,
            Some(reason),
            None,
            ActionState::Succeeded,
        );
        self.actions[a].detail = Some(format!("{} halted", self.rings[r].name));
        self.actions[a].finished_at = Some(self.now);
    }

    /// Settle the first half of a two-person approval: succeeded with the second, or
    /// failed when the deployment is declined or halted first.
    fn close_first_approval(&mut self, d: usize, state: ActionState, detail: String) {
        if let Some(first) = self.deployment_runs[d].first_approval.take() {
            let action = &mut self.actions[first];
            action.state = state;
            action.finished_at = Some(self.now);
            action.detail = Some(detail);
            self.dirty.actions.insert(first);
        }
    }

    fn halt(&mut self, d: usize, r: Option<usize>, reason: String) {
        self.close_first_approval(d, ActionState::Failed, reason.clone());
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Halted;
        dep.state_reason = Some(reason.clone());
        dep.pending_approval = None;
        self.dirty.deployments.insert(d);
        if let Some(r) = r {
            self.set_ring_state(r, RingState::Halted, Some(reason.clone()));
            self.set_gate(r, GateState::Blocked, Some(reason));
            self.ring_runs[r].paused_from = None;
        }
    }

    // -----------------------------------------------------------------------------
    // Flushing changes
    // -----------------------------------------------------------------------------

    /// Bump the version of everything that changed since the last flush and return
    /// the new states, hosts first, then rings, deployments, actions, summary.
    pub fn flush(&mut self) -> Vec<Change> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut changes = Vec::with_capacity(dirty.hosts.len() + 8);
        for h in dirty.hosts {
            let host = &mut self.hosts[h as usize];
            host.version += 1;
            host.updated_at = self.now;
            changes.push(Change::Host(host.clone()));
        }
        for p in dirty.patches {
            self.patches[p].version += 1;
            changes.push(Change::Patch(self.patches[p].clone()));
        }
        for r in dirty.rings {
            self.rings[r].version += 1;
            changes.push(Change::Ring(self.rings[r].clone()));
        }
        for d in dirty.deployments {
            self.update_rate(d);
            self.deployments[d].version += 1;
            changes.push(Change::Deployment(self.deployments[d].clone()));
        }
        for a in dirty.actions {
            self.actions[a].version += 1;
            changes.push(Change::Action(self.actions[a].clone()));
        }
        if dirty.summary {
            self.summary.version += 1;
            changes.push(Change::Summary(self.summary()));
        }
        changes
    }

    /// Forget pending changes (after generating the start state).
    pub fn discard_changes(&mut self) {
        self.dirty = Dirty::default();
    }

    /// Recompute a deployment's rate (hosts finished in the last hour) and the ETA of its
    /// current ring at that rate (none when it is not deploying, or more than 30 days
    /// away). Returns whether either changed.
    fn update_rate(&mut self, d: usize) -> bool {
        let now = secs(self.now);
        let run = &mut self.deployment_runs[d];
        while run.finished.front().is_some_and(|&t| t <= now - 3600) {
            run.finished.pop_front();
        }
        let age = (now - secs(self.deployments[d].created_at)).clamp(STEP_SECS, 3600);
        let rate = run.finished.len() as f64 * 3600.0 / age as f64;
        let rate = (rate * 10.0).round() / 10.0;
        let remaining = match self.current_ring(d) {
            Some(r) if self.rings[r].state == RingState::Deploying => {
                let c = self.own_counts(r);
                c.pending + c.in_flight() + c.deferred
            }
            _ => 0,
        };
        let eta =
            (self.deployments[d].state == DeploymentState::Running && rate > 0.0 && remaining > 0)
                .then(|| (f64::from(remaining) * 3600.0 / rate) as i64)
                .filter(|&secs| secs <= 30 * 86_400)
                // Minutes are precision enough, and keep events few.
                .map(|secs| at_minute(self.now + Duration::seconds(secs)));
        let dep = &mut self.deployments[d];
        let changed = dep.rate_per_hour != rate || dep.eta != eta;
        dep.rate_per_hour = rate;
        dep.eta = eta;
        changed
    }

    pub fn set_clock_speed(&mut self, speed: f64) {
        if self.summary.clock_speed != speed {
            self.summary.clock_speed = speed;
            self.dirty.summary = true;
        }
    }

    // -----------------------------------------------------------------------------
    // Actions
    // -----------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        verb: Verb,
        target: Target,
        target_name: String,
        by: &str,
        reason: Option<String>,
        ticket: Option<String>,
        state: ActionState,
    ) -> usize {
        let a = self.actions.len();
        self.actions.push(Action {
            id: format!("act-{:06}", a + 1),
            verb,
            target,
            target_name,
            by: by.to_string(),
            at: self.now,
            reason,
            ticket,
            state,
            progress_done: 0,
            progress_total: 0,
            detail: None,
            finished_at: (state != ActionState::Running
                && state != ActionState::AwaitingSecondApprover)
                .then_some(self.now),
            version: 0,
        });
        self.action_runs.push(ActionRun::default());
        self.dirty.actions.insert(a);
        a
    }

    /// Validate and apply an action; returns the index of the recorded action.
    pub fn act(&mut self, request: &ActionRequest, actor: &str) -> Result<usize, ActError> {
        let verb = request.verb;
        let reason = request
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let ticket = request
            .ticket
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if verb.needs_reason() {
            let missing = match (&reason, &ticket) {
                (None, None) => Some("both are missing"),
                (None, Some(_)) => Some("the reason is missing"),
                (Some(_), None) => Some("the ticket is missing"),
                (Some(_), Some(_)) => None,
            };
            if let Some(missing) = missing {
                return Err(ActError::Invalid(format!(
                    "{} needs a reason and a ticket: {missing}",
                    verb.as_str()
                )));
            }
        }
        let request = ActionRequest {
            reason,
            ticket,
            ..request.clone()
        };
        let wrong_target = || {
            ActError::Invalid(format!(
                "{} does not apply to a {}",
                verb.as_str(),
                kind_name(request.target.kind)
            ))
        };
        let id = request.target.id.as_str();
        match request.target.kind {
            TargetKind::Deployment => {
                let d = self
                    .deployment_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("deployment {id}")))?;
                check_version(
                    &request,
                    &self.deployments[d].name,
                    self.deployments[d].version,
                )?;
                match verb {
                    Verb::Approve => self.approve(d, &request, actor),
                    Verb::Decline => self.decline(d, &request, actor),
                    Verb::Pause => self.pause_deployment(d, &request, actor),
                    Verb::Resume => self.resume_deployment(d, &request, actor),
                    Verb::Halt => self.halt_deployment(d, &request, actor),
                    Verb::Rollback => {
                        // Its hosts, and hosts it gave back after installing its patches.
                        let ids = &self.deployments[d].patch_ids;
                        let hosts: Vec<usize> = (0..self.hosts.len())
                            .filter(|&h| {
                                self.host_runs[h].deployment == Some(d)
                                    || self.hosts[h].installed.iter().any(|p| ids.contains(p))
                            })
                            .collect();
                        self.rollback(Scope::Deployment(d), hosts, &request, actor)
                    }
                    _ => Err(wrong_target()),
                }
            }
            TargetKind::Ring => {
                let r = self
                    .ring_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("ring {id}")))?;
                check_version(&request, &self.rings[r].name, self.rings[r].version)?;
                match verb {
                    Verb::Pause => self.pause_ring(r, &request, actor),
                    Verb::Resume => self.resume_ring(r, &request, actor),
                    Verb::Rollback => {
                        let hosts = self.ring_runs[r]
                            .members
                            .iter()
                            .map(|&h| h as usize)
                            .collect();
                        self.rollback(Scope::Ring(r), hosts, &request, actor)
                    }
                    _ => Err(wrong_target()),
                }
            }
            TargetKind::Host => {
                let h = self
                    .host_index(id)
                    .ok_or_else(|| ActError::NotFound(format!("host {id}")))?;
                check_version(&request, &self.hosts[h].name, self.hosts[h].version)?;
                match verb {
                    Verb::Retry => self.retry(h, &request, actor),
                    Verb::Exclude => self.exclude(h, &request, actor),
                    Verb::Rollback => self.rollback(Scope::Host(h), vec![h], &request, actor),
                    _ => Err(wrong_target()),
                }
            }
            TargetKind::Fleet => {
                check_version(&request, "the fleet", self.summary.version)?;
                match verb {
                    Verb::Emergency => self.emergency(&request, actor),
                    _ => Err(wrong_target()),
                }
            }
        }
    }

    fn target_of(&self, scope: Scope) -> (Target, String) {
        match scope {
            Scope::Deployment(d) => (
                Target {
                    kind: TargetKind::Deployment,
                    id: self.deployments[d].id.clone(),
                },
                self.deployments[d].name.clone(),
            ),
            Scope::Ring(r) => (
                Target {
                    kind: TargetKind::Ring,
                    id: self.rings[r].id.clone(),
                },
                self.rings[r].name.clone(),
            ),
            Scope::Host(h) => (
                Target {
                    kind: TargetKind::Host,
                    id: self.hosts[h].id.clone(),
                },
                self.hosts[h].name.clone(),
            ),
            Scope::Fleet => (
                Target {
                    kind: TargetKind::Fleet,
                    id: "fleet".into(),
                },
                self.summary.name.clone(),
            ),
        }
    }

    /// Record a finished action on `scope` with an optional detail.
    fn done(
        &mut self,
        verb: Verb,
        scope: Scope,
        request: &ActionRequest,
        actor: &str,
        detail: Option<String>,
    ) -> usize {
        let (target, name) = self.target_of(scope);
        let a = self.record(
            verb,
            target,
            name,
            actor,
            request.reason.clone(),
            request.ticket.clone(),
            ActionState::Succeeded,
        );
        self.actions[a].detail = detail;
        a
    }

    /// Approve a deployment:
    /// - awaiting approval: opens the next ring. A production ring needs two different
    ///   approvers: the first approval is recorded as pending (action
    ///   awaiting-second-approver), a second one by the same identity is refused, one by
    ///   another identity opens the ring and completes both actions.
    /// - halted: resumes the halted ring (the same ring, not the next one) once its
    ///   failures are handled (retried, excluded or rolled back so that the failure
    ///   threshold no longer trips). One approver is enough to resume. The ring deploys
    ///   again and, once its installs are over, soaks again in full (a halt restarts the
    ///   soak). A bad patch is therefore handled without a new deployment: roll back or
    ///   exclude the broken hosts (or retry them once fixed), then approve.
    fn approve(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let name = self.deployments[d].name.clone();
        match self.deployments[d].state {
            DeploymentState::AwaitingApproval => {
                let n = self.deployments[d]
                    .next_ring
                    .as_deref()
                    .and_then(|id| self.ring_index(id))
                    .ok_or_else(|| {
                        ActError::Conflict(format!("{name} has no ring to open next"))
                    })?;
                let current = self.current_ring(d);
                if self.rings[n].production && self.summary.capabilities.two_person_rule {
                    let pending = self.deployments[d].pending_approval.clone();
                    match pending {
                        None => {
                            let (target, target_name) = self.target_of(Scope::Deployment(d));
                            let a = self.record(
                                Verb::Approve,
                                target,
                                target_name,
                                actor,
                                request.reason.clone(),
                                request.ticket.clone(),
                                ActionState::AwaitingSecondApprover,
                            );
                            self.actions[a].detail = Some(format!(
                                "first approval to open {}; a second, different approver must approve",
                                self.rings[n].name
                            ));
                            self.deployments[d].pending_approval = Some(PendingApproval {
                                ring_id: self.rings[n].id.clone(),
                                first_approver: actor.to_string(),
                                at: self.now,
                            });
                            self.dirty.deployments.insert(d);
                            self.deployment_runs[d].first_approval = Some(a);
                            if let Some(c) = current {
                                self.set_gate(c, GateState::AwaitingSecondApprover, None);
                            }
                            return Ok(a);
                        }
                        Some(p) if p.first_approver == actor => {
                            return Err(ActError::SecondApproverRequired(format!(
                                "{actor} already approved opening {}; the two-person rule needs a second, different approver",
                                self.rings[n].name
                            )));
                        }
                        Some(p) => {
                            let detail = format!(
                                "{} opened after a second approval by {actor}",
                                self.rings[n].name
                            );
                            self.close_first_approval(d, ActionState::Succeeded, detail);
                            self.deployments[d].approvals.push(Approval {
                                ring_id: p.ring_id,
                                by: p.first_approver.clone(),
                                at: p.at,
                            });
                            self.open_ring(d, n, actor);
                            let detail = format!(
                                "{} opened (approved by {} and {actor})",
                                self.rings[n].name, p.first_approver
                            );
                            return Ok(self.done(
                                Verb::Approve,
                                Scope::Deployment(d),
                                request,
                                actor,
                                Some(detail),
                            ));
                        }
                    }
                }
                self.open_ring(d, n, actor);
                let detail = format!("{} opened", self.rings[n].name);
                Ok(self.done(
                    Verb::Approve,
                    Scope::Deployment(d),
                    request,
                    actor,
                    Some(detail),
                ))
            }
            DeploymentState::Halted => {
                let r = self
                    .current_ring(d)
                    .ok_or_else(|| ActError::Conflict(format!("{name} has no ring to resume")))?;
                if let Some(pct) = self.failure_tripped(r) {
                    return Err(ActError::Conflict(format!(
                        "{} still has {pct:.0}% failed (limit {}%): retry, exclude or roll back the failed hosts first",
                        self.rings[r].name, self.rings[r].gate.failure_threshold_pct
                    )));
                }
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::Running;
                dep.state_reason = None;
                self.dirty.deployments.insert(d);
                self.set_ring_state(r, RingState::Deploying, None);
                self.set_gate(r, GateState::NotReached, None);
                self.requeue(d, r);
                let detail = format!("{} resumed", self.rings[r].name);
                Ok(self.done(
                    Verb::Approve,
                    Scope::Deployment(d),
                    request,
                    actor,
                    Some(detail),
                ))
            }
            state => Err(ActError::Conflict(format!(
                "{name} is {}: no gate is waiting for approval",
                deployment_state_name(state)
            ))),
        }
    }

    fn decline(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::AwaitingApproval | DeploymentState::Halted | DeploymentState::Paused
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a deployment awaiting approval, paused or halted can be declined",
                self.deployments[d].name,
                deployment_state_name(state)
            )));
        }
        self.close_first_approval(d, ActionState::Failed, format!("declined by {actor}"));
        if let Some(r) = self.current_ring(d)
            && matches!(
                self.rings[r].gate.state,
                GateState::AwaitingApproval | GateState::AwaitingSecondApprover
            )
        {
            self.set_gate(
                r,
                GateState::Blocked,
                Some(format!("deployment declined by {actor}")),
            );
        }
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Declined;
        dep.next_ring = None;
        dep.pending_approval = None;
        dep.state_reason = Some(match &request.reason {
            Some(reason) => format!("declined by {actor}: {reason}"),
            None => format!("declined by {actor}"),
        });
        self.dirty.deployments.insert(d);
        Ok(self.done(Verb::Decline, Scope::Deployment(d), request, actor, None))
    }

    fn pause_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::Running | DeploymentState::AwaitingApproval
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a running deployment can be paused",
                self.deployments[d].name,
                deployment_state_name(state)
            )));
        }
        self.deployment_runs[d].paused_from = Some(state);
        let dep = &mut self.deployments[d];
        dep.state = DeploymentState::Paused;
        dep.state_reason = Some(format!(
            "paused by {actor}: installs under way finish, no new ones start"
        ));
        self.dirty.deployments.insert(d);
        Ok(self.done(Verb::Pause, Scope::Deployment(d), request, actor, None))
    }

    fn resume_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if state != DeploymentState::Paused {
            let hint = if state == DeploymentState::Halted {
                " (a halted deployment is resumed by approving it)"
            } else {
                ""
            };
            return Err(ActError::Conflict(format!(
                "{} is {}, not paused{hint}",
                self.deployments[d].name,
                deployment_state_name(state)
            )));
        }
        let back = self.deployment_runs[d]
            .paused_from
            .take()
            .unwrap_or(DeploymentState::Running);
        let dep = &mut self.deployments[d];
        dep.state = back;
        dep.state_reason = None;
        self.dirty.deployments.insert(d);
        if back == DeploymentState::AwaitingApproval
            && let Some(n) = self.deployments[d].next_ring.clone()
        {
            let name = self
                .ring_index(&n)
                .map(|n| self.rings[n].name.clone())
                .unwrap_or(n);
            self.deployments[d].state_reason = Some(format!("gate to {name} awaits approval"));
        }
        Ok(self.done(Verb::Resume, Scope::Deployment(d), request, actor, None))
    }

    fn halt_deployment(
        &mut self,
        d: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.deployments[d].state;
        if !matches!(
            state,
            DeploymentState::Running | DeploymentState::AwaitingApproval | DeploymentState::Paused
        ) {
            return Err(ActError::Conflict(format!(
                "{} is {}: only a running, paused or waiting deployment can be halted",
                self.deployments[d].name,
                deployment_state_name(state)
            )));
        }
        let reason = format!(
            "halted by {actor}: {}",
            request.reason.as_deref().unwrap_or("no reason given")
        );
        let ring = self.current_ring(d).filter(|&r| {
            matches!(
                self.rings[r].state,
                RingState::Deploying | RingState::Soaking | RingState::Paused
            )
        });
        self.halt(d, ring, reason);
        Ok(self.done(Verb::Halt, Scope::Deployment(d), request, actor, None))
    }

    /// Pause a ring: no new installs start in it (installs under way finish), its gate
    /// waits. A ring paused before its turn stays paused when approval opens it.
    fn pause_ring(
        &mut self,
        r: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.rings[r].state;
        if matches!(state, RingState::Paused | RingState::Halted) {
            return Err(ActError::Conflict(format!(
                "{} is already {}",
                self.rings[r].name,
                ring_state_name(state)
            )));
        }
        self.ring_runs[r].paused_from = Some(state);
        self.set_ring_state(
            r,
            RingState::Paused,
            Some(format!(
                "paused by {actor}: installs under way finish, no new ones start"
            )),
        );
        Ok(self.done(Verb::Pause, Scope::Ring(r), request, actor, None))
    }

    fn resume_ring(
        &mut self,
        r: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        if self.rings[r].state != RingState::Paused {
            return Err(ActError::Conflict(format!(
                "{} is {}, not paused",
                self.rings[r].name,
                ring_state_name(self.rings[r].state)
            )));
        }
        let back = self.ring_runs[r]
            .paused_from
            .take()
            .unwrap_or(RingState::Deploying);
        self.set_ring_state(r, back, None);
        Ok(self.done(Verb::Resume, Scope::Ring(r), request, actor, None))
    }

    fn retry(&mut self, h: usize, request: &ActionRequest, actor: &str) -> Result<usize, ActError> {
        let state = self.hosts[h].state;
        if !matches!(state, HostState::Failed | HostState::RolledBack)
            || self.host_runs[h].deployment.is_none()
        {
            return Err(ActError::Conflict(format!(
                "{} is {}: only failed or rolled-back hosts can be retried",
                self.hosts[h].name,
                state.as_str()
            )));
        }
        let code = self.hosts[h].failure.take().map(|f| f.code);
        let note = match code {
            Some(code) => format!("retry by {actor} after {code}"),
            None => format!("retry by {actor}"),
        };
        self.set_state(h, HostState::Pending, Some(note));
        self.enqueue_front(h);
        Ok(self.done(
            Verb::Retry,
            Scope::Host(h),
            request,
            actor,
            Some("re-queued".into()),
        ))
    }

    fn exclude(
        &mut self,
        h: usize,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        let state = self.hosts[h].state;
        if state == HostState::Excluded {
            return Err(ActError::Conflict(format!(
                "{} is already excluded",
                self.hosts[h].name
            )));
        }
        if state.is_in_flight() || self.host_runs[h].uninstall.is_some() {
            return Err(ActError::Conflict(format!(
                "{} is {}: exclude it once the work under way has finished",
                self.hosts[h].name,
                state.as_str()
            )));
        }
        self.disarm(h);
        self.host_runs[h].adopt = None;
        // Taken by an emergency: the deployment it came from stops counting it as away.
        if let Some((old, before)) = self.host_runs[h].away_from.take() {
            self.deployment_runs[old].away.remove(before);
            self.deployments[old].counts.remove(before);
            self.dirty.deployments.insert(old);
            let home = &mut self.ring_runs[self.host_runs[h].home];
            home.lent.remove(state);
            home.lent_before.remove(before);
        }
        let reason = request.reason.clone().unwrap_or_default();
        let host = &mut self.hosts[h];
        host.deferred_until = None;
        host.exception = Some(Exception {
            owner: actor.to_string(),
            reason: reason.clone(),
            ticket: request.ticket.clone(),
            expires_at: self.now + Duration::days(30),
            compensating_control:
                "Isolated to its VLAN, EDR in block mode, reviewed weekly until the exception expires"
                    .into(),
        });
        self.set_state(
            h,
            HostState::Excluded,
            Some(format!("exception by {actor}: {reason}")),
        );
        Ok(self.done(
            Verb::Exclude,
            Scope::Host(h),
            request,
            actor,
            Some("exception recorded for 30 days".into()),
        ))
    }

    /// Roll back hosts: every host in scope that succeeded, failed or waits for its
    /// reboot is uninstalled over a few minutes (the action runs, with progress) if
    /// every patch of its deployment it has is uninstallable; a host with a patch that
    /// cannot be uninstalled is not touched and counted as "restore required". Rolling
    /// back a deployment stops its new installs (state rolling-back, rolled-back when
    /// done); rolling back a ring halts it.
    fn rollback(
        &mut self,
        scope: Scope,
        hosts: Vec<usize>,
        request: &ActionRequest,
        actor: &str,
    ) -> Result<usize, ActError> {
        if !self.summary.capabilities.rollback {
            return Err(ActError::Unsupported("this fleet cannot roll back".into()));
        }
        if let Scope::Deployment(d) = scope
            && matches!(
                self.deployments[d].state,
                DeploymentState::RollingBack | DeploymentState::RolledBack
            )
        {
            return Err(ActError::Conflict(format!(
                "{} is already {}",
                self.deployments[d].name,
                deployment_state_name(self.deployments[d].state)
            )));
        }
        let mut uninstall = Vec::new();
        let mut restore: BTreeMap<String, u32> = BTreeMap::new();
        let mut restore_hosts = Vec::new();
        for h in hosts {
            let state = self.hosts[h].state;
            let finished = matches!(
                state,
                HostState::Succeeded | HostState::Failed | HostState::PendingReboot
            );
            // A host a deployment gave back is rolled back if it has its patches and
            // is not busy. A patch its own deployment also carries came from there
            // (this month's cumulative update is in both the workstation and the
            // server deployments): such a host is not this deployment's to roll back.
            let given_back = match scope {
                Scope::Deployment(d) => {
                    let own = self.host_runs[h].deployment;
                    own != Some(d)
                        && !state.is_in_flight()
                        && self.hosts[h].installed.iter().any(|p| {
                            self.deployments[d].patch_ids.contains(p)
                                && own.is_none_or(|o| !self.deployments[o].patch_ids.contains(p))
                        })
                }
                _ => false,
            };
            let theirs = match scope {
                Scope::Deployment(d) => self.host_runs[h].deployment == Some(d),
                _ => true,
            };
            let eligible =
                ((theirs && finished) || given_back) && self.host_runs[h].uninstall.is_none();
            let owner = match scope {
                Scope::Deployment(d) => Some(d),
                _ => self.host_runs[h].deployment,
            };
            let Some(d) = owner.filter(|_| eligible) else {
                if let Scope::Host(_) = scope {
                    return Err(ActError::Conflict(format!(
                        "{} is {}: only succeeded, failed or pending-reboot hosts can be rolled back",
                        self.hosts[h].name,
                        state.as_str()
                    )));
                }
                continue;
            };
            let committed = state != HostState::PendingReboot;
            let blocking: Vec<String> = self.deployments[d]
                .patch_ids
                .iter()
                .filter(|id| committed && self.hosts[h].installed.contains(id))
                .filter_map(|id| self.patches.iter().find(|p| &p.id == id))
                .filter(|p| !p.uninstallable)
                .map(|p| p.kb.clone())
                .collect();
            if blocking.is_empty() {
                uninstall.push(h);
            } else {
                for kb in blocking {
                    *restore.entry(kb).or_default() += 1;
                }
                restore_hosts.push(h);
            }
        }
        let (target, name) = self.target_of(scope);
        let a = self.record(
            Verb::Rollback,
            target,
            name,
            actor,
            request.reason.clone(),
            request.ticket.clone(),
            ActionState::Running,
        );
        let restore_count = restore_hosts.len() as u32;
        self.action_runs[a].restore = restore_count;
        let mut detail = Vec::new();
        if !uninstall.is_empty() {
            detail.push(format!("uninstalling from {} hosts", uninstall.len()));
        }
        if restore_count > 0 {
            let kbs: Vec<String> = restore.keys().cloned().collect();
            let who = if restore_count == 1 {
                format!("{} needs", self.hosts[restore_hosts[0]].name)
            } else {
                format!("{restore_count} hosts need")
            };
            detail.push(format!(
                "restore required: {who} a restore, {} cannot be uninstalled",
                kbs.join(", ")
            ));
        }
        if uninstall.is_empty() && restore_count == 0 {
            detail.push("nothing to roll back".into());
        }
        self.actions[a].detail = Some(detail.join("; "));
        self.actions[a].progress_total = uninstall.len() as u32;
        match scope {
            Scope::Deployment(d) => {
                let dep = &mut self.deployments[d];
                dep.state = DeploymentState::RollingBack;
                dep.state_reason = Some(format!("rollback by {actor}"));
                self.dirty.deployments.insert(d);
                self.action_runs[a].deployment = Some(d);
                if let Some(r) = self.current_ring(d)
                    && matches!(
                        self.rings[r].state,
                        RingState::Deploying | RingState::Soaking | RingState::Paused
                    )
                {
                    self.set_ring_state(r, RingState::Halted, Some(format!("rollback by {actor}")));
                }
            }
            Scope::Ring(r) => {
                let active = matches!(
                    self.rings[r].state,
                    RingState::Deploying | RingState::Soaking | RingState::Paused
                );
                let reason = format!("rollback of {} by {actor}", self.rings[r].name);
                // Rolling back the deployment's current ring halts the deployment too:
                // approving it later resumes the ring.
                match self.ring_runs[r].deployment {
                    Some(d)
                        if active
                            && self.current_ring(d) == Some(r)
                            && matches!(
                                self.deployments[d].state,
                                DeploymentState::Running
                                    | DeploymentState::AwaitingApproval
                                    | DeploymentState::Paused
                            ) =>
                    {
                        self.halt(d, Some(r), reason);
                    }
                    _ if active => self.set_ring_state(r, RingState::Halted, Some(reason)),
                    _ => {}
                }
            }
            Scope::Host(_) | Scope::Fleet => {}
        }
        if let Scope::Deployment(d) = scope {
            self.action_runs[a].patches = Some(self.deployments[d].patch_ids.clone());
        }
        for &h in &uninstall {
            self.disarm(h);
            self.host_runs[h].uninstall = Some(a);
            self.histories[h].push(Transition {
                at: self.now,
                state: self.hosts[h].state,
                note: Some(format!("rollback by {actor}: uninstalling")),
            });
            self.dirty.hosts.insert(h as u32);
            self.arm_in(h, 60, 300);
        }
        if uninstall.is_empty() {
            self.finish_action(a);
        }
        Ok(a)
    }

    fn finish_uninstall(&mut self, h: usize, a: usize) {
        self.host_runs[h].uninstall = None;
        let ids = match &self.action_runs[a].patches {
            Some(ids) => Some(ids.clone()),
            None => self.host_runs[h]
                .deployment
                .map(|d| self.deployments[d].patch_ids.clone()),
        };
        if let Some(ids) = ids {
            self.hosts[h].installed.retain(|id| !ids.contains(id));
            let kbs: Vec<String> = ids
                .iter()
                .filter_map(|id| self.patches.iter().find(|p| &p.id == id))
                .map(|p| p.kb.clone())
                .collect();
            let note = format!("uninstalled {}", kbs.join(", "));
            let owned = self.action_runs[a]
                .deployment
                .is_none_or(|d| self.host_runs[h].deployment == Some(d));
            if owned {
                self.hosts[h].failure = None;
                self.set_state(h, HostState::RolledBack, Some(note));
            } else {
                // A host another deployment owns now keeps its state there.
                let state = self.hosts[h].state;
                self.histories[h].push(Transition {
                    at: self.now,
                    state,
                    note: Some(note),
                });
                self.dirty.hosts.insert(h as u32);
            }
        }
        self.actions[a].progress_done += 1;
        self.dirty.actions.insert(a);
        if self.actions[a].progress_done >= self.actions[a].progress_total {
            self.finish_action(a);
        }
        if let Some(e) = self.host_runs[h].adopt.take() {
            self.adopt(h, e);
        }
    }

    fn finish_action(&mut self, a: usize) {
        let run = self.action_runs[a].clone();
        self.actions[a].state = if run.restore > 0 {
            ActionState::Partial
        } else {
            ActionState::Succeeded
        };
        self.actions[a].finished_at = Some(self.now);
        self.dirty.actions.insert(a);
        if let Some(d) = run.deployment
            && self.deployments[d].state == DeploymentState::RollingBack
        {
            let dep = &mut self.deployments[d];
            dep.state = DeploymentState::RolledBack;
            dep.state_reason = (run.restore > 0)
                .then(|| format!("rolled back; {} hosts need a restore", run.restore));
            self.dirty.deployments.insert(d);
        }
    }

    /// Start an emergency deployment of one patch (found by id or by the CVE it fixes).
    /// Targets, in order: a small look-alike test group (hosts of the same models and
    /// tiers as the exposed and mission-critical ones, themselves low-risk), then
    /// exposed and mission-critical hosts, then high criticality, then everyone else by
    /// criticality. Each stage is a ring with a short automatic gate; maintenance
    /// windows and user deferrals are overridden. Hosts busy with another deployment
    /// are taken over when their current work finishes.
    fn emergency(&mut self, request: &ActionRequest, actor: &str) -> Result<usize, ActError> {
        if !self.summary.capabilities.emergency {
            return Err(ActError::Unsupported(
                "this fleet has no emergency deployments".into(),
            ));
        }
        if let Some(e) = &self.summary.emergency {
            return Err(ActError::Conflict(format!(
                "emergency deployment {} is already running",
                e.deployment_id
            )));
        }
        let p = match (&request.patch_id, &request.cve) {
            (Some(id), _) => self
                .patches
                .iter()
                .position(|p| p.id.eq_ignore_ascii_case(id) || p.kb.eq_ignore_ascii_case(id))
                .ok_or_else(|| ActError::NotFound(format!("patch {id}")))?,
            (None, Some(cve)) => self
                .patches
                .iter()
                .rposition(|p| {
                    p.cves
                        .iter()
                        .chain(&p.exploited_cves)
                        .any(|c| c.eq_ignore_ascii_case(cve))
                })
                .ok_or_else(|| ActError::NotFound(format!("a patch fixing {cve}")))?,
            (None, None) => {
                return Err(ActError::Invalid(
                    "an emergency needs the patch_id or the cve to expedite".into(),
                ));
            }
        };
        let patch = self.patches[p].clone();
        let cve = request
            .cve
            .clone()
            .or_else(|| patch.exploited_cves.first().cloned())
            .or_else(|| patch.cves.first().cloned())
            .unwrap_or_default();
        let targets: Vec<usize> = (0..self.hosts.len())
            .filter(|&h| {
                self.hosts[h].state != HostState::Excluded
                    && !self.hosts[h].installed.contains(&patch.id)
                    && match &self.applies[p] {
                        Applies::All => true,
                        Applies::Workstations => self.hosts[h].kind == HostKind::Workstation,
                        Applies::ModelPrefix(prefix) => {
                            self.hosts[h].model.starts_with(prefix.as_str())
                        }
                    }
            })
            .collect();
        if targets.is_empty() {
            return Err(ActError::Conflict(format!(
                "{} is already installed on every host it applies to",
                patch.kb
            )));
        }
        let stages = emergency_stages(&self.hosts, &targets);
        let d = self.deployments.len();
        let number = d + 1;
        let dep_id = format!("dep-{number:04}");
        let stage_names = [
            ("lookalike", "Emergency: look-alike test", 900u64),
            ("exposed", "Emergency: exposed and mission-critical", 600),
            ("high", "Emergency: high criticality", 600),
            ("remaining", "Emergency: everyone else", 0),
        ];
        let mut ring_ids = Vec::new();
        let mut stage_rings = Vec::new();
        let base_order = self.rings.iter().map(|r| r.order).max().unwrap_or(0) + 1;
        for (i, ((slug, name, soak), members)) in stage_names.iter().zip(&stages).enumerate() {
            if members.is_empty() {
                continue;
            }
            let r = self.rings.len();
            let servers = members
                .iter()
                .filter(|&&h| self.hosts[h].kind == HostKind::Server)
                .count();
            let id = format!("emergency-{number}-{slug}");
            self.rings.push(Ring {
                id: id.clone(),
                name: (*name).to_string(),
                order: base_order + i as u32,
                kind: if servers * 2 > members.len() {
                    RingKind::Servers
                } else {
                    RingKind::Workstations
                },
                site: None,
                production: false,
                state: RingState::Waiting,
                gate: Gate {
                    mode: GateMode::Automatic,
                    success_threshold_pct: 90,
                    failure_threshold_pct: 10,
                    min_soak_secs: *soak,
                    state: GateState::NotReached,
                    blocked_reason: None,
                },
                window: MaintenanceWindow::always("UTC", 0),
                soak_ends_at: None,
                state_reason: Some("emergency: maintenance windows overridden".into()),
                groups: Vec::new(),
                counts: HostCounts::default(),
                version: 0,
            });
            self.ring_runs.push(RingRun {
                members: members.iter().map(|&h| h as u32).collect(),
                ..RingRun::default()
            });
            self.dirty.rings.insert(r);
            ring_ids.push(id);
            stage_rings.push(r);
        }
        let name = format!("Emergency: {} ({cve})", patch.kb);
        self.deployments.push(Deployment {
            id: dep_id.clone(),
            name: name.clone(),
            patch_ids: vec![patch.id.clone()],
            rings: ring_ids,
            current_ring: None,
            next_ring: None,
            state: DeploymentState::Running,
            state_reason: None,
            emergency: true,
            approvals: Vec::new(),
            pending_approval: None,
            counts: HostCounts::default(),
            rate_per_hour: 0.0,
            eta: None,
            created_at: self.now,
            created_by: actor.to_string(),
            version: 0,
        });
        self.deployment_runs.push(DeploymentRun::default());
        self.dirty.deployments.insert(d);
        let mut busy = 0;
        for &r in &stage_rings {
            let members = self.ring_runs[r].members.clone();
            for h in members {
                let h = h as usize;
                let state = self.hosts[h].state;
                if let Some(old) = self.host_runs[h].stage
                    && !self.host_runs[h].stage_done
                {
                    self.ring_runs[old].away.add(state);
                }
                self.host_runs[h].stage = Some(r);
                self.host_runs[h].stage_done = false;
                self.rings[r].counts.add(state);
                if self.hosts[h].state.is_in_flight() || self.host_runs[h].uninstall.is_some() {
                    self.host_runs[h].adopt = Some(d);
                    busy += 1;
                } else {
                    self.adopt(h, d);
                }
            }
        }
        self.summary.emergency = Some(Emergency {
            deployment_id: dep_id,
            cve: cve.clone(),
            patch_id: patch.id.clone(),
            started_by: actor.to_string(),
            started_at: self.now,
            reason: request.reason.clone().unwrap_or_default(),
            ticket: request.ticket.clone().unwrap_or_default(),
        });
        self.dirty.summary = true;
        self.open_ring(d, stage_rings[0], actor);
        let sizes: Vec<String> = stage_rings
            .iter()
            .map(|&r| {
                format!(
                    "{} {}",
                    self.rings[r].name.trim_start_matches("Emergency: "),
                    self.ring_runs[r].members.len()
                )
            })
            .collect();
        let mut detail = format!("{} hosts in stages: {}", targets.len(), sizes.join(", "));
        if busy > 0 {
            detail.push_str(&format!(
                "; {busy} busy hosts join when their current install finishes"
            ));
        }
        Ok(self.done(Verb::Emergency, Scope::Fleet, request, actor, Some(detail)))
    }

    /// Check the engine's running counts against a full recount (for tests).
    #[cfg(test)]
    #[allow(dead_code)]
    pub fn recount(&self) -> (Vec<HostCounts>, Vec<HostCounts>, HostCounts) {
        let mut summary = HostCounts::default();
        let mut rings: Vec<HostCounts> = self.ring_runs.iter().map(|r| r.away).collect();
        let mut deployments: Vec<HostCounts> =
            self.deployment_runs.iter().map(|d| d.away).collect();
        for (h, host) in self.hosts.iter().enumerate() {
            let run = &self.host_runs[h];
            rings[run.home].add(host.state);
            if let Some(s) = run.stage.filter(|_| !run.stage_done) {
                rings[s].add(host.state);
            }
            if let Some(d) = run.deployment {
                deployments[d].add(host.state);
            }
            summary.add(host.state);
        }
        (rings, deployments, summary)
    }

    /// Recount what every ring lent to emergencies (for tests).
    #[cfg(test)]
    pub fn recount_lent(&self) -> Vec<(HostCounts, HostCounts)> {
        let mut lent = vec![(HostCounts::default(), HostCounts::default()); self.rings.len()];
        for (h, host) in self.hosts.iter().enumerate() {
            let run = &self.host_runs[h];
            if let Some((_, before)) = run.away_from {
                lent[run.home].0.add(host.state);
                lent[run.home].1.add(before);
            }
        }
        lent
    }
}

#[derive(Debug, Clone, Copy)]
enum Scope {
    Deployment(usize),
    Ring(usize),
    Host(usize),
    Fleet,
}

/// Split emergency targets into the four stages (see `Engine::emergency`). A server
/// patching group moves as one, in the stage of its most urgent member, so that it can
/// reboot in order; look-alike servers come as whole groups without urgent members.
fn emergency_stages(hosts: &[Host], targets: &[usize]) -> [Vec<usize>; 4] {
    let priority = |h: &Host| h.exposed || h.criticality == Criticality::MissionCritical;
    let profile = |h: &Host| (h.model.clone(), h.tier, h.kind == HostKind::Server);
    let wanted: BTreeSet<_> = targets
        .iter()
        .map(|&h| &hosts[h])
        .filter(|h| priority(h))
        .map(profile)
        .collect();
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &h in targets {
        if let Some(g) = hosts[h].group_id.as_deref() {
            members.entry(g).or_default().push(h);
        }
    }
    let urgent_groups: BTreeSet<&str> = members
        .iter()
        .filter(|(_, list)| list.iter().any(|&h| priority(&hosts[h])))
        .map(|(g, _)| *g)
        .collect();
    let lookalike_size = (targets.len() / 100).clamp(3, 50);
    let candidates: Vec<usize> = targets
        .iter()
        .copied()
        .filter(|&h| {
            let host = &hosts[h];
            !priority(host)
                && matches!(host.criticality, Criticality::Low | Criticality::Medium)
                && !host.roaming
                && host
                    .group_id
                    .as_deref()
                    .is_none_or(|g| !urgent_groups.contains(g))
                && wanted.contains(&profile(host))
        })
        .collect();
    // Round-robin over profiles so every kind of important host has a twin tested.
    let mut lookalike: BTreeSet<usize> = BTreeSet::new();
    let mut per_profile: BTreeMap<_, usize> = BTreeMap::new();
    for round in 0..20 {
        let before = lookalike.len();
        for &h in &candidates {
            if lookalike.contains(&h) {
                continue;
            }
            let count = per_profile.entry(profile(&hosts[h])).or_default();
            if *count != round {
                continue;
            }
            let unit = match hosts[h].group_id.as_deref() {
                Some(g) => members[g].clone(),
                None => vec![h],
            };
            if lookalike.len() + unit.len() <= lookalike_size {
                *count += 1;
                lookalike.extend(unit);
            }
        }
        if lookalike.len() == before || lookalike.len() >= lookalike_size {
            break;
        }
    }
    let base = |h: usize| -> usize {
        let host = &hosts[h];
        if lookalike.contains(&h) {
            0
        } else if priority(host) {
            1
        } else if host.criticality == Criticality::High {
            2
        } else {
            3
        }
    };
    let group_stage: BTreeMap<&str, usize> = members
        .iter()
        .map(|(g, list)| (*g, list.iter().map(|&h| base(h)).min().unwrap_or(3)))
        .collect();
    let mut stages: [Vec<usize>; 4] = Default::default();
    for &h in targets {
        let stage = match hosts[h].group_id.as_deref() {
            Some(g) => group_stage[g],
            None => base(h),
        };
        stages[stage].push(h);
    }
    let group_of = |h: usize| hosts[h].group_id.clone();
    stages[1].sort_by_key(|&h| (!hosts[h].exposed, hosts[h].criticality, group_of(h), h));
    stages[3].sort_by_key(|&h| (hosts[h].criticality, group_of(h), h));
    stages
}

/// Hosts whose install is over: failed, or installed (waiting for or past the reboot).
/// Failures happen at install time, so this is the fair denominator of a failure rate.
fn installs_done(c: &HostCounts) -> u32 {
    c.failed + c.pending_reboot + c.rebooting + c.verifying + c.succeeded
}

fn check_version(request: &ActionRequest, target: &str, current: u64) -> Result<(), ActError> {
    match request.if_match {
        Some(expected) if expected != current => Err(ActError::VersionMismatch {
            target: target.to_string(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Deployment => "deployment",
        TargetKind::Ring => "ring",
        TargetKind::Host => "host",
        TargetKind::Fleet => "fleet",
    }
}

pub fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Web => "web",
        Tier::App => "app",
        Tier::Db => "db",
        Tier::File => "file",
    }
}

pub fn deployment_state_name(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::AwaitingApproval => "awaiting approval",
        DeploymentState::Running => "running",
        DeploymentState::Paused => "paused",
        DeploymentState::Halted => "halted",
        DeploymentState::RollingBack => "rolling back",
        DeploymentState::RolledBack => "rolled back",
        DeploymentState::Declined => "declined",
        DeploymentState::Completed => "completed",
    }
}

pub fn ring_state_name(state: RingState) -> &'static str {
    match state {
        RingState::Waiting => "waiting",
        RingState::Deploying => "deploying",
        RingState::Soaking => "soaking",
        RingState::Paused => "paused",
        RingState::Halted => "halted",
        RingState::Done => "done",
    }
}

/// Internal access for the generator.
impl Engine {
    pub fn arm_at(&mut self, h: usize, at: DateTime<Utc>) {
        self.arm(h, secs(at));
    }
}
