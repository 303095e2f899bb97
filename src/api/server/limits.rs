//! The server's bounds, in one place: how much one caller, and all of them together,
//! may make the server hold. docs/api.md ("Limits") states each one.

use std::time::Duration;

use super::gateway::KEEP_KEYS;

/// Event streams one identity may hold open at once.
pub const STREAMS_PER_IDENTITY: usize = 8;
/// Event streams the server holds open at once, all identities together.
pub const STREAMS: usize = 256;
/// Events read from the log at once while a stream replays (the next chunk is read
/// when this one has been sent).
pub const REPLAY_CHUNK: usize = 500;
/// The furthest behind a stream may start: a `since` more events behind than this is
/// answered 410, as for a compacted log (list again, then watch).
pub const REPLAY_MAX: u64 = 50_000;
/// Chunks of history read at once, all streams together: a hundred streams opened
/// at once take turns instead of starving every other request of the CPU.
pub const REPLAY_READS: usize = 2;
/// `Idempotency-Key`s one identity may hold at once (each is kept for `keep_keys`).
pub const KEYS_PER_IDENTITY: usize = 1000;
/// Audit entries a server without a store keeps in memory (the oldest go first).
pub const AUDIT_IN_MEMORY: usize = 10_000;
/// `Retry-After` of a refused event stream, seconds.
pub const STREAM_RETRY_AFTER_SECS: u64 = 15;

/// The bounds of one server; [`Limits::default`] holds the constants above.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub streams_per_identity: usize,
    pub streams: usize,
    pub replay_chunk: usize,
    pub replay_max: u64,
    pub keys_per_identity: usize,
    /// How long an `Idempotency-Key` and its answer are kept (in memory; the store's
    /// copy is forgotten after `GatewayOptions::keep_keys`).
    pub keep_keys: Duration,
    pub audit_in_memory: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            streams_per_identity: STREAMS_PER_IDENTITY,
            streams: STREAMS,
            replay_chunk: REPLAY_CHUNK,
            replay_max: REPLAY_MAX,
            keys_per_identity: KEYS_PER_IDENTITY,
            keep_keys: KEEP_KEYS,
            audit_in_memory: AUDIT_IN_MEMORY,
        }
    }
}
