//! Compliance in the console: the server's numbers (`GET /v1/compliance`), never
//! recomputed here. Asked for when the fleet's sequence moved, at most every
//! [`REFRESH_SECS`], with the last ETag (`If-None-Match`: an unchanged answer is a
//! 304); what the strip on the main screen says, with how current it is; the rows of
//! the Compliance tab and what Enter on one opens.

use chrono::{DateTime, Duration, Utc};

use super::lists::{self, HostFilter, Pane};
use super::{App, Effect, ListId, Screen};
use crate::compliance::Compliance;
use crate::model::Seq;
use crate::text;

/// Shortest time between two requests while the fleet's sequence moves.
pub const REFRESH_SECS: i64 = 5;
/// After a failed request, the next one waits this long.
pub const RETRY_SECS: i64 = 15;
/// Figures this much older than the fleet (its sequence moved since, and no answer came
/// since) are called stale, whatever the reason.
pub const STALE_SECS: i64 = 30;

/// The answer to [`Effect::FetchCompliance`].
#[derive(Debug, Clone, PartialEq)]
pub enum ComplianceAnswer {
    /// New figures, with their ETag.
    Changed {
        compliance: Box<Compliance>,
        etag: Option<String>,
    },
    /// 304: the figures held are still the server's.
    NotModified,
}

/// What the console holds of the server's compliance figures.
#[derive(Debug, Clone, Default)]
pub struct ComplianceState {
    pub figures: Option<Box<Compliance>>,
    /// The ETag of `figures`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// A request is out (none is sent while one is).
    pub in_flight: bool,
    /// When the last request was sent (wall clock) and the fleet's sequence then.
    pub asked: Option<(DateTime<Utc>, Seq)>,
    /// The fleet's sequence `figures` were last confirmed at, and when (wall clock).
    pub confirmed: Option<(DateTime<Utc>, Seq)>,
    /// Why the last request failed, and when; cleared by an answer.
    pub error: Option<(String, DateTime<Utc>)>,
}

/// How far the figures on screen can be trusted.
#[derive(Debug, Clone, PartialEq)]
pub enum Freshness {
    /// The server's figures, confirmed since the fleet last moved (or moments ago).
    Current,
    /// Figures held, but not confirmed for this long (the request failed, the link is
    /// down, or no answer came).
    Stale(Duration),
    /// No figures: still loading, or why not.
    Unknown(Option<String>),
}

impl ComplianceState {
    /// How current the figures are at `now`, the fleet at `sequence`, the link `live`.
    pub fn freshness(&self, now: DateTime<Utc>, sequence: Seq, live: bool) -> Freshness {
        if self.figures.is_none() {
            return Freshness::Unknown(self.error.as_ref().map(|(why, _)| why.clone()));
        }
        let (at, confirmed) = self.confirmed.unwrap_or((now, sequence));
        let age = now - at;
        if self.error.is_some() || !live {
            return Freshness::Stale(age);
        }
        if sequence > confirmed && age > Duration::seconds(STALE_SECS) {
            return Freshness::Stale(age);
        }
        Freshness::Current
    }
}

/// The request to send now, if one is due: the fleet is synced, nothing is out, and the
/// fleet's sequence moved since the figures were confirmed (or there are none), no
/// sooner than [`REFRESH_SECS`] after the last request ([`RETRY_SECS`] after a failure).
pub fn due(app: &mut App) -> Option<Effect> {
    let state = &app.compliance;
    if !app.synced || state.in_flight {
        return None;
    }
    let sequence = app.fleet.sequence;
    let moved = state.figures.is_none()
        || state
            .confirmed
            .is_none_or(|(_, confirmed)| sequence > confirmed);
    if !moved {
        return None;
    }
    let wait = if state.error.is_some() {
        RETRY_SECS
    } else {
        REFRESH_SECS
    };
    if let Some((at, _)) = state.asked
        && app.now - at < Duration::seconds(wait)
    {
        return None;
    }
    let if_none_match = state.figures.as_ref().and(state.etag.clone());
    app.compliance.in_flight = true;
    app.compliance.asked = Some((app.now, sequence));
    Some(Effect::FetchCompliance { if_none_match })
}

