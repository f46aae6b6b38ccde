//! The node's pub/sub connection: every app's channel, read in order and
//! handed to the hub; reconnected, with a resync, when it drops.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSub;
use tokio::sync::watch;

use super::{ClusterError, Envelope, Node, Receiver};

/// Wait between reconnect attempts.
const RETRY: Duration = Duration::from_millis(200);

/// A pub/sub connection subscribed to every app's channel; returns once
/// Redis has confirmed the subscriptions.
pub(super) async fn subscribe(node: &Node) -> Result<PubSub, ClusterError> {
    let timeout = Duration::from_millis(node.inner.settings.command_timeout_ms);
    let work = async {
        let mut pubsub = node
            .inner
            .client
            .get_async_pubsub()
            .await
            .map_err(ClusterError::Redis)?;
        for app in &node.inner.apps {
            pubsub
                .subscribe(node.app_key(app, "events"))
                .await
                .map_err(ClusterError::Redis)?;
        }
        Ok(pubsub)
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| ClusterError::Redis(super::timed_out()))?
}

/// Reads until `stop`; on a dropped connection, reconnects and asks for a
/// resync (messages published meanwhile never reached this node).
pub(super) async fn run(
    node: Node,
    receiver: Arc<dyn Receiver>,
    first: PubSub,
    mut stop: watch::Receiver<bool>,
) {
    let mut pubsub = Some(first);
    let head = format!("{}:", node.inner.prefix);
    loop {
        let current = match pubsub.take() {
            Some(current) => current,
            None => match subscribe(&node).await {
                Ok(current) => {
                    tracing::info!(node = node.name(), "redis pub/sub reconnected");
                    node.request_resync();
                    current
                }
                Err(e) => {
                    tracing::debug!(node = node.name(), error = %e, "redis pub/sub reconnect failed");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => continue,
                        _ = stop.changed() => return,
                    }
                }
            },
        };
        let mut messages = current.into_on_message();
        loop {
            tokio::select! {
                message = messages.next() => {
                    let Some(message) = message else { break };
                    let app = message
                        .get_channel_name()
                        .strip_prefix(head.as_str())
                        .and_then(|rest| rest.strip_suffix(":events"));
                    let envelope = serde_json::from_slice::<Envelope>(message.get_payload_bytes());
                    match (app, envelope) {
                        (Some(app), Ok(envelope)) => receiver.deliver(app, envelope),
                        (app, envelope) => tracing::warn!(
                            channel = message.get_channel_name(),
                            known_app = app.is_some(),
                            error = envelope.err().map(|e| e.to_string()),
                            "unreadable cluster message dropped"
                        ),
                    }
                }
                _ = stop.changed() => return,
            }
        }
        tracing::warn!(node = node.name(), "redis pub/sub connection lost");
    }
}
