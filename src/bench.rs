//! `patchdeck bench`: measured figures for the performance goals (never timed tests).
//! Startup of a big simulated fleet, full initial sync over loopback, server and client
//! memory, event ingest, frame render and incremental filter at 100k hosts. With
//! `--store URL`, only the gateway's store instead: actions per second and the latency
//! of appending one event (`store::bench`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::api::client::Client;
use crate::app::{App, Context, Msg, update};
use crate::backend::{Backend, Connection, SyncUpdate};
use crate::model::{Identity, Role};
use crate::sim::{Scenario, SimConfig, Simulator};
use crate::ui::{Look, view};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Hosts in the fleet.
    #[arg(long, default_value_t = 100_000)]
    pub hosts: usize,
    /// Frames to render per size.
    #[arg(long, default_value_t = 30)]
    pub frames: u32,
    /// Measure only this store (`sqlite:PATH`, `postgres://...`): actions per second
    /// and event append latency. It writes what it measures: give it an empty store.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Actions taken by the store measure.
    #[arg(long, default_value_t = 1000)]
    pub store_actions: usize,
    /// Events appended one at a time by the store measure.
    #[arg(long, default_value_t = 2000)]
    pub store_events: usize,
}

/// Resident memory of a process, from /proc (Linux).
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn report(name: &str, value: String) {
    println!("{name:<44} {value}");
}

fn per(duration: Duration, count: u32) -> String {
    format!(
        "{:.2} ms",
        duration.as_secs_f64() * 1000.0 / f64::from(count.max(1))
    )
}

/// The store alone: the writes of `store_actions` actions, then `store_events` event
/// appends, each committed before the next.
async fn run_store(url: &str, args: &BenchArgs) -> color_eyre::Result<()> {
    let store = crate::store::AnyStore::open_url(Some(url))
        .await
        .map_err(|error| color_eyre::eyre::eyre!("{error}"))?;
    println!(
        "patchdeck bench: store {} (release build recommended)",
        crate::store::Store::name(&store)
    );
    let measured = crate::store::bench::measure(&store, args.store_actions, args.store_events)
        .await
        .map_err(|error| color_eyre::eyre::eyre!("{error}"))?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    report(
        "store: actions (claim, audit, journal, keep, answer)",
        format!(
            "{:.0} actions/s ({} actions)",
            measured.actions_per_sec, measured.actions
        ),
    );
    report(
        "store: append one event",
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} events)",
            ms(measured.event_append_p50),
            ms(measured.event_append_p99),
            ms(measured.event_append_max),
            measured.events
        ),
    );
    Ok(())
}

