//! Bearer tokens of `patchdeck serve`: who may call the API and with which role.
//!
//! The file given to `serve --tokens PATH` is TOML:
//!
//! ```toml
//! [[token]]
//! name = "alice"
//! role = "approver"
//! token = "a long random string"
//! person = "alice"        # optional: the person behind the token (default: the name)
//! ```
//!
//! Identities are people: the two-person rule compares `person`, so two tokens of one
//! person (a laptop and a jump host) count once. Names and persons are trimmed and put
//! in Unicode NFC (so "é" typed two ways is one person), and a file whose name or
//! person holds a control, format (Cf), bidi, invisible or zero-width character, or
//! any space but U+0020, is refused at load, naming the file, the line and the
//! character (U+XXXX): "alice" and "alice\u{200b}" must not pass for two people.
//!
//! It must not be readable by group or other (`chmod 600`). Without `--tokens`, `serve`
//! generates one token per role (and a second approver, so that the two-person rule can
//! be exercised) and writes them to a file with mode 0600. Tokens are never printed,
//! logged or echoed; `Debug` shows names and roles only.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Identity, Role};

/// One caller: a name (recorded in the audit trail), a role, the secret token and the
/// person it belongs to (none: the name is the person).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

impl TokenEntry {
    /// The person the two-person rule counts.
    pub fn person(&self) -> &str {
        self.person.as_deref().unwrap_or(&self.name)
    }
}

impl fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("person", &self.person())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The set of tokens a server accepts.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    #[serde(rename = "token", default)]
    entries: Vec<TokenEntry>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

/// Why a token file could not be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: token file is readable by group or other (mode {mode:03o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path}, line {line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}, line {line}, key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: &'static str,
        message: String,
    },
    #[error("{path}: no [[token]] entries")]
    Empty { path: PathBuf },
}

/// The shape of the file with spans, so that validation errors can name the line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<SpannedEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpannedEntry {
    name: toml::Spanned<String>,
    role: Role,
    token: toml::Spanned<String>,
    #[serde(default)]
    person: Option<toml::Spanned<String>>,
}

