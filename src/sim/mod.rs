//! Simulated fleet: a pure, clock-driven engine deterministic from its seed, and the
//! `Simulator` Backend that wraps it with an event log and a real-time clock.
//!
//! - `engine`: the fleet as data and the rules it follows (lifecycle, gates, reboot
//!   order, thresholds, actions). Pure: no I/O, no real clock.
//! - `generate`: the fleet and its start state for each scenario, from the seed.
//! - `crate::backend::log`: the numbered, compactable event history (shared with
//!   the SSM backend).
//!
//! Same seed, same start and the same sequence of `advance` and `act` calls give the
//! same events, byte for byte. Only `spawn_clock` brings real time in, and only by
//! calling `advance`.

mod colleague;
mod engine;
mod generate;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::backend::log;
use crate::backend::{ActError, ActionRequest, Backend, Compacted, HostPage, HostQuery, Listing};
use crate::model::{
    Action, ActionPlan, Capabilities, Deployment, Event, Host, Identity, Patch, Ring, Seq, Summary,
};

pub use colleague::{
    DEMO_COLLEAGUE, DEMO_COLLEAGUE_DELAY, confirmation as demo_confirmation, spawn_demo_colleague,
};
pub use engine::{ACTIONS_KEPT, MIN_FAILURES_TO_HALT, STEP_SECS, SYSTEM};
pub use generate::{
    BAD_MODEL, MAX_HOSTS, MIN_HOSTS, patch_tuesday, rollout_patch_tuesday, second_tuesday,
};
pub use log::DEFAULT_CAPACITY as EVENT_LOG_CAPACITY;

/// The story the simulated fleet tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scenario {
    /// A normal month: a few failures, gates waiting for approval.
    #[default]
    PatchTuesday,
    /// One KB fails with 0x800f0922 on one hardware model; the threshold halts the ring.
    BadPatch,
    /// An exploited CVE arrives: the emergency path.
    ZeroDay,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Number of hosts, kept between [`MIN_HOSTS`] and [`MAX_HOSTS`].
    pub hosts: usize,
    pub seed: u64,
    pub scenario: Scenario,
    /// Fleet clock at start. Same seed, same start, same story.
    pub start: DateTime<Utc>,
}

/// Actions listed (`Backend::actions`): the last ones taken; older ones are no longer
/// listed (their changes were events; a gateway's store and audit keep them).
pub const ACTIONS_LISTED: usize = 1000;

/// Real-time tick of `spawn_clock`.
const TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// Capacity of the live event channel; a receiver that lags catches up with
/// `events_since`.
const CHANNEL_CAPACITY: usize = 16_384;

struct Inner {
    engine: engine::Engine,
    log: log::EventLog,
    /// Fleet seconds asked for but not yet stepped (less than one step).
    carry_secs: u64,
}

/// The simulated fleet as a Backend.
pub struct Simulator {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Event>,
}

impl Simulator {
    /// A fleet of every host the simulator has and nothing else (for the console's
    /// indexes' tests).
    #[cfg(test)]
    pub(crate) fn hosts_fleet(&self) -> crate::model::Fleet {
        use crate::backend::{Backend, HostQuery};
        let mut fleet = crate::model::Fleet::default();
        let page = self.hosts(&HostQuery {
            limit: 10_000_000,
            ..HostQuery::default()
        });
        for host in page.items {
            fleet.hosts.insert(host.id.clone(), host);
        }
        fleet
    }

    pub fn new(config: SimConfig) -> Arc<Simulator> {
        Self::with_log_capacity(config, log::DEFAULT_CAPACITY)
    }

