//! Redis unavailable: the HTTP API says so (503), and when Redis comes back
//! (empty: a restart without persistence) the nodes rebuild the shared state
//! from what they hold, and deliver again exactly once.

use serde_json::json;

use super::{RedisServer, start_nodes, unique_prefix};
use crate::support::{Rest, eventually};

async fn users(rest: &Rest, channel: &str) -> Vec<String> {
    let reply = rest.get(&format!("/channels/{channel}/users"), &[]).await;
    if reply.status != 200 {
        return Vec::new();
    }
    let mut ids: Vec<String> = reply.json()["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn redis_outage_answers_503_then_nodes_resync_without_duplicates() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("outage");
    let nodes = start_nodes(&redis.url(), &prefix, 2, |_| {}).await;
    let mut sub = nodes[1].connect().await;
    sub.subscribe("room").await;
    let mut member = nodes[1].connect().await;
    member
        .subscribe_presence("presence-r", r#"{"user_id":"u1"}"#)
        .await;
    let rest = nodes[0].rest();
    assert_eq!(users(&rest, "presence-r").await, ["u1"]);

    let mut chat = Vec::new();
    for _ in 0..2 {
        let mut client = nodes[1].connect().await;
        client.subscribe_private("private-chat").await;
        chat.push(client);
    }

    let port = redis.port();
    redis.stop();
    // Client events still reach the node's own subscribers.
    chat[0]
        .trigger("private-chat", "client-hi", json!({"n": 1}))
        .await;
    let relayed = chat[1].expect_event("client-hi").await;
    assert_eq!(crate::support::data_of(&relayed), json!({"n": 1}));
    let event = |data: &str| json!({"name": "e", "channel": "room", "data": data});
    let reply = rest.post("/events", &event("lost")).await;
    assert_eq!(
        reply.status, 503,
        "publish while Redis is down: {}",
        reply.body
    );
    let reply = rest.get("/channels/presence-r/users", &[]).await;
    assert_eq!(
        reply.status, 503,
        "query while Redis is down: {}",
        reply.body
    );
    // A subscription cannot be made cluster-wide: refused, the connection stays.
    let mut late = nodes[0].connect().await;
    late.send_subscribe(json!({"channel": "room", "auth": ""}))
        .await;
    let error = late.expect_error().await;
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unavailable"),
        "{error}"
    );
    late.expect_quiet().await;

    // Back, and empty: nothing shared survived the restart.
    let redis = RedisServer::start_on(port);
    redis.wait_subscribed(&prefix, 2).await;
    eventually("the roster rebuilt from the nodes", || {
        let rest = rest.clone();
        async move { users(&rest, "presence-r").await == ["u1"] }
    })
    .await;
    assert_eq!(
        rest.get("/channels/room", &[]).await.ok()["occupied"],
        true,
        "occupancy rebuilt too"
    );

    // Member events flow again, numbered after what the nodes saw before.
    let mut newcomer = nodes[0].connect().await;
    newcomer
        .subscribe_presence("presence-r", r#"{"user_id":"u2"}"#)
        .await;
    let added = member.expect_event("pusher_internal:member_added").await;
    assert_eq!(crate::support::data_of(&added)["user_id"], "u2");

    for i in 0..10 {
        rest.publish("room", "e", &i.to_string()).await;
    }
    rest.publish("room", "done", "").await;
    let mut seen = Vec::new();
    loop {
        let frame = sub.recv_json().await;
        match frame["event"].as_str() {
            Some("done") => break,
            Some("e") => seen.push(frame["data"].as_str().unwrap_or_default().to_owned()),
            _ => {}
        }
    }
    let expected: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(seen, expected, "each event once, the refused one never");
    sub.expect_quiet().await;
}
