//! The server's outbound frame: JSON text encoded once, shared by reference.
//!
//! A published event is encoded once and the same bytes go to every
//! recipient (DESIGN "Reference server: layers"), so a [`Frame`] clones by
//! reference count. It is the protocol's own type: the transport turns it
//! into whatever its WebSocket library sends.

use std::fmt;

use bytes::Bytes;

/// One outbound text frame. Always valid UTF-8: it can only be built from
/// strings.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    /// A frame from a static string, without copying.
    pub const fn from_static(text: &'static str) -> Frame {
        Frame(Bytes::from_static(text.as_bytes()))
    }

    /// The frame's text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("frames are built from strings only")
    }

    /// The frame's bytes, as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its length in bytes, as the outbound queue budgets it.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the frame is empty (no valid Pusher frame is).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The shared bytes, for the transport.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame(Bytes::from(text))
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
