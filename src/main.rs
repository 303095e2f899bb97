//! patchdeck: command line, runtime, and dispatch to the console or the simulator server.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{Local, Utc};
use clap::{CommandFactory, Parser, Subcommand};

use patchdeck::api::client::{Client, Transport, is_insecure_http};
use patchdeck::api::server::{self, ServerOptions};
use patchdeck::api::tokens::{TokenFileError, Tokens};
use patchdeck::app::{App, Context};
use patchdeck::config::{self, Config};
use patchdeck::model::Role;
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use patchdeck::theme::{ColourSupport, Theme};
use patchdeck::ui::Look;

mod completions;
mod man;

#[derive(Parser, Debug)]
#[command(
    name = "patchdeck",
    version,
    about = "A terminal console for staged patch rollouts.",
    long_about = "A terminal console for staged patch rollouts: rings, deployments, failed hosts, \
                  rollback and emergency mode.\n\nWith no config and no --api it runs on a built-in \
                  simulated fleet (DEMO)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    console: ConsoleArgs,
}

#[derive(clap::Args, Debug)]
struct ConsoleArgs {
    /// API v1 base URL, e.g. https://patch.example.com (overrides the config's context).
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// File holding the bearer token (mode 600). Or set PATCHDECK_TOKEN.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Disable every action: look, do not touch.
    #[arg(long)]
    read_only: bool,
    /// Allow plain http:// to a host that is not this machine (the token crosses the
    /// network readable); the header then shows INSECURE. Or the context's insecure_http.
    #[arg(long)]
    insecure_http: bool,
    /// PEM file of CA certificates to trust besides the system's and the bundled roots
    /// (an internal PKI). Or the context's ca_file.
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// Mouse on: the wheel scrolls, a click focuses or selects (off by default: it
    /// stops drag-to-copy; Shift-drag still selects). Or the config's `mouse = true`; M.
    #[arg(long)]
    mouse: bool,
    /// No terminal bell for notices (a halt, a gate or a second approver awaited, a
    /// window closing with work left, an exploited CVE, an emergency); their flash line
    /// stays. Or the config's `bell = false`.
    #[arg(long)]
    no_bell: bool,
    /// Context of the config file to use (default: its current_context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Theme: default, dark, light, high-contrast, solarized, or NAME for
    /// $XDG_CONFIG_HOME/patchdeck/themes/NAME.toml (which wins over a built-in).
    #[arg(long, value_name = "NAME")]
    theme: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/patchdeck/config.toml).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The fleet when no --api or context names one: the built-in simulator (DEMO), or
    /// an AWS Systems Manager account, for which the console runs the gateway itself
    /// on loopback (credentials from the standard AWS chain; never stored).
    #[arg(long, value_enum, default_value_t = patchdeck::config::FleetBackend::Sim)]
    backend: patchdeck::config::FleetBackend,
    /// aws-ssm: the AWS region (else the chain's: AWS_REGION, the profile's region).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// aws-ssm: the AWS profile (else AWS_PROFILE or `default`).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// aws-ssm: a TOML file of rollout settings (ring_order, production, max_errors...),
    /// instead of the context's [context.aws_ssm]; docs/backends.md lists the keys.
    #[arg(long, value_name = "PATH")]
    aws_ssm_settings: Option<PathBuf>,
    /// Demo only: the simulator's story.
    #[arg(long, value_enum, default_value_t = Scenario::PatchTuesday)]
    scenario: Scenario,
    /// Demo only: hosts in the simulated fleet.
    #[arg(long, default_value_t = 2000)]
    hosts: usize,
    /// Demo only: seed of the simulated fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Demo only: simulated seconds per real second.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a fleet (the simulator, or an AWS SSM account) as patchdeck API v1: the
    /// gateway several consoles share.
    Serve(Box<patchdeck::serve::ServeArgs>),
    /// Report compliance, exceptions or the audit trail of a live server as CSV, JSON
    /// or Markdown; `--review DEPLOYMENT` a stage or incident review.
    Report(Box<patchdeck::report::ReportArgs>),
    /// Print the local audit log (every action this machine's consoles sent) as a table.
    Audit(AuditArgs),
    /// Measure startup, initial sync, memory, ingest, render and filter at scale.
    #[command(hide = true)]
    Bench(patchdeck::bench::BenchArgs),
    /// Print a shell completion script: `source <(patchdeck completions bash)`.
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff): `patchdeck man | man -l -`.
    Man(man::ManArgs),
    /// Write an example config (`config init`) or check one (`config check`).
    Config(patchdeck::config_command::ConfigArgs),
    /// Tools for trying patchdeck without a real fleet (a fake SSM account).
    #[command(hide = true)]
    Dev(patchdeck::dev::DevArgs),
}

