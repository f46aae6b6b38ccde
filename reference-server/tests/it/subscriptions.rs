//! Subscriptions: channel kinds, signatures, name rules, unsubscribe, and the
//! security property that a refused subscriber gets nothing (spec 4, 5.2).

use serde_json::{Value, json};

use crate::support::{
    self, Client, TestServer, channel_auth, config, config_with, start_server, start_with_sink,
};

/// The refusal is a `pusher:error` with code null; afterwards the connection
/// gets no events on the channel and the channel is not occupied (spec 4.5).
async fn assert_refused(server: &TestServer, client: &mut Client, channel: &str) {
    let error = client.expect_error().await;
    assert!(error["code"].is_null(), "{error}");
    server.rest().publish(channel, "leak", "{}").await;
    client.expect_quiet().await;
    let info = server
        .rest()
        .get(&format!("/channels/{channel}"), &[])
        .await
        .ok();
    assert_eq!(
        info["occupied"], false,
        "a refused subscriber is not counted"
    );
}

#[tokio::test]
async fn public_channels_accept_empty_or_absent_auth_and_deliver_events() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client.send_subscribe(json!({"channel": "weather"})).await;
    assert_eq!(client.expect_succeeded("weather").await, json!({}));
    client
        .send_subscribe(json!({"channel": "sport", "auth": "junk", "channel_data": "junk"}))
        .await;
    client.expect_succeeded("sport").await;
    server.rest().publish("weather", "rain", "{\"mm\":3}").await;
    let frame = client.expect_next("rain").await;
    assert_eq!(
        frame,
        json!({"event": "rain", "channel": "weather", "data": "{\"mm\":3}"})
    );
}

#[tokio::test]
async fn subscription_succeeded_data_is_an_empty_object_string_for_non_presence() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .send_subscribe(json!({"channel": "news", "auth": ""}))
        .await;
    let frame = client
        .expect_next("pusher_internal:subscription_succeeded")
        .await;
    assert_eq!(frame["data"], "{}");
    assert_eq!(frame["channel"], "news");
}

#[tokio::test]
async fn private_channel_with_a_valid_signature_is_joined() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe_private("private-chat").await;
    server.rest().publish("private-chat", "msg", "hi").await;
    assert_eq!(client.expect_next("msg").await["data"], "hi");
}

#[tokio::test]
async fn private_channel_without_auth_is_refused() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .send_subscribe(json!({"channel": "private-chat", "auth": ""}))
        .await;
    assert_refused(&server, &mut client, "private-chat").await;
    client
        .send_subscribe(json!({"channel": "private-chat"}))
        .await;
    assert_refused(&server, &mut client, "private-chat").await;
}

#[tokio::test]
async fn private_channel_with_a_bad_signature_is_refused() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    let other = server.connect().await;
    let channel = "private-chat";
    let id = client.socket_id().to_owned();
    let good = client.auth(channel, None);
    let hex = good.split_once(':').expect("key:hex").1.to_owned();
    let bad = [
        channel_auth(support::KEY, "wrong-secret", &id, channel, None),
        channel_auth("wrong-key", support::SECRET, &id, channel, None),
        channel_auth(support::KEY, support::SECRET, &id, "private-other", None),
        channel_auth(
            support::KEY,
            support::SECRET,
            other.socket_id(),
            channel,
            None,
        ),
        format!("{}:{}", support::KEY, hex.to_uppercase()),
        hex.clone(),
        format!("{}:", support::KEY),
        format!("{}:{}", support::KEY, &hex[..63]),
        format!("{}:{hex}x", support::KEY),
        format!(":{hex}"),
        format!("{}:{hex}:{hex}", support::KEY),
    ];
    for auth in bad {
        client
            .send_subscribe(json!({"channel": channel, "auth": auth}))
            .await;
        assert_refused(&server, &mut client, channel).await;
    }
    client
        .send_subscribe(json!({"channel": channel, "auth": good}))
        .await;
    client.expect_succeeded(channel).await;
}

