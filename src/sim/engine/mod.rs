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
//!   for approval. Production rings need two different approvers (persons, not
//!   tokens), and so does resuming a halted production ring.
//! - Emergencies are two-person too: one approver requests, another person confirms
//!   within [`crate::model::EMERGENCY_REQUEST_TTL_SECS`] of fleet time, or the request
//!   expires. Only a patch that fixes a known exploited CVE (and is not halted while it
//!   cannot be uninstalled) is expedited without the confirmer's override reason.
//! - Failure threshold: while a ring deploys, once enough hosts failed to mean something
//!   (2% of the ring, at least [`MIN_FAILURES_TO_HALT`], at most 25) and failures exceed
//!   the gate's share of the installs that are over (failed, or installed and waiting
//!   for or past the reboot), the system halts the ring and the deployment.
//! - Exceptions hold a host (or one patch on it) back until they expire or are
//!   revoked; when the clock passes the expiry the host goes back to the queue.
//!
//! Where each part lives: `host` (a host's lifecycle, counts and timer), `schedule`
//! (the step, windows, starting installs, rates), `groups` (server reboot order),
//! `gates` (soak, thresholds, opening rings, halts), `act` (validating and dispatching
//! a verb, recording actions), `approve`, `control` (pause, resume, halt, retry),
//! `exceptions` (exclude, renew, revoke, expiry), `rollback`, `emergency` (stages, taking hosts over), `emergency_request`
//! (the two-person request, confirmation and expiry), `plan` (what an action would do,
//! by doing it on a scratch copy), `lookalike` (what a resume would meet again),
//! `query` (lookups and host pages).

mod act;
mod approve;
mod control;
mod coverage;
mod emergency;
mod emergency_request;
mod exceptions;
mod gates;
mod groups;
mod host;
mod ledger;
mod lookalike;
mod plan;
mod query;
mod rollback;
mod schedule;

pub use ledger::{ACTIONS_KEPT, Ledger};

use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use rand_chacha::ChaCha8Rng;

use crate::model::{
    Action, Change, Deployment, DeploymentState, Failure, Host, HostCounts, HostState, Patch, Ring,
    RingState, Summary, Transition,
};

use super::Scenario;

pub use host::FAILURE_CODES;

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
    /// The deployment this host last failed in, and how: kept when a rollback or an
    /// exclusion clears `Host::failure` (the look-alike warnings read it), forgotten
    /// when the host is retried.
    pub last_failure: Option<Box<(usize, Failure)>>,
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
    /// Those hosts, and the patches that cannot be uninstalled from them.
    pub restore_hosts: Vec<u32>,
    pub restore_kbs: Vec<String>,
    /// Deployment rolled back as a whole (becomes rolled-back when done).
    pub deployment: Option<usize>,
    /// Patches to uninstall (a deployment's); otherwise those of each host's deployment.
    pub patches: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone)]
struct Dirty {
    summary: bool,
    rings: BTreeSet<usize>,
    deployments: BTreeSet<usize>,
    hosts: BTreeSet<u32>,
    actions: BTreeSet<usize>,
    patches: BTreeSet<usize>,
}

/// The simulated fleet. A clone is a scratch copy: [`Engine::plan`] acts on one to
/// learn what an action would do.
#[derive(Clone)]
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
    pub actions: Ledger<Action>,
    pub action_runs: Ledger<ActionRun>,
    pub faults: Vec<Fault>,
    /// The action of the emergency request waiting for its second approver
    /// (`summary.pending_emergency`).
    pub emergency_request: Option<usize>,
    timers: BTreeSet<(i64, u32)>,
    /// Expiries of the exceptions in force: (fleet second, host).
    expiries: BTreeSet<(i64, u32)>,
    active_groups: BTreeSet<usize>,
    dirty: Dirty,
}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn at_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(secs(t) - secs(t).rem_euclid(60), 0).unwrap_or(t)
}

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
            actions: Ledger::default(),
            action_runs: Ledger::default(),
            faults: Vec::new(),
            emergency_request: None,
            timers: BTreeSet::new(),
            expiries: BTreeSet::new(),
            active_groups: BTreeSet::new(),
            dirty: Dirty::default(),
        }
    }

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
        self.forget_old_actions();
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

    pub fn set_clock_speed(&mut self, speed: f64) {
        if self.summary.clock_speed != speed {
            self.summary.clock_speed = speed;
            self.dirty.summary = true;
        }
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

    /// Arm a host's timer for `at` (for the generator).
    pub fn arm_at(&mut self, h: usize, at: DateTime<Utc>) {
        self.arm(h, secs(at));
    }
}
