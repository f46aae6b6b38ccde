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
    /// `member_added` (frame and webhook) is sent for every connection of a
    /// user, not once per user.
    pub member_added_per_connection: bool,
    /// Cache channels never replay their last event.
    pub no_cache_replay: bool,
    /// A refused subscriber still receives the channel's events.
    pub leak_failed_subscriber: bool,
    /// Channel names are not validated.
    pub accept_bad_channel_names: bool,
    /// Client events are relayed even from connections not subscribed to the channel.
    pub allow_unsubscribed_client_events: bool,

    // Switches below were added so that every conformance case has been
    // seen failing (issue 3); each breaks the rule of the case(s) named.
    /// `connection_established` carries `data` as an object, not a string.
    pub established_data_object: bool,
    /// `connection_established` advertises `activity_timeout` 0.
    pub activity_timeout_zero: bool,
    /// Socket ids use `:` instead of `.` between their two numbers.
    pub socket_id_colon: bool,
    /// Close code used instead of 4003, 4004, 4005, 4006 and 4007.
    pub refusal_close_code: Option<u16>,
    /// A connection whose query has a parameter other than `protocol` is refused.
    pub refuse_unknown_query_params: bool,
    /// `pusher:pong` is preceded by a text frame that is not a JSON object.
    pub malformed_frame_before_pong: bool,
    /// A refused subscription's `pusher:error` has no `message`.
    pub error_without_message: bool,
    /// `pusher:subscribe` whose `data` is a JSON string is refused.
    pub refuse_string_data: bool,
    /// A frame that is not a valid envelope closes the connection.
    pub close_on_malformed: bool,
    /// A silent client is never pinged; it is closed after the pong timeout.
    pub no_server_ping: bool,
    /// A client missing its pong is closed with 4200 instead of 4201.
    pub pong_timeout_close_4200: bool,
    /// Only control frames and `pusher:ping` count as proof of life.
    pub only_pings_keep_alive: bool,
    /// `subscription_succeeded` of non-presence channels carries `data` as an object.
    pub succeeded_data_object: bool,
    /// A public subscribe without an `auth` field is refused.
    pub public_needs_auth_field: bool,
    /// Every channel signature is refused, valid or not.
    pub refuse_every_signature: bool,
    /// A missing or empty `auth` is accepted.
    pub accept_missing_auth: bool,
    /// The key part of a channel `auth` is not compared with the app key.
    pub ignore_auth_key_part: bool,
    /// Signatures are compared case-insensitively.
    pub hex_case_insensitive: bool,
    /// A refused subscription also closes the connection.
    pub close_on_refused_subscribe: bool,
    /// A second subscribe to the same channel succeeds again.
    pub allow_duplicate_subscribe: bool,
    /// `pusher:unsubscribe` is ignored.
    pub ignore_unsubscribe: bool,
    /// Unsubscribing from a channel not subscribed closes the connection.
    pub close_on_unknown_unsubscribe: bool,
    /// A channel kind prefix is matched anywhere in the name, not only at its start.
    pub unanchored_prefixes: bool,
    /// `#` names pass validation and `#server-to-user-` needs no sign-in.
    pub accept_hash_channels: bool,
    /// The presence roster is built before the joiner is added to it.
    pub roster_without_self: bool,
    /// `member_added` is also sent to the member who joined.
    pub member_added_to_joiner: bool,
    /// A numeric presence `user_id` is refused.
    pub refuse_numeric_user_id: bool,
    /// `user_info` of any JSON type is accepted.
    pub accept_any_user_info: bool,
    /// The presence member limit is not enforced.
    pub no_presence_limit: bool,
    /// A signed-in connection must still send `channel_data` to join presence.
    pub ignore_signin_identity: bool,
    /// Presence channels get `subscription_count` too.
    pub count_on_presence: bool,
    /// `subscription_count` is never sent.
    pub no_subscription_count: bool,
    /// Client events on presence channels carry no `user_id`.
    pub no_client_event_user_id: bool,
    /// Events from clients are relayed whatever their name.
    pub relay_any_event_name: bool,
    /// The app's `client_events` setting is ignored.
    pub ignore_client_events_setting: bool,
    /// Client events on cache channels are cached.
    pub cache_client_events: bool,
    /// `client_event` webhooks carry no `user_id`.
    pub client_event_webhook_without_user: bool,
    /// `signin_success` echoes `{}` instead of the signed `user_data`.
    pub signin_success_empty: bool,
    /// A sign-in's `user_data.id` is not validated.
    pub signin_id_unchecked: bool,
    /// `#server-to-user-<id>` is refused even to a connection signed in as `id`.
    pub refuse_server_to_user: bool,
    /// Events published to `#server-to-user-` channels are dropped.
    pub drop_server_to_user_events: bool,
    /// Published `data` is parsed and re-serialised before delivery.
    pub reencode_event_data: bool,
    /// Subscribers to an empty cache channel get no `pusher:cache_miss`.
    pub no_cache_miss: bool,
    /// Cached events never expire.
    pub cache_never_expires: bool,
    /// Watchlists are accepted and then ignored: no `watchlist_events` at all.
    pub ignore_watchlist: bool,
    /// The watchlist size limit is not enforced.
    pub no_watchlist_limit: bool,
    /// Webhooks are signed with a wrong secret.
    pub webhook_wrong_secret: bool,
    /// `channel_vacated` webhooks are never sent.
    pub no_vacated_webhook: bool,
    /// Webhook `time_ms` is in seconds.
    pub webhook_time_in_seconds: bool,
    /// `cache_miss` webhooks are not de-duplicated.
    pub no_cache_miss_dedup: bool,
    /// A multi-channel publish reaches only its first channel, a batch only its first event.
    pub deliver_first_only: bool,
    /// `info` on a publish is ignored.
    pub ignore_publish_info: bool,
    /// Reserved `pusher:` event names may be published.
    pub accept_reserved_event_names: bool,
    /// An encrypted channel may be published together with others.
    pub encrypted_multi_allowed: bool,
    /// `GET /channels` ignores `filter_by_prefix`.
    pub ignore_prefix_filter: bool,
    /// `user_count` is answered for any channel or prefix.
    pub user_count_unrestricted: bool,
    /// `GET /channels/<name>` always says `occupied: true`.
    pub always_occupied: bool,
    /// `GET /channels/<name>/users` lists nobody.
    pub users_list_empty: bool,
    /// `GET /channels/<name>/users` answers for non-presence channels too.
    pub users_any_channel: bool,
    /// `terminate_connections` does nothing.
    pub terminate_noop: bool,
    /// A timestamp exactly at the window's edge is accepted.
    pub timestamp_window_inclusive: bool,
    /// Any `auth_version` is accepted.
    pub any_auth_version: bool,
    /// Upper-case query keys are refused (keys are not lowercased before signing).
    pub rest_keys_case_sensitive: bool,
    /// `auth_key` is not compared with the app's key.
    pub ignore_auth_key: bool,
    /// The app is found by `auth_key`, not by the id in the path.
    pub app_from_auth_key: bool,
    /// A GET with `body_md5` is refused.
    pub refuse_get_body_md5: bool,
}
