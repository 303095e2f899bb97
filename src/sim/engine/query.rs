//! Reading the fleet: summary, lookups by id, and filtered pages of hosts.

use crate::backend::{HostPage, HostQuery};
use crate::model::{Host, Summary};

use super::{DEFAULT_PAGE, Engine, MAX_PAGE};

impl Engine {
    pub fn summary(&self) -> Summary {
        let mut summary = self.summary.clone();
        summary.now = self.now;
        summary
    }

    pub fn ring_index(&self, id: &str) -> Option<usize> {
        self.rings.iter().position(|r| r.id == id)
    }

    pub fn deployment_index(&self, id: &str) -> Option<usize> {
        self.deployments.iter().position(|d| d.id == id)
    }

    pub fn host_index(&self, id: &str) -> Option<usize> {
        let i = self.hosts.partition_point(|h| h.id.as_str() < id);
        (i < self.hosts.len() && self.hosts[i].id == id).then_some(i)
    }

    /// One host with its history.
    pub fn host(&self, id: &str) -> Option<Host> {
        let i = self.host_index(id)?;
        let mut host = self.hosts[i].clone();
        host.history = self.histories[i].clone();
        Some(host)
    }

    /// A filtered page of hosts, in id order after `query.after`.
    pub fn query(&self, query: &HostQuery) -> (Vec<Host>, bool) {
        let limit = if query.limit == 0 {
            DEFAULT_PAGE
        } else {
            query.limit.min(MAX_PAGE)
        };
        let start = match &query.after {
            Some(after) => self
                .hosts
                .partition_point(|h| h.id.as_str() <= after.as_str()),
            None => 0,
        };
        let ring = query.ring.as_deref().map(|id| self.ring_index(id));
        let text = query.text.as_deref().map(str::to_lowercase);
        let mut items = Vec::new();
        for i in start..self.hosts.len() {
            let host = &self.hosts[i];
            if let Some(ring) = ring {
                let run = &self.host_runs[i];
                match ring {
                    Some(r) if run.home == r || run.stage == Some(r) => {}
                    _ => continue,
                }
            }
            if !query.admits_state_and_failure(host) {
                continue;
            }
            if let Some(text) = &text
                && !self.search_keys[i].contains(text.as_str())
            {
                continue;
            }
            if items.len() == limit {
                return (items, true);
            }
            items.push(host.clone());
        }
        (items, false)
    }

    pub fn page(&self, query: &HostQuery, sequence: u64) -> HostPage {
        let (items, more) = self.query(query);
        HostPage {
            items,
            more,
            sequence,
        }
    }
}
