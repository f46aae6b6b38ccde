//! The frame monitor: invariants every server frame on every connection of
//! every case must keep, checked over each case's transcript. Breaches are
//! reported under their own case id ([`CASE_ID`]) with the offending frame,
//! whatever the case itself was checking.

use std::collections::HashMap;

use serde_json::Value;

use crate::client::journal::{Channel, Direction, Entry, Payload};

/// The case that reports every breach of the run.
pub const CASE_ID: &str = "protocol/framing/every-frame";

/// An invariant of server frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Spec 2.1: a text frame holding a JSON object with a string `event`.
    JsonObject,
    /// Spec 2.1: no binary frames.
    TextOnly,
    /// Spec 2.2: `data` is a JSON string on the frames the spec says.
    StringData,
    /// Spec 1.5, 6.2: 43xx codes are error-frame codes, never close codes.
    No43xxClose,
    /// Spec 4.5, 10.4, 3.1: connection-level frames carry no `channel`.
    ConnectionLevel,
    /// Spec 4.4, 7.2: the client library re-emits these; a server never sends them.
    ClientSideName,
    /// Spec 2.2: a `pusher:error` has object data with a string `message`
    /// and a `code` that is a number or null.
    ErrorShape,
    /// A connection the server dropped without a close frame after the
    /// client sent it a frame (a crashed connection task).
    DroppedWithoutClose,
}

impl Rule {
    /// The rule as an `expected` sentence.
    pub fn text(self) -> &'static str {
        match self {
            Rule::JsonObject => "every text frame a JSON object with a string event (spec 2.1)",
            Rule::TextOnly => "text frames only, never binary (spec 2.1)",
            Rule::StringData => {
                "data as a JSON string on connection_established, subscription_succeeded and member events (spec 2.2)"
            }
            Rule::No43xxClose => {
                "no close with a 43xx code; those are error-frame codes (spec 1.5)"
            }
            Rule::ConnectionLevel => {
                "no channel on pusher:error, pong, ping, connection_established, signin_success or watchlist_events"
            }
            Rule::ClientSideName => {
                "no pusher:subscription_succeeded or pusher:member_* from the server (spec 4.4, 7.2)"
            }
            Rule::ErrorShape => {
                "pusher:error data an object with a string message and a number or null code (spec 2.2)"
            }
            Rule::DroppedWithoutClose => {
                "every connection closed with a close frame, never dropped in answer to a frame"
            }
        }
    }
}

/// One frame that broke a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// The rule.
    pub rule: Rule,
    /// The connection and the offending frame.
    pub detail: String,
}

const STRING_DATA: &[&str] = &[
    "pusher:connection_established",
    "pusher_internal:subscription_succeeded",
    "pusher_internal:member_added",
    "pusher_internal:member_removed",
];

const CONNECTION_LEVEL: &[&str] = &[
    "pusher:connection_established",
    "pusher:error",
    "pusher:ping",
    "pusher:pong",
    "pusher:signin_success",
    "pusher_internal:watchlist_events",
];

/// The rule a server text frame breaks, if any.
fn text_rule(text: &str) -> Option<Rule> {
    let Ok(Value::Object(frame)) = serde_json::from_str::<Value>(text) else {
        return Some(Rule::JsonObject);
    };
    let Some(event) = frame.get("event").and_then(Value::as_str) else {
        return Some(Rule::JsonObject);
    };
    let data = frame.get("data");
    if STRING_DATA.contains(&event) && !data.is_some_and(Value::is_string) {
        return Some(Rule::StringData);
    }
    if CONNECTION_LEVEL.contains(&event) && frame.contains_key("channel") {
        return Some(Rule::ConnectionLevel);
    }
    if event == "pusher:subscription_succeeded" || event.starts_with("pusher:member_") {
        return Some(Rule::ClientSideName);
    }
    if event == "pusher:error" {
        let decoded = data.map(crate::wire::decode_data);
        let ok = match decoded {
            Some(Value::Object(d)) => {
                d.get("message").is_some_and(Value::is_string)
                    && d.get("code")
                        .is_none_or(|c| c.is_null() || c.is_i64() || c.is_u64())
            }
            _ => false,
        };
        if !ok {
            return Some(Rule::ErrorShape);
        }
    }
    None
}

