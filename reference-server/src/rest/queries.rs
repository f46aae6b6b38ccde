//! Channel queries and user termination (spec 8.4 to 8.7).

use std::time::Instant;

use axum::Json;
use axum::extract::Path;
use serde_json::{Map, Value, json};

use super::{Authorized, RestError, RestResult, info_attributes};
use crate::protocol::channel::{Access, ChannelKind};

/// `GET /apps/{id}/channels` (spec 8.4).
pub(crate) async fn channels(request: Authorized) -> RestResult {
    let prefix = request.param("filter_by_prefix").unwrap_or("");
    let mut user_count = false;
    for attribute in info_attributes(request.param("info")) {
        match attribute {
            "user_count"
                if prefix.starts_with("presence-")
                    || request.app.faults.user_count_unrestricted() =>
            {
                user_count = true;
            }
            "user_count" => {
                return Err(RestError::BadRequest(
                    "user_count may only be requested for presence channels - please supply filter_by_prefix beginning with presence-".into(),
                ));
            }
            other => {
                return Err(RestError::BadRequest(format!(
                    "Unknown info attribute {other:?} for the channel list"
                )));
            }
        }
    }
    let mut channels = Map::new();
    let prefix = if request.app.faults.ignore_prefix_filter() {
        ""
    } else {
        prefix
    };
    for (name, stats) in request.app.query_occupied(prefix).await? {
        let value = if user_count {
            json!({ "user_count": stats.user_count })
        } else {
            json!({})
        };
        channels.insert(name, value);
    }
    Ok(Json(json!({ "channels": channels })))
}

/// `GET /apps/{id}/channels/{channel}` (spec 8.5).
pub(crate) async fn channel(
    Path((_, channel)): Path<(String, String)>,
    request: Authorized,
) -> RestResult {
    let app = &request.app;
    let kind = ChannelKind::of(&channel);
    let stats = app.query_stats(&channel).await?;
    let mut out = Map::new();
    out.insert(
        "occupied".into(),
        (stats.is_some() || app.faults.always_occupied()).into(),
    );
    let stats = stats.unwrap_or_default();
    for attribute in info_attributes(request.param("info")) {
        match attribute {
            "user_count"
                if kind.access == Access::Presence || app.faults.user_count_unrestricted() =>
            {
                out.insert("user_count".into(), stats.user_count.into());
            }
            "subscription_count"
                if kind.access != Access::Presence && app.config.subscription_count =>
            {
                out.insert("subscription_count".into(), stats.subscription_count.into());
            }
            "cache" if kind.cache => {
                let cached = app
                    .query_cached(&channel, Instant::now())
                    .await?
                    .map(|c| json!({ "data": &*c.data, "ttl": c.ttl.as_secs() }));
                out.insert("cache".into(), cached.unwrap_or(Value::Null));
            }
            other => {
                return Err(RestError::BadRequest(format!(
                    "Cannot retrieve {other:?} for channel {channel}: not available for this channel type or app"
                )));
            }
        }
    }
    Ok(Json(Value::Object(out)))
}

/// `GET /apps/{id}/channels/{channel}/users` (spec 8.6).
pub(crate) async fn users(
    Path((_, channel)): Path<(String, String)>,
    request: Authorized,
) -> RestResult {
    if ChannelKind::of(&channel).access != Access::Presence
        && !request.app.faults.users_any_channel()
    {
        return Err(RestError::BadRequest(format!(
            "Users can only be listed for presence channels, not {channel}"
        )));
    }
    let users: Vec<Value> = request
        .app
        .query_users(&channel)
        .await?
        .into_iter()
        .filter(|_| !request.app.faults.users_list_empty())
        .map(|id| json!({ "id": id }))
        .collect();
    Ok(Json(json!({ "users": users })))
}

/// `POST /apps/{id}/users/{user_id}/terminate_connections` (spec 8.7).
pub(crate) async fn terminate(
    Path((_, user_id)): Path<(String, String)>,
    request: Authorized,
) -> RestResult {
    if !request.app.faults.terminate_noop() {
        request.app.terminate(&user_id).await?;
    }
    Ok(Json(json!({})))
}
