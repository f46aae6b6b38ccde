//! Close codes the server uses (spec 1.5) and what they mean.

/// Why the server closes a connection. Each maps to one spec 1.5 code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCode {
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
            CloseCode::UnknownApp => 4001,
            CloseCode::AppDisabled => 4003,
            CloseCode::OverQuota => 4004,
            CloseCode::PathNotFound => 4005,
            CloseCode::InvalidVersionFormat => 4006,
            CloseCode::UnsupportedProtocol => 4007,
            CloseCode::MessageTooBig => 1009,
            CloseCode::Terminated => 4009,
            CloseCode::OverCapacity => 4100,
            CloseCode::Reconnect => 4200,
            CloseCode::PongTimeout => 4201,
        }
    }

    /// The human-readable reason sent with the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::UnknownApp => "Application does not exist",
            CloseCode::AppDisabled => "Application disabled",
            CloseCode::OverQuota => "Application is over connection quota",
            CloseCode::PathNotFound => "Path not found",
            CloseCode::InvalidVersionFormat => "Invalid version string format",
            CloseCode::UnsupportedProtocol => "Unsupported protocol version",
            CloseCode::MessageTooBig => "Message too big",
            CloseCode::Terminated => "You got disconnected by the app.",
            CloseCode::OverCapacity => "Over capacity: client is not reading fast enough",
            CloseCode::Reconnect => "Server shutting down; reconnect",
            CloseCode::PongTimeout => "Pong reply not received",
        }
    }
}
