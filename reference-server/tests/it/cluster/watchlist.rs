//! Watchlists across nodes (spec 10.4): the state counts users signed in on
//! any node, and `online`/`offline` follow a user's first and last
//! connection anywhere.

use serde_json::{Value, json};

use super::start_cluster;
use crate::support::{Client, data_of};

pub(crate) async fn watchlist_events(client: &mut Client) -> Vec<Value> {
    let frame = client.expect_next("pusher_internal:watchlist_events").await;
    data_of(&frame)["events"]
        .as_array()
        .expect("events array")
        .clone()
}

pub(crate) fn event(name: &str, id: &str) -> Value {
    json!({"name": name, "user_ids": [id]})
}

#[tokio::test]
async fn a_watchlist_follows_users_on_every_node() {
    let nodes = start_cluster("watchlist", 2, |_| {}).await;
    let mut x = nodes[1].connect().await;
    x.signin(r#"{"id":"x"}"#).await;
    let mut watcher = nodes[0].connect().await;
    watcher
        .signin(r#"{"id":"w","watchlist":["x","y","s"]}"#)
        .await;
    let initial = watchlist_events(&mut watcher).await;
    assert_eq!(
        initial,
        [
            json!({"name": "online", "user_ids": ["x"]}),
            json!({"name": "offline", "user_ids": ["y", "s"]})
        ]
    );
    let mut y = nodes[1].connect().await;
    y.signin(r#"{"id":"y"}"#).await;
    assert_eq!(watchlist_events(&mut watcher).await, [event("online", "y")]);
    // y's second connection, on the watcher's node: no second `online`,
    // and no `offline` when the first closes (the sentinel `s` comes next).
    let mut y2 = nodes[0].connect().await;
    y2.signin(r#"{"id":"y"}"#).await;
    y.close().await;
    let mut s = nodes[1].connect().await;
    s.signin(r#"{"id":"s"}"#).await;
    assert_eq!(watchlist_events(&mut watcher).await, [event("online", "s")]);
    y2.close().await;
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [event("offline", "y")]
    );
    x.close().await;
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [event("offline", "x")]
    );
}
