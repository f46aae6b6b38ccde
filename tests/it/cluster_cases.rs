//! The `cluster/` family against the bundled cluster: every case passes on
//! healthy nodes, and each cluster fault of the reference server makes the
//! case(s) checking its rule fail (STYLE 2.8: a case counts once seen failing).

use std::sync::Arc;
use std::time::Duration;

use pushcheck::client::{ProtocolClient, WebhookSink};
use pushcheck::conformance::{CaseResult, Env, RunOptions, Verdict, registry, run, select};
use reference_server::Faults;

use crate::cluster::start_cluster;

/// A webhook sink on 127.0.0.1:0.
async fn sink() -> Arc<WebhookSink> {
    Arc::new(
        WebhookSink::start("127.0.0.1:0".parse().expect("valid addr"))
            .await
            .expect("sink binds"),
    )
}

/// Runs the cases under `prefix` against the cluster `c`.
async fn run_on(
    c: &pushcheck::bundled::cluster::BundledCluster,
    sink: &Arc<WebhookSink>,
    prefix: &str,
) -> Vec<CaseResult> {
    let env = Arc::new(Env {
        target: c.target.clone(),
        sink: Some(sink.clone()),
        slow: true,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, &[prefix.to_owned()], &[]);
    assert!(!picked.is_empty(), "no case under {prefix}");
    run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await
}

/// Runs the cases under `prefix` against `n` fresh nodes, each with `fault`
/// switched on.
async fn family(n: usize, prefix: &str, fault: impl Fn(&mut Faults)) -> Vec<CaseResult> {
    let sink = sink().await;
    let c = start_cluster(n, &sink, |_, config| fault(&mut config.faults)).await;
    run_on(&c, &sink, prefix).await
}

fn verdicts(results: &[CaseResult]) -> String {
    results
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.id,
                r.verdict.as_str(),
                r.message.as_deref().or(r.actual.as_deref()).unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_family_passes_against_three_healthy_nodes() {
    let results = family(3, "cluster/", |_| {}).await;
    assert_eq!(results.len(), 18, "{}", verdicts(&results));
    assert!(
        results.iter().all(|r| r.verdict == Verdict::Pass),
        "{}",
        verdicts(&results)
    );
}

#[tokio::test]
async fn the_family_is_not_applicable_to_one_node() {
    let sink = sink().await;
    let b = pushcheck::bundled::start_default(sink.local_addr())
        .await
        .expect("bundled starts");
    let env = Arc::new(Env {
        target: b.target.clone(),
        sink: None,
        slow: true,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, &["cluster/".to_owned()], &[]);
    let results = run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    assert!(
        results.iter().all(|r| r.verdict == Verdict::NotApplicable),
        "{}",
        verdicts(&results)
    );
}

/// Runs `cases` (exact ids) on two nodes with `fault` and expects each to
/// fail (or warn, for a SHOULD).
async fn fails(fault: impl Fn(&mut Faults), cases: &[&str]) {
    for id in cases {
        let results = family(2, id, &fault).await;
        let r = results
            .iter()
            .find(|r| r.id == *id)
            .unwrap_or_else(|| panic!("no case {id}"));
        assert!(
            matches!(r.verdict, Verdict::Fail | Verdict::Warn),
            "{id} did not fail: {}",
            verdicts(&results)
        );
    }
}

#[tokio::test]
async fn shared_socket_id_prefixes_fail_the_identity_cases() {
    fails(
        |f| f.cluster_shared_socket_prefix = true,
        &[
            "cluster/identity/socket-ids-unique",
            "cluster/identity/auth-bound-to-socket",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_identity_cases_walk_a_counter_that_is_behind_to_the_collision() {
    let sink = sink().await;
    let c = start_cluster(2, &sink, |_, config| {
        config.faults.cluster_shared_socket_prefix = true;
    })
    .await;
    // Node 1's counter runs 40 ahead, so the ids differ at first.
    let url = c.target.ws_url(&c.target.credentials.key, "");
    let creds = Arc::new(c.target.credentials.clone());
    let mut ahead = Vec::new();
    for _ in 0..40 {
        let client = ProtocolClient::connect(&url, creds.clone(), Duration::from_secs(2));
        ahead.push(client.await.expect("connects"));
    }
    let results = run_on(&c, &sink, "cluster/identity/").await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r.verdict, Verdict::Fail, "{}", verdicts(&results));
        let actual = r.actual.as_deref().unwrap_or_default();
        assert!(
            actual.contains("walked up") || actual.contains("has the id of"),
            "{}",
            verdicts(&results)
        );
    }
}

#[tokio::test]
async fn fan_out_faults_fail_the_fan_out_cases() {
    fails(
        |f| f.cluster_remote_duplicates = true,
        &["cluster/fanout/publish-once-in-order"],
    )
    .await;
    fails(
        |f| f.cluster_remote_batch_reversed = true,
        &["cluster/fanout/batch-order"],
    )
    .await;
    fails(
        |f| f.cluster_remote_exclusion_ignored = true,
        &["cluster/fanout/exclusion-on-another-node"],
    )
    .await;
    fails(
        |f| f.cluster_user_events_local = true,
        &["cluster/fanout/send-to-user-every-node"],
    )
    .await;
}

#[tokio::test]
async fn client_event_faults_fail_the_client_event_cases() {
    fails(
        |f| f.cluster_client_events_local = true,
        &[
            "cluster/fanout/client-events-across-nodes",
            "cluster/fanout/client-event-user-id",
        ],
    )
    .await;
    fails(
        |f| f.cluster_echo_own_client_events = true,
        &["cluster/fanout/client-events-across-nodes"],
    )
    .await;
    fails(
        |f| f.cluster_remote_client_events_without_user = true,
        &["cluster/fanout/client-event-user-id"],
    )
    .await;
}

#[tokio::test]
async fn presence_faults_fail_the_presence_cases() {
    fails(
        |f| f.cluster_roster_local = true,
        &["cluster/presence/one-roster"],
    )
    .await;
    fails(
        |f| f.cluster_member_added_per_node = true,
        &["cluster/presence/one-member-per-user"],
    )
    .await;
    fails(
        |f| f.cluster_member_limit_per_node = true,
        &["cluster/presence/limit-across-nodes"],
    )
    .await;
}

#[tokio::test]
async fn node_death_faults_fail_the_node_death_cases() {
    fails(
        |f| f.cluster_no_reaping = true,
        &[
            "cluster/node-death/kill-removes-members",
            "cluster/node-death/freeze-closes-clients",
        ],
    )
    .await;
    fails(
        |f| f.cluster_thaw_keeps_clients = true,
        &["cluster/node-death/freeze-closes-clients"],
    )
    .await;
}

#[tokio::test]
async fn reap_webhooks_from_every_survivor_fail_the_kill_case() {
    // Three nodes: two survivors, so a per-node webhook comes twice.
    let id = "cluster/node-death/kill-removes-members";
    let results = family(3, id, |f| f.cluster_reap_webhooks_per_node = true).await;
    let actual = results[0].actual.as_deref().unwrap_or_default();
    assert!(
        results[0].verdict == Verdict::Fail
            && actual.contains("2 channel_vacated")
            && actual.contains("2 member_removed"),
        "{}",
        verdicts(&results)
    );
}

#[tokio::test]
async fn a_reap_that_keeps_users_online_fails_the_node_death_cases_at_the_watchlist() {
    for id in [
        "cluster/node-death/kill-removes-members",
        "cluster/node-death/freeze-closes-clients",
    ] {
        let results = family(2, id, |f| f.cluster_reap_keeps_users = true).await;
        let expected = results[0].expected.as_deref().unwrap_or_default();
        assert!(
            results[0].verdict == Verdict::Fail && expected.contains("watchlist_events offline"),
            "{id}: {expected}: {}",
            verdicts(&results)
        );
    }
}

#[tokio::test]
async fn a_restart_that_revives_users_fails_the_kill_case_at_the_sentinel() {
    // The reap takes the user offline (that check passes); the restarted
    // node signs it in again, and the watcher's next event is its online,
    // not the sentinel's.
    let id = "cluster/node-death/kill-removes-members";
    let results = family(2, id, |f| f.cluster_restart_revives_users = true).await;
    let expected = results[0].expected.as_deref().unwrap_or_default();
    let actual = results[0].actual.as_deref().unwrap_or_default();
    assert!(
        results[0].verdict == Verdict::Fail
            && expected
                .contains("the sentinel user signed in on the node killed and started again")
            && actual.contains("online"),
        "{expected}: {}",
        verdicts(&results)
    );
}

#[tokio::test]
async fn node_local_watchlists_fail_the_watchlist_cases() {
    fails(
        |f| f.cluster_watchlist_local = true,
        &[
            "cluster/watchlist/online-offline-across-nodes",
            "cluster/node-death/kill-removes-members",
        ],
    )
    .await;
}

#[tokio::test]
async fn shared_state_faults_fail_the_shared_state_cases() {
    let results = family(2, "cluster/webhooks/once-per-transition", |f| {
        f.cluster_webhooks_per_node = true;
    })
    .await;
    let actual = results[0].actual.as_deref().unwrap_or_default();
    assert!(
        results[0].verdict == Verdict::Fail
            && actual.contains("2 channel_occupied")
            && actual.contains("2 channel_vacated"),
        "{}",
        verdicts(&results)
    );
    fails(
        |f| f.cluster_cache_local = true,
        &["cluster/cache/replay-across-nodes"],
    )
    .await;
    fails(
        |f| f.cluster_rest_local = true,
        &["cluster/rest/queries-agree"],
    )
    .await;
    // The users query alone answering from its node (spec 8.6): the
    // channel queries agree, the case fails at /users.
    let results = family(2, "cluster/rest/queries-agree", |f| {
        f.cluster_rest_users_local = true;
    })
    .await;
    let expected = results[0].expected.as_deref().unwrap_or_default();
    assert!(
        results[0].verdict == Verdict::Fail && expected.contains("/users on node 1"),
        "{expected}: {}",
        verdicts(&results)
    );
    fails(
        |f| f.cluster_quota_per_node = true,
        &["cluster/quota/cluster-wide"],
    )
    .await;
}

#[tokio::test]
async fn profile_commands_drive_the_freeze_case_and_absent_ones_make_kill_not_applicable() {
    let sink = sink().await;
    let c = start_cluster(2, &sink, |_, _| {}).await;
    // The target as a server the harness does not own would describe it:
    // shell commands per node, no control of its own.
    let mut target = c.target.clone();
    target.control = None;
    for (i, node) in target.profile.nodes.iter_mut().enumerate() {
        let pid = c.pid(i).expect("running");
        node.stop = Some(format!("kill -STOP {pid}"));
        node.cont = Some(format!("kill -CONT {pid}"));
    }
    let env = Arc::new(Env {
        target,
        sink: Some(sink.clone()),
        slow: true,
        timeout: Duration::from_secs(2),
    });
    let cases = registry();
    let picked = select(&cases, &["cluster/node-death/".to_owned()], &[]);
    let results = run(&picked, env, &RunOptions::default(), &|_, _, _| {}).await;
    let verdict = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.verdict)
            .unwrap_or_else(|| panic!("no {id}"))
    };
    assert_eq!(
        verdict("cluster/node-death/freeze-closes-clients"),
        Verdict::Pass,
        "{}",
        verdicts(&results)
    );
    assert_eq!(
        verdict("cluster/node-death/kill-removes-members"),
        Verdict::NotApplicable,
        "{}",
        verdicts(&results)
    );
}