/// An answer came (or the request failed). One that nothing asked for (sent before a
/// context switch) is dropped.
pub fn on_answer(app: &mut App, answer: Result<ComplianceAnswer, String>) {
    let state = &mut app.compliance;
    if !state.in_flight {
        return;
    }
    state.in_flight = false;
    let asked = state.asked.map_or(app.fleet.sequence, |(_, seq)| seq);
    match answer {
        Ok(ComplianceAnswer::Changed { compliance, etag }) => {
            state.figures = Some(compliance);
            state.etag = etag;
            state.confirmed = Some((app.now, asked));
            state.error = None;
        }
        Ok(ComplianceAnswer::NotModified) if state.figures.is_some() => {
            state.confirmed = Some((app.now, asked));
            state.error = None;
        }
        // A 304 for figures never held (a server confused): ask again without a tag.
        Ok(ComplianceAnswer::NotModified) => {
            state.etag = None;
            state.error = Some((
                "the server said unchanged, but nothing is held".into(),
                app.now,
            ));
        }
        Err(why) => state.error = Some((why, app.now)),
    }
    app.reselect(ListId::Pane(Pane::Compliance));
    app.dirty = true;
}

/// The figures' freshness as the app stands now.
pub fn freshness(app: &App) -> Freshness {
    app.compliance
        .freshness(app.now, app.fleet.sequence, app.is_live())
}

/// The strip on the main screen in at most `room` columns: "compliant 91.4%  173 past
/// line  oldest LON-SV-0042 74d", shorter when there is less room, said stale or
/// unknown when the figures are not current (old figures are never shown as current).
pub fn strip(app: &App, room: usize) -> (String, Freshness) {
    let freshness = freshness(app);
    let Some(c) = &app.compliance.figures else {
        let words = match &freshness {
            Freshness::Unknown(Some(_)) => "compliance unknown (5 says why)",
            _ if !app.is_live() => "compliance unknown (no link)",
            _ => "compliance loading...",
        };
        return (text::fit(words, room), freshness);
    };
    let stale = match &freshness {
        Freshness::Stale(age) => format!("STALE {}: ", text::duration(*age)),
        _ => String::new(),
    };
    let oldest = c
        .oldest
        .as_ref()
        .map(|o| format!("  oldest {} {}d", text::clean(&o.name), o.days_past));
    let forms = [
        format!(
            "{stale}compliant {:.1}%  {} past line{}",
            c.percent_compliant,
            c.past_line,
            oldest.clone().unwrap_or_default()
        ),
        format!(
            "{stale}compliant {:.1}%  {} past line",
            c.percent_compliant, c.past_line
        ),
        format!(
            "{stale}{:.1}% compliant  {} past",
            c.percent_compliant, c.past_line
        ),
    ];
    let words = forms
        .iter()
        .find(|w| text::width(w) <= room)
        .cloned()
        .unwrap_or_else(|| text::fit(&forms[2], room));
    (words, freshness)
}

/// What the strip's freshness says, for the redraw marks (a tick redraws when it
/// changes: figures turning stale are redrawn so).
pub fn time_mark(app: &App) -> String {
    match freshness(app) {
        Freshness::Current => "current".into(),
        Freshness::Stale(age) => format!("stale {}", text::duration(age)),
        Freshness::Unknown(why) => format!("unknown {}", why.is_some()),
    }
}

