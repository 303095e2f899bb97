//! The event log: every change the fleet made, numbered, replayable from any sequence
//! number that has not been compacted away.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::backend::Compacted;
use crate::model::{Change, Event, Seq};

/// Events kept before the oldest are compacted automatically (up to a tenth more are
/// held before a compaction). The API replays at most 50,000 events to a stream.
pub const DEFAULT_CAPACITY: usize = 50_000;

#[derive(Debug)]
pub struct EventLog {
    events: VecDeque<Event>,
    /// Every event with `seq <= compacted_through` was dropped.
    compacted_through: Seq,
    last: Seq,
    capacity: usize,
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        EventLog {
            events: VecDeque::new(),
            compacted_through: 0,
            last: 0,
            capacity: capacity.max(1),
        }
    }

    /// A log whose first event follows `seq` (a restarted backend whose earlier events
    /// are in the gateway's store: numbers are never used twice). Events up to `seq`
    /// are compacted here.
    pub fn after(capacity: usize, seq: Seq) -> Self {
        let mut log = EventLog::new(capacity);
        log.last = seq;
        log.compacted_through = seq;
        log
    }

    /// Sequence number of the last event (0 before any).
    pub fn last(&self) -> Seq {
        self.last
    }

    /// Number the change and keep it; returns the event.
    pub fn push(&mut self, at: DateTime<Utc>, change: Change) -> Event {
        self.last += 1;
        let event = Event {
            seq: self.last,
            at,
            change,
        };
        self.events.push_back(event.clone());
        // Compact in chunks (a tenth of the capacity) rather than one event at a time.
        if self.events.len() > self.capacity + self.capacity / 10 {
            let keep_from = self.last - self.capacity as Seq;
            self.compact_through(keep_from);
        }
        event
    }

    /// Drop every event up to and including `seq`.
    pub fn compact_through(&mut self, seq: Seq) {
        let seq = seq.min(self.last);
        while self.events.front().is_some_and(|e| e.seq <= seq) {
            self.events.pop_front();
        }
        self.compacted_through = self.compacted_through.max(seq);
    }

    /// Events after `since`, oldest first.
    pub fn since(&self, since: Seq) -> Result<Vec<Event>, Compacted> {
        self.page(since, usize::MAX)
    }

    /// At most `limit` events after `since`, oldest first (one chunk of a replay).
    pub fn page(&self, since: Seq, limit: usize) -> Result<Vec<Event>, Compacted> {
        if since < self.compacted_through {
            return Err(Compacted {
                oldest: self.compacted_through + 1,
            });
        }
        let skip = usize::try_from(since - self.compacted_through)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        Ok(self.events.range(skip..).take(limit).cloned().collect())
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, Summary};

    #[test]
    fn a_log_started_after_a_sequence_numbers_on_from_it() {
        let mut log = EventLog::after(10, 41);
        assert_eq!(log.last(), 41);
        assert_eq!(log.since(41).map(|e| e.len()), Ok(0));
        assert!(log.since(3).is_err(), "earlier events are not here");
        let summary: Summary = serde_json::from_value(serde_json::json!({
            "name": "x", "now": "2026-12-02T01:00:00Z", "clock_speed": 1.0,
            "patch_tuesday": "2026-12-08T18:00:00Z", "counts": {},
            "capabilities": {"rollback": false, "emergency": false, "two_person_rule": true},
            "version": 1
        }))
        .expect("summary");
        let event = log.push(summary.now, Change::Summary(summary));
        assert_eq!(event.seq, 42);
    }
}
