//! Cache channels, the connection quota and the presence member limit,
//! shared by every node (spec 10.1, 1.5, 7.3).

use serde_json::json;

use super::start_cluster;
use crate::support::eventually;

#[tokio::test]
async fn a_subscriber_on_another_node_replays_the_cached_event() {
    let nodes = start_cluster("cache", 2, |_| {}).await;
    nodes[0]
        .rest()
        .publish("cache-news", "headline", "one")
        .await;
    nodes[0]
        .rest()
        .publish("cache-news", "headline", "two")
        .await;
    let mut late = nodes[1].connect().await;
    late.subscribe("cache-news").await;
    let replay = late.expect_next("headline").await;
    assert_eq!(replay["data"], "two", "the last event, replayed once");
    late.expect_quiet().await;
    // The HTTP API reports the shared slot from any node (spec 8.5).
    let reply = nodes[1]
        .rest()
        .get("/channels/cache-news", &[("info", "cache")])
        .await
        .ok();
    assert_eq!(reply["cache"]["data"], "two");
    // Nothing cached yet: cache_miss, also on the other node.
    let mut empty = nodes[0].connect().await;
    empty.subscribe("cache-empty").await;
    empty.expect_next("pusher:cache_miss").await;
}

#[tokio::test]
async fn a_publish_racing_a_join_reaches_the_joiner_once() {
    let nodes = start_cluster("cache-race", 2, |_| {}).await;
    let rest = nodes[0].rest();
    let publisher = tokio::spawn(async move {
        for i in 0..30 {
            rest.publish("cache-race", "e", &i.to_string()).await;
        }
        rest.publish("cache-race", "done", "").await;
    });
    let mut joiner = nodes[1].connect().await;
    joiner
        .send_subscribe(json!({"channel": "cache-race", "auth": ""}))
        .await;
    publisher.await.expect("publisher");
    // Whatever the joiner got (a replay or the live event), in order, once each.
    let mut seen: Vec<i64> = Vec::new();
    loop {
        let frame = joiner.recv_json().await;
        match frame["event"].as_str() {
            Some("done") => break,
            Some("e") => seen.push(
                frame["data"]
                    .as_str()
                    .and_then(|d| d.parse().ok())
                    .expect("n"),
            ),
            _ => {}
        }
    }
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "no event twice: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] + 1 == w[1]),
        "a gapless run in order: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&29), "{seen:?}");
}

#[tokio::test]
async fn the_connection_quota_counts_every_node() {
    let nodes = start_cluster("quota", 2, |config| {
        config.apps[0].max_connections = Some(2);
    })
    .await;
    let first = nodes[0].connect().await;
    let _second = nodes[1].connect().await;
    let mut third = nodes[0].open("/app/app-key?protocol=7").await;
    let error = third.expect_error().await;
    assert_eq!(error["code"], 4004);
    assert_eq!(third.expect_close().await.0, 4004);
    // A slot freed on one node is free on the other.
    first.close().await;
    eventually("a freed slot is usable on the other node", || {
        let node = &nodes[1];
        async move {
            let mut client = node.open("/app/app-key?protocol=7").await;
            client.recv_json().await["event"] == "pusher:connection_established"
        }
    })
    .await;
}

#[tokio::test]
async fn the_presence_member_limit_counts_every_node() {
    let nodes = start_cluster("limit", 2, |config| {
        config.apps[0].max_presence_members = 1;
    })
    .await;
    let mut alice = nodes[0].connect().await;
    alice
        .subscribe_presence("presence-full", r#"{"user_id":"alice"}"#)
        .await;
    let mut bob = nodes[1].connect().await;
    let data = r#"{"user_id":"bob"}"#;
    let auth = bob.auth("presence-full", Some(data));
    bob.send_subscribe(json!({"channel": "presence-full", "auth": auth, "channel_data": data}))
        .await;
    let error = bob.expect_error().await;
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limit"),
        "{error}"
    );
    // Alice's second connection, on the other node, is still allowed.
    let mut again = nodes[1].connect().await;
    again
        .subscribe_presence("presence-full", r#"{"user_id":"alice"}"#)
        .await;
    alice.expect_quiet().await;
}
