//! `patchdeck config init` and `patchdeck config check`: a commented example config
//! for a new user (never over one that exists), and a check of a config that names
//! every problem and prints the keymap it makes, with the keys an override took from
//! another action.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{self, Config};
use crate::keys::{Key, KeyAction, Keymap};
use crate::theme::{ColourSupport, Theme};

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {
    /// Write a commented example config (refuses to overwrite one that exists).
    Init {
        /// Where (default: $XDG_CONFIG_HOME/patchdeck/config.toml).
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// Check a config: syntax, contexts, token files, themes, keys; print the keymap.
    Check {
        /// Which (default: $XDG_CONFIG_HOME/patchdeck/config.toml).
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
    },
}

/// Why `config init` or `config check` failed (exit 2: the user has something to fix).
#[derive(Debug, thiserror::Error)]
pub enum ConfigCommandError {
    #[error("{0} already exists; it was left as it is (check it with `patchdeck config check`)")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no config directory on this system: give --path")]
    NoDirectory,
    #[error(transparent)]
    Invalid(#[from] config::ConfigError),
    #[error("{count} problem{} in {path}", if *count == 1 { "" } else { "s" })]
    Problems { path: PathBuf, count: usize },
}

/// The example `config init` writes. It parses as it is (a test says so): one
/// context per kind of API a user has, the theme, key overrides, where the audit log
/// goes.
pub fn example(config_dir: Option<&Path>, data_dir: Option<&Path>) -> String {
    let token_file = config_dir
        .unwrap_or(Path::new("/home/me/.config/patchdeck"))
        .join("prod.token");
    let token_file = token_file.display();
    let audit = data_dir.map_or_else(
        || "the data directory".to_string(),
        |dir| crate::audit::log_path(dir).display().to_string(),
    );
    format!(
        r#"# patchdeck config. `patchdeck config check` checks it and prints the keymap.
# With no context (and no --api), patchdeck runs on its built-in demo fleet.

# The context used when --context is not given. Remove the # to use "prod".
# current_context = "prod"

# Theme for every context that names none: default (your terminal's own 16 colours,
# dark or light background), dark, light, high-contrast, solarized, or NAME for
# themes/NAME.toml next to this file.
theme = "default"

# The mouse: the wheel scrolls what is under it, a click focuses a pane or selects a
# row, a click on the selected row opens it. Off by default, because while the console
# has the mouse, dragging no longer selects text (hold Shift to select, Option in
# iTerm2). `patchdeck --mouse` turns it on for one run, M turns it on and off.
# mouse = true

# The terminal bell (and a flash of the words) for each notice: a halt, a gate or a
# second approver awaited, a window closing with work left, an exploited CVE, an
# emergency started or ended. On by default; `--no-bell` turns it off for one run.
# bell = false

# A ring's window closing within this many minutes with hosts still pending is a
# notice (here and in `serve --notify`). Default 30.
# window_warning_minutes = 30

# One [[context]] per patch-management API (a `patchdeck serve` gateway).
[[context]]
name = "prod"
api = "https://patch.example.com"
# The bearer token, in a file only you can read (chmod 600). Or set PATCHDECK_TOKEN.
token_file = "{token_file}"
# Look, do not touch: every action is disabled.
read_only = true

[[context]]
name = "lab"
api = "http://127.0.0.1:7070"
theme = "dark"

# Key overrides: an action gets exactly the keys listed (its defaults are dropped);
# a key listed here is taken from the action that had it. Ctrl-C always quits.
# `patchdeck config check` lists every action's name and keys.
[keys]
# halt = ["ctrl-h"]
# down = ["j", "down", "n"]

# What `patchdeck serve` reads of this file: webhook URLs every notice is posted to
# (JSON, schema patchdeck.notice/1), besides those given with --notify.
[serve]
# notify = ["https://chat.example.com/hooks/patching"]

# Every action sent is written to the audit log, one JSON line each:
#   {audit}
# Read it with `patchdeck audit`.
"#
    )
}

/// `config init`: writes [`example`] at `path`, creating its directory; an existing
/// file is never touched.
pub fn init(path: &Path, data_dir: Option<&Path>) -> Result<(), ConfigCommandError> {
    let config_dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let write_error = |source| ConfigCommandError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = config_dir {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ConfigCommandError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(write_error(e)),
    };
    file.write_all(example(config_dir, data_dir).as_bytes())
        .map_err(write_error)
}

/// What an override did to the default bindings that the user may not have meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyConflict {
    /// `key` was `from`'s by default; the override gave it to `to`.
    Taken {
        key: Key,
        from: KeyAction,
        to: KeyAction,
    },
    /// Two overrides name one key; the later (`winner`, in name order) has it.
    Twice {
        key: Key,
        loser: KeyAction,
        winner: KeyAction,
    },
    /// An action has no key left at all.
    Unbound(KeyAction),
    /// An override asked for Ctrl-C, which always quits.
    CtrlC(KeyAction),
}

impl std::fmt::Display for KeyConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyConflict::Taken { key, from, to } => write!(
                f,
                "{key} was `{}` by default and is now `{}`",
                from.name(),
                to.name()
            ),
            KeyConflict::Twice { key, loser, winner } => write!(
                f,
                "{key} is listed for both `{}` and `{}`; `{}` has it",
                loser.name(),
                winner.name(),
                winner.name()
            ),
            KeyConflict::Unbound(action) => {
                write!(f, "`{}` has no key left", action.name())
            }
            KeyConflict::CtrlC(action) => {
                write!(f, "Ctrl-C always quits: it is not `{}`", action.name())
            }
        }
    }
}

