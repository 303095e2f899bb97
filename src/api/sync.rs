//! Keeps a fleet in sync (stub with the agreed interface; the real one is on branch `client`).

use chrono::{DateTime, Utc};

use crate::model::{Event, Fleet, Identity};

use super::client::Client;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Connecting {
        since: DateTime<Utc>,
    },
    Live {
        since: DateTime<Utc>,
    },
    Reconnecting {
        since: DateTime<Utc>,
        attempt: u32,
        next_attempt_at: DateTime<Utc>,
        error: String,
    },
}

#[derive(Debug, Clone)]
pub enum SyncUpdate {
    Identity(Identity),
    Connection(Connection),
    Snapshot(Box<Fleet>),
    Events(Vec<Event>),
    Problem(String),
}

pub fn spawn_sync(
    _client: Client,
    _updates: tokio::sync::mpsc::Sender<SyncUpdate>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}
