//! Colours by role (ok, warn, fail, accent, emergency, muted...), from themes/*.toml
//! (compiled in) or a user file: `$XDG_CONFIG_HOME/patchdeck/themes/NAME.toml` takes
//! precedence over the built-in theme of the same name. Colour support is detected from
//! the environment: NO_COLOR, TERM=dumb, COLORTERM, *-256color, in that order; default
//! is 16 colours, and every `#rrggbb` colour then falls back to its 16-colour name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

/// Themes shipped with patchdeck, the default first.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("default", include_str!("../themes/default.toml")),
    ("dark", include_str!("../themes/dark.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("solarized", include_str!("../themes/solarized.toml")),
];

/// The roles a theme file may colour.
pub const ROLES: [&str; 9] = [
    "text",
    "muted",
    "accent",
    "ok",
    "warn",
    "fail",
    "emergency",
    "selected_bg",
    "selected_fg",
];

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourSupport {
    None,
    Ansi16,
    Ansi256,
    TrueColour,
}

impl ColourSupport {
    /// Decide from environment variables (passed in, so it can be tested).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> ColourSupport {
        if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return ColourSupport::None;
        }
        let term = var("TERM").unwrap_or_default();
        if term == "dumb" {
            return ColourSupport::None;
        }
        let colorterm = var("COLORTERM").unwrap_or_default();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return ColourSupport::TrueColour;
        }
        if term.ends_with("-256color") {
            return ColourSupport::Ansi256;
        }
        ColourSupport::Ansi16
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ColourSpec {
    Plain(String),
    WithFallback { colour: String, fallback: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    bold: bool,
    roles: BTreeMap<String, Spanned<ColourSpec>>,
}

/// Resolved styles by role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub fail: Style,
    pub emergency: Style,
    pub selected: Style,
    /// Title of the focused pane and key names in the footer.
    pub title: Style,
}

/// Why a theme cannot be used. A broken file is named with its line and key, e.g.
/// `/home/me/.config/patchdeck/themes/mine.toml:4: key `roles.ok`: cannot read colour
/// `chartreuse``; the console exits 2 on it, as on a broken config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{name}` (built in: {}; or a file {})", built_in_names(), .dir.as_ref().map_or("NAME.toml in the config directory's themes/".into(), |d| d.join(format!("{name}.toml")).display().to_string()))]
    Unknown { name: String, dir: Option<PathBuf> },
    #[error("{source_name}:{line}: {}{message}", .key.as_ref().map_or(String::new(), |k| format!("key `{k}`: ")))]
    Invalid {
        source_name: String,
        line: usize,
        key: Option<String>,
        message: String,
    },
    #[error("cannot read theme {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
}

fn built_in_names() -> String {
    BUILT_IN.map(|(name, _)| name).join(", ")
}

/// Where user themes live: `$XDG_CONFIG_HOME/patchdeck/themes` (next to config.toml).
pub fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "patchdeck").map(|dirs| dirs.config_dir().join("themes"))
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The key written on a line (`ok = ...` gives `ok`), if the line holds one.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let row = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = row.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_string())
}

/// The `[table]` a line is in, for naming keys in full (`roles.ok`).
fn table_of_line(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|row| {
            let row = row.trim();
            row.strip_prefix('[')?
                .strip_suffix(']')
                .map(|t| t.trim().to_string())
        })
        .last()
}

fn full_key(text: &str, line: usize) -> Option<String> {
    let key = key_on_line(text, line)?;
    Some(match table_of_line(text, line) {
        Some(table) => format!("{table}.{key}"),
        None => key,
    })
}

