//! Fan-out across nodes: HTTP API events (spec 8.2, 8.3), exclusion (8.9),
//! send-to-user (8.8) and client events (6) reach the right connections on
//! every node, once and in order.

use serde_json::json;

use super::{frame_until, nodes, shared, user};
use crate::client::ProtocolClient;
use crate::conformance::cases::{case, expect_status, member};
use crate::conformance::observe::{Path, expect_none};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::{ChannelKind, Envelope};

const EVENTS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "fanout",
    section: "8.2 POST /apps/<app_id>/events",
};
const BATCH: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "fanout",
    section: "8.3 POST /apps/<app_id>/batch_events",
};
const EXCLUSION: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "fanout",
    section: "8.9 Excluding a recipient",
};
const TO_USER: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "fanout",
    section: "8.8 Sending to a user",
};
const CLIENT: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "fanout",
    section: "6. Client events",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "cluster/fanout/publish-once-in-order",
            EVENTS,
            Must,
            "Events published through one node reach the subscribers on every node once each, in publish order.",
            publish_once_in_order
        ),
        case!(
            "cluster/fanout/batch-order",
            BATCH,
            Must,
            "A batch published through one node reaches the subscribers on every other node in batch order.",
            batch_order
        ),
        case!(
            "cluster/fanout/exclusion-on-another-node",
            EXCLUSION,
            Must,
            "socket_id excludes that socket on another node and nobody else there.",
            exclusion_on_another_node
        ),
        case!(
            "cluster/fanout/send-to-user-every-node",
            TO_USER,
            Must,
            "An event to #server-to-user-<id> reaches the user's connections on every node.",
            send_to_user_every_node
        ),
        case!(
            "cluster/fanout/client-events-across-nodes",
            CLIENT,
            Must,
            "A client event reaches the channel's subscribers on other nodes and not its sender.",
            client_events_across_nodes
        ),
        case!(
            "cluster/fanout/client-event-user-id",
            CLIENT,
            Must,
            "A presence client event relayed to another node carries the sender's user_id.",
            client_event_user_id
        ),
    ]
}

/// The events named `name` that `c` gets on `channel`, `n` of them in the
/// order received, judged against `want` (their data `{"i": k}`).
async fn expect_in_order(
    c: &mut ProtocolClient,
    channel: &str,
    name: &str,
    want: &[u64],
    node: usize,
) -> Outcome {
    let mut got = Vec::new();
    let expected = format!("events {want:?} on {channel} once each, in order, on node {node}");
    let deadline = tokio::time::Instant::now() + c.timeout();
    while got.len() < want.len() {
        let (e, _) = frame_until(c, deadline, &expected, |e: &Envelope| {
            e.event() == name && e.channel() == Some(channel)
        })
        .await
        .map_err(|f| match f {
            Failure::Violation { expected, actual } => {
                Failure::violation(expected, format!("got {got:?}, then {actual}"))
            }
            other => other,
        })?;
        let i = e.data_decoded().and_then(|d| d["i"].as_u64());
        got.push(i.unwrap_or(u64::MAX));
        if got[..] != want[..got.len()] {
            return Err(Failure::violation(expected, format!("got {got:?}")));
        }
    }
    Ok(())
}

/// One connection per node subscribed to a fresh public channel.
async fn subscribers(nodes: &[Ctx], channel: &str) -> Result<Vec<ProtocolClient>, Failure> {
    let mut all = Vec::new();
    for n in nodes {
        let mut c = n.connect().await?;
        c.subscribe(channel).await?;
        all.push(c);
    }
    Ok(all)
}

async fn publish_once_in_order(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut subs = subscribers(&nodes, &channel).await?;
    let want = [0, 1, 2];
    for i in want {
        let data = json!({ "i": i }).to_string();
        let resp = nodes[0]
            .rest()
            .publish(&[&channel], "fan", &data, json!({}))
            .await?;
        expect_status(&resp, 200, "a publish")?;
    }
    for (k, c) in subs.iter_mut().enumerate() {
        expect_in_order(c, &channel, "fan", &want, k + 1).await?;
        // A second copy would come the way the first did: through the
        // publishing node.
        let what = format!("a second delivery of an event on {channel}");
        expect_none(&nodes[0], c, Path::Channel(&channel), &what, |e| {
            e.event() == "fan"
        })
        .await?;
    }
    Ok(())
}

