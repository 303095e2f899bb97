//! The config file: contexts (name, API URL, token file, read-only, theme) and key
//! overrides. `$XDG_CONFIG_HOME/patchdeck/config.toml` via `directories`.
//!
//! ```toml
//! current_context = "prod"
//! theme = "default"
//! mouse = true                # wheel and clicks (off by default: drag-to-copy)
//! bell = true                 # the bell and a flash line for each notice (halt...)
//! window_warning_minutes = 30 # a window closing this soon with hosts pending: a notice
//!
//! [serve]                     # `patchdeck serve` reads this section only
//! notify = ["https://hooks.example.com/patchdeck"]   # posts each notice (docs/api.md)
//!
//! [[context]]
//! name = "prod"
//! api = "https://patch.example.com"
//! token_file = "/home/me/.config/patchdeck/prod.token"
//! read_only = true
//! # ca_file = "/etc/patchdeck/internal-ca.pem"   # trusted besides the system's roots
//! # insecure_http = true                          # allow http:// to a non-loopback host
//!
//! [[context]]                 # an AWS account: the console runs the gateway itself
//! name = "aws-emea"
//! backend = "aws-ssm"
//! [context.aws_ssm]
//! region = "eu-west-1"
//! ring_order = ["Test", "Pilot", "Wave 1", "Production"]
//! production = ["Production"]
//!
//! [keys]
//! halt = ["ctrl-h"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::backend::aws_ssm::SsmSettings;
use crate::keys::Keymap;

/// Where a context's fleet is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextBackend {
    /// A patchdeck gateway at the context's `api` URL.
    #[default]
    Api,
    /// An AWS Systems Manager account: the console runs the gateway in-process on
    /// loopback, with the context's `[context.aws_ssm]` settings.
    AwsSsm,
}

/// The fleet a gateway fronts (`serve --backend`, and the console's own gateway).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FleetBackend {
    /// The built-in simulated fleet.
    #[default]
    Sim,
    /// AWS Systems Manager (Patch Manager, Run Command) through the standard AWS chain.
    AwsSsm,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub current_context: Option<String>,
    /// Theme for every context that names none.
    #[serde(default)]
    pub theme: Option<String>,
    /// Start with the mouse on (wheel, clicks); `--mouse` too, `M` at any time. Off by
    /// default: while the console has the mouse, dragging no longer selects text.
    #[serde(default)]
    pub mouse: bool,
    /// Ring the terminal bell (and flash the words) for each notice: a halt, a gate or
    /// a second approver awaited, a window closing with work left, an exploited CVE,
    /// an emergency started or ended. On unless `bell = false` (or `--no-bell`).
    #[serde(default = "yes")]
    pub bell: bool,
    /// A ring's window closing within this many minutes with hosts pending is a notice
    /// (the console's bell and `serve --notify`); default 30.
    #[serde(default)]
    pub window_warning_minutes: Option<u32>,
    /// `patchdeck serve`'s settings.
    #[serde(default)]
    pub serve: ServeConfig,
    #[serde(default, rename = "context")]
    pub contexts: Vec<ContextConfig>,
    /// Action name -> keys, replacing that action's default keys.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

fn yes() -> bool {
    true
}

/// `[serve]`: what `patchdeck serve` reads of the config.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Webhook URLs each notice is posted to, besides `--notify`'s.
    #[serde(default)]
    pub notify: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub name: String,
    /// The gateway's URL (needed unless `backend = "aws-ssm"`).
    #[serde(default)]
    pub api: String,
    #[serde(default)]
    pub backend: ContextBackend,
    /// The SSM account and rollout settings of an `aws-ssm` context.
    #[serde(default)]
    pub aws_ssm: Option<SsmSettings>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub theme: Option<String>,
    /// PEM file of CA certificates trusted besides the system's and bundled roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow plain `http://` to a host that is not loopback (the token crosses the
    /// network readable): the console then shows INSECURE.
    #[serde(default)]
    pub insecure_http: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            current_context: None,
            theme: None,
            mouse: false,
            bell: true,
            window_warning_minutes: None,
            serve: ServeConfig::default(),
            contexts: Vec::new(),
            keys: BTreeMap::new(),
        }
    }
}

/// A config problem: names the file, the line and the key when it can.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Where the config lives by default.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "patchdeck")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

/// Where the audit log and other data live.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "patchdeck").map(|dirs| dirs.data_dir().to_path_buf())
}

