//! TLS on the listener (issue 9 item 11): `wss://` and `https://` on one
//! port from PEM files, plain connections still served on it, and an app
//! that requires TLS closing plain ones with 4000 (spec 1.5).

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use reference_server::TlsSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types};
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{TestServer, WAIT, config_with, data_of, start_server};

/// A self-signed certificate for localhost written as PEM files, and a
/// client configuration that trusts it.
struct Pki {
    settings: TlsSettings,
    client: Arc<rustls::ClientConfig>,
}

fn pki() -> Pki {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "tls-{:016x}",
        std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), 0u8)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("cert written");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("key written");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(pki_types::CertificateDer::from(cert.cert.der().to_vec()))
        .expect("the certificate is a valid root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pki {
        settings: TlsSettings::new(cert_path, key_path),
        client: Arc::new(client),
    }
}

async fn tls_stream(server: &TestServer, pki: &Pki) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr()).await.expect("connect");
    let name = pki_types::ServerName::try_from("localhost").expect("a DNS name");
    tokio::time::timeout(
        WAIT,
        TlsConnector::from(pki.client.clone()).connect(name, tcp),
    )
    .await
    .expect("handshake within the deadline")
    .expect("the server's certificate is trusted")
}

/// The first frame over `wss://`, as JSON.
async fn first_frame_over_wss(server: &TestServer, pki: &Pki) -> serde_json::Value {
    let stream = tls_stream(server, pki).await;
    let url = format!(
        "wss://localhost:{}/app/app-key?protocol=7",
        server.addr().port()
    );
    let (mut ws, _) = client_async(url, stream).await.expect("upgrade over TLS");
    match tokio::time::timeout(WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn https_and_wss_are_served_on_one_port_and_plain_still_works() {
    let pki = pki();
    let mut config = config_with(|_| {});
    config.tls = Some(pki.settings.clone());
    let server = start_server(config).await;
    let mut https = tls_stream(&server, &pki).await;
    https
        .write_all(b"GET /up HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request written");
    let mut reply = String::new();
    tokio::time::timeout(WAIT, https.read_to_string(&mut reply))
        .await
        .expect("reply within the deadline")
        .expect("reply read");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let hello = first_frame_over_wss(&server, &pki).await;
    assert_eq!(hello["event"], "pusher:connection_established");
    // The same port still speaks plain ws:// to apps that allow it.
    server.connect().await;
}

#[tokio::test]
async fn an_app_that_requires_tls_closes_plain_connections_with_4000() {
    let pki = pki();
    let mut config = config_with(|app| app.require_tls = true);
    config.tls = Some(pki.settings.clone());
    let server = start_server(config).await;
    let mut plain = server.open("/app/app-key?protocol=7").await;
    let error = data_of(&plain.expect_next("pusher:error").await);
    assert_eq!(error["code"], 4000, "{error}");
    let (code, _) = plain.expect_close().await;
    assert_eq!(code, 4000);
    let hello = first_frame_over_wss(&server, &pki).await;
    assert_eq!(hello["event"], "pusher:connection_established");
}

#[test]
fn a_require_tls_app_without_tls_is_a_config_error() {
    let err = reference_server::Config::from_toml_str(
        "[[apps]]\nid='1'\nkey='k'\nsecret='s'\nrequire_tls=true\n",
    )
    .expect_err("require_tls needs [tls]");
    assert!(err.to_string().contains("apps[0].require_tls"), "{err}");
}
