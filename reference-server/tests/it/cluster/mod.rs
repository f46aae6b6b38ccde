//! Cluster mode (issue 10): several reference-server nodes sharing one real
//! `redis-server`, in-process (and as child processes where a node must die
//! by SIGKILL). Each test has its own key prefix, so tests share the binary's
//! Redis without seeing each other.

mod death;
mod fanout;
mod outage;
mod presence;
mod redis;
mod soak;
mod state;
mod watchlist;

use reference_server::Config;

use crate::support::{TestServer, config, start_server};

pub(crate) use self::redis::{RedisServer, shared, unique_prefix};

/// Test lease settings: a dead node is reaped within 1500 + 100 ms. Not
/// shorter: every in-process node of a test shares the test's one thread,
/// and a node starved past its lease on a loaded machine would be reaped
/// alive (correctly, but not what the test is about).
pub(crate) const LEASE_MS: u64 = 1500;
/// Heartbeat of test nodes.
pub(crate) const HEARTBEAT_MS: u64 = 100;

/// The test config in cluster mode on `redis` under `prefix`.
pub(crate) fn cluster_config(redis: &str, prefix: &str) -> Config {
    let mut config = config();
    config.cluster.redis_url = Some(redis.to_owned());
    config.cluster.key_prefix = prefix.to_owned();
    config.cluster.lease_ms = LEASE_MS;
    config.cluster.heartbeat_ms = HEARTBEAT_MS;
    config
}

/// `n` nodes on the shared Redis under a fresh prefix, each with `edit` applied.
pub(crate) async fn start_cluster(
    test: &str,
    n: usize,
    edit: impl Fn(&mut Config),
) -> Vec<TestServer> {
    let prefix = unique_prefix(test);
    start_nodes(&shared().url(), &prefix, n, edit).await
}

/// `n` nodes on `redis` under `prefix`.
pub(crate) async fn start_nodes(
    redis: &str,
    prefix: &str,
    n: usize,
    edit: impl Fn(&mut Config),
) -> Vec<TestServer> {
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let mut config = cluster_config(redis, prefix);
        config.cluster.node_id = Some(format!("node-{i}"));
        edit(&mut config);
        nodes.push(start_server(config).await);
    }
    nodes
}
