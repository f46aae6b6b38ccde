//! The WebSocket upgrade (RFC 6455 4.2.1, 4.2.2) as an axum extractor.
//!
//! axum has one, but its `WebSocket` hides the raw stream and ends after the
//! first read error. The connection task needs both: after a protocol error
//! it still sends the RFC 6455 close code, then drains what the client is
//! still sending so the close frame is not lost to a TCP reset (RFC 6455
//! 7.1.1). So the handshake is checked here and the upgraded connection is
//! handed over as a plain [`tokio_tungstenite::WebSocketStream`] over
//! [`Io`] (plain TCP taken back out of hyper, so the hub can write to it).

use std::future::Future;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::{Role, WebSocketConfig};

use super::direct::Io;
use super::http::Secure;

/// An upgraded client connection.
pub(crate) type Socket = WebSocketStream<Io>;

/// A valid upgrade request, not yet answered.
#[derive(Debug)]
pub(crate) struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
    /// Whether the connection is TLS (`wss://`).
    pub(crate) secure: bool,
}

/// Why a request is not a WebSocket upgrade (RFC 6455 4.2.1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpgradeRejection {
    /// Upgrades are GET requests.
    #[error("a WebSocket upgrade must be a GET request")]
    NotGet,
    /// `Connection` does not list `upgrade`.
    #[error("Connection header did not include 'upgrade'")]
    NoConnectionUpgrade,
    /// `Upgrade` is not `websocket`.
    #[error("`Upgrade` header did not include 'websocket'")]
    NoUpgradeWebsocket,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("`Sec-WebSocket-Version` header did not include '13'")]
    WrongVersion,
    /// No `Sec-WebSocket-Key`.
    #[error("`Sec-WebSocket-Key` header missing")]
    NoKey,
    /// The connection cannot be taken over (not HTTP/1.1).
    #[error("WebSocket request couldn't be upgraded since no upgrade state was present")]
    NotUpgradable,
}

impl UpgradeRejection {
    fn status(&self) -> StatusCode {
        match self {
            UpgradeRejection::NotGet => StatusCode::METHOD_NOT_ALLOWED,
            UpgradeRejection::NoConnectionUpgrade
            | UpgradeRejection::NoUpgradeWebsocket
            | UpgradeRejection::WrongVersion
            | UpgradeRejection::NoKey => StatusCode::BAD_REQUEST,
            UpgradeRejection::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
        }
    }
}

impl IntoResponse for UpgradeRejection {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}

fn header_is(headers: &HeaderMap, name: header::HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

fn header_lists(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = UpgradeRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(UpgradeRejection::NotGet);
        }
        if !header_lists(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(UpgradeRejection::NoConnectionUpgrade);
        }
        if !header_is(&parts.headers, header::UPGRADE, "websocket") {
            return Err(UpgradeRejection::NoUpgradeWebsocket);
        }
        if !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(UpgradeRejection::WrongVersion);
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .ok_or(UpgradeRejection::NoKey)?
            .clone();
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(UpgradeRejection::NotUpgradable)?;
        let secure = parts.extensions.get::<Secure>().is_some_and(|s| s.0);
        Ok(Upgrade {
            key,
            on_upgrade,
            secure,
        })
    }
}

impl Upgrade {
    /// Answers 101 and runs `callback` on the upgraded connection in its own task.
    pub(crate) fn on_upgrade<C, F>(self, config: WebSocketConfig, callback: C) -> Response
    where
        C: FnOnce(Socket) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            // A client that goes away mid-handshake leaves nothing to serve.
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let socket =
                WebSocketStream::from_raw_socket(Io::new(upgraded), Role::Server, Some(config))
                    .await;
            callback(socket).await;
        });
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        response
    }
}
