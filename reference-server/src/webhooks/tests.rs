//! Webhook behaviour against an in-process axum sink (spec 9, 10.1).
//!
//! Waits are on the sink's own channel, with timeouts only as guards. A
//! negative ("nothing was sent") is proved by a barrier: a later, distinct
//! event must be the first request, and after `shutdown` (which flushes held
//! events and waits for deliveries) nothing else may have arrived.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::*;

const GUARD: Duration = Duration::from_secs(5);

/// One request as the sink saw it.
#[derive(Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is json")
    }

    fn events(&self) -> Value {
        self.json()["events"].clone()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} present"))
    }
}

#[derive(Clone)]
struct SinkState {
    seen: mpsc::Sender<Received>,
    /// Statuses to answer, in order; 200 once used up.
    script: Arc<Mutex<VecDeque<u16>>>,
}

struct Sink {
    addr: SocketAddr,
    seen: mpsc::Receiver<Received>,
}

impl Sink {
    async fn start(script: &[u16]) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let (tx, seen) = mpsc::channel(64);
        let state = SinkState {
            seen: tx,
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
        };
        let router = Router::new().fallback(record).with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await });
        Sink { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn expect_request(&mut self) -> Received {
        timeout(GUARD, self.seen.recv())
            .await
            .expect("a webhook request within 5 s")
            .expect("sink still running")
    }

    /// After `shutdown`, every delivery has finished: nothing may be left.
    fn expect_nothing_more(&mut self) {
        if let Ok(extra) = self.seen.try_recv() {
            panic!("unexpected request {} {:?}", extra.path, extra.json());
        }
    }
}

async fn record(
    State(sink): State<SinkState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let code = sink.script.lock().pop_front().unwrap_or(200);
    let path = uri.path().to_owned();
    // Recorded before answering, so a delivery is seen before it completes.
    let _ = sink
        .seen
        .send(Received {
            path,
            headers,
            body,
        })
        .await;
    StatusCode::from_u16(code).expect("scripted status is valid")
}

fn fast() -> WebhookSettings {
    WebhookSettings {
        batch_window_ms: 10,
        vacate_delay_ms: 0,
        retry_initial_ms: 10,
        request_timeout_ms: 2000,
        ..WebhookSettings::default()
    }
}

fn app(app_id: &str, targets: Vec<WebhookTarget>) -> Arc<AppHooks> {
    Arc::new(AppHooks {
        app_id: app_id.to_owned(),
        key: format!("key-{app_id}"),
        secret: format!("secret-{app_id}"),
        targets,
        faults: Default::default(),
    })
}

fn target(url: String, events: Option<&[WebhookKind]>) -> WebhookTarget {
    WebhookTarget {
        url,
        events: events.map(<[WebhookKind]>::to_vec),
    }
}

fn occupied(channel: &str) -> WebhookEvent {
    WebhookEvent::ChannelOccupied {
        channel: channel.into(),
    }
}

fn vacated(channel: &str) -> WebhookEvent {
    WebhookEvent::ChannelVacated {
        channel: channel.into(),
    }
}

fn member(added: bool, channel: &str, user_id: &str) -> WebhookEvent {
    let (channel, user_id) = (channel.into(), user_id.into());
    if added {
        WebhookEvent::MemberAdded { channel, user_id }
    } else {
        WebhookEvent::MemberRemoved { channel, user_id }
    }
}

