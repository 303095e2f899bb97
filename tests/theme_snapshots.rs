//! Themes as the operator meets them: every built-in loads, a file in the config
//! directory wins over the built-in of its name, a broken file is named with its line and
//! key (and the console exits 2 on it), true colours fall back to the 16 ANSI colours,
//! NO_COLOR draws no colour at all, and the main screen in the light, dark and default
//! themes, snapshotted as text with the colours of every run of cells listed under it.

mod common;
mod e2e_support;

use std::path::PathBuf;

use chrono::FixedOffset;
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use common::*;
use e2e_support::{Scratch, run_to_end};
use patchdeck::theme::{BUILT_IN, ColourSupport, Theme};
use patchdeck::ui::{Look, view};

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchdeck-theme-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn draw_in(theme: Theme, width: u16, height: u16) -> Buffer {
    let mut app = console();
    resize(&mut app, width, height);
    let look = Look {
        theme,
        local_offset: FixedOffset::east_opt(0).expect("UTC"),
    };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| view(&app, &look, frame))
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn colour_name(colour: Color) -> String {
    match colour {
        Color::Reset => "-".into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Each row's runs of cells that share foreground and background, as
/// `fg/bg "text"`; a run of blanks in the terminal's own colours is left out.
fn colour_runs(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    let mut out = Vec::new();
    for (y, row) in buffer.content.chunks(width).enumerate() {
        let mut runs: Vec<((Color, Color), String)> = Vec::new();
        for cell in row {
            let key = (cell.fg, cell.bg);
            match runs.last_mut() {
                Some((last, text)) if *last == key => text.push_str(cell.symbol()),
                _ => runs.push((key, cell.symbol().to_string())),
            }
        }
        let shown: Vec<String> = runs
            .into_iter()
            // A background always shows; otherwise only inked text in a colour.
            .filter(|((fg, bg), text)| {
                *bg != Color::Reset || (*fg != Color::Reset && !text.trim().is_empty())
            })
            .map(|((fg, bg), text)| {
                format!("{}/{} {:?}", colour_name(fg), colour_name(bg), text.trim())
            })
            .collect();
        if !shown.is_empty() {
            out.push(format!("row {y:>2}: {}", shown.join("  ")));
        }
    }
    out.join("\n")
}

fn screen_with_colours(buffer: &Buffer) -> String {
    format!(
        "{}\n--- colours (fg/bg) ---\n{}",
        text(buffer),
        colour_runs(buffer)
    )
}

#[test]
fn main_screen_in_the_light_theme() {
    let theme = Theme::load("light", ColourSupport::TrueColour).expect("light theme");
    assert_snapshot!(
        "light_truecolour_80x24",
        screen_with_colours(&draw_in(theme, 80, 24))
    );
}

#[test]
fn main_screen_in_the_dark_theme() {
    let theme = Theme::load("dark", ColourSupport::TrueColour).expect("dark theme");
    assert_snapshot!(
        "dark_truecolour_80x24",
        screen_with_colours(&draw_in(theme, 80, 24))
    );
}

#[test]
fn main_screen_in_the_default_theme_uses_the_16_colours() {
    let theme = Theme::load("default", ColourSupport::Ansi16).expect("default theme");
    let buffer = draw_in(theme, 80, 24);
    for cell in &buffer.content {
        for colour in [cell.fg, cell.bg] {
            assert!(
                !matches!(colour, Color::Rgb(..) | Color::Indexed(_)),
                "the default theme draws only the terminal's 16 colours, got {colour:?}"
            );
        }
        assert!(
            matches!(cell.bg, Color::Reset | Color::Blue),
            "only the selection has a background, got {:?}",
            cell.bg
        );
    }
    assert_snapshot!("default_ansi16_80x24", screen_with_colours(&buffer));
}

#[test]
fn every_built_in_theme_loads_and_says_what_it_is_for() {
    assert!(BUILT_IN.len() >= 4);
    for name in ["default", "dark", "light", "high-contrast"] {
        assert!(
            BUILT_IN.iter().any(|(n, _)| *n == name),
            "{name} is built in"
        );
    }
    for (name, source) in BUILT_IN {
        let first = source.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("# {name}: ")),
            "themes/{name}.toml starts with a one-line description, got {first:?}"
        );
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&format!("`{name}`")),
            "the README's Themes section names {name}"
        );
        for support in [
            ColourSupport::None,
            ColourSupport::Ansi16,
            ColourSupport::Ansi256,
            ColourSupport::TrueColour,
        ] {
            let theme = Theme::load(name, support).expect("a built-in theme loads");
            assert_eq!(theme.name, name);
            // Drawing in it works at the smallest size.
            draw_in(theme, 80, 24);
        }
    }
}

