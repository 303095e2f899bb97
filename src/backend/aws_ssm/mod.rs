//! The AWS Systems Manager fleet (issue 14): managed instances, Patch Manager patch
//! groups and states, Run Command `AWS-RunPatchBaseline` commands, read through the
//! official SDK and mapped into patchdeck's model.
//!
//! - `client`: the SDK edge (the client from the standard chain or an explicit
//!   configuration; paged reads as plain records; errors classified).
//! - `wire`: the records and SSM's enums as closed enums of their wire values.
//! - `map`: pure mapping into the model (docs/backends.md has the tables).
//! - `read`: one full read of a fleet.
//! - `settings`: what the backend is told (chain overrides, rings, gates, rollback).
//! - `diff`: what changed between two reads, as the event stream's changes.
//! - `budget`: the shared budget of calls, halved on throttling, with backoff.
//! - `rollout`: the rollout state SSM lacks (attempts, holds, approvals, gates) and
//!   the markers of patchdeck's commands.
//! - `fleet`: `SsmBackend`, the Backend over the polled fleet (reads, poller, actions).
//! - `fake`: a fake SSM on 127.0.0.1 for tests and demos.
//!
//! Nothing here reaches into `api` or `app`.

pub mod budget;
pub mod client;
pub mod diff;
pub mod fake;
pub mod fleet;
pub mod map;
pub mod read;
pub mod rollout;
pub mod settings;
pub mod wire;

pub use client::{ChainSettings, ExplicitSettings, NoWait, SsmClient, SsmError};
pub use diff::Snapshot;
pub use fleet::{Hooks, SsmBackend};
pub use read::{
    FleetRead, Records, fetch_all, fetch_all_with, fetch_in_flight, map_records, read_fleet,
};
pub use settings::{RollbackDocument, SsmSettings};
