//! Fault injection (STYLE 2.8 item 6): each listed case must fail against a
//! reference server with the fault that breaks its rule.

use reference_server::{Config, Faults};

use crate::support::run_catalogue;

type Switch = fn(&mut Faults);

/// (fault name, switch, cases that must fail with it).
const PAIRS: &[(&str, Switch, &[&str])] = &[
    (
        "accept_any_signature",
        |f| f.accept_any_signature = true,
        &[
            "protocol/subscriptions/private-other-socket",
            "protocol/subscriptions/private-other-channel",
            "auth-signatures/forgery/wrong-secret",
            "auth-signatures/forgery/replay-other-connection",
            "auth-signatures/forgery/presence-user-id-changed",
            "auth-signatures/signin/bad-signature",
        ],
    ),
    (
        "cache_variants_unsigned",
        |f| f.cache_variants_unsigned = true,
        &[
            "protocol/subscriptions/cache-variants-need-auth",
            "auth-signatures/forgery/private-cache-forged",
        ],
    ),
    (
        "ignore_rest_timestamp",
        |f| f.ignore_rest_timestamp = true,
        &[
            "rest-api/auth/stale-timestamp",
            "rest-api/auth/future-timestamp",
        ],
    ),
    (
        "ignore_rest_signature",
        |f| f.ignore_rest_signature = true,
        &["rest-api/auth/bad-signature", "rest-api/auth/wrong-secret"],
    ),
    (
        "ignore_body_md5",
        |f| f.ignore_body_md5 = true,
        &["rest-api/auth/body-md5"],
    ),
    (
        "echo_client_events",
        |f| f.echo_client_events = true,
        &["protocol/client-events/private-relay"],
    ),
    (
        "client_events_on_public",
        |f| f.client_events_on_public = true,
        &["protocol/client-events/public-rejected"],
    ),
    (
        "drop_member_removed",
        |f| f.drop_member_removed = true,
        &[
            "protocol/presence/disconnect-removes",
            "protocol/presence/multi-connection",
        ],
    ),
    (
        "skip_socket_exclusion",
        |f| f.skip_socket_exclusion = true,
        &["rest-api/events/exclude-socket"],
    ),
    (
        "unknown_key_close_code",
        |f| f.unknown_key_close_code = Some(4000),
        &["protocol/connection/unknown-key"],
    ),
    (
        "no_pong",
        |f| f.no_pong = true,
        &["protocol/ping-pong/app-ping"],
    ),
    (
        "keep_client_user_id",
        |f| f.keep_client_user_id = true,
        &["protocol/client-events/spoofed-user-id"],
    ),
    (
        "no_client_event_rate_limit",
        |f| f.no_client_event_rate_limit = true,
        &["protocol/client-events/rate-limit"],
    ),
    (
        "member_added_per_connection",
        |f| f.member_added_per_connection = true,
        &["protocol/presence/multi-connection"],
    ),
    (
        "no_cache_replay",
        |f| f.no_cache_replay = true,
        &["protocol/cache/hit"],
    ),
    (
        "leak_failed_subscriber",
        |f| f.leak_failed_subscriber = true,
        &["protocol/subscriptions/no-leak-after-failure"],
    ),
    (
        "accept_bad_channel_names",
        |f| f.accept_bad_channel_names = true,
        &["protocol/subscriptions/name-charset"],
    ),
    (
        "allow_unsubscribed_client_events",
        |f| f.allow_unsubscribed_client_events = true,
        &["protocol/client-events/not-subscribed"],
    ),
];

/// Runs after the reference comparison in the same test: two catalogue runs at
/// once on a 2-core machine starve each other past the 2 s deadlines.
pub(crate) async fn every_listed_case_fails_against_its_fault() {
    let mut failing = std::collections::BTreeSet::new();
    let mut missed = Vec::new();
    let total = pushcheck::conformance::registry().len();
    for (name, switch, cases) in PAIRS {
        let prefixes: Vec<String> = cases.iter().map(|c| (*c).to_owned()).collect();
        let (results, _b, _sink) =
            run_catalogue(&prefixes, |c: &mut Config| switch(&mut c.faults)).await;
        for r in &results {
            if matches!(
                r.verdict,
                pushcheck::conformance::Verdict::Fail | pushcheck::conformance::Verdict::Warn
            ) {
                failing.insert(r.id.clone());
            } else {
                missed.push(format!("{} with {name}: {:?}", r.id, r.verdict));
            }
        }
    }
    eprintln!(
        "cases seen failing: {} of {total} ({:.0}%)",
        failing.len(),
        100.0 * failing.len() as f64 / total as f64
    );
    assert!(
        missed.is_empty(),
        "cases that did not fail against their fault: {missed:#?}"
    );
}
