//! How the client reaches the server, decided before anything is sent: plain `http://`
//! only to this machine (loopback) unless the operator says so (`--insecure-http`, or
//! `insecure_http = true` in the context), never a redirect, and TLS that trusts the
//! bundled roots, the system's store and, optionally, one CA file (`--ca-file`, the
//! context's `ca_file`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::error::ClientError;
use reqwest::Url;
use reqwest::tls::Certificate;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// How the client may reach the server: from the command line and the context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transport {
    /// Send over plain `http://` to a host that is not loopback (`--insecure-http`).
    pub insecure_http: bool,
    /// Trust the certificates of this PEM file too (`--ca-file`, `ca_file`).
    pub ca_file: Option<PathBuf>,
}

/// A host on this machine: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => host.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

/// Plain `http://` to a host that is not loopback: what the INSECURE badge stands for.
pub fn is_insecure_http(api_url: &str) -> bool {
    Url::parse(api_url.trim()).is_ok_and(|url| url.scheme() == "http" && !is_loopback(&url))
}

/// Whether calls to `url` may be sent: `https://` always, `http://` to loopback always,
/// `http://` elsewhere only when `insecure_http` says so. The refusal is one line
/// naming the URL and the flag.
pub fn check_plain_http(url: &Url, insecure_http: bool) -> Result<(), ClientError> {
    if url.scheme() != "http" || insecure_http || is_loopback(url) {
        return Ok(());
    }
    Err(ClientError::Config(format!(
        "refusing plain HTTP to {}: the token would cross the network readable by anyone on \
         the way; use https://, or pass --insecure-http (insecure_http = true in the context) \
         to accept that",
        url.as_str().trim_end_matches('/')
    )))
}

/// The certificates of a PEM file, or a clear error if it is missing or holds none.
pub fn read_ca_file(path: &Path) -> Result<Vec<Certificate>, ClientError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| ClientError::Config(format!("cannot read CA file {shown}: {e}")))?;
    let unparsable = |why: String| {
        ClientError::Config(format!(
            "CA file {shown} is not a PEM certificate bundle: {why}"
        ))
    };
    // Check each certificate is DER that parses as one (reqwest would only say so later).
    let mut count = 0;
    for der in CertificateDer::pem_slice_iter(&pem) {
        let der = der.map_err(|e| unparsable(format!("{e:?}")))?;
        webpki_check(&der).map_err(unparsable)?;
        count += 1;
    }
    if count == 0 {
        return Err(unparsable(
            "no -----BEGIN CERTIFICATE----- block in it".to_string(),
        ));
    }
    Certificate::from_pem_bundle(&pem).map_err(|e| unparsable(e.to_string()))
}

/// A certificate rustls can use as a trust anchor.
fn webpki_check(der: &CertificateDer<'_>) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(der.clone())
        .map_err(|e| format!("a certificate that does not parse ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn plain_http_is_refused_off_this_machine_unless_allowed() {
        let far = url("http://10.0.0.1:7070");
        let error = check_plain_http(&far, false).unwrap_err().to_string();
        assert!(error.contains("http://10.0.0.1:7070"), "{error}");
        assert!(error.contains("--insecure-http"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
        assert_eq!(check_plain_http(&far, true), Ok(()));
        for near in [
            "http://127.0.0.1:7070",
            "http://127.1.2.3",
            "http://[::1]:7070",
            "http://localhost:7070",
            "http://LOCALHOST.",
            "https://10.0.0.1",
            "https://patch.example.com",
        ] {
            assert_eq!(check_plain_http(&url(near), false), Ok(()), "{near}");
        }
        for far in [
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
            "http://patch.example.com",
            "http://0.0.0.0:7070",
        ] {
            assert!(check_plain_http(&url(far), false).is_err(), "{far}");
        }
    }

    #[test]
    fn the_insecure_badge_is_for_plain_http_off_this_machine() {
        assert!(is_insecure_http("http://10.0.0.1:7070"));
        assert!(!is_insecure_http("http://127.0.0.1:7070"));
        assert!(!is_insecure_http("https://10.0.0.1:7070"));
        assert!(!is_insecure_http("not a url"));
    }

    #[test]
    fn a_missing_or_unparsable_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("patchdeck-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let error = read_ca_file(&missing).unwrap_err().to_string();
        assert!(error.starts_with("cannot read CA file"), "{error}");
        assert!(error.contains("missing.pem"), "{error}");
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "hello\n").unwrap();
        let error = read_ca_file(&garbage).unwrap_err().to_string();
        assert!(error.contains("no -----BEGIN CERTIFICATE-----"), "{error}");
        let bad = dir.join("bad.pem");
        std::fs::write(
            &bad,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = read_ca_file(&bad).unwrap_err().to_string();
        assert!(error.contains("not a PEM certificate bundle"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