/// Shortest token accepted from a file: shorter secrets are guessable.
const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Tokens from a list of entries (no validation beyond what `identify` needs).
    pub fn new(entries: Vec<TokenEntry>) -> Tokens {
        Tokens { entries }
    }

    /// A single known token, e.g. the approver token of the console's demo mode.
    pub fn single(name: impl Into<String>, role: Role, token: impl Into<String>) -> Tokens {
        Tokens::new(vec![TokenEntry {
            name: name.into(),
            role,
            token: token.into(),
            person: None,
        }])
    }

    /// One fresh random token per role: "vera" (viewer), "oscar" (operator), and two
    /// approvers, "alice" and "bob", so that the two-person rule can be exercised.
    pub fn generate() -> Tokens {
        let people = [
            ("vera", Role::Viewer),
            ("oscar", Role::Operator),
            ("alice", Role::Approver),
            ("bob", Role::Approver),
        ];
        Tokens::new(
            people
                .into_iter()
                .map(|(name, role)| TokenEntry {
                    name: name.to_string(),
                    role,
                    token: random_token(),
                    person: None,
                })
                .collect(),
        )
    }

    /// Reads a `[[token]]` TOML file, refusing one readable by group or other.
    pub fn load(path: &Path) -> Result<Tokens, TokenFileError> {
        let io_error = |source| TokenFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_error)?;
        check_private(path, &file)?;
        let text = std::io::read_to_string(file).map_err(io_error)?;
        Tokens::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Tokens, TokenFileError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let file: TokenFile = toml::from_str(text).map_err(|error| TokenFileError::Syntax {
            path: path.to_path_buf(),
            line: error.span().map(|span| line_of(span.start)).unwrap_or(1),
            message: syntax_message(text, error.span(), error.message()),
        })?;
        if file.token.is_empty() {
            return Err(TokenFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        let invalid =
            |span: std::ops::Range<usize>, key, message: String| TokenFileError::Invalid {
                path: path.to_path_buf(),
                line: line_of(span.start),
                key,
                message,
            };
        let mut entries: Vec<TokenEntry> = Vec::with_capacity(file.token.len());
        for entry in file.token {
            let name = person_name(entry.name.get_ref())
                .map_err(|message| invalid(entry.name.span(), "name", message))?;
            let person = match &entry.person {
                Some(person) => Some(
                    person_name(person.get_ref())
                        .map_err(|message| invalid(person.span(), "person", message))?,
                ),
                None => None,
            };
            let name = name.as_str();
            let token = entry.token.get_ref();
            if token.len() < MIN_TOKEN_LEN || !token.chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid(
                    entry.token.span(),
                    "token",
                    format!(
                        "token of `{name}` must be at least {MIN_TOKEN_LEN} printable ASCII characters without spaces"
                    ),
                ));
            }
            if entries.iter().any(|e| e.name == name) {
                return Err(invalid(
                    entry.name.span(),
                    "name",
                    format!("`{name}` appears twice"),
                ));
            }
            if entries.iter().any(|e| e.token == *token) {
                return Err(invalid(
                    entry.token.span(),
                    "token",
                    format!("the token of `{name}` is already used by another entry"),
                ));
            }
            entries.push(TokenEntry {
                name: name.to_string(),
                role: entry.role,
                token: token.clone(),
                person,
            });
        }
        Ok(Tokens::new(entries))
    }

    /// Writes the tokens as a `[[token]]` file with mode 0600 (replacing any file there).
    pub fn write(&self, path: &Path) -> Result<(), TokenFileError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        self.write_with(path, options)
    }

    /// Writes the tokens to a new file, mode 0600: fails if anything is there already,
    /// a symlink included (`O_EXCL | O_NOFOLLOW`), so that nobody can make us write
    /// the tokens somewhere else or into a file they can read.
    pub fn write_new(&self, path: &Path) -> Result<(), TokenFileError> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        self.write_with(path, options)
    }

    /// Writes one file per identity into `dir` (which must exist and be private):
    /// `<name>.token`, mode 0600, holding just the token and a newline, so each is
    /// usable with `--token-file`; never over an existing file or through a symlink.
    /// Returns the paths written, in the order of the entries. A name that is not a
    /// plain file name (a `/`, a leading `.`) gets no file.
    pub fn write_token_files(&self, dir: &Path) -> Result<Vec<PathBuf>, TokenFileError> {
        let mut written = Vec::new();
        for entry in &self.entries {
            let name = entry.name.as_str();
            if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
                continue;
            }
            let path = dir.join(format!("{name}.token"));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.custom_flags(libc::O_NOFOLLOW).mode(0o600);
            }
            let io_error = |source| TokenFileError::Io {
                path: path.clone(),
                source,
            };
            let mut file = options.open(&path).map_err(io_error)?;
            file.write_all(format!("{}\n", entry.token).as_bytes())
                .map_err(io_error)?;
            written.push(path);
        }
        Ok(written)
    }

    fn write_with(
        &self,
        path: &Path,
        mut options: std::fs::OpenOptions,
    ) -> Result<(), TokenFileError> {
        let io_error = |source| TokenFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = toml::to_string(self).map_err(|error| {
            io_error(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_error)?;
        #[cfg(unix)]
        {
            // An existing file keeps its mode on open: tighten it before writing.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io_error)?;
        }
        file.write_all(b"# patchdeck serve tokens: keep this file private (chmod 600)\n")
            .and_then(|()| file.write_all(text.as_bytes()))
            .map_err(io_error)
    }

    /// The identity behind a bearer token. Compares the SHA-256 digest of the bearer
    /// with that of every entry, each in constant time over the 32 bytes, so timing
    /// says neither how much of a token matched nor how long a token is.
    pub fn identify(&self, bearer: &str) -> Option<Identity> {
        let presented: [u8; 32] = Sha256::digest(bearer.as_bytes()).into();
        let mut found = None;
        for entry in &self.entries {
            let known: [u8; 32] = Sha256::digest(entry.token.as_bytes()).into();
            if digests_equal(&known, &presented) && found.is_none() {
                found = Some(Identity {
                    name: entry.name.clone(),
                    role: entry.role,
                    person: entry.person().to_string(),
                });
            }
        }
        found
    }

    pub fn entries(&self) -> &[TokenEntry] {
        &self.entries
    }

    /// The token of the entry called `name` (for tests and the demo).
    pub fn token_of(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.token.as_str())
    }

    /// The first entry with exactly this role.
    pub fn first_with_role(&self, role: Role) -> Option<&TokenEntry> {
        self.entries.iter().find(|e| e.role == role)
    }
}

