//! The one place where frame switches act: between what the session and the
//! hub queue for a connection and what its transport writes.
//!
//! Every frame to a client passes [`Seam::outbound`] (the connection's
//! `connection_established` too), so a wire-level fault needs no hook in the
//! core. A rule sees the parsed frame and may rewrite it, drop it, add frames
//! before or after it, or hold it until a later instant (the transport asks
//! [`Seam::next_due`] and collects with [`Seam::release`]). Close codes pass
//! [`Seam::close_code`]; the server's control ping asks [`Seam::pings`].
//!
//! To add a fault: a switch in `faults/mod.rs` (in the frame group) and one arm in
//! [`Seam::reshape`] or [`Seam::deliver`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::{Faults, Handle};
use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;

/// One connection's seam: the switches and the frames it holds back.
#[derive(Debug)]
pub(crate) struct Seam {
    faults: Handle,
    /// Whether any switch is on; if not, frames are not even parsed.
    active: bool,
    /// Frames held back, in release order, with their release instant.
    held: VecDeque<(Instant, Frame)>,
    /// A channel event waiting for the next one to be swapped with.
    swap: Option<Frame>,
}

impl Seam {
    /// The seam for one connection.
    pub(crate) fn new(faults: &Handle) -> Seam {
        // Parsing every frame costs a little; a server with every switch
        // off (most test servers) skips it. Any switch on turns it on, so a
        // new frame switch needs no entry here.
        let active = **faults != Faults::default();
        Seam {
            faults: faults.clone(),
            active,
            held: VecDeque::new(),
            swap: None,
        }
    }

    /// Whether any frame switch may act; if not, frames need not pass here
    /// and the hub may write them to the socket itself.
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// What the client gets now in place of `frame`.
    pub(crate) fn outbound(&mut self, frame: Frame, now: Instant) -> std::vec::IntoIter<Frame> {
        if !self.active {
            return vec![frame].into_iter();
        }
        let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(frame.as_str()) else {
            return vec![frame].into_iter();
        };
        let event = map
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if event.starts_with("pusher:") || event.starts_with("pusher_internal:") {
            return self.reshape(&event, frame, &mut map).into_iter();
        }
        self.deliver(frame, &mut map, now).into_iter()
    }

    /// Rules for protocol frames.
    fn reshape(
        &self,
        event: &str,
        frame: Frame,
        map: &mut serde_json::Map<String, Value>,
    ) -> Vec<Frame> {
        let f = &self.faults;
        match event {
            "pusher:connection_established" => vec![self.established(map)],
            "pusher:pong" if f.no_pong => Vec::new(),
            "pusher:pong" if f.malformed_frame_before_pong => vec![Frame::from_static("[]"), frame],
            "pusher:ping" if f.no_server_ping => Vec::new(),
            "pusher:error" if f.error_with_channel => {
                map.insert("channel".into(), json!("pc-connection-level"));
                vec![encode(map)]
            }
            "pusher_internal:subscription_succeeded" if f.extra_client_side_succeeded => {
                map.insert("event".into(), json!("pusher:subscription_succeeded"));
                vec![frame, encode(map)]
            }
            "pusher:error" if f.error_without_message => {
                vec![Frame::from_static(
                    r#"{"event":"pusher:error","data":{"code":null}}"#,
                )]
            }
            "pusher_internal:subscription_succeeded"
                if f.succeeded_data_object && map.get("data") == Some(&json!("{}")) =>
            {
                map.insert("data".into(), json!({}));
                vec![encode(map)]
            }
            "pusher:signin_success" if f.signin_success_empty => {
                map.insert("data".into(), json!({"user_data": "{}"}));
                vec![encode(map)]
            }
            "pusher:cache_miss" if f.no_cache_miss => Vec::new(),
            "pusher_internal:member_removed" if f.drop_member_removed => Vec::new(),
            "pusher_internal:subscription_count" if f.no_subscription_count => Vec::new(),
            _ => vec![frame],
        }
    }

    /// `connection_established` with the connection switches applied.
    fn established(&self, map: &mut serde_json::Map<String, Value>) -> Frame {
        let f = &self.faults;
        let text = map.get("data").and_then(Value::as_str).unwrap_or("{}");
        let mut data: Value = serde_json::from_str(text).unwrap_or_else(|_| json!({}));
        if f.activity_timeout_zero {
            data["activity_timeout"] = json!(0);
        }
        if f.socket_id_colon {
            let id = data["socket_id"]
                .as_str()
                .unwrap_or_default()
                .replace('.', ":");
            data["socket_id"] = json!(id);
        }
        let data = if f.established_data_object {
            data
        } else {
            Value::String(data.to_string())
        };
        map.insert("data".into(), data);
        encode(map)
    }

