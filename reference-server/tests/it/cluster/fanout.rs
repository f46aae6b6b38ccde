//! Fan-out across nodes: HTTP API events, batches, client events, socket
//! exclusion, send-to-user and terminate_connections reach every node once,
//! in each publisher's order.

use serde_json::{Value, json};

use super::start_cluster;
use crate::support::{Client, data_of};

/// Reads `channel` events until `sentinels` distinct `done` events have
/// arrived; returns the `data` of every other event, in arrival order.
async fn collect_until_sentinels(client: &mut Client, sentinels: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut done = 0;
    while done < sentinels {
        let frame = client.recv_json().await;
        match frame["event"].as_str() {
            Some("done") => done += 1,
            Some("e") => seen.push(frame["data"].as_str().expect("string data").to_owned()),
            _ => {}
        }
    }
    seen
}

#[tokio::test]
async fn events_published_on_any_node_reach_every_node_once_in_publisher_order() {
    let nodes = start_cluster("fanout", 3, |_| {}).await;
    let mut subscribers = Vec::new();
    for node in &nodes {
        let mut client = node.connect().await;
        client.subscribe("room").await;
        subscribers.push(client);
    }
    const N: usize = 40;
    // Two publishers on two nodes at once, each awaiting its replies in turn.
    let publishers = [0usize, 1].map(|p| {
        let rest = nodes[p].rest();
        tokio::spawn(async move {
            for i in 0..N {
                rest.publish("room", "e", &format!("p{p}-{i}")).await;
            }
            rest.publish("room", "done", &format!("p{p}")).await;
        })
    });
    for publisher in publishers {
        publisher.await.expect("publisher finished");
    }
    for (n, client) in subscribers.iter_mut().enumerate() {
        let seen = collect_until_sentinels(client, 2).await;
        for p in 0..2 {
            let own: Vec<&String> = seen
                .iter()
                .filter(|d| d.starts_with(&format!("p{p}-")))
                .collect();
            let expected: Vec<String> = (0..N).map(|i| format!("p{p}-{i}")).collect();
            assert_eq!(
                own,
                expected.iter().collect::<Vec<_>>(),
                "node {n}: publisher {p}'s events once each, in order"
            );
        }
        assert_eq!(seen.len(), 2 * N, "node {n}: nothing else");
        client.expect_quiet().await;
    }
}

#[tokio::test]
async fn a_batch_on_one_node_arrives_in_order_on_another() {
    let nodes = start_cluster("batch", 2, |_| {}).await;
    let mut far = nodes[1].connect().await;
    far.subscribe("a").await;
    far.subscribe("b").await;
    let batch: Vec<Value> = ["a", "b", "a", "b"]
        .iter()
        .enumerate()
        .map(|(i, ch)| json!({"name": "e", "channel": ch, "data": format!("{i}")}))
        .collect();
    nodes[0]
        .rest()
        .post("/batch_events", &json!({"batch": batch}))
        .await
        .ok();
    for (i, ch) in ["a", "b", "a", "b"].iter().enumerate() {
        let frame = far.expect_event("e").await;
        assert_eq!(
            (frame["channel"].as_str(), frame["data"].as_str()),
            (Some(*ch), Some(&*format!("{i}")))
        );
    }
    far.expect_quiet().await;
}

#[tokio::test]
async fn client_events_reach_other_nodes_but_not_the_sender() {
    let nodes = start_cluster("client", 3, |_| {}).await;
    let channel = "private-chat";
    let mut clients = Vec::new();
    for node in &nodes {
        let mut client = node.connect().await;
        client.subscribe_private(channel).await;
        clients.push(client);
    }
    for i in 0..5 {
        clients[0]
            .trigger(channel, "client-msg", json!({"i": i}))
            .await;
    }
    for client in &mut clients[1..] {
        for i in 0..5 {
            let frame = client.expect_event("client-msg").await;
            assert_eq!(data_of(&frame), json!({"i": i}), "in the sender's order");
        }
    }
    // The sender's own barrier comes after its events were relayed.
    clients[0].expect_quiet().await;
    // A sentinel on the same path: nothing (no duplicate) may come before it.
    nodes[1].rest().publish(channel, "done", "x").await;
    for client in &mut clients[1..] {
        let next = client.recv_json().await;
        assert_eq!(next["event"], "done", "only the sentinel is left: {next}");
        client.expect_quiet().await;
    }
}

#[tokio::test]
async fn socket_exclusion_works_across_nodes() {
    let nodes = start_cluster("exclude", 2, |_| {}).await;
    let mut excluded = nodes[1].connect().await;
    excluded.subscribe("room").await;
    let mut other = nodes[1].connect().await;
    other.subscribe("room").await;
    let body =
        json!({"name": "e", "channel": "room", "data": "1", "socket_id": excluded.socket_id()});
    nodes[0].rest().post("/events", &body).await.ok();
    nodes[0].rest().publish("room", "done", "").await;
    assert_eq!(other.expect_event("e").await["data"], "1");
    other.expect_event("done").await;
    // The sentinel took the excluded event's path: it is the next frame.
    let next = excluded.recv_json().await;
    assert_eq!(next["event"], "done", "excluded socket got {next}");
}

#[tokio::test]
async fn send_to_user_and_terminate_reach_the_users_connections_on_every_node() {
    let nodes = start_cluster("user", 3, |_| {}).await;
    let user = r#"{"id":"u1"}"#;
    let mut sessions = Vec::new();
    for node in &nodes[1..] {
        let mut client = node.connect().await;
        client.signin(user).await;
        client.subscribe("#server-to-user-u1").await;
        sessions.push(client);
    }
    nodes[0]
        .rest()
        .publish("#server-to-user-u1", "note", "hi")
        .await;
    for client in &mut sessions {
        assert_eq!(client.expect_event("note").await["data"], "hi");
    }
    nodes[0]
        .rest()
        .post("/users/u1/terminate_connections", &json!({}))
        .await
        .ok();
    for client in &mut sessions {
        assert_eq!(client.expect_close().await.0, 4009);
    }
}

#[tokio::test]
async fn socket_ids_carry_the_node_and_never_collide() {
    let nodes = start_cluster("ids", 3, |_| {}).await;
    let mut prefixes = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for node in &nodes {
        for _ in 0..3 {
            let client = node.connect().await;
            let id = client.socket_id().to_owned();
            assert!(ids.insert(id.clone()), "socket id {id} given twice");
            prefixes.push((
                id.split('.').next().expect("digits.digits").to_owned(),
                node.addr(),
            ));
        }
    }
    let mut by_node: Vec<&str> = prefixes.iter().map(|(p, _)| p.as_str()).collect();
    by_node.dedup();
    assert_eq!(by_node.len(), 3, "one prefix per node: {prefixes:?}");
}
