//! Keeps a fleet in sync: list, then watch; on a lost stream, reconnect with backoff and
//! jitter and resume from the last sequence; on 410, list again. Everything the console
//! needs arrives as [`SyncUpdate`]s on one channel, including the connection state
//! (live, reconnecting since, stale since), so that stale data is never shown as live.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::client::{Client, ClientError, EventStream};
use crate::backend::{Connection, GatewayHealth, HostsPage, SyncUpdate};
use crate::model::{Event, Seq};

/// Exponential backoff with jitter. Pure: `delay` is a function of its arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Base delay of the first retry.
    pub first: Duration,
    /// No delay is longer than this.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// Delay before attempt `attempt` (1 = first retry): `first * 2^(attempt-1)`, capped,
    /// then "equal jitter": between half and all of it, `jitter` in [0, 1] picking where.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let base = self
            .first
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.cap);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        };
        base.mul_f64(0.5 + 0.5 * jitter)
    }
}

/// Tuning of the sync loop.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    pub backoff: Backoff,
    /// Least wait between attempts while the server refuses the token (401/403).
    pub auth_retry: Duration,
    /// Most events in one `Events` batch.
    pub max_batch: usize,
    /// After an event, how long to wait for the next before sending the batch: events
    /// arriving closer together than this (a burst, a replay) become one batch.
    pub batch_window: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            backoff: Backoff::default(),
            auth_retry: Duration::from_secs(30),
            max_batch: 5000,
            batch_window: Duration::from_millis(15),
        }
    }
}

/// The reconnection bookkeeping, pure: when the data went stale, which attempt is next
/// and how long to wait for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncState {
    options: SyncOptions,
    stale_since: Option<DateTime<Utc>>,
    attempt: u32,
}

impl SyncState {
    pub fn new(options: SyncOptions) -> SyncState {
        SyncState {
            options,
            stale_since: None,
            attempt: 0,
        }
    }

    /// The stream is open: live from `now`, and the next loss starts a new count.
    pub fn live(&mut self, now: DateTime<Utc>) -> Connection {
        self.stale_since = None;
        self.attempt = 0;
        Connection::Live { since: now }
    }

    /// Something failed at `now`: how long to wait, and the state to show meanwhile.
    /// The wait honours `Retry-After`, and is slow while the token is refused.
    pub fn failed(
        &mut self,
        now: DateTime<Utc>,
        error: &ClientError,
        jitter: f64,
    ) -> (Duration, Connection) {
        let since = *self.stale_since.get_or_insert(now);
        self.attempt = self.attempt.saturating_add(1);
        let mut wait = self.options.backoff.delay(self.attempt, jitter);
        if matches!(error, ClientError::Unauthorized | ClientError::Forbidden(_)) {
            wait = wait.max(self.options.auth_retry);
        }
        if let Some(retry_after) = error.retry_after() {
            wait = wait.max(retry_after);
        }
        let next_attempt_at =
            now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let connection = Connection::Reconnecting {
            since,
            attempt: self.attempt,
            next_attempt_at,
            error: error.to_string(),
        };
        (wait, connection)
    }
}

/// Start syncing with default options. The task ends when `updates`' receiver is dropped.
pub fn spawn_sync(client: Client, updates: mpsc::Sender<SyncUpdate>) -> JoinHandle<()> {
    spawn_sync_with(client, updates, SyncOptions::default())
}

/// Start syncing with `options`.
pub fn spawn_sync_with(
    client: Client,
    updates: mpsc::Sender<SyncUpdate>,
    options: SyncOptions,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sync = Sync {
            gateway: client.gateway_health(),
            client,
            updates,
            state: SyncState::new(options.clone()),
            max_batch: options.max_batch.max(1),
            batch_window: options.batch_window,
            need_identity: true,
            last_seq: None,
            fresh_snapshot: false,
        };
        sync.run().await;
    })
}

/// Why a session stopped.
enum Stop {
    /// The console went away.
    Closed,
    Failed(ClientError),
}

impl From<ClientError> for Stop {
    fn from(error: ClientError) -> Self {
        Stop::Failed(error)
    }
}

struct Sync {
    client: Client,
    updates: mpsc::Sender<SyncUpdate>,
    state: SyncState,
    max_batch: usize,
    batch_window: Duration,
    /// Ask `/v1/me` before the next session.
    need_identity: bool,
    /// Sequence of the last event applied; `None` = list again.
    last_seq: Option<Seq>,
    /// The last snapshot was taken and no stream has been opened from it yet.
    fresh_snapshot: bool,
    /// What the gateway says of itself, from any answer of the client (actions too).
    gateway: watch::Receiver<Option<GatewayHealth>>,
}

