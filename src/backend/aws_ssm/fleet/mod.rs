//! `SsmBackend`: the Backend over a polled SSM fleet. Reads answer from the last
//! snapshot overlaid with the rollout state SSM lacks (`view`); the poller turns what
//! changed between polls into numbered events (the same `EventLog` as the simulator);
//! `act` validates against the view and the rollout, records the action as running and
//! hands a job to the async worker (`worker`), whose answer arrives as an event.
//!
//! - `view`: the model objects served, composed from the snapshot and the rollout, and
//!   what changed between two views as events.
//! - `decide`: validating an action into a decision; the capabilities.
//! - `act`: applying a decision; `plan`: its dry run; `history`: a host's commands.
//! - `worker`: the SSM calls of actions (never a ring's command twice) and the store
//!   writes that precede them; cancels in a lane of their own, ahead of sends.
//! - `window_wait`: a ring approved while its window is closed, sent when it opens.

mod act;
mod decide;
mod history;
mod plan;
mod view;
mod window_wait;
mod worker;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};

use super::budget::{Budget, Sleeper, tokio_sleeper};
use super::client::{SsmClient, SsmError};
use super::diff::Snapshot;
use super::read::{Records, fetch_all_with, fetch_in_flight, map_records};
use super::rollout::Rollouts;
use super::settings::SsmSettings;
use crate::backend::log::{DEFAULT_CAPACITY, EventLog};
use crate::backend::{ActError, ActionRequest, Backend, Compacted, HostPage, HostQuery, Listing};
use crate::model::{
    Action, ActionPlan, Capabilities, Deployment, Event, Exception, Host, Identity, Patch, Ring,
    Seq, Summary,
};
use crate::store::{AnyStore, Store};

pub use view::View;
use worker::Job;

/// Actions listed (`Backend::actions`): the last ones.
pub const ACTIONS_LISTED: usize = 1000;
/// Capacity of the live event channel (a lagging receiver catches up by sequence).
const CHANNEL_CAPACITY: usize = 16_384;
/// Hosts per page when the query asks for none, and at most.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// What the backend takes from its surroundings: the clock and how it sleeps (tests
/// give the fake's clock and a sleep that does not wait).
#[derive(Clone)]
pub struct Hooks {
    pub clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    pub sleep: Sleeper,
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            clock: Arc::new(Utc::now),
            sleep: tokio_sleeper(),
        }
    }
}

/// SSM is throttling: since when, and the age of the data then.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Throttling {
    pub since: DateTime<Utc>,
}

pub(crate) struct State {
    pub records: Records,
    pub snapshot: Snapshot,
    pub rollouts: Rollouts,
    pub exceptions: BTreeMap<String, Exception>,
    pub actions: Vec<Action>,
    pub next_action: u64,
    pub view: View,
    pub summary: Summary,
    pub log: EventLog,
    /// Commands to read in the next in-flight poll besides those SSM runs (just sent).
    pub extra: Vec<String>,
    pub last_sweep: Option<DateTime<Utc>>,
    pub throttling: Option<Throttling>,
}

impl State {
    /// The ring's name as people read it ("Pilot"; the id "pilot" if it is unknown).
    pub fn ring_name(&self, ring: &str) -> String {
        self.view
            .rings
            .iter()
            .find(|r| r.id == ring)
            .map_or_else(|| ring.to_string(), |r| r.name.clone())
    }
}

pub(crate) struct Core {
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
    pub settings: SsmSettings,
    pub client: SsmClient,
    pub store: Option<AnyStore>,
    pub hooks: Hooks,
    pub budget: Arc<Budget>,
    jobs: mpsc::UnboundedSender<Job>,
    /// The cancel lane: a `CancelCommand` (pause, halt) never waits behind a queued
    /// or slow `SendCommand`.
    cancels: mpsc::UnboundedSender<Job>,
}