fn named_colour(name: &str) -> Option<Color> {
    Some(match name {
        "reset" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark-gray" | "dark-grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

fn hex_colour(text: &str) -> Option<Color> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let value = u32::from_str_radix(hex, 16).ok()?;
    Some(Color::Rgb(
        (value >> 16) as u8,
        (value >> 8) as u8,
        value as u8,
    ))
}

impl Theme {
    /// A built-in theme by name.
    pub fn load(name: &str, support: ColourSupport) -> Result<Theme, ThemeError> {
        let source = BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| ThemeError::Unknown {
                name: name.to_string(),
                dir: None,
            })?;
        Theme::parse(&format!("themes/{name}.toml"), source, support)
    }

    /// The theme `name` as the console finds it: `NAME.toml` in the user's theme
    /// directory (see [`user_dir`]) first, then the built-in of that name.
    pub fn find(name: &str, support: ColourSupport) -> Result<Theme, ThemeError> {
        Theme::find_in(user_dir().as_deref(), name, support)
    }

    /// As [`Theme::find`], with the user's theme directory given.
    pub fn find_in(
        dir: Option<&Path>,
        name: &str,
        support: ColourSupport,
    ) -> Result<Theme, ThemeError> {
        let plain_name = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\'])
            && !name.ends_with(".toml");
        if let Some(dir) = dir.filter(|_| plain_name) {
            let path = dir.join(format!("{name}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => return Theme::parse(&path.display().to_string(), &text, support),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ThemeError::Unreadable {
                        path,
                        message: e.to_string(),
                    });
                }
            }
        }
        Theme::load(name, support).map_err(|e| match e {
            ThemeError::Unknown { name, .. } => ThemeError::Unknown {
                name,
                dir: dir.map(Path::to_path_buf),
            },
            other => other,
        })
    }

    /// A theme file's contents; `source_name` names it in errors.
    pub fn parse(
        source_name: &str,
        text: &str,
        support: ColourSupport,
    ) -> Result<Theme, ThemeError> {
        let invalid = |offset: usize, message: String| {
            let line = line_at(text, offset);
            ThemeError::Invalid {
                source_name: source_name.to_string(),
                line,
                key: full_key(text, line),
                message,
            }
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |span| span.start);
            invalid(offset, e.message().trim().to_string())
        })?;
        for (role, value) in &file.roles {
            if !ROLES.contains(&role.as_str()) {
                return Err(invalid(
                    value.span().start,
                    format!("no such role (roles: {})", ROLES.join(", ")),
                ));
            }
        }
        let colour_at = |role: &str, support: ColourSupport| -> Result<Color, ThemeError> {
            let Some(spec) = file.roles.get(role) else {
                return Ok(Color::Reset);
            };
            let (main, fallback) = match spec.get_ref() {
                ColourSpec::Plain(c) => (c.as_str(), c.as_str()),
                ColourSpec::WithFallback { colour, fallback } => {
                    (colour.as_str(), fallback.as_str())
                }
            };
            let bad =
                |what: &str| invalid(spec.span().start, format!("cannot read colour `{what}`"));
            // Both must be readable whatever this terminal shows, so a theme that works
            // here works everywhere; the fallback must be one of the 16 names.
            if named_colour(main).is_none() && hex_colour(main).is_none() {
                return Err(bad(main));
            }
            if named_colour(fallback).is_none() {
                return Err(if fallback == main {
                    invalid(
                        spec.span().start,
                        format!(
                            "`{main}` needs a 16-colour fallback: {{ colour = \"{main}\", fallback = \"blue\" }}"
                        ),
                    )
                } else {
                    bad(fallback)
                });
            }
            let pick = match support {
                ColourSupport::TrueColour => main,
                ColourSupport::Ansi256 if named_colour(main).is_some() => main,
                _ => fallback,
            };
            Ok(named_colour(pick)
                .or_else(|| hex_colour(pick))
                .unwrap_or(Color::Reset))
        };
        // Check every role even when no colour will be shown.
        for role in ROLES {
            colour_at(role, ColourSupport::TrueColour)?;
        }
        if support == ColourSupport::None {
            return Ok(Theme::monochrome(&file.name));
        }
        let colour = |role: &str| colour_at(role, support);
        let bold = if file.bold {
            Modifier::BOLD
        } else {
            Modifier::empty()
        };
        let fg = |role: &str| -> Result<Style, ThemeError> { Ok(Style::new().fg(colour(role)?)) };
        Ok(Theme {
            name: file.name.clone(),
            text: fg("text")?,
            muted: fg("muted")?,
            accent: fg("accent")?.add_modifier(bold),
            ok: fg("ok")?.add_modifier(bold),
            warn: fg("warn")?.add_modifier(bold),
            fail: fg("fail")?.add_modifier(Modifier::BOLD),
            emergency: fg("emergency")?.add_modifier(Modifier::BOLD),
            selected: Style::new()
                .bg(colour("selected_bg")?)
                .fg(colour("selected_fg")?),
            title: fg("accent")?.add_modifier(Modifier::BOLD),
        })
    }

    /// No colour at all: states read as words, emphasis by bold and reverse video.
    pub fn monochrome(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            text: Style::new(),
            muted: Style::new(),
            accent: Style::new(),
            ok: Style::new(),
            warn: Style::new().add_modifier(Modifier::BOLD),
            fail: Style::new().add_modifier(Modifier::BOLD),
            emergency: Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            title: Style::new().add_modifier(Modifier::BOLD),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::load("default", ColourSupport::Ansi16).expect("the default theme parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn detection_order() {
        assert_eq!(
            ColourSupport::detect(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])),
            ColourSupport::None
        );
        assert_eq!(
            ColourSupport::detect(env(&[("TERM", "dumb")])),
            ColourSupport::None
        );
        assert_eq!(
            ColourSupport::detect(env(&[
                ("TERM", "xterm-256color"),
                ("COLORTERM", "truecolor")
            ])),
            ColourSupport::TrueColour
        );
        assert_eq!(
            ColourSupport::detect(env(&[("TERM", "screen-256color")])),
            ColourSupport::Ansi256
        );
        assert_eq!(
            ColourSupport::detect(env(&[("TERM", "xterm")])),
            ColourSupport::Ansi16
        );
    }

    #[test]
    fn every_built_in_theme_loads_at_every_support_level() {
        for (name, _) in BUILT_IN {
            for support in [
                ColourSupport::None,
                ColourSupport::Ansi16,
                ColourSupport::Ansi256,
                ColourSupport::TrueColour,
            ] {
                Theme::load(name, support).unwrap();
            }
        }
    }

    #[test]
    fn fallback_is_used_without_true_colour() {
        let theme = Theme::load("solarized", ColourSupport::Ansi16).unwrap();
        assert_eq!(theme.fail.fg, Some(Color::Red));
        let theme = Theme::load("solarized", ColourSupport::TrueColour).unwrap();
        assert_eq!(theme.fail.fg, Some(Color::Rgb(0xdc, 0x32, 0x2f)));
    }

    #[test]
    fn bad_theme_is_named_with_file_line_and_key() {
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nok = \"chartreuse\"",
            ColourSupport::Ansi16,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "mine.toml:3: key `roles.ok`: cannot read colour `chartreuse`"
        );
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\ntext = \"reset\"\nokay = \"green\"\n",
            ColourSupport::None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("mine.toml:4: key `roles.okay`: no such role"),
            "{err}"
        );
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nfail = \"#ff0000\"\n",
            ColourSupport::TrueColour,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("mine.toml:3: key `roles.fail`: `#ff0000` needs a 16-colour fallback"),
            "{err}"
        );
        assert!(Theme::load("neon", ColourSupport::Ansi16).is_err());
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nok = green\n",
            ColourSupport::Ansi16,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("mine.toml:3: key `roles.ok`: "),
            "{err}"
        );
    }

    #[test]
    fn the_default_theme_uses_only_the_terminals_own_colours() {
        let theme = Theme::load("default", ColourSupport::TrueColour).unwrap();
        for style in [
            theme.text,
            theme.muted,
            theme.accent,
            theme.ok,
            theme.warn,
            theme.fail,
            theme.emergency,
            theme.selected,
            theme.title,
        ] {
            for colour in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                    "{colour:?}"
                );
            }
            assert!(matches!(style.bg, None | Some(Color::Reset)) || style == theme.selected);
        }
    }
}
