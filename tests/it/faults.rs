//! Fault injection (STYLE 2.8 item 6): every case of the catalogue must be
//! seen failing against a reference server that breaks its rule.
//!
//! A fault is either a `Faults` switch (a test-only misbehaviour hooked into
//! the server) or a server setting pushed past the spec's limit: a server
//! configured to accept 20 KB events breaks the 10 KB rule just as surely.
//! A case counts as seen failing only against a fault that breaks its own
//! rule; collateral failures (for example every barrier-based case under
//! `no_pong`) are not listed. Every pair a fault of the first pass produced
//! against the whole catalogue is listed, except those collateral ones.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use pushcheck::conformance::{CaseResult, Verdict, registry};
use reference_server::Config;

use crate::support::run_catalogue;

type Switch = fn(&mut Config);

/// One fault and the cases whose rule it breaks.
struct Pair {
    fault: &'static str,
    switch: Switch,
    cases: &'static [&'static str],
}

/// Cases no server fault can break, with the reason.
const EXEMPT: &[(&str, &str)] = &[(
    "protocol/ping-pong/ws-ping",
    "control pongs are written by the WebSocket library (tungstenite) while it \
     reads the ping, before the server's code sees the frame; breaking the rule \
     would mean replacing the library, not switching a fault",
)];

macro_rules! pair {
    ($fault:ident, [$($case:literal),+ $(,)?]) => {
        Pair {
            fault: stringify!($fault),
            switch: |c| c.faults.$fault = true,
            cases: &[$($case),+],
        }
    };
    ($fault:literal, $switch:expr, [$($case:literal),+ $(,)?]) => {
        Pair { fault: $fault, switch: $switch, cases: &[$($case),+] }
    };
}