#[derive(clap::Args, Debug)]
struct AuditArgs {
    /// Audit log to read (default: audit.jsonl in the data directory).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Print the raw JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// Only lines written at or after this time (2026-11-12, "2026-11-12 14:05", RFC 3339, or 2h / 3d ago).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only lines written at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only actions with this ticket.
    #[arg(long)]
    ticket: Option<String>,
    /// Only actions sent in this context ("--api" for --api sessions).
    #[arg(long)]
    context: Option<String>,
}

fn audit(args: AuditArgs) -> color_eyre::Result<()> {
    let path = match args.file {
        Some(path) => path,
        None => patchdeck::audit::log_path(
            &config::data_dir()
                .ok_or_else(|| UsageError("no data directory on this system".into()))?,
        ),
    };
    let time = |t: &Option<String>| -> Result<_, UsageError> {
        t.as_deref()
            .map(|t| patchdeck::audit::parse_time(t, chrono::Utc::now()).map_err(UsageError))
            .transpose()
    };
    let filter = patchdeck::audit::AuditFilter {
        since: time(&args.since)?,
        until: time(&args.until)?,
        ticket: args.ticket.clone(),
        context: args.context.clone(),
    };
    let (mut records, problems) = patchdeck::audit::read(&path)
        .map_err(|e| color_eyre::eyre::eyre!("cannot read {}: {e}", path.display()))?;
    records.retain(|r| filter.admits(r));
    for problem in &problems {
        eprintln!("patchdeck: skipped a line that is not an audit record: {problem}");
    }
    if records.is_empty() {
        let matching = if filter == Default::default() {
            ""
        } else {
            " match"
        };
        println!("no actions recorded in {}{matching}", path.display());
        return Ok(());
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        records.iter().try_for_each(|record| {
            let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")
        })
    } else {
        write!(out, "{}", patchdeck::audit::table(&records))
    };
    match written.and_then(|()| out.flush()) {
        // `patchdeck audit | head`: the reader has what it wanted.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `config init|check`: the file is `--path`, else the console's `--config`, else the
/// default path.
fn config_command(
    args: patchdeck::config_command::ConfigArgs,
    console_config: Option<PathBuf>,
) -> color_eyre::Result<()> {
    use patchdeck::config_command::{self as command, ConfigCommand, ConfigCommandError};
    let default = || {
        console_config
            .clone()
            .or_else(config::default_path)
            .ok_or(ConfigCommandError::NoDirectory)
    };
    let usage = |error: ConfigCommandError| UsageError(error.to_string());
    match args.command {
        ConfigCommand::Init { path } => {
            let path = path.map_or_else(default, Ok).map_err(usage)?;
            command::init(&path, config::data_dir().as_deref()).map_err(usage)?;
            println!(
                "wrote {}: edit it, then `patchdeck config check`",
                path.display()
            );
        }
        ConfigCommand::Check { path } => {
            let path = path.map_or_else(default, Ok).map_err(usage)?;
            command::check(&path, &mut std::io::stdout()).map_err(usage)?;
        }
    }
    Ok(())
}

/// An error the user must fix in how they called us (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        // Before any thread starts: the console's few threads share one arena.
        patchdeck::memory::one_arena();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("patchdeck: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Serve(args)) => runtime.block_on(patchdeck::serve::run(*args)),
        Some(Command::Audit(args)) => audit(args),
        Some(Command::Report(args)) => runtime.block_on(patchdeck::report::run(*args)),
        Some(Command::Bench(args)) => runtime.block_on(patchdeck::bench::run(args)),
        Some(Command::Completions(args)) => {
            completions::write(Cli::command(), &args, &mut std::io::stdout()).map_err(Into::into)
        }
        Some(Command::Man(args)) => {
            man::write(Cli::command(), &args, &mut std::io::stdout()).map_err(Into::into)
        }
        Some(Command::Config(args)) => config_command(args, cli.console.config.clone()),
        Some(Command::Dev(args)) => runtime.block_on(patchdeck::dev::run(args)),
        None => runtime.block_on(console(cli.console)),
    };
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("patchdeck: {error:#}");
            let usage = error.downcast_ref::<UsageError>().is_some()
                || error
                    .downcast_ref::<patchdeck::report::ReportUsage>()
                    .is_some()
                || error.downcast_ref::<TokenFileError>().is_some()
                || error
                    .downcast_ref::<patchdeck::serve::ServeUsage>()
                    .is_some()
                || error.downcast_ref::<config::ConfigError>().is_some()
                || error.downcast_ref::<config::TokenError>().is_some();
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The gateway a console runs itself for an SSM account: on loopback, with its store
/// in the data directory (`aws-ssm-NAME.sqlite`: the rollout state SSM does not keep,
/// the journal, the audit trail), and one approver token for this console only.
async fn start_own_gateway(
    settings: patchdeck::backend::aws_ssm::SsmSettings,
    name: &str,
) -> color_eyre::Result<(server::RunningServer, patchdeck::serve::Durable, String)> {
    let dir =
        config::data_dir().ok_or_else(|| UsageError("no data directory on this system".into()))?;
    std::fs::create_dir_all(&dir)?;
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let store = format!(
        "sqlite:{}",
        dir.join(format!("aws-ssm-{slug}.sqlite")).display()
    );
    let durable = patchdeck::serve::start_durable(
        &patchdeck::serve::FleetSpec::AwsSsm(Box::new(settings)),
        Some(&store),
        Some(format!("console-{slug}")),
        0.0,
        Default::default(),
    )
    .await?;
    let person = std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "you".into());
    let token = uuid::Uuid::new_v4().simple().to_string();
    let options = ServerOptions {
        tokens: Tokens::single(&person, Role::Approver, token.clone()),
        ..ServerOptions::default()
    };
    let running = server::spawn_with(
        durable.fleet.clone(),
        options,
        Some(durable.gateway.clone()),
        "127.0.0.1:0".parse()?,
    )
    .await?;
    Ok((running, durable, token))
}

/// How to reach a context's server: the command line's `--insecure-http` and
/// `--ca-file` over the context's `insecure_http` and `ca_file`.
fn transport_of(args: &ConsoleArgs, context: Option<&config::ContextConfig>) -> Transport {
    Transport {
        insecure_http: args.insecure_http || context.is_some_and(|c| c.insecure_http),
        ca_file: args
            .ca_file
            .clone()
            .or_else(|| context.and_then(|c| c.ca_file.clone())),
    }
}

async fn console(args: ConsoleArgs) -> color_eyre::Result<()> {
    let config_path = args.config.clone().or_else(config::default_path);
    let config = match &config_path {
        // A file the operator named must exist: never fall back to the demo fleet.
        Some(path) if args.config.is_some() => Config::load_named(path)?,
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(name) = &args.context
        && config.context(Some(name)).is_none()
    {
        let known: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(UsageError(format!(
            "no context `{name}` in {} (known: {})",
            config_path.map_or("the config".into(), |p| p.display().to_string()),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    let context_config = config.context(args.context.as_deref());
    let theme_name = args
        .theme
        .clone()
        .or_else(|| context_config.and_then(|c| c.theme.clone()))
        .or_else(|| config.theme.clone())
        .unwrap_or_else(|| "default".into());
    let support = ColourSupport::detect(|key| std::env::var(key).ok());
    let theme = Theme::find(&theme_name, support).map_err(|e| UsageError(e.to_string()))?;
    let look = Look {
        theme,
        local_offset: *Local::now().offset(),
    };

    let token_from = |file: Option<&PathBuf>| -> color_eyre::Result<Option<String>> {
        match file {
            Some(path) => Ok(Some(config::read_token_file(path)?)),
            None => Ok(std::env::var("PATCHDECK_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())),
        }
    };

    // Keep the demo's simulator and server alive for the whole session.
    let mut demo_server = None;
    // And the gateway this console runs for an SSM account.
    let mut own_gateway = None;
    let ssm_context = context_config
        .filter(|c| c.backend == config::ContextBackend::AwsSsm && args.api.is_none());
    let wants_ssm = args.api.is_none()
        && (ssm_context.is_some() || args.backend == config::FleetBackend::AwsSsm);
    let (context, client) = if wants_ssm {
        let mut settings = match &args.aws_ssm_settings {
            Some(path) => patchdeck::serve::ssm_fleet::read_settings(path)
                .map_err(|e| UsageError(format!("{e:#}")))?,
            None => ssm_context
                .and_then(|c| c.aws_ssm.clone())
                .unwrap_or_default(),
        };
        settings.region = args.region.clone().or(settings.region);
        settings.profile = args.profile.clone().or(settings.profile);
        let name = ssm_context.map_or_else(|| "aws-ssm".to_string(), |c| c.name.clone());
        let (running, durable, token) = start_own_gateway(settings, &name).await?;
        let url = running.url.clone();
        own_gateway = Some((running, durable));
        let context = Context {
            name,
            api_url: url.clone(),
            demo: false,
            read_only: args.read_only || ssm_context.is_some_and(|c| c.read_only),
            insecure_http: false,
        };
        (context, Client::new(&url, Some(token))?)
    } else if let Some(api) = &args.api {
        let transport = transport_of(&args, None);
        let token = token_from(args.token_file.as_ref())?;
        let context = Context {
            name: args.context.clone().unwrap_or_else(|| "--api".into()),
            api_url: api.clone(),
            demo: false,
            read_only: args.read_only,
            insecure_http: is_insecure_http(api),
        };
        (
            context,
            Client::with_transport(api, token, &transport)
                .map_err(|e| UsageError(e.to_string()))?,
        )
    } else if let Some(ctx) = context_config {
        let transport = transport_of(&args, Some(ctx));
        let token = token_from(args.token_file.as_ref().or(ctx.token_file.as_ref()))?;
        let context = Context {
            name: ctx.name.clone(),
            api_url: ctx.api.clone(),
            demo: false,
            read_only: args.read_only || ctx.read_only,
            insecure_http: is_insecure_http(&ctx.api),
        };
        (
            context,
            Client::with_transport(&ctx.api, token, &transport)
                .map_err(|e| UsageError(e.to_string()))?,
        )
    } else {
        let simulator = Simulator::new(SimConfig {
            hosts: args.hosts,
            seed: args.seed,
            scenario: args.scenario,
            start: Utc::now(),
        });
        let clock = simulator.spawn_clock(args.speed);
        // One person at the demo: a simulated colleague is the emergency's second.
        let colleague = patchdeck::sim::spawn_demo_colleague(simulator.clone());
        let token = uuid::Uuid::new_v4().simple().to_string();
        let options = ServerOptions {
            tokens: Tokens::single("you", Role::Approver, token.clone()),
            ..ServerOptions::default()
        };
        let running = server::spawn(simulator, options, "127.0.0.1:0".parse()?).await?;
        let context = Context {
            name: "demo".into(),
            api_url: running.url.clone(),
            demo: true,
            read_only: args.read_only,
            insecure_http: false,
        };
        let client = Client::new(&running.url, Some(token))?;
        demo_server = Some((running, clock, colleague));
        (context, client)
    };

    let mut app = App::new(context, config.keymap(), Utc::now());
    app.scroll_rows = patchdeck::ui::scroll_rows;
    app.mouse = args.mouse || config.mouse;
    app.bell = config.bell && !args.no_bell;
    app.notices = patchdeck::model::NoticeDetector::new(config.notice_rules());
    app.session = uuid::Uuid::new_v4().simple().to_string();
    let audit_log = config::data_dir().map(|dir| patchdeck::audit::log_path(&dir));
    app.contexts = config.contexts.iter().map(|c| c.name.clone()).collect();
    let contexts = config.contexts.clone();
    let force_read_only = args.read_only;
    let flags = ConsoleArgs {
        token_file: None,
        ..args
    };
    let switch_context: patchdeck::console::ContextSwitcher = Box::new(move |name: &str| {
        let ctx = contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("no context `{name}` in the config"))?;
        if ctx.backend == config::ContextBackend::AwsSsm {
            return Err(format!(
                "context `{name}` is an SSM account this console would front itself: quit and run `patchdeck --context {name}`"
            ));
        }
        let token = match &ctx.token_file {
            Some(path) => Some(config::read_token_file(path).map_err(|e| e.to_string())?),
            None => std::env::var("PATCHDECK_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty()),
        };
        let client = Client::with_transport(&ctx.api, token, &transport_of(&flags, Some(ctx)))
            .map_err(|e| e.to_string())?;
        let context = Context {
            name: ctx.name.clone(),
            api_url: ctx.api.clone(),
            demo: false,
            read_only: force_read_only || ctx.read_only,
            insecure_http: is_insecure_http(&ctx.api),
        };
        Ok((context, client))
    });
    let result = patchdeck::console::run(app, look, client, audit_log, switch_context).await;
    if let Some((running, durable)) = own_gateway {
        running.abort();
        durable.task.abort();
        durable.gateway.release().await;
    }
    if let Some((running, clock, colleague)) = demo_server {
        colleague.abort();
        clock.abort();
        running.abort();
    }
    result
}
