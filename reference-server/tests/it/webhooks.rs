//! Webhooks end to end: events, fields, once-per-user rules; the sink checks
//! every request's key, signature and Content-Type (spec 9).

use serde_json::{Value, json};

use crate::support::start_with_sink;

fn count(events: &[Value], name: &str, channel: &str) -> usize {
    events
        .iter()
        .filter(|e| e["name"] == name && e["channel"] == channel)
        .count()
}

#[tokio::test]
async fn channel_occupied_and_vacated_follow_the_first_and_last_subscriber() {
    let (server, mut sink) = start_with_sink(|_| {}).await;
    let mut a = server.connect().await;
    a.subscribe("news").await;
    assert_eq!(
        sink.expect("channel_occupied", "news").await,
        json!({"name": "channel_occupied", "channel": "news"})
    );
    let mut b = server.connect().await;
    b.subscribe("news").await;
    a.unsubscribe("news").await;
    a.barrier().await;
    b.close().await;
    let events = sink.take_until("channel_vacated", "news").await;
    assert_eq!(
        events.last(),
        Some(&json!({"name": "channel_vacated", "channel": "news"}))
    );
    assert_eq!(count(&events, "channel_occupied", "news"), 0, "{events:?}");
}

#[tokio::test]
async fn member_added_and_removed_fire_once_per_user() {
    let (server, mut sink) = start_with_sink(|_| {}).await;
    let channel = "presence-room";
    let mut first = server.connect().await;
    first.subscribe_presence(channel, r#"{"user_id":10}"#).await;
    let added = sink.expect("member_added", channel).await;
    assert_eq!(
        added,
        json!({"name": "member_added", "channel": channel, "user_id": "10"})
    );
    let mut second = server.connect().await;
    second
        .subscribe_presence(channel, r#"{"user_id":10}"#)
        .await;
    first.close().await;
    second.unsubscribe(channel).await;
    let events = sink.take_until("member_removed", channel).await;
    assert_eq!(
        events.last(),
        Some(&json!({"name": "member_removed", "channel": channel, "user_id": "10"}))
    );
    assert_eq!(count(&events, "member_added", channel), 0, "{events:?}");
    let mut marker = server.connect().await;
    marker.subscribe("marker").await;
    let rest = sink.take_until("channel_occupied", "marker").await;
    assert_eq!(count(&rest, "member_removed", channel), 0, "{rest:?}");
}

#[tokio::test]
async fn client_event_webhooks_carry_channel_event_data_socket_and_presence_user() {
    let (server, mut sink) = start_with_sink(|_| {}).await;
    let mut a = server.connect().await;
    a.subscribe_private("private-chat").await;
    a.trigger("private-chat", "client-typing", json!({"at": 1}))
        .await;
    let event = sink.expect("client_event", "private-chat").await;
    assert_eq!(
        event,
        json!({"name": "client_event", "channel": "private-chat", "event": "client-typing",
               "data": "{\"at\":1}", "socket_id": a.socket_id()})
    );
    a.subscribe_presence("presence-chat", r#"{"user_id":"alice"}"#)
        .await;
    a.trigger("presence-chat", "client-hi", json!("text")).await;
    let event = sink.expect("client_event", "presence-chat").await;
    assert_eq!(event["user_id"], "alice");
    assert_eq!(event["data"], "text");
}

#[tokio::test]
async fn cache_miss_webhook_fires_for_an_empty_cache_channel() {
    let (server, mut sink) = start_with_sink(|_| {}).await;
    let mut client = server.connect().await;
    client.subscribe("cache-empty").await;
    assert_eq!(
        sink.expect("cache_miss", "cache-empty").await,
        json!({"name": "cache_miss", "channel": "cache-empty"})
    );
}

#[tokio::test]
async fn subscription_count_webhook_fires_when_enabled() {
    let (server, mut sink) = start_with_sink(|app| app.subscription_count = true).await;
    let mut a = server.connect().await;
    a.subscribe("news").await;
    let event = sink.expect("subscription_count", "news").await;
    assert_eq!(
        event,
        json!({"name": "subscription_count", "channel": "news", "subscription_count": 1})
    );
}
