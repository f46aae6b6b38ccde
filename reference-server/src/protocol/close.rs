//! Close codes the server uses (spec 1.5) and what they mean.

/// The most bytes a close reason may have: a control frame carries at most
/// 125 bytes and the code takes 2 (RFC 6455 5.5).
pub const MAX_REASON_BYTES: usize = 123;

/// `reason` cut to [`MAX_REASON_BYTES`] on a character boundary, so the
/// close frame stays valid whatever the reason names.
pub fn fit_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_BYTES {
        return reason;
    }
    let mut end = MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Why the server closes a connection. Each maps to one spec 1.5 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCode {
    /// 4000: the app accepts only TLS; reconnect with `wss://`.
    TlsRequired,
    /// 4001: no app has this key.
    UnknownApp,
    /// 4003: the app is disabled.
    AppDisabled,
    /// 4004: the app is at its connection limit.
    OverQuota,
    /// 4005: the upgrade was not on `/app/{key}`.
    PathNotFound,
    /// 4006: `protocol` is not an integer.
    InvalidVersionFormat,
    /// 4007: `protocol` is an unsupported version.
    UnsupportedProtocol,
    /// 1002 (RFC 6455 7.4.1): the client broke the WebSocket framing rules.
    ProtocolError,
    /// 1007 (RFC 6455 7.4.1): a text frame or close reason is not UTF-8.
    InvalidPayload,
    /// 1009 (RFC 6455 7.4.1): an inbound message exceeded the frame limit.
    MessageTooBig,
    /// 4009: the user's connections were terminated through the HTTP API.
    Terminated,
    /// 4100: the client reads too slowly; its outbound queue overflowed.
    OverCapacity,
    /// 4200: the server is shutting down; reconnect at once.
    Reconnect,
    /// 4201: no reply to the server's ping in time.
    PongTimeout,
}

impl CloseCode {
    /// The numeric close code. Exhaustive on purpose: a new reason must be mapped.
    pub fn code(self) -> u16 {
        match self {
            CloseCode::TlsRequired => 4000,
            CloseCode::UnknownApp => 4001,
            CloseCode::AppDisabled => 4003,
            CloseCode::OverQuota => 4004,
            CloseCode::PathNotFound => 4005,
            CloseCode::InvalidVersionFormat => 4006,
            CloseCode::UnsupportedProtocol => 4007,
            CloseCode::ProtocolError => 1002,
            CloseCode::InvalidPayload => 1007,
            CloseCode::MessageTooBig => 1009,
            CloseCode::Terminated => 4009,
            CloseCode::OverCapacity => 4100,
            CloseCode::Reconnect => 4200,
            CloseCode::PongTimeout => 4201,
        }
    }

    /// Whether the close answers a WebSocket-level error by the client (RFC
    /// 6455 7.4.1), after which the server drains the socket.
    pub fn is_error(self) -> bool {
        match self {
            CloseCode::ProtocolError | CloseCode::InvalidPayload | CloseCode::MessageTooBig => true,
            CloseCode::TlsRequired
            | CloseCode::UnknownApp
            | CloseCode::AppDisabled
            | CloseCode::OverQuota
            | CloseCode::PathNotFound
            | CloseCode::InvalidVersionFormat
            | CloseCode::UnsupportedProtocol
            | CloseCode::Terminated
            | CloseCode::OverCapacity
            | CloseCode::Reconnect
            | CloseCode::PongTimeout => false,
        }
    }

    /// The human-readable reason sent with the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::TlsRequired => {
                "Application only accepts SSL connections, reconnect using wss://"
            }
            CloseCode::UnknownApp => "Application does not exist",
            CloseCode::AppDisabled => "Application disabled",
            CloseCode::OverQuota => "Application is over connection quota",
            CloseCode::PathNotFound => "Path not found",
            CloseCode::InvalidVersionFormat => "Invalid version string format",
            CloseCode::UnsupportedProtocol => "Unsupported protocol version",
            CloseCode::ProtocolError => "Protocol error",
            CloseCode::InvalidPayload => "Invalid UTF-8",
            CloseCode::MessageTooBig => "Message too big",
            CloseCode::Terminated => "You got disconnected by the app.",
            CloseCode::OverCapacity => "Over capacity: client is not reading fast enough",
            CloseCode::Reconnect => "Server shutting down; reconnect",
            CloseCode::PongTimeout => "Pong reply not received",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_to_123_bytes_on_a_character_boundary() {
        assert_eq!(fit_reason("short"), "short");
        let ascii = "k".repeat(200);
        assert_eq!(fit_reason(&ascii).len(), 123);
        // 'é' is 2 bytes: 61 of them are 122 bytes, the 62nd would end at 124.
        let accents = "é".repeat(100);
        assert_eq!(fit_reason(&accents), "é".repeat(61));
        let exact = "x".repeat(123);
        assert_eq!(fit_reason(&exact), exact);
    }
}
