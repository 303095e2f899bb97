//! What a console learns from keeping a fleet in sync: the state of its link to the
//! fleet and the changes, as one stream of [`SyncUpdate`]s. The API client's sync loop
//! produces them; the app applies them.

use chrono::{DateTime, Utc};

use crate::model::{Event, Fleet, Host, Identity};

/// The state of the link to the fleet, with real wall-clock times.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// First connection under way; nothing shown yet.
    Connecting { since: DateTime<Utc> },
    /// Watching the event stream: the fleet is current.
    Live { since: DateTime<Utc> },
    /// The link was lost: the data shown is stale since `since` (unchanged across
    /// attempts); attempt `attempt` is due at `next_attempt_at`.
    Reconnecting {
        since: DateTime<Utc>,
        attempt: u32,
        next_attempt_at: DateTime<Utc>,
        error: String,
    },
}

/// What the sync task tells the console.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncUpdate {
    /// Who the token is (after connecting, and again after a 401/403).
    Identity(Identity),
    Connection(Connection),
    /// A fresh copy of the whole fleet: replace, do not merge. On first listing a big
    /// fleet it holds what the first screen needs (every list, the failed hosts) and
    /// [`SyncUpdate::Hosts`] pages follow.
    Snapshot(Box<Fleet>),
    /// A page of the other hosts behind the first screen's snapshot: merge them (the
    /// newest version of each wins).
    Hosts(Box<HostsPage>),
    /// Events in order, strictly after the last snapshot or batch; apply each.
    Events(Vec<Event>),
    /// Malformed data or another non-fatal error, in one line, to show the operator.
    Problem(String),
    /// What the gateway said of itself (the `patchdeck-gateway` header), when it changed.
    Gateway(GatewayHealth),
}

/// Hosts listed behind the first screen, and how far the listing is.
#[derive(Debug, Clone, PartialEq)]
pub struct HostsPage {
    pub hosts: Vec<Host>,
    /// Hosts listed so far, this page included.
    pub listed: usize,
    /// The last page: every host is in.
    pub done: bool,
}

impl HostsPage {
    /// Merge the page into `fleet` (the newest version of each host wins); the ids
    /// merged.
    pub fn merge_into(self, fleet: &mut Fleet) -> Vec<String> {
        let ids = self.hosts.iter().map(|h| h.id.to_string()).collect();
        for host in self.hosts {
            fleet.upsert(crate::model::Change::Host(host));
        }
        fleet.listing_hosts = !self.done;
        if self.done {
            fleet.repack_hosts();
        }
        ids
    }
}

/// A gateway with a store says on every answer whether it can keep what it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayHealth {
    Ok,
    /// Its store refuses writes: reads work, actions are refused until it recovers.
    Degraded,
}

impl GatewayHealth {
    /// From the header's value ("ok" or "degraded"); anything else is not understood.
    pub fn from_header(value: &str) -> Option<GatewayHealth> {
        match value.trim() {
            "ok" => Some(GatewayHealth::Ok),
            "degraded" => Some(GatewayHealth::Degraded),
            _ => None,
        }
    }
}
