//! The harness's own Pusher protocol 7 codec: envelopes over raw JSON values,
//! double-encoded `data`, close codes and channel kinds (spec sections 1, 2, 4.1).
//!
//! Nothing here is shared with `reference-server`: a shared bug would make both
//! sides agree (DESIGN.md, "Dependency direction").

mod channel;
mod close;
mod envelope;

pub use channel::ChannelKind;
pub use close::CloseCode;
pub use envelope::{DecodeError, Envelope, decode_data, double_encode};
