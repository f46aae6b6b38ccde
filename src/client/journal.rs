//! Journal: everything one conformance case sent and received, on every
//! connection and HTTP exchange, with times relative to the case's start.
//!
//! Clients append to it as they go; the conformance runner turns it into a
//! transcript for the report and runs the every-frame monitor over it.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// Where an entry happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// WebSocket connection number `n` of the case (1-based, in connect order).
    Ws(usize),
    /// An HTTP exchange with the REST API.
    Http,
}

/// Which way an entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the harness to the target.
    Sent,
    /// From the target to the harness.
    Received,
}

/// What was carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A text frame, exactly as written on the wire.
    Text(String),
    /// A binary frame of this many bytes.
    Binary(usize),
    /// A control ping or pong.
    Control(&'static str),
    /// The WebSocket opened to this URL.
    Open(String),
    /// A close: the code and reason of the close frame, or `None` when the
    /// connection ended without one.
    Close(Option<u16>, String),
    /// An HTTP request (method, URL, body) or response (status, body).
    Http(String),
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Time since the case started.
    pub at: Duration,
    /// Connection or HTTP.
    pub channel: Channel,
    /// Direction.
    pub direction: Direction,
    /// What was carried.
    pub payload: Payload,
}

impl Entry {
    /// One replayable line: `+12.3ms ws#1 > {"event":...}`.
    pub fn line(&self) -> String {
        let at = self.at.as_secs_f64() * 1000.0;
        let channel = match self.channel {
            Channel::Ws(n) => format!("ws#{n}"),
            Channel::Http => "http".into(),
        };
        let arrow = match self.direction {
            Direction::Sent => '>',
            Direction::Received => '<',
        };
        let what = match &self.payload {
            Payload::Text(t) => t.clone(),
            Payload::Binary(n) => format!("[binary {n} bytes]"),
            Payload::Control(kind) => format!("[control {kind}]"),
            Payload::Open(url) => format!("[open {url}]"),
            Payload::Close(Some(code), reason) => format!("[close {code} {reason:?}]"),
            Payload::Close(None, _) => "[connection ended without a close frame]".into(),
            Payload::Http(text) => text.clone(),
        };
        format!("+{at:.1}ms {channel} {arrow} {what}")
    }
}

/// A shared, append-only record of one case.
#[derive(Debug)]
pub struct Journal {
    start: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    connections: usize,
}

/// Entries kept per case: a runaway case must not exhaust memory.
const MAX_ENTRIES: usize = 20_000;

impl Journal {
    /// A journal whose clock starts now.
    pub fn new() -> Arc<Journal> {
        Arc::new(Journal {
            start: Instant::now(),
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Numbers a new connection.
    pub fn next_connection(&self) -> usize {
        let mut inner = self.inner.lock();
        inner.connections += 1;
        inner.connections
    }

    /// Appends one entry stamped now.
    pub fn record(&self, channel: Channel, direction: Direction, payload: Payload) {
        let at = self.start.elapsed();
        let mut inner = self.inner.lock();
        if inner.entries.len() < MAX_ENTRIES {
            inner.entries.push(Entry {
                at,
                channel,
                direction,
                payload,
            });
        }
    }

    /// Everything recorded so far, in order.
    pub fn entries(&self) -> Vec<Entry> {
        self.inner.lock().entries.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_order_and_render_as_lines() {
        let j = Journal::new();
        let n = j.next_connection();
        j.record(
            Channel::Ws(n),
            Direction::Sent,
            Payload::Text("{\"event\":\"pusher:ping\"}".into()),
        );
        j.record(
            Channel::Ws(n),
            Direction::Received,
            Payload::Close(None, String::new()),
        );
        let e = j.entries();
        assert_eq!(e.len(), 2);
        assert!(e[0].at <= e[1].at);
        assert!(
            e[0].line().ends_with("ws#1 > {\"event\":\"pusher:ping\"}"),
            "{}",
            e[0].line()
        );
        assert!(e[1].line().contains("without a close frame"));
    }
}
