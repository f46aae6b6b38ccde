//! Closing after a WebSocket-level error (RFC 6455 7.1.7, 7.4.1): which close
//! code the error earns, and draining the socket afterwards.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tungstenite::error::{Error, ProtocolError};

use crate::protocol::close::CloseCode;

/// Most bytes read and discarded after an error close.
const DRAIN_BYTES: usize = 4 * 1024 * 1024;
/// How long the drain goes on at most.
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// Silence that ends the drain: the client has stopped sending.
const DRAIN_IDLE: Duration = Duration::from_millis(250);

/// The close code a read error earns; `None` when the connection is simply
/// gone (reset, closed, I/O error) and no close frame can be sent.
///
/// tungstenite tells the RFC 6455 errors apart: invalid UTF-8 (1007), every
/// framing violation (1002), an oversize message (1009).
pub(super) fn close_code_for(error: &Error) -> Option<CloseCode> {
    match error {
        Error::Capacity(_) => Some(CloseCode::MessageTooBig),
        Error::Utf8(_) => Some(CloseCode::InvalidPayload),
        Error::Protocol(e) => is_framing_violation(e).then_some(CloseCode::ProtocolError),
        Error::ConnectionClosed
        | Error::AlreadyClosed
        | Error::Io(_)
        | Error::Tls(_)
        | Error::WriteBufferFull(_)
        | Error::AttackAttempt
        | Error::Url(_)
        | Error::Http(_)
        | Error::HttpFormat(_) => None,
    }
}

/// Whether a protocol error is the client breaking the framing rules (close
/// 1002) rather than the connection ending or a handshake-time error.
fn is_framing_violation(error: &ProtocolError) -> bool {
    match error {
        ProtocolError::NonZeroReservedBits
        | ProtocolError::UnmaskedFrameFromClient
        | ProtocolError::MaskedFrameFromServer
        | ProtocolError::FragmentedControlFrame
        | ProtocolError::ControlFrameTooBig
        | ProtocolError::UnknownControlFrameType(_)
        | ProtocolError::UnknownDataFrameType(_)
        | ProtocolError::UnexpectedContinueFrame
        | ProtocolError::ExpectedFragment(_)
        | ProtocolError::InvalidOpcode(_)
        | ProtocolError::InvalidCloseSequence
        | ProtocolError::ReceivedAfterClosing => true,
        ProtocolError::ResetWithoutClosingHandshake
        | ProtocolError::SendAfterClosing
        | ProtocolError::WrongHttpMethod
        | ProtocolError::WrongHttpVersion
        | ProtocolError::MissingConnectionUpgradeHeader
        | ProtocolError::MissingUpgradeWebSocketHeader
        | ProtocolError::MissingSecWebSocketVersionHeader
        | ProtocolError::MissingSecWebSocketKey
        | ProtocolError::SecWebSocketAcceptKeyMismatch
        | ProtocolError::SecWebSocketSubProtocolError(_)
        | ProtocolError::JunkAfterRequest
        | ProtocolError::CustomResponseSuccessful
        | ProtocolError::InvalidHeader(_)
        | ProtocolError::HandshakeIncomplete
        | ProtocolError::HttparseError(_) => false,
    }
}

/// Reads and discards what the client still sends after the server's close
/// frame, until it goes quiet, closes, or a bound is reached. Closing a
/// socket with unread input makes the kernel send a reset, and a client that
/// is still writing (say, the rest of an oversize message) would lose the
/// close frame with it and see 1006 instead.
pub(super) async fn drain(io: &mut (impl tokio::io::AsyncRead + Unpin)) {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut total = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while total < DRAIN_BYTES {
            match tokio::time::timeout(DRAIN_IDLE, io.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) | Err(_) => return,
                Ok(Ok(n)) => total += n,
            }
        }
    })
    .await;
}
