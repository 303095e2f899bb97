//! `patchdeck serve`: a fleet as an API v1 server, beside the other commands. Parses
//! the flags, opens the store (`--store`), starts the fleet ([`start_gateway`]): the
//! simulator rebuilt from the store's journal against the stored seed, or an AWS
//! Systems Manager account read through the standard AWS chain; loads or generates the
//! tokens, and hands the fleet and its [`Gateway`] to [`server::spawn_with`], which
//! knows any Backend. docs/deploy.md tells how to run it.

mod generated_tokens;
mod sim_fleet;
pub mod ssm_fleet;

pub use sim_fleet::SimFleet;

use generated_tokens::GeneratedTokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::WrapErr;

use crate::api::server::{
    self, ConnectionLimits, Faults, FleetClock, Gateway, GatewayOptions, KEEP_EVENTS, Limits,
    Listening, ServerOptions, Tls,
};
use crate::api::tokens::Tokens;
use crate::backend::Backend;
use crate::backend::aws_ssm::SsmSettings;
use crate::config::FleetBackend;
use crate::sim::{Scenario, Simulator};
use crate::store::{AnyStore, Store};

/// The simulator's defaults, for `--hosts`, `--seed` and `--speed` left out.
pub const SIM_HOSTS: usize = 2000;
pub const SIM_SEED: u64 = 1;
pub const SIM_SPEED: f64 = 60.0;

/// A `serve` flag that does not fit the fleet asked for (exit 2).
#[derive(Debug)]
pub struct ServeUsage(pub String);

impl std::fmt::Display for ServeUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeUsage {}

/// `patchdeck serve`: a fleet as an API v1 server.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// The fleet: the built-in simulator, or an AWS Systems Manager account (its
    /// credentials from the standard AWS chain: env, profile, SSO, instance role).
    #[arg(long, value_enum, default_value_t = FleetBackend::Sim)]
    pub backend: FleetBackend,
    /// aws-ssm: the AWS region (else the chain's: AWS_REGION, the profile's region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// aws-ssm: the AWS profile (else AWS_PROFILE or `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// aws-ssm: a TOML file of rollout settings (ring_order, production, max_concurrency,
    /// max_errors, gate_success_pct, soak_minutes, rollback...); docs/backends.md.
    #[arg(long, value_name = "PATH")]
    pub aws_ssm_settings: Option<PathBuf>,
    /// What "compliant" means for GET /v1/compliance: a TOML file (severities,
    /// within_days, count_superseding; docs/api.md). Default: critical and important
    /// within 30 days of release, a superseding patch counts.
    #[arg(long, value_name = "FILE")]
    pub compliance_policy: Option<PathBuf>,
    /// The longest an exception may run, in days from when it is granted or renewed;
    /// an exclude or renew beyond it is refused, saying the cap.
    #[arg(long, value_name = "DAYS", default_value_t = crate::model::DEFAULT_EXCEPTION_MAX_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub exception_max_days: u32,
    /// sim: number of simulated hosts [default: 2000].
    #[arg(long, value_name = "N")]
    pub hosts: Option<usize>,
    /// sim: seed of the simulation: same seed, same fleet, same story [default: 1].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// sim: simulated seconds per real second; 0 freezes the clock [default: 60].
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,
    /// sim: the story the fleet tells [default: patch-tuesday].
    #[arg(long, value_enum)]
    pub scenario: Option<Scenario>,
    /// Where the gateway keeps what it must not lose: `sqlite:PATH` (default: a file
    /// in the data directory) or `postgres://user@host/db` for several gateways.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// This gateway's id among several on one database (default: the host name).
    /// Keep it across restarts: requests in flight when it stopped are settled by it.
    #[arg(long, value_name = "ID")]
    pub gateway_id: Option<String>,
    /// TOML file of `[[token]]` entries (name, role, token), mode 0600. Without it, one
    /// token per role is generated and written to a file whose path is printed, with
    /// one `<name>.token` file per identity beside it for `--token-file`.
    #[arg(long, value_name = "PATH")]
    pub tokens: Option<PathBuf>,
    /// Events the store's log keeps (older ones are compacted away; consoles that
    /// resume from before get 410 and list again); 0 keeps all.
    #[arg(long, value_name = "N", default_value_t = KEEP_EVENTS)]
    pub keep_events: u64,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM, mode 0600).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (and finish the TLS
    /// handshake); also how long a kept-alive connection waits for the next request.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub header_read_timeout: Duration,
    /// Seconds without a byte either way after which a connection is closed; at least
    /// 20 (event streams send a keep-alive every 15 s).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
    /// Connections served at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = server::MAX_CONNECTIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// How long the rollout lease lasts unless renewed, milliseconds (tests).
    #[arg(long, value_name = "MS", hide = true)]
    pub lease_ttl_ms: Option<u64>,
    /// Event streams one identity may hold open at once (more are refused with 429).
    #[arg(long, value_name = "N", default_value_t = server::STREAMS_PER_IDENTITY)]
    pub max_streams_per_identity: usize,
    /// Event streams the server holds open at once, all identities together.
    #[arg(long, value_name = "N", default_value_t = server::STREAMS)]
    pub max_streams: usize,
    /// Idempotency-Keys one identity may hold at once (each kept 24 h; more are 429).
    #[arg(long, value_name = "N", default_value_t = server::KEYS_PER_IDENTITY)]
    pub max_keys_per_identity: usize,
    /// The request log on stderr: one line per request and per refusal.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Post each notice (a halt, a gate or a second approver awaited, a window closing
    /// with hosts pending, an exploited CVE, an emergency started or ended) as JSON to
    /// this URL, retried with backoff; repeatable, besides the config's
    /// `[serve] notify`. docs/api.md, "Notifications".
    #[arg(long, value_name = "URL", value_parser = notify_url)]
    pub notify: Vec<String>,
    /// The config file whose `[serve]` section and `window_warning_minutes` serve
    /// reads (default: $XDG_CONFIG_HOME/patchdeck/config.toml, if there is one).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Fault injection: delay every request by this many milliseconds.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 0,
        help_heading = "Fault injection (for tests)"
    )]
    pub fault_latency_ms: u64,
    /// Fault injection: refuse the first N requests with 429 and Retry-After.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection (for tests)"
    )]
    pub fault_throttle_first: u32,
    /// Fault injection: refuse every Nth request with 429 and Retry-After.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection (for tests)"
    )]
    pub fault_throttle_every: u32,
    /// Fault injection: refuse with 503 (unavailable) instead of 429.
    #[arg(long, help_heading = "Fault injection (for tests)")]
    pub fault_unavailable: bool,
    /// Fault injection: the Retry-After of refused requests, seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 1,
        help_heading = "Fault injection (for tests)"
    )]
    pub fault_retry_after: u64,
    /// Fault injection: end every event stream after N events (clients must resume).
    #[arg(long, value_name = "N", help_heading = "Fault injection (for tests)")]
    pub fault_drop_stream_after: Option<u32>,
    /// Fault injection: truncate the JSON body of every Nth response.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Fault injection (for tests)"
    )]
    pub fault_malformed_every: u32,
    /// Fault injection: abort right after journaling and acting on a request with an
    /// Idempotency-Key, before its answer is stored (crash tests).
    #[arg(long, hide = true)]
    pub fault_abort_after_act: bool,
}