/// Every breach in one case's transcript, in order.
pub fn check(entries: &[Entry]) -> Vec<Breach> {
    let mut breaches = Vec::new();
    // Per connection: the last text frame the client sent, and whether it
    // closed first (then the server owes no close frame).
    let mut sent: HashMap<usize, (Option<&str>, bool)> = HashMap::new();
    for e in entries {
        let Channel::Ws(n) = e.channel else { continue };
        let conn = sent.entry(n).or_default();
        if e.direction == Direction::Sent {
            match &e.payload {
                Payload::Text(t) => conn.0 = Some(t),
                Payload::Close(..) => conn.1 = true,
                _ => {}
            }
            continue;
        }
        let rule = match &e.payload {
            Payload::Text(t) => text_rule(t),
            Payload::Binary(_) => Some(Rule::TextOnly),
            Payload::Close(Some(code), _) if (4300..4400).contains(code) => Some(Rule::No43xxClose),
            Payload::Close(None, _) if conn.0.is_some() && !conn.1 => {
                Some(Rule::DroppedWithoutClose)
            }
            _ => None,
        };
        if let Some(rule) = rule {
            let detail = match rule {
                Rule::DroppedWithoutClose => format!(
                    "ws#{n} ended without a close frame after it sent {}",
                    conn.0.unwrap_or("")
                ),
                _ => e.line(),
            };
            breaches.push(Breach { rule, detail });
        }
    }
    breaches
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn got(n: usize, payload: Payload) -> Entry {
        Entry {
            at: Duration::ZERO,
            channel: Channel::Ws(n),
            direction: Direction::Received,
            payload,
        }
    }

    fn rule_of(text: &str) -> Option<Rule> {
        text_rule(text)
    }

    #[test]
    fn each_invariant_is_caught_and_good_frames_pass() {
        assert_eq!(rule_of("[1]"), Some(Rule::JsonObject));
        assert_eq!(rule_of(r#"{"data":{}}"#), Some(Rule::JsonObject));
        assert_eq!(
            rule_of(r#"{"event":"pusher_internal:member_added","channel":"presence-a","data":{}}"#),
            Some(Rule::StringData)
        );
        assert_eq!(
            rule_of(r#"{"event":"pusher:error","channel":"a","data":{"code":null,"message":"x"}}"#),
            Some(Rule::ConnectionLevel)
        );
        assert_eq!(
            rule_of(r#"{"event":"pusher:member_added","channel":"presence-a","data":"{}"}"#),
            Some(Rule::ClientSideName)
        );
        assert_eq!(
            rule_of(r#"{"event":"pusher:error","data":{"code":"4001","message":"x"}}"#),
            Some(Rule::ErrorShape)
        );
        assert_eq!(
            rule_of(r#"{"event":"pusher:error","data":{"code":4301,"message":"x"}}"#),
            None
        );
        assert_eq!(
            rule_of(r#"{"event":"pusher:error","data":{"code":null}}"#),
            Some(Rule::ErrorShape)
        );
        assert_eq!(rule_of(r#"{"event":"pusher:pong","data":"{}"}"#), None);
        assert_eq!(rule_of(r#"{"event":"ev","channel":"c","data":"{}"}"#), None);
    }

    #[test]
    fn a_drop_counts_only_after_a_frame_the_client_sent_and_before_its_own_close() {
        let sent = |n: usize, payload: Payload| Entry {
            direction: Direction::Sent,
            ..got(n, payload)
        };
        let entries = vec![
            sent(1, Payload::Text("{\"event\":\"pusher:signin\"}".into())),
            got(1, Payload::Close(None, String::new())),
            got(2, Payload::Close(None, String::new())),
            sent(3, Payload::Text("{}".into())),
            sent(3, Payload::Close(Some(1000), String::new())),
            got(3, Payload::Close(None, String::new())),
            got(4, Payload::Close(Some(4301), String::new())),
        ];
        let rules: Vec<Rule> = check(&entries).iter().map(|b| b.rule).collect();
        assert_eq!(rules, [Rule::DroppedWithoutClose, Rule::No43xxClose]);
        assert!(check(&entries)[0].detail.contains("pusher:signin"));
    }
}