fn cache_miss(channel: &str) -> WebhookEvent {
    WebhookEvent::CacheMiss {
        channel: channel.into(),
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn every_event_variant_serialises_to_its_spec_object() {
    let cases = [
        (
            occupied("c"),
            json!({"name": "channel_occupied", "channel": "c"}),
        ),
        (
            vacated("c"),
            json!({"name": "channel_vacated", "channel": "c"}),
        ),
        (
            member(true, "presence-c", "u"),
            json!({"name": "member_added", "channel": "presence-c", "user_id": "u"}),
        ),
        (
            member(false, "presence-c", "u"),
            json!({"name": "member_removed", "channel": "presence-c", "user_id": "u"}),
        ),
        (
            WebhookEvent::ClientEvent {
                channel: "presence-c".into(),
                event: "client-x".into(),
                data: "{\"a\":1}".into(),
                socket_id: "1.2".into(),
                user_id: Some("u".into()),
            },
            json!({"name": "client_event", "channel": "presence-c", "event": "client-x",
                   "data": "{\"a\":1}", "socket_id": "1.2", "user_id": "u"}),
        ),
        (
            WebhookEvent::ClientEvent {
                channel: "private-c".into(),
                event: "client-x".into(),
                data: "hi".into(),
                socket_id: "1.2".into(),
                user_id: None,
            },
            json!({"name": "client_event", "channel": "private-c", "event": "client-x",
                   "data": "hi", "socket_id": "1.2"}),
        ),
        (
            cache_miss("cache-c"),
            json!({"name": "cache_miss", "channel": "cache-c"}),
        ),
        (
            WebhookEvent::SubscriptionCount {
                channel: "c".into(),
                subscription_count: 3,
            },
            json!({"name": "subscription_count", "channel": "c", "subscription_count": 3}),
        ),
    ];
    for (event, expected) in cases {
        let text = serde_json::to_string(&event).expect("serialises");
        assert!(text.starts_with("{\"name\":"), "name first: {text}");
        let value: Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(value, expected);
        let kind = serde_json::to_value(event.kind()).expect("kind serialises");
        assert_eq!(kind, expected["name"]);
    }
}

#[test]
fn settings_and_targets_parse_from_toml_with_defaults() {
    let settings: WebhookSettings = toml::from_str("vacate_delay_ms = 0").expect("valid");
    assert_eq!(settings.vacate_delay_ms, 0);
    assert_eq!(
        settings.batch_window_ms,
        WebhookSettings::default().batch_window_ms
    );
    assert!(toml::from_str::<WebhookSettings>("batch_window = 1").is_err());
    let all: WebhookTarget = toml::from_str(r#"url = "http://h/""#).expect("valid");
    assert!(all.events.is_none() && all.wants(WebhookKind::CacheMiss));
    let some: WebhookTarget =
        toml::from_str("url = \"http://h/\"\nevents = [\"member_added\"]").expect("valid");
    assert_eq!(some.events, Some(vec![WebhookKind::MemberAdded]));
    assert!(toml::from_str::<WebhookTarget>("url = \"u\"\nextra = 1").is_err());
    assert!(toml::from_str::<WebhookTarget>("url = \"u\"\nevents = [\"nope\"]").is_err());
}

#[test]
fn app_hooks_debug_redacts_the_secret() {
    let hooks = app("1", Vec::new());
    let text = format!("{hooks:?}");
    assert!(
        text.contains("<redacted>") && !text.contains("secret-1"),
        "{text}"
    );
}

#[test]
fn wants_follows_filters_and_vacate_pairs() {
    let only_occupied = &[WebhookKind::ChannelOccupied][..];
    let hooks = app("1", vec![target("http://h/".into(), Some(only_occupied))]);
    assert!(hooks.wants(WebhookKind::ChannelOccupied));
    // A held vacate is needed to cancel an occupy that follows it (9.3).
    assert!(hooks.wants(WebhookKind::ChannelVacated));
    assert!(!hooks.wants(WebhookKind::ClientEvent));
    assert!(!hooks.wants(WebhookKind::MemberAdded));
    assert!(!app("2", Vec::new()).wants(WebhookKind::CacheMiss));
}

#[tokio::test]
async fn request_has_exact_headers_and_a_verifiable_signature() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(fast());
    let app = app("1", vec![target(sink.url("/hook"), None)]);
    hooks.emit(&app, occupied("c"));

    let request = sink.expect_request().await;
    assert_eq!(request.path, "/hook");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("x-pusher-key"), "key-1");
    assert_eq!(
        request.header("x-pusher-signature"),
        hmac_hex("secret-1", &request.body)
    );
    let body = request.json();
    assert_eq!(
        body["events"],
        json!([{"name": "channel_occupied", "channel": "c"}])
    );
    let time_ms = body["time_ms"].as_u64().expect("time_ms is a number");
    assert!(
        delivery::unix_time_ms().abs_diff(time_ms) < 5000,
        "time_ms {time_ms}"
    );
    hooks.shutdown(GUARD).await;
    assert_eq!(hooks.stats().delivered_requests, 1);
}

#[tokio::test]
async fn events_within_one_window_share_one_request() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        batch_window_ms: 100,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, occupied("a"));
    hooks.emit(&app, occupied("b"));

    let request = sink.expect_request().await;
    assert_eq!(request.events(), json!([occupied("a"), occupied("b")]));
    hooks.shutdown(GUARD).await;
    sink.expect_nothing_more();
}

