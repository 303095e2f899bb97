//! The Compliance tab and the strip on the main screen: the server's figures
//! (`GET /v1/compliance`) as they came, said stale or unknown when they are not
//! current. Rows are [`crate::app::compliance::row_keys`]'s, each section with its own
//! column words.

use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::app::App;
use crate::app::compliance::{self, Freshness, POLICY_ROWS, Row as Entry};
use crate::compliance::{Breakdown, Compliance, CompliancePolicy};
use crate::model::Severity;
use crate::text::{self, fit};
use crate::theme::Theme;
use crate::ui::Loudness;

/// How loud the figures' freshness is.
pub fn loudness(freshness: &Freshness) -> Loudness {
    match freshness {
        Freshness::Current => Loudness::Plain,
        Freshness::Stale(_) => Loudness::Fail,
        Freshness::Unknown(Some(_)) => Loudness::Fail,
        Freshness::Unknown(None) => Loudness::Muted,
    }
}

/// The strip in `room` columns, styled: plain when current, loud when not.
pub fn strip(app: &App, theme: &Theme, room: usize) -> Span<'static> {
    let (words, freshness) = compliance::strip(app, room);
    let style = match (&freshness, app.compliance.figures.as_deref()) {
        (Freshness::Current, Some(c)) if c.past_line > 0 => theme.warn,
        (Freshness::Current, _) => theme.ok,
        (other, _) => loudness(other).style(theme),
    };
    Span::styled(words, style)
}

/// The line on the tab's bottom border: why the figures are not current.
pub fn alert(app: &App) -> Option<(String, Loudness)> {
    let freshness = compliance::freshness(app);
    let why = app.compliance.error.as_ref().map(|(why, _)| why.as_str());
    match (&freshness, why) {
        (Freshness::Current, _) => None,
        (_, Some(why)) => Some((
            format!("could not fetch: {}", text::clean(why)),
            loudness(&freshness),
        )),
        (Freshness::Stale(_), None) if !app.is_live() => Some((
            "the link is down: these figures are as of the last answer".into(),
            Loudness::Fail,
        )),
        _ => None,
    }
}

/// Severities in words: "critical, important", "every severity".
fn severities(policy: &CompliancePolicy) -> String {
    if policy.severities.len() == 4 {
        return "every severity".into();
    }
    policy
        .severities
        .iter()
        .map(|s| severity_word(*s).to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn severity_word(severity: Severity) -> &'static str {
    crate::ui::words::severity_word(severity).0
}

/// The policy in words, one row each.
fn policy_row(c: &Compliance, row: usize) -> String {
    let policy = &c.policy;
    match row {
        0 => format!("policy: {} patches", severities(policy)),
        1 => format!("  verified within {} days of release", policy.within_days),
        _ if policy.count_superseding => "  a superseding patch counts".into(),
        _ => "  a superseding patch does not count".into(),
    }
}

fn secs(value: Option<u64>) -> String {
    value.map_or("-".into(), |s| {
        text::duration(chrono::Duration::seconds(
            i64::try_from(s).unwrap_or(i64::MAX),
        ))
    })
}

/// How current the figures are, in the status row.
fn status_words(app: &App) -> (String, Loudness) {
    let freshness = compliance::freshness(app);
    let loud = loudness(&freshness);
    let words = match (&freshness, app.compliance.figures.as_deref()) {
        (Freshness::Unknown(None), _) => "loading the server's figures...".to_string(),
        (Freshness::Unknown(Some(_)), _) => "UNKNOWN: could not fetch (below)".to_string(),
        (Freshness::Stale(age), _) => format!("STALE {}: not current", text::duration(*age)),
        (Freshness::Current, Some(c)) => format!(
            "the server's figures at {} UTC",
            text::time(c.now, app.fleet_now())
        ),
        (Freshness::Current, None) => String::new(),
    };
    (words, loud)
}

fn breakdown_cells(name: String, b: &Breakdown) -> Vec<Cell<'static>> {
    vec![
        Cell::from(name),
        Cell::from(format!("{:.1}%", b.percent_compliant)),
        Cell::from(b.past_line.to_string()),
        Cell::from(b.excluded.to_string()),
        Cell::from(b.hosts.to_string()),
    ]
}

