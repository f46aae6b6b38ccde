//! Issue 13: shards of one run on shared channels, each its own process
//! (`load --shard i/N`), then `merge`: every shard accounts every shard's
//! publishes, the shards start together on the target's subscription
//! counts, and fan-out completion is merged over every shard's subscribers.

use std::path::{Path, PathBuf};
use std::process::Output;

use reference_server::{Config, Server};
use serde_json::Value;

use crate::load::{read_json, start_bundled};
use crate::rules::scratch;

/// The tests of this file run one at a time: each starts several generator
/// processes that must start within one connect timeout of each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// 300 subscribers, one publisher (in shard 0 of 3), 5 messages in a
/// batch of one each. The schedule-lag bound is loose: these tests are
/// about accounting, on a box that runs other tests' servers at once.
const SHARED: &str = r#"
version = 1
name = "shared"
thresholds = ["lost == 0", "duplicated == 0", "unexpected == 0"]
[run]
messages = 5
shared_channels = true
connect_timeout = "CONNECT"
drain = "5s"
max_schedule_lag = "5s"
[[channels]]
name = "all"
kind = "public"
[[population]]
name = "subscribers"
behaviour = "subscriber"
count = 300
channels = "all"
[[population]]
name = "publisher"
behaviour = "publisher"
count = 1
rate = 20
BATCH
channels = "all"
"#;

fn scenario(dir: &Path, connect: &str, batch: u32) -> PathBuf {
    let toml = SHARED
        .replace("CONNECT", connect)
        .replace("BATCH", &format!("batch = {batch}"));
    let path = dir.join("shared.toml");
    std::fs::write(&path, toml).expect("scenario written");
    path
}

/// A server that reports subscription counts (spec 8.5), as the shared
/// start needs.
async fn counting_server(configure: impl FnOnce(&mut Config)) -> (Server, String) {
    let mut config = Config::default();
    for app in &mut config.apps {
        app.subscription_count = true;
    }
    configure(&mut config);
    let (server, target) = start_bundled(config).await.expect("server starts");
    (server, target.ws_base)
}

/// Runs shard `i` of `n` against `target`, as its own process.
async fn shard(scen: &Path, target: &str, i: u32, n: u32, run_id: &str, out: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_pushcheck"))
        .arg("load")
        .arg(scen)
        .args(["--target", target, "--quiet", "--run-id", run_id])
        .args(["--shard", &format!("{i}/{n}")])
        .arg("--out")
        .arg(out)
        .output()
        .await
        .expect("pushcheck runs")
}

