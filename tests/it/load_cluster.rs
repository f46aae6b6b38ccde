//! Load over the nodes of a bundled cluster (issue 13): populations spread
//! over the nodes, deliveries timed as same-node or cross-node, and a node
//! killed mid-run whose clients reconnect elsewhere while the ledger keeps
//! what they lost apart from losses among connected clients.

use pushcheck::load::result::ThresholdVerdict;
use pushcheck::load::{LoadResult, run, validate};
use pushcheck::metrics::Metric;
use pushcheck::status::Status;

use crate::cluster::start_cluster;
use crate::load::opts;

/// Runs `toml` against a fresh 3-node bundled cluster whose nodes
/// `configure` adjusts (faults).
async fn run_on_cluster(
    toml: &str,
    run_id: &str,
    configure: impl Fn(usize, &mut reference_server::Config),
) -> LoadResult {
    let sink = pushcheck::client::WebhookSink::start("127.0.0.1:0".parse().expect("valid"))
        .await
        .expect("sink binds");
    let cluster = start_cluster(3, &sink, configure).await;
    let plan = validate::from_toml("cluster-test.toml", toml, &[]).expect("valid scenario");
    let mut o = opts(run_id);
    o.in_process_server = false;
    let r = run(&plan, &cluster.target, &o)
        .await
        .expect("the run starts");
    drop(cluster);
    r
}

