//! A deterministic console for the UI tests: a simulated fleet with a fixed seed and
//! start, read through the Backend trait into a `Fleet` (no HTTP), fed to an `App`,
//! driven with key messages and drawn on a ratatui `TestBackend`.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

use patchdeck::app::{App, Context, Effect, Msg, update};
use patchdeck::backend::{ActionRequest, Backend, Connection, HostQuery, SyncUpdate};
use patchdeck::keys::Keymap;
use patchdeck::model::{Change, Fleet, Identity, Role, Target, TargetKind, Verb};
use patchdeck::sim::{Scenario, SimConfig, Simulator};
use patchdeck::theme::{ColourSupport, Theme};
use patchdeck::ui::{Look, view};

/// Hosts in the test fleet.
pub const HOSTS: usize = 300;
pub const SEED: u64 = 2;
/// Fleet seconds the bad-patch story runs before the fleet is read: Pilot has failed
/// (two error codes) and is halted by the threshold, the servers deployment awaits
/// approval for production, and the system and an operator have acted.
pub const RUN_SECS: u64 = 48 * 3600 + 300;

/// The simulator's clock at start: a Thursday afternoon two days after Patch Tuesday.
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-12T14:00:00Z")
        .expect("fixed start")
        .with_timezone(&Utc)
}

/// A simulated fleet of [`HOSTS`] hosts, run for `secs` fleet seconds.
pub fn simulator(scenario: Scenario, secs: u64) -> Arc<Simulator> {
    let simulator = Simulator::new(SimConfig {
        hosts: HOSTS,
        seed: SEED,
        scenario,
        start: start(),
    });
    simulator.advance(secs);
    simulator
}

/// Read a whole fleet through the Backend trait, as the sync does after connecting.
pub fn fleet_of(backend: &dyn Backend) -> Fleet {
    let mut fleet = Fleet::default();
    let (summary, sequence) = backend.summary();
    fleet.upsert(Change::Summary(summary));
    for ring in backend.rings().items {
        fleet.upsert(Change::Ring(ring));
    }
    for deployment in backend.deployments().items {
        fleet.upsert(Change::Deployment(deployment));
    }
    for patch in backend.patches().items {
        fleet.upsert(Change::Patch(patch));
    }
    for action in backend.actions().items {
        fleet.upsert(Change::Action(action));
    }
    let mut after = None;
    for pages in 1.. {
        assert!(pages <= HOSTS, "paging the hosts does not end");
        let page = backend.hosts(&HostQuery {
            after: after.clone(),
            limit: 100,
            ..HostQuery::default()
        });
        after = page.items.last().map(|h| h.id.to_string());
        for host in page.items {
            fleet.upsert(Change::Host(host));
        }
        if !page.more {
            break;
        }
    }
    fleet.sequence = sequence;
    fleet
}

pub fn demo_context() -> Context {
    Context {
        name: "demo".into(),
        api_url: "http://127.0.0.1:7070".into(),
        demo: true,
        read_only: false,
        insecure_http: false,
    }
}

/// A console showing `fleet`, live, as `role`, at 80x24, its wall clock at the fleet's.
pub fn console_with(fleet: Fleet, context: Context, role: Role) -> App {
    let now = fleet.summary.as_ref().map_or_else(start, |s| s.now);
    let mut app = App::new(context, Keymap::default(), now);
    app.scroll_rows = patchdeck::ui::scroll_rows;
    app.session = "test".into();
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Identity(Identity::new("you", role))),
    );
    update(
        &mut app,
        Msg::Sync(SyncUpdate::Connection(Connection::Live {
            since: now - Duration::minutes(5),
        })),
    );
    update(&mut app, Msg::Sync(SyncUpdate::Snapshot(Box::new(fleet))));
    update(&mut app, Msg::Tick(now));
    resize(&mut app, 80, 24);
    app
}

/// The standard simulator: the bad-patch story after [`RUN_SECS`].
pub fn standard_simulator() -> Arc<Simulator> {
    simulator(Scenario::BadPatch, RUN_SECS)
}

/// The standard console: the standard fleet, approver, demo.
pub fn console() -> App {
    console_on(&standard_simulator())
}

pub fn console_on(simulator: &Simulator) -> App {
    console_with(fleet_of(simulator), demo_context(), Role::Approver)
}

pub fn console_as(role: Role) -> App {
    console_with(fleet_of(&*standard_simulator()), demo_context(), role)
}

pub fn resize(app: &mut App, width: u16, height: u16) {
    update(app, Msg::Resize { width, height });
}

