//! patchdeck: a terminal console for staged patch rollouts.
//!
//! Layout: `model` (domain types), `backend` (the Backend seam), `sim` (simulated
//! fleet), `api` (API v1 wire types, client, server), `app` (state and pure update),
//! `ui` (pure view), `text` (untrusted text and durations, shared), `keys` (key
//! actions and bindings), `config` and `theme`.

pub mod api;
pub mod app;
pub mod audit;
pub mod backend;
pub mod bench;
pub mod compliance;
pub mod config;
pub mod config_command;
pub mod console;
pub mod dev;
pub mod keys;
pub mod memory;
pub mod model;
pub mod notify;
pub mod report;
pub mod serve;
pub mod sim;
pub mod store;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod ui;
