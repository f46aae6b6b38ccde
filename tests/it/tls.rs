//! TLS through rustls (issue 3): catalogue cases over `wss://` and `https://`
//! to the bundled server serving TLS itself (`Config::tls`), with a
//! certificate that a CA made at test time signs. Trusting that CA they
//! pass; without it they are harness errors, never passes.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use pushcheck::bundled::{self, Bundled};
use pushcheck::cli::{Cli, run_cli};
use pushcheck::client::{TlsTrust, WebhookSink};
use pushcheck::conformance::{CaseResult, Env, RunOptions, Verdict, registry, run, select};
use pushcheck::target::Target;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value;

/// The slice of the catalogue that crosses both transports: every WebSocket
/// connection case (including the close-code and HTTP-refusal ones) and
/// signed REST requests.
const SLICE: [&str; 3] = [
    "protocol/connection/",
    "rest-api/auth/valid",
    "rest-api/events/single",
];

/// Slow: it needs the short-timeout server, which this test does not serve over TLS.
const EXCLUDED: &str = "protocol/connection/activity-timeout";

/// A CA, and a leaf for localhost and 127.0.0.1 that the CA signs, as PEM
/// (webpki refuses a CA certificate used as the server's own, so the two
/// are separate).
struct Pki {
    ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "pushcheck test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("the CA signs itself");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("a leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &issuer)
        .expect("the CA signs the leaf");
    Pki {
        ca_pem: ca_cert.pem(),
        leaf_pem: leaf.pem(),
        leaf_key_pem: leaf_key.serialize_pem(),
    }
}

/// The bundled servers, the main one serving TLS, and the target describing
/// it over `wss://` and `https://` (the bundled profile).
struct Setup {
    target: Target,
    sink: Arc<WebhookSink>,
    ca_pem: String,
    _bundled: Bundled,
}

async fn setup() -> Setup {
    let sink = Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid addr"))
            .await
            .expect("sink binds"),
    );
    let pki = pki();
    let (cert, key) = (scratch("leaf.pem"), scratch("leaf.key"));
    std::fs::write(&cert, &pki.leaf_pem).expect("leaf written");
    std::fs::write(&key, &pki.leaf_key_pem).expect("key written");
    let mut main = bundled::main_config(sink.local_addr());
    main.tls = Some(reference_server::TlsSettings::new(cert, key));
    let short = bundled::short_config(sink.local_addr());
    let b = bundled::start_with(main, short, sink.local_addr())
        .await
        .expect("bundled servers start");
    let port = b.main.local_addr().port();
    let url = format!("wss://127.0.0.1:{port}");
    let target = Target::new(
        "tls",
        &url,
        None,
        b.target.credentials.clone(),
        b.target.profile.clone(),
    )
    .expect("a wss:// url is valid");
    assert_eq!(target.rest_base, format!("https://127.0.0.1:{port}"));
    Setup {
        target,
        sink,
        ca_pem: pki.ca_pem,
        _bundled: b,
    }
}

async fn run_slice(setup: &Setup, tls: TlsTrust) -> Vec<CaseResult> {
    let mut target = setup.target.clone();
    target.tls = tls;
    let env = Arc::new(Env {
        target,
        sink: Some(setup.sink.clone()),
        slow: false,
        // A guard, not a wait: socket-id-format opens 200 connections at
        // once, and 400 handshakes of a debug build take over a second on
        // two cores. A refused handshake fails at once whatever the guard.
        timeout: Duration::from_secs(10),
    });
    let cases = registry();
    let prefixes: Vec<String> = SLICE.iter().map(|s| (*s).to_owned()).collect();
    let picked = select(&cases, &prefixes, &[EXCLUDED.to_owned()]);
    let results = run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    assert!(results.len() >= 10, "the slice is {} cases", results.len());
    results
}

fn describe(r: &CaseResult) -> String {
    format!(
        "{} {:?} expected={:?} actual={:?} message={:?}",
        r.id, r.verdict, r.expected, r.actual, r.message
    )
}

/// A fresh path under Cargo's per-test-target scratch folder.
fn scratch(name: &str) -> std::path::PathBuf {
    let unique = std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), name);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{unique:016x}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_and_rest_cases_pass_over_wss_and_https_trusting_a_given_ca() {
    let setup = setup().await;
    let tls = TlsTrust::with_ca_pem(setup.ca_pem.as_bytes(), "test CA").expect("the CA loads");
    let results = run_slice(&setup, tls).await;
    let not_passed: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(describe)
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_harness_error_not_a_pass_or_a_fail() {
    let setup = setup().await;
    let results = run_slice(&setup, TlsTrust::default()).await;
    for r in &results {
        assert_eq!(r.verdict, Verdict::Error, "{}", describe(r));
        let message = r.message.as_deref().unwrap_or("");
        assert!(
            message.contains("certificate"),
            "the chain names the certificate: {}",
            describe(r)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conform_with_ca_cert_passes_a_wss_target_and_exits_zero() {
    let setup = setup().await;
    let ca = scratch("ca.pem");
    std::fs::write(&ca, &setup.ca_pem).expect("CA written");
    let json = scratch("report.json");
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let cli = Cli::try_parse_from([
        "pushcheck",
        "conform",
        "rest-api/events/single",
        "protocol/connection/established-first",
        "--target",
        &setup.target.ws_base,
        "--ca-cert",
        &path(&ca),
        "--app-id",
        "app-id",
        "--key",
        "app-key",
        "--secret",
        "app-secret",
        "--json",
        &path(&json),
    ])
    .expect("the flags parse");
    assert_eq!(run_cli(cli).await.expect("conform runs").code(), 0);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written"))
            .expect("report is JSON");
    let verdicts: Vec<(&str, &str)> = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or(""),
                c["verdict"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("protocol/connection/established-first", "pass"),
            ("rest-api/events/single", "pass"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conform_refuses_a_ca_cert_that_holds_no_certificate() {
    let empty = scratch("empty.pem");
    std::fs::write(&empty, "no pem here\n").expect("file written");
    let cli = Cli::try_parse_from([
        "pushcheck",
        "conform",
        "--target",
        "wss://127.0.0.1:1",
        "--ca-cert",
        &empty.to_string_lossy(),
    ])
    .expect("the flags parse");
    let err = run_cli(cli).await.expect_err("a usage error (exit 2)");
    assert!(err.to_string().contains("no certificate"), "{err}");
}
