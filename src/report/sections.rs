//! The three reports as tables: compliance (one row per host past the line),
//! exceptions (one row per excepted host) and the audit trail (one row per attempt).

use chrono::{DateTime, Utc};

use super::Format;
use super::table::{Table, markdown_cell};
use crate::api::wire::AuditRecord;
use crate::compliance::{Compliance, PastLine};
use crate::model::Host;

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn days(secs: Option<u64>) -> String {
    secs.map_or_else(String::new, |s| format!("{:.1}", s as f64 / 86_400.0))
}

pub(super) fn past_line_table(past: &[PastLine]) -> Table {
    let mut table = Table::new(&[
        "host_id",
        "name",
        "ring",
        "site",
        "kind",
        "model",
        "os",
        "due_at",
        "days_past",
        "oldest_released_at",
        "days_since_release",
        "missing",
        "severities",
        "exception_expired_at",
    ]);
    for row in past {
        let kbs: Vec<&str> = row.missing.iter().map(|m| m.kb.as_str()).collect();
        let mut severities: Vec<&str> = row
            .missing
            .iter()
            .map(|m| match m.severity {
                crate::model::Severity::Critical => "critical",
                crate::model::Severity::Important => "important",
                crate::model::Severity::Moderate => "moderate",
                crate::model::Severity::Low => "low",
            })
            .collect();
        severities.dedup();
        table.push(vec![
            row.host_id.clone(),
            row.name.clone(),
            row.ring_id.clone(),
            row.site.clone(),
            format!("{:?}", row.kind).to_lowercase(),
            row.model.clone(),
            row.os.clone(),
            time(row.due_at),
            row.days_past.to_string(),
            time(row.oldest_released_at),
            row.days_since_release.to_string(),
            kbs.join(" "),
            severities.join(" "),
            row.exception_expired_at.map(time).unwrap_or_default(),
        ]);
    }
    table
}

/// Compliance: CSV is one row per host past the line; JSON the summary and the rows;
/// Markdown the summary, the breakdowns and the rows.
pub(super) fn compliance(
    summary: &Compliance,
    past: &[PastLine],
    format: Format,
) -> color_eyre::Result<String> {
    let rows = past_line_table(past);
    Ok(match format {
        Format::Csv => rows.csv(),
        Format::Json => {
            let body = serde_json::json!({ "compliance": summary, "past_line": past });
            format!("{}\n", serde_json::to_string_pretty(&body)?)
        }
        Format::Markdown => {
            let p = &summary.policy;
            let severities: Vec<String> = p
                .severities
                .iter()
                .map(|s| format!("{s:?}").to_lowercase())
                .collect();
            let mut out = format!("# Compliance at {}\n\n", time(summary.now));
            out.push_str(&format!(
                "Policy: {} patches verified installed within {} days of release{}.\n\n",
                severities.join(" and "),
                p.within_days,
                if p.count_superseding {
                    "; a superseding patch counts"
                } else {
                    "; only the patch itself counts"
                }
            ));
            out.push_str(&format!(
                "- **{}% compliant**: {} of {} measured hosts\n- past the line: {}\n- excluded (exceptions, not measured): {} ({} of them behind)\n- more than 30 days behind: {}; 60 days: {}; 12 weeks: {}\n- median release to verified: {} days\n",
                summary.percent_compliant,
                summary.compliant,
                summary.measured,
                summary.past_line,
                summary.excluded,
                summary.excluded_past_line,
                summary.past_30_days,
                summary.past_60_days,
                summary.past_12_weeks,
                match summary.median_release_to_verified_secs {
                    Some(s) => days(Some(s)),
                    None => "unknown".into(),
                },
            ));
            if let Some(oldest) = &summary.oldest {
                out.push_str(&format!(
                    "- the oldest: {} ({}), {} days past the line\n",
                    markdown_cell(&oldest.name),
                    markdown_cell(&oldest.host_id),
                    oldest.days_past
                ));
            }
            for (title, breakdown) in [("ring", &summary.by_ring), ("site", &summary.by_site)] {
                let mut t = Table::new(&[
                    title,
                    "hosts",
                    "measured",
                    "compliant",
                    "past line",
                    "excluded",
                    "%",
                ]);
                for b in breakdown {
                    t.push(vec![
                        b.key.clone(),
                        b.hosts.to_string(),
                        b.measured.to_string(),
                        b.compliant.to_string(),
                        b.past_line.to_string(),
                        b.excluded.to_string(),
                        b.percent_compliant.to_string(),
                    ]);
                }
                out.push_str(&format!("\n## By {title}\n\n{}", t.markdown()));
            }
            let mut t = Table::new(&[
                "severity",
                "patches",
                "missing",
                "hosts past line",
                "median days",
            ]);
            for s in &summary.by_severity {
                t.push(vec![
                    format!("{:?}", s.severity).to_lowercase(),
                    s.patches.to_string(),
                    s.missing.to_string(),
                    s.past_line.to_string(),
                    days(s.median_release_to_verified_secs),
                ]);
            }
            out.push_str(&format!("\n## By severity\n\n{}", t.markdown()));
            let mut t = Table::new(&[
                "patch",
                "severity",
                "released",
                "due",
                "applies",
                "installed",
                "superseded",
                "missing",
                "past line",
                "median days",
            ]);
            for p in &summary.by_patch {
                t.push(vec![
                    p.kb.clone(),
                    format!("{:?}", p.severity).to_lowercase(),
                    time(p.released_at),
                    time(p.due_at),
                    p.applicable.to_string(),
                    p.installed.to_string(),
                    p.superseded.to_string(),
                    p.missing.to_string(),
                    p.past_line.to_string(),
                    days(p.median_release_to_verified_secs),
                ]);
            }
            out.push_str(&format!("\n## By patch\n\n{}", t.markdown()));
            out.push_str(&format!(
                "\n## Hosts past the line ({})\n\n{}",
                past.len(),
                rows.markdown()
            ));
            out
        }
    })
}

