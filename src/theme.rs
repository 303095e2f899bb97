//! Colours by role (ok, warn, fail, accent, emergency, muted...), from themes/*.toml
//! (compiled in) or a user file. Colour support is detected from the environment:
//! NO_COLOR, TERM=dumb, COLORTERM, *-256color, in that order; default is 16 colours.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Themes shipped with patchdeck.
pub const BUILT_IN: [(&str, &str); 3] = [
    ("default", include_str!("../themes/default.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("solarized", include_str!("../themes/solarized.toml")),
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
struct ThemeFile {
    name: String,
    #[serde(default)]
    bold: bool,
    roles: BTreeMap<String, ColourSpec>,
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

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown theme `{0}` (built in: default, high-contrast, solarized)")]
    Unknown(String),
    #[error("theme {source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
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
    /// A built-in theme by name, or a theme file's contents.
    pub fn load(name: &str, support: ColourSupport) -> Result<Theme, ThemeError> {
        let source = BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| ThemeError::Unknown(name.to_string()))?;
        Theme::parse(name, source, support)
    }

    pub fn parse(
        source_name: &str,
        text: &str,
        support: ColourSupport,
    ) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            source_name: source_name.to_string(),
            message,
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let colour = |role: &str| -> Result<Color, ThemeError> {
            let Some(spec) = file.roles.get(role) else {
                return Ok(Color::Reset);
            };
            let (main, fallback) = match spec {
                ColourSpec::Plain(c) => (c.as_str(), c.as_str()),
                ColourSpec::WithFallback { colour, fallback } => {
                    (colour.as_str(), fallback.as_str())
                }
            };
            let pick = if matches!(support, ColourSupport::TrueColour | ColourSupport::Ansi256) {
                main
            } else {
                fallback
            };
            named_colour(pick)
                .or_else(|| hex_colour(pick).filter(|_| support == ColourSupport::TrueColour))
                .or_else(|| named_colour(fallback))
                .ok_or_else(|| invalid(format!("role `{role}`: cannot read colour `{pick}`")))
        };
        if support == ColourSupport::None {
            return Ok(Theme::monochrome(&file.name));
        }
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
    fn bad_theme_is_named() {
        let err = Theme::parse(
            "mine.toml",
            "name = \"x\"\n[roles]\nok = \"chartreuse\"",
            ColourSupport::Ansi16,
        )
        .unwrap_err();
        assert!(err.to_string().contains("mine.toml"));
        assert!(err.to_string().contains("chartreuse"));
        assert!(Theme::load("neon", ColourSupport::Ansi16).is_err());
    }
}
