//! `patchdeck report --review DEPLOYMENT`: a stage or incident review in Markdown for
//! a change board, from the deployment, its hosts, `GET /v1/actions` and (for an
//! approver's token) `GET /v1/audit`: the timeline, failures by code, model and patch,
//! time to detect and to halt, every decision with who, why and ticket, and what each
//! rollback achieved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::table::{Table, markdown_cell};
use crate::api::client::{Client, ClientError};
use crate::api::wire::AuditRecord;
use crate::model::{Action, Deployment, Fleet, Host, TargetKind, Verb};
use crate::text;

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Does `action` concern deployment `d` (it, one of its rings since it was created, or
/// one of its hosts)?
fn concerns(fleet: &Fleet, d: &Deployment, kind: TargetKind, id: &str, at: DateTime<Utc>) -> bool {
    match kind {
        TargetKind::Deployment => id == d.id,
        TargetKind::Ring => d.rings.iter().any(|r| r == id) && at >= d.created_at,
        TargetKind::Host => fleet
            .hosts
            .get(id)
            .is_some_and(|h| h.deployment_id.as_deref() == Some(d.id.as_str())),
        _ => false,
    }
}

fn counted<'a>(title: &'static str, items: impl Iterator<Item = &'a str>) -> Table {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    let mut rows: Vec<(&str, u32)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut t = Table::new(&[title, "hosts"]);
    for (k, n) in rows {
        t.push(vec![k.to_string(), n.to_string()]);
    }
    t
}

