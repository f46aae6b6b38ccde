//! The lease keeper: renews this node's lease every heartbeat, reaps nodes
//! whose lease expired, and resynchronises this node's share of the shared
//! state after Redis comes back.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::{ClusterError, Node, Receiver, scripts};

/// Runs until `stop`.
pub(super) async fn run(node: Node, receiver: Arc<dyn Receiver>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(node.inner.settings.heartbeat_ms);
    let health = node.inner.link.health().clone();
    let mut recoveries = health.recoveries();
    // Set when the cluster reaped this node alive; cleared by the resync.
    let mut was_reaped = false;
    // Set when Redis lost its data; kept, like `was_reaped`, until a resync
    // succeeds: a failed attempt has already recorded the new epoch, so the
    // next one cannot see the loss again (and would take a Redis restart for
    // a reaping, closing every client).
    let mut was_lost = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = node.inner.wake.notified() => {}
            () = health.changed() => {}
            _ = stop.changed() => return,
        }
        let reaped = match node.renew().await {
            Ok(unlisted) => unlisted,
            Err(e) => {
                tracing::debug!(node = node.name(), error = %e, "lease renewal failed");
                continue;
            }
        };
        let now = health.recoveries();
        if reaped || now != recoveries {
            node.request_resync();
        }
        was_reaped |= reaped;
        recoveries = now;
        if node.inner.resync.swap(false, Ordering::AcqRel) {
            if let Err(e) = resync(&node, receiver.as_ref(), was_reaped, &mut was_lost).await {
                tracing::warn!(node = node.name(), error = %e, "resync failed; retrying");
                node.request_resync();
                continue;
            }
            was_reaped = false;
            was_lost = false;
            tracing::info!(
                node = node.name(),
                dropped_commands = health.dropped(),
                "shared state resynchronised"
            );
        }
        if let Err(e) = reap_dead(&node, receiver.as_ref()).await {
            tracing::debug!(node = node.name(), error = %e, "reaping failed");
        }
    }
}

/// Reaps every listed node whose lease is gone; the script makes sure only
/// one survivor does each.
async fn reap_dead(node: &Node, receiver: &dyn Receiver) -> Result<(), ClusterError> {
    if node.faults().cluster_no_reaping() {
        return Ok(());
    }
    let listed = node
        .inner
        .link
        .call(redis::Cmd::smembers(node.key("nodes")))
        .await?;
    let me = node.number().to_string();
    let others: Vec<String> = scripts::array(&listed)?
        .iter()
        .filter_map(|v| scripts::text(v).ok())
        .filter(|n| *n != me)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let exists = others
        .iter()
        .map(|n| redis::Cmd::exists(node.key(&format!("node:{n}"))))
        .collect();
    let exists = node.inner.link.call_all(exists).await?;
    for (other, alive) in others.iter().zip(exists) {
        if scripts::int(&alive)? == 0 {
            let mode = if node.faults().cluster_reap_keeps_users() {
                "dead_keep_users"
            } else if node.faults().cluster_restart_revives_users() {
                "dead_keep_record"
            } else {
                "dead"
            };
            let transitions = node.reap(other, mode).await?;
            if !transitions.is_empty() {
                tracing::info!(node = node.name(), dead = %other, n = transitions.len(), "reaped a dead node");
            }
            if node.faults().cluster_reap_webhooks_per_node() {
                tell_others(node, &transitions);
            }
            receiver.transitions(transitions);
        }
    }
    Ok(())
}

/// Fault `cluster_reap_webhooks_per_node`: the reaper tells the other
/// nodes what it removed, so each sends those webhooks too.
fn tell_others(node: &Node, transitions: &[super::Transition]) {
    for t in transitions {
        let user_id = match &t.kind {
            super::TransitionKind::Vacated => None,
            super::TransitionKind::MemberRemoved(user) => Some(user.clone()),
            _ => continue,
        };
        let envelope = super::Envelope::Reaped {
            origin: node.number(),
            channel: t.channel.clone(),
            user_id,
        };
        node.publish_later(&t.app, &envelope);
    }
}

/// Makes this node's share in Redis equal to what it holds: reconciles every
/// channel it holds, every channel Redis still lists for it, and its
/// signed-in users. A node the
/// cluster reaped alive (`reaped`, and Redis kept its data) first closes
/// its subscribed connections, so it holds nothing to put back. `lost`
/// accumulates over attempts until one succeeds.
async fn resync(
    node: &Node,
    receiver: &dyn Receiver,
    reaped: bool,
    lost: &mut bool,
) -> Result<(), ClusterError> {
    *lost |= node.current_epoch().await?;
    let lost = *lost;
    if reaped && !lost && !node.faults().cluster_thaw_keeps_clients() {
        tracing::warn!(
            node = node.name(),
            "the cluster reaped this node alive: closing its subscribed connections"
        );
        receiver.evict();
    }
    let listed = node.own_channels().await?;
    if lost {
        tracing::warn!(
            node = node.name(),
            "redis lost its data: restoring this node's share quietly"
        );
    }
    let replies = receiver.resync(&listed, !lost);
    for reply in replies {
        let value = reply
            .await
            .map_err(|_| ClusterError::Stopped)?
            .map_err(ClusterError::Redis)?;
        // Replies that are not transitions (a raised counter) carry none.
        receiver.transitions(scripts::transitions(&value).unwrap_or_default());
    }
    Ok(())
}
