//! Watchlists across nodes (spec 10.4): the state counts users signed in on
//! any node, and `online`/`offline` follow a user's first and last
//! connection anywhere.

use serde_json::{Value, json};

use super::{RedisServer, start_cluster, start_nodes, unique_prefix};
use crate::support::{Client, data_of, eventually};

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
    x.signin(r#"{"id":"x","watchlist":["s"]}"#).await;
    // Its state comes when Redis has its sign-in, which the watcher's
    // state on the other node must then count.
    assert_eq!(watchlist_events(&mut x).await, [event("offline", "s")]);
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
    y2.signin(r#"{"id":"y","watchlist":["x"]}"#).await;
    // Its state comes when Redis has its sign-in: only then may y leave
    // (the two nodes' links are not ordered with each other).
    assert_eq!(watchlist_events(&mut y2).await, [event("online", "x")]);
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

/// Redis restarted without its data (spec 10.4 across the outage): the
/// node holding a signed-in user puts it back, so it is online again for
/// a watcher elsewhere without signing in again, and its later sign-out
/// reaches the watchers that watched it before the outage too.
#[tokio::test]
async fn signed_in_users_are_rebuilt_after_redis_lost_its_data() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("watch-outage");
    let nodes = start_nodes(&redis.url(), &prefix, 2, |_| {}).await;
    let mut x = nodes[1].connect().await;
    x.signin(r#"{"id":"x"}"#).await;
    let mut y = nodes[1].connect().await;
    y.signin(r#"{"id":"y"}"#).await;
    // Sign-ins and sign-outs of z number the app's messages up to 12, so
    // w1's state below is numbered well above where the emptied Redis
    // starts again.
    for _ in 0..5 {
        let mut z = nodes[1].connect().await;
        z.signin(r#"{"id":"z"}"#).await;
        z.close().await;
    }
    let seq = format!("{prefix}:app-id:seq");
    eventually("x, y and five rounds of z numbered", || {
        let out = redis.cli(&["GET", &seq]);
        async move { out.trim() == "12" }
    })
    .await;
    let mut before = nodes[0].connect().await;
    before.signin(r#"{"id":"w1","watchlist":["x","y"]}"#).await;
    assert_eq!(
        watchlist_events(&mut before).await,
        [json!({"name": "online", "user_ids": ["x", "y"]})]
    );

    let port = redis.port();
    redis.stop();
    // y's sign-out cannot reach Redis: lost with the rest.
    y.close().await;
    let redis = RedisServer::start_on(port);
    redis.wait_subscribed(&prefix, 2).await;
    // Node 2's signed-in user back in the cluster's online set, w1 (node 1's) too.
    let online = format!("{prefix}:app-id:online");
    eventually("the signed-in users rebuilt from the nodes", || {
        let out = redis.cli(&["HGETALL", &online]);
        async move {
            let mut pairs: Vec<&str> = out.split_whitespace().collect();
            pairs.sort_unstable();
            pairs == ["1", "1", "w1", "x"]
        }
    })
    .await;

    // No new sign-in of x: a watcher signing in now sees it online.
    let mut after = nodes[0].connect().await;
    after.signin(r#"{"id":"w2","watchlist":["x","y"]}"#).await;
    assert_eq!(
        watchlist_events(&mut after).await,
        [event("online", "x"), event("offline", "y")]
    );
    // x's sign-out is announced to both, numbered after what w1 was sent
    // before the outage; and the quiet rebuild sent w1 nothing before it.
    x.close().await;
    assert_eq!(watchlist_events(&mut after).await, [event("offline", "x")]);
    assert_eq!(watchlist_events(&mut before).await, [event("offline", "x")]);
}

/// The node's `pusher_connections` gauge (it drops after the node handled
/// a close, its sign-out queued first).
async fn connections(node: &crate::support::TestServer) -> Option<f64> {
    let url = format!("http://{}/metrics", node.addr());
    let text = reqwest::get(url).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(r#"pusher_connections{app_id="app-id"} "#))
        .and_then(|v| v.trim().parse().ok())
}

/// Redis down and back with its data (spec 10.4): a sign-out its node
/// could not tell Redis is announced once the node resyncs, instead of
/// the user staying online for watchers on other nodes.
#[tokio::test]
async fn a_sign_out_made_while_redis_was_down_is_announced_when_it_is_back() {
    let scratch = Scratch(std::env::temp_dir().join(unique_prefix("watch-kept")));
    let dir = &scratch.0;
    std::fs::create_dir_all(dir).expect("scratch dir for the dump");
    let redis = RedisServer::start_keeping(None, dir);
    let prefix = unique_prefix("watch-kept");
    let nodes = start_nodes(&redis.url(), &prefix, 2, |_| {}).await;
    let mut x = nodes[1].connect().await;
    x.signin(r#"{"id":"x","watchlist":["s"]}"#).await;
    assert_eq!(watchlist_events(&mut x).await, [event("offline", "s")]);
    let mut watcher = nodes[0].connect().await;
    watcher.signin(r#"{"id":"w","watchlist":["x","s"]}"#).await;
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [event("online", "x"), event("offline", "s")]
    );
    assert!(redis.cli(&["SAVE"]).starts_with("OK"), "SAVE");

    let port = redis.port();
    redis.stop();
    x.close().await;
    // Node 2 handled the close (its sign-out queued), and a query queued
    // after it failed: the sign-out failed too, Redis still down.
    eventually("node 2 saw x's connection close", || async {
        connections(&nodes[1]).await == Some(0.0)
    })
    .await;
    let reply = nodes[1].rest().get("/channels", &[]).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    let redis = RedisServer::start_keeping(Some(port), dir);
    let online = format!("{prefix}:app-id:online");
    assert!(
        redis.cli(&["HEXISTS", &online, "x"]).starts_with('1'),
        "the dump has x online"
    );

    // Node 2 resyncs (Redis kept its data: loudly), and x goes offline.
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [event("offline", "x")]
    );
    let mut s = nodes[1].connect().await;
    s.signin(r#"{"id":"s"}"#).await;
    assert_eq!(watchlist_events(&mut watcher).await, [event("online", "s")]);
}

/// A scratch directory, removed when dropped (also when the test fails).
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