#[tokio::test]
async fn different_apps_never_share_a_request() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        batch_window_ms: 100,
        ..fast()
    });
    let (one, two) = (
        app("1", vec![target(sink.url("/"), None)]),
        app("2", vec![target(sink.url("/"), None)]),
    );
    hooks.emit(&one, occupied("a"));
    hooks.emit(&two, occupied("a"));

    let mut keys = Vec::new();
    for _ in 0..2 {
        let request = sink.expect_request().await;
        assert_eq!(request.events(), json!([occupied("a")]));
        keys.push(request.header("x-pusher-key").to_owned());
    }
    keys.sort();
    assert_eq!(keys, ["key-1", "key-2"]);
}

/// Emits `first` then `second`, which must cancel each other (9.3), then a
/// barrier event that must be the only request ever sent.
async fn assert_pair_cancels(first: WebhookEvent, second: WebhookEvent) {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        vacate_delay_ms: 60_000,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, first);
    hooks.emit(&app, second);
    hooks.emit(&app, occupied("barrier"));

    let request = sink.expect_request().await;
    assert_eq!(request.events(), json!([occupied("barrier")]));
    // Shutdown would send any event still held; there must be none.
    hooks.shutdown(GUARD).await;
    sink.expect_nothing_more();
}

#[tokio::test]
async fn vacate_then_reoccupy_within_the_delay_sends_nothing() {
    assert_pair_cancels(vacated("c"), occupied("c")).await;
}

#[tokio::test]
async fn member_removed_then_added_within_the_delay_sends_nothing() {
    assert_pair_cancels(
        member(false, "presence-c", "u"),
        member(true, "presence-c", "u"),
    )
    .await;
}

#[tokio::test]
async fn vacated_is_sent_after_the_delay_when_nothing_cancels_it() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        vacate_delay_ms: 50,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    let emitted = Instant::now();
    hooks.emit(&app, vacated("c"));
    // Another user's return must not cancel it.
    hooks.emit(&app, occupied("other"));

    assert_eq!(
        sink.expect_request().await.events(),
        json!([occupied("other")])
    );
    let request = sink.expect_request().await;
    assert_eq!(request.events(), json!([vacated("c")]));
    assert!(
        emitted.elapsed() >= Duration::from_millis(50),
        "held for the delay"
    );
}

#[tokio::test]
async fn zero_delay_sends_vacate_and_occupy_in_order() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        batch_window_ms: 100,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, vacated("c"));
    hooks.emit(&app, occupied("c"));

    assert_eq!(
        sink.expect_request().await.events(),
        json!([vacated("c"), occupied("c")])
    );
}

#[tokio::test]
async fn shutdown_sends_held_events_at_once() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        vacate_delay_ms: 60_000,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, member(false, "presence-c", "u"));
    hooks.shutdown(GUARD).await;

    let request = sink
        .seen
        .try_recv()
        .expect("delivered before shutdown returned");
    assert_eq!(request.events(), json!([member(false, "presence-c", "u")]));
    hooks.emit(&app, occupied("late"));
    assert_eq!(hooks.stats().dropped_closed, 1);
}

