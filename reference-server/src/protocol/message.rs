//! Wire frames: parsing what clients send and encoding what the server sends (spec 2).
//!
//! Outbound frames are encoded once into a [`Frame`], which clones by
//! reference count, so one published event is shared by every recipient.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::frame::Frame;

/// The envelope of a client frame (spec 2.1). `data` is kept raw.
#[derive(Debug, Deserialize)]
pub struct Inbound<'a> {
    /// Event name.
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    /// Channel of a client event.
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    /// Payload, object or string (spec 2.2).
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
    /// A `user_id` the client put in its frame; never trusted (spec 6.2).
    #[serde(borrow, default)]
    pub user_id: Option<Cow<'a, str>>,
}

/// Why a client frame could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not a JSON object with a string `event`.
    #[error("invalid message format: {0}")]
    Envelope(#[source] serde_json::Error),
    /// `data` of a `pusher:` event is neither an object nor a string holding one.
    #[error("invalid data for {event}: {source}")]
    Data {
        /// The event whose data was bad.
        event: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `data` of a `pusher:` event is not an object where one is needed (spec 2.2).
    #[error("invalid data for {event}: a JSON object is required")]
    NotObject {
        /// The event.
        event: String,
    },
    /// A `pusher:` event came without `data`.
    #[error("missing data for {event}")]
    MissingData {
        /// The event.
        event: String,
    },
}

impl<'a> Inbound<'a> {
    /// Parses a frame's envelope.
    pub fn parse(text: &'a str) -> Result<Inbound<'a>, DecodeError> {
        from_object(text).map_err(DecodeError::Envelope)
    }

    /// Decodes `data` of a `pusher:` event, accepting an object or a string
    /// that holds one (spec 2.2 server input rule).
    pub fn data_as<T: for<'de> Deserialize<'de>>(&self) -> Result<T, DecodeError> {
        let raw = self.data.ok_or_else(|| DecodeError::MissingData {
            event: self.event.to_string(),
        })?;
        let data_err = |source| DecodeError::Data {
            event: self.event.to_string(),
            source,
        };
        let not_object = || DecodeError::NotObject {
            event: self.event.to_string(),
        };
        match raw.get().as_bytes().first() {
            Some(b'"') => {
                let inner: String = serde_json::from_str(raw.get()).map_err(data_err)?;
                if !is_object_text(&inner) {
                    return Err(not_object());
                }
                serde_json::from_str(&inner).map_err(data_err)
            }
            Some(b'{') => serde_json::from_str(raw.get()).map_err(data_err),
            _ => Err(not_object()),
        }
    }
}

/// Whether JSON text is an object (or nothing JSON at all): its first
/// non-whitespace byte is `{`.
fn is_object_text(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// Parses JSON text that must be an object (spec 2.2). serde would also
/// read a struct from an array, taking its fields in order, so
/// `["news"]` would be a subscription to `news`.
pub fn from_object<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    if is_object_text(text) {
        serde_json::from_str(text)
    } else {
        Err(serde::de::Error::custom("expected a JSON object"))
    }
}

/// `data` of `pusher:subscribe` (spec 4.3).
#[derive(Debug, Deserialize)]
pub struct SubscribeData {
    /// Channel name.
    pub channel: String,
    /// `<key>:<hex>`; empty or absent on public channels.
    #[serde(default)]
    pub auth: Option<String>,
    /// Presence member JSON text, signed byte-for-byte.
    #[serde(default)]
    pub channel_data: Option<String>,
}

/// `data` of `pusher:unsubscribe` (spec 4.6).
#[derive(Debug, Deserialize)]
pub struct UnsubscribeData {
    /// Channel name.
    pub channel: String,
}

/// `data` of `pusher:signin` (spec 5.3).
#[derive(Debug, Deserialize)]
pub struct SigninData {
    /// `<key>:<hex>`.
    pub auth: String,
    /// User JSON text, signed byte-for-byte.
    pub user_data: String,
}

#[derive(Serialize)]
struct Envelope<'a, D: Serialize + ?Sized> {
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a D>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

fn encode<D: Serialize + ?Sized>(
    event: &str,
    channel: Option<&str>,
    data: Option<&D>,
    user_id: Option<&str>,
) -> Frame {
    let frame = Envelope {
        event,
        channel,
        data,
        user_id,
    };
    serde_json::to_string(&frame)
        .expect("frames of strings and raw JSON always serialise")
        .into()
}

/// A frame whose `data` is a JSON string (spec 2.2 double encoding).
pub fn string_data(event: &str, channel: Option<&str>, data: &str) -> Frame {
    encode(event, channel, Some(data), None)
}

/// A frame whose `data` is the JSON text of `value`, double-encoded.
pub fn json_string_data<T: Serialize>(event: &str, channel: Option<&str>, value: &T) -> Frame {
    let text = serde_json::to_string(value).expect("protocol payloads always serialise");
    string_data(event, channel, &text)
}

/// `pusher:connection_established` (spec 1.3).
pub fn connection_established(socket_id: &str, activity_timeout: u64) -> Frame {
    #[derive(Serialize)]
    struct Established<'a> {
        socket_id: &'a str,
        activity_timeout: u64,
    }
    json_string_data(
        "pusher:connection_established",
        None,
        &Established {
            socket_id,
            activity_timeout,
        },
    )
}

/// `pusher:error` with object data `{code, message}` (spec 2.2).
pub fn error(code: Option<u16>, message: &str) -> Frame {
    #[derive(Serialize)]
    struct ErrorData<'a> {
        code: Option<u16>,
        message: &'a str,
    }
    encode(
        "pusher:error",
        None,
        Some(&ErrorData { code, message }),
        None,
    )
}