impl Config {
    /// Read a config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError {
                path: path.display().to_string(),
                line: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Read a config file the operator named (`--config`): a missing file is an error,
    /// never an empty config (which would start the demo fleet).
    pub fn load_named(path: &Path) -> Result<Config, ConfigError> {
        if !path.exists() {
            return Err(ConfigError {
                path: path.display().to_string(),
                line: None,
                message: "no such config file (--config names a file that does not exist)".into(),
            });
        }
        Config::load(path)
    }

    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_string(),
            line: e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().trim().to_string(),
        })?;
        // Check the key overrides now, so a bad line is reported at start.
        let keymap_line = |action: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(action))
                .map(|i| i + 1)
        };
        for (action, keys) in &config.keys {
            Keymap::default()
                .with_overrides([(action.as_str(), keys.as_slice())])
                .map_err(|e| ConfigError {
                    path: path.to_string(),
                    line: keymap_line(action),
                    message: format!("[keys] {action}: {e}"),
                })?;
        }
        for url in &config.serve.notify {
            crate::notify::check_url(url).map_err(|message| ConfigError {
                path: path.to_string(),
                line: text
                    .lines()
                    .position(|l| l.trim_start().starts_with("notify"))
                    .map(|i| i + 1),
                message: format!("[serve] notify: {message}"),
            })?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for context in &config.contexts {
            let problem = match context.backend {
                ContextBackend::Api if context.api.trim().is_empty() => Some(
                    "needs `api = \"https://...\"` (the gateway's URL), or `backend = \"aws-ssm\"`",
                ),
                ContextBackend::Api if context.aws_ssm.is_some() => {
                    Some("has [context.aws_ssm] settings but not `backend = \"aws-ssm\"`")
                }
                ContextBackend::AwsSsm if !context.api.trim().is_empty() => Some(
                    "has both `api` and `backend = \"aws-ssm\"`: an aws-ssm context runs its own gateway",
                ),
                _ => None,
            };
            if let Some(problem) = problem {
                let needle = format!("\"{}\"", context.name);
                return Err(ConfigError {
                    path: path.to_string(),
                    line: text
                        .lines()
                        .position(|l| l.trim_start().starts_with("name") && l.contains(&needle))
                        .map(|i| i + 1),
                    message: format!("context `{}` {problem}", context.name),
                });
            }
            if !seen.insert(&context.name) {
                return Err(ConfigError {
                    path: path.to_string(),
                    line: None,
                    message: format!("context `{}` is defined twice", context.name),
                });
            }
        }
        if let Some(current) = &config.current_context
            && !config.contexts.iter().any(|c| &c.name == current)
        {
            return Err(ConfigError {
                path: path.to_string(),
                line: None,
                message: format!("current_context `{current}` names no [[context]]"),
            });
        }
        Ok(config)
    }

    pub fn keymap(&self) -> Keymap {
        Keymap::default()
            .with_overrides(self.keys.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .unwrap_or_default()
    }

    /// The notice detector's rules the config asks for.
    pub fn notice_rules(&self) -> crate::model::NoticeRules {
        let mut rules = crate::model::NoticeRules::default();
        if let Some(minutes) = self.window_warning_minutes {
            rules.window_warning = chrono::Duration::minutes(i64::from(minutes));
        }
        rules
    }

    /// The context asked for by name, or the current one.
    pub fn context(&self, name: Option<&str>) -> Option<&ContextConfig> {
        let name = name.or(self.current_context.as_deref())?;
        self.contexts.iter().find(|c| c.name == name)
    }
}

/// A token-file problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenError {
    #[error("token file {path} is readable by group or others: run `chmod 600 {path}`")]
    TooOpen { path: String },
    #[error("cannot read token file {path}: {message}")]
    Unreadable { path: String, message: String },
    #[error("token file {path} is empty")]
    Empty { path: String },
}

