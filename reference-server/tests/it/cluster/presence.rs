//! One roster per channel across the cluster; member events once per user;
//! the HTTP API's channel queries and the webhooks answer for the whole
//! cluster, from any node, once.

use serde_json::{Value, json};

use super::start_cluster;
use reference_server::WebhookTarget;

use crate::support::{KEY, SECRET, Sink, data_of};

const ROOM: &str = "presence-room";

fn member(id: &str) -> String {
    json!({"user_id": id, "user_info": {"name": id}}).to_string()
}

fn ids(presence: &Value) -> Vec<String> {
    let mut ids: Vec<String> = presence["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn one_roster_and_member_events_once_per_user_across_nodes() {
    let nodes = start_cluster("roster", 3, |_| {}).await;
    let mut alice = nodes[0].connect().await;
    alice.subscribe_presence(ROOM, &member("alice")).await;
    let mut bob = nodes[1].connect().await;
    let roster = bob.subscribe_presence(ROOM, &member("bob")).await;
    assert_eq!(ids(&roster), ["alice", "bob"]);
    assert_eq!(roster["hash"]["alice"], json!({"name": "alice"}));
    let added = alice.expect_next("pusher_internal:member_added").await;
    assert_eq!(
        data_of(&added),
        json!({"user_id": "bob", "user_info": {"name": "bob"}})
    );
    bob.expect_quiet().await;

    // Bob's second connection, on a third node: no member_added anywhere.
    let mut bob2 = nodes[2].connect().await;
    assert_eq!(
        ids(&bob2.subscribe_presence(ROOM, &member("bob")).await),
        ["alice", "bob"]
    );
    // His first one leaves: he is still there, so no member_removed.
    bob.close().await;
    // A sentinel member proves nothing came before it on alice's path.
    let mut carol = nodes[2].connect().await;
    carol.subscribe_presence(ROOM, &member("carol")).await;
    let next = alice.recv_json().await;
    assert_eq!(
        (next["event"].as_str(), data_of(&next)["user_id"].as_str()),
        (Some("pusher_internal:member_added"), Some("carol")),
        "only carol's arrival, nothing about bob: {next}"
    );
    // His last connection leaves: member_removed once, on every other node.
    bob2.close().await;
    for client in [&mut alice, &mut carol] {
        let removed = client.expect_event("pusher_internal:member_removed").await;
        assert_eq!(data_of(&removed), json!({"user_id": "bob"}));
        client.expect_quiet().await;
    }
}

#[tokio::test]
async fn rest_queries_answer_for_the_whole_cluster_from_any_node() {
    let nodes = start_cluster("queries", 3, |config| {
        config.apps[0].subscription_count = true;
    })
    .await;
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut client = node.connect().await;
        client.subscribe("news").await;
        client
            .expect_next("pusher_internal:subscription_count")
            .await;
        client
            .subscribe_presence(ROOM, &member(&format!("u{}", i % 2)))
            .await;
        clients.push(client);
    }
    for node in &nodes {
        let rest = node.rest();
        let news = rest
            .get("/channels/news", &[("info", "subscription_count")])
            .await
            .ok();
        assert_eq!(news, json!({"occupied": true, "subscription_count": 3}));
        let room = rest
            .get(&format!("/channels/{ROOM}"), &[("info", "user_count")])
            .await
            .ok();
        assert_eq!(room, json!({"occupied": true, "user_count": 2}));
        let list = rest
            .get(
                "/channels",
                &[("filter_by_prefix", "presence-"), ("info", "user_count")],
            )
            .await
            .ok();
        assert_eq!(list, json!({"channels": {ROOM: {"user_count": 2}}}));
        let mut users: Vec<String> =
            rest.get(&format!("/channels/{ROOM}/users"), &[]).await.ok()["users"]
                .as_array()
                .expect("users")
                .iter()
                .filter_map(|u| u["id"].as_str().map(str::to_owned))
                .collect();
        users.sort();
        assert_eq!(users, ["u0", "u1"]);
        let all = rest.get("/channels", &[]).await.ok();
        assert_eq!(all, json!({"channels": {"news": {}, ROOM: {}}}));
    }
    // subscription_count is cluster-wide too (spec 7.5): a fourth subscriber
    // on node 0 tells subscribers on every node that there are 4.
    let mut fourth = nodes[0].connect().await;
    fourth.subscribe("news").await;
    let own = fourth
        .expect_next("pusher_internal:subscription_count")
        .await;
    assert_eq!(data_of(&own), json!({"subscription_count": 4}));
    for client in &mut clients {
        // Counts of the earlier joins may be queued before it; the last is 4.
        loop {
            let count = client
                .expect_event("pusher_internal:subscription_count")
                .await;
            if data_of(&count) == json!({"subscription_count": 4}) {
                break;
            }
        }
    }
    for client in clients {
        client.close().await;
    }
    fourth.close().await;
    crate::support::eventually("every channel vacated in Redis", || {
        let rest = nodes[2].rest();
        async move { rest.get("/channels", &[]).await.ok() == json!({"channels": {}}) }
    })
    .await;
}

