//! Coverage of the protocol spec (read 2026-11) by rules, not by prefixes:
//! every section lists its rules, each with the cases that check it or the
//! reason none does. `pushcheck list` prints this matrix; unit tests keep it
//! exact (every case named exists, every case is named by a rule).

/// How one rule is covered.
#[derive(Debug, Clone, Copy)]
pub enum Coverage {
    /// The cases (exact ids) that check it.
    Cases(&'static [&'static str]),
    /// Why no case checks it.
    NotCovered(&'static str),
}

/// One rule of a section.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The rule in one sentence.
    pub text: &'static str,
    /// Its coverage.
    pub coverage: Coverage,
}

/// One section of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Section number.
    pub number: &'static str,
    /// Heading.
    pub title: &'static str,
    /// The section's rules.
    pub rules: &'static [Rule],
}

macro_rules! rule {
    ($text:literal, [$($id:literal),+ $(,)?]) => {
        Rule { text: $text, coverage: Coverage::Cases(&[$($id),+]) }
    };
}

macro_rules! gap {
    ($text:literal, $why:literal) => {
        Rule {
            text: $text,
            coverage: Coverage::NotCovered($why),
        }
    };
}

/// Sections 1-10 in order.
pub const SECTIONS: &[Section] = &[
    Section {
        number: "1.1",
        title: "Endpoint and query string",
        rules: &[
            rule!(
                "Unknown query parameters are ignored.",
                ["protocol/connection/unknown-query-params"]
            ),
            rule!(
                "A path other than /app/<key> is refused (4005 or HTTP 404).",
                ["protocol/connection/bad-path"]
            ),
        ],
    },
    Section {
        number: "1.2",
        title: "Protocol versions",
        rules: &[rule!(
            "Unsupported or malformed protocol versions are closed with 4007/4006.",
            ["protocol/connection/unsupported-protocol"]
        )],
    },
    Section {
        number: "1.3",
        title: "pusher:connection_established",
        rules: &[
            rule!(
                "Socket ids are unique across the nodes of a cluster.",
                ["cluster/identity/socket-ids-unique"]
            ),
            rule!(
                "The first frame is connection_established with string data.",
                ["protocol/connection/established-first"]
            ),
            rule!(
                "socket_id is digits.digits and unique.",
                ["protocol/connection/socket-id-format"]
            ),
            rule!(
                "activity_timeout is a positive integer.",
                ["protocol/connection/activity-timeout"]
            ),
        ],
    },
    Section {
        number: "1.4",
        title: "Connection-level rejection sequence",
        rules: &[rule!(
            "An unknown app key is closed with 4001.",
            ["protocol/connection/unknown-key"]
        )],
    },
    Section {
        number: "1.5",
        title: "Close codes and client reaction",
        rules: &[
            rule!(
                "A disabled app is closed with 4003.",
                ["protocol/connection/disabled-app"]
            ),
            rule!(
                "The connection over quota is closed with 4004.",
                ["protocol/connection/over-quota"]
            ),
            rule!(
                "43xx codes are error-frame codes, never close codes.",
                [
                    "protocol/framing/every-frame",
                    "protocol/client-events/rate-limit"
                ]
            ),
            gap!(
                "A TLS-only app closes plain connections with 4000.",
                "needs a TLS-only app on a plain listener; no profile key describes one yet"
            ),
            rule!(
                "A connection is never dropped without a close frame in answer to a frame.",
                ["protocol/framing/every-frame"]
            ),
        ],
    },
    Section {
        number: "2.1",
        title: "Frames",
        rules: &[
            rule!(
                "Every server frame is a text frame holding a JSON object with a string event.",
                ["protocol/framing/text-only", "protocol/framing/every-frame"]
            ),
            rule!(
                "Connection-level frames carry no channel; the server never sends the client-side names.",
                ["protocol/framing/every-frame"]
            ),
        ],
    },
    Section {
        number: "2.2",
        title: "Double encoding",
        rules: &[
            rule!(
                "connection_established, subscription_succeeded and member events carry string data.",
                [
                    "protocol/framing/double-encoding",
                    "protocol/framing/every-frame"
                ]
            ),
            rule!(
                "The server accepts client data as an object or a JSON string.",
                ["protocol/framing/accept-string-data"]
            ),
            rule!(
                "pusher:error data is an object with a string message and a number or null code.",
                [
                    "protocol/framing/error-shape",
                    "protocol/framing/every-frame"
                ]
            ),
        ],
    },
    Section {
        number: "2.3",
        title: "Size limits",
        rules: &[
            rule!(
                "REST data over 10 KB gets 413; exactly 10 KB is accepted.",
                ["rest-api/events/too-large", "rest-api/events/max-size"]
            ),
            rule!(
                "Limits count bytes, not characters.",
                [
                    "rest-api/events/too-large-multibyte",
                    "protocol/client-events/too-large-multibyte"
                ]
            ),
        ],
    },
    Section {
        number: "2.4",
        title: "Malformed input",
        rules: &[rule!(
            "Malformed frames leave the connection working.",
            ["protocol/framing/invalid-json"]
        )],
    },
    Section {
        number: "3",
        title: "Liveness: ping, pong, activity timeout",
        rules: &[
            rule!(
                "pusher:ping is answered with pusher:pong.",
                ["protocol/ping-pong/app-ping"]
            ),
            rule!(
                "A control ping is answered with a control pong.",
                ["protocol/ping-pong/ws-ping"]
            ),
            rule!(
                "A silent client is pinged within activity_timeout.",
                ["protocol/ping-pong/server-pings-idle"]
            ),
            rule!(
                "A client ignoring pings is closed with 4201, not before activity_timeout + pong timeout.",
                ["protocol/ping-pong/dead-client-closed"]
            ),
            rule!(
                "Any inbound message is proof of life.",
                ["protocol/ping-pong/traffic-keeps-alive"]
            ),
            gap!(
                "A client without ping support silent for 24 h is closed with 4202.",
                "a day-long wait; no profile key shortens it"
            ),
        ],
    },
    Section {
        number: "4.1",
        title: "Channel kinds by name",
        rules: &[
            rule!(
                "Kinds are decided by the prefix at the start of the name, case-sensitive, dash included.",
                [
                    "protocol/subscriptions/prefix-anchored",
                    "protocol/subscriptions/anchored-infix-private",
                    "protocol/subscriptions/anchored-infix-presence",
                    "protocol/subscriptions/anchored-infix-encrypted",
                    "protocol/subscriptions/anchored-infix-private-cache",
                    "protocol/subscriptions/anchored-infix-presence-cache",
                    "protocol/subscriptions/anchored-cache-then-private",
                    "protocol/subscriptions/anchored-presence-then-private",
                    "protocol/subscriptions/anchored-case-sensitive",
                    "protocol/subscriptions/anchored-privateer",
                ]
            ),
            rule!(
                "Every private-like kind needs a valid signature.",
                [
                    "protocol/subscriptions/cache-variants-need-auth",
                    "protocol/subscriptions/forged-every-private-like",
                    "protocol/subscriptions/name-bare-private",
                    "protocol/subscriptions/name-bare-presence",
                ]
            ),
        ],
    },
    Section {
        number: "4.2",
        title: "Channel-name rules",
        rules: &[
            rule!(
                "Names use A-Za-z0-9_-=@,.; only; others are refused.",
                [
                    "protocol/subscriptions/name-charset",
                    "protocol/subscriptions/name-unicode",
                    "protocol/subscriptions/name-hash-inside",
                    "protocol/subscriptions/name-comma",
                    "rest-api/events/channel-name-unicode",
                    "rest-api/events/channel-name-hash",
                    "rest-api/events/channel-name-comma",
                ]
            ),
            rule!(
                "Names up to 200 characters are accepted, longer ones refused.",
                [
                    "protocol/subscriptions/name-length",
                    "protocol/subscriptions/name-length-private",
                    "protocol/subscriptions/name-length-presence",
                    "rest-api/events/channel-name-200",
                    "rest-api/events/channel-name-201",
                ]
            ),
            rule!(
                "The empty name is invalid.",
                [
                    "protocol/subscriptions/name-empty",
                    "rest-api/events/channel-name-empty"
                ]
            ),
            rule!(
                "# is reserved; only #server-to-user-<id> exists.",
                [
                    "protocol/subscriptions/hash-reserved",
                    "protocol/subscriptions/name-s2u-empty-id",
                    "rest-api/events/channel-name-s2u-empty-id"
                ]
            ),
        ],
    },
    Section {
        number: "4.3-4.4",
        title: "Subscribe and success",
        rules: &[
            rule!(
                "A public subscribe succeeds, with or without an empty auth.",
                [
                    "protocol/subscriptions/public",
                    "protocol/subscriptions/public-without-auth"
                ]
            ),
            rule!(
                "A correctly signed private subscribe succeeds.",
                ["protocol/subscriptions/private-valid"]
            ),
            rule!(
                "Nothing arrives on a channel before its subscription_succeeded.",
                [
                    "protocol/presence/member-added-others",
                    "protocol/subscriptions/no-leak-after-failure"
                ]
            ),
        ],
    },
    Section {
        number: "4.5",
        title: "Failure",
        rules: &[
            rule!(
                "Bad or missing auth is refused with a pusher:error (any code) and grants nothing.",
                [
                    "protocol/subscriptions/private-missing-auth",
                    "protocol/subscriptions/private-wrong-key",
                    "protocol/subscriptions/private-other-socket",
                    "protocol/subscriptions/private-other-channel",
                    "protocol/subscriptions/presence-altered-data",
                ]
            ),
            rule!(
                "A refusal keeps the connection working.",
                ["protocol/subscriptions/error-not-fatal"]
            ),
            rule!(
                "A refused subscriber gets no events and is not counted anywhere.",
                [
                    "protocol/subscriptions/no-leak-after-failure",
                    "auth-signatures/forgery/presence-forged-invisible-to-members",
                    "auth-signatures/forgery/presence-forged-not-in-users",
                    "auth-signatures/forgery/presence-forged-not-counted",
                    "auth-signatures/forgery/presence-forged-no-webhook",
                    "auth-signatures/forgery/cache-forged-no-replay",
                    "auth-signatures/forgery/cache-forged-no-miss",
                ]
            ),
            rule!(
                "A second subscribe to the same channel is refused; events still arrive once.",
                ["protocol/subscriptions/duplicate"]
            ),
        ],
    },
    Section {
        number: "4.6",
        title: "pusher:unsubscribe",
        rules: &[
            rule!(
                "No events arrive after unsubscribe.",
                ["protocol/subscriptions/unsubscribe"]
            ),
            rule!(
                "Unsubscribing an unknown channel does not break the connection.",
                ["protocol/subscriptions/unsubscribe-unknown"]
            ),
            rule!(
                "Unsubscribe removes the presence member.",
                ["protocol/presence/unsubscribe-removes"]
            ),
        ],
    },
    Section {
        number: "5.1",
        title: "Test credentials",
        rules: &[gap!(
            "The credentials the vectors use.",
            "data for the vectors, not a rule"
        )],
    },
    Section {
        number: "5.2",
        title: "Channel authorization strings",
        rules: &[
            rule!(
                "An authorization is bound to its socket on every node of a cluster.",
                ["cluster/identity/auth-bound-to-socket"]
            ),
            rule!(
                "The signature covers socket_id:channel[:channel_data] with the app's secret.",
                [
                    "auth-signatures/forgery/wrong-secret",
                    "auth-signatures/forgery/presence-wrong-secret",
                    "auth-signatures/forgery/other-app-secret",
                    "auth-signatures/forgery/presence-user-id-changed",
                    "auth-signatures/forgery/presence-whitespace-changed",
                    "auth-signatures/forgery/presence-key-order-changed",
                    "auth-signatures/forgery/presence-two-part-signature",
                ]
            ),
            rule!(
                "A signature is bound to its connection.",
                [
                    "auth-signatures/forgery/replay-other-connection",
                    "auth-signatures/forgery/replay-after-reconnect"
                ]
            ),
            rule!(
                "Malformed or missing auth values are refused.",
                [
                    "auth-signatures/forgery/presence-missing-auth",
                    "auth-signatures/forgery/malformed-no-colon",
                    "auth-signatures/forgery/malformed-truncated",
                    "auth-signatures/forgery/malformed-non-hex",
                    "auth-signatures/forgery/malformed-uppercase-hex",
                    "auth-signatures/forgery/malformed-empty",
                ]
            ),
            rule!(
                "Cache and encrypted variants refuse forged auth.",
                [
                    "auth-signatures/forgery/encrypted-forged",
                    "auth-signatures/forgery/private-cache-forged",
                    "auth-signatures/forgery/presence-cache-forged",
                    "auth-signatures/forgery/encrypted-cache-forged",
                ]
            ),
        ],
    },
    Section {
        number: "5.3",
        title: "User authentication (sign-in)",
        rules: &[
            rule!(
                "A correct sign-in gets signin_success echoing user_data.",
                ["auth-signatures/signin/valid"]
            ),
            rule!(
                "The signature binds the socket and user_data.",
                [
                    "auth-signatures/signin/bad-signature",
                    "auth-signatures/signin/other-socket",
                    "auth-signatures/signin/tampered-user-data"
                ]
            ),
            rule!(
                "user_data needs an id.",
                [
                    "auth-signatures/signin/missing-id",
                    "auth-signatures/signin/empty-id"
                ]
            ),
            rule!(
                "One identity per connection; a failed sign-in grants nothing.",
                [
                    "auth-signatures/signin/resignin-other-user",
                    "auth-signatures/signin/failed-grants-nothing"
                ]
            ),
        ],
    },
    Section {
        number: "5.4",
        title: "Encrypted channels",
        rules: &[
            rule!(
                "Encrypted events are relayed byte-identical.",
                ["auth-signatures/encrypted/relay"]
            ),
            rule!(
                "An encrypted channel cannot share a publish with others.",
                ["rest-api/events/encrypted-multi"]
            ),
        ],
    },
    Section {
        number: "5.5",
        title: "REST request signing",
        rules: &[
            rule!(
                "A correctly signed request is accepted.",
                [
                    "rest-api/auth/valid",
                    "rest-api/auth/param-case",
                    "rest-api/auth/get-empty-body-md5"
                ]
            ),
            rule!(
                "The signature binds the method, path, every parameter and the body.",
                [
                    "rest-api/auth/bad-signature",
                    "rest-api/auth/wrong-secret",
                    "rest-api/auth/appended-param",
                    "rest-api/auth/changed-param",
                    "rest-api/auth/method-bound",
                    "rest-api/auth/path-bound",
                    "rest-api/auth/body-md5",
                    "rest-api/auth/missing-body-md5",
                    "rest-api/auth/body-swapped",
                ]
            ),
            rule!(
                "Every auth_* parameter is required and checked.",
                [
                    "rest-api/auth/missing-auth-key",
                    "rest-api/auth/missing-auth-timestamp",
                    "rest-api/auth/missing-auth-version",
                    "rest-api/auth/missing-auth-signature",
                    "rest-api/auth/version",
                    "rest-api/auth/unknown-key",
                    "rest-api/auth/other-app-key",
                ]
            ),
            rule!(
                "Timestamps within 600 s are accepted, others refused; replays after the window fail.",
                [
                    "rest-api/auth/timestamp-window",
                    "rest-api/auth/stale-timestamp",
                    "rest-api/auth/future-timestamp",
                    "rest-api/auth/boundary-600",
                    "rest-api/auth/replay",
                ]
            ),
        ],
    },
    Section {
        number: "5.6",
        title: "Test vectors",
        rules: &[gap!(
            "Signers reproduce the vectors.",
            "a target's signer cannot be called over the wire; the harness's own signer is pinned by unit tests (signing::vectors)"
        )],
    },
    Section {
        number: "6",
        title: "Client events",
        rules: &[
            rule!(
                "Client events cross nodes: other nodes' subscribers get them, the sender does not, presence ones keep user_id.",
                [
                    "cluster/fanout/client-events-across-nodes",
                    "cluster/fanout/client-event-user-id"
                ]
            ),
            rule!(
                "Relayed to other subscribers, not the sender, data unchanged.",
                [
                    "protocol/client-events/private-relay",
                    "protocol/client-events/cache-variant-allowed"
                ]
            ),
            rule!(
                "Only client- names on private and presence channels of enabled apps.",
                [
                    "protocol/client-events/prefix-required",
                    "protocol/client-events/public-rejected",
                    "protocol/client-events/disabled",
                    "protocol/client-events/reserved-names-private",
                    "protocol/client-events/reserved-names-presence",
                    "protocol/client-events/reserved-names-private-cache",
                ]
            ),
            rule!(
                "Only from senders with a completed subscription.",
                [
                    "protocol/client-events/not-subscribed",
                    "protocol/client-events/refused-sender",
                    "protocol/client-events/unsubscribed-sender"
                ]
            ),
            rule!(
                "user_id is the server's: set on presence, never the client's.",
                [
                    "protocol/client-events/presence-user-id",
                    "protocol/client-events/spoofed-user-id",
                    "protocol/client-events/private-user-id-stripped"
                ]
            ),
            rule!(
                "At most 10 per second per connection; 4301 over it, never a close.",
                ["protocol/client-events/rate-limit"]
            ),
            rule!(
                "Not cached on cache channels.",
                ["protocol/cache/client-events-not-cached"]
            ),
            rule!(
                "A client_event webhook with event, data, socket_id and user_id.",
                ["protocol/client-events/webhook"]
            ),
        ],
    },
    Section {
        number: "7.1-7.4",
        title: "Presence",
        rules: &[
            rule!(
                "A cluster has one roster, one member per user and one member limit per channel.",
                [
                    "cluster/presence/one-roster",
                    "cluster/presence/one-member-per-user",
                    "cluster/presence/limit-across-nodes"
                ]
            ),
            rule!(
                "The members of a killed or frozen node are removed within the liveness bound and never come back.",
                [
                    "cluster/node-death/kill-removes-members",
                    "cluster/node-death/freeze-closes-clients"
                ]
            ),
            rule!(
                "The roster has ids, hash and count including the subscriber.",
                ["protocol/presence/roster"]
            ),
            rule!(
                "member_added to others once per user; member_removed when the user's last connection leaves.",
                [
                    "protocol/presence/member-added-others",
                    "protocol/presence/multi-connection",
                    "protocol/presence/disconnect-removes",
                ]
            ),
            rule!(
                "Numeric ids become strings; user_info must be an object.",
                [
                    "protocol/presence/numeric-user-id",
                    "protocol/presence/user-info-not-object"
                ]
            ),
            rule!("The member limit is enforced.", ["protocol/presence/limit"]),
            rule!(
                "A signed-in connection joins as its user.",
                ["protocol/presence/signin-identity"]
            ),
        ],
    },
    Section {
        number: "7.5",
        title: "Subscription count",
        rules: &[
            rule!(
                "subscription_count on join and leave where enabled.",
                ["protocol/subscription-count/event"]
            ),
            rule!(
                "Never on presence channels.",
                ["protocol/presence/subscription-count-excluded"]
            ),
        ],
    },
    Section {
        number: "8.2",
        title: "POST /apps/<app_id>/events",
        rules: &[
            rule!(
                "An event published through one node reaches every node's subscribers once, in order.",
                ["cluster/fanout/publish-once-in-order"]
            ),
            rule!(
                "Delivered on every named channel with data and name unchanged.",
                [
                    "rest-api/events/single",
                    "rest-api/events/multi",
                    "rest-api/events/event-name-laravel",
                    "rest-api/events/event-name-unicode",
                ]
            ),
            rule!("Delivered in publish order.", ["rest-api/events/order"]),
            rule!(
                "Invalid bodies get 400.",
                [
                    "rest-api/events/too-many-channels",
                    "rest-api/events/reserved-name",
                    "rest-api/events/invalid-json",
                    "rest-api/events/missing-name",
                    "rest-api/events/data-not-string",
                    "rest-api/events/channel-and-channels",
                    "rest-api/events/empty-channels",
                    "rest-api/events/name-too-long",
                    "rest-api/events/bad-socket-id",
                ]
            ),
            rule!(
                "info returns the requested attributes per channel.",
                ["rest-api/events/info"]
            ),
        ],
    },
    Section {
        number: "8.3",
        title: "POST /apps/<app_id>/batch_events",
        rules: &[
            rule!(
                "A batch keeps its order on every node of a cluster.",
                ["cluster/fanout/batch-order"]
            ),
            rule!(
                "A batch of up to 10 is delivered, in batch order.",
                ["rest-api/batch/ok", "rest-api/batch/order"]
            ),
            rule!("A batch over 10 gets 400.", ["rest-api/batch/too-many"]),
        ],
    },
    Section {
        number: "8.4-8.6",
        title: "Channel queries and users",
        rules: &[
            rule!(
                "Every node of a cluster answers the channel queries for the whole cluster.",
                ["cluster/rest/queries-agree"]
            ),
            rule!(
                "GET channels lists occupied channels by prefix.",
                ["rest-api/channels/list"]
            ),
            rule!(
                "user_count needs a presence channel or filter.",
                [
                    "rest-api/channels/user-count-needs-presence-filter",
                    "rest-api/channel/user-count-public"
                ]
            ),
            rule!(
                "GET channel always has occupied.",
                ["rest-api/channel/info"]
            ),
            rule!(
                "GET users lists distinct users of presence channels only.",
                ["rest-api/users/presence", "rest-api/users/non-presence"]
            ),
        ],
    },
    Section {
        number: "8.7",
        title: "POST terminate_connections",
        rules: &[
            rule!(
                "Every signed-in connection of the user closes; others stay.",
                ["rest-api/users/terminate"]
            ),
            rule!(
                "The user may reconnect afterwards.",
                ["rest-api/users/terminate-reconnect"]
            ),
        ],
    },
    Section {
        number: "8.8-8.9",
        title: "Send to user, exclusion",
        rules: &[
            rule!(
                "Send-to-user and socket_id exclusion act on every node of a cluster.",
                [
                    "cluster/fanout/send-to-user-every-node",
                    "cluster/fanout/exclusion-on-another-node"
                ]
            ),
            rule!(
                "Events to #server-to-user-<id> reach that user's sockets and nobody else.",
                [
                    "rest-api/events/send-to-user",
                    "rest-api/events/send-to-user-only"
                ]
            ),
            rule!(
                "socket_id excludes that connection only.",
                ["rest-api/events/exclude-socket"]
            ),
        ],
    },
    Section {
        number: "9",
        title: "Webhooks",
        rules: &[
            rule!(
                "A cluster sends one webhook per cluster-wide transition.",
                ["cluster/webhooks/once-per-transition"]
            ),
            rule!(
                "Signed with the app secret, application/json.",
                ["webhooks/events/signature"]
            ),
            rule!(
                "channel_occupied and channel_vacated; member events per user.",
                [
                    "webhooks/events/occupied-vacated",
                    "webhooks/events/member-events-per-user"
                ]
            ),
            rule!(
                "time_ms in milliseconds; retries on failure; vacate delay.",
                [
                    "webhooks/events/time-ms",
                    "webhooks/events/retry",
                    "webhooks/events/vacate-delay"
                ]
            ),
            rule!(
                "One cache_miss webhook for concurrent subscribers.",
                ["webhooks/events/cache-miss-dedup"]
            ),
        ],
    },
    Section {
        number: "10.1",
        title: "Cache channels",
        rules: &[
            rule!(
                "A cache channel replays on every node of a cluster.",
                ["cluster/cache/replay-across-nodes"]
            ),
            rule!(
                "The last event replays right after subscription_succeeded on every cache prefix.",
                ["protocol/cache/hit", "protocol/cache/all-prefixes"]
            ),
            rule!(
                "An empty cache channel sends cache_miss on the channel.",
                ["protocol/cache/miss"]
            ),
            rule!(
                "The cached value expires after its TTL.",
                ["protocol/cache/ttl"]
            ),
        ],
    },
    Section {
        number: "10.2-10.3",
        title: "User authentication, server-to-user channel",
        rules: &[rule!(
            "#server-to-user-<id> only for the connection signed in as id.",
            [
                "auth-signatures/signin/then-s2u",
                "auth-signatures/signin/s2u-other-user",
                "auth-signatures/signin/s2u-unsigned",
            ]
        )],
    },
    Section {
        number: "10.4",
        title: "Watchlist",
        rules: &[
            rule!(
                "Sign-in with a watchlist yields its state, then online/offline.",
                [
                    "protocol/watchlist/initial",
                    "protocol/watchlist/online-offline"
                ]
            ),
            rule!(
                "A watchlist over 100 gets 4302.",
                ["protocol/watchlist/limit"]
            ),
            rule!(
                "In a cluster, the state and online/offline count users on every node, and a dead node's users go offline.",
                [
                    "cluster/watchlist/online-offline-across-nodes",
                    "cluster/node-death/kill-removes-members"
                ]
            ),
        ],
    },
    Section {
        number: "10.5",
        title: "End-to-end encrypted channels",
        rules: &[gap!(
            "Clients decrypt with the shared secret from the auth endpoint.",
            "the server never sees the shared secret; relay is 5.4's rule"
        )],
    },
    Section {
        number: "10.6",
        title: "Authorized connections",
        rules: &[gap!(
            "Connections that do not sign in in time are closed 4009.",
            "an app setting no capability profile key describes yet; the reference server does not implement it"
        )],
    },
    Section {
        number: "10.7",
        title: "Connection limits and counting",
        rules: &[
            rule!(
                "The app's connection quota is enforced.",
                ["protocol/connection/over-quota"]
            ),
            rule!(
                "A cluster holds the quota across all its nodes.",
                ["cluster/quota/cluster-wide"]
            ),
        ],
    },
];

/// The matrix `pushcheck list` prints: per section, each rule with its
/// cases, or NOT COVERED and why.
pub fn matrix() -> String {
    let mut out = String::from("\ncoverage of the protocol spec, by rule:\n");
    for s in SECTIONS {
        out.push_str(&format!("  {} {}\n", s.number, s.title));
        for r in s.rules {
            match r.coverage {
                Coverage::Cases(ids) => {
                    out.push_str(&format!("    [{}] {}\n", ids.len(), r.text));
                    for id in ids {
                        out.push_str(&format!("          {id}\n"));
                    }
                }
                Coverage::NotCovered(why) => {
                    out.push_str(&format!("    [-] {} NOT COVERED: {why}\n", r.text));
                }
            }
        }
    }
    out
}