const SPREAD: &str = r#"
version = 1
name = "spread"
thresholds = ["lost == 0", "duplicated == 0", "unexpected == 0"]
[run]
duration = "1s"
drain = "10s"
connect_timeout = "30s"
# A shared 2-core test machine; the schedule is not what these tests judge.
max_schedule_lag = "2s"
[[channels]]
name = "c"
kind = "public"
count = 1
[[population]]
name = "audience"
behaviour = "subscriber"
count = 3000
ramp = 5000
channels = "c"
[[population]]
name = "pub"
behaviour = "publisher"
count = 1
rate = 10
channels = "c"
weights = [1, 0, 0]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_3000_connections_and_deliveries_are_split_by_node() {
    let r = run_on_cluster(SPREAD, "lc-spread", |_, _| {}).await;
    assert_eq!(r.verdict, Status::Pass, "{:?}", r.evidence);
    assert_eq!(r.deliveries.lost, 0);
    assert!(r.deliveries.expected > 0);
    let names: Vec<&str> = r.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["node-1", "node-2", "node-3"]);
    for n in &r.nodes {
        assert_eq!(n.connections, 1000, "{n:?}");
        assert!((n.share - 1.0 / 3.0).abs() < 1e-9, "{n:?}");
    }
    // The publisher is on node-1 and subscribers round robin: a third of
    // the deliveries are same-node, the rest cross-node, none unclassified.
    let same = r.metrics[&Metric::DeliverSameNode].count;
    let cross = r.metrics[&Metric::DeliverCrossNode].count;
    assert_eq!(same + cross, r.metrics[&Metric::Deliver].count);
    assert_eq!(same * 3, same + cross, "same {same} cross {cross}");
    let json = serde_json::to_value(&r).expect("serialises");
    assert!(json["metrics"]["deliver_cross_node"]["p99"].as_u64() > Some(0));
    assert_eq!(json["nodes"][1]["connections"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_cross_node_paths_show_in_the_cross_node_latency_only() {
    // Nodes 2 and 3 hold every channel event 400 ms before writing it: the
    // publisher's own node (1) delivers at once. A split that mixed the two
    // (or labelled by the wrong node) would not put the delay on one side.
    let toml = SPREAD
        .replace("count = 3000", "count = 300")
        .replace("ramp = 5000", "ramp = 1000");
    let r = run_on_cluster(&toml, "lc-slow", |i, c| {
        if i > 0 {
            c.faults.delay_deliveries_ms = Some(400);
        }
    })
    .await;
    let same = r.metrics[&Metric::DeliverSameNode];
    let cross = r.metrics[&Metric::DeliverCrossNode];
    assert!(same.count > 0 && cross.count > 0);
    assert!(cross.min >= 400_000, "cross-node min {} us", cross.min);
    assert!(same.p50 < 400_000, "same-node p50 {} us", same.p50);
}

const KILL: &str = r#"
version = 1
name = "kill"
thresholds = ["lost_connected == 0", "duplicated == 0", "unexpected == 0"]
[run]
duration = "3s"
drain = "DRAIN"
connect_timeout = "20s"
max_schedule_lag = "2s"
[[channels]]
name = "k"
kind = "public"
count = 3
[[population]]
name = "audience"
behaviour = "subscriber"
count = 300
ramp = 1000
channels = "k"
nodes = "round-robin"
[[population]]
name = "pub"
behaviour = "publisher"
count = 1
rate = 20
channels = "k"
weights = [1, 0, 0]
[[events]]
at = "1s"
kill = "node-2"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_clients_reconnect_and_only_connected_losses_fail_the_run() {
    let r = run_on_cluster(&KILL.replace("DRAIN", "10s"), "lc-kill", |_, _| {}).await;
    assert_eq!(r.verdict, Status::Pass, "{:?} {:?}", r.evidence, r.tally);
    assert_eq!(r.events.len(), 1);
    assert!(r.events[0].error.is_none(), "{:?}", r.events[0]);
    assert!(r.events[0].done_seconds.is_some());
    // node-2's 100 clients lost their connections and moved to node-3.
    assert_eq!(r.tally.outage_disconnects, 100, "{:?}", r.tally);
    assert_eq!(r.tally.reconnects, 100);
    assert_eq!(r.nodes[2].reconnections, 100, "{:?}", r.nodes);
    assert_eq!(r.nodes[1].connections, 100);
    assert!(r.tally.outage_expected > 0);
    assert_eq!(r.deliveries.lost_connected, 0);
    assert_eq!(r.deliveries.lost, r.deliveries.lost_during_outage);
    assert!(r.tally.errors.is_empty(), "{:?}", r.tally.errors);
    // The terminal summary and the HTML report name the nodes, the event
    // and the outage ledger.
    let text = pushcheck::report::load_text::render(&r);
    assert!(text.contains("nodes: node-1 ws://"), "{text}");
    assert!(
        text.contains("event kill node-2 at 1.0s: done at"),
        "{text}"
    );
    assert!(
        text.contains("outage: 100 connections closed under their clients, 100 reconnected"),
        "{text}"
    );
    let html = pushcheck::report::html::render(Some(&r), None);
    assert!(html.contains("<h3>Nodes</h3>") && html.contains("<h3>Node events</h3>"));
    assert!(html.contains(">kill node-2<"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losses_on_a_surviving_node_fail_a_run_with_a_kill() {
    // node-3 holds its deliveries past the drain: its clients never see them
    // although their connections stay up, which the outage must not excuse.
    let toml = KILL.replace("DRAIN", "1s");
    let r = run_on_cluster(&toml, "lc-kill-loss", |i, c| {
        if i == 2 {
            c.faults.delay_deliveries_ms = Some(5_000);
        }
    })
    .await;
    assert_eq!(r.verdict, Status::Fail);
    assert!(r.deliveries.lost_connected > 0, "{:?}", r.deliveries);
    let rule = r
        .thresholds
        .iter()
        .find(|t| t.rule == "lost_connected == 0")
        .expect("judged");
    assert_eq!(rule.verdict, ThresholdVerdict::Fail);
}

#[test]
fn spread_and_event_mistakes_are_named() {
    let bad = |extra: &str, want: &str| {
        let toml = format!("{SPREAD}{extra}");
        let err = validate::from_toml("t.toml", &toml, &[]).expect_err("invalid");
        let text = pushcheck::cli::error_line(&err);
        assert!(text.contains(want), "{text}");
    };
    bad(
        "[[population]]\nbehaviour = \"subscriber\"\ncount = 1\nchannels = \"c\"\nnodes = \"random\"\n",
        "population[2] (subscriber-2).nodes: \"random\" is not one of round-robin",
    );
    bad(
        "[[population]]\nbehaviour = \"subscriber\"\ncount = 1\nchannels = \"c\"\nweights = [0, 0]\n",
        "weights: 0 is out of range 1..=64000: at least one node needs a weight above 0",
    );
    bad(
        "[[population]]\nbehaviour = \"subscriber\"\ncount = 1\nchannels = \"c\"\nnodes = \"round-robin\"\nweights = [1]\n",
        "weights: cannot be combined with nodes",
    );
    bad(
        "[[events]]\nat = \"1s\"\nkill = \"node-2\"\nstop = \"node-3\"\n",
        "events[0].stop: cannot be combined with kill",
    );
    bad(
        "[[events]]\nat = \"1s\"\n",
        "events[0].kill (or stop, cont, start): is required",
    );
    bad(
        "[[events]]\nat = \"5s\"\nkill = \"node-2\"\n",
        "events[0].at: 5 is out of range 0..=1",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_that_do_not_match_the_nodes_are_refused_before_any_connection() {
    let toml = SPREAD.replace("weights = [1, 0, 0]", "weights = [1, 0]");
    let sink = pushcheck::client::WebhookSink::start("127.0.0.1:0".parse().expect("valid"))
        .await
        .expect("sink binds");
    let cluster = start_cluster(3, &sink, |_, _| {}).await;
    let plan = validate::from_toml("t.toml", &toml, &[]).expect("valid scenario");
    let err = run(&plan, &cluster.target, &opts("lc-w"))
        .await
        .expect_err("refused");
    let text = pushcheck::cli::error_line(&err);
    assert!(
        text.contains("population \"pub\" gives 2 weights but the target has 3 node(s)"),
        "{text}"
    );
}

#[test]
fn load_and_run_with_cluster_but_no_redis_say_so_in_one_line_and_exit_2() {
    let empty = crate::rules::scratch("load-cluster-empty-path");
    for args in [
        &["load", "scenarios/smoke.toml", "--cluster", "2"][..],
        &["run", "--cluster", "3"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pushcheck"))
            .args(args)
            .env("PATH", &empty)
            .output()
            .expect("pushcheck runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("no redis-server on PATH"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_cross_node_deliveries_fail_the_run() {
    // Every node delivers HTTP events from another node twice
    // (cluster_remote_duplicates): the publisher's own node is clean, so
    // exactly the cross-node deliveries come twice.
    let toml = SPREAD
        .replace("count = 3000", "count = 300")
        .replace("ramp = 5000", "ramp = 1000");
    let r = run_on_cluster(&toml, "lc-dup", |_, c| {
        c.faults.cluster_remote_duplicates = true;
    })
    .await;
    assert_eq!(r.verdict, Status::Fail);
    let cross = r.metrics[&Metric::DeliverCrossNode].count;
    assert!(cross > 0);
    assert_eq!(r.deliveries.duplicated, cross, "{:?}", r.deliveries);
    assert_eq!(r.deliveries.lost, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_node_is_reaped_and_its_clients_move_when_it_resumes() {
    // node-2 is frozen for 4 s, twice the bundled nodes' 2 s lease: the
    // others reap it, and on resume it closes its clients (spec: a reaped
    // node's connections are gone), which then reconnect elsewhere.
    let toml = KILL
        .replace("DRAIN", "10s")
        .replace("duration = \"3s\"", "duration = \"5s\"")
        .replace("count = 300", "count = 150")
        .replace(
            "[[events]]\nat = \"1s\"\nkill = \"node-2\"\n",
            "[[events]]\nat = \"0.5s\"\nstop = \"node-2\"\n[[events]]\nat = \"4.5s\"\ncont = \"node-2\"\n",
        );
    assert!(toml.contains("cont = \"node-2\""));
    let r = run_on_cluster(&toml, "lc-freeze", |_, _| {}).await;
    assert_eq!(r.verdict, Status::Pass, "{:?} {:?}", r.evidence, r.tally);
    let done: Vec<&str> = r.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(done, ["stop", "cont"]);
    assert!(r.events.iter().all(|e| e.error.is_none()), "{:?}", r.events);
    assert_eq!(r.tally.outage_disconnects, 50, "{:?}", r.tally);
    assert_eq!(r.tally.reconnects, 50);
    assert_eq!(r.deliveries.lost_connected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_fails_fails_the_run() {
    // Resuming a node that is not frozen is refused by the lifecycle API:
    // the run did not test what the scenario asked, so it cannot pass.
    let toml = format!(
        "{}[[events]]\nat = \"0s\"\ncont = \"node-2\"\n",
        SPREAD
            .replace("count = 3000", "count = 30")
            .replace("ramp = 5000", "ramp = 1000")
    );
    let r = run_on_cluster(&toml, "lc-event-fails", |_, _| {}).await;
    assert_eq!(r.verdict, Status::Fail);
    let error = r.events[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("not frozen"), "{error}");
    assert!(
        r.evidence
            .problems
            .iter()
            .any(|p| p.describe().contains("1 node event(s) failed")),
        "{:?}",
        r.evidence.problems
    );
}

#[test]
fn the_kubernetes_job_scenario_validates_and_divides_into_its_shards() {
    let yaml = std::fs::read_to_string("deploy/k8s/pushcheck-shards.yaml").expect("manifest");
    // The ConfigMap's `scale.toml: |` block, its 4-space indent removed.
    let toml: String = yaml
        .lines()
        .skip_while(|l| l.trim() != "scale.toml: |")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let plan = validate::from_toml("pushcheck-shards.yaml", &toml, &[]).expect("valid scenario");
    // One run on shared channels: every pod the same run id.
    assert!(plan.shared, "the Job's shards share channels");
    assert!(
        yaml.contains(r#"--run-id "${RUN_ID}" \"#),
        "every pod is given the same --run-id"
    );
    let completions = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .expect("completions");
    let shards: u32 = completions.parse().expect("a number");
    assert!(
        yaml.contains(&format!("value: \"{shards}\"")),
        "SHARDS matches completions"
    );
    // One publisher per shard, and every shard has clients.
    for i in 0..shards {
        let shard = pushcheck::load::plan::Shard {
            index: i,
            total: shards,
        };
        let part = plan.sharded(shard);
        assert_eq!(part.populations[1].count.0, 1, "shard {i}");
        assert!(part.populations[0].count.0 > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_over_the_nodes_a_profile_lists() {
    // An external cluster: the nodes come from --profile, as scale.sh and
    // the Kubernetes Job give them.
    let sink = pushcheck::client::WebhookSink::start("127.0.0.1:0".parse().expect("valid"))
        .await
        .expect("sink binds");
    let cluster = start_cluster(2, &sink, |_, _| {}).await;
    let dir = crate::rules::scratch("load-profile-nodes");
    crate::cluster::write_nodes_profile(&cluster, &dir.join("nodes.toml"));
    let scenario = SPREAD
        .replace("count = 3000", "count = 200")
        .replace("weights = [1, 0, 0]", "weights = [0, 1]");
    std::fs::write(dir.join("s.toml"), scenario).expect("scenario written");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pushcheck"))
        .arg("load")
        .arg(dir.join("s.toml"))
        .args(["--target", &cluster.target.ws_base, "--quiet", "--profile"])
        .arg(dir.join("nodes.toml"))
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .await
        .expect("pushcheck runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.join("out/load.json")).expect("load.json");
    let json: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    let nodes = json["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0]["connections"], 100);
    assert_eq!(nodes[1]["connections"], 100);
    // The publisher is on node-2: node-2's subscribers are same-node.
    assert_eq!(json["metrics"]["deliver_same_node"]["count"], 100 * 10);
    assert!(stdout.contains("nodes: node-1"), "{stdout}");
}
