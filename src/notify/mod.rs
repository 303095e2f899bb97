//! `serve --notify URL`: the gateway's notices as webhooks. A watcher reads the
//! backend's events (any backend: it lists, subscribes and catches up as the event
//! stream does), runs the one [`NoticeDetector`] on them, and hands each notice, as a
//! versioned JSON document ([`document`]), to every [`Receiver`], whose own worker
//! posts it. Nothing here blocks the server or the backend: the watcher only reads,
//! and a receiver's queue drops its oldest when full. docs/api.md, "Notifications".

mod receiver;

pub use receiver::{Posted, Receiver, ReceiverHealth, shown_url};

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;

use crate::backend::Backend;
use serde::Serialize;

use crate::model::{
    Change, Event, Fleet, Named, Notice, NoticeDetector, NoticeKind, NoticeRules, NoticeSeverity,
    Seq,
};

/// The version of the document's schema (`"schema": "patchdeck.notice/1"`).
pub const SCHEMA: &str = "patchdeck.notice/1";

/// How notices are posted.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// A window closing within this long with hosts pending is a notice.
    pub rules: NoticeRules,
    /// Each post's timeout.
    pub timeout: Duration,
    /// Posts of one notice at most (the first and its retries).
    pub attempts: u32,
    /// The first retry's delay; each next one doubles, with jitter, up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// Notices a receiver holds; when full, the oldest is dropped.
    pub queue: usize,
    /// How often windows are checked when no event comes (the fleet clock moved).
    pub tick: Duration,
}

impl Default for NotifySettings {
    fn default() -> NotifySettings {
        NotifySettings {
            rules: NoticeRules::default(),
            timeout: Duration::from_secs(5),
            attempts: 6,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            queue: 256,
            tick: Duration::from_secs(15),
        }
    }
}

/// Whether `url` can be posted to: http or https, with a host. The words name the URL
/// by its scheme and host only (its path may be a secret).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "{}: expected an http:// or https:// URL with a host",
            shown_url(url)
        ));
    }
    Ok(())
}

/// The notice as posted (`schema` [`SCHEMA`]), its fields in this order: the
/// notice's, with its time on the fleet's clock and on the wall clock. Fleet text is
/// made safe to show (`text::clean`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub schema: &'static str,
    pub kind: NoticeKind,
    pub severity: NoticeSeverity,
    pub key: String,
    pub fleet: String,
    pub sequence: Seq,
    pub at: At,
    pub ring: Option<Named>,
    pub deployment: Option<Named>,
    pub patch: Option<Named>,
    pub cause: Option<String>,
    pub by: Option<String>,
    pub cves: Vec<String>,
    pub until: Option<DateTime<Utc>>,
    pub pending_hosts: Option<u32>,
    pub text: String,
}

/// When a notice was made: on the fleet's clock (which a simulator runs fast) and on
/// the gateway's wall clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct At {
    pub fleet: DateTime<Utc>,
    pub wall: DateTime<Utc>,
}

pub fn document(notice: &Notice, wall: DateTime<Utc>) -> Document {
    let clean = |s: &str| crate::text::clean(s).into_owned();
    let named = |n: &Option<Named>| {
        n.as_ref().map(|n| Named {
            id: clean(&n.id),
            name: clean(&n.name),
        })
    };
    Document {
        schema: SCHEMA,
        kind: notice.kind,
        severity: notice.severity,
        key: clean(&notice.key),
        fleet: clean(&notice.fleet),
        sequence: notice.sequence,
        at: At {
            fleet: notice.at,
            wall,
        },
        ring: named(&notice.ring),
        deployment: named(&notice.deployment),
        patch: named(&notice.patch),
        cause: notice.cause.as_deref().map(clean),
        by: notice.by.as_deref().map(clean),
        cves: notice.cves.iter().map(|c| clean(c)).collect(),
        until: notice.until,
        pending_hosts: notice.pending_hosts,
        text: clean(&notice.text),
    }
}

