//! WebSocket close codes of the Pusher protocol (spec 1.5).

/// A close code the Pusher protocol defines, or any other code seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 4000: the app accepts only TLS.
    TlsOnly,
    /// 4001: the app does not exist.
    UnknownApp,
    /// 4003: the app is disabled.
    AppDisabled,
    /// 4004: the app is over its connection quota.
    OverQuota,
    /// 4005: path not found.
    PathNotFound,
    /// 4006: invalid version string format.
    InvalidVersion,
    /// 4007: unsupported protocol version.
    UnsupportedProtocol,
    /// 4008: no protocol version supplied.
    NoProtocol,
    /// 4009: connection is unauthorized.
    Unauthorized,
    /// 4100: over capacity.
    OverCapacity,
    /// 4200: generic reconnect immediately.
    ReconnectImmediately,
    /// 4201: pong reply not received.
    PongNotReceived,
    /// 4202: closed after inactivity.
    Inactivity,
    /// 4301: client event rejected due to rate limit (an error-frame code).
    ClientEventRateLimit,
    /// 4302: watchlist limit exceeded (an error-frame code).
    WatchlistLimit,
    /// Any code the protocol does not define.
    Other(u16),
}

impl CloseCode {
    /// Maps a numeric code; unknown numbers become [`CloseCode::Other`].
    pub fn from_u16(code: u16) -> CloseCode {
        match code {
            4000 => CloseCode::TlsOnly,
            4001 => CloseCode::UnknownApp,
            4003 => CloseCode::AppDisabled,
            4004 => CloseCode::OverQuota,
            4005 => CloseCode::PathNotFound,
            4006 => CloseCode::InvalidVersion,
            4007 => CloseCode::UnsupportedProtocol,
            4008 => CloseCode::NoProtocol,
            4009 => CloseCode::Unauthorized,
            4100 => CloseCode::OverCapacity,
            4200 => CloseCode::ReconnectImmediately,
            4201 => CloseCode::PongNotReceived,
            4202 => CloseCode::Inactivity,
            4301 => CloseCode::ClientEventRateLimit,
            4302 => CloseCode::WatchlistLimit,
            other => CloseCode::Other(other),
        }
    }

    /// The numeric code. Exhaustive on purpose (STYLE 2.7): a new variant must
    /// be mapped before this compiles.
    pub fn as_u16(self) -> u16 {
        match self {
            CloseCode::TlsOnly => 4000,
            CloseCode::UnknownApp => 4001,
            CloseCode::AppDisabled => 4003,
            CloseCode::OverQuota => 4004,
            CloseCode::PathNotFound => 4005,
            CloseCode::InvalidVersion => 4006,
            CloseCode::UnsupportedProtocol => 4007,
            CloseCode::NoProtocol => 4008,
            CloseCode::Unauthorized => 4009,
            CloseCode::OverCapacity => 4100,
            CloseCode::ReconnectImmediately => 4200,
            CloseCode::PongNotReceived => 4201,
            CloseCode::Inactivity => 4202,
            CloseCode::ClientEventRateLimit => 4301,
            CloseCode::WatchlistLimit => 4302,
            CloseCode::Other(code) => code,
        }
    }

    /// True for 4300-4399, codes that make pusher-js stop reconnecting for good.
    pub fn is_43xx(self) -> bool {
        (4300..4400).contains(&self.as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_code_round_trips() {
        for n in [
            4000, 4001, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4100, 4200, 4201, 4202, 4301,
            4302, 1000, 4150,
        ] {
            assert_eq!(CloseCode::from_u16(n).as_u16(), n);
        }
        assert_eq!(CloseCode::from_u16(4150), CloseCode::Other(4150));
        assert!(CloseCode::ClientEventRateLimit.is_43xx());
        assert!(!CloseCode::PongNotReceived.is_43xx());
    }
}
