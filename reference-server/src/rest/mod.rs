//! The signed HTTP API at `/apps/{id}/...` (spec 8): routes, authentication, error mapping.
//!
//! Every handler goes through [`authorize`] first. Errors are plain-text
//! bodies (spec 8.1) with the status codes of spec 8.10.

mod events;
mod queries;
mod signature;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

use crate::hub::AppState;
use crate::shared::Shared;

/// Why an HTTP API request failed; each maps to one status (spec 8.10).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestError {
    /// 400: the request is malformed or breaks a limit.
    #[error("{0}")]
    BadRequest(String),
    /// 401: authentication failed.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the app is disabled.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such app.
    #[error("{0}")]
    NotFound(String),
    /// 413: event data over the size limit.
    #[error("{0}")]
    TooLarge(String),
    /// 408: the body did not arrive in time.
    #[error("Request body not received within {} ms", .0.as_millis())]
    BodyTimeout(Duration),
}

impl RestError {
    fn status(&self) -> StatusCode {
        match self {
            RestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            RestError::Forbidden(_) => StatusCode::FORBIDDEN,
            RestError::NotFound(_) => StatusCode::NOT_FOUND,
            RestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RestError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (self.status(), format!("{self}\n")).into_response()
    }
}

/// Result of a handler: a JSON body or a [`RestError`].
pub(crate) type RestResult = Result<axum::Json<serde_json::Value>, RestError>;

/// An authenticated request, as handlers see it.
#[derive(Debug)]
pub(crate) struct Authorized {
    pub(crate) app: Arc<AppState>,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

impl Authorized {
    /// A query parameter by (case-insensitive) name.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The routes of spec 8.2 to 8.7, each response counted by status.
pub(crate) fn routes(shared: &Arc<Shared>) -> Router<Arc<Shared>> {
    let max_body_bytes = shared.config.rest.max_body_bytes;
    Router::new()
        .route("/apps/{app_id}/events", post(events::trigger))
        .route("/apps/{app_id}/batch_events", post(events::batch))
        .route("/apps/{app_id}/channels", get(queries::channels))
        .route("/apps/{app_id}/channels/{channel}", get(queries::channel))
        .route(
            "/apps/{app_id}/channels/{channel}/users",
            get(queries::users),
        )
        .route(
            "/apps/{app_id}/users/{user_id}/terminate_connections",
            post(queries::terminate),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            count_status,
        ))
}

async fn count_status(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    shared
        .hub
        .metrics()
        .http_response(response.status().as_u16());
    response
}

/// Finds the app and checks the request signature (spec 5.5).
fn authorize(
    shared: &Shared,
    app_id: &str,
    method: &Method,
    uri: &Uri,
    body: Bytes,
) -> Result<Authorized, RestError> {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let by_key = params.iter().find(|(k, _)| k == "auth_key");
    let by_key = by_key.filter(|_| shared.faults.app_from_auth_key());
    let app = match by_key {
        Some((_, key)) => shared.hub.app_by_key(key),
        None => shared.hub.app_by_id(app_id),
    }
    .ok_or_else(|| RestError::NotFound(format!("Unknown app {app_id}")))?;
    let request = signature::SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        params: &params,
        body: &body,
    };
    let window = Duration::from_secs(shared.config.rest.timestamp_window_secs);
    signature::verify(
        &request,
        &app.config,
        &shared.faults,
        window,
        SystemTime::now(),
    )?;
    if !app.config.enabled {
        return Err(RestError::Forbidden(format!("App {app_id} is disabled")));
    }
    Ok(Authorized {
        app: app.clone(),
        params,
        body,
    })
}

/// Every handler takes an [`Authorized`]: the app from `{app_id}` in the
/// path, with the request signature already checked.
impl FromRequest<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        shared: &Arc<Shared>,
    ) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let path = Path::<HashMap<String, String>>::from_request_parts(&mut parts, shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let app_id = path.get("app_id").map_or("", String::as_str);
        let (method, uri) = (parts.method.clone(), parts.uri.clone());
        let request = axum::extract::Request::from_parts(parts, body);
        // A client that sends half a body must not hold the connection.
        let limit = Duration::from_millis(shared.config.transport.body_timeout_ms);
        let body = tokio::time::timeout(limit, Bytes::from_request(request, shared))
            .await
            .map_err(|_| RestError::BodyTimeout(limit).into_response())?
            .map_err(IntoResponse::into_response)?;
        authorize(shared, app_id, &method, &uri, body).map_err(IntoResponse::into_response)
    }
}

/// Parses `info=a,b` into its attributes.
pub(crate) fn info_attributes(info: Option<&str>) -> Vec<&str> {
    info.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect()
    })
    .unwrap_or_default()
}