/// Counts the webhook events of each (name, channel, user) in `events`.
fn tally(events: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for e in events {
        let key = format!(
            "{} {} {}",
            e["name"].as_str().unwrap_or_default(),
            e["channel"].as_str().unwrap_or_default(),
            e["user_id"].as_str().unwrap_or_default()
        );
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn each_cluster_wide_transition_sends_one_webhook() {
    let mut sink = Sink::start(KEY, SECRET).await;
    let url = sink.url();
    let nodes = start_cluster("hooks", 3, |config| {
        config.apps[0].webhooks = vec![WebhookTarget {
            url: url.clone(),
            events: None,
        }];
    })
    .await;
    let mut clients = Vec::new();
    for node in &nodes {
        for user in ["a", "b"] {
            let mut client = node.connect().await;
            client.subscribe_presence(ROOM, &member(user)).await;
            clients.push(client);
        }
    }
    // A client event seen by subscribers on three nodes, and a cache miss.
    let mut chat = Vec::new();
    for node in &nodes {
        let mut client = node.connect().await;
        client.subscribe_private("private-chat").await;
        chat.push(client);
    }
    chat[0].trigger("private-chat", "client-x", json!({})).await;
    for client in &mut chat[1..] {
        client.expect_event("client-x").await;
    }
    let mut missing = nodes[1].connect().await;
    missing.subscribe("cache-nothing").await;
    missing.expect_next("pusher:cache_miss").await;
    for client in clients {
        client.close().await;
    }
    // A sentinel per node, after its part: each node's webhooks go out in
    // order, so once all three are in, every earlier one is too.
    for (i, node) in nodes.iter().enumerate() {
        let mut client = node.connect().await;
        client.subscribe(&format!("sentinel-{i}")).await;
    }
    let mut events = Vec::new();
    for i in 0..3 {
        let channel = format!("sentinel-{i}");
        // Nodes' webhooks interleave: a later sentinel may already be in.
        let seen = events
            .iter()
            .any(|e: &Value| e["name"] == "channel_occupied" && e["channel"] == channel);
        if !seen {
            events.extend(sink.take_until("channel_occupied", &channel).await);
        }
    }
    let tally = tally(&events);
    let room = |name: &str, user: &str| {
        tally
            .get(&format!("{name} {ROOM} {user}"))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(room("channel_occupied", ""), 1, "{tally:?}");
    assert_eq!(room("channel_vacated", ""), 1, "{tally:?}");
    for user in ["a", "b"] {
        assert_eq!(room("member_added", user), 1, "{tally:?}");
        assert_eq!(room("member_removed", user), 1, "{tally:?}");
    }
    let once = |key: &str| tally.get(key).copied().unwrap_or(0);
    assert_eq!(once("client_event private-chat "), 1, "{tally:?}");
    assert_eq!(once("cache_miss cache-nothing "), 1, "{tally:?}");
    assert_eq!(once("channel_occupied private-chat "), 1, "{tally:?}");
}

#[tokio::test]
async fn subscription_count_above_100_is_throttled_on_every_node() {
    let nodes = start_cluster("throttle", 2, |config| {
        config.apps[0].subscription_count = true;
    })
    .await;
    let mut observer = nodes[1].connect().await;
    observer.subscribe("crowd").await;
    observer
        .expect_next("pusher_internal:subscription_count")
        .await;
    let mut crowd = Vec::new();
    for i in 0..104 {
        let mut client = nodes[i % 2].connect().await;
        client
            .send_subscribe(json!({"channel": "crowd", "auth": ""}))
            .await;
        client.expect_succeeded("crowd").await;
        crowd.push(client);
    }
    // The sentinel took the counts' path (node 0's publish reaches node 1
    // through Redis, after every count the joins published).
    nodes[0].rest().publish("crowd", "done", "").await;
    let mut counts = Vec::new();
    loop {
        let frame = observer.recv_json().await;
        match frame["event"].as_str() {
            Some("done") => break,
            Some("pusher_internal:subscription_count") => {
                counts.push(
                    data_of(&frame)["subscription_count"]
                        .as_u64()
                        .expect("count"),
                );
            }
            _ => {}
        }
    }
    assert_eq!(
        counts,
        (2..=100).collect::<Vec<u64>>(),
        "every count up to 100, none above at once"
    );
    // The newest count comes when the 5 s throttle passes (spec 7.5). Each
    // read waits at most 5 s, too close to the throttle, so poll with the
    // ping barrier. why a sleep: the pause only paces the polling.
    let poll = async {
        loop {
            let frames = observer.barrier().await;
            if let Some(count) = frames
                .into_iter()
                .find(|f| f["event"] == "pusher_internal:subscription_count")
            {
                return count;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await; // why: see above
        }
    };
    let held = tokio::time::timeout(std::time::Duration::from_secs(10), poll)
        .await
        .expect("the held count within the throttle");
    assert_eq!(data_of(&held), json!({"subscription_count": 105}));
}