pub fn key_event(code: KeyCode) -> KeyEvent {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        KeyCode::BackTab => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    KeyEvent::new(code, modifiers)
}

/// Press one key.
pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(key_event(code)))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

/// Type characters, one key each; returns every effect.
pub fn type_text(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(app, KeyCode::Char(c)))
        .collect()
}

/// `:` + the line + Enter.
pub fn command(app: &mut App, line: &str) -> Vec<Effect> {
    let mut effects = press(app, KeyCode::Char(':'));
    effects.extend(type_text(app, line));
    effects.extend(press(app, KeyCode::Enter));
    effects
}

pub fn look() -> Look {
    Look {
        theme: Theme::load("default", ColourSupport::None).expect("default theme"),
        local_offset: FixedOffset::east_opt(0).expect("UTC"),
    }
}

/// Draw the console at a size (the app is told the size first, as the runner does).
pub fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    resize(app, width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    let look = look();
    terminal
        .draw(|frame| view(app, &look, frame))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The buffer as lines of text, trailing spaces cut.
pub fn text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    let mut lines = Vec::new();
    for row in buffer.content.chunks(width) {
        let mut line = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = cell.symbol();
            line.push_str(symbol);
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

/// The screen as text at a size.
pub fn screen(app: &mut App, width: u16, height: u16) -> String {
    text(&draw(app, width, height))
}

/// Runs of cells drawn with `modifier`, as "row N: text", one a line: a text snapshot
/// cannot show styles otherwise (the selected row and the focused pane's title are in
/// reverse video without colour; keys the operator may not use are struck out).
pub fn runs_with(buffer: &Buffer, modifier: Modifier) -> String {
    let width = usize::from(buffer.area.width);
    let mut out = Vec::new();
    for (y, row) in buffer.content.chunks(width).enumerate() {
        let mut run = String::new();
        for cell in row
            .iter()
            .chain(std::iter::once(&ratatui::buffer::Cell::EMPTY))
        {
            if cell.modifier.contains(modifier) {
                run.push_str(cell.symbol());
            } else if !run.is_empty() {
                // Borders in the style say nothing more than the title they carry.
                let words: String = run
                    .chars()
                    .filter(|c| !('\u{2500}'..='\u{257f}').contains(c))
                    .collect();
                let words = words.trim();
                if !words.is_empty() {
                    out.push(format!("row {y}: {words}"));
                }
                run.clear();
            }
        }
    }
    out.join("\n")
}

/// The screen as text, then what is in reverse video and what is struck out.
pub fn annotated(buffer: &Buffer) -> String {
    let mut out = text(buffer);
    for (title, modifier) in [
        ("reverse video", Modifier::REVERSED),
        ("struck out", Modifier::CROSSED_OUT),
    ] {
        let runs = runs_with(buffer, modifier);
        if !runs.is_empty() {
            out.push_str(&format!("\n--- {title} ---\n{runs}"));
        }
    }
    out
}

/// Act on the simulator as approver `actor`, as the API would for a console.
pub fn act(
    simulator: &Simulator,
    actor: &str,
    verb: Verb,
    kind: TargetKind,
    id: &str,
    patch: Option<&str>,
) {
    simulator
        .act(
            ActionRequest {
                verb,
                target: Target {
                    kind,
                    id: id.into(),
                },
                reason: Some("exploited in the wild".into()),
                ticket: Some("INC-9001".into()),
                patch_id: patch.map(str::to_string),
                cve: None,
                override_reason: None,
                exception: Default::default(),
                if_match: None,
            },
            &Identity::new(actor, Role::Approver),
        )
        .expect("the simulator accepts the action");
}

/// The `Effect::Act`s among effects.
pub fn acts(effects: &[Effect]) -> Vec<patchdeck::backend::ActionCall> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Act(call) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

/// Answer every `Effect::Plan` among `effects` as the server would: the simulator's
/// plans for the console's identity, delivered as `Msg::Planned`.
#[allow(dead_code)]
pub fn answer_plans(app: &mut App, simulator: &Simulator, effects: &[Effect]) {
    let who = app
        .identity
        .clone()
        .unwrap_or_else(|| Identity::new("you", Role::Approver));
    for effect in effects {
        if let Effect::Plan { id, requests } = effect {
            let plans = requests
                .iter()
                .map(|r| simulator.plan(r, &who).map_err(|e| e.to_string()))
                .collect();
            update(
                app,
                Msg::Planned {
                    id: id.clone(),
                    plans,
                },
            );
        }
    }
}
