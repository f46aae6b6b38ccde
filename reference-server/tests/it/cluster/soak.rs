//! Bounded soak: 3 nodes, connections churning across them (subscribing,
//! joining presence, leaving) while 3 publishers on 3 nodes publish
//! numbered events. Every delivery is accounted for (known, once, in its
//! publisher's order), member events alternate per user, and at the end the
//! rosters, seen from every node and replayed from the member events, equal
//! the connections still open.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::start_cluster;
use crate::support::{Client, data_of, eventually};

const ROOM: &str = "presence-soak";
const CHANNEL: &str = "soak";
/// Events per publisher.
const EVENTS: usize = 150;
/// Churning tasks and rounds per task.
const CHURNERS: usize = 9;
const ROUNDS: usize = 10;

/// Checks that `frames` hold each publisher's events at most once and in
/// order; returns how many there were.
fn account(frames: &[Value], last: &mut HashMap<usize, usize>) -> usize {
    let mut n = 0;
    for frame in frames.iter().filter(|f| f["event"] == "e") {
        let data = frame["data"].as_str().expect("string data");
        let (p, i) = data
            .strip_prefix('p')
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(p, i)| Some((p.parse().ok()?, i.parse().ok()?)))
            .unwrap_or_else(|| panic!("unexpected delivery {data}"));
        assert!(p < 3 && i < EVENTS, "unexpected delivery {data}");
        if let Some(prev) = last.insert(p, i) {
            assert!(
                i > prev,
                "publisher {p}: {i} after {prev} (duplicate or reordered)"
            );
        }
        n += 1;
    }
    n
}

async fn churn(nodes: Vec<std::net::SocketAddr>, task: usize) -> Option<Client> {
    let user = format!("c{task}");
    let mut kept = None;
    for round in 0..ROUNDS {
        let addr = nodes[(task + round) % nodes.len()];
        let url = format!("ws://{addr}/app/app-key?protocol=7");
        let mut client = Client::connect(&url, "app-key", "app-secret").await;
        client.subscribe(CHANNEL).await;
        // Events keep arriving while the presence join is answered.
        let data = json!({"user_id": user}).to_string();
        let auth = client.auth(ROOM, Some(&data));
        client
            .send_subscribe(json!({"channel": ROOM, "auth": auth, "channel_data": data}))
            .await;
        let mut frames = Vec::new();
        loop {
            let frame = client.recv_json().await;
            if frame["event"] == "pusher_internal:subscription_succeeded" {
                assert_eq!(frame["channel"], ROOM, "{frame}");
                break;
            }
            frames.push(frame);
        }
        frames.extend(client.barrier().await);
        account(&frames, &mut HashMap::new());
        // Even tasks keep their last connection open: the final roster.
        if round + 1 == ROUNDS && task.is_multiple_of(2) {
            kept = Some(client);
        } else {
            client.close().await;
        }
    }
    kept
}

/// Applies member events to `roster`, asserting they alternate per user.
fn replay_members(frames: &[Value], roster: &mut BTreeSet<String>) {
    for frame in frames {
        let user = || {
            data_of(frame)["user_id"]
                .as_str()
                .expect("user_id")
                .to_owned()
        };
        match frame["event"].as_str() {
            Some("pusher_internal:member_added") => {
                assert!(roster.insert(user()), "member_added twice for {}", user());
            }
            Some("pusher_internal:member_removed") => {
                assert!(
                    roster.remove(&user()),
                    "member_removed for absent {}",
                    user()
                );
            }
            _ => {}
        }
    }
}

async fn read_until_sentinels(client: &mut Client, name: &str, n: usize) -> Vec<Value> {
    let mut frames = Vec::new();
    let mut seen = 0;
    while seen < n {
        let frame = client.recv_json().await;
        if frame["event"] == name {
            seen += 1;
        } else {
            frames.push(frame);
        }
    }
    frames
}

#[tokio::test]
async fn three_nodes_churning_account_for_every_delivery_and_end_with_true_rosters() {
    let nodes = start_cluster("soak", 3, |_| {}).await;
    let mut watchers = Vec::new();
    let mut rosters = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        let mut watcher = node.connect().await;
        watcher.subscribe(CHANNEL).await;
        let presence = watcher
            .subscribe_presence(ROOM, &json!({"user_id": format!("w{n}")}).to_string())
            .await;
        let roster: BTreeSet<String> = presence["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        watchers.push(watcher);
        rosters.push(roster);
    }
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr()).collect();
    let publishers: Vec<_> = (0..3)
        .map(|p| {
            let rest = nodes[p].rest();
            tokio::spawn(async move {
                for i in 0..EVENTS {
                    rest.publish(CHANNEL, "e", &format!("p{p}-{i}")).await;
                }
            })
        })
        .collect();
    let churners: Vec<_> = (0..CHURNERS)
        .map(|task| tokio::spawn(churn(addrs.clone(), task)))
        .collect();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let mut kept = Vec::new();
    for churner in churners {
        kept.extend(churner.await.expect("churner"));
    }
    let mut truth: BTreeSet<String> = (0..3).map(|n| format!("w{n}")).collect();
    truth.extend(
        (0..CHURNERS)
            .filter(|t| t.is_multiple_of(2))
            .map(|t| format!("c{t}")),
    );

    // Rosters through the HTTP API, from every node, settle on the truth.
    for node in &nodes {
        let rest = node.rest();
        let want: Vec<String> = truth.iter().cloned().collect();
        eventually("the roster equals the open connections", || {
            let (rest, want) = (rest.clone(), want.clone());
            async move {
                let reply = rest.get(&format!("/channels/{ROOM}/users"), &[]).await.ok();
                let mut ids: Vec<String> = reply["users"]
                    .as_array()
                    .expect("users")
                    .iter()
                    .filter_map(|u| u["id"].as_str().map(str::to_owned))
                    .collect();
                ids.sort();
                ids == want
            }
        })
        .await;
    }
    for node in &nodes {
        node.rest().publish(CHANNEL, "done", "").await;
    }
    for (n, watcher) in watchers.iter_mut().enumerate() {
        let frames = read_until_sentinels(watcher, "done", 3).await;
        let mut last = HashMap::new();
        assert_eq!(
            account(&frames, &mut last),
            3 * EVENTS,
            "node {n}: every event once"
        );
        assert!(
            last.values().all(|&i| i == EVENTS - 1),
            "node {n}: {last:?}"
        );
        replay_members(&frames, &mut rosters[n]);
        assert_eq!(
            rosters[n], truth,
            "node {n}: the roster its member events describe"
        );
        watcher.expect_quiet().await;
    }
    drop(kept);
}
