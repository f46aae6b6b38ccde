//! Channel authorization for legitimate simulated clients: signed in-process,
//! or fetched from an HTTP auth endpoint the harness serves itself, the way a
//! Pusher app's `/pusher/auth` works (spec 4.3: form-encoded `socket_id` and
//! `channel_name`; JSON `{auth, channel_data}` or 403), so that the round trip
//! is measured like any other stage.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

use super::conn::micros;
use crate::metrics::{ErrorKind, Metric, Worker};
use crate::signing::channel_auth;
use crate::target::Credentials;

/// Concurrent requests to the auth endpoint (bounds its sockets).
const ENDPOINT_CONCURRENCY: usize = 64;

/// An authorization for one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `auth` value.
    pub(crate) auth: String,
    /// `channel_data`, for presence.
    pub(crate) channel_data: Option<String>,
}

/// The presence `channel_data` of user `user`.
fn member(user: &str) -> String {
    json!({"user_id": user, "user_info": {}}).to_string()
}

/// Signs a grant for `channel` (public channels get an empty auth).
fn grant(creds: &Credentials, socket_id: &str, channel: &str, user: &str) -> Grant {
    if !(channel.starts_with("private-") || channel.starts_with("presence-")) {
        return Grant {
            auth: String::new(),
            channel_data: None,
        };
    }
    let data = channel.starts_with("presence-").then(|| member(user));
    Grant {
        auth: channel_auth(
            &creds.key,
            &creds.secret,
            socket_id,
            channel,
            data.as_deref(),
        ),
        channel_data: data,
    }
}

/// How legitimate clients get their grants.
#[derive(Debug)]
pub(crate) enum Authorizer {
    /// Signed in-process.
    Local(Credentials),
    /// Through the harness's auth endpoint.
    Endpoint(EndpointClient),
}

/// A client of the harness's auth endpoint.
#[derive(Debug)]
pub(crate) struct EndpointClient {
    http: reqwest::Client,
    url: String,
    permits: Semaphore,
    _server: AuthEndpoint,
}

impl Authorizer {
    /// Starts the endpoint on 127.0.0.1:0 when `endpoint` is set.
    pub(crate) async fn start(creds: Credentials, endpoint: bool) -> std::io::Result<Authorizer> {
        if !endpoint {
            return Ok(Authorizer::Local(creds));
        }
        let server = AuthEndpoint::start(creds).await?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(ENDPOINT_CONCURRENCY)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Ok(Authorizer::Endpoint(EndpointClient {
            http,
            url: format!("http://{}/pusher/auth", server.addr),
            permits: Semaphore::new(ENDPOINT_CONCURRENCY),
            _server: server,
        }))
    }

    /// A grant for `channel` on `socket_id` as member `user`; endpoint round
    /// trips are recorded under [`Metric::Auth`].
    pub(crate) async fn authorize(
        &self,
        socket_id: &str,
        channel: &str,
        user: &str,
        w: &Worker,
    ) -> Result<Grant, ErrorKind> {
        let client = match self {
            Authorizer::Local(creds) => return Ok(grant(creds, socket_id, channel, user)),
            Authorizer::Endpoint(c) => c,
        };
        if !(channel.starts_with("private-") || channel.starts_with("presence-")) {
            return Ok(Grant {
                auth: String::new(),
                channel_data: None,
            });
        }
        let _permit = client
            .permits
            .acquire()
            .await
            .map_err(|_| ErrorKind::AuthEndpoint)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("socket_id", socket_id)
            .append_pair("channel_name", channel)
            .append_pair("user_id", user)
            .finish();
        let start = Instant::now();
        let resp = client
            .http
            .post(&client.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|_| ErrorKind::AuthEndpoint)?;
        if !resp.status().is_success() {
            return Err(ErrorKind::AuthEndpoint);
        }
        let value: serde_json::Value = resp.json().await.map_err(|_| ErrorKind::AuthEndpoint)?;
        w.record(Metric::Auth, micros(start.elapsed()));
        let auth = value["auth"]
            .as_str()
            .ok_or(ErrorKind::AuthEndpoint)?
            .to_owned();
        let channel_data = value["channel_data"].as_str().map(str::to_owned);
        Ok(Grant { auth, channel_data })
    }
}

/// The harness's `/pusher/auth` endpoint, serving until dropped.
#[derive(Debug)]
pub struct AuthEndpoint {
    /// Bound address.
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl AuthEndpoint {
    /// Serves `POST /pusher/auth` on 127.0.0.1:0, signing with `creds`.
    pub async fn start(creds: Credentials) -> std::io::Result<AuthEndpoint> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/pusher/auth", post(handle))
            .with_state(Arc::new(creds));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // A serve error ends the endpoint; clients then count auth_endpoint errors.
            let _ignored = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(AuthEndpoint { addr, _stop: stop })
    }
}

async fn handle(State(creds): State<Arc<Credentials>>, body: Bytes) -> Response {
    let (mut socket_id, mut channel, mut user) = (None, None, None);
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "socket_id" => socket_id = Some(v.into_owned()),
            "channel_name" => channel = Some(v.into_owned()),
            "user_id" => user = Some(v.into_owned()),
            _ => {}
        }
    }
    let valid_socket = |s: &str| {
        s.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        })
    };
    let (Some(socket_id), Some(channel)) = (socket_id, channel) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let private = channel.starts_with("private-") || channel.starts_with("presence-");
    if !valid_socket(&socket_id) || !private {
        return StatusCode::FORBIDDEN.into_response();
    }
    let user = user.unwrap_or_else(|| format!("u-{socket_id}"));
    let g = grant(&creds, &socket_id, &channel, &user);
    let mut body = json!({"auth": g.auth});
    if let Some(cd) = g.channel_data {
        body["channel_data"] = json!(cd);
    }
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_channels_get_an_empty_grant_and_presence_gets_member_data() {
        let c = Credentials::new("a", "k", "s");
        assert_eq!(grant(&c, "1.1", "room", "u").auth, "");
        let g = grant(&c, "1.1", "presence-room", "u7");
        assert!(g.auth.starts_with("k:"));
        assert!(g.channel_data.expect("presence").contains("\"u7\""));
    }
}
