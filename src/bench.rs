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
    /// Hosts in the fleet; several (`--hosts 10000,100000,1000000`) measure each in
    /// turn.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000])]
    pub hosts: Vec<usize>,
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

/// p50, p99 and max of some timings, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> String {
    if samples.is_empty() {
        return "n/a".into();
    }
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.5),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

/// How long `work` takes (what it returns is dropped after the clock stops).
fn timed<T>(work: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    let done = work();
    let took = started.elapsed();
    drop(done);
    took
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
    for (i, hosts) in args.hosts.iter().enumerate() {
        if i > 0 {
            println!();
        }
        run_fleet(*hosts, &args).await?;
    }
    Ok(())
}

/// Every figure for a fleet of `hosts`.
async fn run_fleet(hosts: usize, args: &BenchArgs) -> color_eyre::Result<()> {
    let start: DateTime<Utc> = "2026-11-12T14:00:00Z".parse()?;
    println!("patchdeck bench: {hosts} hosts (release build recommended)");

    // 1. The simulator builds the fleet.
    let started = Instant::now();
    let simulator = Simulator::new(SimConfig {
        hosts,
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
        .args(["--hosts", &hosts.to_string(), "--scenario", "bad-patch"])
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
    // What the console does on connecting: the first screen, then every host behind it.
    let started = Instant::now();
    let first = client.first_screen().await?;
    let first_screen = started.elapsed();
    report(
        "client: first screen (every list, failed hosts)",
        format!(
            "{:.0} ms ({} failed hosts)",
            first_screen.as_secs_f64() * 1000.0,
            first.hosts.len()
        ),
    );
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client.hosts_page(cursor.as_deref()).await?;
        listed.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let sync = started.elapsed();
    let mut fleet = first.clone();
    for host in listed {
        fleet.hosts.insert(host.id.clone(), host);
    }
    fleet.listing_hosts = false;
    let after = rss_kib(None);
    report(
        "client: every host listed behind it",
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
    let took = timed(|| update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(first)))));
    report(
        "console: take the first screen",
        format!("{:.1} ms", took.as_secs_f64() * 1000.0),
    );
    let took = timed(|| update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet)))));
    report(
        "console: take the whole fleet (index, groups)",
        format!("{:.0} ms", took.as_secs_f64() * 1000.0),
    );
    report(
        "console: resident memory with the fleet",
        mib(rss_kib(None)),
    );

    // Ingest: a burst of events from the simulator, applied in the console's batches.
    let since = simulator.sequence();
    simulator.advance(30 * 60);
    let events = simulator.events_since(since).unwrap_or_default();
    // As the stream brings them: each event its own copy, none shared with the
    // simulator (a ring's groups included), decoded before the clock starts.
    let events: Vec<crate::model::Event> = serde_json::from_str(&serde_json::to_string(&events)?)?;
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
            let mut samples = Vec::new();
            for i in 0..args.frames {
                // A clock tick (what changes once a second), the view and the diff.
                let tick = start + chrono::Duration::seconds(i64::from(i));
                samples.push(timed(|| {
                    update(&mut app, Msg::Tick(tick));
                    let _ = terminal.draw(|frame| view(&app, &look, frame));
                }));
            }
            report(
                &format!("console: one frame {width}x{height}, pane {pane}"),
                percentiles(samples),
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
    // Down a list of every host: the key, then the changed screen.
    let (width, height) = (200u16, 50u16);
    update(&mut app, Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    terminal.draw(|frame| view(&app, &look, frame))?;
    let mut samples = Vec::new();
    for _ in 0..args.frames.max(100) {
        samples.push(timed(|| {
            update(&mut app, key('j'));
            let _ = terminal.draw(|frame| view(&app, &look, frame));
        }));
    }
    report(
        &format!(
            "console: key to changed screen, {} hosts listed",
            app.host_rows.len()
        ),
        percentiles(samples),
    );
    update(&mut app, key('/'));
    let typed = "lon-lt-0001";
    let mut samples = Vec::new();
    for c in typed.chars() {
        samples.push(timed(|| update(&mut app, key(c))));
    }
    let left = app.host_rows.len();
    for _ in typed.chars() {
        samples.push(timed(|| {
            update(
                &mut app,
                Msg::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Backspace,
                )),
            )
        }));
    }
    report(
        &format!("console: filter all hosts per key ({left} rows left)"),
        percentiles(samples),
    );
    // Regroup: the list of every host of one ring, then of every failed host.
    update(
        &mut app,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Esc,
        )),
    );
    let mut samples = Vec::new();
    let mut rows = Vec::new();
    for command in ["hosts pilot", "hosts failed", "hosts"] {
        update(
            &mut app,
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Esc,
            )),
        );
        update(&mut app, key(':'));
        for c in command.chars() {
            update(&mut app, key(c));
        }
        samples.push(timed(|| {
            update(
                &mut app,
                Msg::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Enter,
                )),
            )
        }));
        rows.push(app.host_rows.len().to_string());
    }
    report(
        &format!("console: regroup all hosts ({} rows)", rows.join(", ")),
        percentiles(samples),
    );
    report("bench: resident memory at the end", mib(rss_kib(None)));
    Ok(())
}

fn key(c: char) -> Msg {
    Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char(c),
    ))
}