#[tokio::test]
async fn failed_attempts_are_retried_until_delivered_once() {
    let mut sink = Sink::start(&[500, 500]).await;
    let hooks = Webhooks::start(fast());
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, occupied("c"));

    let first = sink.expect_request().await;
    for _ in 0..2 {
        assert_eq!(
            sink.expect_request().await.body,
            first.body,
            "retries resend the same body"
        );
    }
    hooks.shutdown(GUARD).await;
    sink.expect_nothing_more();
    let stats = hooks.stats();
    assert_eq!(
        (
            stats.failed_attempts,
            stats.delivered_requests,
            stats.given_up
        ),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn delivery_is_given_up_when_the_retry_window_closes() {
    let mut sink = Sink::start(&[500; 16]).await;
    let settings = WebhookSettings {
        retry_window_ms: 30,
        ..fast()
    };
    let hooks = Webhooks::start(settings);
    let app = app("1", vec![target(sink.url("/"), None)]);
    hooks.emit(&app, occupied("c"));

    sink.expect_request().await;
    hooks.shutdown(GUARD).await;
    let mut attempts = 1;
    while sink.seen.try_recv().is_ok() {
        attempts += 1;
    }
    let stats = hooks.stats();
    assert_eq!(
        (
            stats.failed_attempts,
            stats.delivered_requests,
            stats.given_up
        ),
        (attempts, 0, 1)
    );
}

#[tokio::test]
async fn a_retrying_app_does_not_hold_up_another() {
    let (mut failing, mut healthy) = (Sink::start(&[500]).await, Sink::start(&[]).await);
    let hooks = Webhooks::start(WebhookSettings {
        retry_initial_ms: 60_000,
        ..fast()
    });
    let slow = app("1", vec![target(failing.url("/"), None)]);
    let fine = app("2", vec![target(healthy.url("/"), None)]);
    hooks.emit(&slow, occupied("a"));
    failing.expect_request().await;
    hooks.emit(&fine, occupied("b"));

    assert_eq!(
        healthy.expect_request().await.events(),
        json!([occupied("b")])
    );
    // The failing request waits 60 s to retry, so this deadline abandons it,
    // while leaving the healthy delivery ample time to read its answer.
    hooks.shutdown(Duration::from_secs(1)).await;
    let stats = hooks.stats();
    assert_eq!(
        (
            stats.delivered_requests,
            stats.failed_attempts,
            stats.given_up
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn overflow_drops_and_counts_without_blocking() {
    let sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        queue_capacity: 2,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    // The batcher cannot run between these calls on this single-threaded
    // runtime, so exactly two fit; the rest must return at once, dropped.
    for n in 0..10 {
        hooks.emit(&app, occupied(&format!("c{n}")));
    }
    let stats = hooks.stats();
    assert_eq!((stats.queued, stats.dropped_overflow), (2, 8));
    hooks.shutdown(GUARD).await;
}

#[tokio::test]
async fn each_target_gets_only_the_events_it_wants() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        batch_window_ms: 100,
        ..fast()
    });
    let targets = vec![
        target(sink.url("/all"), None),
        target(sink.url("/occupied"), Some(&[WebhookKind::ChannelOccupied])),
        target(sink.url("/cache"), Some(&[WebhookKind::CacheMiss])),
    ];
    let app = app("1", targets);
    hooks.emit(&app, occupied("c"));
    hooks.emit(&app, member(true, "presence-c", "u"));

    let mut seen = [sink.expect_request().await, sink.expect_request().await];
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(seen[0].path, "/all");
    assert_eq!(
        seen[0].events(),
        json!([occupied("c"), member(true, "presence-c", "u")])
    );
    assert_eq!(seen[1].path, "/occupied");
    assert_eq!(seen[1].events(), json!([occupied("c")]));
    hooks.shutdown(GUARD).await;
    sink.expect_nothing_more();
}

#[tokio::test]
async fn cache_miss_is_sent_once_per_channel_per_window() {
    let mut sink = Sink::start(&[]).await;
    let hooks = Webhooks::start(WebhookSettings {
        batch_window_ms: 100,
        ..fast()
    });
    let app = app("1", vec![target(sink.url("/"), None)]);
    for _ in 0..5 {
        hooks.emit(&app, cache_miss("cache-a"));
    }
    hooks.emit(&app, cache_miss("cache-b"));

    let request = sink.expect_request().await;
    assert_eq!(
        request.events(),
        json!([cache_miss("cache-a"), cache_miss("cache-b")])
    );
    hooks.shutdown(GUARD).await;
    sink.expect_nothing_more();
}

#[tokio::test]
async fn a_malformed_url_is_given_up_without_retrying() {
    let hooks = Webhooks::start(fast());
    let app = app("1", vec![target("not a url".into(), None)]);
    hooks.emit(&app, occupied("c"));
    hooks.shutdown(GUARD).await;
    let stats = hooks.stats();
    assert_eq!((stats.failed_attempts, stats.given_up), (1, 1));
}
