//! The key vocabulary: what a key can do (`KeyAction`), keys as typed in the config
//! (`Key`), and the bindings (`Keymap`): defaults compiled in, partial overrides from the
//! config. The footer and the `?` help are generated from these bindings. Shared by the
//! config (which parses overrides) and the app (which dispatches keys).

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::VERBS;

/// Something a key can do in normal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAction {
    NextPane,
    PrevPane,
    RingsPane,
    DeploymentsPane,
    FailedPane,
    ActionsPane,
    CompliancePane,
    ExceptionsPane,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    Open,
    Back,
    Filter,
    Command,
    Help,
    Zoom,
    Checklist,
    Select,
    SelectAll,
    Approve,
    Decline,
    PauseResume,
    Halt,
    Retry,
    Exclude,
    Renew,
    Revoke,
    Rollback,
    Emergency,
    Mouse,
    Quit,
}

impl KeyAction {
    pub const ALL: [KeyAction; 35] = [
        KeyAction::NextPane,
        KeyAction::PrevPane,
        KeyAction::RingsPane,
        KeyAction::DeploymentsPane,
        KeyAction::FailedPane,
        KeyAction::ActionsPane,
        KeyAction::CompliancePane,
        KeyAction::ExceptionsPane,
        KeyAction::Down,
        KeyAction::Up,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::PageDown,
        KeyAction::PageUp,
        KeyAction::Open,
        KeyAction::Back,
        KeyAction::Filter,
        KeyAction::Command,
        KeyAction::Help,
        KeyAction::Zoom,
        KeyAction::Checklist,
        KeyAction::Select,
        KeyAction::SelectAll,
        KeyAction::Approve,
        KeyAction::Decline,
        KeyAction::PauseResume,
        KeyAction::Halt,
        KeyAction::Retry,
        KeyAction::Exclude,
        KeyAction::Renew,
        KeyAction::Revoke,
        KeyAction::Rollback,
        KeyAction::Emergency,
        KeyAction::Mouse,
        KeyAction::Quit,
    ];