/// A row of the Compliance tab, by its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row<'a> {
    /// How current the figures are, the policy, the fleet's totals...
    Status,
    Fleet,
    Oldest,
    Median,
    Behind,
    Policy(usize),
    /// A section's heading with its columns: "ring", "site", "severity", "patch".
    Heading(&'a str),
    Ring(&'a str),
    Site(&'a str),
    Severity(&'a str),
    Patch(&'a str),
}

/// Lines the policy takes in the tab.
pub const POLICY_ROWS: usize = 3;

impl<'a> Row<'a> {
    /// The section a row is in: "ring", "site", "severity", "patch", or "fleet" for the
    /// rows above them.
    pub fn section(self) -> &'a str {
        match self {
            Row::Heading(kind) => kind,
            Row::Ring(_) => "ring",
            Row::Site(_) => "site",
            Row::Severity(_) => "severity",
            Row::Patch(_) => "patch",
            _ => "fleet",
        }
    }

    pub fn parse(key: &'a str) -> Option<Row<'a>> {
        let (kind, rest) = key.split_once(':').unwrap_or((key, ""));
        Some(match kind {
            "status" => Row::Status,
            "fleet" => Row::Fleet,
            "oldest" => Row::Oldest,
            "median" => Row::Median,
            "behind" => Row::Behind,
            "policy" => Row::Policy(rest.parse().ok()?),
            "heading" => Row::Heading(rest),
            "ring" => Row::Ring(rest),
            "site" => Row::Site(rest),
            "severity" => Row::Severity(rest),
            "patch" => Row::Patch(rest),
            _ => return None,
        })
    }
}

/// The tab's rows, in order: how current, the fleet, the oldest, the median, how far
/// behind, the policy, then by ring, site, severity and patch (filtered by name; the
/// fleet's rows only without a filter).
pub fn row_keys(app: &App, filter: &str) -> Vec<String> {
    let mut keys = vec!["status".to_string()];
    let Some(c) = &app.compliance.figures else {
        return keys;
    };
    if filter.is_empty() {
        keys.extend(["fleet", "oldest", "median", "behind"].map(String::from));
        keys.extend((0..POLICY_ROWS).map(|i| format!("policy:{i}")));
    }
    // Each row's key and the words a filter is matched against.
    let mut section = |kind: &str, rows: Vec<(String, String)>| {
        let rows: Vec<String> = rows
            .into_iter()
            .filter(|(_, words)| lists::matches(filter, &[words.as_str()]))
            .map(|(key, _)| format!("{kind}:{key}"))
            .collect();
        if !rows.is_empty() {
            keys.push(format!("heading:{kind}"));
            keys.extend(rows);
        }
    };
    // Rings in rollout order (the server sends them by id).
    let mut rings: Vec<&crate::compliance::Breakdown> = c.by_ring.iter().collect();
    rings.sort_by_key(|b| app.fleet.rings.get(&b.key).map_or(u32::MAX, |r| r.order));
    section(
        "ring",
        rings
            .into_iter()
            .map(|b| {
                (
                    b.key.clone(),
                    format!("{} {}", b.key, app.fleet.ring_name(&b.key)),
                )
            })
            .collect(),
    );
    section(
        "site",
        c.by_site
            .iter()
            .map(|b| (b.key.clone(), b.key.clone()))
            .collect(),
    );
    section(
        "severity",
        c.by_severity
            .iter()
            .map(|s| (format!("{:?}", s.severity), format!("{:?}", s.severity)))
            .collect(),
    );
    section(
        "patch",
        c.by_patch
            .iter()
            .map(|p| (p.patch_id.clone(), format!("{} {}", p.kb, p.title)))
            .collect(),
    );
    keys
}

/// Enter on a row of the tab: a ring's or a site's row opens the hosts it counts;
/// other rows say what Enter does.
pub fn open_row(app: &mut App, key: &str) -> Vec<Effect> {
    match Row::parse(key) {
        Some(Row::Ring(id)) => {
            let id = id.to_string();
            app.open_screen(Screen::Hosts(HostFilter {
                ring: Some(id),
                ..HostFilter::default()
            }));
        }
        Some(Row::Site(site)) => {
            let site = site.to_string();
            app.open_screen(Screen::Hosts(HostFilter::default()));
            // The host list opened on every host, filtered by the site's name.
            app.hosts_cursor.filter = site;
            app.recompute_host_rows();
            app.reselect(ListId::Hosts);
        }
        _ => app.set_flash(
            "Enter on a ring or a site lists the hosts it counts; `patchdeck report` lists those past the line",
            false,
        ),
    }
    app.dirty = true;
    Vec::new()
}