/// The conflicts the config's `[keys]` make with the defaults and with each other.
/// The config must already be valid (`Config::parse` checks every name and key).
pub fn key_conflicts(config: &Config) -> Vec<KeyConflict> {
    let defaults = Keymap::default();
    let effective = config.keymap();
    let overridden: Vec<KeyAction> = config
        .keys
        .keys()
        .filter_map(|name| KeyAction::from_name(name))
        .collect();
    let mut conflicts = Vec::new();
    let mut claimed: Vec<(Key, KeyAction)> = Vec::new();
    for (name, keys) in &config.keys {
        let Some(action) = KeyAction::from_name(name) else {
            continue;
        };
        for key in keys.iter().filter_map(|k| Key::parse(k)) {
            if key == Key::ctrl('c') && action != KeyAction::Quit {
                conflicts.push(KeyConflict::CtrlC(action));
                continue;
            }
            if let Some(&(_, loser)) = claimed.iter().find(|(k, a)| *k == key && *a != action) {
                conflicts.push(KeyConflict::Twice {
                    key,
                    loser,
                    winner: action,
                });
            } else if let Some(from) = defaults.action(key)
                && from != action
                && !overridden.contains(&from)
            {
                conflicts.push(KeyConflict::Taken {
                    key,
                    from,
                    to: action,
                });
            }
            claimed.push((key, action));
        }
    }
    conflicts.extend(
        KeyAction::ALL
            .into_iter()
            .filter(|&action| effective.keys(action).is_empty())
            .map(KeyConflict::Unbound),
    );
    conflicts
}