impl Sync {
    async fn run(&mut self) {
        if self
            .send(SyncUpdate::Connection(Connection::Connecting {
                since: Utc::now(),
            }))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let updates = self.updates.clone();
            let stopped = tokio::select! {
                stop = self.session() => stop,
                () = updates.closed() => Stop::Closed,
            };
            let error = match stopped {
                Stop::Closed => return,
                Stop::Failed(error) => error,
            };
            if self.recover(&error).await.is_err() {
                return;
            }
            if matches!(error, ClientError::Compacted) && !self.fresh_snapshot {
                // The protocol, not a failure: list again right away.
                continue;
            }
            let (wait, connection) = self.state.failed(Utc::now(), &error, rand::random());
            if self.send(SyncUpdate::Connection(connection)).await.is_err()
                || self.report_gateway().await.is_err()
            {
                return;
            }
            tokio::select! {
                () = self.client.sleep(wait) => {}
                () = updates.closed() => return,
            }
        }
    }

    /// What an error means for the next session.
    async fn recover(&mut self, error: &ClientError) -> Result<(), Stop> {
        match error {
            ClientError::Compacted => self.last_seq = None,
            ClientError::Malformed(_) => {
                // A skipped event could hide a change: list again.
                self.last_seq = None;
                self.send(SyncUpdate::Problem(error.to_string())).await?;
            }
            ClientError::Unauthorized | ClientError::Forbidden(_) => {
                self.need_identity = true;
                self.send(SyncUpdate::Problem(error.to_string())).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Identity, snapshot if needed, then events until something fails.
    async fn session(&mut self) -> Stop {
        match self.watch().await {
            Ok(never) => match never {},
            Err(stop) => stop,
        }
    }

    async fn watch(&mut self) -> Result<std::convert::Infallible, Stop> {
        if self.need_identity {
            let identity = self.client.me().await?;
            self.send(SyncUpdate::Identity(identity)).await?;
            self.need_identity = false;
        }
        let since = match self.last_seq {
            Some(seq) => seq,
            None => {
                // The first screen at once, then every host behind it, page by page;
                // events from the first screen's sequence replay what changed meanwhile.
                let fleet = self.client.first_screen().await?;
                let seq = fleet.sequence;
                self.send(SyncUpdate::Snapshot(Box::new(fleet))).await?;
                let mut cursor: Option<String> = None;
                let mut listed = 0;
                loop {
                    let page = self.client.hosts_page(cursor.as_deref()).await?;
                    listed += page.items.len();
                    let done = page.next_cursor.is_none();
                    self.send(SyncUpdate::Hosts(Box::new(HostsPage {
                        hosts: page.items,
                        listed,
                        done,
                    })))
                    .await?;
                    if done {
                        break;
                    }
                    cursor = page.next_cursor;
                }
                self.last_seq = Some(seq);
                self.fresh_snapshot = true;
                seq
            }
        };
        let mut stream = self.client.events(since).await?;
        self.fresh_snapshot = false;
        let live = self.state.live(Utc::now());
        self.send(SyncUpdate::Connection(live)).await?;
        self.report_gateway().await?;
        loop {
            let first = self.next_event_or_gateway(&mut stream).await?;
            let (batch, stopped) = self.next_batch(first, &mut stream).await;
            self.report_gateway().await?;
            if !batch.is_empty() {
                self.last_seq = batch.last().map(|event| event.seq);
                self.send(SyncUpdate::Events(batch)).await?;
            }
            if let Some(error) = stopped {
                return Err(Stop::Failed(error));
            }
        }
    }

    /// Wait for one event, then take those that follow within the batch window (a
    /// burst becomes one batch). Events at or below the last sequence (a replay) are
    /// dropped.
    async fn next_batch(
        &self,
        first: Option<Result<Event, ClientError>>,
        stream: &mut EventStream,
    ) -> (Vec<Event>, Option<ClientError>) {
        let mut last = self.last_seq.unwrap_or_default();
        let mut batch = Vec::new();
        let mut next = first;
        loop {
            match next {
                Some(Ok(event)) => {
                    if event.seq > last {
                        last = event.seq;
                        batch.push(event);
                    }
                }
                Some(Err(error)) => return (batch, Some(error)),
                None => {
                    let error = ClientError::Network {
                        url: self.client.events_url(),
                        reason: "the server closed the event stream".to_string(),
                    };
                    return (batch, Some(error));
                }
            }
            if batch.len() >= self.max_batch {
                return (batch, None);
            }
            // The streams are cancel-safe: an unfinished `next` loses nothing.
            next = if batch.is_empty() {
                stream.next().await
            } else {
                match tokio::time::timeout(self.batch_window, stream.next()).await {
                    Ok(item) => item,
                    Err(_) => return (batch, None),
                }
            };
        }
    }

    async fn send(&self, update: SyncUpdate) -> Result<(), Stop> {
        self.updates.send(update).await.map_err(|_| Stop::Closed)
    }

    /// Wait for the stream's next item; meanwhile, say at once when the gateway's word
    /// about itself changed (the answer to an action on a quiet fleet, say). Waiting on
    /// the stream is cancel-safe, so nothing is lost when the gateway's word comes first.
    async fn next_event_or_gateway(
        &mut self,
        stream: &mut EventStream,
    ) -> Result<Option<Result<Event, ClientError>>, Stop> {
        loop {
            let mut watcher = self.gateway.clone();
            let woke = tokio::select! {
                item = stream.next() => Ok(item),
                changed = watcher.changed() => Err(changed.is_ok()),
            };
            match woke {
                Ok(item) => return Ok(item),
                Err(true) => self.report_gateway().await?,
                // The client is gone (it is not: the sync holds it); just wait.
                Err(false) => return Ok(stream.next().await),
            }
        }
    }

    /// Tell the console when the gateway's word about itself changed. Checked at each
    /// step of the loop (not waited on: a batch being read is never cut short for it).
    async fn report_gateway(&mut self) -> Result<(), Stop> {
        if self.gateway.has_changed().unwrap_or(false) {
            let health = *self.gateway.borrow_and_update();
            if let Some(health) = health {
                self.send(SyncUpdate::Gateway(health)).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_from_first_and_caps() {
        let backoff = Backoff {
            first: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        };
        let full: Vec<u64> = (1..=9)
            .map(|n| backoff.delay(n, 1.0).as_millis() as u64)
            .collect();
        assert_eq!(
            full,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert_eq!(backoff.delay(1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff.delay(4, 0.5), Duration::from_millis(3000));
        assert_eq!(backoff.delay(u32::MAX, 1.0), Duration::from_secs(30));
        assert_eq!(backoff.delay(0, 1.0), Duration::from_millis(500));
    }

    #[test]
    fn backoff_jitter_stays_between_half_and_all() {
        let backoff = Backoff::default();
        for attempt in 1..12 {
            let full = backoff.delay(attempt, 1.0);
            for jitter in [0.0, 0.1, 0.37, 0.99, -3.0, 7.0, f64::NAN] {
                let delay = backoff.delay(attempt, jitter);
                assert!(delay >= full / 2 && delay <= full, "{attempt} {jitter}");
            }
        }
    }

    fn network() -> ClientError {
        ClientError::Network {
            url: "http://127.0.0.1:1/v1/events".into(),
            reason: "Connection refused".into(),
        }
    }

    #[test]
    fn stale_since_is_the_first_loss_and_attempts_count_up() {
        let mut state = SyncState::new(SyncOptions::default());
        assert_eq!(state.live(at(0)), Connection::Live { since: at(0) });
        let (wait1, first) = state.failed(at(10), &network(), 1.0);
        let (wait2, second) = state.failed(at(11), &network(), 1.0);
        assert_eq!(wait1, Duration::from_millis(500));
        assert_eq!(wait2, Duration::from_millis(1000));
        assert_eq!(
            first,
            Connection::Reconnecting {
                since: at(10),
                attempt: 1,
                next_attempt_at: at(10) + chrono::Duration::milliseconds(500),
                error: network().to_string(),
            }
        );
        let Connection::Reconnecting { since, attempt, .. } = second else {
            panic!("expected reconnecting, got {second:?}");
        };
        assert_eq!((since, attempt), (at(10), 2));
        // Back to live: the next loss starts over.
        state.live(at(20));
        let (wait, Connection::Reconnecting { since, attempt, .. }) =
            state.failed(at(30), &network(), 1.0)
        else {
            panic!("expected reconnecting");
        };
        assert_eq!(
            (wait, since, attempt),
            (Duration::from_millis(500), at(30), 1)
        );
    }

    #[test]
    fn retry_after_and_refused_tokens_slow_the_retry() {
        let mut state = SyncState::new(SyncOptions::default());
        let rate_limited = ClientError::RateLimited {
            retry_after: Duration::from_secs(7),
        };
        let (wait, connection) = state.failed(at(0), &rate_limited, 1.0);
        assert_eq!(wait, Duration::from_secs(7));
        let Connection::Reconnecting {
            next_attempt_at, ..
        } = connection
        else {
            panic!("expected reconnecting");
        };
        assert_eq!(next_attempt_at, at(7));
        let (wait, _) = state.failed(at(7), &ClientError::Unauthorized, 0.0);
        assert_eq!(wait, Duration::from_secs(30));
    }
}