pub async fn run(args: BenchArgs) -> color_eyre::Result<()> {
    if let Some(url) = &args.store {
        return run_store(url, &args).await;
    }
    let start: DateTime<Utc> = "2026-11-12T14:00:00Z".parse()?;
    println!(
        "patchdeck bench: {} hosts (release build recommended)",
        args.hosts
    );

    // 1. The simulator builds the fleet.
    let started = Instant::now();
    let simulator = Simulator::new(SimConfig {
        hosts: args.hosts,
        seed: 1,
        scenario: Scenario::BadPatch,
        start,
    });
    report(
        "simulator: generate fleet",
        format!("{:.0} ms", started.elapsed().as_secs_f64() * 1000.0),
    );

    // 2. `patchdeck serve` in its own process, then a full initial sync over loopback.
    let dir = std::env::temp_dir().join(format!("patchdeck-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let tokens = dir.join("tokens.toml");
    let token = uuid::Uuid::new_v4().simple().to_string();
    std::fs::write(
        &tokens,
        format!("[[token]]\nname = \"bench\"\nrole = \"viewer\"\ntoken = \"{token}\"\n"),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600))?;
    }
    let started = Instant::now();
    let mut server = Command::new(std::env::current_exe()?)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "0",
            "--seed",
            "1",
        ])
        .args([
            "--hosts",
            &args.hosts.to_string(),
            "--scenario",
            "bad-patch",
        ])
        .arg("--tokens")
        .arg(&tokens)
        .arg("--store")
        .arg(format!("sqlite:{}", dir.join("bench.db").display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = server
        .stdout
        .take()
        .ok_or_else(|| color_eyre::eyre::eyre!("no stdout"))?;
    // Read its output to the end in a thread (a closed pipe would kill it).
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("patchdeck API v1 at ") {
                let _ = url_tx.send(rest.trim().to_string());
            }
        }
    });
    let url = url_rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| color_eyre::eyre::eyre!("serve did not print its URL"))?;
    report(
        "serve: start until listening",
        format!("{:.0} ms", started.elapsed().as_secs_f64() * 1000.0),
    );
    let client = Client::new(&url, Some(token))?;
    let before = rss_kib(None);
    let started = Instant::now();
    let fleet = client.snapshot().await?;
    let sync = started.elapsed();
    let after = rss_kib(None);
    report(
        "client: full initial sync over loopback",
        format!(
            "{:.2} s for {} hosts",
            sync.as_secs_f64(),
            fleet.hosts.len()
        ),
    );
    report(
        "server: resident memory after serving it",
        mib(rss_kib(Some(server.id()))),
    );
    report(
        "client: memory held by the synced fleet",
        mib(after.zip(before).map(|(a, b)| a.saturating_sub(b))),
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);

    // 3. The console with that fleet.
    let context = Context {
        name: "bench".into(),
        api_url: url,
        demo: false,
        read_only: false,
        insecure_http: false,
    };
    let mut app = App::new(context, Default::default(), start);
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Identity(Identity::new("bench", Role::Approver))),
    );
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Live { since: start })),
    );
    let started = Instant::now();
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    report(
        "console: take the snapshot (index, groups)",
        format!("{:.0} ms", started.elapsed().as_secs_f64() * 1000.0),
    );

    // Ingest: a burst of events from the simulator, applied in the console's batches.
    let since = simulator.sequence();
    simulator.advance(30 * 60);
    let events = simulator.events_since(since).unwrap_or_default();
    let count = events.len() as u32;
    let batches: Vec<Vec<_>> = events.chunks(500).map(|c| c.to_vec()).collect();
    let batch_count = batches.len() as u32;
    let started = Instant::now();
    for batch in batches {
        update(&mut app, Msg::Sync(SyncUpdate::Events(batch)));
    }
    let ingest = started.elapsed();
    report(
        "console: ingest events (batches of 500)",
        format!(
            "{count} events in {:.0} ms: {:.0} events/s, {} per batch",
            ingest.as_secs_f64() * 1000.0,
            f64::from(count) / ingest.as_secs_f64().max(1e-9),
            per(ingest, batch_count)
        ),
    );

    // Render.
    let look = Look::default();
    for (width, height) in [(80u16, 24u16), (200, 50)] {
        update(&mut app, Msg::Resize { width, height });
        let mut terminal = Terminal::new(TestBackend::new(width, height))?;
        for pane in ['1', '3'] {
            update(&mut app, key(pane));
            let started = Instant::now();
            for _ in 0..args.frames {
                terminal.draw(|frame| view(&app, &look, frame))?;
            }
            report(
                &format!("console: render a frame {width}x{height}, pane {pane}"),
                per(started.elapsed(), args.frames),
            );
        }
    }

    // Filter: a host list of every host, typed into one key at a time.
    for c in ":hosts".chars() {
        update(&mut app, key(c));
    }
    update(
        &mut app,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )),
    );
    update(&mut app, key('/'));
    let typed = "lon-lt";
    let started = Instant::now();
    for c in typed.chars() {
        update(&mut app, key(c));
    }
    report(
        "console: incremental filter of all hosts",
        format!(
            "{} per key ({} rows left)",
            per(started.elapsed(), typed.len() as u32),
            app.host_rows.len()
        ),
    );
    report("bench: resident memory at the end", mib(rss_kib(None)));
    Ok(())
}

fn key(c: char) -> Msg {
    Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char(c),
    ))
}
