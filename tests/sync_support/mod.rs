//! A console stand-in for the sync tests against real servers: runs `spawn_sync_with`
//! and applies its updates to a Fleet, the way the console does.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchdeck::api::client::Client;
use patchdeck::api::sync::{SyncOptions, spawn_sync_with};
use patchdeck::backend::{Connection, SyncUpdate};
use patchdeck::model::{Fleet, Seq};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client_mock::{recording_sleeper, within};

pub struct Synced {
    updates: mpsc::Receiver<SyncUpdate>,
    task: JoinHandle<()>,
    pub fleet: Fleet,
    /// Sequence numbers of the events applied, in order.
    pub applied: Vec<Seq>,
    /// Sequence of each snapshot received.
    pub snapshots: Vec<Seq>,
    /// Hosts in each snapshot, and whether more were to follow.
    pub first_screens: Vec<(usize, bool)>,
    /// Each page of hosts behind a snapshot: hosts listed so far, and the last page.
    pub pages: Vec<(usize, bool)>,
    pub live: bool,
    pub reconnects: usize,
    pub problems: Vec<String>,
    /// Fail on a Problem update unless the server is set to misbehave.
    pub problems_allowed: bool,
    /// What the sync loop waited for (it never really waits).
    pub slept: Arc<Mutex<Vec<Duration>>>,
}

impl Synced {
    pub fn start(url: &str, token: &str) -> Synced {
        let (sleeper, slept) = recording_sleeper();
        let client = Client::new(url, Some(token.into()))
            .unwrap()
            .with_sleeper(sleeper);
        let (sender, updates) = mpsc::channel(16);
        let task = spawn_sync_with(client, sender, SyncOptions::default());
        Synced {
            updates,
            task,
            fleet: Fleet::default(),
            applied: Vec::new(),
            snapshots: Vec::new(),
            first_screens: Vec::new(),
            pages: Vec::new(),
            live: false,
            reconnects: 0,
            problems: Vec::new(),
            problems_allowed: false,
            slept,
        }
    }

    /// Take updates until the fleet is live at `seq` or later.
    pub async fn until_live_at(&mut self, seq: Seq) {
        within("the synced fleet to catch up", async {
            while !(self.live && self.fleet.sequence >= seq) {
                let update = self.updates.recv().await.expect("sync ended");
                self.take(update);
            }
        })
        .await;
    }

    fn take(&mut self, update: SyncUpdate) {
        match update {
            SyncUpdate::Snapshot(fleet) => {
                self.snapshots.push(fleet.sequence);
                self.first_screens
                    .push((fleet.hosts.len(), fleet.listing_hosts));
                self.fleet = *fleet;
            }
            SyncUpdate::Hosts(page) => {
                assert!(
                    self.fleet.listing_hosts,
                    "hosts after the first screen only"
                );
                self.pages.push((page.listed, page.done));
                page.merge_into(&mut self.fleet);
            }
            SyncUpdate::Events(events) => {
                assert!(!self.fleet.listing_hosts, "events once every host is in");
                for event in events {
                    self.applied.push(event.seq);
                    let seq = event.seq;
                    assert!(self.fleet.apply(event), "event {seq} applied twice");
                }
            }
            SyncUpdate::Connection(connection) => {
                self.live = matches!(connection, Connection::Live { .. });
                if matches!(connection, Connection::Reconnecting { .. }) {
                    self.reconnects += 1;
                }
            }
            SyncUpdate::Problem(problem) => {
                assert!(self.problems_allowed, "unexpected problem: {problem}");
                self.problems.push(problem);
            }
            SyncUpdate::Identity(_) | SyncUpdate::Gateway(_) => {}
        }
    }
}

impl Drop for Synced {
    fn drop(&mut self) {
        self.task.abort();
    }
}
