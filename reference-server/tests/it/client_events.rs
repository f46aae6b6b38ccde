//! Client events: who may send them, where, how they are relayed, the rate limit (spec 6).

use serde_json::{Value, json};

use crate::support::{Client, TestServer, config, config_with, start_server};

/// Two connections subscribed to a private channel.
async fn pair(server: &TestServer, channel: &str) -> (Client, Client) {
    let (mut a, mut b) = (server.connect().await, server.connect().await);
    a.subscribe_private(channel).await;
    b.subscribe_private(channel).await;
    (a, b)
}

/// `sender` has its event refused: it gets a `pusher:error`, `other` gets nothing.
async fn assert_not_relayed(sender: &mut Client, other: &mut Client) -> Value {
    let error = sender.expect_error().await;
    sender.expect_quiet().await;
    other.expect_quiet().await;
    error
}

#[tokio::test]
async fn a_client_event_reaches_others_but_not_the_sender() {
    let server = start_server(config()).await;
    let (mut a, mut b) = pair(&server, "private-chat").await;
    let mut c = server.connect().await;
    c.subscribe_private("private-chat").await;
    a.trigger("private-chat", "client-typing", json!({"at": 1}))
        .await;
    let expected = json!({"event": "client-typing", "channel": "private-chat", "data": {"at": 1}});
    assert_eq!(
        b.expect_next("client-typing").await,
        expected,
        "no user_id on private channels"
    );
    assert_eq!(c.expect_next("client-typing").await, expected);
    a.expect_quiet().await;
}

#[tokio::test]
async fn presence_client_events_carry_the_senders_user_id_not_a_spoofed_one() {
    let server = start_server(config()).await;
    let channel = "presence-chat";
    let mut a = server.connect().await;
    a.subscribe_presence(channel, r#"{"user_id":"alice"}"#)
        .await;
    let mut b = server.connect().await;
    b.subscribe_presence(channel, r#"{"user_id":"bob"}"#).await;
    a.expect_next("pusher_internal:member_added").await;
    a.trigger(channel, "client-hi", json!("plain")).await;
    let frame = b.expect_next("client-hi").await;
    assert_eq!(frame["user_id"], "alice");
    assert_eq!(frame["data"], "plain", "data relayed in the shape sent");
    let spoof = json!({"event": "client-hi", "channel": channel, "data": {}, "user_id": "admin"});
    a.send_json(&spoof).await;
    assert_eq!(b.expect_next("client-hi").await["user_id"], "alice");
}

#[tokio::test]
async fn client_events_are_refused_on_public_cache_and_encrypted_channels() {
    let server = start_server(config()).await;
    let (mut a, mut b) = (server.connect().await, server.connect().await);
    for channel in ["public-room", "cache-room"] {
        a.subscribe(channel).await;
        a.barrier().await;
        b.subscribe(channel).await;
        b.barrier().await;
        a.trigger(channel, "client-x", json!({})).await;
        assert!(
            assert_not_relayed(&mut a, &mut b).await["code"].is_null(),
            "{channel}"
        );
    }
    for channel in ["private-encrypted-room", "private-encrypted-cache-room"] {
        a.subscribe_private(channel).await;
        a.barrier().await;
        b.subscribe_private(channel).await;
        b.barrier().await;
        a.trigger(channel, "client-x", json!({})).await;
        assert!(
            assert_not_relayed(&mut a, &mut b).await["code"].is_null(),
            "{channel}"
        );
    }
}

#[tokio::test]
async fn client_events_are_relayed_on_private_cache_channels_but_never_cached() {
    let server = start_server(config()).await;
    let (mut a, mut b) = (server.connect().await, server.connect().await);
    for client in [&mut a, &mut b] {
        client.subscribe_private("private-cache-room").await;
        client.expect_next("pusher:cache_miss").await;
    }
    a.trigger("private-cache-room", "client-x", json!({"n": 1}))
        .await;
    b.expect_next("client-x").await;
    let mut late = server.connect().await;
    late.subscribe_private("private-cache-room").await;
    late.expect_next("pusher:cache_miss").await;
}

#[tokio::test]
async fn client_events_from_a_non_subscriber_are_refused() {
    let server = start_server(config()).await;
    let mut outsider = server.connect().await;
    let mut member = server.connect().await;
    member.subscribe_private("private-chat").await;
    outsider
        .trigger("private-chat", "client-x", json!({}))
        .await;
    assert!(assert_not_relayed(&mut outsider, &mut member).await["code"].is_null());
}

#[tokio::test]
async fn events_without_the_client_prefix_are_refused() {
    let server = start_server(config()).await;
    let (mut a, mut b) = pair(&server, "private-chat").await;
    for name in [
        "typing",
        "Client-x",
        "pusher:custom",
        "pusher_internal:member_added",
    ] {
        a.trigger("private-chat", name, json!({})).await;
        assert_not_relayed(&mut a, &mut b).await;
    }
}

#[tokio::test]
async fn client_events_are_refused_when_the_app_switches_them_off() {
    let server = start_server(config_with(|app| app.client_events = false)).await;
    let (mut a, mut b) = pair(&server, "private-chat").await;
    a.trigger("private-chat", "client-x", json!({})).await;
    assert_not_relayed(&mut a, &mut b).await;
}

#[tokio::test]
async fn client_event_data_over_10_kb_is_refused() {
    let server = start_server(config()).await;
    let (mut a, mut b) = pair(&server, "private-chat").await;
    a.trigger("private-chat", "client-big", json!("x".repeat(10 * 1024)))
        .await;
    assert!(assert_not_relayed(&mut a, &mut b).await["code"].is_null());
}

#[tokio::test]
async fn a_burst_over_the_rate_limit_is_partly_refused_with_4301_and_the_connection_stays_open() {
    let server = start_server(config()).await;
    let (mut a, mut b) = pair(&server, "private-chat").await;
    for n in 0..30 {
        a.trigger("private-chat", "client-burst", json!({"n": n}))
            .await;
    }
    let errors = a.barrier().await;
    assert!(
        errors
            .iter()
            .all(|e| e["event"] == "pusher:error" && e["data"]["code"] == 4301),
        "{errors:?}"
    );
    let delivered = b.barrier().await;
    assert!(delivered.iter().all(|f| f["event"] == "client-burst"));
    assert_eq!(delivered.len() + errors.len(), 30);
    assert!(
        delivered.len() >= 10,
        "at least the bucket's capacity: {}",
        delivered.len()
    );
    assert!(
        !errors.is_empty(),
        "a 30-event burst must hit the 10/s limit"
    );
    a.subscribe("still-open").await;
}
