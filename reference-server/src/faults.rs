//! Deliberate misbehaviours for the harness's self-test (STYLE 2.8).
//!
//! Each switch breaks one protocol rule so that a conformance case can be
//! seen failing against it. They can only be switched on in a build with the
//! `faults` feature (the harness's tests); in every other build the server
//! uses [`Faults::default`], all off.

use serde::Deserialize;

/// The switches; all off by default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Channel authorizations and sign-ins are accepted whatever their signature.
    pub accept_any_signature: bool,
    /// `private-cache-`, `presence-cache-`, `private-encrypted-cache-` need no auth.
    pub cache_variants_unsigned: bool,
    /// REST `auth_timestamp` is not checked.
    pub ignore_rest_timestamp: bool,
    /// REST `auth_signature` is not checked.
    pub ignore_rest_signature: bool,
    /// REST `body_md5` is not compared with the body.
    pub ignore_body_md5: bool,
    /// Client events are also delivered back to their sender.
    pub echo_client_events: bool,
    /// Client events are relayed on public channels too.
    pub client_events_on_public: bool,
    /// `member_removed` is never sent.
    pub drop_member_removed: bool,
    /// REST `socket_id` exclusion is ignored.
    pub skip_socket_exclusion: bool,
    /// Close code used instead of 4001 for an unknown app key.
    pub unknown_key_close_code: Option<u16>,
    /// `pusher:ping` is not answered.
    pub no_pong: bool,
    /// A client-supplied `user_id` in a presence client event is relayed as is.
    pub keep_client_user_id: bool,
    /// Client events are not rate limited.
    pub no_client_event_rate_limit: bool,
    /// `member_added` is sent for every connection of a user, not once per user.
    pub member_added_per_connection: bool,
    /// Cache channels never replay their last event.
    pub no_cache_replay: bool,
    /// A refused subscriber still receives the channel's events.
    pub leak_failed_subscriber: bool,
    /// Channel names are not validated.
    pub accept_bad_channel_names: bool,
    /// Client events are relayed even from connections not subscribed to the channel.
    pub allow_unsubscribed_client_events: bool,
}
