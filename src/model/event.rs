//! Events: changes to one resource each, in the order of the stream.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Action, Deployment, Host, Patch, Ring, Seq, Summary};

/// A change: the new state of one resource (upsert semantics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "item", rename_all = "kebab-case")]
pub enum Change {
    Summary(Summary),
    Ring(Ring),
    Deployment(Deployment),
    Host(Host),
    Patch(Patch),
    Action(Action),
}

impl Change {
    /// The SSE `event:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Summary(_) => "summary",
            Change::Ring(_) => "ring",
            Change::Deployment(_) => "deployment",
            Change::Host(_) => "host",
            Change::Patch(_) => "patch",
            Change::Action(_) => "action",
        }
    }
}

/// One entry of the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Global sequence number; the SSE `id`.
    pub seq: Seq,
    /// Fleet time of the change.
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub change: Change,
}
