//! Notices on the console: the one detector ([`crate::model::NoticeDetector`]) run on
//! what the sync brings. Each new notice rings the terminal bell once ([`Effect::Bell`],
//! written by the runner) unless the bell is off, and its words are flashed. A second
//! approver awaited rings only a console that may approve, and never the first
//! approver's. The first listing after connecting is not news; a listing after a
//! reconnect says what changed meanwhile.

use super::{App, Effect};
use crate::backend::SyncUpdate;
use crate::model::{Notice, NoticeKind, NoticeSeverity, TargetKind, Verb};
use crate::text;

/// The notices in a sync update, before it is applied: flashed; how many.
pub(super) fn on_sync(app: &mut App, update: &SyncUpdate) -> usize {
    let notices = match update {
        SyncUpdate::Snapshot(fleet) => {
            let now = fleet.summary.as_ref().map_or(app.now, |s| s.now);
            app.notices.relist(fleet, now)
        }
        SyncUpdate::Events(events) => {
            let now = events
                .iter()
                .map(|e| e.at)
                .max()
                .map_or_else(|| app.fleet_now(), |at| at.max(app.fleet_now()));
            app.notices.observe(events, now)
        }
        _ => Vec::new(),
    };
    let notices = not_mine(app, notices);
    said(app, notices)
}

/// Without what this console's own token did (a halt, a first approval, an
/// emergency): its operator knows, and the action's own flash says it (the others'
/// consoles ring).
fn not_mine(app: &App, mut notices: Vec<Notice>) -> Vec<Notice> {
    if let Some(me) = &app.identity {
        notices.retain(|n| n.by.as_deref() != Some(&me.name));
    }
    notices
}

/// Windows that close soon as the fleet clock moves with no event: flashed, a bell
/// each.
pub(super) fn on_tick(app: &mut App) -> Vec<Effect> {
    if !app.synced {
        return Vec::new();
    }
    let notices = app.notices.tick(app.fleet_now());
    let count = said(app, notices);
    bells(app, count)
}

/// One bell for each of `count` notices, unless the bell is off.
pub(super) fn bells(app: &App, count: usize) -> Vec<Effect> {
    if app.bell {
        vec![Effect::Bell; count]
    } else {
        Vec::new()
    }
}

/// Whether a notice rings this console: all do, but a second approver awaited rings
/// only a console that may approve (a viewer's only flashes it).
fn rings(app: &App, notice: &Notice) -> bool {
    notice.kind != NoticeKind::SecondApproverAwaited
        || super::plan::role_check(
            Verb::Approve,
            TargetKind::Deployment,
            app.identity.as_ref().map(|me| me.role),
            app.context.read_only,
        )
        .is_ok()
}

/// A flash line for the notices (the loudest first); how many ring the bell.
fn said(app: &mut App, mut notices: Vec<Notice>) -> usize {
    if notices.is_empty() {
        return 0;
    }
    notices.sort_by_key(|n| n.severity);
    // A second approval this console may give is said by its banner, with where to
    // press: the flash is for the others.
    let count = notices.iter().filter(|n| rings(app, n)).count();
    notices.retain(|n| n.kind != NoticeKind::SecondApproverAwaited || !rings(app, n));
    if notices.is_empty() {
        return count;
    }
    let more = match notices.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more notice)".to_string(),
        n => format!(" (and {n} more notices)"),
    };
    let first = &notices[0];
    app.set_flash(
        format!("{}{more}", text::clean(&first.text)),
        first.severity == NoticeSeverity::Critical,
    );
    app.dirty = true;
    count
}
