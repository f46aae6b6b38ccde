//! Node death: a node killed with SIGKILL (a child process, so nothing of it
//! runs its cleanup) loses its members and subscriptions within
//! `lease_ms + heartbeat_ms`, reaped by the survivors with one webhook per
//! transition; starting it again brings nothing back.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reference_server::WebhookTarget;
use serde_json::{Value, json};

use super::watchlist::{event, watchlist_events};
use super::{HEARTBEAT_MS, LEASE_MS, shared, start_nodes, unique_prefix};
use crate::support::{Client, KEY, Rest, SECRET, Sink, data_of};

const ROOM: &str = "presence-room";

/// A node running as its own process; dropping it kills it.
#[derive(Debug)]
struct ChildNode {
    child: Child,
    addr: String,
}

impl ChildNode {
    /// Starts `reference-server --redis URL --node-id NAME` with the test's
    /// prefix, lease and webhook sink; waits for its listening line.
    async fn start(redis: &str, prefix: &str, name: &str, hook: &str) -> ChildNode {
        let path = std::env::temp_dir().join(format!("{prefix}-{name}.toml"));
        let config = format!(
            "[webhooks]\nvacate_delay_ms = 0\nbatch_window_ms = 5\n\
             [cluster]\nkey_prefix = \"{prefix}\"\nlease_ms = {LEASE_MS}\nheartbeat_ms = {HEARTBEAT_MS}\n\
             [[apps]]\nid = \"app-id\"\nkey = \"app-key\"\nsecret = \"app-secret\"\n\
             [[apps.webhooks]]\nurl = \"{hook}\"\n"
        );
        std::fs::write(&path, config).expect("write the child's config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_reference-server"))
            .args(["--bind", "127.0.0.1:0", "--redis", redis, "--node-id", name])
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the reference-server binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Reads to the end, so the child never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on ws://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(line);
                }
            }
        });
        let line = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .expect("the child node starts within 10 s")
            .expect("the child prints its address");
        let addr = line
            .split("ws://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("ws://ADDR/app/... in the listening line")
            .to_owned();
        ChildNode { child, addr }
    }

    async fn connect(&self) -> Client {
        let url = format!("ws://{}/app/{KEY}?protocol=7", self.addr);
        Client::connect(&url, KEY, SECRET).await
    }

    /// Sends `signal` (e.g. STOP, CONT) with kill(1).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal}");
    }

    /// SIGKILL, as `Child::kill` sends on Unix: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the child");
        self.child.wait().expect("reap the child");
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn member(id: &str) -> String {
    json!({"user_id": id}).to_string()
}