const PAIRS: &[Pair] = &[
    // 1. Connection
    pair!(
        established_data_object,
        [
            "protocol/connection/established-first",
            "protocol/framing/double-encoding",
            "protocol/framing/every-frame",
        ]
    ),
    pair!(socket_id_colon, ["protocol/connection/socket-id-format"]),
    pair!(
        activity_timeout_zero,
        ["protocol/connection/activity-timeout"]
    ),
    pair!(
        "unknown_key_close_code",
        |c| c.faults.unknown_key_close_code = Some(4000),
        ["protocol/connection/unknown-key",]
    ),
    pair!(
        "refusal_close_code",
        |c| c.faults.refusal_close_code = Some(4000),
        [
            "protocol/connection/disabled-app",
            "protocol/connection/over-quota",
            "protocol/connection/bad-path",
            "protocol/connection/unsupported-protocol",
        ]
    ),
    pair!(
        refuse_unknown_query_params,
        ["protocol/connection/unknown-query-params"]
    ),
    // 2. Framing
    pair!(
        malformed_frame_before_pong,
        ["protocol/framing/text-only", "protocol/ping-pong/app-ping",]
    ),
    pair!(
        error_without_message,
        [
            "protocol/framing/error-shape",
            "protocol/framing/every-frame"
        ]
    ),
    pair!(refuse_string_data, ["protocol/framing/accept-string-data"]),
    pair!(close_on_malformed, ["protocol/framing/invalid-json"]),
    // 3. Liveness
    pair!(no_pong, ["protocol/ping-pong/app-ping"]),
    pair!(no_server_ping, ["protocol/ping-pong/server-pings-idle"]),
    pair!(
        pong_timeout_close_4200,
        ["protocol/ping-pong/dead-client-closed"]
    ),
    // Closing at the first missed ping breaks the lower bound.
    pair!(
        "pong_timeout_1ms",
        |c| c.timeouts.pong_timeout_ms = 1,
        ["protocol/ping-pong/dead-client-closed"]
    ),
    pair!(
        only_pings_keep_alive,
        ["protocol/ping-pong/traffic-keeps-alive"]
    ),
    // 4. Subscriptions
    pair!(succeeded_data_object, ["protocol/subscriptions/public"]),
    pair!(
        public_needs_auth_field,
        ["protocol/subscriptions/public-without-auth"]
    ),
    pair!(
        refuse_every_signature,
        ["protocol/subscriptions/private-valid"]
    ),
    pair!(
        accept_missing_auth,
        [
            "protocol/subscriptions/private-missing-auth",
            "auth-signatures/forgery/presence-missing-auth",
            "auth-signatures/forgery/malformed-empty",
        ]
    ),
    pair!(
        ignore_auth_key_part,
        ["protocol/subscriptions/private-wrong-key"]
    ),
    pair!(
        close_on_refused_subscribe,
        ["protocol/subscriptions/error-not-fatal"]
    ),
    // A refused subscriber that still receives events breaks the security
    // property every forgery case checks last (spec 4.5).
    pair!(
        leak_failed_subscriber,
        [
            "protocol/subscriptions/no-leak-after-failure",
            "protocol/subscriptions/private-missing-auth",
            "protocol/subscriptions/private-wrong-key",
            "protocol/subscriptions/private-other-socket",
            "protocol/subscriptions/private-other-channel",
            "protocol/subscriptions/cache-variants-need-auth",
            "auth-signatures/forgery/wrong-secret",
            "auth-signatures/forgery/replay-other-connection",
            "auth-signatures/forgery/replay-after-reconnect",
            "auth-signatures/forgery/malformed-no-colon",
            "auth-signatures/forgery/malformed-truncated",
            "auth-signatures/forgery/malformed-non-hex",
            "auth-signatures/forgery/malformed-uppercase-hex",
            "auth-signatures/forgery/malformed-empty",
            "auth-signatures/forgery/encrypted-forged",
            "auth-signatures/forgery/private-cache-forged",
            "auth-signatures/forgery/encrypted-cache-forged",
            "auth-signatures/forgery/other-app-secret",
        ]
    ),
    pair!(
        allow_duplicate_subscribe,
        ["protocol/subscriptions/duplicate"]
    ),
    pair!(ignore_unsubscribe, ["protocol/subscriptions/unsubscribe"]),
    pair!(
        close_on_unknown_unsubscribe,
        ["protocol/subscriptions/unsubscribe-unknown"]
    ),
    pair!(
        accept_bad_channel_names,
        [
            "protocol/subscriptions/hash-reserved",
            "protocol/subscriptions/name-charset",
            "protocol/subscriptions/name-length",
        ]
    ),
    pair!(
        cache_variants_unsigned,
        [
            "protocol/subscriptions/cache-variants-need-auth",
            "auth-signatures/forgery/private-cache-forged",
            "auth-signatures/forgery/presence-cache-forged",
            "auth-signatures/forgery/encrypted-cache-forged",
        ]
    ),
    pair!(
        unanchored_prefixes,
        ["protocol/subscriptions/prefix-anchored"]
    ),
    pair!(
        accept_hash_channels,
        ["protocol/subscriptions/hash-reserved"]
    ),
    // 5. Signatures
    pair!(
        accept_any_signature,
        [
            "protocol/subscriptions/private-wrong-key",
            "protocol/subscriptions/no-leak-after-failure",
            "protocol/subscriptions/cache-variants-need-auth",
            "auth-signatures/forgery/malformed-uppercase-hex",
            "protocol/subscriptions/private-other-socket",
            "protocol/subscriptions/private-other-channel",
            "protocol/subscriptions/presence-altered-data",
            "auth-signatures/forgery/wrong-secret",
            "auth-signatures/forgery/presence-wrong-secret",
            "auth-signatures/forgery/replay-other-connection",
            "auth-signatures/forgery/replay-after-reconnect",
            "auth-signatures/forgery/presence-user-id-changed",
            "auth-signatures/forgery/presence-whitespace-changed",
            "auth-signatures/forgery/presence-key-order-changed",
            "auth-signatures/forgery/malformed-no-colon",
            "auth-signatures/forgery/malformed-truncated",
            "auth-signatures/forgery/malformed-non-hex",
            "auth-signatures/forgery/encrypted-forged",
            "auth-signatures/forgery/other-app-secret",
            "auth-signatures/signin/bad-signature",
            "auth-signatures/signin/other-socket",
            "auth-signatures/signin/tampered-user-data",
        ]
    ),
    pair!(
        hex_case_insensitive,
        ["auth-signatures/forgery/malformed-uppercase-hex"]
    ),
    pair!(signin_success_empty, ["auth-signatures/signin/valid"]),
    pair!(
        signin_id_unchecked,
        [
            "auth-signatures/signin/missing-id",
            "auth-signatures/signin/empty-id",
        ]
    ),
    pair!(refuse_server_to_user, ["auth-signatures/signin/then-s2u"]),
    pair!(
        reencode_event_data,
        ["auth-signatures/encrypted/relay", "rest-api/events/single",]
    ),
    // 5.5 REST request signing
    pair!(
        "rest_window_0",
        |c| c.rest.timestamp_window_secs = 0,
        ["rest-api/auth/valid"]
    ),
    pair!(
        ignore_rest_signature,
        ["rest-api/auth/bad-signature", "rest-api/auth/wrong-secret",]
    ),
    pair!(
        ignore_body_md5,
        ["rest-api/auth/body-md5", "rest-api/auth/missing-body-md5",]
    ),
    pair!(
        "rest_window_300",
        |c| c.rest.timestamp_window_secs = 300,
        ["rest-api/auth/timestamp-window",]
    ),
    pair!(
        ignore_rest_timestamp,
        [
            "rest-api/auth/boundary-600",
            "rest-api/auth/stale-timestamp",
            "rest-api/auth/future-timestamp",
            "rest-api/auth/replay",
        ]
    ),
    pair!(
        "rest_window_601",
        |c| c.rest.timestamp_window_secs = 601,
        ["rest-api/auth/boundary-600"]
    ),
    pair!(any_auth_version, ["rest-api/auth/version"]),
    pair!(rest_keys_case_sensitive, ["rest-api/auth/param-case"]),
    pair!(ignore_auth_key, ["rest-api/auth/unknown-key"]),
    pair!(app_from_auth_key, ["rest-api/auth/other-app-key"]),
    pair!(refuse_get_body_md5, ["rest-api/auth/get-empty-body-md5"]),
    // 6. Client events
    pair!(echo_client_events, ["protocol/client-events/private-relay"]),
    pair!(
        no_client_event_user_id,
        ["protocol/client-events/presence-user-id"]
    ),
    pair!(
        keep_client_user_id,
        ["protocol/client-events/spoofed-user-id"]
    ),
    pair!(
        client_events_on_public,
        ["protocol/client-events/public-rejected"]
    ),
    pair!(
        allow_unsubscribed_client_events,
        ["protocol/client-events/not-subscribed"]
    ),
    pair!(
        relay_any_event_name,
        ["protocol/client-events/prefix-required"]
    ),
    pair!(
        ignore_client_events_setting,
        ["protocol/client-events/disabled"]
    ),
    pair!(
        "client_event_rate_1000",
        |c| c.apps.iter_mut().for_each(|a| a.client_event_rate = 1000),
        ["protocol/client-events/rate-limit"]
    ),
    pair!(
        cache_client_events,
        [
            "protocol/client-events/cache-variant-allowed",
            "protocol/cache/client-events-not-cached",
        ]
    ),
    pair!(
        client_event_webhook_without_user,
        ["protocol/client-events/webhook"]
    ),
    // 7. Presence
    pair!(roster_without_self, ["protocol/presence/roster"]),
    pair!(
        member_added_to_joiner,
        ["protocol/presence/member-added-others"]
    ),
    pair!(
        drop_member_removed,
        [
            "protocol/presence/multi-connection",
            "protocol/presence/disconnect-removes",
        ]
    ),
    pair!(
        member_added_per_connection,
        [
            "protocol/presence/multi-connection",
            "webhooks/events/member-events-per-user",
        ]
    ),
    pair!(
        refuse_numeric_user_id,
        ["protocol/presence/numeric-user-id"]
    ),
    pair!(
        accept_any_user_info,
        ["protocol/presence/user-info-not-object"]
    ),
    pair!(
        "max_presence_members_1000",
        |c| c
            .apps
            .iter_mut()
            .for_each(|a| a.max_presence_members = 1000),
        ["protocol/presence/limit"]
    ),
    pair!(
        ignore_signin_identity,
        ["protocol/presence/signin-identity"]
    ),
    pair!(
        count_on_presence,
        ["protocol/presence/subscription-count-excluded"]
    ),
    pair!(no_subscription_count, ["protocol/subscription-count/event"]),
    // 8. HTTP API
    pair!(
        deliver_first_only,
        ["rest-api/events/multi", "rest-api/batch/ok"]
    ),
    pair!(
        "max_channels_per_event_1000",
        |c| c
            .apps
            .iter_mut()
            .for_each(|a| a.max_channels_per_event = 1000),
        ["rest-api/events/too-many-channels",]
    ),
    pair!(
        "max_event_payload_20000",
        |c| c
            .apps
            .iter_mut()
            .for_each(|a| a.max_event_payload_bytes = 20_000),
        ["rest-api/events/too-large",]
    ),
    pair!(
        "max_event_payload_10000",
        |c| c
            .apps
            .iter_mut()
            .for_each(|a| a.max_event_payload_bytes = 10_000),
        ["rest-api/events/max-size",]
    ),
    pair!(skip_socket_exclusion, ["rest-api/events/exclude-socket"]),
    pair!(ignore_publish_info, ["rest-api/events/info"]),
    pair!(
        accept_reserved_event_names,
        ["rest-api/events/reserved-name"]
    ),
    pair!(encrypted_multi_allowed, ["rest-api/events/encrypted-multi"]),
    pair!(drop_server_to_user_events, ["rest-api/events/send-to-user"]),
    pair!(
        "max_batch_events_20",
        |c| c.apps.iter_mut().for_each(|a| a.max_batch_events = 20),
        ["rest-api/batch/too-many",]
    ),
    pair!(ignore_prefix_filter, ["rest-api/channels/list"]),
    pair!(
        user_count_unrestricted,
        [
            "rest-api/channels/user-count-needs-presence-filter",
            "rest-api/channel/user-count-public",
        ]
    ),
    pair!(always_occupied, ["rest-api/channel/info"]),
    pair!(users_list_empty, ["rest-api/users/presence"]),
    pair!(users_any_channel, ["rest-api/users/non-presence"]),
    pair!(terminate_noop, ["rest-api/users/terminate"]),
    // 9. Webhooks
    pair!(webhook_wrong_secret, ["webhooks/events/signature"]),
    pair!(no_vacated_webhook, ["webhooks/events/occupied-vacated"]),
    pair!(webhook_time_in_seconds, ["webhooks/events/time-ms"]),
    pair!(
        "webhook_retry_window_0",
        |c| c.webhooks.retry_window_ms = 0,
        ["webhooks/events/retry",]
    ),
    pair!(no_cache_miss_dedup, ["webhooks/events/cache-miss-dedup"]),
    pair!(
        "vacate_delay_0",
        |c| c.webhooks.vacate_delay_ms = 0,
        ["webhooks/events/vacate-delay",]
    ),
    // Issue 12 item 2: the frame monitor, one fault per invariant.
    pair!(
        malformed_frame_before_pong,
        ["protocol/framing/every-frame"]
    ),
    pair!(
        error_with_channel,
        [
            "protocol/framing/every-frame",
            "protocol/subscriptions/private-missing-auth",
        ]
    ),
    pair!(
        extra_client_side_succeeded,
        ["protocol/framing/every-frame"]
    ),
    pair!(
        pong_timeout_close_4301,
        [
            "protocol/framing/every-frame",
            "protocol/ping-pong/dead-client-closed",
        ]
    ),
    pair!(
        drop_on_signin,
        [
            "protocol/framing/every-frame",
            "protocol/presence/signin-identity",
            "auth-signatures/signin/valid",
        ]
    ),
    // Issue 12 item 5: delivery delayed after the REST reply, pongs
    // immediate (a server behind a broker). A leak or echo that arrives
    // after a pong but before the sentinel is still caught.
    pair!(
        "leak_failed_subscriber+delay_150ms",
        |c| {
            c.faults.leak_failed_subscriber = true;
            c.faults.delay_deliveries_ms = Some(150);
        },
        [
            "protocol/subscriptions/no-leak-after-failure",
            "auth-signatures/forgery/wrong-secret",
            "auth-signatures/forgery/private-cache-forged",
            "auth-signatures/forgery/cache-forged-no-replay",
        ]
    ),
    pair!(
        "echo_client_events+delay_150ms",
        |c| {
            c.faults.echo_client_events = true;
            c.faults.delay_deliveries_ms = Some(150);
        },
        ["protocol/client-events/private-relay"]
    ),
    pair!(
        "client_event_rate_1000+delay_150ms",
        |c| {
            c.apps.iter_mut().for_each(|a| a.client_event_rate = 1000);
            c.faults.delay_deliveries_ms = Some(150);
        },
        ["protocol/client-events/rate-limit"]
    ),
    pair!(
        "relay_reserved_client_events+delay_150ms",
        |c| {
            c.faults.relay_reserved_client_events = true;
            c.faults.delay_deliveries_ms = Some(150);
        },
        [
            "protocol/client-events/reserved-names-private",
            "protocol/client-events/reserved-names-presence",
        ]
    ),
    pair!(
        "ignore_unsubscribe+delay_150ms",
        |c| {
            c.faults.ignore_unsubscribe = true;
            c.faults.delay_deliveries_ms = Some(150);
        },
        ["protocol/subscriptions/unsubscribe"]
    ),
    // Issue 12: channel kinds and names (spec 4.1-4.2)
    pair!(
        unanchored_prefixes,
        [
            "protocol/subscriptions/anchored-infix-private",
            "protocol/subscriptions/anchored-infix-presence",
            "protocol/subscriptions/anchored-infix-encrypted",
            "protocol/subscriptions/anchored-infix-private-cache",
            "protocol/subscriptions/anchored-infix-presence-cache",
            "protocol/subscriptions/anchored-cache-then-private",
            "protocol/subscriptions/anchored-presence-then-private",
        ]
    ),
    pair!(
        loose_prefixes,
        [
            "protocol/subscriptions/anchored-case-sensitive",
            "protocol/subscriptions/anchored-privateer",
        ]
    ),
    pair!(
        accept_any_signature,
        [
            "protocol/subscriptions/forged-every-private-like",
            "auth-signatures/signin/failed-grants-nothing",
        ]
    ),
    pair!(
        accept_bad_channel_names,
        [
            "protocol/subscriptions/name-empty",
            "protocol/subscriptions/name-unicode",
            "protocol/subscriptions/name-hash-inside",
            "protocol/subscriptions/name-length-private",
            "protocol/subscriptions/name-length-presence",
        ]
    ),
    pair!(
        accept_missing_auth,
        [
            "protocol/subscriptions/name-bare-private",
            "protocol/subscriptions/name-bare-presence",
        ]
    ),
    pair!(
        narrow_channel_names,
        [
            "protocol/subscriptions/name-comma",
            "protocol/subscriptions/name-charset",
            "rest-api/events/channel-name-comma",
        ]
    ),
    pair!(
        channel_names_164,
        [
            "protocol/subscriptions/name-length",
            "protocol/subscriptions/name-length-private",
            "protocol/subscriptions/name-length-presence",
            "rest-api/events/channel-name-200",
        ]
    ),
    pair!(
        accept_hash_channels,
        [
            "protocol/subscriptions/name-s2u-empty-id",
            "auth-signatures/signin/s2u-other-user",
            "auth-signatures/signin/s2u-unsigned",
            "auth-signatures/signin/failed-grants-nothing",
            "rest-api/events/send-to-user-only",
        ]
    ),
    // Issue 12: identity, client events, forged members
    pair!(
        allow_resignin_other_user,
        ["auth-signatures/signin/resignin-other-user"]
    ),
    pair!(
        relay_reserved_client_events,
        [
            "protocol/client-events/reserved-names-private",
            "protocol/client-events/reserved-names-presence",
            "protocol/client-events/reserved-names-private-cache",
            "protocol/client-events/prefix-required",
        ]
    ),
    pair!(
        relay_any_event_name,
        ["protocol/client-events/reserved-names-private"]
    ),
    pair!(
        allow_unsubscribed_client_events,
        [
            "protocol/client-events/refused-sender",
            "protocol/client-events/unsubscribed-sender",
        ]
    ),
    pair!(
        leak_failed_subscriber,
        [
            "protocol/client-events/refused-sender",
            "auth-signatures/forgery/cache-forged-no-replay",
            "auth-signatures/forgery/cache-forged-no-miss",
        ]
    ),
    pair!(
        ignore_unsubscribe,
        ["protocol/client-events/unsubscribed-sender"]
    ),
    pair!(
        relay_client_user_id,
        ["protocol/client-events/private-user-id-stripped"]
    ),
    pair!(
        payload_limit_in_chars,
        [
            "protocol/client-events/too-large-multibyte",
            "rest-api/events/too-large-multibyte",
        ]
    ),
    pair!(
        forged_presence_member,
        [
            "auth-signatures/forgery/presence-forged-invisible-to-members",
            "auth-signatures/forgery/presence-forged-not-in-users",
            "auth-signatures/forgery/presence-forged-not-counted",
            "auth-signatures/forgery/presence-forged-no-webhook",
        ]
    ),
    pair!(
        presence_signature_without_data,
        ["auth-signatures/forgery/presence-two-part-signature"]
    ),
    pair!(
        drop_member_removed,
        ["protocol/presence/unsubscribe-removes"]
    ),
    pair!(ban_terminated_users, ["rest-api/users/terminate-reconnect"]),
    // Issue 12: what a REST signature binds, and REST input
    pair!(
        rest_signature_auth_params_only,
        ["rest-api/auth/appended-param"]
    ),
    pair!(
        ignore_rest_signature,
        [
            "rest-api/auth/method-bound",
            "rest-api/auth/path-bound",
            "rest-api/auth/changed-param",
            "rest-api/auth/body-swapped",
        ]
    ),
    pair!(
        auth_params_optional,
        [
            "rest-api/auth/missing-auth-key",
            "rest-api/auth/missing-auth-timestamp",
            "rest-api/auth/missing-auth-version",
            "rest-api/auth/missing-auth-signature",
        ]
    ),
    pair!(
        lenient_rest_events,
        [
            "rest-api/events/channel-name-empty",
            "rest-api/events/channel-name-unicode",
            "rest-api/events/channel-name-hash",
            "rest-api/events/channel-name-201",
            "rest-api/events/channel-name-s2u-empty-id",
            "rest-api/events/invalid-json",
            "rest-api/events/missing-name",
            "rest-api/events/data-not-string",
            "rest-api/events/channel-and-channels",
            "rest-api/events/empty-channels",
            "rest-api/events/name-too-long",
            "rest-api/events/bad-socket-id",
        ]
    ),
    pair!(
        mangle_event_names,
        [
            "rest-api/events/event-name-laravel",
            "rest-api/events/event-name-unicode",
        ]
    ),
    pair!(
        reorder_deliveries,
        ["rest-api/events/order", "rest-api/batch/order"]
    ),
    // 10. Cache channels, watchlist
    pair!(
        no_cache_replay,
        ["protocol/cache/hit", "protocol/cache/all-prefixes"]
    ),
    pair!(no_cache_miss, ["protocol/cache/miss"]),
    pair!(
        "cache_ttl_1h",
        |c| c.apps.iter_mut().for_each(|a| a.cache_ttl_ms = 3_600_000),
        ["protocol/cache/ttl"]
    ),
    pair!(
        ignore_watchlist,
        [
            "protocol/watchlist/initial",
            "protocol/watchlist/online-offline",
        ]
    ),
    pair!(
        "max_watchlist_1000",
        |c| c.apps.iter_mut().for_each(|a| a.max_watchlist = 1000),
        ["protocol/watchlist/limit"]
    ),
];

