//! The preflight every subcommand runs before any traffic: a WebSocket
//! handshake to `pusher:connection_established` (spec 2.2), then one signed
//! `GET /apps/{id}/channels` (spec 8.5). A target that fails it gets a
//! one-line diagnosis and no verdict: nothing was tested.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Target;
use crate::client::{ClientError, Incoming, ProtocolClient, RestClient, RestError};

/// How long the whole preflight may take per step.
pub const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(5);

/// What is wrong with a target.
#[derive(Debug, thiserror::Error)]
pub enum Diagnosis {
    /// Nothing listens at the address.
    #[error("unreachable: connection refused")]
    Refused,
    /// The handshake or the first frame did not come in time.
    #[error("unreachable: no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The connection failed otherwise (DNS, TLS, reset).
    #[error("unreachable")]
    Unreachable(#[source] ClientError),
    /// The upgrade was answered with an HTTP status.
    #[error("not a Pusher endpoint: the WebSocket upgrade was answered with HTTP {0}")]
    UpgradeRefused(u16),
    /// The first frame was not `pusher:connection_established`.
    #[error("not a Pusher endpoint: the first frame was {0}, not pusher:connection_established")]
    NotPusher(String),
    /// The server does not know the app key (spec 2.3: 4001).
    #[error("unknown app key {key:?}: the server answered {code} {reason}")]
    UnknownKey {
        /// Key tried.
        key: String,
        /// Error or close code.
        code: u16,
        /// The server's message.
        reason: String,
    },
    /// The server refused the connection with another code.
    #[error("the server refused the connection: {code} {reason}")]
    ConnectionRefused {
        /// Error or close code.
        code: u16,
        /// The server's message.
        reason: String,
    },
    /// The HTTP API could not be reached.
    #[error("the HTTP API is unreachable")]
    RestUnreachable(#[source] RestError),
    /// The signature was refused: wrong key or secret (spec 8.1).
    #[error("credentials rejected (app id {app_id:?}, key {key:?}): HTTP {status} {body}")]
    CredentialsRejected {
        /// App id used.
        app_id: String,
        /// Key used.
        key: String,
        /// 401 or 403.
        status: u16,
        /// The response body.
        body: String,
    },
    /// No app with this id (spec 8.1: 404).
    #[error("app id {app_id:?} not found: HTTP 404 {body}")]
    AppNotFound {
        /// App id used.
        app_id: String,
        /// The response body.
        body: String,
    },
    /// Any other answer to the channel list.
    #[error("GET /apps/{app_id}/channels answered HTTP {status} {body}")]
    RestStatus {
        /// App id used.
        app_id: String,
        /// Status.
        status: u16,
        /// The response body.
        body: String,
    },
}

/// A target that failed its preflight (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("preflight of target {name} ({ws}) failed")]
pub struct PreflightError {
    /// Target name.
    pub name: String,
    /// WebSocket base.
    pub ws: String,
    /// What is wrong.
    #[source]
    pub diagnosis: Diagnosis,
}

fn io_kind(e: &ClientError) -> Option<std::io::ErrorKind> {
    let ClientError::Connect { source, .. } = e else {
        return None;
    };
    match &**source {
        tokio_tungstenite::tungstenite::Error::Io(io) => Some(io.kind()),
        _ => None,
    }
}

async fn websocket(target: &Target, timeout: Duration) -> Result<(), Diagnosis> {
    let creds = Arc::new(target.credentials.clone());
    let url = target.ws_url(&creds.key, "client=pushcheck-preflight");
    let mut client = match ProtocolClient::open_with_tls(&url, creds, timeout, &target.tls).await {
        Ok(Ok(c)) => c,
        Ok(Err(status)) => return Err(Diagnosis::UpgradeRefused(status)),
        Err(e) => {
            return Err(match io_kind(&e) {
                Some(std::io::ErrorKind::ConnectionRefused) => Diagnosis::Refused,
                Some(std::io::ErrorKind::TimedOut) => Diagnosis::Timeout(timeout),
                _ => Diagnosis::Unreachable(e),
            });
        }
    };
    let key = target.credentials.key.clone();
    let refused = |code: u16, reason: String| match code {
        4001 => Diagnosis::UnknownKey {
            key: key.clone(),
            code,
            reason,
        },
        _ => Diagnosis::ConnectionRefused { code, reason },
    };
    let deadline = Instant::now() + timeout;
    let result = loop {
        match client.recv_until(deadline).await {
            None => break Err(Diagnosis::Timeout(timeout)),
            Some(Incoming::Ping | Incoming::Pong) => {}
            Some(Incoming::Text(e)) if e.event() == "pusher:connection_established" => break Ok(()),
            Some(Incoming::Text(e)) if e.event() == "pusher:error" => {
                let data = e.data_decoded().unwrap_or_default();
                let code = data["code"].as_u64().and_then(|c| u16::try_from(c).ok());
                let reason = data["message"].as_str().unwrap_or_default().to_owned();
                break Err(refused(code.unwrap_or(0), reason));
            }
            Some(Incoming::Closed(Some(code), reason)) => break Err(refused(code, reason)),
            Some(other) => break Err(Diagnosis::NotPusher(other.describe())),
        }
    };
    client.close().await;
    result
}

async fn rest(target: &Target, timeout: Duration) -> Result<(), Diagnosis> {
    let creds = &target.credentials;
    let client = RestClient::with_tls(&target.rest_base, creds.clone(), timeout, &target.tls);
    let resp = client
        .send(&client.request("GET", "/channels"))
        .await
        .map_err(Diagnosis::RestUnreachable)?;
    let body: String = resp.body.trim().chars().take(200).collect();
    let app_id = creds.app_id.clone();
    match resp.status {
        200..=299 => Ok(()),
        401 | 403 => Err(Diagnosis::CredentialsRejected {
            app_id,
            key: creds.key.clone(),
            status: resp.status,
            body,
        }),
        404 => Err(Diagnosis::AppNotFound { app_id, body }),
        status => Err(Diagnosis::RestStatus {
            app_id,
            status,
            body,
        }),
    }
}

/// Proves `target` is a Pusher endpoint that accepts the credentials.
pub async fn preflight(target: &Target, timeout: Duration) -> Result<(), PreflightError> {
    let checked = match websocket(target, timeout).await {
        Ok(()) => rest(target, timeout).await,
        Err(d) => Err(d),
    };
    checked.map_err(|diagnosis| PreflightError {
        name: target.name.clone(),
        ws: target.ws_base.clone(),
        diagnosis,
    })
}
