//! `POST /events` and `POST /batch_events` (spec 8.2, 8.3, 8.8, 8.9).
//!
//! A request is validated completely before anything is delivered, so a bad
//! batch entry rejects the whole batch (spec 13.9).

use std::time::Instant;

use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Authorized, RestError, RestResult, info_attributes};
use crate::config::AppConfig;
use crate::faults::Faults;
use crate::hub::{AppState, Publish};
use crate::protocol::channel::{Access, ChannelKind, validate_channel_name};

/// One event as the API receives it; types checked by hand for clear errors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EventBody {
    name: Option<Value>,
    data: Option<Value>,
    channel: Option<String>,
    channels: Option<Vec<String>>,
    socket_id: Option<String>,
    info: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BatchBody {
    /// Maps, not [`EventBody`]: serde reads a struct from an array too.
    batch: Vec<Map<String, Value>>,
}

/// A validated event, ready to deliver.
#[derive(Debug)]
struct Event {
    name: String,
    data: String,
    channels: Vec<String>,
    socket_id: Option<String>,
    info: Vec<String>,
}

/// `POST /apps/{id}/events`.
pub(crate) async fn trigger(request: Authorized) -> RestResult {
    let body: EventBody = match parse_json(&request.body) {
        Err(_) if request.app.faults.lenient_rest_events() => return Ok(Json(json!({}))),
        parsed => parsed?,
    };
    let event = validate(&request.app.config, &request.app.faults, body, false)?;
    deliver(&request.app, std::slice::from_ref(&event)).await?;
    Ok(Json(
        if event.info.is_empty() || request.app.faults.ignore_publish_info() {
            json!({})
        } else {
            json!({ "channels": info_of(&request.app, &event).await? })
        },
    ))
}

