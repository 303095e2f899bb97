//! The `:` command line: the commands, completion of their words, and running them.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::lists::{self, HostFilter, Pane};
use super::navigation::focus;
use super::{App, Effect, Mode, Screen};
use crate::model::HostState;

/// The commands of `:` mode, for completion and help.
pub const COMMANDS: [(&str, &str); 11] = [
    (
        "hosts",
        "hosts [STATE] [RING] [ERROR-CODE]: list hosts, e.g. :hosts failed pilot",
    ),
    ("ring", "ring NAME: open a ring, e.g. :ring pilot"),
    ("deployment", "deployment NAME: open a deployment"),
    ("rings", "rings: focus the Rings pane"),
    ("deployments", "deployments: focus the Deployments pane"),
    ("failed", "failed: focus the Failed hosts pane"),
    ("actions", "actions: focus the Actions pane"),
    ("compliance", "compliance: focus the Compliance tab"),
    (
        "context",
        "context NAME: switch to another context of the config",
    ),
    ("help", "help: list every key and command"),
    ("quit", "quit: leave patchdeck"),
];

pub(super) fn on_command_key(app: &mut App, mut input: Input, event: KeyEvent) -> Vec<Effect> {
    app.dirty = true;
    match event.code {
        KeyCode::Esc => Vec::new(),
        KeyCode::Enter => run_command(app, input.value()),
        KeyCode::Tab => {
            let completed = complete_command(app, input.value());
            app.mode = Mode::Command(Input::new(completed));
            Vec::new()
        }
        _ => {
            input.handle_event(&crossterm::event::Event::Key(event));
            app.mode = Mode::Command(input);
            Vec::new()
        }
    }
}

/// Words that can follow a command, for completion.
fn command_arguments(app: &App, command: &str) -> Vec<String> {
    match command {
        "context" => app.contexts.clone(),
        "ring" => app
            .fleet
            .rings_in_order()
            .iter()
            .map(|r| r.id.clone())
            .collect(),
        "deployment" => lists::deployments_in_order(&app.fleet)
            .iter()
            .map(|d| d.id.clone())
            .collect(),
        "hosts" => {
            let mut words: Vec<String> = HostState::ALL
                .iter()
                .map(|s| s.as_str().to_string())
                .collect();
            words.extend(app.fleet.rings_in_order().iter().map(|r| r.id.clone()));
            words.extend(app.failure_groups().iter().map(|g| g.code.clone()));
            words
        }
        _ => Vec::new(),
    }
}

/// Complete the last word of a command line (common prefix of the candidates).
pub fn complete_command(app: &App, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let ends_with_space = line.ends_with(' ');
    let (done, partial): (Vec<&str>, &str) = if ends_with_space || words.is_empty() {
        (words.clone(), "")
    } else {
        (words[..words.len() - 1].to_vec(), words[words.len() - 1])
    };
    let candidates: Vec<String> = if done.is_empty() {
        COMMANDS.iter().map(|(c, _)| c.to_string()).collect()
    } else {
        command_arguments(app, done[0])
    };
    let partial_lower = partial.to_lowercase();
    let matching: Vec<&String> = candidates
        .iter()
        .filter(|c| c.to_lowercase().starts_with(&partial_lower))
        .collect();
    let completion = match matching.as_slice() {
        [] => return line.to_string(),
        [only] => format!("{only} "),
        many => common_prefix(many),
    };
    let mut out = done.join(" ");
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(&completion);
    out
}

fn common_prefix(words: &[&String]) -> String {
    let first = words[0];
    let mut len = first.len();
    for word in &words[1..] {
        len = len.min(
            first
                .chars()
                .zip(word.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a.len_utf8())
                .sum(),
        );
    }
    first[..len].to_string()
}

/// Find a ring by id or by name, case-insensitively, or a unique prefix.
fn find_ring(app: &App, word: &str) -> Option<String> {
    let word = word.to_lowercase();
    let rings = app.fleet.rings_in_order();
    rings
        .iter()
        .find(|r| r.id.to_lowercase() == word || r.name.to_lowercase() == word)
        .or_else(|| {
            let prefixed: Vec<_> = rings
                .iter()
                .filter(|r| {
                    r.id.to_lowercase().starts_with(&word)
                        || r.name.to_lowercase().starts_with(&word)
                })
                .collect();
            (prefixed.len() == 1).then(|| prefixed[0])
        })
        .map(|r| r.id.clone())
}

fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&command, args)) = words.split_first() else {
        return Vec::new();
    };
    match command {
        "q" | "quit" => return super::records::quit(app),
        "help" | "?" => {
            app.open_screen(Screen::Help);
        }
        "rings" => focus(app, Pane::Rings),
        "deployments" | "deploys" => focus(app, Pane::Deployments),
        "failed" => focus(app, Pane::Failed),
        "actions" => focus(app, Pane::Actions),
        "compliance" => focus(app, Pane::Compliance),
        "ring" => match args.first().and_then(|w| find_ring(app, w)) {
            Some(id) => {
                app.screens.clear();
                app.open_screen(Screen::Ring(id));
            }
            None => app.set_flash(
                format!("no ring named `{}` (Tab completes)", args.join(" ")),
                true,
            ),
        },
        "deployment" => {
            let word = args.join(" ").to_lowercase();
            let found = lists::deployments_in_order(&app.fleet)
                .into_iter()
                .find(|d| d.id.to_lowercase() == word || d.name.to_lowercase().contains(&word))
                .map(|d| d.id.clone());
            match found {
                Some(id) if !word.is_empty() => {
                    app.screens.clear();
                    app.open_screen(Screen::Deployment(id));
                }
                _ => app.set_flash(format!("no deployment matching `{word}`"), true),
            }
        }
        "hosts" => {
            let mut filter = HostFilter::default();
            for arg in args {
                if let Some(state) = HostState::parse(&arg.to_lowercase()) {
                    filter.state = Some(state);
                } else if arg.starts_with("0x") {
                    filter.error = Some(arg.to_lowercase());
                } else if let Some(ring) = find_ring(app, arg) {
                    filter.ring = Some(ring);
                } else {
                    app.set_flash(
                        format!("`{arg}` is not a host state, ring or error code"),
                        true,
                    );
                    return Vec::new();
                }
            }
            app.screens.clear();
            app.open_screen(Screen::Hosts(filter));
        }
        "context" | "ctx" => match args.first() {
            None => app.set_flash(
                format!(
                    "context {} (others: {})",
                    app.context.name,
                    if app.contexts.is_empty() {
                        "none in the config".into()
                    } else {
                        app.contexts.join(", ")
                    }
                ),
                false,
            ),
            Some(name) if *name == app.context.name => {
                app.set_flash(format!("already on context {name}"), false)
            }
            Some(name) if app.contexts.iter().any(|c| c == name) => {
                return vec![Effect::SwitchContext((*name).to_string())];
            }
            Some(name) => app.set_flash(
                format!("no context `{name}` in the config (Tab completes)"),
                true,
            ),
        },
        other => app.set_flash(
            format!("unknown command `{other}` (Tab completes, ? for help)"),
            true,
        ),
    }
    app.dirty = true;
    Vec::new()
}