/// The SSM fleet as a Backend. Dropping it stops its poller and worker.
pub struct SsmBackend {
    core: Arc<Core>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SsmBackend {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The operator's rollback documents, whose commands the sweep reads too.
fn rollback_documents(settings: &SsmSettings) -> Vec<String> {
    settings
        .rollback
        .iter()
        .map(|r| r.document.clone())
        .collect()
}

fn store_error(error: impl std::fmt::Display) -> SsmError {
    SsmError::Store(error.to_string())
}

impl SsmBackend {
    /// First full read, rollout state restored (from `store` when given, and from the
    /// markers of commands in SSM), then the poller and the action worker spawned on the
    /// current tokio runtime.
    pub async fn start(
        client: SsmClient,
        settings: SsmSettings,
        store: Option<AnyStore>,
    ) -> Result<Arc<SsmBackend>, SsmError> {
        SsmBackend::start_with(client, settings, store, Hooks::default()).await
    }

    /// As [`SsmBackend::start`], with the clock and sleep given.
    pub async fn start_with(
        client: SsmClient,
        settings: SsmSettings,
        store: Option<AnyStore>,
        hooks: Hooks,
    ) -> Result<Arc<SsmBackend>, SsmError> {
        let budget = Arc::new(Budget::new(
            settings.max_requests_per_second,
            hooks.sleep.clone(),
        ));
        let client = client.with_budget(budget.clone());
        let rollback_documents = rollback_documents(&settings);
        let mut records = None;
        for _ in 0..3 {
            match fetch_all_with(&client, &rollback_documents).await {
                Ok(read) => {
                    records = Some(read);
                    break;
                }
                Err(SsmError::Throttled(_)) => {
                    budget.throttled().await;
                }
                Err(error) => return Err(error),
            }
        }
        let records = match records {
            Some(records) => records,
            None => fetch_all_with(&client, &rollback_documents).await?,
        };
        let now = (hooks.clock)();
        let (stored, actions, exceptions, last_event) = match &store {
            Some(store) => (
                store.ring_rollouts().await.map_err(store_error)?,
                store.actions().await.map_err(store_error)?,
                store.exceptions().await.map_err(store_error)?,
                store.event_bounds().await.map_err(store_error)?.last,
            ),
            None => (Vec::new(), Vec::new(), Vec::new(), 0),
        };
        let stored: Vec<_> = stored.into_iter().map(|v| v.value).collect();
        let markers: Vec<_> = records
            .commands
            .iter()
            .map(|c| (c.comment.clone(), c.id.clone(), c.requested))
            .collect();
        let rollouts = Rollouts::restore(&stored, &markers, &actions, now);
        let next_action = actions
            .iter()
            .filter_map(|a| a.id.strip_prefix("act-")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let mut snapshot = Snapshot::default();
        snapshot.apply(map_records(&records, now));
        let (events, _) = broadcast::channel(CHANNEL_CAPACITY);
        let (jobs, queue) = mpsc::unbounded_channel();
        let (cancels, cancel_queue) = mpsc::unbounded_channel();
        let capabilities = decide::capabilities(&settings);
        let state = State {
            records,
            snapshot,
            rollouts,
            exceptions: exceptions
                .into_iter()
                .map(|e| (e.host_id, e.exception))
                .collect(),
            actions: actions
                .into_iter()
                .rev()
                .take(ACTIONS_LISTED)
                .rev()
                .collect(),
            next_action,
            view: View::default(),
            summary: view::summary(&settings, capabilities, now),
            // Numbers go on after the events the gateway stored before a restart.
            log: EventLog::after(DEFAULT_CAPACITY, last_event),
            extra: Vec::new(),
            last_sweep: Some(now),
            throttling: None,
        };
        let core = Arc::new(Core {
            state: Mutex::new(state),
            events,
            settings,
            client,
            store,
            hooks,
            budget,
            jobs,
            cancels,
        });
        let sends = {
            // The first view: versions 1, no events (lists start at sequence 0); a
            // restored wait learns when its window opens, or is sent if it is open.
            let mut state = core.lock();
            let fresh = view::compose(&state, &core.settings, now);
            view::publish(&mut state, fresh, &core.settings, now);
            let sends = window_wait::due(&mut state, &core.settings, now);
            let fresh = view::compose(&state, &core.settings, now);
            view::publish(&mut state, fresh, &core.settings, now);
            sends
        };
        for job in sends {
            core.queue(job);
        }
        let mut tasks = vec![
            tokio::spawn(worker::run(core.clone(), queue)),
            tokio::spawn(worker::run(core.clone(), cancel_queue)),
        ];
        let every = core.settings.poll_in_flight_secs;
        if every > 0 {
            let poller = core.clone();
            tasks.push(tokio::spawn(async move {
                let period = std::time::Duration::from_secs(every);
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    // Errors show in the summary (throttling) or pass: the next tick
                    // tries again.
                    let _ = poller.poll_once().await;
                }
            }));
        }
        Ok(Arc::new(SsmBackend { core, tasks }))
    }

    /// One poll of what is in flight (and a sweep when due), applied as events. Tests
    /// call this instead of waiting for the timer.
    pub async fn poll_once(&self) -> Result<(), SsmError> {
        self.core.poll_once().await
    }

    /// Waits until the action worker has done every job handed to it so far, in both
    /// lanes (tests).
    pub async fn settle(&self) {
        for lane in [&self.core.jobs, &self.core.cancels] {
            let (done, wait) = tokio::sync::oneshot::channel();
            if lane.send(Job::Notify(done)).is_ok() {
                let _ = wait.await;
            }
        }
    }

    /// Calls per second the budget allows now (halved by throttling).
    pub fn request_rate(&self) -> f64 {
        self.core.budget.rate()
    }
}

impl Core {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.hooks.clock)()
    }

