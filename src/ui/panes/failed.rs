//! The Failed hosts pane: failures grouped by error code, a group opens to its hosts.

use std::collections::BTreeMap;

use ratatui::layout::Constraint;
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};

use super::{PaneTable, RowsContext};
use crate::app::failures::FailureGroup;
use crate::app::{App, parse_failure_row_key};
use crate::text::{self, fit};
use crate::ui::words::ring_name;

/// "Wave 1 35, Pilot 2" from a count map, names resolved, largest first.
fn ranked_names(app: &App, map: &BTreeMap<String, u32>, ring_ids: bool) -> String {
    FailureGroup::ranked(map)
        .into_iter()
        .map(|(key, n)| {
            let name = if ring_ids {
                ring_name(app, key)
            } else {
                text::clean(key).into_owned()
            };
            format!("{name} {n}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Hosts in all failure groups, for the title.
/// The failed hosts: all in from the first screen on.
pub(super) fn host_count(app: &App) -> Option<usize> {
    Some(app.failure_groups().iter().map(FailureGroup::count).sum())
}

pub(super) fn table<'a>(cx: &RowsContext<'a>) -> PaneTable<'a> {
    let RowsContext {
        app, theme, wide, ..
    } = *cx;
    let now = app.fleet_now();
    let (header, widths) = if wide {
        (
            vec!["ERROR", "HOSTS", "FIRST", "RINGS", "MODELS", "MESSAGE"],
            vec![
                Constraint::Length(22),
                Constraint::Length(5),
                Constraint::Length(12),
                Constraint::Length(18),
                Constraint::Length(26),
                Constraint::Min(20),
            ],
        )
    } else {
        (
            vec!["ERROR", "HOSTS", "AGE", "RINGS", "MESSAGE"],
            vec![
                Constraint::Length(19),
                Constraint::Length(5),
                Constraint::Length(7),
                Constraint::Length(16),
                Constraint::Min(10),
            ],
        )
    };
    let message_width = cx.column_width(&widths, widths.len() - 1);
    let rings_width = cx.column_width(&widths, 3);
    let mut rows = Vec::new();
    for (index, key) in cx.visible() {
        let (code, host_id) = parse_failure_row_key(key);
        let style = cx.row_style(index);
        match host_id {
            None => {
                let Some(group) = app.failure_groups().iter().find(|g| g.code == code) else {
                    continue;
                };
                let open = if app.expanded.contains(code) {
                    "-"
                } else {
                    "+"
                };
                let mut cells = vec![
                    Cell::from(Span::styled(
                        format!("{open} {}", fit(code, 12)),
                        theme.fail,
                    )),
                    Cell::from(format!("{:>5}", group.count())),
                    Cell::from(if wide {
                        text::time(group.first_seen, now)
                    } else {
                        text::duration(now - group.first_seen)
                    }),
                    Cell::from(fit(&ranked_names(app, &group.rings, true), rings_width)),
                ];
                if wide {
                    cells.push(Cell::from(ranked_names(app, &group.models, false)));
                }
                cells.push(Cell::from(Span::styled(
                    fit(&group.message, message_width),
                    theme.muted,
                )));
                rows.push(Row::new(cells).style(style.add_modifier(Modifier::BOLD)));
            }
            Some(host_id) => {
                let Some(host) = app.fleet.hosts.get(host_id) else {
                    continue;
                };
                let mark = if app.marked.contains(host_id) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let ring = ring_name(app, &host.ring_id);
                let at = host.failure.as_ref().map_or(host.updated_at, |f| f.at);
                let mut cells = vec![
                    Cell::from(format!("  {mark} {}", fit(&host.name, 14))),
                    Cell::from(""),
                    Cell::from(if wide {
                        text::time(at, now)
                    } else {
                        text::duration(now - at)
                    }),
                    Cell::from(fit(&ring, 16)),
                ];
                if wide {
                    cells.push(Cell::from(fit(&host.model, 24)));
                    cells.push(Cell::from(Span::styled(
                        host.failure
                            .as_ref()
                            .and_then(|f| f.patch_id.as_deref())
                            .unwrap_or_default()
                            .to_string(),
                        theme.muted,
                    )));
                } else {
                    cells.push(Cell::from(Span::styled(fit(&host.model, 30), theme.muted)));
                }
                rows.push(Row::new(cells).style(style));
            }
        }
    }
    PaneTable {
        header: Row::new(header),
        widths,
        rows,
    }
}
