//! Talking to a target: the WebSocket protocol client, the signed REST client,
//! the CA trust both share for TLS, and the webhook sink. Waiting words are `expect_*` (a miss is a
//! [`ExpectError::Violation`]) or `recv_*` (a miss is `None`).

pub mod journal;
mod rest;
mod sink;
mod tls;
mod ws;

pub use rest::{Prepared, RestClient, RestError, RestRequest, RestResponse};
pub use sink::{SinkError, WebhookDelivery, WebhookSink};
pub use tls::{TlsError, TlsTrust};
pub use ws::{ClientError, Incoming, ProtocolClient};

/// The outcome of a failed `expect_*`: the target did something else, or the
/// harness itself could not talk to it.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// The target broke an expectation.
    #[error("expected {expected}, got {actual}")]
    Violation {
        /// What should have happened.
        expected: String,
        /// What was seen instead.
        actual: String,
    },
    /// The WebSocket client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The REST client failed.
    #[error(transparent)]
    Rest(#[from] RestError),
}

impl ExpectError {
    /// Shorthand for a violation.
    pub fn violation(expected: impl Into<String>, actual: impl Into<String>) -> ExpectError {
        ExpectError::Violation {
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// "nothing within N ms", the standard `actual` of a timed-out wait (STYLE 2.3).
pub fn nothing_within(timeout: std::time::Duration) -> String {
    format!("nothing within {} ms", timeout.as_millis())
}