    /// The name used in the config's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            KeyAction::NextPane => "next-pane",
            KeyAction::PrevPane => "prev-pane",
            KeyAction::RingsPane => "rings-pane",
            KeyAction::DeploymentsPane => "deployments-pane",
            KeyAction::FailedPane => "failed-pane",
            KeyAction::ActionsPane => "actions-pane",
            KeyAction::CompliancePane => "compliance-pane",
            KeyAction::ExceptionsPane => "exceptions-pane",
            KeyAction::Down => "down",
            KeyAction::Up => "up",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::PageDown => "page-down",
            KeyAction::PageUp => "page-up",
            KeyAction::Open => "open",
            KeyAction::Back => "back",
            KeyAction::Filter => "filter",
            KeyAction::Command => "command",
            KeyAction::Help => "help",
            KeyAction::Zoom => "zoom",
            KeyAction::Checklist => "checklist",
            KeyAction::Select => "select",
            KeyAction::SelectAll => "select-all",
            KeyAction::Approve => "approve",
            KeyAction::Decline => "decline",
            KeyAction::PauseResume => "pause-resume",
            KeyAction::Halt => "halt",
            KeyAction::Retry => "retry",
            KeyAction::Exclude => "exclude",
            KeyAction::Renew => "renew",
            KeyAction::Revoke => "revoke",
            KeyAction::Rollback => "rollback",
            KeyAction::Emergency => "emergency",
            KeyAction::Mouse => "mouse",
            KeyAction::Quit => "quit",
        }
    }

    /// Short label for the footer.
    pub fn label(self) -> &'static str {
        match self {
            KeyAction::NextPane => "pane",
            KeyAction::PrevPane => "prev pane",
            KeyAction::RingsPane => "rings",
            KeyAction::DeploymentsPane => "deployments",
            KeyAction::FailedPane => "failed",
            KeyAction::ActionsPane => "actions",
            KeyAction::CompliancePane => "compliance",
            KeyAction::ExceptionsPane => "exceptions",
            KeyAction::Down => "down",
            KeyAction::Up => "up",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::PageDown => "page down",
            KeyAction::PageUp => "page up",
            KeyAction::Open => "detail",
            KeyAction::Back => "back",
            KeyAction::Filter => "filter",
            KeyAction::Command => "command",
            KeyAction::Help => "help",
            KeyAction::Zoom => "zoom",
            KeyAction::Checklist => "checklist",
            KeyAction::Select => "select",
            KeyAction::SelectAll => "select all",
            KeyAction::Approve => "approve",
            KeyAction::Decline => "decline",
            KeyAction::PauseResume => "pause/resume",
            KeyAction::Halt => "halt",
            KeyAction::Retry => "retry",
            KeyAction::Exclude => "exclude",
            KeyAction::Renew => "renew",
            KeyAction::Revoke => "revoke",
            KeyAction::Rollback => "rollback",
            KeyAction::Emergency => "EMERGENCY",
            KeyAction::Mouse => "mouse",
            KeyAction::Quit => "quit",
        }
    }

    /// One line for the help screen.
    pub fn description(self) -> &'static str {
        match self {
            KeyAction::NextPane => "focus the next pane",
            KeyAction::PrevPane => "focus the previous pane",
            KeyAction::RingsPane => "focus Rings",
            KeyAction::DeploymentsPane => "focus Deployments",
            KeyAction::FailedPane => "focus Failed hosts",
            KeyAction::ActionsPane => "focus Actions",
            KeyAction::CompliancePane => "focus Compliance",
            KeyAction::ExceptionsPane => "focus Exceptions",
            KeyAction::Down => "move down",
            KeyAction::Up => "move up",
            KeyAction::Top => "first row",
            KeyAction::Bottom => "last row",
            KeyAction::PageDown => "next page",
            KeyAction::PageUp => "previous page",
            KeyAction::Open => "open detail / expand a failure group",
            KeyAction::Back => "back, close, clear filter",
            KeyAction::Filter => "filter the focused list",
            KeyAction::Command => "command (:hosts failed, :ring pilot, :deployments)",
            KeyAction::Help => "this help",
            KeyAction::Zoom => "zoom the focused pane to full screen",
            KeyAction::Checklist => "fold the emergency checklist to one line, or open it",
            KeyAction::Select => "mark / unmark the host or group here, then move down",
            KeyAction::SelectAll => "select every host in the (filtered) list",
            KeyAction::Approve => "approve a deployment for its next ring",
            KeyAction::Decline => "decline a deployment",
            KeyAction::PauseResume => "pause or resume a deployment or ring",
            KeyAction::Halt => "halt a deployment (type its name)",
            KeyAction::Retry => "retry a failed host or a whole error group",
            KeyAction::Exclude => {
                "exclude hosts with an exception (owner, control, expiry; all patches or one)"
            }
            KeyAction::Renew => "renew a host's exception: a new expiry, within the cap",
            KeyAction::Revoke => "revoke a host's exception: the host goes back to the queue",
            KeyAction::Rollback => "roll back a deployment, ring or hosts",
            KeyAction::Emergency => "start an emergency (zero-day) deployment",
            KeyAction::Mouse => {
                "mouse on/off: wheel scrolls, click selects, again opens; while on, Shift-drag selects text (Option-drag in iTerm2)"
            }
            KeyAction::Quit => "quit",
        }
    }

    pub fn from_name(name: &str) -> Option<KeyAction> {
        KeyAction::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Does this action change the fleet? (Is it a verb's key in the verb table?)
    pub fn is_fleet_action(self) -> bool {
        VERBS.iter().any(|spec| spec.key_action == self.name())
    }
}

/// A key with its modifiers, as the user types it in the config ("ctrl-c", "G", "pgdn").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Normalise a terminal key event: shift is part of an upper-case char, BackTab
    /// carries shift on some terminals and not on others.
    pub fn from_event(event: KeyEvent) -> Key {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) => KeyCode::Char(c),
            KeyCode::BackTab => KeyCode::BackTab,
            other => {
                if event.modifiers.contains(KeyModifiers::SHIFT) {
                    modifiers |= KeyModifiers::SHIFT;
                }
                other
            }
        };
        Key { code, modifiers }
    }

    /// Parse "j", "G", "?", "ctrl-c", "alt-x", "enter", "esc", "tab", "shift-tab",
    /// "space", "up", "down", "left", "right", "pgup", "pgdn", "home", "end", "f1".
    pub fn parse(text: &str) -> Option<Key> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            other => {
                let mut chars = other.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    (Some('f'), Some(_)) => KeyCode::F(other[1..].parse().ok()?),
                    _ => return None,
                }
            }
        };
        Some(Key { code, modifiers })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            write!(f, "Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            write!(f, "Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => write!(f, "Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => write!(f, "Enter"),
            KeyCode::Esc => write!(f, "Esc"),
            KeyCode::Tab => write!(f, "Tab"),
            KeyCode::BackTab => write!(f, "S-Tab"),
            KeyCode::Up => write!(f, "Up"),
            KeyCode::Down => write!(f, "Down"),
            KeyCode::Left => write!(f, "Left"),
            KeyCode::Right => write!(f, "Right"),
            KeyCode::PageUp => write!(f, "PgUp"),
            KeyCode::PageDown => write!(f, "PgDn"),
            KeyCode::Home => write!(f, "Home"),
            KeyCode::End => write!(f, "End"),
            KeyCode::Backspace => write!(f, "Bksp"),
            KeyCode::F(n) => write!(f, "F{n}"),
            _ => write!(f, "?"),
        }
    }
}

