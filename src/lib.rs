//! patchdeck: a terminal console for staged patch rollouts.
//!
//! Layout: `model` (domain types), `backend` (the Backend seam), `sim` (simulated
//! fleet), `api` (API v1 wire types, client, server), `app` (state and pure update),
//! `ui` (pure view), `config` and `theme`.

pub mod api;
pub mod app;
pub mod backend;
pub mod model;
pub mod sim;
pub mod ui;