    /// Numbers, logs and broadcasts changes.
    pub(crate) fn emit(&self, state: &mut State, changes: Vec<crate::model::Change>) {
        let at = self.now();
        for change in changes {
            let event = state.log.push(at, change);
            let _ = self.events.send(event);
        }
    }

    /// Composes the view again and emits what changed.
    pub(crate) fn refresh(&self, state: &mut State) {
        let now = self.now();
        let fresh = view::compose(state, &self.settings, now);
        let changes = view::publish(state, fresh, &self.settings, now);
        self.emit(state, changes);
    }

    /// Hands `job` to the worker: a cancel to its own lane, ahead of queued sends.
    pub(crate) fn queue(&self, job: Job) {
        let lane = match job {
            Job::Cancel { .. } => &self.cancels,
            _ => &self.jobs,
        };
        // The worker ends only with the backend.
        let _ = lane.send(job);
    }

    async fn poll_once(&self) -> Result<(), SsmError> {
        let now = self.now();
        let (records, extra, sweep) = {
            let mut state = self.lock();
            let sweep = state.last_sweep.is_none_or(|last| {
                (now - last).num_seconds() >= self.settings.poll_sweep_secs as i64
            });
            (
                state.records.clone(),
                std::mem::take(&mut state.extra),
                sweep,
            )
        };
        let read = if sweep {
            fetch_all_with(&self.client, &rollback_documents(&self.settings)).await
        } else {
            fetch_in_flight(&self.client, &records, &extra).await
        };
        let fresh = match read {
            Ok(fresh) => fresh,
            Err(error) => {
                {
                    let mut state = self.lock();
                    for id in extra {
                        if !state.extra.contains(&id) {
                            state.extra.push(id);
                        }
                    }
                    if matches!(error, SsmError::Throttled(_)) && state.throttling.is_none() {
                        state.throttling = Some(Throttling { since: now });
                        self.refresh(&mut state);
                    }
                }
                if matches!(error, SsmError::Throttled(_)) {
                    self.budget.throttled().await;
                }
                return Err(error);
            }
        };
        let now = self.now();
        let writes = {
            let mut state = self.lock();
            state.records = fresh;
            if sweep {
                state.last_sweep = Some(now);
            }
            state.throttling = None;
            let read = map_records(&state.records, now);
            state.snapshot.apply(read);
            let mut writes = view::advance(&mut state, now);
            self.refresh(&mut state);
            writes.extend(view::record_gates(&mut state));
            let sends = window_wait::due(&mut state, &self.settings, now);
            self.refresh(&mut state);
            (writes, sends)
        };
        let (writes, sends) = writes;
        if !writes.is_empty() {
            self.queue(Job::Store(writes));
        }
        for job in sends {
            self.queue(job);
        }
        Ok(())
    }
}