    /// Rules for channel events (published or relayed).
    fn deliver(
        &mut self,
        frame: Frame,
        map: &mut serde_json::Map<String, Value>,
        now: Instant,
    ) -> Vec<Frame> {
        let f = &self.faults;
        let mut frame = frame;
        if f.reencode_event_data {
            let reencoded = map
                .get("data")
                .and_then(Value::as_str)
                .and_then(|text| serde_json::from_str::<Value>(text).ok());
            if let Some(value) = reencoded {
                map.insert("data".into(), Value::String(value.to_string()));
                frame = encode(map);
            }
        }
        if f.mangle_event_names {
            let name = map.get("event").and_then(Value::as_str).unwrap_or_default();
            let mangled: String = name
                .chars()
                .map(|c| if c.is_ascii() && c != '\\' { c } else { '_' })
                .collect();
            map.insert("event".into(), Value::String(mangled));
            frame = encode(map);
        }
        if let Some(ms) = f.delay_deliveries_ms {
            self.held
                .push_back((now + Duration::from_millis(ms), frame));
            return Vec::new();
        }
        if f.reorder_deliveries {
            return match self.swap.take() {
                Some(earlier) => vec![frame, earlier],
                None => {
                    self.swap = Some(frame);
                    Vec::new()
                }
            };
        }
        vec![frame]
    }

    /// When the first held frame is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.held.front().map(|(due, _)| *due)
    }

    /// The held frames due at `now`, in order.
    pub(crate) fn release(&mut self, now: Instant) -> std::vec::IntoIter<Frame> {
        let mut due = Vec::new();
        while self.held.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, frame)) = self.held.pop_front() {
                due.push(frame);
            }
        }
        due.into_iter()
    }

    /// Whether the connection task ends on this inbound text without a
    /// close frame (the `drop_on_signin` fault).
    pub(crate) fn drops_on(&self, text: &str) -> bool {
        self.faults.drop_on_signin && text.contains("\"pusher:signin\"")
    }

    /// Whether the server sends its control ping to a silent client.
    pub(crate) fn pings(&self) -> bool {
        !self.faults.no_server_ping && !self.faults.only_text_ping
    }

    /// The code a close for `code` carries on the wire.
    pub(crate) fn close_code(faults: &Handle, code: CloseCode) -> u16 {
        let refusal = faults.refusal_close_code;
        match code {
            CloseCode::UnknownApp => faults.unknown_key_close_code.unwrap_or(code.code()),
            CloseCode::TlsRequired
            | CloseCode::AppDisabled
            | CloseCode::OverQuota
            | CloseCode::PathNotFound
            | CloseCode::InvalidVersionFormat
            | CloseCode::UnsupportedProtocol => refusal.unwrap_or(code.code()),
            CloseCode::PongTimeout if faults.pong_timeout_close_4200 => 4200,
            CloseCode::PongTimeout if faults.pong_timeout_close_4301 => 4301,
            CloseCode::PongTimeout
            | CloseCode::ProtocolError
            | CloseCode::InvalidPayload
            | CloseCode::MessageTooBig
            | CloseCode::Terminated
            | CloseCode::OverCapacity
            | CloseCode::Reconnect => code.code(),
        }
    }
}

fn encode(map: &serde_json::Map<String, Value>) -> Frame {
    Frame::from(Value::Object(map.clone()).to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::protocol::message;

    fn seam(faults: Faults) -> Seam {
        Seam::new(&Arc::new(faults))
    }

    fn texts(frames: impl Iterator<Item = Frame>) -> Vec<String> {
        frames.map(|f| f.as_str().to_owned()).collect()
    }

    #[test]
    fn with_no_switch_on_frames_pass_unchanged() {
        let mut s = seam(Faults::default());
        let frame = message::channel_event("c", "e", "{}");
        assert_eq!(
            texts(s.outbound(frame.clone(), Instant::now())),
            [frame.as_str()]
        );
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn delayed_deliveries_are_held_while_pongs_pass_at_once() {
        let mut s = seam(Faults {
            delay_deliveries_ms: Some(100),
            ..Faults::default()
        });
        let t0 = Instant::now();
        let event = message::channel_event("c", "e", "{}");
        assert!(texts(s.outbound(event.clone(), t0)).is_empty());
        let pong = message::pong();
        assert_eq!(texts(s.outbound(pong.clone(), t0)), [pong.as_str()]);
        assert_eq!(s.next_due(), Some(t0 + Duration::from_millis(100)));
        assert!(texts(s.release(t0 + Duration::from_millis(99))).is_empty());
        assert_eq!(
            texts(s.release(t0 + Duration::from_millis(100))),
            [event.as_str()]
        );
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn reordered_deliveries_come_in_swapped_pairs() {
        let mut s = seam(Faults {
            reorder_deliveries: true,
            ..Faults::default()
        });
        let now = Instant::now();
        let (a, b) = (
            message::channel_event("c", "a", "1"),
            message::channel_event("c", "b", "2"),
        );
        assert!(texts(s.outbound(a.clone(), now)).is_empty());
        assert_eq!(texts(s.outbound(b.clone(), now)), [b.as_str(), a.as_str()]);
    }

    #[test]
    fn close_code_switches_replace_only_their_codes() {
        let faults: Handle = Arc::new(Faults {
            refusal_close_code: Some(4000),
            pong_timeout_close_4200: true,
            ..Faults::default()
        });
        assert_eq!(Seam::close_code(&faults, CloseCode::OverQuota), 4000);
        assert_eq!(Seam::close_code(&faults, CloseCode::PongTimeout), 4200);
        assert_eq!(Seam::close_code(&faults, CloseCode::UnknownApp), 4001);
        assert_eq!(Seam::close_code(&faults, CloseCode::OverCapacity), 4100);
    }
}
