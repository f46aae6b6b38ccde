//! Why the server refuses what a client asked for: each reason is a variant,
//! its `Display` is the message of the `pusher:error` frame (spec 2.2, 4.5,
//! 5.3, 6.2, 7.3) and [`Refusal::code`] its `code`.
//!
//! The wording follows the hosted service where the spec records it; tests
//! match on variants, never on the text.

use super::auth::AuthError;
use super::channel::ChannelNameError;
use super::frame::Frame;
use super::message::{self, DecodeError};

/// A refusal sent to the client as `pusher:error`; the connection stays open.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The frame is not an envelope the server understands (spec 2.4).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An event name that is neither a protocol event nor `client-` (spec 6.2).
    #[error(
        "Unsupported event {name}: clients may only send pusher: protocol events and client- events"
    )]
    UnsupportedEvent {
        /// The event name received.
        name: String,
    },
    /// A binary WebSocket frame (spec 2.1: text only).
    #[error("Binary frames are not supported; send JSON text")]
    Binary,
    /// A refused `pusher:subscribe` (spec 4.5).
    #[error(transparent)]
    Subscribe(#[from] SubscribeRefusal),
    /// `pusher:unsubscribe` or a client event for a channel not subscribed (spec 4.6, 6.2).
    #[error("No current subscription to channel {channel}, or subscription in progress")]
    NotSubscribed {
        /// The channel named.
        channel: String,
    },
    /// A refused `pusher:signin` (spec 5.3): code 4009.
    #[error(transparent)]
    Signin(#[from] SigninRefusal),
    /// A sign-in's watchlist was cut to the limit (spec 10.4): code 4302.
    #[error("Watchlist limit exceeded. Only the first {limit} user IDs are accepted.")]
    WatchlistTruncated {
        /// The limit applied.
        limit: usize,
    },
    /// A refused client event (spec 6.2).
    #[error(transparent)]
    ClientEvent(#[from] ClientEventRefusal),
}

impl Refusal {
    /// The `pusher:error` frame that tells the client (spec 2.2).
    pub fn frame(&self) -> Frame {
        message::error(self.code(), &self.to_string())
    }

    /// The `code` of the `pusher:error` frame. Exhaustive on purpose.
    pub fn code(&self) -> Option<u16> {
        match self {
            Refusal::Signin(_) => Some(4009),
            Refusal::WatchlistTruncated { .. } => Some(4302),
            Refusal::ClientEvent(ClientEventRefusal::RateLimited) => Some(4301),
            Refusal::ClientEvent(_)
            | Refusal::Decode(_)
            | Refusal::UnsupportedEvent { .. }
            | Refusal::Binary
            | Refusal::Subscribe(_)
            | Refusal::NotSubscribed { .. } => None,
        }
    }
}

/// Why a subscription is refused (spec 4.5, 7.3, 10.3).
#[derive(Debug, thiserror::Error)]
pub enum SubscribeRefusal {
    /// The name breaks spec 4.2.
    #[error("Invalid channel name '{channel}': {reason}")]
    InvalidName {
        /// The name.
        channel: String,
        /// Which rule it breaks.
        reason: ChannelNameError,
    },
    /// The connection is already subscribed (spec 4.5).
    #[error("Existing subscription to channel {channel}")]
    Duplicate {
        /// The channel.
        channel: String,
    },
    /// A public subscription without an `auth` field (only under a fault).
    #[error("{channel}: auth is required")]
    AuthFieldRequired {
        /// The channel.
        channel: String,
    },
    /// `#server-to-user-<id>` from a connection not signed in as `<id>` (spec 10.3).
    #[error("Cannot subscribe to {channel}: the connection is not signed in as that user")]
    NotSignedInAs {
        /// The channel.
        channel: String,
    },
    /// The channel authorization failed (spec 5.2).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A presence subscription with neither `channel_data` nor a sign-in (spec 7.1).
    #[error(
        "{channel} is a presence channel and subscription must include channel_data (or the connection must be signed in)"
    )]
    PresenceWithoutMember {
        /// The channel.
        channel: String,
    },
    /// `channel_data` is not an acceptable presence member (spec 7.1).
    #[error(transparent)]
    Member(#[from] MemberRefusal),
    /// The connection has as many subscriptions as the app allows.
    #[error("Subscription limit ({limit}) reached for this connection; unsubscribe first")]
    TooManySubscriptions {
        /// The limit.
        limit: usize,
    },
    /// The presence channel is full (spec 7.3).
    #[error("Presence channel member limit ({limit}) reached for {channel}")]
    MemberLimit {
        /// The limit.
        limit: usize,
        /// The channel.
        channel: String,
    },
}

/// Why presence `channel_data` is refused (spec 7.1).
#[derive(Debug, thiserror::Error)]
pub enum MemberRefusal {
    /// Not a JSON object with a `user_id`.
    #[error("channel_data is not a valid presence member: {0}")]
    NotJson(#[source] serde_json::Error),
    /// `user_id` is missing, empty, or neither a string nor a number.
    #[error("channel_data.user_id must be a non-empty string or a number")]
    BadUserId,
    /// `user_id` is longer than the limit.
    #[error("user_id is longer than {limit} characters")]
    UserIdTooLong {
        /// The limit in characters.
        limit: usize,
    },
    /// `user_info` is present but not an object.
    #[error(
        "user_info supplied to presence subscription is invalid - if supplied it must be a type of hash"
    )]
    UserInfoNotObject,
    /// `user_info` is larger than the limit.
    #[error("user_info is larger than {limit} bytes")]
    UserInfoTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

/// Why a sign-in is refused (spec 5.3).
#[derive(Debug, thiserror::Error)]
pub enum SigninRefusal {
    /// The app has user authentication switched off.
    #[error("User authentication is not enabled for this app")]
    Disabled,
    /// The signature does not verify.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// `user_data` is not a JSON object.
    #[error("user_data is not a valid user object: {0}")]
    BadUserData(#[source] serde_json::Error),
    /// `user_data.id` is missing, empty or not a string.
    #[error("user_data.id must be a non-empty string")]
    BadId,
    /// The connection is signed in as someone else already.
    #[error("Connection is already signed in as a different user ({current})")]
    OtherUser {
        /// The user it is signed in as.
        current: String,
    },
}

/// Why a client event is refused (spec 6.2).
#[derive(Debug, thiserror::Error)]
pub enum ClientEventRefusal {
    /// The app does not allow client events.
    #[error("To send client events, you must enable this feature in the app settings")]
    Disabled,
    /// The frame has no `channel`.
    #[error("Client event without a channel")]
    NoChannel,
    /// Client events are not allowed on this kind of channel.
    #[error("Client events are only allowed on private and presence channels, not {channel}")]
    WrongChannelKind {
        /// The channel.
        channel: String,
    },
    /// The sender is not subscribed to the channel.
    #[error("No current subscription to channel {channel}, or subscription in progress")]
    NotSubscribed {
        /// The channel.
        channel: String,
    },
    /// `data` is over the app's payload limit (spec 2.3).
    #[error("Client event data is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Size received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Over the per-connection rate (spec 6.2, 13.8): code 4301.
    #[error("Client event rejected due to rate limit")]
    RateLimited,
}
