//! The local audit log, in the data directory: a JSON line when an action is sent (with
//! its idempotency key), one with the server's answer, one with the final outcome of a
//! long action (done or failed, n of m), and one for actions still unanswered when the
//! console quit. Each carries the wall clock and the fleet clock. Never the token.
//! `patchdeck audit` prints it as a table, filtered by time, ticket and context.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::Outcome;
use crate::model::{ActionState, TargetKind, Verb};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the line was written (wall clock, UTC).
    pub time: DateTime<Utc>,
    /// The fleet's clock then, as the console showed it (absent from older lines).
    #[serde(default)]
    pub fleet_time: Option<DateTime<Utc>>,
    /// What the line records (older lines: the answer).
    #[serde(default)]
    pub phase: AuditPhase,
    pub context: String,
    pub api: String,
    pub identity: String,
    /// The verb, by its wire name ("halt").
    pub action: Verb,
    /// By its wire name ("deployment").
    pub target_kind: TargetKind,
    pub target_id: String,
    pub target_name: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub ticket: Option<String>,
    pub idempotency_key: String,
    /// In words, as the console said it: "succeeded", "awaiting-second-approver",
    /// "refused: ...", "no answer: ...".
    pub outcome: String,
    /// The outcome as typed fields (absent from lines written before there were any).
    #[serde(default)]
    pub result: Option<AuditResult>,
    /// The server's action id when it recorded one.
    #[serde(default)]
    pub action_id: Option<String>,
}

/// What one line of the log records about an action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditPhase {
    /// Sent to the server; no answer yet.
    Sent,
    /// The server's answer.
    #[default]
    Answer,
    /// A long action reached its final state (seen in the event stream).
    Final,
    /// The console quit before the answer came: whether the server acted is unknown.
    Unknown,
}

impl AuditPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditPhase::Sent => "sent",
            AuditPhase::Answer => "answer",
            AuditPhase::Final => "final",
            AuditPhase::Unknown => "unknown",
        }
    }
}

/// Which records `patchdeck audit` prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub ticket: Option<String>,
    pub context: Option<String>,
}

impl AuditFilter {
    /// Times are the wall clock the line was written at; ticket and context match
    /// exactly, ignoring case.
    pub fn admits(&self, record: &AuditRecord) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim())))
        };
        self.since.is_none_or(|t| record.time >= t)
            && self.until.is_none_or(|t| record.time <= t)
            && same(&self.ticket, record.ticket.as_deref())
            && same(&self.context, Some(&record.context))
    }
}

/// A time for `--since`/`--until`: RFC 3339, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (UTC), or
/// a span back from now (`30m`, `2h`, `3d`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(time.and_utc());
        }
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let span = number.parse::<i64>().ok().and_then(|n| match unit {
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    });
    match span {
        Some(span) => Ok(now - span),
        None => Err(format!(
            "`{text}` is not a time: use 2026-11-12, \"2026-11-12 14:05\", RFC 3339, or 30m / 2h / 3d ago"
        )),
    }
}

/// What came of an action, for the log: the kind of answer with its HTTP status and
/// problem type, or the state the server recorded the action in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuditResult {
    /// The server recorded the action, in this state.
    Succeeded {
        state: ActionState,
    },
    Refused {
        status: u16,
        problem_type: String,
    },
    Forbidden {
        status: u16,
    },
    VersionConflict {
        #[serde(default)]
        current_version: Option<u64>,
    },
    Unanswered,
    Failed {
        #[serde(default)]
        status: Option<u16>,
    },
}

impl From<&Outcome> for AuditResult {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Succeeded(action) => AuditResult::Succeeded {
                state: action.state,
            },
            Outcome::Refused { status, problem } => AuditResult::Refused {
                status: *status,
                problem_type: problem.problem_type.clone(),
            },
            Outcome::Forbidden { status, .. } => AuditResult::Forbidden { status: *status },
            Outcome::VersionConflict { current_version } => AuditResult::VersionConflict {
                current_version: *current_version,
            },
            Outcome::Unanswered(_) => AuditResult::Unanswered,
            Outcome::Failed { status, .. } => AuditResult::Failed { status: *status },
        }
    }
}

/// The audit log file in a data directory.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.jsonl")
}

/// Append one record (creating the file, mode 600, and its directory).
pub fn append(path: &Path, record: &AuditRecord) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
    line.push('\n');
    file.write_all(line.as_bytes())
}

/// Read every record; lines that do not parse are reported with their number.
pub fn read(path: &Path) -> std::io::Result<(Vec<AuditRecord>, Vec<String>)> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(record) => records.push(record),
            Err(e) => problems.push(format!("{}:{}: {e}", path.display(), index + 1)),
        }
    }
    Ok((records, problems))
}

/// A value as the API spells it ("deployment").
fn wire_word(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => "?".into(),
    }
}

