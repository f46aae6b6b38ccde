//! Multi-node targets (issue 13): `conform --cluster N` and the bundled
//! cluster's node list.

use std::process::{Command, Output};
use std::sync::Arc;

use pushcheck::bundled::{self, cluster};
use pushcheck::client::WebhookSink;

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

#[tokio::test]
async fn the_cluster_target_lists_every_node_and_a_single_target_one() {
    let sink = sink().await;
    let c = cluster::start(3, None, sink.local_addr(), |_, _| {})
        .await
        .expect("cluster starts");
    let nodes = c.target.nodes();
    assert_eq!(nodes.len(), 3);
    for (node, server) in nodes.iter().zip(&c.nodes) {
        assert_eq!(node.url, format!("ws://{}", server.local_addr()));
        assert_eq!(node.rest_url, format!("http://{}", server.local_addr()));
        let on = c.target.on_node(node).expect("valid node");
        pushcheck::target::preflight(&on, pushcheck::target::PREFLIGHT_TIMEOUT)
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
}
