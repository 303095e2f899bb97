//! Transport through the real binaries: `serve --tls-cert/--tls-key` answering a client
//! that trusts the CA file (and refusing one that does not), the generated token file
//! removed when serve stops, and the console refusing plain HTTP off this machine.

mod e2e_support;
mod tls_support;

use patchdeck::api::client::{Client, ClientError, Transport};
use patchdeck::api::tokens::Tokens;

use e2e_support::serve::Served;
use e2e_support::{Scratch, run_to_end};
use tls_support::Pki;

#[test]
fn serve_over_tls_answers_a_client_that_trusts_its_ca_file() {
    let pki = Pki::new();
    let cert = pki.cert.to_str().expect("a UTF-8 path");
    let key = pki.key.to_str().expect("a UTF-8 path");
    let mut served = Served::start(&["--hosts", "50", "--tls-cert", cert, "--tls-key", key]);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    let tokens = Tokens::load(&served.tokens_file).expect("the generated tokens");
    let alice = tokens.token_of("alice").expect("alice").to_string();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let trusting = Transport {
        ca_file: Some(pki.ca.clone()),
        ..Transport::default()
    };
    let me = runtime.block_on(async {
        Client::with_transport(&served.url, Some(alice.clone()), &trusting)
            .expect("a client")
            .me()
            .await
    });
    assert_eq!(me.expect("an answer over TLS").name, "alice");
    let refused = runtime.block_on(async {
        Client::new(&served.url, Some(alice))
            .expect("a client")
            .with_sleeper(std::sync::Arc::new(|_| Box::pin(async {})))
            .me()
            .await
    });
    assert!(
        matches!(&refused, Err(ClientError::Network { reason, .. }) if reason.to_lowercase().contains("certificate")),
        "{refused:?}"
    );
    assert!(served.stop().success());
}

#[test]
fn the_generated_token_file_is_private_and_removed_when_serve_stops() {
    let mut served = Served::start(&["--hosts", "50"]);
    let run_dir = served.home.xdg("XDG_RUNTIME_DIR");
    assert!(
        served.tokens_file.starts_with(&run_dir),
        "{} is not in the runtime dir",
        served.tokens_file.display()
    );
    assert!(served.tokens_file.exists());
    assert!(served.stop().success());
    assert!(
        !served.tokens_file.exists(),
        "{} is left behind",
        served.tokens_file.display()
    );
}

#[test]
fn the_console_refuses_plain_http_off_this_machine_in_one_line() {
    let home = Scratch::new("transport");
    let output = run_to_end(
        home.patchdeck().args(["--api", "http://10.0.0.1:7070"]),
        "the console",
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("http://10.0.0.1:7070"), "{stderr}");
    assert!(lines[0].contains("--insecure-http"), "{stderr}");
}