    /// A simulator that keeps at most about `capacity` events before compacting.
    pub fn with_log_capacity(config: SimConfig, capacity: usize) -> Arc<Simulator> {
        let engine = generate::generate(&config);
        let (events, _) = broadcast::channel(CHANNEL_CAPACITY);
        Arc::new(Simulator {
            inner: Mutex::new(Inner {
                engine,
                log: log::EventLog::new(capacity),
                carry_secs: 0,
            }),
            events,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number, log and broadcast what the engine changed.
    fn publish(&self, inner: &mut Inner) {
        let at = inner.engine.now;
        for change in inner.engine.flush() {
            let event = inner.log.push(at, change);
            // No receiver is fine: nobody is watching.
            let _ = self.events.send(event);
        }
    }

    /// Advance the fleet clock by `secs` fleet seconds, in steps of [`STEP_SECS`]
    /// (a remainder is carried to the next call), emitting the events of every step.
    pub fn advance(&self, secs: u64) {
        let mut inner = self.lock();
        inner.carry_secs += secs;
        let step = STEP_SECS as u64;
        while inner.carry_secs >= step {
            inner.carry_secs -= step;
            inner.engine.step();
            self.publish(&mut inner);
        }
    }

    /// Advance the fleet clock in whole steps of [`STEP_SECS`] up to `fleet_time` (the
    /// clock ends at most one step short of it; never goes back), emitting the events
    /// of every step. Replaying a journal of `advance_to` and `act` calls rebuilds the
    /// same fleet with the same events. Leaves any carry of `advance` alone.
    pub fn advance_to(&self, fleet_time: DateTime<Utc>) {
        let mut inner = self.lock();
        let step = chrono::Duration::seconds(STEP_SECS);
        while inner.engine.now + step <= fleet_time {
            inner.engine.step();
            self.publish(&mut inner);
        }
    }

    /// Set the speed reported as `Summary.clock_speed` (an event if it changed),
    /// without starting a clock: for a fleet whose clock is driven by `advance_to`.
    pub fn set_clock_speed(&self, speed: f64) {
        let speed = if speed.is_finite() {
            speed.max(0.0)
        } else {
            0.0
        };
        let mut inner = self.lock();
        inner.engine.set_clock_speed(speed);
        self.publish(&mut inner);
    }

    /// The fleet clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().engine.now
    }

    /// Tick in real time: every 250 ms advance by `speed * 0.25` fleet seconds
    /// (fractions carried). `speed` is reported as `Summary.clock_speed`; 0 freezes the
    /// clock (the task ends at once and nothing ever changes). The task also ends when
    /// the simulator is dropped.
    pub fn spawn_clock(self: &Arc<Self>, speed: f64) -> tokio::task::JoinHandle<()> {
        let speed = if speed.is_finite() {
            speed.max(0.0)
        } else {
            0.0
        };
        {
            let mut inner = self.lock();
            inner.engine.set_clock_speed(speed);
            self.publish(&mut inner);
        }
        let simulator: Weak<Simulator> = Arc::downgrade(self);
        tokio::spawn(async move {
            if speed == 0.0 {
                return;
            }
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            let mut fraction = 0.0f64;
            loop {
                interval.tick().await;
                let Some(simulator) = simulator.upgrade() else {
                    return;
                };
                fraction += speed * TICK.as_secs_f64();
                let whole = fraction.floor();
                fraction -= whole;
                if whole >= 1.0 {
                    simulator.advance(whole as u64);
                }
            }
        })
    }

    /// Drop the event history up to and including `seq`: `events_since` of an older
    /// sequence answers `Compacted` (the API's 410 Gone).
    pub fn compact_events_through(&self, seq: Seq) {
        self.lock().log.compact_through(seq);
    }

    /// Events kept in the log now.
    pub fn logged_events(&self) -> usize {
        self.lock().log.len()
    }

    /// Action records the engine holds now (at most about 1.5 x [`ACTIONS_KEPT`]).
    pub fn engine_actions_kept(&self) -> usize {
        self.lock().engine.actions.kept()
    }
}

impl Backend for Simulator {
    fn capabilities(&self) -> Capabilities {
        self.lock().engine.summary.capabilities.clone()
    }

    fn summary(&self) -> (Summary, Seq) {
        let inner = self.lock();
        (inner.engine.summary(), inner.log.last())
    }

    fn rings(&self) -> Listing<Ring> {
        let inner = self.lock();
        let mut items = inner.engine.rings.clone();
        items.sort_by_key(|r| r.order);
        Listing {
            items,
            sequence: inner.log.last(),
        }
    }

    fn ring(&self, id: &str) -> Option<Ring> {
        let inner = self.lock();
        inner
            .engine
            .ring_index(id)
            .map(|r| inner.engine.rings[r].clone())
    }

    fn deployments(&self) -> Listing<Deployment> {
        let inner = self.lock();
        Listing {
            items: inner.engine.deployments.clone(),
            sequence: inner.log.last(),
        }
    }

    fn deployment(&self, id: &str) -> Option<Deployment> {
        let inner = self.lock();
        inner
            .engine
            .deployment_index(id)
            .map(|d| inner.engine.deployments[d].clone())
    }

    fn patches(&self) -> Listing<Patch> {
        let inner = self.lock();
        Listing {
            items: inner.engine.patches.clone(),
            sequence: inner.log.last(),
        }
    }

    fn actions(&self) -> Listing<Action> {
        let inner = self.lock();
        Listing {
            items: inner.engine.actions.last(ACTIONS_LISTED).cloned().collect(),
            sequence: inner.log.last(),
        }
    }

    fn hosts(&self, query: &HostQuery) -> HostPage {
        let inner = self.lock();
        inner.engine.page(query, inner.log.last())
    }

    fn host(&self, id: &str) -> Option<Host> {
        self.lock().engine.host(id)
    }

    fn sequence(&self) -> Seq {
        self.lock().log.last()
    }

    fn events_since(&self, since: Seq) -> Result<Vec<Event>, Compacted> {
        self.lock().log.since(since)
    }

    fn events_page(&self, since: Seq, limit: usize) -> Result<Vec<Event>, Compacted> {
        self.lock().log.page(since, limit)
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    fn act(&self, request: ActionRequest, actor: &Identity) -> Result<Action, ActError> {
        let mut inner = self.lock();
        let a = inner.engine.act(&request, actor)?;
        self.publish(&mut inner);
        Ok(inner.engine.actions[a].clone())
    }

    fn plan(&self, request: &ActionRequest, actor: &Identity) -> Result<ActionPlan, ActError> {
        self.lock().engine.plan(request, actor)
    }
}
