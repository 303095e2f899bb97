//! Shared by the end-to-end and integration tests (e2e_*, actions_*, two_person): a
//! scratch directory, the real binary in a pseudo-terminal (`pty`), and a simulated
//! fleet served over 127.0.0.1 (`fleet`).
//! Each test file uses a part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod fleet;
pub mod pty;

use std::path::{Path, PathBuf};

/// A private directory under the system's temporary directory, removed when dropped.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "patchdeck-{label}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).expect("create a scratch directory");
        Scratch { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `text` to `name` in this directory with mode 0600; returns the path.
    pub fn write_private(&self, name: &str, text: &str) -> PathBuf {
        use std::io::Write;
        let path = self.path.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).expect("create a private file");
        file.write_all(text.as_bytes())
            .expect("write a private file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