/// A name or person as the two-person rule compares it: trimmed, in Unicode NFC, not
/// empty, and free of characters that make two different strings look alike: control
/// and format characters (Cc, Cf: zero-width spaces and joiners, bidi controls, the
/// BOM), line and paragraph separators, spaces other than U+0020, private-use,
/// surrogate and unassigned code points, variation selectors and the other invisible
/// ones (combining grapheme joiner, Hangul fillers, braille blank). The error names the
/// character as U+XXXX and its place (1 = the first character).
pub fn person_name(raw: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    let name: String = raw.trim().nfc().collect();
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some((at, c)) = name.chars().enumerate().find(|(_, c)| !allowed_in_name(*c)) {
        return Err(format!(
            "`{}` holds U+{:04X} ({}) at character {}; names and persons may hold no control, format, bidi or invisible characters",
            name.escape_default(),
            c as u32,
            char_kind(c),
            at + 1
        ));
    }
    Ok(name)
}

fn allowed_in_name(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    let invisible = matches!(
        c,
        '\u{034f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'
            | '\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{ffa0}'
            | '\u{e0100}'..='\u{e01ef}'
    );
    let category = c.general_category();
    !invisible
        && !matches!(
            category,
            G::Control
                | G::Format
                | G::LineSeparator
                | G::ParagraphSeparator
                | G::PrivateUse
                | G::Surrogate
                | G::Unassigned
        )
        && (category != G::SpaceSeparator || c == ' ')
}

/// What kind of character a refused one is, in a few words.
fn char_kind(c: char) -> &'static str {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    match c {
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => "zero-width",
        '\u{200e}'
        | '\u{200f}'
        | '\u{061c}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => "bidi control",
        _ => match c.general_category() {
            G::Control => "control",
            G::Format => "format",
            G::SpaceSeparator | G::LineSeparator | G::ParagraphSeparator => {
                "space other than U+0020"
            }
            G::PrivateUse => "private use",
            G::Unassigned | G::Surrogate => "unassigned",
            _ => "invisible",
        },
    }
}

