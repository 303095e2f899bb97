//! `patchdeck report`: compliance (one row per host past the line), exceptions and the
//! audit trail of a live server, as CSV, JSON or Markdown, for auditors and change
//! boards; `--review DEPLOYMENT` (in `review`) a stage or incident review in Markdown.
//!
//! Reads API v1 only (`GET /v1/compliance`, `/v1/hosts`, `/v1/audit`...), from `--api`
//! and `--token-file` (or PATCHDECK_TOKEN) or a config context, as the console does.
//! `sections` turns what the server said into tables; `table` writes them.

mod review;
mod sections;
mod table;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::api::client::{Client, Transport};
use crate::config::{self, Config};

pub use table::Table;

/// What a report is of.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// One row per host past the compliance line (and the summary, in JSON and Markdown).
    Compliance,
    /// One row per host under an exception: scope, owner, reason, ticket, control,
    /// granted by and at, expiry and standing, renewals.
    Exceptions,
    /// One row per attempt at an action in the server's audit trail (approvers only).
    Audit,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180, a header row: opens in a spreadsheet.
    Csv,
    Json,
    Markdown,
}

/// `patchdeck report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// What to report.
    #[arg(value_enum, default_value_t = Subject::Compliance)]
    pub subject: Subject,
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    /// Only what happened at or after this time (2026-11-12, "2026-11-12 14:05",
    /// RFC 3339, or 2h / 3d ago): audit entries at or after it, hosts whose missed due
    /// time is at or after it, exceptions in force at or after it (expiring after it).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// A stage or incident review of this deployment (Markdown): timeline, failures by
    /// code, model and patch, time to detect and to halt, every decision, rollback.
    #[arg(long, value_name = "DEPLOYMENT")]
    pub review: Option<String>,
    /// API v1 base URL (overrides the config's context).
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// File holding the bearer token (mode 600). Or set PATCHDECK_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Context of the config file to use (default: its current_context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/patchdeck/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Allow plain http:// to a host that is not this machine.
    #[arg(long)]
    pub insecure_http: bool,
    /// PEM file of CA certificates to trust besides the system's and the bundled roots.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

/// A mistake in how report was called (the binary exits 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReportUsage(pub String);

/// Runs `patchdeck report`, writing the report on stdout.
pub async fn run(args: ReportArgs) -> color_eyre::Result<()> {
    let since = match &args.since {
        Some(text) => Some(crate::audit::parse_time(text, Utc::now()).map_err(ReportUsage)?),
        None => None,
    };
    if args.review.is_some() && args.format != Format::Markdown {
        return Err(ReportUsage("--review writes Markdown: leave out --format".into()).into());
    }
    let client = connect(&args)?;
    let text = match &args.review {
        Some(id) => review::review(&client, id, since).await?,
        None => report(&client, args.subject, args.format, since).await?,
    };
    print!("{text}");
    Ok(())
}

/// The report of `subject` in `format`.
pub async fn report(
    client: &Client,
    subject: Subject,
    format: Format,
    since: Option<DateTime<Utc>>,
) -> color_eyre::Result<String> {
    Ok(match subject {
        Subject::Compliance => {
            let summary = client.compliance().await?;
            let mut past = client.compliance_past().await?;
            if let Some(since) = since {
                past.retain(|row| row.due_at >= since);
            }
            sections::compliance(&summary, &past, format)?
        }
        Subject::Exceptions => {
            let fleet = client.snapshot().await?;
            let now = fleet.summary.as_ref().map_or_else(Utc::now, |s| s.now);
            let mut hosts: Vec<_> = fleet
                .hosts
                .into_values()
                .filter(|h| h.exception.is_some())
                .collect();
            if let Some(since) = since {
                hosts.retain(|h| h.exception.as_ref().is_some_and(|e| e.expires_at >= since));
            }
            sections::exceptions(&hosts, &fleet.patches, now, format)?
        }
        Subject::Audit => {
            let mut trail = client.audit_trail().await?;
            if let Some(since) = since {
                trail.retain(|r| r.at >= since);
            }
            sections::audit(&trail, format)?
        }
    })
}

/// The client for `--api` or the context, as the console picks it.
fn connect(args: &ReportArgs) -> color_eyre::Result<Client> {
    let config_path = args.config.clone().or_else(config::default_path);
    let config = match &config_path {
        Some(path) if args.config.is_some() => Config::load_named(path)?,
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let context = config.context(args.context.as_deref());
    if let Some(name) = &args.context
        && context.is_none()
    {
        return Err(ReportUsage(format!("no context `{name}` in the config")).into());
    }
    let (api, token_file, transport) = match (&args.api, context) {
        (Some(api), _) => (
            api.clone(),
            args.token_file.clone(),
            Transport {
                insecure_http: args.insecure_http,
                ca_file: args.ca_file.clone(),
            },
        ),
        (None, Some(ctx)) if !ctx.api.trim().is_empty() => (
            ctx.api.clone(),
            args.token_file.clone().or_else(|| ctx.token_file.clone()),
            Transport {
                insecure_http: args.insecure_http || ctx.insecure_http,
                ca_file: args.ca_file.clone().or_else(|| ctx.ca_file.clone()),
            },
        ),
        _ => {
            return Err(ReportUsage(
                "report reads a live server: give --api URL (and --token-file) or a context with an api"
                    .into(),
            )
            .into());
        }
    };
    let token = match &token_file {
        Some(path) => Some(config::read_token_file(path)?),
        None => std::env::var("PATCHDECK_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    Client::with_transport(&api, token, &transport).map_err(|e| ReportUsage(e.to_string()).into())
}