/// Normal-mode bindings. Several keys may do one action; one key does one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: Vec<(Key, KeyAction)>,
}

/// A bad line in the `[keys]` table of the config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KeymapError {
    #[error("unknown action `{0}` (known: {known})", known = KeyAction::ALL.map(|a| a.name()).join(", "))]
    UnknownAction(String),
    #[error("cannot read key `{key}` for `{action}` (try \"x\", \"ctrl-x\", \"enter\", \"pgdn\")")]
    BadKey { action: String, key: String },
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyAction as A;
        let mut bindings = vec![
            (Key::plain(KeyCode::Tab), A::NextPane),
            (Key::plain(KeyCode::BackTab), A::PrevPane),
            (Key::char('1'), A::RingsPane),
            (Key::char('2'), A::DeploymentsPane),
            (Key::char('3'), A::FailedPane),
            (Key::char('4'), A::ActionsPane),
            (Key::char('5'), A::CompliancePane),
            (Key::char('6'), A::ExceptionsPane),
            (Key::char('j'), A::Down),
            (Key::plain(KeyCode::Down), A::Down),
            (Key::char('k'), A::Up),
            (Key::plain(KeyCode::Up), A::Up),
            (Key::char('g'), A::Top),
            (Key::plain(KeyCode::Home), A::Top),
            (Key::char('G'), A::Bottom),
            (Key::plain(KeyCode::End), A::Bottom),
            (Key::plain(KeyCode::PageDown), A::PageDown),
            (Key::ctrl('d'), A::PageDown),
            (Key::plain(KeyCode::PageUp), A::PageUp),
            (Key::ctrl('u'), A::PageUp),
            (Key::plain(KeyCode::Enter), A::Open),
            (Key::plain(KeyCode::Esc), A::Back),
            (Key::char('/'), A::Filter),
            (Key::char(':'), A::Command),
            (Key::char('?'), A::Help),
            (Key::char('z'), A::Zoom),
            (Key::char('c'), A::Checklist),
            (Key::char(' '), A::Select),
            (Key::char('*'), A::SelectAll),
        ];
        // The fleet actions' keys come from the verb table (two verbs may share one).
        for spec in &VERBS {
            if let (Some(key), Some(action)) = (
                Key::parse(spec.default_key),
                KeyAction::from_name(spec.key_action),
            ) && !bindings.contains(&(key, action))
            {
                bindings.push((key, action));
            }
        }
        bindings.extend([
            (Key::char('M'), A::Mouse),
            (Key::char('q'), A::Quit),
            (Key::ctrl('c'), A::Quit),
        ]);
        Keymap { bindings }
    }
}

