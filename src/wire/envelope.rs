//! Envelope `{event, channel?, data?, user_id?}` encode/decode (spec 2.1, 2.2).

use serde_json::{Map, Value};

/// Why a server frame could not be read as a Pusher envelope.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is not JSON at all.
    #[error("frame is not valid json: {0}")]
    Json(String),
    /// The frame is JSON but not an object.
    #[error("frame is json but not an object: {0}")]
    NotObject(String),
    /// The object has no string `event` field.
    #[error("frame has no string `event` field: {0}")]
    NoEvent(String),
}

/// One Pusher message, kept as the raw JSON object it arrived as.
///
/// Cases assert on `raw` values rather than a typed model, so a typed model
/// cannot hide a malformed frame (DESIGN.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The whole JSON object as received or to be sent.
    pub raw: Map<String, Value>,
}

impl Envelope {
    /// Builds an envelope from its parts; `channel` is left out when `None`.
    pub fn new(event: &str, channel: Option<&str>, data: Value) -> Envelope {
        let mut raw = Map::new();
        raw.insert("event".into(), Value::String(event.into()));
        if let Some(channel) = channel {
            raw.insert("channel".into(), Value::String(channel.into()));
        }
        raw.insert("data".into(), data);
        Envelope { raw }
    }

    /// Parses one text frame.
    ///
    /// ```
    /// use pushcheck::wire::Envelope;
    /// let e = Envelope::decode(r#"{"event":"pusher:pong","data":"{}"}"#).unwrap();
    /// assert_eq!(e.event(), "pusher:pong");
    /// assert_eq!(e.channel(), None);
    /// ```
    pub fn decode(text: &str) -> Result<Envelope, DecodeError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DecodeError::Json(format!("{e}: {text}")))?;
        let Value::Object(raw) = value else {
            return Err(DecodeError::NotObject(text.to_owned()));
        };
        match raw.get("event") {
            Some(Value::String(_)) => Ok(Envelope { raw }),
            _ => Err(DecodeError::NoEvent(text.to_owned())),
        }
    }

    /// Serialises the envelope to frame text.
    pub fn encode(&self) -> String {
        Value::Object(self.raw.clone()).to_string()
    }

    /// The `event` name (decode guarantees it is a string).
    pub fn event(&self) -> &str {
        self.raw.get("event").and_then(Value::as_str).unwrap_or("")
    }

    /// The `channel` field when it is a string.
    pub fn channel(&self) -> Option<&str> {
        self.raw.get("channel").and_then(Value::as_str)
    }

    /// The `data` field exactly as it arrived (string or object).
    pub fn data(&self) -> Option<&Value> {
        self.raw.get("data")
    }

    /// The `data` field with one level of string encoding removed (spec 2.2).
    pub fn data_decoded(&self) -> Option<Value> {
        self.data().map(decode_data)
    }

    /// The `user_id` field, if any.
    pub fn user_id(&self) -> Option<&Value> {
        self.raw.get("user_id")
    }
}

/// Removes one level of double encoding: a string holding JSON text becomes
/// that JSON value; anything else (including a string that is not JSON) is
/// returned unchanged, as pusher-js does (spec 2.2).
///
/// ```
/// use pushcheck::wire::decode_data;
/// use serde_json::json;
/// assert_eq!(decode_data(&json!("{\"a\":1}")), json!({"a": 1}));
/// assert_eq!(decode_data(&json!("plain")), json!("plain"));
/// ```
pub fn decode_data(data: &Value) -> Value {
    match data {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| data.clone()),
        other => other.clone(),
    }
}

/// Encodes a value as a JSON string holding its JSON text (spec 2.2).
pub fn double_encode(value: &Value) -> Value {
    Value::String(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_connection_established_with_string_data() {
        let text = r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}"#;
        let e = Envelope::decode(text).expect("valid frame");
        assert_eq!(e.event(), "pusher:connection_established");
        assert!(e.data().expect("data").is_string());
        assert_eq!(
            e.data_decoded(),
            Some(json!({"socket_id":"1.2","activity_timeout":120}))
        );
    }

    #[test]
    fn rejects_non_objects_and_missing_event() {
        assert!(matches!(
            Envelope::decode("nope"),
            Err(DecodeError::Json(_))
        ));
        assert!(matches!(
            Envelope::decode("[1]"),
            Err(DecodeError::NotObject(_))
        ));
        assert!(matches!(
            Envelope::decode(r#"{"event":1}"#),
            Err(DecodeError::NoEvent(_))
        ));
    }

    #[test]
    fn encode_round_trips_with_channel_and_string_data() {
        let e = Envelope::new(
            "client-x",
            Some("private-a"),
            double_encode(&json!({"n": 1})),
        );
        let back = Envelope::decode(&e.encode()).expect("round trip");
        assert_eq!(back, e);
        assert_eq!(back.data_decoded(), Some(json!({"n": 1})));
    }
}