/// Fault servers running at once: failing cases mostly wait out deadlines,
/// so a few overlap cheaply; more than 3 starved REST requests past their
/// 2 s timeout on a loaded 2-core machine.
const CONCURRENCY: usize = 3;

async fn run_pair(pair: &Pair) -> Vec<CaseResult> {
    let prefixes: Vec<String> = pair.cases.iter().map(|c| (*c).to_owned()).collect();
    let (results, _b, _sink) = run_catalogue(&prefixes, pair.switch).await;
    // A prefix may select more than the listed case; keep the listed ones.
    results
        .into_iter()
        .filter(|r| pair.cases.contains(&r.id.as_str()))
        .collect()
}

/// Runs after the reference comparison in the same test: two catalogue runs at
/// once on a 2-core machine starve each other past the 2 s deadlines.
pub(crate) async fn every_case_fails_against_a_fault_that_breaks_its_rule() {
    let ids: BTreeSet<&str> = registry().iter().map(|c| c.id).collect();
    let exempt: BTreeSet<&str> = EXEMPT.iter().map(|(id, _)| *id).collect();
    for id in PAIRS.iter().flat_map(|p| p.cases).chain(&exempt) {
        assert!(ids.contains(id), "{id} is not a case of the catalogue");
    }
    let runs: Vec<(&Pair, Vec<CaseResult>)> = futures_util::stream::iter(PAIRS)
        .map(|pair| async move { (pair, run_pair(pair).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut failing = BTreeSet::new();
    let mut missed = Vec::new();
    for (pair, results) in &runs {
        for r in results {
            match r.verdict {
                Verdict::Fail | Verdict::Warn => {
                    failing.insert(r.id.clone());
                }
                other => missed.push(format!(
                    "{} with {}: {} {:?}",
                    r.id,
                    pair.fault,
                    other.as_str(),
                    r.message
                )),
            }
        }
    }
    // The cluster/ family is N/A on one node; tests/it/cluster_cases.rs
    // sees each of its cases fail against a cluster fault.
    let required: Vec<&str> = ids
        .difference(&exempt)
        .copied()
        .filter(|id| !id.starts_with("cluster/"))
        .collect();
    let never: Vec<&&str> = required
        .iter()
        .filter(|id| !failing.contains(**id))
        .collect();
    eprintln!(
        "cases seen failing against a fault that breaks their rule: {} of {} ({:.0}%); exempt: {}",
        failing.len(),
        required.len(),
        100.0 * failing.len() as f64 / required.len() as f64,
        exempt.len()
    );
    assert!(
        missed.is_empty(),
        "cases that did not fail against their fault: {missed:#?}"
    );
    assert!(never.is_empty(), "cases never seen failing: {never:#?}");
}