impl Keymap {
    /// The action bound to a key, if any.
    pub fn action(&self, key: Key) -> Option<KeyAction> {
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, action)| *action)
    }

    /// Keys bound to an action, in binding order.
    pub fn keys(&self, action: KeyAction) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The first key of an action, as shown in the footer ("a", "Ctrl-C").
    pub fn primary(&self, action: KeyAction) -> Option<Key> {
        self.bindings
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(k, _)| *k)
    }

    /// Apply overrides: each action named gets exactly the keys given (replacing its
    /// defaults); a key taken from another action is removed from that action.
    /// Ctrl-C always quits, whatever the config says.
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Keymap, KeymapError> {
        for (name, keys) in overrides {
            let action = KeyAction::from_name(name)
                .ok_or_else(|| KeymapError::UnknownAction(name.into()))?;
            let mut parsed = Vec::new();
            for key in keys {
                parsed.push(Key::parse(key).ok_or_else(|| KeymapError::BadKey {
                    action: name.into(),
                    key: key.clone(),
                })?);
            }
            self.bindings
                .retain(|(k, a)| *a != action && !parsed.contains(k));
            self.bindings
                .extend(parsed.into_iter().map(|k| (k, action)));
        }
        if self.action(Key::ctrl('c')) != Some(KeyAction::Quit) {
            self.bindings.retain(|(k, _)| *k != Key::ctrl('c'));
            self.bindings.push((Key::ctrl('c'), KeyAction::Quit));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        let keymap = Keymap::default();
        assert_eq!(keymap.action(Key::char('H')), Some(KeyAction::Halt));
        assert_eq!(keymap.action(Key::char('R')), Some(KeyAction::Rollback));
        assert_eq!(keymap.action(Key::ctrl('c')), Some(KeyAction::Quit));
        assert_eq!(keymap.action(Key::char('3')), Some(KeyAction::FailedPane));
        assert_eq!(keymap.action(Key::char('M')), Some(KeyAction::Mouse));
        for action in KeyAction::ALL {
            assert!(keymap.primary(action).is_some(), "{action:?} has no key");
        }
    }

    #[test]
    fn every_verb_has_its_key() {
        let keymap = Keymap::default();
        for spec in &VERBS {
            let action = KeyAction::from_name(spec.key_action).expect("a key action");
            let key = Key::parse(spec.default_key).expect("a key");
            assert_eq!(keymap.action(key), Some(action), "{:?}", spec.verb);
            assert!(action.is_fleet_action());
        }
        assert!(!KeyAction::Quit.is_fleet_action());
    }

    #[test]
    fn overrides_replace_and_steal_keys() {
        let keys = vec!["ctrl-h".to_string()];
        let approve = vec!["H".to_string()];
        let keymap = Keymap::default()
            .with_overrides([("halt", keys.as_slice()), ("approve", approve.as_slice())])
            .unwrap();
        assert_eq!(keymap.action(Key::ctrl('h')), Some(KeyAction::Halt));
        assert_eq!(keymap.action(Key::char('H')), Some(KeyAction::Approve));
        assert_eq!(keymap.action(Key::char('a')), None);
    }

    #[test]
    fn ctrl_c_always_quits() {
        let keys = vec!["ctrl-c".to_string()];
        let keymap = Keymap::default()
            .with_overrides([("help", keys.as_slice())])
            .unwrap();
        assert_eq!(keymap.action(Key::ctrl('c')), Some(KeyAction::Quit));
    }

    #[test]
    fn bad_overrides_are_named() {
        let keys = vec!["ctrl-".to_string()];
        let err = Keymap::default()
            .with_overrides([("halt", keys.as_slice())])
            .unwrap_err();
        assert!(err.to_string().contains("ctrl-"));
        let err = Keymap::default()
            .with_overrides([("explode", keys.as_slice())])
            .unwrap_err();
        assert!(err.to_string().contains("unknown action `explode`"));
    }

    #[test]
    fn parse_and_show() {
        for text in [
            "j",
            "G",
            "ctrl-c",
            "enter",
            "pgdn",
            "shift-tab",
            "space",
            "f5",
        ] {
            assert!(Key::parse(text).is_some(), "{text}");
        }
        assert_eq!(Key::ctrl('c').to_string(), "Ctrl-C");
        assert_eq!(Key::char(' ').to_string(), "Space");
    }
}