async fn user_ids(rest: &Rest) -> Vec<String> {
    let reply = rest.get(&format!("/channels/{ROOM}/users"), &[]).await.ok();
    let mut ids: Vec<String> = reply["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_node_killed_with_sigkill_loses_its_members_within_the_lease() {
    let redis = shared().url();
    let prefix = unique_prefix("death");
    let mut sink = Sink::start(KEY, SECRET).await;
    let hook = sink.url();
    let survivors = start_nodes(&redis, &prefix, 2, |config| {
        config.apps[0].webhooks = vec![WebhookTarget {
            url: hook.clone(),
            events: None,
        }];
    })
    .await;
    let victim = ChildNode::start(&redis, &prefix, "victim", &hook).await;
    let mut watcher = survivors[0].connect().await;
    watcher.subscribe_presence(ROOM, &member("watcher")).await;
    let mut ghost = victim.connect().await;
    ghost.subscribe_presence(ROOM, &member("ghost")).await;
    ghost.subscribe("lonely").await;
    let added = watcher.expect_event("pusher_internal:member_added").await;
    assert_eq!(data_of(&added), json!({"user_id": "ghost"}));
    let rest = survivors[1].rest();
    assert_eq!(user_ids(&rest).await, ["ghost", "watcher"]);
    sink.expect("channel_occupied", "lonely").await;

    let killed = Instant::now();
    victim.kill();
    let removed = watcher.expect_event("pusher_internal:member_removed").await;
    let took = killed.elapsed();
    assert_eq!(data_of(&removed), json!({"user_id": "ghost"}));
    let bound = Duration::from_millis(LEASE_MS + HEARTBEAT_MS);
    // The bound plus scheduling slack on a shared 2-core machine.
    assert!(
        took < bound + Duration::from_secs(1),
        "removed after {took:?}, bound {bound:?}"
    );
    assert_eq!(user_ids(&rest).await, ["watcher"]);
    let channels = rest.get("/channels", &[]).await.ok();
    assert_eq!(
        channels,
        json!({"channels": {ROOM: {}}}),
        "no ghost channel"
    );

    // Both survivors race to reap; the webhooks come once. A sentinel per
    // survivor closes its stream of webhooks.
    for (i, node) in survivors.iter().enumerate() {
        node.connect()
            .await
            .subscribe(&format!("sentinel-{i}"))
            .await;
    }
    let mut events: Vec<Value> = Vec::new();
    for i in 0..2 {
        let channel = format!("sentinel-{i}");
        let seen = events
            .iter()
            .any(|e| e["name"] == "channel_occupied" && e["channel"] == channel);
        if !seen {
            events.extend(sink.take_until("channel_occupied", &channel).await);
        }
    }
    let count = |name: &str, channel: &str| {
        events
            .iter()
            .filter(|e| e["name"] == name && e["channel"] == channel)
            .count()
    };
    assert_eq!(count("member_removed", ROOM), 1, "{events:?}");
    assert_eq!(count("channel_vacated", "lonely"), 1, "{events:?}");

    // Started again under the same name: nothing of the dead run returns.
    let again = ChildNode::start(&redis, &prefix, "victim", &hook).await;
    assert_eq!(user_ids(&rest).await, ["watcher"]);
    let mut fresh = again.connect().await;
    let roster = fresh.subscribe_presence(ROOM, &member("fresh")).await;
    assert_eq!(roster["count"], 2, "watcher and fresh only: {roster}");
    watcher.expect_event("pusher_internal:member_added").await;
    watcher.expect_quiet().await;
}

#[tokio::test]
async fn a_node_that_was_reaped_while_frozen_closes_its_clients_when_it_resumes() {
    let redis = shared().url();
    let prefix = unique_prefix("frozen");
    let survivors = start_nodes(&redis, &prefix, 1, |_| {}).await;
    let victim = ChildNode::start(&redis, &prefix, "frozen", "http://127.0.0.1:9/none").await;
    let mut watcher = survivors[0].connect().await;
    watcher.subscribe_presence(ROOM, &member("watcher")).await;
    let mut sleeper = victim.connect().await;
    sleeper.subscribe_presence(ROOM, &member("sleeper")).await;
    watcher.expect_event("pusher_internal:member_added").await;

    // Frozen (SIGSTOP) past its lease: the survivor reaps it.
    victim.signal("STOP");
    let removed = watcher.expect_event("pusher_internal:member_removed").await;
    assert_eq!(data_of(&removed), json!({"user_id": "sleeper"}));
    let rest = survivors[0].rest();
    assert_eq!(user_ids(&rest).await, ["watcher"]);

    // Thawed: it finds itself reaped; its clients missed what the cluster
    // said meanwhile, so it closes them (4200: reconnect) rather than
    // announcing them again.
    victim.signal("CONT");
    let (code, _) = sleeper.expect_close().await;
    assert_eq!(code, 4200);
    watcher.expect_quiet().await;
    assert_eq!(user_ids(&rest).await, ["watcher"]);
}

#[tokio::test]
async fn a_killed_nodes_users_go_offline_for_watchers_on_the_survivors() {
    let redis = shared().url();
    let prefix = unique_prefix("death-watch");
    let survivors = start_nodes(&redis, &prefix, 1, |_| {}).await;
    let victim = ChildNode::start(&redis, &prefix, "victim", "http://127.0.0.1:9/none").await;
    // The victim's sign-ins watch `s`: their states come once Redis has
    // them, so the watcher's state below counts them.
    let mut ghost = victim.connect().await;
    ghost.signin(r#"{"id":"ghost","watchlist":["s"]}"#).await;
    assert_eq!(watchlist_events(&mut ghost).await, [event("offline", "s")]);
    // `both` is also signed in on the survivor: it stays online.
    let mut both_there = victim.connect().await;
    both_there
        .signin(r#"{"id":"both","watchlist":["s"]}"#)
        .await;
    assert_eq!(
        watchlist_events(&mut both_there).await,
        [event("offline", "s")]
    );
    let mut both_here = survivors[0].connect().await;
    both_here.signin(r#"{"id":"both"}"#).await;
    let mut watcher = survivors[0].connect().await;
    watcher
        .signin(r#"{"id":"w","watchlist":["ghost","both","s"]}"#)
        .await;
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [
            json!({"name": "online", "user_ids": ["ghost", "both"]}),
            event("offline", "s")
        ]
    );
    victim.kill();
    assert_eq!(
        watchlist_events(&mut watcher).await,
        [event("offline", "ghost")]
    );
    // A sentinel sign-in: nothing about `both` came before it.
    let mut s = survivors[0].connect().await;
    s.signin(r#"{"id":"s"}"#).await;
    assert_eq!(watchlist_events(&mut watcher).await, [event("online", "s")]);
}