/// How `serve` writes its request log (on stderr; never a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-12-02T00:25:32Z  INFO patchdeck::request: request method=GET ...`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// No request log.
    Off,
}

/// The webhook notifier of `durable`'s fleet: posts while this gateway holds the
/// rollout lease (of several on one store, one posts), and says how its receivers are
/// doing in `GET /v1/health`.
pub fn spawn_notifier(
    durable: &Durable,
    urls: &[String],
    settings: crate::notify::NotifySettings,
) -> crate::notify::Notifier {
    let gateway = durable.gateway.clone();
    let notifier = crate::notify::Notifier::spawn(
        durable.fleet.clone(),
        urls,
        settings,
        Arc::new(move || gateway.is_leader()),
    );
    let report = notifier.health_source();
    durable.gateway.set_notify_health(Arc::new(move || {
        serde_json::to_value(report()).unwrap_or_default()
    }));
    notifier
}

/// Installs the `tracing` subscriber of `serve`: INFO and above, on stderr, without
/// colours. Only `serve` calls it: the console draws on the terminal and logs nothing.
pub fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO);
    // A subscriber already installed (a test harness) is left in place.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Off => Ok(()),
    };
}

impl ServeArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            streams_per_identity: self.max_streams_per_identity,
            streams: self.max_streams,
            keys_per_identity: self.max_keys_per_identity,
            ..Limits::default()
        }
    }

    pub fn faults(&self) -> Faults {
        Faults {
            latency: Duration::from_millis(self.fault_latency_ms),
            throttle_first: self.fault_throttle_first,
            throttle_every: self.fault_throttle_every,
            unavailable: self.fault_unavailable,
            retry_after_secs: self.fault_retry_after,
            drop_stream_after: self.fault_drop_stream_after,
            malformed_every: self.fault_malformed_every,
        }
    }

    /// `--notify` and the config's `[serve] notify` (each URL checked), with the
    /// config's window warning; none without a URL. The config is read only here.
    pub fn notify_plan(
        &self,
    ) -> color_eyre::Result<Option<(Vec<String>, crate::notify::NotifySettings)>> {
        let config = match &self.config {
            Some(path) => crate::config::Config::load_named(path)?,
            None => match crate::config::default_path() {
                Some(path) => crate::config::Config::load(&path)?,
                None => crate::config::Config::default(),
            },
        };
        let mut urls = self.notify.clone();
        urls.extend(config.serve.notify.iter().cloned());
        urls.dedup();
        if urls.is_empty() {
            return Ok(None);
        }
        let settings = crate::notify::NotifySettings {
            rules: config.notice_rules(),
            ..crate::notify::NotifySettings::default()
        };
        Ok(Some((urls, settings)))
    }

    /// Where and how to listen; reads the TLS files.
    pub fn listening(&self) -> color_eyre::Result<Listening> {
        if self.idle_timeout < server::MIN_IDLE_TIMEOUT {
            color_eyre::eyre::bail!(
                "--idle-timeout must be at least {} s: event streams send a keep-alive every 15 s",
                server::MIN_IDLE_TIMEOUT.as_secs()
            );
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                Some(Tls::from_pem_files(cert, key).map_err(|e| color_eyre::eyre::eyre!(e))?)
            }
            _ => None,
        };
        Ok(Listening {
            addr: self.listen,
            tls,
            limits: ConnectionLimits {
                header_read_timeout: self.header_read_timeout,
                idle_timeout: self.idle_timeout,
                max_connections: self.max_connections as usize,
            },
        })
    }

    /// The simulator's clock speed (`--speed`, else 60).
    pub fn speed(&self) -> f64 {
        self.speed.unwrap_or(SIM_SPEED)
    }

    /// The simulator's flags given with a fleet that is not the simulator: a usage
    /// error naming them (they would do nothing).
    pub fn refuse_sim_flags(&self) -> Result<(), ServeUsage> {
        if self.backend == FleetBackend::Sim {
            return Ok(());
        }
        let given: Vec<&str> = [
            ("--hosts", self.hosts.is_some()),
            ("--seed", self.seed.is_some()),
            ("--scenario", self.scenario.is_some()),
            ("--speed", self.speed.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        let backend = clap::ValueEnum::to_possible_value(&self.backend)
            .map_or_else(String::new, |v| v.get_name().to_string());
        match given.as_slice() {
            [] => Ok(()),
            [one] => Err(ServeUsage(format!(
                "{one} is for the simulator: --backend {backend} reads a real fleet; leave {one} out"
            ))),
            many => Err(ServeUsage(format!(
                "{} are for the simulator: --backend {backend} reads a real fleet; leave them out",
                many.join(", ")
            ))),
        }
    }

    /// The fleet the flags ask for.
    pub fn fleet(&self) -> color_eyre::Result<FleetSpec> {
        self.refuse_sim_flags()?;
        Ok(match self.backend {
            FleetBackend::Sim => FleetSpec::Sim(SimFleet {
                hosts: self.hosts.unwrap_or(SIM_HOSTS),
                seed: self.seed.unwrap_or(SIM_SEED),
                scenario: self.scenario.unwrap_or(Scenario::PatchTuesday),
            }),
            FleetBackend::AwsSsm => {
                let mut settings = match &self.aws_ssm_settings {
                    Some(path) => ssm_fleet::read_settings(path)?,
                    None => SsmSettings::default(),
                };
                settings.region = self.region.clone().or(settings.region);
                settings.profile = self.profile.clone().or(settings.profile);
                FleetSpec::AwsSsm(Box::new(settings))
            }
        })
    }

    pub fn gateway_options(&self) -> GatewayOptions {
        let defaults = GatewayOptions::default();
        GatewayOptions {
            lease_ttl: self
                .lease_ttl_ms
                .map_or(defaults.lease_ttl, Duration::from_millis),
            keep_events: self.keep_events,
            abort_after_act: self.fault_abort_after_act,
            ..defaults
        }
    }
}

/// Runs `patchdeck serve` until Ctrl-C or SIGTERM. Prints the URL and, when tokens are
/// generated, the path of the token file (never the tokens).
pub async fn run(args: ServeArgs) -> color_eyre::Result<()> {
    let stop = StopSignal::install();
    args.refuse_sim_flags()?;
    let speed = args.speed();
    if !(speed.is_finite() && speed >= 0.0) {
        color_eyre::eyre::bail!("--speed must be 0 or more, got {speed}");
    }
    let tokens = match &args.tokens {
        Some(path) => Tokens::load(path)?,
        None => Tokens::generate(),
    };
    let compliance = crate::compliance::CompliancePolicy::load(args.compliance_policy.as_deref())
        .map_err(|e| color_eyre::eyre::eyre!(e))?;
    init_logging(args.log_format);
    let listening = args.listening()?;
    let tls = listening.tls.is_some();
    let notify = args.notify_plan()?;
    let durable = start_gateway(&args).await?;
    let _notifier = notify.map(|(urls, settings)| {
        let notifier = spawn_notifier(&durable, &urls, settings);
        let shown: Vec<String> = urls.iter().map(|u| crate::notify::shown_url(u)).collect();
        println!("notices posted to {}", shown.join(", "));
        notifier
    });
    if !durable.fleet.replays_journal() {
        println!("fleet: {}", durable.fleet.summary().0.name);
    }
    let options = ServerOptions {
        tokens,
        faults: args.faults(),
        limits: args.limits(),
        compliance,
        exceptions: crate::model::ExceptionPolicy {
            max_days: args.exception_max_days,
        },
    };
    let server = server::spawn_listening(
        durable.fleet.clone(),
        options.clone(),
        Some(durable.gateway.clone()),
        listening,
    )
    .await
    .wrap_err_with(|| format!("cannot listen on {}", args.listen))?;
    println!("patchdeck API v1 at {}", server.url);
    if let Some(warning) = plain_http_warning(server.addr, tls) {
        // On stderr for the one who started it, in the log for the one who reads it.
        eprintln!("{warning}");
        tracing::warn!(target: "patchdeck::serve", "{warning}");
    }
    for line in &durable.report {
        println!("{line}");
    }
    // Removed when serve stops (the guard drops on every way out but a kill).
    let _generated = match &args.tokens {
        Some(path) => {
            println!("tokens from {}", path.display());
            None
        }
        None => {
            let file = GeneratedTokens::write(&options.tokens, server.addr.port())?;
            println!("tokens written to {} (mode 0600)", file.path.display());
            let names: Vec<String> = file
                .token_files
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            println!(
                "token files for --token-file in {}: {} (mode 0600, one per identity)",
                file.token_dir.display(),
                names.join(", ")
            );
            Some(file)
        }
    };
    let names: Vec<String> = options
        .tokens
        .entries()
        .iter()
        .map(|e| format!("{} ({})", e.name, e.role.as_str()))
        .collect();
    println!("identities: {}", names.join(", "));
    println!("press Ctrl-C to stop");
    stop.wait().await;
    durable.task.abort();
    server.shutdown().await?;
    durable.gateway.release().await;
    Ok(())
}

/// The fleet a gateway fronts.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetSpec {
    Sim(SimFleet),
    AwsSsm(Box<SsmSettings>),
}