/// The running notifier: abort it to stop.
pub struct Notifier {
    receivers: Vec<Arc<Receiver>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("receivers", &self.receivers)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Watches `fleet` and posts its notices to every URL (checked with
    /// [`check_url`]). `posting` says whether this gateway posts now: of several
    /// gateways on one store, only the lease holder does (the others detect too, and
    /// take over when it goes).
    pub fn spawn(
        fleet: Arc<dyn Backend>,
        urls: &[String],
        settings: NotifySettings,
        posting: Arc<dyn Fn() -> bool + Send + Sync>,
    ) -> Notifier {
        let client = reqwest::Client::builder()
            .user_agent(concat!("patchdeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let receivers: Vec<Arc<Receiver>> = urls
            .iter()
            .map(|url| Receiver::new(url, settings.clone()))
            .collect();
        let mut tasks: Vec<_> = receivers
            .iter()
            .map(|r| tokio::spawn(r.clone().run(client.clone())))
            .collect();
        // Subscribed and primed before this returns: what happens next is news.
        let live = fleet.subscribe();
        let mut watcher = Watcher {
            fleet,
            detector: NoticeDetector::new(settings.rules),
            receivers: receivers.clone(),
            posting,
        };
        let listed = watcher.listed();
        watcher.detector.prime(&listed, watcher.fleet_now());
        tasks.push(tokio::spawn(watcher.run(
            live,
            listed.sequence,
            settings.tick,
        )));
        Notifier { receivers, tasks }
    }

    /// What each receiver has had, in the order of the URLs.
    pub fn health(&self) -> Vec<ReceiverHealth> {
        self.receivers.iter().map(|r| r.health()).collect()
    }

    /// A reader of [`Notifier::health`] that outlives this borrow (for the gateway).
    pub fn health_source(&self) -> impl Fn() -> Vec<ReceiverHealth> + Send + Sync + 'static {
        let receivers = self.receivers.clone();
        move || receivers.iter().map(|r| r.health()).collect()
    }

    pub fn abort(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.abort();
    }
}

struct Watcher {
    fleet: Arc<dyn Backend>,
    detector: NoticeDetector,
    receivers: Vec<Arc<Receiver>>,
    posting: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Watcher {
    /// The fleet as listed now (no hosts, no actions: notices need neither), valid at
    /// the oldest of its listings' sequence numbers.
    fn listed(&self) -> Fleet {
        let mut fleet = Fleet::default();
        let (summary, mut sequence) = self.fleet.summary();
        fleet.upsert(Change::Summary(summary));
        let rings = self.fleet.rings();
        sequence = sequence.min(rings.sequence);
        rings.items.into_iter().for_each(|r| {
            fleet.upsert(Change::Ring(r));
        });
        let deployments = self.fleet.deployments();
        sequence = sequence.min(deployments.sequence);
        deployments.items.into_iter().for_each(|d| {
            fleet.upsert(Change::Deployment(d));
        });
        let patches = self.fleet.patches();
        sequence = sequence.min(patches.sequence);
        patches.items.into_iter().for_each(|p| {
            fleet.upsert(Change::Patch(p));
        });
        fleet.sequence = sequence;
        fleet
    }

    fn fleet_now(&self) -> DateTime<Utc> {
        self.fleet.summary().0.now
    }

    /// Follows the events after `last` (the primed listing's); on a lag it catches up
    /// from the log, and lists again if the log dropped them.
    async fn run(
        mut self,
        mut live: tokio::sync::broadcast::Receiver<Event>,
        mut last: Seq,
        tick: Duration,
    ) {
        let mut interval = tokio::time::interval(tick.max(Duration::from_millis(10)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The gap between listing and the first live event, and any lag, is read
            // from the log.
            let mut batch = match self.fleet.events_since(last) {
                Ok(events) => events,
                Err(_) => {
                    let fleet = self.listed();
                    last = fleet.sequence;
                    let now = self.fleet_now();
                    let notices = self.detector.relist(&fleet, now);
                    self.send(notices);
                    Vec::new()
                }
            };
            let mut lagged = false;
            if batch.is_empty() {
                tokio::select! {
                    received = live.recv() => match received {
                        Ok(event) => batch.push(event),
                        Err(RecvError::Lagged(_)) => lagged = true,
                        Err(RecvError::Closed) => return,
                    },
                    _ = interval.tick() => {
                        let notices = self.detector.tick(self.fleet_now());
                        self.send(notices);
                        continue;
                    }
                }
            }
            // Drain what is already there: one burst is one look.
            while !lagged && batch.len() < 4096 {
                match live.try_recv() {
                    Ok(event) => batch.push(event),
                    Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                    Err(_) => break,
                }
            }
            if lagged {
                continue;
            }
            batch.sort_by_key(|e| e.seq);
            batch.dedup_by_key(|e| e.seq);
            batch.retain(|e| e.seq > last);
            let Some(now) = batch.iter().map(|e| e.at).max() else {
                continue;
            };
            if batch.first().is_some_and(|e| e.seq > last + 1) {
                // A gap (the first live event came after events not read yet): read
                // them from the log first.
                continue;
            }
            last = batch.last().map_or(last, |e: &Event| e.seq);
            let notices = self.detector.observe(&batch, now);
            self.send(notices);
        }
    }

    fn send(&self, notices: Vec<Notice>) {
        if notices.is_empty() {
            return;
        }
        let posting = (self.posting)();
        let wall = Utc::now();
        for notice in notices {
            tracing::info!(
                target: "patchdeck::notify",
                kind = notice.kind.as_str(),
                key = %notice.key,
                posting,
                "{}",
                crate::text::clean(&notice.text)
            );
            if !posting {
                continue;
            }
            let posted = Arc::new(Posted::new(&notice.key, &document(&notice, wall)));
            for receiver in &self.receivers {
                receiver.push(posted.clone());
            }
        }
    }
}