/// The records as a plain-text table.
pub fn table(records: &[AuditRecord]) -> String {
    let clean = |s: &str| crate::text::clean(s).into_owned();
    let header = [
        "TIME (UTC)",
        "FLEET TIME",
        "CONTEXT",
        "API",
        "WHO",
        "ACTION",
        "TARGET",
        "TICKET",
        "LINE",
        "OUTCOME",
        "REASON",
        "KEY",
    ];
    let rows: Vec<[String; 12]> = records
        .iter()
        .map(|r| {
            [
                r.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.fleet_time
                    .map_or("-".into(), |t| t.format("%m-%d %H:%M").to_string()),
                clean(&r.context),
                clean(&r.api),
                clean(&r.identity),
                r.action.as_str().to_string(),
                format!("{} {}", wire_word(r.target_kind), clean(&r.target_name)),
                clean(r.ticket.as_deref().unwrap_or("-")),
                r.phase.as_str().to_string(),
                clean(&r.outcome),
                clean(r.reason.as_deref().unwrap_or("-")),
                clean(&r.idempotency_key),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.len());
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(crate::text::width(cell)).min(40);
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<String>| {
        let line: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = crate::text::fit(c, widths[i]);
                let pad = widths[i].saturating_sub(crate::text::width(&c));
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    };
    push_row(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        push_row(row.to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: &str) -> AuditRecord {
        AuditRecord {
            time: DateTime::parse_from_rfc3339("2026-11-12T14:05:00Z")
                .unwrap()
                .with_timezone(&Utc),
            fleet_time: None,
            phase: AuditPhase::Answer,
            context: "prod".into(),
            api: "https://patch.example.com".into(),
            identity: "alice".into(),
            action: Verb::Halt,
            target_kind: TargetKind::Deployment,
            target_id: "dep-1".into(),
            target_name: "2026-11 Patch Tuesday".into(),
            reason: Some("bad driver".into()),
            ticket: Some("CHG-1".into()),
            idempotency_key: "k-1".into(),
            outcome: outcome.into(),
            result: Some(AuditResult::Succeeded {
                state: ActionState::Succeeded,
            }),
            action_id: Some("act-000001".into()),
        }
    }

    #[test]
    fn records_are_typed_json_and_older_lines_still_read() {
        let line = serde_json::to_value(record("succeeded")).unwrap();
        assert_eq!(line["action"], "halt");
        assert_eq!(line["target_kind"], "deployment");
        assert_eq!(
            line["result"],
            serde_json::json!({"kind": "succeeded", "state": "succeeded"})
        );
        let refused = AuditResult::Refused {
            status: 409,
            problem_type: "urn:patchdeck:problem:conflict".into(),
        };
        assert_eq!(
            serde_json::to_value(&refused).unwrap(),
            serde_json::json!({
                "kind": "refused",
                "status": 409,
                "problem_type": "urn:patchdeck:problem:conflict"
            })
        );
        // A line written before the typed fields: same names, no `result`.
        let old = r#"{"time":"2026-11-12T14:05:00Z","context":"prod","api":"https://x",
            "identity":"alice","action":"rollback","target_kind":"ring","target_id":"r1",
            "target_name":"Pilot","reason":null,"ticket":null,"idempotency_key":"k",
            "outcome":"refused: conflict (HTTP 409)","action_id":null}"#;
        let old: AuditRecord = serde_json::from_str(old).unwrap();
        assert_eq!(
            (old.action, old.target_kind, old.result.clone()),
            (Verb::Rollback, TargetKind::Ring, None)
        );
        assert_eq!((old.phase, old.fleet_time), (AuditPhase::Answer, None));
        assert!(table(&[old]).contains("rollback  ring Pilot"));
    }

    #[test]
    fn filters_by_time_ticket_and_context_and_parses_times() {
        let now = DateTime::parse_from_rfc3339("2026-11-12T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = record("succeeded");
        let filter = |f: AuditFilter| f.admits(&r);
        assert!(filter(AuditFilter::default()));
        assert!(filter(AuditFilter {
            since: Some(parse_time("2h", now).unwrap()),
            ticket: Some("chg-1".into()),
            context: Some("prod".into()),
            ..AuditFilter::default()
        }));
        assert!(!filter(AuditFilter {
            since: Some(parse_time("2026-11-12 14:06", now).unwrap()),
            ..AuditFilter::default()
        }));
        assert!(!filter(AuditFilter {
            until: Some(parse_time("2026-11-11", now).unwrap()),
            ..AuditFilter::default()
        }));
        assert!(!filter(AuditFilter {
            ticket: Some("CHG-2".into()),
            ..AuditFilter::default()
        }));
        assert!(!filter(AuditFilter {
            context: Some("lab".into()),
            ..AuditFilter::default()
        }));
        assert_eq!(parse_time("2026-11-12T14:05:00Z", now).unwrap(), r.time);
        assert!(
            parse_time("yesterday", now)
                .unwrap_err()
                .contains("yesterday")
        );
    }

    #[test]
    fn append_then_read_then_table() {
        let dir = std::env::temp_dir().join(format!("patchdeck-audit-{}", std::process::id()));
        let path = log_path(&dir);
        let _ = std::fs::remove_file(&path);
        append(&path, &record("succeeded")).unwrap();
        append(&path, &record("refused: changed")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        let (records, problems) = read(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].ends_with(&format!(
            "audit.jsonl:3: {}",
            problems[0].split(": ").last().unwrap()
        )));
        let text = table(&records);
        assert!(text.starts_with("TIME (UTC)"));
        assert!(text.contains("deployment 2026-11 Patch Tuesday"));
        assert!(text.contains("refused: changed"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
