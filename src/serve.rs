//! `patchdeck serve`: a simulated fleet as an API v1 server, beside the other commands.
//! Parses the flags, builds the [`Simulator`] and its clock, loads or generates the
//! tokens, and hands the fleet to [`server::spawn`], which knows any Backend and no
//! simulator.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::WrapErr;

use crate::api::server::{self, Faults, ServerOptions};
use crate::api::tokens::Tokens;
use crate::sim::{Scenario, SimConfig, Simulator};

/// `patchdeck serve`: the simulated fleet as an API v1 server.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// Number of simulated hosts.
    #[arg(long, default_value_t = 2000)]
    pub hosts: usize,
    /// Seed of the simulation: same seed, same fleet, same story.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated seconds per real second; 0 freezes the clock.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// The story the fleet tells.
    #[arg(long, value_enum, default_value_t = Scenario::PatchTuesday)]
    pub scenario: Scenario,
    /// TOML file of `[[token]]` entries (name, role, token), mode 0600. Without it, one
    /// token per role is generated and written to a file whose path is printed.
    #[arg(long, value_name = "PATH")]
    pub tokens: Option<PathBuf>,

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
}

impl ServeArgs {
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
}

/// Runs `patchdeck serve` until Ctrl-C or SIGTERM. Prints the URL and, when tokens are
/// generated, the path of the token file (never the tokens).
pub async fn run(args: ServeArgs) -> color_eyre::Result<()> {
    let stop = StopSignal::install();
    if !(args.speed.is_finite() && args.speed >= 0.0) {
        color_eyre::eyre::bail!("--speed must be 0 or more, got {}", args.speed);
    }
    let tokens = match &args.tokens {
        Some(path) => Tokens::load(path)?,
        None => Tokens::generate(),
    };
    let simulator = Simulator::new(SimConfig {
        hosts: args.hosts,
        seed: args.seed,
        scenario: args.scenario,
        start: chrono::Utc::now(),
    });
    let clock = simulator.spawn_clock(args.speed);
    let options = ServerOptions {
        tokens,
        faults: args.faults(),
    };
    let server = server::spawn(simulator, options.clone(), args.listen)
        .await
        .wrap_err_with(|| format!("cannot listen on {}", args.listen))?;
    println!("patchdeck API v1 at {}", server.url);
    match &args.tokens {
        Some(path) => println!("tokens from {}", path.display()),
        None => {
            let path = token_file_path(server.addr.port());
            write_generated(&options.tokens, &path)?;
            println!("tokens written to {} (mode 0600)", path.display());
        }
    }
    let names: Vec<String> = options
        .tokens
        .entries()
        .iter()
        .map(|e| format!("{} ({})", e.name, e.role.as_str()))
        .collect();
    println!("identities: {}", names.join(", "));
    println!("press Ctrl-C to stop");
    stop.wait().await;
    clock.abort();
    server.shutdown().await?;
    Ok(())
}

/// Where generated tokens go: the runtime dir if there is one (it is private), else the
/// local data dir, else the temporary dir; one file per port.
fn token_file_path(port: u16) -> PathBuf {
    let file = format!("serve-{port}-tokens.toml");
    let dirs = directories::ProjectDirs::from("", "", "patchdeck");
    match dirs {
        Some(dirs) => dirs
            .runtime_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .join(file),
        None => std::env::temp_dir().join(format!("patchdeck-{file}")),
    }
}

fn write_generated(tokens: &Tokens, path: &Path) -> color_eyre::Result<()> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    tokens.write(path)?;
    Ok(())
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
