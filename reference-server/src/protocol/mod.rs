//! The Pusher protocol 7 as pure code: names, signatures, frames and the per-connection session.
//!
//! Nothing here does I/O; the transport feeds frames and instants in and
//! carries the resulting [`session::Action`]s out.

pub mod auth;
pub mod channel;
pub mod close;
pub mod frame;
pub mod message;
pub mod refusal;
pub mod session;