#[tokio::test]
async fn encrypted_and_cache_variants_need_a_private_signature() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    for channel in [
        "private-encrypted-x",
        "private-cache-x",
        "private-encrypted-cache-x",
        "presence-cache-x",
    ] {
        client
            .send_subscribe(json!({"channel": channel, "auth": ""}))
            .await;
        assert_refused(&server, &mut client, channel).await;
    }
    // Fresh names: the refusals above published (and so cached) an event.
    for channel in [
        "private-encrypted-y",
        "private-cache-y",
        "private-encrypted-cache-y",
    ] {
        client.subscribe_private(channel).await;
        client.barrier().await;
    }
}

#[tokio::test]
async fn kinds_are_decided_by_anchored_prefix() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    for public in [
        "my-private-x",
        "xprivate-x",
        "my-presence-x",
        "Private-x",
        "public-cache-x",
        "private",
    ] {
        client.subscribe(public).await;
    }
}

#[tokio::test]
async fn subscribing_twice_is_an_error_and_keeps_the_first_subscription() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client
        .send_subscribe(json!({"channel": "news", "auth": ""}))
        .await;
    assert!(client.expect_error().await["code"].is_null());
    server.rest().publish("news", "story", "1").await;
    let frames = client.barrier().await;
    assert_eq!(frames.len(), 1, "exactly one delivery: {frames:?}");
}

#[tokio::test]
async fn unsubscribe_stops_delivery_without_an_acknowledgement() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client
        .send_json(&json!({"event": "pusher:unsubscribe", "data": {"channel": "news"}}))
        .await;
    client.expect_quiet().await;
    server.rest().publish("news", "story", "1").await;
    client.expect_quiet().await;
    let info = server.rest().get("/channels/news", &[]).await.ok();
    assert_eq!(info["occupied"], false);
    client.subscribe("news").await;
}

#[tokio::test]
async fn unsubscribing_from_an_unknown_channel_is_an_error() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"event": "pusher:unsubscribe", "data": {"channel": "never"}}))
        .await;
    assert!(client.expect_error().await["code"].is_null());
    client.expect_quiet().await;
}

#[tokio::test]
async fn channel_names_follow_the_length_and_character_rules() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe(&"a".repeat(200)).await;
    client.subscribe("foo-bar_1234@=,.;").await;
    let long = "b".repeat(201);
    let bad = [
        long.as_str(),
        "",
        "a b",
        "a/b",
        "a*b",
        "#foo",
        "#server-to-user-",
        "é",
        "a:b",
    ];
    for name in bad {
        client
            .send_subscribe(json!({"channel": name, "auth": ""}))
            .await;
        let error = client.expect_error().await;
        assert!(error["code"].is_null(), "{name}: {error}");
    }
    client.expect_quiet().await;
}

#[tokio::test]
async fn a_refused_subscriber_receives_nothing_and_fires_no_webhook() {
    let (server, mut sink) = start_with_sink(|_| {}).await;
    let mut client = server.connect().await;
    client
        .send_subscribe(json!({"channel": "private-secret", "auth": "app-key:00"}))
        .await;
    assert_refused(&server, &mut client, "private-secret").await;
    let mut marker = server.connect().await;
    marker.subscribe("marker").await;
    let events = sink.take_until("channel_occupied", "marker").await;
    let leaked: Vec<&Value> = events
        .iter()
        .filter(|e| e["channel"] == "private-secret")
        .collect();
    assert!(
        leaked.is_empty(),
        "refused subscriber fired webhooks: {leaked:?}"
    );
}

// See: issue 9 item 5. One anonymous connection subscribed to 100,000
// public channels (+72 MB); subscriptions per connection are now capped.
#[tokio::test]
async fn issue_9_subscriptions_beyond_the_per_connection_cap_are_refused() {
    let server = start_server(config_with(|app| app.max_subscriptions_per_connection = 3)).await;
    let mut client = server.connect().await;
    for channel in ["a", "b", "c"] {
        client.subscribe(channel).await;
    }
    client
        .send_subscribe(json!({"channel": "d", "auth": ""}))
        .await;
    let error = client.expect_error().await;
    assert!(error["code"].is_null(), "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("limit (3)")),
        "{error}"
    );
    // Not subscribed to d; after unsubscribing one, d is accepted.
    server.rest().publish("d", "e", "{}").await;
    client.expect_quiet().await;
    client.unsubscribe("a").await;
    client.subscribe("d").await;
}