/// Exceptions: one row per host under one, the soonest expiry first, how each stands
/// at fleet time `now` (expired, near-expiry, in-force), its scope (`all` or the KB of
/// its one patch), who granted it and its renewals.
pub(super) fn exceptions(
    hosts: &[Host],
    patches: &std::collections::BTreeMap<String, crate::model::Patch>,
    now: DateTime<Utc>,
    format: Format,
) -> color_eyre::Result<String> {
    let mut table = Table::new(&[
        "host_id",
        "name",
        "ring",
        "site",
        "scope",
        "owner",
        "reason",
        "ticket",
        "compensating_control",
        "granted_by",
        "granted_at",
        "expires_at",
        "standing",
        "expired",
        "days_left",
        "renewals",
        "last_renewal",
    ]);
    let mut hosts: Vec<&Host> = hosts.iter().filter(|h| h.exception.is_some()).collect();
    hosts.sort_by_key(|h| h.exception.as_ref().map(|e| (e.expires_at, h.id.clone())));
    let scope = |e: &crate::model::Exception| match &e.patch_id {
        None => "all".to_string(),
        Some(id) => patches.get(id).map_or_else(|| id.clone(), |p| p.kb.clone()),
    };
    for host in &hosts {
        let Some(e) = &host.exception else { continue };
        let last = e.renewals.last();
        table.push(vec![
            host.id.to_string(),
            host.name.to_string(),
            host.ring_id.to_string(),
            host.site.to_string(),
            scope(e),
            e.owner.clone(),
            e.reason.clone(),
            e.ticket.clone().unwrap_or_default(),
            e.compensating_control.clone(),
            e.granted_by.clone(),
            e.granted_at.map(time).unwrap_or_default(),
            time(e.expires_at),
            e.standing(now).as_str().to_string(),
            (!e.in_force(now)).to_string(),
            (e.expires_at - now).num_days().to_string(),
            e.renewals.len().to_string(),
            last.map(|r| {
                format!(
                    "{} by {} ({}): {}",
                    time(r.at),
                    r.by,
                    r.ticket.as_deref().unwrap_or("no ticket"),
                    r.reason
                )
            })
            .unwrap_or_default(),
        ]);
    }
    Ok(match format {
        Format::Csv => table.csv(),
        Format::Json => {
            let items: Vec<serde_json::Value> = hosts
                .iter()
                .map(|h| {
                    serde_json::json!({
                        "host_id": h.id, "name": h.name, "ring_id": h.ring_id, "site": h.site,
                        "scope": h.exception.as_deref().map(scope),
                        "standing": h.exception.as_ref().map(|e| e.standing(now).as_str()),
                        "exception": h.exception,
                        "expired": h.exception.as_ref().is_some_and(|e| !e.in_force(now)),
                    })
                })
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&items)?)
        }
        Format::Markdown => format!(
            "# Exceptions at {} ({})\n\n{}",
            time(now),
            hosts.len(),
            table.markdown()
        ),
    })
}

/// The audit trail, oldest first.
pub(super) fn audit(trail: &[AuditRecord], format: Format) -> color_eyre::Result<String> {
    let mut table = Table::new(&[
        "seq",
        "at",
        "identity",
        "verb",
        "target_kind",
        "target_id",
        "reason",
        "ticket",
        "status",
        "problem_type",
        "action_id",
        "gateway",
    ]);
    for r in trail {
        table.push(vec![
            r.seq.to_string(),
            time(r.at),
            r.identity.clone().unwrap_or_default(),
            r.verb.clone(),
            format!("{:?}", r.target.kind).to_lowercase(),
            r.target.id.clone(),
            r.reason.clone().unwrap_or_default(),
            r.ticket.clone().unwrap_or_default(),
            r.status.to_string(),
            r.problem_type.clone().unwrap_or_default(),
            r.action_id.clone().unwrap_or_default(),
            r.gateway.clone().unwrap_or_default(),
        ]);
    }
    Ok(match format {
        Format::Csv => table.csv(),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(trail)?),
        Format::Markdown => format!(
            "# Audit trail ({} entries)\n\n{}",
            trail.len(),
            table.markdown()
        ),
    })
}
