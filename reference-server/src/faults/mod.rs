//! Deliberate misbehaviours for the harness's self-test (STYLE 2.8).
//!
//! Each switch breaks one protocol rule so that a conformance case can be
//! seen failing against it. Built with the `faults` feature (the harness's
//! tests), [`Faults`] is a struct of public switches, all off by default.
//! Built without it, [`Faults`] is a zero-sized type whose accessors are
//! constant `false` / `None`, so the optimiser removes every fault path and a
//! release build contains none.
//!
//! Two kinds of switch:
//!
//! - *Decision* switches change what the core decides (accept a bad
//!   signature, skip an exclusion); the core asks `faults.name()`.
//! - *Frame* switches change only what goes on the wire. They are applied in
//!   one place, the transport's seam (`transport/seam.rs`), between the session/hub and the transport, and
//!   the core never sees them. A new wire-level fault is a switch below plus
//!   one rule in the seam.
//!
//! Limits are not faults: a server that breaks a limit rule is a server
//! configured past the spec's limit (e.g. `max_presence_members = 1000`).

/// How the server shares its switches: an `Arc` when there are switches, the
/// zero-sized [`Faults`] itself when there are none (no pointer per connection).
#[cfg(feature = "faults")]
pub type Handle = std::sync::Arc<Faults>;
/// How the server shares its switches: the zero-sized [`Faults`] itself.
#[cfg(not(feature = "faults"))]
pub type Handle = Faults;

