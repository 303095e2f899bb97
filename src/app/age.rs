//! The age of the data on screen: one rule, used by the header and the details. A
//! polled fleet (SSM) says when it last read its vendor (`Summary::as_of`, moved by
//! every completed poll) and when each resource was read (`as_of`); the simulator
//! says neither, and is live. Data older than [`OLD_AFTER_SECS`] is shown with its
//! age ("as of 40s ago"), never as live.

use chrono::{DateTime, Duration, Utc};

use super::App;
use crate::text;

/// Data read longer ago than this is old: three polls at SSM's default in-flight
/// interval (10 s), so one slow or throttled poll does not yet say so, two do. A
/// fleet polled less often than this shows its data as old between polls, as it is.
pub const OLD_AFTER_SECS: i64 = 30;

/// When the data of a resource read at `own` was read, as far as the console knows:
/// the later of its own time and the fleet's last read (a resource the fleet re-read
/// and found unchanged is not sent again, so the summary's time speaks for it). None:
/// live data (the fleet says no time).
pub fn data_as_of(app: &App, own: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let fleet = app.fleet.summary.as_ref().and_then(|s| s.as_of);
    match (own, fleet) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// How old that data is, when it is old (older than [`OLD_AFTER_SECS`]).
pub fn old_for(app: &App, own: Option<DateTime<Utc>>) -> Option<Duration> {
    let age = app.fleet_now() - data_as_of(app, own)?;
    (age.num_seconds() > OLD_AFTER_SECS).then_some(age)
}

/// "as of 40s ago", when that data is old.
pub fn old_words(app: &App, own: Option<DateTime<Utc>>) -> Option<String> {
    old_for(app, own).map(|age| format!("as of {} ago", text::duration(age)))
}

/// The fleet's data as a whole (the header): "as of 40s ago" when old.
pub fn fleet_old_words(app: &App) -> Option<String> {
    old_words(app, None)
}

/// A detail's line for a resource read at `own`, when old: "as of 2m ago (01:02:03
/// UTC)".
pub fn detail_words(app: &App, own: Option<DateTime<Utc>>) -> Option<String> {
    let words = old_words(app, own)?;
    let at = data_as_of(app, own)?;
    Some(format!("{words} ({})", at.format("%H:%M:%S UTC")))
}
