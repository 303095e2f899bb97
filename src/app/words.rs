//! Words for where a maintenance window stands, shared by the panes and the plans.

use chrono::{DateTime, Utc};

use crate::model::{MaintenanceWindow, WindowStatus};
use crate::text::duration;

/// How a window's words are put: the two screens that say them differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowWording {
    /// A table column: "open 2h 10m", "in 3h", and "always open" for a window that
    /// never closes.
    Column,
    /// A sentence of a plan's blast radius: "window open now (2h left)", "window opens
    /// 21:00 (in 3h 05m)".
    Sentence,
}

/// Where a window stands at `now`, in words, and whether it is open.
pub fn window_words(
    window: &MaintenanceWindow,
    now: DateTime<Utc>,
    wording: WindowWording,
) -> (String, bool) {
    let always = window.duration_minutes >= 24 * 60 && window.days.is_empty();
    match (window.status(now), wording) {
        // One rule for both wordings: a window that never closes is "always open",
        // never a countdown to a closing that will not come.
        (WindowStatus::Open { .. }, WindowWording::Column) if always => {
            ("always open".into(), true)
        }
        (WindowStatus::Open { .. }, WindowWording::Sentence) if always => {
            ("window always open".into(), true)
        }
        (WindowStatus::Open { closes_at }, WindowWording::Column) => {
            (format!("open {}", duration(closes_at - now)), true)
        }
        (WindowStatus::Open { closes_at }, WindowWording::Sentence) => (
            format!("window open now ({} left)", duration(closes_at - now)),
            true,
        ),
        (WindowStatus::Closed { opens_at }, WindowWording::Column) => {
            (format!("in {}", duration(opens_at - now)), false)
        }
        (WindowStatus::Closed { opens_at }, WindowWording::Sentence) => {
            (format!("window {}", opens_words(opens_at, now)), false)
        }
    }
}

/// When a closed window opens, at the fleet's clock and from now: "opens 21:00 (in 3h
/// 5m)". Every sentence about a closed window says it this way.
pub fn opens_words(opens_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "opens {} (in {})",
        crate::text::time(opens_at, now),
        duration(opens_at - now)
    )
}