/// Read a bearer token from a file that only its owner can read.
pub fn read_token_file(path: &Path) -> Result<String, TokenError> {
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|e| TokenError::Unreadable {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(TokenError::TooOpen { path: shown });
        }
    }
    let _ = metadata;
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::Unreadable {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(TokenError::Empty { path: shown });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_contexts_and_keys() {
        let config = Config::parse(
            "config.toml",
            r#"
current_context = "prod"
[[context]]
name = "prod"
api = "https://patch.example.com"
read_only = true
ca_file = "/etc/patchdeck/ca.pem"
[keys]
halt = ["ctrl-h"]
"#,
        )
        .unwrap();
        let prod = config.context(None).unwrap();
        assert!(prod.read_only);
        assert_eq!(prod.api, "https://patch.example.com");
        assert_eq!(
            prod.ca_file.as_deref(),
            Some(Path::new("/etc/patchdeck/ca.pem"))
        );
        assert!(!prod.insecure_http);
        assert_eq!(
            config.keymap().action(crate::keys::Key::ctrl('h')),
            Some(crate::keys::KeyAction::Halt)
        );
    }

    #[test]
    fn mouse_is_off_unless_the_config_turns_it_on() {
        assert!(!Config::parse("config.toml", "").unwrap().mouse);
        let config = Config::parse("config.toml", "mouse = true\ntheme = \"dark\"\n").unwrap();
        assert!(config.mouse);
        let err = Config::parse("config.toml", "mouse = \"yes\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn the_bell_is_on_and_notices_go_where_serve_is_told() {
        let config = Config::parse("config.toml", "").unwrap();
        assert!(config.bell);
        assert_eq!(config.notice_rules(), crate::model::NoticeRules::default());
        assert!(config.serve.notify.is_empty());
        let config = Config::parse(
            "config.toml",
            "bell = false\nwindow_warning_minutes = 45\n[serve]\nnotify = [\"http://127.0.0.1:9/hook\"]\n",
        )
        .unwrap();
        assert!(!config.bell);
        assert_eq!(
            config.notice_rules().window_warning,
            chrono::Duration::minutes(45)
        );
        assert_eq!(config.serve.notify, ["http://127.0.0.1:9/hook"]);
        let err =
            Config::parse("config.toml", "\n[serve]\nnotify = [\"ftp://x/y\"]\n").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(
            err.message.starts_with("[serve] notify: ftp://x/..."),
            "{err}"
        );
        let err = Config::parse("config.toml", "[serve]\nnotfy = []\n").unwrap_err();
        assert!(err.message.contains("notfy"), "{err}");
    }

    #[test]
    fn an_aws_ssm_context_carries_its_settings_and_needs_no_api() {
        let config = Config::parse(
            "config.toml",
            r#"
[[context]]
name = "aws-emea"
backend = "aws-ssm"
[context.aws_ssm]
region = "eu-west-1"
ring_order = ["Test", "Pilot"]
production = ["Pilot"]
max_errors = "2"
"#,
        )
        .unwrap();
        let context = config.context(Some("aws-emea")).unwrap();
        assert_eq!(context.backend, ContextBackend::AwsSsm);
        let settings = context.aws_ssm.as_ref().unwrap();
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(settings.ring_order, ["Test", "Pilot"]);
        assert_eq!(settings.max_errors, "2");
        assert_eq!(
            settings.max_concurrency, "10%",
            "unset keys keep their defaults"
        );
    }

    #[test]
    fn a_context_without_its_fleet_or_with_two_is_refused_on_its_line() {
        for (text, says) in [
            ("[[context]]\nname = \"prod\"\n", "needs `api"),
            (
                "[[context]]\nname = \"prod\"\napi = \"https://x\"\nbackend = \"aws-ssm\"\n",
                "has both `api`",
            ),
            (
                "[[context]]\nname = \"prod\"\napi = \"https://x\"\n[context.aws_ssm]\nregion = \"eu-west-1\"\n",
                "not `backend = \"aws-ssm\"`",
            ),
        ] {
            let error = Config::parse("config.toml", text).unwrap_err();
            assert!(error.message.contains(says), "{text}: {error}");
            assert!(error.message.contains("context `prod`"), "{error}");
            assert_eq!(error.line, Some(2), "{text}: {error}");
        }
        let error = Config::parse(
            "config.toml",
            "[[context]]\nname = \"a\"\nbackend = \"aws-ssm\"\n[context.aws_ssm]\nregoin = \"x\"\n",
        )
        .unwrap_err();
        assert!(error.message.contains("regoin"), "{error}");
        assert_eq!(error.line, Some(5), "{error}");
    }

    #[test]
    fn bad_line_names_file_line_and_key() {
        let err = Config::parse(
            "cfg.toml",
            "theme = \"x\"\n[[context]]\nname = \"a\"\napi = \"u\"\nreadonly = true\n",
        )
        .unwrap_err();
        assert_eq!(err.path, "cfg.toml");
        assert_eq!(err.line, Some(5));
        assert!(err.message.contains("readonly"), "{}", err.message);
        let err = Config::parse("cfg.toml", "[keys]\nhalt = [\"ctrl-\"]\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(
            err.to_string().starts_with("cfg.toml:2: [keys] halt"),
            "{err}"
        );
        let err = Config::parse("cfg.toml", "current_context = \"nope\"\n").unwrap_err();
        assert!(err.message.contains("nope"));
    }

    #[test]
    fn a_named_config_that_is_missing_is_an_error() {
        let path = std::path::Path::new("/nonexistent/patchdeck/config.toml");
        assert_eq!(Config::load(path), Ok(Config::default()));
        let err = Config::load_named(path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/patchdeck/config.toml: no such")
        );
    }

    #[test]
    fn token_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("patchdeck-token-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_token_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"));
        assert!(!err.to_string().contains("secret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&path).unwrap(), "secret");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