pub(super) async fn review(
    client: &Client,
    id: &str,
    since: Option<DateTime<Utc>>,
) -> color_eyre::Result<String> {
    let d = client.deployment(id).await?;
    let fleet = client.snapshot().await?;
    let audit = match client.audit_trail().await {
        Ok(trail) => Some(trail),
        Err(ClientError::Forbidden(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let now = fleet.summary.as_ref().map_or_else(Utc::now, |s| s.now);
    let after = |at: DateTime<Utc>| since.is_none_or(|s| at >= s);
    let actions: Vec<&Action> = fleet
        .actions
        .values()
        .filter(|a| concerns(&fleet, &d, a.target.kind, &a.target.id, a.at) && after(a.at))
        .collect();
    let hosts: Vec<&Host> = fleet
        .hosts
        .values()
        .filter(|h| h.deployment_id.as_deref() == Some(d.id.as_str()))
        .collect();
    let failed: Vec<&Host> = hosts
        .iter()
        .copied()
        .filter(|h| {
            h.failure.as_ref().is_some_and(|f| {
                f.patch_id
                    .as_ref()
                    .is_none_or(|p| d.patch_ids.iter().any(|d| d == p))
                    && after(f.at)
            })
        })
        .collect();
    let kb = |patch: &str| {
        fleet
            .patches
            .get(patch)
            .map_or_else(|| patch.to_string(), |p| p.kb.clone())
    };
    let ring_name = |ring: &str| fleet.ring_name(ring);

    let mut out = format!("# Review: {}\n\n", markdown_cell(&d.name));
    let kbs: Vec<String> = d.patch_ids.iter().map(|p| kb(p)).collect();
    out.push_str(&format!(
        "- deployment `{}`{}: **{}**{}\n- patches: {}\n- rings: {}\n- created {} by {}\n- hosts: {} total, {} succeeded, {} failed, {} rolled back, {} excluded, {} offline\n- as of {} (fleet time)\n",
        markdown_cell(&d.id),
        if d.emergency { " (EMERGENCY)" } else { "" },
        d.state.words(),
        d.state_reason
            .as_deref()
            .map(|r| format!(": {}", markdown_cell(r)))
            .unwrap_or_default(),
        markdown_cell(&kbs.join(", ")),
        markdown_cell(&d.rings.iter().map(|r| ring_name(r)).collect::<Vec<_>>().join(" > ")),
        time(d.created_at),
        markdown_cell(&d.created_by),
        d.counts.total,
        d.counts.succeeded,
        d.counts.failed,
        d.counts.rolled_back,
        d.counts.excluded,
        d.counts.offline,
        time(now),
    ));

    // Time to detect: from the failing ring's opening to its first failure; to halt:
    // from that failure to the first halt.
    let first_failure = failed
        .iter()
        .filter_map(|h| h.failure.as_ref().map(|f| (f.at, *h)))
        .min_by_key(|(at, _)| *at);
    // Stopped: the first halt (the failure threshold's, by system, or a person's),
    // pause or rollback after the first failure.
    let halt = first_failure.and_then(|(failed_at, _)| {
        actions
            .iter()
            .filter(|a| matches!(a.verb, Verb::Halt | Verb::Pause | Verb::Rollback))
            .filter(|a| a.at >= failed_at)
            .min_by_key(|a| a.at)
    });
    out.push_str("\n## Detection and halt\n\n");
    match first_failure {
        Some((at, host)) => {
            let opened = d
                .approvals
                .iter()
                .filter(|a| a.ring_id == host.ring_id && a.at <= at)
                .map(|a| a.at)
                .max()
                .unwrap_or(d.created_at);
            out.push_str(&format!(
                "- first failure: {} on {} ({}), {} after {} opened\n",
                time(at),
                markdown_cell(&host.name),
                markdown_cell(&ring_name(&host.ring_id)),
                text::duration(at - opened),
                markdown_cell(&ring_name(&host.ring_id)),
            ));
            match halt {
                Some(h) => out.push_str(&format!(
                    "- stopped ({}): {} by {}, **{} after the first failure**{}\n",
                    h.verb.as_str(),
                    time(h.at),
                    markdown_cell(&h.by),
                    text::duration(h.at - at),
                    h.reason
                        .as_deref()
                        .map(|r| format!(": {}", markdown_cell(r)))
                        .unwrap_or_default(),
                )),
                None => out.push_str("- **not stopped**\n"),
            }
        }
        None => out.push_str("- no failures\n"),
    }

    out.push_str(&format!("\n## Failures ({})\n", failed.len()));
    let codes = failed
        .iter()
        .filter_map(|h| h.failure.as_ref().map(|f| f.code.as_str()));
    out.push_str(&format!(
        "\n### By code\n\n{}",
        counted("code", codes).markdown()
    ));
    let models = failed.iter().map(|h| h.model.as_str());
    out.push_str(&format!(
        "\n### By model\n\n{}",
        counted("model", models).markdown()
    ));
    let patches: Vec<String> = failed
        .iter()
        .map(|h| {
            h.failure
                .as_ref()
                .and_then(|f| f.patch_id.as_deref())
                .map_or_else(|| "unknown".to_string(), kb)
        })
        .collect();
    out.push_str(&format!(
        "\n### By patch\n\n{}",
        counted("patch", patches.iter().map(String::as_str)).markdown()
    ));

    let mut decisions = Table::new(&["at", "verb", "target", "by", "reason", "ticket", "result"]);
    for a in &actions {
        decisions.push(vec![
            time(a.at),
            a.verb.as_str().to_string(),
            a.target_name.clone(),
            a.by.clone(),
            a.reason.clone().unwrap_or_default(),
            a.ticket.clone().unwrap_or_default(),
            a.detail
                .clone()
                .map_or_else(|| a.state.words(), |d| format!("{}: {d}", a.state.words())),
        ]);
    }
    for approval in d.approvals.iter().filter(|a| after(a.at)) {
        decisions.push(vec![
            time(approval.at),
            "approved".into(),
            ring_name(&approval.ring_id),
            approval.by.clone(),
            String::new(),
            String::new(),
            "ring opened".into(),
        ]);
    }
    decisions.rows.sort();
    out.push_str(&format!(
        "\n## Decisions (timeline)\n\n{}",
        decisions.markdown()
    ));

    let rollbacks: Vec<&&Action> = actions
        .iter()
        .filter(|a| a.verb == Verb::Rollback)
        .collect();
    out.push_str("\n## Rollback and restore\n\n");
    if rollbacks.is_empty() {
        out.push_str("none\n");
    }
    for a in rollbacks {
        out.push_str(&format!(
            "- {} of {} by {}: {} ({} of {} hosts){}{}\n",
            time(a.at),
            markdown_cell(&a.target_name),
            markdown_cell(&a.by),
            a.state.words(),
            a.progress_done,
            a.progress_total,
            a.finished_at
                .map(|f| format!(", finished {}", time(f)))
                .unwrap_or_default(),
            a.detail
                .as_deref()
                .map(|d| format!("; {}", markdown_cell(d)))
                .unwrap_or_default(),
        ));
    }

    out.push_str(
        "\n## Attempts in the audit trail\n\nEvery attempt, accepted or refused (times are the server's wall clock).\n\n",
    );
    match audit {
        None => out.push_str("not shown: the audit trail needs an approver's token\n"),
        Some(trail) => {
            let mine: Vec<&AuditRecord> = trail
                .iter()
                .filter(|r| {
                    // Audit times are the wall clock, not the fleet's: a ring counts whenever.
                    concerns(&fleet, &d, r.target.kind, &r.target.id, d.created_at) && after(r.at)
                })
                .collect();
            let mut t = Table::new(&["at", "who", "verb", "target", "status", "reason", "ticket"]);
            for r in mine {
                t.push(vec![
                    time(r.at),
                    r.identity.clone().unwrap_or_else(|| "(no token)".into()),
                    r.verb.clone(),
                    r.target.id.clone(),
                    r.status.to_string(),
                    r.reason.clone().unwrap_or_default(),
                    r.ticket.clone().unwrap_or_default(),
                ]);
            }
            out.push_str(&t.markdown());
        }
    }
    Ok(out)
}
