//! Simulated fleet: a pure, clock-driven engine deterministic from its seed, and the
//! `Simulator` Backend that wraps it with an event log and a real-time clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::backend::{ActError, ActionRequest, Backend, Compacted, HostPage, HostQuery, Listing};
use crate::model::{
    Action, Capabilities, Deployment, Event, Host, Identity, Patch, Ring, Seq, Summary,
};

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
    pub hosts: usize,
    pub seed: u64,
    pub scenario: Scenario,
    /// Fleet clock at start. Same seed, same start, same story.
    pub start: DateTime<Utc>,
}

/// The simulator as a Backend (stub until the engine lands).
pub struct Simulator {
    _config: SimConfig,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Arc<Simulator> {
        Arc::new(Simulator { _config: config })
    }
}

impl Backend for Simulator {
    fn capabilities(&self) -> Capabilities {
        todo!()
    }
    fn summary(&self) -> (Summary, Seq) {
        todo!()
    }
    fn rings(&self) -> Listing<Ring> {
        todo!()
    }
    fn ring(&self, _id: &str) -> Option<Ring> {
        todo!()
    }
    fn deployments(&self) -> Listing<Deployment> {
        todo!()
    }
    fn deployment(&self, _id: &str) -> Option<Deployment> {
        todo!()
    }
    fn patches(&self) -> Listing<Patch> {
        todo!()
    }
    fn actions(&self) -> Listing<Action> {
        todo!()
    }
    fn hosts(&self, _query: &HostQuery) -> HostPage {
        todo!()
    }
    fn host(&self, _id: &str) -> Option<Host> {
        todo!()
    }
    fn sequence(&self) -> Seq {
        todo!()
    }
    fn events_since(&self, _since: Seq) -> Result<Vec<Event>, Compacted> {
        todo!()
    }
    fn subscribe(&self) -> broadcast::Receiver<Event> {
        todo!()
    }
    fn act(&self, _request: ActionRequest, _actor: &Identity) -> Result<Action, ActError> {
        todo!()
    }
}
