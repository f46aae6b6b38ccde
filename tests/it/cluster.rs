//! Multi-node targets (issue 13): `conform --cluster N` and the bundled
//! cluster's node list.

use std::process::{Command, Output};
use std::sync::Arc;

use std::time::Duration;

use pushcheck::bundled::{self, cluster};
use pushcheck::client::WebhookSink;
use pushcheck::target::lifecycle::{self, Action, LifecycleError};
use pushcheck::target::{PREFLIGHT_TIMEOUT, preflight};

use crate::rules::scratch;

fn pushcheck(args: &[&str], path: Option<&std::path::Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushcheck"));
    cmd.args(args);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output().expect("pushcheck runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn sink() -> Arc<WebhookSink> {
    Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid addr"))
            .await
            .expect("sink binds"),
    )
}

#[test]
fn conform_against_a_three_node_cluster_passes() {
    let out = pushcheck(&["conform", "--cluster", "3", "protocol/connection"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("target reference-cluster"), "{text}");
    assert!(text.contains(" pass, 0 fail"), "{text}");
}

#[test]
fn without_redis_the_cluster_says_so_in_one_line_and_exits_2() {
    let empty = scratch("cluster-empty-path");
    let out = pushcheck(
        &["conform", "--cluster", "2", "protocol/connection"],
        Some(&empty),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no redis-server on PATH"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_redis_url_that_does_not_answer_exits_2() {
    // A port bound here and not listening: nothing answers on it.
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    drop(socket);
    let url = format!("redis://127.0.0.1:{port}");
    let out = pushcheck(
        &[
            "conform",
            "--cluster",
            "2",
            "--redis",
            &url,
            "protocol/connection",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("redis at {url} does not answer")),
        "{err}"
    );
}

#[test]
fn one_node_is_no_cluster() {
    let out = pushcheck(&["conform", "--cluster", "1"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Starts a bundled cluster whose nodes are this build's `pushcheck`.
pub(crate) async fn start_cluster(
    n: usize,
    sink: &WebhookSink,
    configure: impl Fn(usize, &mut reference_server::Config),
) -> cluster::BundledCluster {
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_pushcheck"));
    cluster::start_using(program, n, None, sink.local_addr(), configure)
        .await
        .expect("cluster starts")
}

/// Writes a target profile listing `cluster`'s nodes to `path`, as
/// `scripts/scale.sh` does for the nodes it starts.
pub(crate) fn write_nodes_profile(cluster: &cluster::BundledCluster, path: &std::path::Path) {
    let mut profile = String::new();
    for n in cluster.target.nodes() {
        profile.push_str(&format!(
            "[[nodes]]\nname = \"{}\"\nurl = \"{}\"\nrest_url = \"{}\"\n",
            n.name, n.url, n.rest_url
        ));
    }
    std::fs::write(path, profile).expect("profile written");
}

#[tokio::test]
async fn the_cluster_target_lists_every_node_and_a_single_target_one() {
    let sink = sink().await;
    let c = start_cluster(3, &sink, |_, _| {}).await;
    let nodes = c.target.nodes();
    assert_eq!(nodes.len(), 3);
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node.url, format!("ws://{}", c.addr(i)));
        assert_eq!(node.rest_url, format!("http://{}", c.addr(i)));
        assert_eq!(node.name, format!("node-{}", i + 1));
        let on = c.target.on_node(node).expect("valid node");
        preflight(&on, PREFLIGHT_TIMEOUT)
            .await
            .expect("every node answers");
    }
    assert_eq!(c.target.ws_base, nodes[0].url);

    let single = bundled::start_default(sink.local_addr())
        .await
        .expect("bundled starts");
    let one = single.target.nodes();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].url, single.target.ws_base);
    assert_eq!(one[0].rest_url, single.target.rest_base);
    assert!(
        Action::ALL
            .iter()
            .all(|a| !lifecycle::supports(&single.target, *a))
    );
}

/// Whether a WebSocket handshake to node `index` completes within 1 s.
async fn answers(c: &cluster::BundledCluster, index: usize) -> bool {
    let on = c
        .target
        .on_node(&c.target.nodes()[index])
        .expect("valid node");
    preflight(&on, Duration::from_secs(1)).await.is_ok()
}

#[tokio::test]
async fn bundled_nodes_are_killed_frozen_resumed_and_restarted_for_real() {
    let sink = sink().await;
    let c = start_cluster(2, &sink, |_, _| {}).await;
    let t = &c.target;
    assert!(Action::ALL.iter().all(|a| lifecycle::supports(t, *a)));
    let pid = c.pid(1).expect("running");

    // Frozen: the port still accepts (the kernel does), nothing answers.
    lifecycle::stop(t, 1).await.expect("stop");
    assert!(!answers(&c, 1).await, "a frozen node answered");
    let e = lifecycle::stop(t, 1).await.expect_err("already frozen");
    assert!(e.to_string().contains("node-2"), "{e}");
    lifecycle::cont(t, 1).await.expect("cont");
    assert!(answers(&c, 1).await, "a resumed node does not answer");

    // Killed: nothing listens; started again on the same port, same node.
    lifecycle::kill(t, 1).await.expect("kill");
    assert_eq!(c.pid(1), None);
    let refused = preflight(
        &t.on_node(&t.nodes()[1]).expect("valid"),
        Duration::from_secs(1),
    )
    .await
    .expect_err("a killed node answered");
    let text = pushcheck::cli::error_line(&refused);
    assert!(text.contains("connection refused"), "{text}");
    let e = lifecycle::cont(t, 1).await.expect_err("nothing to resume");
    assert!(matches!(e, LifecycleError::Bundled { .. }), "{e:?}");
    lifecycle::start(t, 1).await.expect("start");
    assert!(answers(&c, 1).await);
    assert_ne!(c.pid(1), Some(pid), "a new process serves the node");
    assert!(answers(&c, 0).await, "node-1 was left alone");
    let e = lifecycle::start(t, 1).await.expect_err("already running");
    assert!(e.to_string().contains("running"), "{e}");

    // Dropping the cluster ends every node process, frozen ones included.
    lifecycle::stop(t, 0).await.expect("stop");
    let pids = [c.pid(0).expect("running"), c.pid(1).expect("running")];
    drop(c);
    for pid in pids {
        let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while gone_or_zombie(&proc) == Some(false) && std::time::Instant::now() < deadline {
            // why: nothing signals a process's end to a non-parent, so /proc is polled.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_ne!(
            gone_or_zombie(&proc),
            Some(false),
            "node process {pid} outlived its cluster"
        );
    }
}

/// `Some(false)` while the process at `/proc/PID` runs (or is stopped).
fn gone_or_zombie(proc: &std::path::Path) -> Option<bool> {
    let stat = std::fs::read_to_string(proc.join("stat")).ok()?;
    let state = stat.rsplit(')').next()?.split_whitespace().next()?;
    Some(state == "Z" || state == "X")
}
