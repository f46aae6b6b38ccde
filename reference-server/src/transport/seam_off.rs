//! The seam in a build without faults: every frame passes unchanged.

use std::time::Instant;

use crate::faults::Handle;
use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;

/// Pass-through: zero-sized, every method inlines to nothing.
#[derive(Debug)]
pub(crate) struct Seam;

impl Seam {
    /// The seam for one connection.
    #[inline(always)]
    pub(crate) fn new(_faults: &Handle) -> Seam {
        Seam
    }

    /// Never active: frames never need to pass the seam.
    pub(crate) fn is_active(&self) -> bool {
        false
    }

    /// The frame, unchanged.
    #[inline(always)]
    pub(crate) fn outbound(&mut self, frame: Frame, _now: Instant) -> std::iter::Once<Frame> {
        std::iter::once(frame)
    }

    /// Nothing is ever held.
    #[inline(always)]
    pub(crate) fn next_due(&self) -> Option<Instant> {
        None
    }

    /// Nothing is ever held.
    #[inline(always)]
    pub(crate) fn release(&mut self, _now: Instant) -> std::iter::Empty<Frame> {
        std::iter::empty()
    }

    /// No inbound text ends the connection task.
    #[inline(always)]
    pub(crate) fn drops_on(&self, _text: &str) -> bool {
        false
    }

    /// The server pings silent clients.
    #[inline(always)]
    pub(crate) fn pings(&self) -> bool {
        true
    }

    /// The code of the spec.
    #[inline(always)]
    pub(crate) fn close_code(_faults: &Handle, code: CloseCode) -> u16 {
        code.code()
    }
}
