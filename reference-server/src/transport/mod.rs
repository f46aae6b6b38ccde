//! Transport: the accept loop (`http`), TLS, the WebSocket upgrade at
//! `/app/{key}`, the HTTP API, `/metrics` and `/up` routes, and the
//! per-connection task (`ws`).

mod closing;
mod direct;
pub(crate) mod http;
#[cfg(feature = "faults")]
mod seam;
#[cfg(not(feature = "faults"))]
#[path = "seam_off.rs"]
mod seam;
pub(crate) mod tls;
mod upgrade;
mod ws;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::future::Either;
use serde::Deserialize;

use self::seam::Seam;
use self::upgrade::{Upgrade, UpgradeRejection};
use crate::protocol::close::CloseCode;
use crate::rest;
use crate::shared::Shared;

/// The whole router: WebSocket and HTTP API on one port.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/app/{key}", get(upgrade))
        .route("/metrics", get(metrics))
        .route("/up", get(up))
        .merge(rest::routes(&shared))
        .fallback(fallback)
        .with_state(shared)
}

/// Query of the WebSocket URL (spec 1.1); unknown parameters are ignored.
#[derive(Debug, Deserialize)]
struct ConnectQuery {
    protocol: Option<String>,
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    Query(query): Query<ConnectQuery>,
    RawQuery(raw): RawQuery,
    upgrade: Upgrade,
) -> Response {
    let config = ws::configure(&shared.config.transport);
    let unknown = raw
        .unwrap_or_default()
        .split('&')
        .any(|p| !p.starts_with("protocol="));
    let strict = (shared.faults.refuse_unknown_query_params() && unknown)
        .then_some(CloseCode::InvalidVersionFormat);
    let refusal = check_protocol(query.protocol.as_deref()).err().or(strict);
    let secure = upgrade.secure;
    upgrade
        // A plain closure choosing the future, not an `async` block awaiting
        // it: the block would keep its own copy of the 368-byte socket in
        // every connection's task. Refusals are rare, so they are boxed to
        // keep the task no larger than the live connection needs.
        .on_upgrade(config, move |socket| {
            let app = shared.hub.app_by_key(&key).cloned();
            match (refusal, app) {
                (None, Some(app)) if app.config.require_tls && !secure => {
                    let code = CloseCode::TlsRequired;
                    let raw = Seam::close_code(&shared.faults, code);
                    Either::Right(boxed(ws::refuse_raw(socket, raw, code.reason())))
                }
                (None, Some(app)) => Either::Left(ws::run(socket, shared, app)),
                (Some(code), _) => {
                    let raw = Seam::close_code(&shared.faults, code);
                    Either::Right(boxed(ws::refuse_raw(socket, raw, code.reason())))
                }
                (None, None) => {
                    let code = Seam::close_code(&shared.faults, CloseCode::UnknownApp);
                    let reason = format!("App key {key} does not exist");
                    Either::Right(boxed(
                        async move { ws::refuse_raw(socket, code, &reason).await },
                    ))
                }
            }
        })
        .into_response()
}

fn boxed(
    future: impl Future<Output = ()> + Send + 'static,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(future)
}

/// `GET /metrics`: the Prometheus text exposition (see [`crate::metrics`]).
async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shared.hub.metrics().encode(),
    )
        .into_response()
}

/// `GET /up`: 200 while the server accepts connections, for health checks.
async fn up() -> &'static str {
    "ok\n"
}

/// Spec 1.2 / 13.1: 4..7 behave as 7; missing behaves as 7; others refused.
fn check_protocol(protocol: Option<&str>) -> Result<(), CloseCode> {
    let Some(text) = protocol else { return Ok(()) };
    match text.parse::<u32>() {
        Ok(4..=7) => Ok(()),
        Ok(_) => Err(CloseCode::UnsupportedProtocol),
        Err(_) => Err(CloseCode::InvalidVersionFormat),
    }
}

/// Upgrades on unknown paths are accepted and closed 4005, since browsers
/// cannot see an HTTP status (spec 1.1); other requests get 404.
async fn fallback(
    State(shared): State<Arc<Shared>>,
    upgrade: Result<Upgrade, UpgradeRejection>,
) -> Response {
    let code = CloseCode::PathNotFound;
    let raw = Seam::close_code(&shared.faults, code);
    match upgrade {
        Ok(upgrade) => upgrade
            .on_upgrade(ws::configure(&shared.config.transport), move |socket| {
                ws::refuse_raw(socket, raw, code.reason())
            })
            .into_response(),
        Err(_) => (axum::http::StatusCode::NOT_FOUND, "Not found\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_follow_the_reference_choice() {
        assert_eq!(check_protocol(None), Ok(()));
        for ok in ["4", "5", "6", "7"] {
            assert_eq!(check_protocol(Some(ok)), Ok(()), "{ok}");
        }
        for unsupported in ["1", "2", "3", "8", "99"] {
            assert_eq!(
                check_protocol(Some(unsupported)),
                Err(CloseCode::UnsupportedProtocol),
                "{unsupported}"
            );
        }
        for bad in ["abc", "", "7.0", "-7"] {
            assert_eq!(
                check_protocol(Some(bad)),
                Err(CloseCode::InvalidVersionFormat),
                "{bad}"
            );
        }
    }
}