/// 32 random bytes from the OS-seeded CSPRNG, as 64 hex digits.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parser's message, unless the error is in a `token = ...` line: the parser
/// quotes the value it could not read ("invalid type: integer `1234...`"), and a
/// malformed token is still a secret, so then only the key is named.
fn syntax_message(text: &str, span: Option<std::ops::Range<usize>>, message: &str) -> String {
    let start = span.map_or(0, |span| span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let is_token_line = line
        .trim_start()
        .strip_prefix("token")
        .is_some_and(|rest| rest.trim_start().starts_with('='));
    if is_token_line {
        "the value of `token` is not a valid TOML string (not shown: it may be a secret)".into()
    } else {
        message.trim().to_string()
    }
}

/// Equal digests, looking at every byte whatever the first difference.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(unix)]
fn check_private(path: &Path, file: &std::fs::File) -> Result<(), TokenFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|source| TokenFileError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(TokenFileError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _file: &std::fs::File) -> Result<(), TokenFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Tokens, TokenFileError> {
        Tokens::parse(Path::new("tokens.toml"), text)
    }

    #[test]
    fn parses_entries_and_identifies_by_token() {
        let tokens = parse(
            "[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n\n\
             [[token]]\nname = \"vera\"\nrole = \"viewer\"\ntoken = \"vvvvvvvvvvvvvvvv2\"\n",
        )
        .unwrap();
        assert_eq!(
            tokens.identify("vvvvvvvvvvvvvvvv2"),
            Some(Identity::new("vera", Role::Viewer))
        );
        assert_eq!(tokens.identify("aaaaaaaaaaaaaaaa1").unwrap().name, "alice");
        assert_eq!(tokens.identify("aaaaaaaaaaaaaaaa"), None);
        assert_eq!(tokens.identify(""), None);
    }

    #[test]
    fn unknown_role_names_the_line() {
        let error =
            parse("[[token]]\nname = \"alice\"\nrole = \"admin\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n")
                .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("tokens.toml, line 3:"), "{message}");
        assert!(message.contains("admin"), "{message}");
    }

    #[test]
    fn short_or_duplicate_tokens_name_line_and_key() {
        let error = parse("[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = \"short\"\n")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "tokens.toml, line 4, key `token`: token of `alice` must be at least 16 printable ASCII characters without spaces"
        );
        let error = parse(
            "[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n\
             [[token]]\nname = \"alice\"\nrole = \"viewer\"\ntoken = \"bbbbbbbbbbbbbbbb1\"\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "tokens.toml, line 6, key `name`: `alice` appears twice"
        );
    }

    #[test]
    fn a_malformed_token_value_is_never_echoed() {
        for value in [
            "123456789012345678",
            "s3cr3t-unquoted-value",
            "\"s3cr3t-unterminated",
            "[\"s3cr3t-in-array\"]",
        ] {
            let text =
                format!("[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = {value}\n");
            let message = parse(&text).unwrap_err().to_string();
            let secret = value.trim_matches(|c| "[]\"".contains(c));
            assert!(!message.contains(secret), "{message}");
            assert!(message.contains("line 4"), "{message}");
        }
    }

    #[test]
    fn identify_compares_digests_whatever_the_length() {
        let tokens = Tokens::single("alice", Role::Approver, "aaaaaaaaaaaaaaaa1");
        assert_eq!(tokens.identify("aaaaaaaaaaaaaaaa1").unwrap().name, "alice");
        for other in [
            "",
            "a",
            "aaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaa12",
            "baaaaaaaaaaaaaaa1",
        ] {
            assert_eq!(tokens.identify(other), None, "{other:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn write_new_refuses_an_existing_file_or_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("patchdeck-write-new-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tokens = Tokens::generate();
        let path = dir.join("tokens.toml");
        tokens.write_new(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(
            tokens.write_new(&path).is_err(),
            "an existing file is never reused"
        );
        let target = dir.join("elsewhere");
        let link = dir.join("link.toml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(tokens.write_new(&link).is_err(), "never through a symlink");
        assert!(!target.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invisible_or_bidi_characters_in_names_are_refused_naming_line_and_character() {
        let error = parse(
            "[[token]]\nname = \"alice\"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n\
             [[token]]\nname = \"alice\\u200b\"\nrole = \"approver\"\ntoken = \"bbbbbbbbbbbbbbbb1\"\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "tokens.toml, line 6, key `name`: `alice\\u{200b}` holds U+200B (zero-width) at character 6; \
             names and persons may hold no control, format, bidi or invisible characters"
        );
        for (bad, code) in [
            ("\\u202Eecila", "U+202E (bidi control)"),
            ("al\\u00A0ice", "U+00A0 (space other than U+0020)"),
            ("ali\\u2060ce", "U+2060 (zero-width)"),
            ("alice\\u0007", "U+0007 (control)"),
            ("al\\u3164ice", "U+3164 (invisible)"),
        ] {
            let text = format!(
                "[[token]]\nname = \"bob\"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\nperson = \"{bad}\"\n"
            );
            let message = parse(&text).unwrap_err().to_string();
            assert!(
                message.starts_with("tokens.toml, line 5, key `person`:"),
                "{message}"
            );
            assert!(message.contains(code), "{message}");
        }
    }

    #[test]
    fn names_are_trimmed_and_nfc_and_person_defaults_to_the_name() {
        // "e" + COMBINING ACUTE is NFC "é": one name, so the second entry is a duplicate.
        let error = parse(
            "[[token]]\nname = \" rené \"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\n\
             [[token]]\nname = \"rene\\u0301\"\nrole = \"viewer\"\ntoken = \"bbbbbbbbbbbbbbbb1\"\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("`rené` appears twice"),
            "{error}"
        );
        let tokens = parse(
            "[[token]]\nname = \"alice-laptop\"\nrole = \"approver\"\ntoken = \"aaaaaaaaaaaaaaaa1\"\nperson = \"alice\"\n\
             [[token]]\nname = \"bob\"\nrole = \"approver\"\ntoken = \"bbbbbbbbbbbbbbbb1\"\n",
        )
        .unwrap();
        let alice = tokens.identify("aaaaaaaaaaaaaaaa1").unwrap();
        assert_eq!(
            (alice.name.as_str(), alice.person.as_str()),
            ("alice-laptop", "alice")
        );
        assert_eq!(tokens.identify("bbbbbbbbbbbbbbbb1").unwrap().person, "bob");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let tokens = Tokens::single("alice", Role::Approver, "secret-secret-secret");
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret-secret"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn write_then_load_round_trips_and_open_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("patchdeck-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.toml");
        let tokens = Tokens::generate();
        assert_eq!(tokens.entries().len(), 4);
        tokens.write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Tokens::load(&path).unwrap(), tokens);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let message = Tokens::load(&path).unwrap_err().to_string();
        assert!(message.contains("chmod 600"), "{message}");
        assert!(message.contains("tokens.toml"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
