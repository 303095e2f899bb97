//! The tokens `serve` generates when it is given none: one file of them all, and one
//! `<name>.token` file per identity beside it for `--token-file`, private, removed when
//! serve stops.

use std::path::{Path, PathBuf};

use color_eyre::eyre::WrapErr;

use crate::api::tokens::Tokens;

/// The file of generated tokens and the directory of one token file per identity
/// (`<name>.token`, for `--token-file`); all removed when dropped (serve stopping).
pub(super) struct GeneratedTokens {
    pub(super) path: PathBuf,
    pub(super) token_dir: PathBuf,
    pub(super) token_files: Vec<PathBuf>,
}

impl GeneratedTokens {
    /// Writes the tokens to a new file (never an existing one, never through a
    /// symlink, mode 0600) in the runtime dir if there is one (it is private), else the
    /// local data dir, one file per port; without either, under a random name in the
    /// temporary dir.
    pub(super) fn write(tokens: &Tokens, port: u16) -> color_eyre::Result<GeneratedTokens> {
        let path = match directories::ProjectDirs::from("", "", "patchdeck") {
            Some(dirs) => {
                let dir = dirs.runtime_dir().unwrap_or_else(|| dirs.data_local_dir());
                private_dir(dir)?;
                let path = dir.join(format!("serve-{port}-tokens.toml"));
                // A file left by a serve that was killed: the dir is ours and private.
                if std::fs::symlink_metadata(&path).is_ok() {
                    std::fs::remove_file(&path)
                        .wrap_err_with(|| format!("cannot replace {}", path.display()))?;
                }
                path
            }
            None => std::env::temp_dir().join(format!(
                "patchdeck-serve-{port}-{}-tokens.toml",
                uuid::Uuid::new_v4().simple()
            )),
        };
        tokens.write_new(&path)?;
        // Beside it, `serve-PORT-tokens/`: private, fresh (a dir left by a serve that
        // was killed is replaced), one `<name>.token` per identity.
        let token_dir = path.with_extension("");
        let mut generated = GeneratedTokens {
            path,
            token_dir: token_dir.clone(),
            token_files: Vec::new(),
        };
        match std::fs::symlink_metadata(&token_dir) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&token_dir),
            Ok(_) => std::fs::remove_file(&token_dir),
            Err(_) => Ok(()),
        }
        .wrap_err_with(|| format!("cannot replace {}", token_dir.display()))?;
        private_dir(&token_dir)?;
        generated.token_files = tokens.write_token_files(&token_dir)?;
        Ok(generated)
    }
}

impl Drop for GeneratedTokens {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        for file in &self.token_files {
            let _ = std::fs::remove_file(file);
        }
        let _ = std::fs::remove_dir(&self.token_dir);
    }
}

fn private_dir(dir: &Path) -> color_eyre::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .wrap_err_with(|| format!("cannot create {}", dir.display()))
}
