//! Load measurements: per-worker HdrHistograms, the delivery ledger and
//! error counters keyed by [`ErrorKind`]. Nothing here keeps samples: every
//! latency goes into a histogram, every outcome into a counter.

mod histograms;
mod ledger;
mod recorder;

pub use histograms::{Histograms, Metric, Percentiles, new_histogram};
pub use ledger::{FanoutTracker, Message, Payload, PayloadKind, SeqOutcome, SeqSet};
pub use recorder::{Interval, Locked, Recorders, Tally, Worker};

use serde::{Deserialize, Serialize};

/// Why a simulated client or request failed, as a closed set of counter keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect failed (refused, unreachable, out of ports or files).
    TcpConnect,
    /// The WebSocket upgrade failed or was refused.
    Handshake,
    /// No `pusher:connection_established` within the connect deadline.
    NoEstablished,
    /// A `pusher:error` or close arrived where `connection_established` was due.
    Refused,
    /// A legitimate subscription was refused with an error frame.
    SubscribeRefused,
    /// No subscription acknowledgement within the deadline.
    SubscribeTimeout,
    /// The harness's own auth endpoint answered with an error.
    AuthEndpoint,
    /// An HTTP publish was answered with a non-2xx status.
    PublishStatus,
    /// An HTTP publish failed at the transport (no response).
    PublishTransport,
    /// A client event was refused with `pusher:error` (for example 4301).
    ClientEventRefused,
    /// A connection closed while the run still needed it.
    Disconnected,
    /// A frame could not be parsed as a Pusher envelope or load payload.
    MalformedFrame,
    /// An attack could not be judged (transport failure or no barrier pong).
    AttackInconclusive,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::TcpConnect,
        ErrorKind::Handshake,
        ErrorKind::NoEstablished,
        ErrorKind::Refused,
        ErrorKind::SubscribeRefused,
        ErrorKind::SubscribeTimeout,
        ErrorKind::AuthEndpoint,
        ErrorKind::PublishStatus,
        ErrorKind::PublishTransport,
        ErrorKind::ClientEventRefused,
        ErrorKind::Disconnected,
        ErrorKind::MalformedFrame,
        ErrorKind::AttackInconclusive,
    ];

    /// Stable snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TcpConnect => "tcp_connect",
            ErrorKind::Handshake => "handshake",
            ErrorKind::NoEstablished => "no_established",
            ErrorKind::Refused => "refused",
            ErrorKind::SubscribeRefused => "subscribe_refused",
            ErrorKind::SubscribeTimeout => "subscribe_timeout",
            ErrorKind::AuthEndpoint => "auth_endpoint",
            ErrorKind::PublishStatus => "publish_status",
            ErrorKind::PublishTransport => "publish_transport",
            ErrorKind::ClientEventRefused => "client_event_refused",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::MalformedFrame => "malformed_frame",
            ErrorKind::AttackInconclusive => "attack_inconclusive",
        }
    }
}

/// Median of the samples (mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// (max - min) / median in percent; 0 for fewer than two samples.
pub fn spread_percent(samples: &[f64]) -> f64 {
    let m = median(samples);
    if samples.len() < 2 || m == 0.0 {
        return 0.0;
    }
    let max = samples.iter().copied().fold(f64::MIN, f64::max);
    let min = samples.iter().copied().fold(f64::MAX, f64::min);
    (max - min) / m * 100.0
}