/// The column words of a section.
fn columns(section: &str) -> [&'static str; 5] {
    match section {
        "ring" => ["BY RING", "OK %", "PAST LINE", "EXCLUDED", "HOSTS"],
        "site" => ["BY SITE", "OK %", "PAST LINE", "EXCLUDED", "HOSTS"],
        "severity" => ["BY SEVERITY", "PATCHES", "MISSING", "PAST LINE", "MEDIAN"],
        "patch" => ["BY PATCH", "APPLIES", "MISSING", "PAST LINE", "MEDIAN"],
        _ => ["COMPLIANCE", "OK %", "PAST LINE", "EXCLUDED", "HOSTS"],
    }
}

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext { app, theme, .. } = *cx;
    let widths = vec![
        Constraint::Fill(1),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(8),
    ];
    let name_room = cx.column_width(&widths, 0);
    // The column words of the section of the first row shown (each section's heading
    // row says its own too).
    let section = cx
        .keys
        .first()
        .and_then(|k| Entry::parse(k))
        .map_or("fleet", Entry::section);
    let header = Row::new(columns(section));
    let heading = |kind: &str| -> Vec<Cell<'static>> {
        columns(kind)
            .into_iter()
            .map(|w| Cell::from(Span::styled(w.to_string(), theme.title)))
            .collect()
    };
    let mut rows = Vec::new();
    let figures = app.compliance.figures.as_deref();
    for (index, key) in cx.visible() {
        let Some(line) = Entry::parse(key) else {
            continue;
        };
        let named = |words: String| Cell::from(fit(&words, name_room));
        let mut style = Style::new();
        let cells: Vec<Cell> = match (line, figures) {
            (Entry::Status, _) => {
                let (words, loud) = status_words(app);
                style = loud.style(theme);
                vec![named(words)]
            }
            (_, None) => continue,
            (Entry::Fleet, Some(c)) => vec![
                Cell::from(Span::styled(
                    "Fleet",
                    theme.text.add_modifier(Modifier::BOLD),
                )),
                Cell::from(format!("{:.1}%", c.percent_compliant)),
                Cell::from(c.past_line.to_string()),
                Cell::from(c.excluded.to_string()),
                Cell::from(c.hosts.to_string()),
            ],
            (Entry::Oldest, Some(c)) => match &c.oldest {
                Some(o) => vec![named(format!(
                    "oldest {} {}d past the line, {}d since release",
                    text::clean(&o.name),
                    o.days_past,
                    o.days_since_release
                ))],
                None => vec![named("no host is past the line".into())],
            },
            (Entry::Median, Some(c)) => vec![
                named("median release to verified".into()),
                Cell::from(secs(c.median_release_to_verified_secs)),
            ],
            (Entry::Behind, Some(c)) => vec![
                named("hosts behind  >30d / >60d / >12wk".into()),
                Cell::from(c.past_30_days.to_string()),
                Cell::from(c.past_60_days.to_string()),
                Cell::from(c.past_12_weeks.to_string()),
            ],
            (Entry::Policy(i), Some(c)) if i < POLICY_ROWS => {
                style = theme.muted;
                vec![named(policy_row(c, i))]
            }
            (Entry::Policy(_), Some(_)) => continue,
            (Entry::Heading(kind), Some(_)) => heading(kind),
            (Entry::Ring(id), Some(c)) => match c.by_ring.iter().find(|b| b.key == id) {
                Some(b) => breakdown_cells(fit(&app.fleet.ring_name(id), name_room), b),
                None => continue,
            },
            (Entry::Site(site), Some(c)) => match c.by_site.iter().find(|b| b.key == site) {
                Some(b) => breakdown_cells(fit(site, name_room), b),
                None => continue,
            },
            (Entry::Severity(word), Some(c)) => {
                match c
                    .by_severity
                    .iter()
                    .find(|s| format!("{:?}", s.severity) == word)
                {
                    Some(s) => vec![
                        Cell::from(severity_word(s.severity)),
                        Cell::from(s.patches.to_string()),
                        Cell::from(s.missing.to_string()),
                        Cell::from(s.past_line.to_string()),
                        Cell::from(secs(s.median_release_to_verified_secs)),
                    ],
                    None => continue,
                }
            }
            (Entry::Patch(id), Some(c)) => match c.by_patch.iter().find(|p| p.patch_id == id) {
                Some(p) => vec![
                    named(format!("{} {}", p.kb, p.title)),
                    Cell::from(p.applicable.to_string()),
                    Cell::from(p.missing.to_string()),
                    Cell::from(Span::styled(
                        p.past_line.to_string(),
                        if p.past_line > 0 {
                            theme.warn
                        } else {
                            theme.text
                        },
                    )),
                    Cell::from(secs(p.median_release_to_verified_secs)),
                ],
                None => continue,
            },
        };
        rows.push(Row::new(cells).style(style.patch(cx.row_style(index))));
    }
    PaneTable {
        header,
        widths,
        rows,
    }
}