/// Declares the switches once: the struct and accessors with `faults`, the
/// zero-sized type with constant accessors without.
macro_rules! switches {
    ($($(#[doc = $doc:literal])* $name:ident: $ty:ty = $off:expr;)*) => {
        /// The switches; all off by default.
        #[cfg(feature = "faults")]
        #[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Faults {
            $($(#[doc = $doc])* pub $name: $ty,)*
        }

        #[cfg(feature = "faults")]
        impl Faults {
            $($(#[doc = $doc])* #[inline] pub fn $name(&self) -> $ty { self.$name })*
        }

        /// No switches: this build has no `faults` feature.
        #[cfg(not(feature = "faults"))]
        #[derive(Clone, Debug, Default)]
        pub struct Faults(());

        #[cfg(not(feature = "faults"))]
        impl Faults {
            $($(#[doc = $doc])* #[inline(always)] pub const fn $name(&self) -> $ty { $off })*
        }
    };
}

switches! {
    /// Channel authorizations and sign-ins are accepted whatever their signature.
    accept_any_signature: bool = false;
    /// `private-cache-`, `presence-cache-`, `private-encrypted-cache-` need no auth.
    cache_variants_unsigned: bool = false;
    /// REST `auth_timestamp` is not checked.
    ignore_rest_timestamp: bool = false;
    /// REST `auth_signature` is not checked.
    ignore_rest_signature: bool = false;
    /// A REST request missing `auth_key`, `auth_version`, `auth_timestamp`
    /// or `auth_signature` is let through instead of refused with 401.
    auth_params_optional: bool = false;
    /// A REST signature computed over the `auth_*` parameters only is also
    /// accepted, so parameters added to such a request are not bound by it.
    rest_signature_auth_params_only: bool = false;
    /// REST `body_md5` is not compared with the body.
    ignore_body_md5: bool = false;
    /// Client events are also delivered back to their sender.
    echo_client_events: bool = false;
    /// Client events are relayed on public channels too.
    client_events_on_public: bool = false;
    /// REST `socket_id` exclusion is ignored.
    skip_socket_exclusion: bool = false;
    /// A client-supplied `user_id` in a presence client event is relayed as is.
    keep_client_user_id: bool = false;
    /// `member_added` (frame and webhook) is sent for every connection of a
    /// user, not once per user.
    member_added_per_connection: bool = false;
    /// Cache channels never replay their last event.
    no_cache_replay: bool = false;
    /// A refused subscriber still receives the channel's events.
    leak_failed_subscriber: bool = false;
    /// Channel names are not validated.
    accept_bad_channel_names: bool = false;
    /// Client events are relayed even from connections not subscribed to the channel.
    allow_unsubscribed_client_events: bool = false;
    /// A connection whose query has a parameter other than `protocol` is refused.
    refuse_unknown_query_params: bool = false;
    /// `pusher:subscribe` whose `data` is a JSON string is refused.
    refuse_string_data: bool = false;
    /// A frame that is not a valid envelope closes the connection.
    close_on_malformed: bool = false;
    /// Only control frames and `pusher:ping` count as proof of life.
    only_pings_keep_alive: bool = false;
    /// A public subscribe without an `auth` field is refused.
    public_needs_auth_field: bool = false;
    /// Every channel signature is refused, valid or not.
    refuse_every_signature: bool = false;
    /// A missing or empty `auth` is accepted.
    accept_missing_auth: bool = false;
    /// The key part of a channel `auth` is not compared with the app key.
    ignore_auth_key_part: bool = false;
    /// Signatures are compared case-insensitively.
    hex_case_insensitive: bool = false;
    /// A refused subscription also closes the connection.
    close_on_refused_subscribe: bool = false;
    /// A second subscribe to the same channel succeeds again.
    allow_duplicate_subscribe: bool = false;
    /// `pusher:unsubscribe` is ignored.
    ignore_unsubscribe: bool = false;
    /// Unsubscribing from a channel not subscribed closes the connection.
    close_on_unknown_unsubscribe: bool = false;
    /// A channel kind prefix is matched anywhere in the name, not only at its start.
    unanchored_prefixes: bool = false;
    /// `#` names pass validation and `#server-to-user-` needs no sign-in.
    accept_hash_channels: bool = false;
    /// The presence roster is built before the joiner is added to it.
    roster_without_self: bool = false;
    /// `member_added` is also sent to the member who joined.
    member_added_to_joiner: bool = false;
    /// A numeric presence `user_id` is refused.
    refuse_numeric_user_id: bool = false;
    /// `user_info` of any JSON type is accepted.
    accept_any_user_info: bool = false;
    /// A signed-in connection must still send `channel_data` to join presence.
    ignore_signin_identity: bool = false;
    /// Presence channels get `subscription_count` too.
    count_on_presence: bool = false;
    /// Client events on presence channels carry no `user_id`.
    no_client_event_user_id: bool = false;
    /// Events from clients are relayed whatever their name.
    relay_any_event_name: bool = false;
    /// Client events named `pusher:*` or `pusher_internal:*` are relayed
    /// like `client-` ones (a forged `member_added` poisons rosters).
    relay_reserved_client_events: bool = false;
    /// A refused presence subscriber still joins the roster with the
    /// `channel_data` it sent (a forged member).
    forged_presence_member: bool = false;
    /// A user whose connections were terminated cannot sign in again.
    ban_terminated_users: bool = false;
    /// A signed-in connection may sign in again as another user.
    allow_resignin_other_user: bool = false;
    /// Presence signatures are checked over `socket_id:channel` only, so any
    /// `channel_data` rides on a private-style signature.
    presence_signature_without_data: bool = false;
    /// A client-supplied `user_id` is relayed on every channel kind.
    relay_client_user_id: bool = false;
    /// Channel kinds are judged case-insensitively and without the dash
    /// (`Private-x` and `privateer-x` become private).
    loose_prefixes: bool = false;
    /// Channel names are limited to letters, digits, `_` and `-` (the
    /// narrower rule of one doc page), refusing `=@,.;`.
    narrow_channel_names: bool = false;
    /// Channel names over 164 characters are refused (the doc's number,
    /// where every SDK sends up to 200).
    channel_names_164: bool = false;
    /// Event data limits count characters, not bytes.
    payload_limit_in_chars: bool = false;
    /// `POST /events` accepts bodies it should refuse with 400 (no name,
    /// non-string data, both `channel` and `channels`, no channels, bad
    /// names or socket ids, unparsable JSON).
    lenient_rest_events: bool = false;
    /// The app's `client_events` setting is ignored.
    ignore_client_events_setting: bool = false;
    /// Client events on cache channels are cached.
    cache_client_events: bool = false;
    /// `client_event` webhooks carry no `user_id`.
    client_event_webhook_without_user: bool = false;
    /// A sign-in's `user_data.id` is not validated.
    signin_id_unchecked: bool = false;
    /// `#server-to-user-<id>` is refused even to a connection signed in as `id`.
    refuse_server_to_user: bool = false;
    /// Events published to `#server-to-user-` channels are dropped.
    drop_server_to_user_events: bool = false;
    /// Watchlists are accepted and then ignored: no `watchlist_events` at all.
    ignore_watchlist: bool = false;
    /// Webhooks are signed with a wrong secret.
    webhook_wrong_secret: bool = false;
    /// `channel_vacated` webhooks are never sent.
    no_vacated_webhook: bool = false;
    /// Webhook `time_ms` is in seconds.
    webhook_time_in_seconds: bool = false;
    /// `cache_miss` webhooks are not de-duplicated.
    no_cache_miss_dedup: bool = false;
    /// A multi-channel publish reaches only its first channel, a batch only its first event.
    deliver_first_only: bool = false;
    /// `info` on a publish is ignored.
    ignore_publish_info: bool = false;
    /// Reserved `pusher:` event names may be published.
    accept_reserved_event_names: bool = false;
    /// An encrypted channel may be published together with others.
    encrypted_multi_allowed: bool = false;
    /// `GET /channels` ignores `filter_by_prefix`.
    ignore_prefix_filter: bool = false;
    /// `user_count` is answered for any channel or prefix.
    user_count_unrestricted: bool = false;
    /// `GET /channels/<name>` always says `occupied: true`.
    always_occupied: bool = false;
    /// `GET /channels/<name>/users` lists nobody.
    users_list_empty: bool = false;
    /// `GET /channels/<name>/users` answers for non-presence channels too.
    users_any_channel: bool = false;
    /// `terminate_connections` does nothing.
    terminate_noop: bool = false;
    /// Any `auth_version` is accepted.
    any_auth_version: bool = false;
    /// Upper-case query keys are refused (keys are not lowercased before signing).
    rest_keys_case_sensitive: bool = false;
    /// `auth_key` is not compared with the app's key.
    ignore_auth_key: bool = false;
    /// The app is found by `auth_key`, not by the id in the path.
    app_from_auth_key: bool = false;
    /// A GET with `body_md5` is refused.
    refuse_get_body_md5: bool = false;

    // Cluster switches (issue 13): break a rule only across nodes, in
    // `cluster/` and `hub/clustered.rs`; a single node never asks them.
    /// Every node numbers its socket ids under the same prefix with its own
    /// counter, so two nodes hand out the same ids.
    cluster_shared_socket_prefix: bool = false;
    /// HTTP API events from another node are delivered twice.
    cluster_remote_duplicates: bool = false;
    /// A batch reaches the other nodes in reverse order (its own node's
    /// subscribers still get it in order).
    cluster_remote_batch_reversed: bool = false;
    /// `socket_id` exclusion is ignored for events from another node.
    cluster_remote_exclusion_ignored: bool = false;
    /// Events to `#server-to-user-` channels reach the user's connections
    /// on the node that took the request only.
    cluster_user_events_local: bool = false;
    /// Client events reach the sender's node only.
    cluster_client_events_local: bool = false;
    /// A node relays its own client events again when Redis hands them
    /// back, so the sender gets its event.
    cluster_echo_own_client_events: bool = false;
    /// Client events relayed from another node lose their `user_id`.
    cluster_remote_client_events_without_user: bool = false;
    /// A presence roster lists the members on the joiner's node only.
    cluster_roster_local: bool = false;
    /// A user's first connection on each node sends `member_added`, not
    /// only its first connection in the cluster.
    cluster_member_added_per_node: bool = false;
    /// The presence member limit counts the members on the joiner's node only.
    cluster_member_limit_per_node: bool = false;
    /// Dead nodes are never reaped: their members and subscriptions stay.
    cluster_no_reaping: bool = false;
    /// A node reaped while frozen puts its connections back when it resumes
    /// (announced again) instead of closing them.
    cluster_thaw_keeps_clients: bool = false;
    /// Each node sends `channel_occupied` when the channel gets its first
    /// subscriber on that node, and `channel_vacated` when it loses its last.
    cluster_webhooks_per_node: bool = false;
    /// A reaped node's `channel_vacated` and `member_removed` webhooks are
    /// sent by the reaper and again by every other surviving node.
    cluster_reap_webhooks_per_node: bool = false;
    /// Watchlists are the node's own: state and online/offline events count
    /// only users signed in on the watcher's node.
    cluster_watchlist_local: bool = false;
    /// A reaped node's signed-in users stay online for watchers elsewhere.
    cluster_reap_keeps_users: bool = false;
    /// A dead node's reap takes its signed-in users offline but keeps its
    /// record of them, and the node started again under the same name
    /// signs them in again: watchers see them online with no connection.
    cluster_restart_revives_users: bool = false;
    /// Cache channels replay only what the subscriber's node published.
    cluster_cache_local: bool = false;
    /// The HTTP API's channel queries (`/channels`, `/channels/<name>`,
    /// `/channels/<name>/users`) answer from the node's own share.
    cluster_rest_local: bool = false;
    /// `/channels/<name>/users` alone answers from the node's own share.
    cluster_rest_users_local: bool = false;
    /// The connection quota is counted per node.
    cluster_quota_per_node: bool = false;

    // Frame switches: applied by the seam only (see seam.rs).
    /// `member_removed` is never sent.
    drop_member_removed: bool = false;
    /// Close code used instead of 4001 for an unknown app key.
    unknown_key_close_code: Option<u16> = None;
    /// `pusher:ping` is not answered.
    no_pong: bool = false;
    /// `connection_established` carries `data` as an object, not a string.
    established_data_object: bool = false;
    /// `connection_established` advertises `activity_timeout` 0.
    activity_timeout_zero: bool = false;
    /// Socket ids use `:` instead of `.` between their two numbers.
    socket_id_colon: bool = false;
    /// Close code used instead of 4003, 4004, 4005, 4006 and 4007.
    refusal_close_code: Option<u16> = None;
    /// `pusher:pong` is preceded by a text frame that is not a JSON object.
    malformed_frame_before_pong: bool = false;
    /// A refused subscription's `pusher:error` has no `message`.
    error_without_message: bool = false;
    /// A silent client is never pinged; it is closed after the pong timeout.
    no_server_ping: bool = false;
    /// A silent client gets `pusher:ping` without the control ping, as some
    /// servers do: only its `pusher:pong` keeps it open.
    only_text_ping: bool = false;
    /// A client missing its pong is closed with 4200 instead of 4201.
    pong_timeout_close_4200: bool = false;
    /// `subscription_succeeded` of non-presence channels carries `data` as an object.
    succeeded_data_object: bool = false;
    /// `subscription_count` is never sent.
    no_subscription_count: bool = false;
    /// `signin_success` echoes `{}` instead of the signed `user_data`.
    signin_success_empty: bool = false;
    /// Published `data` is parsed and re-serialised before delivery.
    reencode_event_data: bool = false;
    /// Subscribers to an empty cache channel get no `pusher:cache_miss`.
    no_cache_miss: bool = false;
    /// Channel events (not `pusher:` or `pusher_internal:` frames) reach the
    /// client this many ms after they were queued; pongs and protocol replies
    /// stay immediate.
    delay_deliveries_ms: Option<u64> = None;
    /// Each pair of channel events reaches the client in swapped order.
    reorder_deliveries: bool = false;
    /// `pusher:error` frames carry a `channel` (they are connection-level).
    error_with_channel: bool = false;
    /// A `pusher:subscription_succeeded` (the client library's name) follows
    /// every `pusher_internal:subscription_succeeded`.
    extra_client_side_succeeded: bool = false;
    /// A client missing its pong is closed with 4301, an error-frame code.
    pong_timeout_close_4301: bool = false;
    /// A `pusher:signin` makes the connection task end without a close
    /// frame, as a crashed task would.
    drop_on_signin: bool = false;
    /// Event names of delivered events lose their backslashes and
    /// non-ASCII characters (each becomes `_`).
    mangle_event_names: bool = false;
}

#[cfg(all(test, not(feature = "faults")))]
mod tests {
    use super::Faults;

    #[test]
    fn without_the_feature_the_switches_are_zero_sized_and_off() {
        assert_eq!(std::mem::size_of::<Faults>(), 0);
        let faults = Faults::default();
        assert!(!faults.accept_any_signature());
        assert!(!faults.echo_client_events());
        assert_eq!(faults.refusal_close_code(), None);
    }
}
