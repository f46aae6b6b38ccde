//! Coverage of `shared/spec/pusher-protocol.md` (read 2026-11): every rule
//! section is covered by case prefixes or says why not. `pushcheck list`
//! prints this matrix.

/// How a section is covered.
#[derive(Debug, Clone, Copy)]
pub enum Coverage {
    /// Case id prefixes that check it.
    Slugs(&'static [&'static str]),
    /// Why no case checks it.
    NotCovered(&'static str),
}

/// One section of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Section number.
    pub number: &'static str,
    /// Heading.
    pub title: &'static str,
    /// Coverage.
    pub coverage: Coverage,
}

use Coverage::{NotCovered, Slugs};

/// Sections 1-10 in order.
pub const SECTIONS: &[Section] = &[
    Section {
        number: "1.1",
        title: "Endpoint and query string",
        coverage: Slugs(&[
            "protocol/connection/unknown-query-params",
            "protocol/connection/bad-path",
        ]),
    },
    Section {
        number: "1.2",
        title: "Protocol versions",
        coverage: Slugs(&["protocol/connection/unsupported-protocol"]),
    },
    Section {
        number: "1.3",
        title: "pusher:connection_established",
        coverage: Slugs(&[
            "protocol/connection/established-first",
            "protocol/connection/socket-id-format",
            "protocol/connection/activity-timeout",
        ]),
    },
    Section {
        number: "1.4",
        title: "Connection-level rejection sequence",
        coverage: Slugs(&["protocol/connection/unknown-key"]),
    },
    Section {
        number: "1.5",
        title: "Close codes and client reaction",
        coverage: Slugs(&[
            "protocol/connection/disabled-app",
            "protocol/connection/over-quota",
            "protocol/client-events/rate-limit",
        ]),
    },
    Section {
        number: "1.5/4000",
        title: "TLS-only apps (close 4000)",
        coverage: NotCovered(
            "needs a TLS-only app on a plain listener; no profile key describes one yet",
        ),
    },
    Section {
        number: "2.1",
        title: "Frames",
        coverage: Slugs(&["protocol/framing/text-only"]),
    },
    Section {
        number: "2.2",
        title: "Double encoding",
        coverage: Slugs(&[
            "protocol/framing/double-encoding",
            "protocol/framing/accept-string-data",
        ]),
    },
    Section {
        number: "2.3",
        title: "Size limits",
        coverage: Slugs(&["rest-api/events/too-large", "rest-api/events/max-size"]),
    },
    Section {
        number: "2.4",
        title: "Malformed input",
        coverage: Slugs(&[
            "protocol/framing/invalid-json",
            "protocol/framing/error-shape",
        ]),
    },
    Section {
        number: "3",
        title: "Liveness: ping, pong, activity timeout",
        coverage: Slugs(&["protocol/ping-pong/"]),
    },
    Section {
        number: "4.1-4.2",
        title: "Channel kinds and names",
        coverage: Slugs(&[
            "protocol/subscriptions/prefix-anchored",
            "protocol/subscriptions/name-charset",
            "protocol/subscriptions/name-length",
            "protocol/subscriptions/hash-reserved",
        ]),
    },
    Section {
        number: "4.3-4.6",
        title: "Subscribe, success, failure, unsubscribe",
        coverage: Slugs(&["protocol/subscriptions/"]),
    },
    Section {
        number: "5.1",
        title: "Test credentials",
        coverage: NotCovered("data for the vectors, not a rule"),
    },
    Section {
        number: "5.2",
        title: "Channel authorization strings",
        coverage: Slugs(&[
            "auth-signatures/forgery/",
            "protocol/subscriptions/private-valid",
        ]),
    },
    Section {
        number: "5.3",
        title: "User authentication (sign-in)",
        coverage: Slugs(&["auth-signatures/signin/"]),
    },
    Section {
        number: "5.4",
        title: "Encrypted channels",
        coverage: Slugs(&[
            "auth-signatures/encrypted/",
            "rest-api/events/encrypted-multi",
        ]),
    },
    Section {
        number: "5.5",
        title: "REST request signing",
        coverage: Slugs(&["rest-api/auth/"]),
    },
    Section {
        number: "5.6",
        title: "Test vectors",
        coverage: NotCovered(
            "a target's signer cannot be called over the wire; the harness's own signer is pinned by unit tests (signing::vectors)",
        ),
    },
    Section {
        number: "6",
        title: "Client events",
        coverage: Slugs(&["protocol/client-events/"]),
    },
    Section {
        number: "7.1-7.4",
        title: "Presence",
        coverage: Slugs(&["protocol/presence/"]),
    },
    Section {
        number: "7.5",
        title: "Subscription count",
        coverage: Slugs(&[
            "protocol/subscription-count/",
            "protocol/presence/subscription-count-excluded",
        ]),
    },
    Section {
        number: "8.1-8.3",
        title: "REST events and batches",
        coverage: Slugs(&["rest-api/events/", "rest-api/batch/"]),
    },
    Section {
        number: "8.4-8.7",
        title: "REST channel queries, users, terminate",
        coverage: Slugs(&["rest-api/channels/", "rest-api/channel/", "rest-api/users/"]),
    },
    Section {
        number: "8.8-8.9",
        title: "Send to user, exclusion",
        coverage: Slugs(&[
            "rest-api/events/send-to-user",
            "rest-api/events/exclude-socket",
        ]),
    },
    Section {
        number: "9",
        title: "Webhooks",
        coverage: Slugs(&["webhooks/events/", "protocol/client-events/webhook"]),
    },
    Section {
        number: "10.1",
        title: "Cache channels",
        coverage: Slugs(&["protocol/cache/"]),
    },
    Section {
        number: "10.2-10.3",
        title: "User authentication, server-to-user channel",
        coverage: Slugs(&[
            "auth-signatures/signin/then-s2u",
            "rest-api/events/send-to-user",
        ]),
    },
    Section {
        number: "10.4",
        title: "Watchlist",
        coverage: Slugs(&["protocol/watchlist/"]),
    },
    Section {
        number: "10.5",
        title: "End-to-end encrypted channels",
        coverage: Slugs(&["auth-signatures/encrypted/relay"]),
    },
    Section {
        number: "10.6",
        title: "Authorized connections",
        coverage: NotCovered(
            "an app setting no capability profile key describes yet; the reference server does not implement it",
        ),
    },
    Section {
        number: "10.7",
        title: "Connection limits and counting",
        coverage: Slugs(&["protocol/connection/over-quota"]),
    },
];