/// The fleet and the gateway that keeps what it must not lose in the store.
pub struct Durable {
    pub fleet: Arc<dyn Backend>,
    /// The simulator, when the fleet is one (tests move its clock).
    pub simulator: Option<Arc<Simulator>>,
    pub gateway: Arc<Gateway>,
    /// Lease, clock and event log; abort it to stop.
    pub task: tokio::task::JoinHandle<()>,
    /// What was found in the store, in lines to print.
    pub report: Vec<String>,
}

/// Starts the fleet and the gateway of `serve`'s flags.
pub async fn start_gateway(args: &ServeArgs) -> color_eyre::Result<Durable> {
    start_durable(
        &args.fleet()?,
        args.store.as_deref(),
        args.gateway_id.clone(),
        args.speed(),
        args.gateway_options(),
    )
    .await
}

/// Opens the store, starts the fleet (a simulator is checked to be the store's fleet
/// and rebuilt from the journal; an SSM account is read) and the gateway's background
/// work. Says what it found in `report`.
pub async fn start_durable(
    spec: &FleetSpec,
    store_url: Option<&str>,
    gateway_id: Option<String>,
    speed: f64,
    options: GatewayOptions,
) -> color_eyre::Result<Durable> {
    let store = AnyStore::open_url(store_url)
        .await
        .map_err(|error| color_eyre::eyre::eyre!("{error}"))?;
    let schema = store.schema_version().await.unwrap_or_default();
    let (fleet, clock, simulator, speed): (Arc<dyn Backend>, Arc<dyn FleetClock>, _, _) = match spec
    {
        FleetSpec::Sim(sim) => {
            let config = sim_fleet::stored_config(&store, sim).await?;
            let simulator = Simulator::new(config);
            // Building a large fleet frees as much as it keeps.
            crate::memory::give_back_freed();
            simulator.set_clock_speed(speed);
            (simulator.clone(), simulator.clone(), Some(simulator), speed)
        }
        FleetSpec::AwsSsm(settings) => {
            let fleet = ssm_fleet::start((**settings).clone(), store.clone()).await?;
            // Read, not replayed: no clock checkpoints in the journal.
            (fleet, Arc::new(ssm_fleet::WallClock), None, 0.0)
        }
    };
    let id = gateway_id.unwrap_or_else(host_name);
    let gateway = Gateway::with_options(store, id, fleet.clone(), clock.clone(), options);
    let replayed = gateway
        .replay()
        .await
        .map_err(|error| color_eyre::eyre::eyre!("cannot rebuild the fleet: {error}"))?;
    if gateway.renew_lease().await
        && let Err(error) = gateway.store_events().await
    {
        eprintln!("patchdeck: events not stored: {error}");
    }
    let rebuilt = if fleet.replays_journal() {
        format!(
            "replayed {} journal entries ({} actions)",
            replayed.entries, replayed.actions
        )
    } else {
        format!(
            "{} journal entries kept (a vendor fleet is read, never replayed)",
            replayed.entries
        )
    };
    let mut report = vec![format!(
        "store {} (schema {schema}), gateway {}: {rebuilt}, fleet clock at {}",
        gateway.store().name(),
        gateway.id(),
        clock
            .fleet_time()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )];
    if replayed.keys_answered + replayed.keys_released > 0 {
        report.push(format!(
            "settled requests in flight at the last stop: {} answered, {} released",
            replayed.keys_answered, replayed.keys_released
        ));
    }
    let task = gateway.spawn(speed);
    Ok(Durable {
        fleet,
        simulator,
        gateway,
        task,
        report,
    })
}