/// `config check`: every problem of the config at `path`, then its keymap. Problems
/// other than syntax (which stops the reading) are all listed, each on its line.
pub fn check(path: &Path, out: &mut impl Write) -> Result<(), ConfigCommandError> {
    let config = Config::load_named(path)?;
    let io = |source| ConfigCommandError::Write {
        path: PathBuf::from("standard output"),
        source,
    };
    let mut problems = Vec::new();
    let support = ColourSupport::detect(|key| std::env::var(key).ok());
    let themes = config
        .theme
        .iter()
        .map(|theme| ("the top-level theme".to_string(), theme))
        .chain(config.contexts.iter().filter_map(|c| {
            c.theme
                .as_ref()
                .map(|theme| (format!("context `{}`", c.name), theme))
        }));
    for (whose, theme) in themes {
        if let Err(error) = Theme::find(theme, support) {
            problems.push(format!("{whose}: {error}"));
        }
    }
    for context in &config.contexts {
        if let Err(error) = reqwest::Url::parse(&context.api) {
            problems.push(format!(
                "context `{}`: api `{}` is not a URL ({error})",
                context.name,
                crate::text::clean(&context.api)
            ));
        }
        if let Some(file) = &context.token_file
            && let Err(error) = config::read_token_file(file)
        {
            problems.push(format!("context `{}`: {error}", context.name));
        }
    }
    writeln!(out, "{}: read", path.display()).map_err(io)?;
    match config.context(None) {
        Some(current) => writeln!(
            out,
            "current context: {} ({})",
            current.name,
            crate::text::clean(&current.api)
        ),
        None => writeln!(
            out,
            "no current context: patchdeck starts on the demo fleet"
        ),
    }
    .map_err(io)?;
    let conflicts = key_conflicts(&config);
    writeln!(out, "\nkeys (normal mode):").map_err(io)?;
    let keymap = config.keymap();
    for action in KeyAction::ALL {
        let keys: Vec<String> = keymap.keys(action).iter().map(Key::to_string).collect();
        writeln!(
            out,
            "  {:<16} {:<18} {}",
            action.name(),
            if keys.is_empty() {
                "(none)".to_string()
            } else {
                keys.join(" ")
            },
            action.description()
        )
        .map_err(io)?;
    }
    if !conflicts.is_empty() {
        writeln!(out, "\nkey overrides that change other actions:").map_err(io)?;
        for conflict in &conflicts {
            writeln!(out, "  {conflict}").map_err(io)?;
        }
    }
    if problems.is_empty() {
        writeln!(out, "\nok").map_err(io)?;
        return Ok(());
    }
    writeln!(out).map_err(io)?;
    for problem in &problems {
        writeln!(out, "problem: {problem}").map_err(io)?;
    }
    Err(ConfigCommandError::Problems {
        path: path.to_path_buf(),
        count: problems.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_valid_config() {
        let text = example(
            Some(Path::new("/conf/patchdeck")),
            Some(Path::new("/data/patchdeck")),
        );
        let config = Config::parse("example", &text).expect("the example parses");
        assert_eq!(config.contexts.len(), 2);
        assert_eq!(config.theme.as_deref(), Some("default"));
        assert!(text.contains("/data/patchdeck/audit.jsonl"), "{text}");
        assert!(text.contains("token_file = \"/conf/patchdeck/prod.token\""));
        assert!(key_conflicts(&config).is_empty());
    }

    #[test]
    fn conflicts_name_the_keys_taken_and_the_actions_left_without() {
        let config = Config::parse(
            "c",
            "[keys]\napprove = [\"H\"]\nfilter = [\"ctrl-c\", \"f\"]\nhalt = [\"x\"]\nzoom = [\"x\"]\n",
        )
        .unwrap();
        let conflicts: Vec<String> = key_conflicts(&config)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            conflicts,
            [
                "Ctrl-C always quits: it is not `filter`",
                "x was `exclude` by default and is now `halt`",
                "x is listed for both `halt` and `zoom`; `zoom` has it",
                "`halt` has no key left",
                "`exclude` has no key left",
            ]
        );
        // H was halt's, but halt is overridden too: no "taken" for it.
        let config = Config::parse("c", "[keys]\napprove = [\"H\"]\n").unwrap();
        assert_eq!(
            key_conflicts(&config),
            [
                KeyConflict::Taken {
                    key: Key::char('H'),
                    from: KeyAction::Halt,
                    to: KeyAction::Approve
                },
                KeyConflict::Unbound(KeyAction::Halt)
            ]
        );
    }
}