async fn merge(dir: &Path, shards: u32) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_pushcheck"));
    cmd.arg("merge");
    for i in 0..shards {
        cmd.arg(dir.join(format!("shard-{i}")));
    }
    cmd.arg("--out").arg(dir.join("merged"));
    cmd.output().await.expect("merge runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs all three shards at once against `targets[i]`.
async fn three_shards(dir: &Path, scen: &Path, targets: [&str; 3], run_id: &str) -> Vec<Output> {
    let runs = (0..3u32).map(|i| {
        let out = dir.join(format!("shard-{i}"));
        let target = targets[i as usize].to_owned();
        let scen = scen.to_owned();
        let run_id = run_id.to_owned();
        async move { shard(&scen, &target, i, 3, &run_id, &out).await }
    });
    futures_util::future::join_all(runs).await
}

fn fanout_max(report: &Value) -> u64 {
    report["metrics"]["fanout"]["max"]
        .as_u64()
        .expect("fanout max")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_share_one_publisher_and_merge_to_the_whole_fan_out() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = scratch("shared-merge");
    let (server, target) = counting_server(|_| {}).await;
    let scen = scenario(&dir, "10s", 1);
    let outs = three_shards(&dir, &scen, [&target; 3], "it-shared").await;
    for (i, o) in outs.iter().enumerate() {
        assert!(o.status.success(), "shard {i}: {}", text(o));
    }
    let merged = merge(&dir, 3).await;
    server.shutdown().await;
    assert!(merged.status.success(), "{}", text(&merged));
    let m = read_json(&dir.join("merged/load.json"));
    assert_eq!(m["deliveries"]["expected"], 5 * 300);
    assert_eq!(m["deliveries"]["lost"], 0);
    assert_eq!(
        m["tally"]["foreign"], 0,
        "every shard accounts shard 0's publishes"
    );
    assert_eq!(m["verdict"], "pass");
    // One completion per message, over all 300 subscribers.
    assert_eq!(m["metrics"]["fanout"]["count"], 5);
    assert_eq!(m["shared"]["fanout_scope"], "run");
    assert_eq!(m["shared"]["incomplete"], 0);
    for i in 0..3 {
        let s = read_json(&dir.join(format!("shard-{i}/load.json")));
        assert_eq!(s["deliveries"]["expected"], 5 * 100, "shard {i}");
        assert_eq!(s["metrics"]["fanout"]["count"], 5, "shard {i}");
        assert!(
            fanout_max(&m) >= fanout_max(&s),
            "merged {} < shard {i} {}",
            fanout_max(&m),
            fanout_max(&s)
        );
        assert_eq!(s["shared"]["start"]["planned"], 300, "shard {i}");
    }
    // Only shard 0 published.
    let s1 = read_json(&dir.join("shard-1/load.json"));
    assert_eq!(s1["tally"]["messages_sent"], 0);
    assert_eq!(s1["verdict"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_shard_fails_the_shared_start_instead_of_passing() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = scratch("shared-missing");
    let (server, target) = counting_server(|_| {}).await;
    let scen = scenario(&dir, "4s", 1);
    // Shards 0 and 1 of 3; shard 2 never starts.
    let runs = (0..2u32).map(|i| {
        let out = dir.join(format!("shard-{i}"));
        let (scen, target) = (scen.clone(), target.clone());
        async move { shard(&scen, &target, i, 3, "it-missing", &out).await }
    });
    let outs = futures_util::future::join_all(runs).await;
    server.shutdown().await;
    for (i, o) in outs.iter().enumerate() {
        assert_eq!(
            o.status.code(),
            Some(3),
            "shard {i} is invalid: {}",
            text(o)
        );
        let all = text(o);
        assert!(
            all.contains("shared start: 200 of 300 subscribed after 4 s (run.connect_timeout)"),
            "shard {i}: {all}"
        );
        let r = read_json(&dir.join(format!("shard-{i}/load.json")));
        assert_eq!(r["verdict"], "invalid");
        assert_eq!(r["tally"]["messages_sent"], 0, "nothing is sent");
        let why = r["validity"]["shared_start"].as_str().unwrap_or_default();
        assert!(why.contains("200 of 300"), "{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_against_another_server_fails_the_shared_start() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = scratch("shared-elsewhere");
    let (server, target) = counting_server(|_| {}).await;
    let (other, elsewhere) = counting_server(|_| {}).await;
    let scen = scenario(&dir, "4s", 1);
    let outs = three_shards(&dir, &scen, [&target, &target, &elsewhere], "it-elsewhere").await;
    server.shutdown().await;
    other.shutdown().await;
    assert!(text(&outs[0]).contains("200 of 300"), "{}", text(&outs[0]));
    assert!(text(&outs[2]).contains("100 of 300"), "{}", text(&outs[2]));
    let merged = merge(&dir, 3).await;
    assert_eq!(merged.status.code(), Some(3), "{}", text(&merged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_without_a_publisher_see_the_publishes_a_target_drops() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = scratch("shared-dropped");
    // Only a batch's first event is delivered: half of the messages.
    let (server, target) = counting_server(|c| c.faults.deliver_first_only = true).await;
    let scen = scenario(&dir, "10s", 2);
    let scen_text = std::fs::read_to_string(&scen).expect("scenario");
    let scen_text = scen_text
        .replace("messages = 5", "messages = 4")
        .replace("drain = \"5s\"", "drain = \"1s\"");
    std::fs::write(&scen, scen_text).expect("written");
    three_shards(&dir, &scen, [&target; 3], "it-dropped").await;
    let merged = merge(&dir, 3).await;
    server.shutdown().await;
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged));
    let m = read_json(&dir.join("merged/load.json"));
    assert_eq!(m["deliveries"]["expected"], 4 * 300);
    assert_eq!(m["deliveries"]["lost"], 2 * 300);
    for i in 1..3 {
        let s = read_json(&dir.join(format!("shard-{i}/load.json")));
        assert_eq!(s["tally"]["messages_sent"], 0, "shard {i} has no publisher");
        assert_eq!(s["deliveries"]["lost"], 2 * 100, "shard {i}");
        assert_eq!(s["verdict"], "fail", "shard {i}");
    }
    // The two delivered messages completed; the two dropped never did.
    assert_eq!(m["shared"]["incomplete"], 2);
    assert_eq!(m["metrics"]["fanout"]["count"], 2);
}

/// Two shards of a shared run against a 2-node cluster, given its nodes by
/// profile as `scripts/scale.sh` does; `fault` set on every node.
async fn on_a_cluster(name: &str, fault: bool) -> (PathBuf, Vec<Output>) {
    let dir = scratch(name);
    let sink = pushcheck::client::WebhookSink::start("127.0.0.1:0".parse().expect("valid"))
        .await
        .expect("sink binds");
    let cluster = crate::cluster::start_cluster(2, &sink, |_, c| {
        for app in &mut c.apps {
            app.subscription_count = true;
        }
        c.faults.cluster_rest_local = fault;
    })
    .await;
    crate::cluster::write_nodes_profile(&cluster, &dir.join("nodes.toml"));
    let toml = SHARED
        .replace("CONNECT", "4s")
        .replace("BATCH", "")
        .replace("count = 300", "count = 200\nnodes = \"round-robin\"");
    std::fs::write(dir.join("s.toml"), toml).expect("scenario written");
    let runs = (0..2u32).map(|i| {
        let dir = dir.clone();
        let target = cluster.target.ws_base.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_pushcheck"))
                .arg("load")
                .arg(dir.join("s.toml"))
                .args(["--target", &target, "--quiet", "--run-id", "it-cluster"])
                .args(["--shard", &format!("{i}/2"), "--profile"])
                .arg(dir.join("nodes.toml"))
                .arg("--out")
                .arg(dir.join(format!("shard-{i}")))
                .output()
                .await
                .expect("pushcheck runs")
        }
    });
    let outs = futures_util::future::join_all(runs).await;
    drop(cluster);
    (dir, outs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_on_a_cluster_start_together_on_its_cluster_wide_counts() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (dir, outs) = on_a_cluster("shared-cluster", false).await;
    for (i, o) in outs.iter().enumerate() {
        assert!(o.status.success(), "shard {i}: {}", text(o));
    }
    let merged = merge(&dir, 2).await;
    assert!(merged.status.success(), "{}", text(&merged));
    let m = read_json(&dir.join("merged/load.json"));
    assert_eq!(m["deliveries"]["expected"], 5 * 200);
    assert_eq!(m["deliveries"]["lost"], 0);
    // Half the subscribers are on the publisher's node, half across.
    assert_eq!(m["metrics"]["deliver_cross_node"]["count"], 5 * 100);
    assert_eq!(m["metrics"]["fanout"]["count"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_counting_one_node_only_fails_the_shared_start() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // Fault cluster_rest_local: the REST API answers from its own node's share.
    let (_, outs) = on_a_cluster("shared-cluster-local", true).await;
    for (i, o) in outs.iter().enumerate() {
        assert_eq!(o.status.code(), Some(3), "shard {i}: {}", text(o));
        assert!(
            text(o).contains("shared start: 100 of 200 subscribed after 4 s"),
            "shard {i}: {}",
            text(o)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_subscription_counts_is_named_at_once() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let dir = scratch("shared-uncounted");
    // Subscription counting off (the reference server's default).
    let (server, target) = start_bundled(Config::default()).await.expect("starts");
    let scen = scenario(&dir, "30s", 1);
    let started = std::time::Instant::now();
    let o = shard(
        &scen,
        &target.ws_base,
        0,
        1,
        "it-uncounted",
        &dir.join("out"),
    )
    .await;
    server.shutdown().await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("the target does not report subscription_count"),
        "{}",
        text(&o)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused at once, not after the 30 s bound"
    );
}
