//! Cache channels: replay after subscription, cache_miss, TTL, REST `info=cache` (spec 10.1).

use serde_json::json;

use crate::support::{config, config_with, eventually, start_server};

#[tokio::test]
async fn the_last_published_event_is_replayed_right_after_subscription_succeeded() {
    let server = start_server(config()).await;
    let rest = server.rest();
    rest.publish("cache-weather", "forecast", "rain").await;
    rest.publish("cache-weather", "forecast", "sun").await;
    let mut client = server.connect().await;
    client.subscribe("cache-weather").await;
    let replay = client.expect_next("forecast").await;
    assert_eq!(
        replay,
        json!({"event": "forecast", "channel": "cache-weather", "data": "sun"})
    );
    client.expect_quiet().await;
}

#[tokio::test]
async fn private_and_presence_cache_channels_replay_after_their_success_frame() {
    let server = start_server(config()).await;
    let rest = server.rest();
    rest.publish("private-cache-a", "e", "1").await;
    rest.publish("presence-cache-b", "e", "2").await;
    let mut client = server.connect().await;
    client.subscribe_private("private-cache-a").await;
    assert_eq!(client.expect_next("e").await["data"], "1");
    client
        .subscribe_presence("presence-cache-b", r#"{"user_id":"u"}"#)
        .await;
    assert_eq!(client.expect_next("e").await["data"], "2");
}

#[tokio::test]
async fn an_empty_cache_channel_sends_cache_miss_without_data() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("cache-empty").await;
    let miss = client.expect_next("pusher:cache_miss").await;
    assert_eq!(
        miss,
        json!({"event": "pusher:cache_miss", "channel": "cache-empty"})
    );
    client.expect_quiet().await;
}

#[tokio::test]
async fn an_expired_event_is_not_replayed() {
    let server = start_server(config_with(|app| app.cache_ttl_ms = 1)).await;
    let rest = server.rest();
    rest.publish("cache-short", "e", "old").await;
    eventually("the cached event expires", || async {
        rest.get("/channels/cache-short", &[("info", "cache")])
            .await
            .ok()["cache"]
            .is_null()
    })
    .await;
    let mut client = server.connect().await;
    client.subscribe("cache-short").await;
    client.expect_next("pusher:cache_miss").await;
}

#[tokio::test]
async fn rest_reports_the_cached_data_and_its_remaining_ttl() {
    let server = start_server(config()).await;
    let rest = server.rest();
    let before = rest
        .get("/channels/cache-info", &[("info", "cache")])
        .await
        .ok();
    assert_eq!(before, json!({"occupied": false, "cache": null}));
    rest.publish("cache-info", "e", "payload").await;
    let after = rest
        .get("/channels/cache-info", &[("info", "cache")])
        .await
        .ok();
    assert_eq!(after["cache"]["data"], "payload");
    let ttl = after["cache"]["ttl"].as_u64().expect("ttl in seconds");
    assert!((1790..=1800).contains(&ttl), "default TTL 1800 s: {ttl}");
}

#[tokio::test]
async fn an_excluded_socket_still_finds_the_event_cached() {
    let server = start_server(config()).await;
    let mut client = server.connect().await;
    client.subscribe("cache-x").await;
    client.expect_next("pusher:cache_miss").await;
    let body =
        json!({"name": "e", "channel": "cache-x", "data": "d", "socket_id": client.socket_id()});
    server.rest().post("/events", &body).await.ok();
    client.expect_quiet().await;
    let mut late = server.connect().await;
    late.subscribe("cache-x").await;
    assert_eq!(late.expect_next("e").await["data"], "d");
}