fn page(hosts: &BTreeMap<String, Host>, query: &HostQuery, sequence: Seq) -> HostPage {
    let limit = if query.limit == 0 {
        DEFAULT_PAGE
    } else {
        query.limit.min(MAX_PAGE)
    };
    let text = query.text.as_deref().map(str::to_lowercase);
    let range = match &query.after {
        Some(after) => hosts.range::<String, _>((
            std::ops::Bound::Excluded(after.clone()),
            std::ops::Bound::Unbounded,
        )),
        None => hosts.range::<String, _>(..),
    };
    let mut items = Vec::new();
    for host in range.map(|(_, h)| h) {
        if query.ring.as_ref().is_some_and(|r| *r != host.ring_id) {
            continue;
        }
        if !query.admits_state_and_failure(host) {
            continue;
        }
        if let Some(text) = &text {
            let keys = [
                host.name.as_str(),
                host.model.as_str(),
                host.site.as_str(),
                host.group_id.as_deref().unwrap_or(""),
                host.id.as_str(),
            ];
            if !keys
                .iter()
                .any(|k| k.to_lowercase().contains(text.as_str()))
            {
                continue;
            }
        }
        if items.len() == limit {
            return HostPage {
                items,
                more: true,
                sequence,
            };
        }
        items.push(host.clone());
    }
    HostPage {
        items,
        more: false,
        sequence,
    }
}

impl Backend for SsmBackend {
    fn capabilities(&self) -> Capabilities {
        decide::capabilities(&self.core.settings)
    }

    fn replays_journal(&self) -> bool {
        false
    }

    fn summary(&self) -> (Summary, Seq) {
        let state = self.core.lock();
        let summary = view::summary_now(&state, self.core.now());
        (summary, state.log.last())
    }

    fn rings(&self) -> Listing<Ring> {
        let state = self.core.lock();
        Listing {
            items: state.view.rings.clone(),
            sequence: state.log.last(),
        }
    }

    fn ring(&self, id: &str) -> Option<Ring> {
        let state = self.core.lock();
        state.view.rings.iter().find(|r| r.id == id).cloned()
    }

    fn deployments(&self) -> Listing<Deployment> {
        let state = self.core.lock();
        Listing {
            items: state.view.deployments.clone(),
            sequence: state.log.last(),
        }
    }

    fn deployment(&self, id: &str) -> Option<Deployment> {
        let state = self.core.lock();
        state.view.deployments.iter().find(|d| d.id == id).cloned()
    }

    fn patches(&self) -> Listing<Patch> {
        let state = self.core.lock();
        Listing {
            items: state.view.patches.values().cloned().collect(),
            sequence: state.log.last(),
        }
    }

    fn actions(&self) -> Listing<Action> {
        let state = self.core.lock();
        Listing {
            items: state.actions.clone(),
            sequence: state.log.last(),
        }
    }

    fn hosts(&self, query: &HostQuery) -> HostPage {
        let state = self.core.lock();
        page(&state.view.hosts, query, state.log.last())
    }

    fn host(&self, id: &str) -> Option<Host> {
        let state = self.core.lock();
        let mut host = state.view.hosts.get(id).cloned()?;
        host.history = history::history(&state, &host);
        Some(host)
    }

    fn sequence(&self) -> Seq {
        self.core.lock().log.last()
    }

    fn events_since(&self, since: Seq) -> Result<Vec<Event>, Compacted> {
        self.core.lock().log.since(since)
    }

    fn events_page(&self, since: Seq, limit: usize) -> Result<Vec<Event>, Compacted> {
        self.core.lock().log.page(since, limit)
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.core.events.subscribe()
    }

    fn act(&self, request: ActionRequest, actor: &Identity) -> Result<Action, ActError> {
        act::act(&self.core, request, actor)
    }

    fn plan(&self, request: &ActionRequest, actor: &Identity) -> Result<ActionPlan, ActError> {
        plan::plan(&self.core, request, actor)
    }
}
