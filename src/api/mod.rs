//! patchdeck API v1: wire types, the HTTP client that keeps a fleet in sync, and the
//! axum server that exposes any Backend. docs/api.md documents it.

pub mod client;
pub mod server;
pub mod sync;
pub mod tokens;
pub mod wire;