/// `POST /apps/{id}/batch_events`.
pub(crate) async fn batch(request: Authorized) -> RestResult {
    let body: BatchBody = parse_json(&request.body)?;
    let config = &request.app.config;
    if body.batch.len() > config.max_batch_events {
        return Err(RestError::BadRequest(format!(
            "Batch has {} events; at most {} are allowed",
            body.batch.len(),
            config.max_batch_events
        )));
    }
    let events = body
        .batch
        .into_iter()
        .map(|e| validate(config, &request.app.faults, from_map(e)?, true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut infos = Vec::with_capacity(events.len());
    for event in &events {
        infos.push(info_of(&request.app, event).await?);
    }
    let first_only = if request.app.faults.deliver_first_only() {
        1
    } else {
        usize::MAX
    };
    let taken = events.len().min(first_only);
    deliver(&request.app, &events[..taken]).await?;
    if events.iter().all(|e| e.info.is_empty()) {
        return Ok(Json(json!({})));
    }
    let batch: Vec<Value> = infos
        .into_iter()
        .map(|info| info.into_values().next().unwrap_or_else(|| json!({})))
        .collect();
    Ok(Json(json!({ "batch": batch })))
}

/// Parses a body that must be a JSON object (spec 8.2).
fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, RestError> {
    from_map(serde_json::from_slice(body).map_err(|e| bad_shape(&e))?)
}

/// Reads a struct from a JSON object only: serde would otherwise also read it
/// from an array, taking the fields in order.
fn from_map<T: for<'de> Deserialize<'de>>(map: Map<String, Value>) -> Result<T, RestError> {
    serde_json::from_value(Value::Object(map)).map_err(|e| bad_shape(&e))
}

fn bad_shape(e: &serde_json::Error) -> RestError {
    RestError::BadRequest(format!(
        "Request body is not valid JSON of the expected shape: {e}"
    ))
}

/// Applies every rule of spec 8.2 / 8.3 to one event.
fn validate(
    config: &AppConfig,
    faults: &Faults,
    body: EventBody,
    in_batch: bool,
) -> Result<Event, RestError> {
    let bad = |text: String| Err(RestError::BadRequest(text));
    if faults.lenient_rest_events() {
        return Ok(lenient(body));
    }
    let name = match body.name {
        Some(Value::String(name)) if !name.is_empty() && name.len() <= 200 => name,
        Some(Value::String(_)) => return bad("Event name must be 1 to 200 characters".into()),
        _ => return bad("Missing or non-string event name".into()),
    };
    let reserved = name.starts_with("pusher:") || name.starts_with("pusher_internal:");
    if reserved && !faults.accept_reserved_event_names() {
        return bad(format!(
            "Event name {name} is reserved: pusher: and pusher_internal: events cannot be published"
        ));
    }
    let Some(Value::String(data)) = body.data else {
        return bad("Event data must be a string (JSON-encode objects first)".into());
    };
    let size = if faults.payload_limit_in_chars() {
        data.chars().count()
    } else {
        data.len()
    };
    if size > config.max_event_payload_bytes {
        let limit = config.max_event_payload_bytes;
        return Err(RestError::TooLarge(format!(
            "Event data is {} bytes; the limit is {limit} bytes",
            data.len()
        )));
    }
    let channels = match (body.channel, body.channels) {
        (Some(channel), None) => vec![channel],
        (None, Some(_)) if in_batch => {
            return bad("Batch events take a single `channel`, not `channels`".into());
        }
        (None, Some(channels)) => channels,
        (Some(_), Some(_)) => return bad("Give either `channel` or `channels`, not both".into()),
        (None, None) => return bad("Missing `channel` or `channels`".into()),
    };
    check_channels(config, faults, &channels)?;
    if let Some(socket_id) = body.socket_id.as_ref().filter(|s| !is_socket_id(s)) {
        return bad(format!(
            "Invalid socket_id {socket_id:?}: expected digits.digits"
        ));
    }
    let info = info_attributes(body.info.as_deref())
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(Event {
        name,
        data,
        channels,
        socket_id: body.socket_id,
        info,
    })
}

/// The `lenient_rest_events` fault: whatever arrived, as an event.
fn lenient(body: EventBody) -> Event {
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    Event {
        name: text(body.name),
        data: text(body.data),
        channels: body
            .channels
            .or(body.channel.map(|c| vec![c]))
            .unwrap_or_default(),
        socket_id: body.socket_id,
        info: Vec::new(),
    }
}

fn check_channels(
    config: &AppConfig,
    faults: &Faults,
    channels: &[String],
) -> Result<(), RestError> {
    let bad = |text: String| Err(RestError::BadRequest(text));
    if channels.is_empty() {
        return bad("`channels` must not be empty".into());
    }
    if channels.len() > config.max_channels_per_event {
        return bad(format!(
            "{} channels given; at most {} are allowed",
            channels.len(),
            config.max_channels_per_event
        ));
    }
    for channel in channels {
        if let Err(e) = validate_channel_name(channel) {
            return bad(format!("Invalid channel name {channel:?}: {e}"));
        }
        if (faults.narrow_channel_names()
            && !channel
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            || faults.channel_names_164() && channel.len() > 164
        {
            return bad(format!("Invalid channel name {channel:?}"));
        }
    }
    let encrypted = channels
        .iter()
        .any(|c| ChannelKind::of(c).access == Access::Encrypted);
    if encrypted && channels.len() > 1 && !faults.encrypted_multi_allowed() {
        return bad("An event for an encrypted channel must target that one channel only".into());
    }
    Ok(())
}

/// `^\d+\.\d+$` (spec 1.3).
pub(crate) fn is_socket_id(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    text.split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// Delivers events in order, each to its channels; in cluster mode an
/// error means Redis did not take them (503).
async fn deliver(app: &AppState, events: &[Event]) -> Result<(), RestError> {
    let first_only = if app.faults.deliver_first_only() {
        1
    } else {
        usize::MAX
    };
    let publishes: Vec<Publish<'_>> = events
        .iter()
        .flat_map(|event| {
            event
                .channels
                .iter()
                .take(first_only)
                .map(|channel| Publish {
                    channel,
                    event: &event.name,
                    data: &event.data,
                    exclude: event.socket_id.as_deref(),
                })
        })
        .collect();
    Ok(app.publish_events(&publishes, Instant::now()).await?)
}

/// The `info` attributes of every channel of an event (spec 8.2).
async fn info_of(app: &AppState, event: &Event) -> Result<Map<String, Value>, RestError> {
    let mut channels = Map::new();
    if event.info.is_empty() {
        return Ok(channels);
    }
    for channel in &event.channels {
        let stats = app.query_stats(channel).await?.unwrap_or_default();
        let presence = ChannelKind::of(channel).access == Access::Presence;
        let mut attributes = Map::new();
        for attribute in &event.info {
            match attribute.as_str() {
                "user_count" if presence => {
                    attributes.insert("user_count".into(), stats.user_count.into());
                }
                "subscription_count" if !presence && app.config.subscription_count => {
                    attributes.insert("subscription_count".into(), stats.subscription_count.into());
                }
                "user_count" | "subscription_count" => {}
                other => {
                    return Err(RestError::BadRequest(format!(
                        "Unknown info attribute {other:?}"
                    )));
                }
            }
        }
        channels.insert(channel.clone(), Value::Object(attributes));
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_ids_are_digits_dot_digits() {
        for ok in ["1.2", "123.456"] {
            assert!(is_socket_id(ok), "{ok}");
        }
        for bad in ["", "1", "1.", ".1", "a.1", "1.2.3", "1.2 "] {
            assert!(!is_socket_id(bad), "{bad}");
        }
    }

    fn event(value: Value) -> Result<Event, RestError> {
        let body: EventBody = serde_json::from_value(value).expect("test body");
        validate(&AppConfig::default(), &Faults::default(), body, false)
    }

    #[test]
    fn validation_follows_spec_limits() {
        assert!(event(json!({"name":"e","data":"x","channel":"a"})).is_ok());
        assert!(matches!(
            event(json!({"name":"e","data":"x".repeat(10241),"channel":"a"})),
            Err(RestError::TooLarge(_))
        ));
        assert!(event(json!({"name":"e","data":"x".repeat(10240),"channel":"a"})).is_ok());
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        for body in [
            json!({"name":"e","data":"x","channels":many}),
            json!({"name":"pusher:x","data":"x","channel":"a"}),
            json!({"name":"e","data":{"a":1},"channel":"a"}),
            json!({"name":"e","data":"x"}),
            json!({"name":"e","data":"x","channel":"a","channels":["b"]}),
            json!({"name":"e","data":"x","channels":["private-encrypted-a","b"]}),
            json!({"name":"e","data":"x","channel":"a b"}),
            json!({"name":"e","data":"x","channel":"a","socket_id":"nope"}),
        ] {
            assert!(
                matches!(event(body.clone()), Err(RestError::BadRequest(_))),
                "{body}"
            );
        }
    }
}