async fn batch_order(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut subs = subscribers(&nodes, &channel).await?;
    let want: Vec<u64> = (0..6).collect();
    let batch: Vec<_> = want
        .iter()
        .map(|i| json!({"channel": channel, "name": "batched", "data": json!({ "i": i }).to_string()}))
        .collect();
    let rest = nodes[0].rest();
    let resp = rest
        .send(
            &rest
                .request("POST", "/batch_events")
                .json(&json!({ "batch": batch })),
        )
        .await?;
    expect_status(&resp, 200, "a batch")?;
    for (k, c) in subs.iter_mut().enumerate() {
        expect_in_order(c, &channel, "batched", &want, k + 1).await?;
    }
    Ok(())
}

async fn exclusion_on_another_node(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Public);
    let mut excluded = nodes[1].connect().await?;
    excluded.subscribe(&channel).await?;
    let mut neighbour = nodes[1].connect().await?;
    neighbour.subscribe(&channel).await?;
    let resp = nodes[0]
        .rest()
        .publish(
            &[&channel],
            "not-for-you",
            "{}",
            json!({ "socket_id": excluded.socket_id() }),
        )
        .await?;
    expect_status(&resp, 200, "a publish with socket_id")?;
    neighbour.expect_event(&channel, "not-for-you").await?;
    let what = format!(
        "not-for-you on {channel} at the excluded socket {}",
        excluded.socket_id()
    );
    expect_none(
        &nodes[0],
        &mut excluded,
        Path::Channel(&channel),
        &what,
        |e| e.event() == "not-for-you",
    )
    .await
    .map(drop)
}

async fn send_to_user_every_node(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.user_authentication,
        "n/a: user authentication disabled",
    )?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let id = user(&ctx, "u");
    let channel = format!("#server-to-user-{id}");
    // The user's connections on every node but the one publishing (and on
    // that one too when the cluster has only two).
    let mut conns = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        if k == 0 && nodes.len() > 2 {
            continue;
        }
        let mut c = n.connect().await?;
        c.signin(&json!({ "id": id }).to_string()).await?;
        c.subscribe(&channel).await?;
        conns.push((k, c));
    }
    let resp = nodes[0]
        .rest()
        .publish(&[&channel], "for-the-user", "{}", json!({}))
        .await?;
    expect_status(&resp, 200, "a send-to-user publish")?;
    for (k, c) in &mut conns {
        c.expect_event(&channel, "for-the-user")
            .await
            .map_err(|e| match Failure::from(e) {
                Failure::Violation { expected, actual } => {
                    Failure::violation(format!("{expected} on node {}", *k + 1), actual)
                }
                other => other,
            })?;
    }
    Ok(())
}

async fn client_events_across_nodes(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.client_events,
        "n/a: client events disabled",
    )?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Private);
    let mut sender = nodes[0].connect().await?;
    sender.subscribe(&channel).await?;
    let mut receivers = Vec::new();
    for n in &nodes[1..] {
        let mut c = n.connect().await?;
        c.subscribe(&channel).await?;
        receivers.push(c);
    }
    sender
        .trigger(&channel, "client-hop", json!({"n": 1}))
        .await?;
    for (k, r) in receivers.iter_mut().enumerate() {
        r.expect_event(&channel, "client-hop")
            .await
            .map_err(|e| match Failure::from(e) {
                Failure::Violation { expected, actual } => {
                    Failure::violation(format!("{expected} on node {}", k + 2), actual)
                }
                other => other,
            })?;
    }
    // The event has been through the shared fan-out (another node got it);
    // an echo would come back to the sender's node the same way as a
    // sentinel published through another node.
    let what = format!("the sender's own client-hop on {channel}");
    expect_none(
        &nodes[1],
        &mut sender,
        Path::Channel(&channel),
        &what,
        |e| e.event() == "client-hop",
    )
    .await
    .map(drop)
}

async fn client_event_user_id(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.client_events,
        "n/a: client events disabled",
    )?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let id = user(&ctx, "s");
    let mut sender = nodes[0].connect().await?;
    sender.subscribe_presence(&channel, &member(&id)).await?;
    let mut receiver = nodes[1].connect().await?;
    receiver
        .subscribe_presence(&channel, &member(&user(&ctx, "r")))
        .await?;
    sender.trigger(&channel, "client-who", json!({})).await?;
    let e = receiver.expect_event(&channel, "client-who").await?;
    if e.user_id() == Some(&json!(id)) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("client-who on node 2 with user_id {id:?}"),
            e.encode(),
        ))
    }
}
