//! What the console says about its link to the server, truthfully: why nothing could be
//! loaded, that the token is refused (until it is fixed), that the clocks stand still
//! while the data is stale, and that a server restarted from scratch lost things.

use chrono::{DateTime, Utc};

use super::App;
use crate::backend::Connection;
use crate::model::Fleet;

impl App {
    /// Why the last attempt failed, while the console is not live.
    pub fn link_error(&self) -> Option<&str> {
        match &self.connection {
            Connection::Reconnecting { error, .. } if !error.is_empty() => Some(error),
            _ => None,
        }
    }

    /// The server refuses the token (401): said in the header until a session opens.
    pub fn token_refused(&self) -> bool {
        self.link_error()
            .is_some_and(|e| e.contains("(401") || e.contains("401 Unauthorized"))
    }

    /// Seconds until the sync tries again, while it waits.
    pub fn retry_in(&self) -> Option<i64> {
        match &self.connection {
            Connection::Reconnecting {
                next_attempt_at, ..
            } => Some((*next_attempt_at - self.now).num_seconds().max(0)),
            _ => None,
        }
    }

    /// Data is on screen but not current: its clocks and countdowns stand still at the
    /// moment the link was lost.
    pub fn clock_frozen(&self) -> bool {
        self.synced && !self.is_live()
    }

    /// The wall-clock moment the fleet clock is read at: now, or when the link was lost.
    pub(super) fn clock_wall(&self) -> DateTime<Utc> {
        match &self.connection {
            Connection::Reconnecting { since, .. } | Connection::Connecting { since }
                if self.synced =>
            {
                self.now.min(*since)
            }
            _ => self.now,
        }
    }
}

/// What a fresh snapshot says about the server, compared with the fleet it replaces:
/// `Some(words)` when the server started over (its sequence or its fleet clock went
/// back), naming what was lost.
pub fn restart_words(old: &Fleet, old_now: DateTime<Utc>, new: &Fleet) -> Option<String> {
    let new_now = new.summary.as_ref().map(|s| s.now);
    let clock_back =
        new_now.filter(|n| old.summary.is_some() && *n + chrono::Duration::minutes(1) < old_now);
    let sequence_back = new.sequence < old.sequence;
    if clock_back.is_none() && !sequence_back {
        return None;
    }
    let mut words = vec!["the server restarted from scratch".to_string()];
    if let Some(new_now) = clock_back {
        words.push(format!(
            "fleet clock back from {} to {}",
            old_now.format("%a %H:%M"),
            new_now.format("%a %H:%M")
        ));
    }
    if sequence_back {
        words.push(format!(
            "its event sequence back from {} to {}",
            old.sequence, new.sequence
        ));
    }
    let gone: Vec<String> = old
        .actions
        .values()
        .filter(|a| !new.actions.contains_key(&a.id))
        .map(|a| {
            format!(
                "{} {}",
                a.verb.as_str(),
                crate::text::fit(&crate::text::clean(&a.target_name), 24)
            )
        })
        .collect();
    if gone.is_empty() {
        words.push("no actions lost".into());
    } else {
        let shown: Vec<&str> = gone.iter().take(3).map(String::as_str).collect();
        let more = if gone.len() > 3 {
            format!(" and {} more", gone.len() - 3)
        } else {
            String::new()
        };
        words.push(format!(
            "{} action{} gone ({}{more})",
            gone.len(),
            if gone.len() == 1 { "" } else { "s" },
            shown.join(", ")
        ));
    }
    Some(words.join("; "))
}