/// This machine's name, the default gateway id.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "gateway".to_string())
}

/// The one line (stderr) of a server that takes tokens in the clear from the network:
/// plain HTTP on an address that is not loopback.
pub fn plain_http_warning(addr: SocketAddr, tls: bool) -> Option<String> {
    (!tls && !addr.ip().is_loopback()).then(|| {
        format!(
            "patchdeck: warning: serving plain HTTP on {addr}, which is not loopback: tokens \
             and answers cross the network readable; give --tls-cert and --tls-key, or put \
             serve behind a TLS proxy on this machine"
        )
    })
}

/// A `--notify` URL: http or https, with a host.
fn notify_url(text: &str) -> Result<String, String> {
    crate::notify::check_url(text).map(|()| text.to_string())
}

/// Seconds, fractions allowed ("0.2"), more than 0.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected a number of seconds more than 0, got {text:?}"))
}

/// Ctrl-C or SIGTERM, listened for from the start: a signal that arrives while the
/// server is starting stops it cleanly instead of killing it by the default action.
struct StopSignal {
    #[cfg(unix)]
    handlers: Vec<tokio::signal::unix::Signal>,
}

impl StopSignal {
    fn install() -> StopSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignal {
                handlers: [SignalKind::interrupt(), SignalKind::terminate()]
                    .into_iter()
                    .filter_map(|kind| signal(kind).ok())
                    .collect(),
            }
        }
        #[cfg(not(unix))]
        StopSignal {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            if self.handlers.is_empty() {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
            let waits = self.handlers.into_iter().map(|mut handler| {
                Box::pin(async move {
                    handler.recv().await;
                })
            });
            futures_util::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_off_loopback_is_warned_about_in_one_line() {
        let everywhere: SocketAddr = "0.0.0.0:7070".parse().unwrap();
        let warning = plain_http_warning(everywhere, false).expect("a warning");
        assert!(warning.contains("0.0.0.0:7070"), "{warning}");
        assert!(warning.contains("--tls-cert"), "{warning}");
        assert!(!warning.contains('\n'), "{warning}");
        assert_eq!(plain_http_warning(everywhere, true), None);
        for quiet in ["127.0.0.1:7070", "[::1]:7070"] {
            assert_eq!(plain_http_warning(quiet.parse().unwrap(), false), None);
        }
        assert!(plain_http_warning("[::]:7070".parse().unwrap(), false).is_some());
        assert!(plain_http_warning("10.0.0.1:7070".parse().unwrap(), false).is_some());
    }

    #[test]
    fn seconds_may_be_fractions_but_not_zero() {
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_seconds("0.2"), Ok(Duration::from_millis(200)));
        for bad in ["0", "-1", "x", "inf", "NaN"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