/// `pusher:pong`, the reply to `pusher:ping` (spec 3.1).
pub fn pong() -> Frame {
    string_data("pusher:pong", None, "{}")
}

/// `pusher:ping`, sent to a silent client (spec 3.3).
pub fn ping() -> Frame {
    string_data("pusher:ping", None, "{}")
}

/// `pusher_internal:subscription_succeeded` for a non-presence channel (spec 4.4).
pub fn subscription_succeeded(channel: &str) -> Frame {
    string_data(
        "pusher_internal:subscription_succeeded",
        Some(channel),
        "{}",
    )
}

/// `pusher:cache_miss` with no data (spec 10.1, 13.13).
pub fn cache_miss(channel: &str) -> Frame {
    encode::<()>("pusher:cache_miss", Some(channel), None, None)
}

/// A channel event published through the HTTP API: `data` is the publisher's string.
pub fn channel_event(channel: &str, event: &str, data: &str) -> Frame {
    string_data(event, Some(channel), data)
}

/// A relayed client event: `data` exactly as the sender wrote it, `user_id`
/// set by the server on presence channels (spec 6.1).
pub fn client_event(
    channel: &str,
    event: &str,
    data: Option<&RawValue>,
    user_id: Option<&str>,
) -> Frame {
    encode(event, Some(channel), data, user_id)
}

/// `pusher:signin_success` echoing the signed `user_data` text (spec 5.3).
pub fn signin_success(user_data: &str) -> Frame {
    #[derive(Serialize)]
    struct Success<'a> {
        user_data: &'a str,
    }
    encode(
        "pusher:signin_success",
        None,
        Some(&Success { user_data }),
        None,
    )
}

/// `pusher_internal:subscription_count` (spec 7.5).
pub fn subscription_count(channel: &str, count: usize) -> Frame {
    #[derive(Serialize)]
    struct Count {
        subscription_count: usize,
    }
    json_string_data(
        "pusher_internal:subscription_count",
        Some(channel),
        &Count {
            subscription_count: count,
        },
    )
}

/// One entry of `pusher_internal:watchlist_events` (spec 10.4).
#[derive(Debug, Serialize)]
pub struct WatchlistEntry<'a> {
    /// `online` or `offline`.
    pub name: &'static str,
    /// The users concerned.
    pub user_ids: Vec<&'a str>,
}

/// `pusher_internal:watchlist_events` (spec 10.4).
pub fn watchlist_events(entries: &[WatchlistEntry<'_>]) -> Frame {
    #[derive(Serialize)]
    struct Events<'a> {
        events: &'a [WatchlistEntry<'a>],
    }
    json_string_data(
        "pusher_internal:watchlist_events",
        None,
        &Events { events: entries },
    )
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn established_is_double_encoded() {
        let frame = connection_established("1.2", 120);
        assert_eq!(
            frame.as_str(),
            r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}"#
        );
    }

    #[test]
    fn error_data_is_an_object_with_nullable_code() {
        assert_eq!(
            error(None, "x").as_str(),
            r#"{"event":"pusher:error","data":{"code":null,"message":"x"}}"#
        );
        assert_eq!(
            error(Some(4301), "y").as_str(),
            r#"{"event":"pusher:error","data":{"code":4301,"message":"y"}}"#
        );
    }

    #[test]
    fn subscribe_data_may_be_an_object_or_a_string() {
        for text in [
            r#"{"event":"pusher:subscribe","data":{"channel":"a","auth":""}}"#,
            r#"{"event":"pusher:subscribe","data":"{\"channel\":\"a\",\"auth\":\"\"}"}"#,
        ] {
            let inbound = Inbound::parse(text).expect("valid envelope");
            let data: SubscribeData = inbound.data_as().expect("valid data");
            assert_eq!(data.channel, "a");
        }
    }

    #[test]
    fn client_event_keeps_the_senders_data_shape() {
        let inbound =
            Inbound::parse(r#"{"event":"client-x","channel":"private-a","data":{"n": 1}}"#)
                .expect("valid");
        let frame = client_event("private-a", "client-x", inbound.data, Some("u1"));
        assert_eq!(
            frame.as_str(),
            r#"{"event":"client-x","channel":"private-a","data":{"n": 1},"user_id":"u1"}"#
        );
    }

    #[test]
    fn escapes_event_data_strings() {
        let frame = channel_event("c", "e", "{\"a\":\"\\n\"}");
        let back: serde_json::Value = serde_json::from_str(frame.as_str()).expect("valid JSON");
        assert_eq!(back["data"], "{\"a\":\"\\n\"}");
    }
}