#[test]
fn true_colours_fall_back_to_the_16_ansi_colours() {
    for name in ["dark", "light", "solarized"] {
        for support in [ColourSupport::Ansi16, ColourSupport::Ansi256] {
            let theme = Theme::load(name, support).expect("theme");
            for cell in &draw_in(theme, 80, 24).content {
                for colour in [cell.fg, cell.bg] {
                    assert!(
                        !matches!(colour, Color::Rgb(..)),
                        "{name} at {support:?} draws {colour:?}"
                    );
                }
            }
        }
    }
    let light = Theme::load("light", ColourSupport::Ansi16).expect("light");
    assert_eq!(light.fail.fg, Some(Color::Red));
    let light = Theme::load("light", ColourSupport::TrueColour).expect("light");
    assert_eq!(light.fail.fg, Some(Color::Rgb(0xcf, 0x22, 0x2e)));
}

#[test]
fn no_color_draws_in_monochrome() {
    let support = ColourSupport::detect(|key| {
        (key == "NO_COLOR")
            .then(|| "1".to_string())
            .or_else(|| (key == "COLORTERM").then(|| "truecolor".to_string()))
    });
    assert_eq!(support, ColourSupport::None);
    for (name, _) in BUILT_IN {
        let theme = Theme::load(name, support).expect("theme");
        for cell in &draw_in(theme, 80, 24).content {
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "{name} under NO_COLOR"
            );
        }
    }
}

#[test]
fn a_theme_in_the_config_directory_wins_over_the_built_in() {
    let dir = scratch("override");
    std::fs::write(
        dir.join("light.toml"),
        "# light: mine\nname = \"my light\"\n[roles]\nfail = { colour = \"#800000\", fallback = \"magenta\" }\n",
    )
    .expect("write theme");
    std::fs::write(
        dir.join("mine.toml"),
        "name = \"mine\"\n[roles]\nok = \"blue\"\n",
    )
    .expect("write theme");
    let light = Theme::find_in(Some(&dir), "light", ColourSupport::TrueColour).expect("light");
    assert_eq!(light.name, "my light");
    assert_eq!(light.fail.fg, Some(Color::Rgb(0x80, 0, 0)));
    let light = Theme::find_in(Some(&dir), "light", ColourSupport::Ansi16).expect("light");
    assert_eq!(light.fail.fg, Some(Color::Magenta));
    let mine = Theme::find_in(Some(&dir), "mine", ColourSupport::Ansi16).expect("mine");
    assert_eq!(mine.ok.fg, Some(Color::Blue));
    // Without a file of its name, the built-in.
    let dark = Theme::find_in(Some(&dir), "dark", ColourSupport::TrueColour).expect("dark");
    assert_eq!(
        dark,
        Theme::load("dark", ColourSupport::TrueColour).unwrap()
    );
    let unknown = Theme::find_in(Some(&dir), "neon", ColourSupport::Ansi16).unwrap_err();
    let message = unknown.to_string();
    assert!(message.contains("unknown theme `neon`"), "{message}");
    assert!(
        message.contains("default, dark, light, high-contrast"),
        "{message}"
    );
    assert!(
        message.contains(&dir.join("neon.toml").display().to_string()),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_broken_theme_file_is_named_with_line_and_key_and_the_console_exits_2() {
    let home = Scratch::new("theme");
    let themes = home.xdg("XDG_CONFIG_HOME").join("patchdeck").join("themes");
    std::fs::create_dir_all(&themes).expect("themes dir");
    let file = themes.join("mine.toml");
    std::fs::write(
        &file,
        "# mine: a try\nname = \"mine\"\n\n[roles]\ntext = \"reset\"\nok = \"chartreuse\"\n",
    )
    .expect("write theme");
    let expected = format!(
        "{}:6: key `roles.ok`: cannot read colour `chartreuse`",
        file.display()
    );
    let err = Theme::find_in(Some(&themes), "mine", ColourSupport::Ansi16).unwrap_err();
    assert_eq!(err.to_string(), expected);

    let output = run_to_end(
        home.patchdeck().args(["--theme", "mine"]),
        "patchdeck --theme mine",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end(), format!("patchdeck: {expected}"));
    assert!(output.stdout.is_empty(), "the terminal was not touched");
}
