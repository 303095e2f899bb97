//! The real `patchdeck serve` binary: prints its URL and the path of the generated token
//! file (never a token), serves with those tokens, stops cleanly on SIGTERM; refuses a
//! token file readable by others with exit code 2.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use patchdeck::api::tokens::Tokens;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchdeck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// The server process, killed if a failed assertion leaves it running.
struct ServeProcess(std::process::Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[tokio::test]
async fn serve_prints_url_and_token_path_but_never_a_token() {
    let runtime_dir = scratch_dir("serve-cli");
    let mut child = ServeProcess(
        Command::new(env!("CARGO_BIN_EXE_patchdeck"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--hosts",
                "50",
                "--speed",
                "0",
            ])
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut printed = Vec::new();
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let url = printed[0]
        .strip_prefix("patchdeck API v1 at ")
        .expect("first line names the URL")
        .to_string();
    let path = printed
        .iter()
        .find_map(|line| line.strip_prefix("tokens written to "))
        .and_then(|rest| rest.strip_suffix(" (mode 0600)"))
        .map(PathBuf::from)
        .expect("the token file path is printed");
    assert!(path.starts_with(&runtime_dir), "{}", path.display());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let tokens = Tokens::load(&path).unwrap();
    let everything_printed = printed.join("\n");
    for entry in tokens.entries() {
        assert!(
            !everything_printed.contains(&entry.token),
            "a token was printed"
        );
    }
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/v1/me"))
        .bearer_auth(tokens.token_of("bob").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, serde_json::json!({"name": "bob", "role": "approver"}));

    let terminated = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    std::fs::remove_dir_all(&runtime_dir).unwrap();
}

#[test]
fn serve_refuses_a_token_file_others_can_read() {
    let dir = scratch_dir("serve-open-tokens");
    let path = dir.join("tokens.toml");
    Tokens::generate().write(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_patchdeck"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(stderr.contains("tokens.toml"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
