//! Shared state across nodes: webhooks once per cluster-wide transition
//! (spec 9.2), cache channels (10.1), the HTTP API's channel queries
//! (8.4-8.6) and the connection quota (10.7) are the cluster's, not a node's.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{get_json, nodes, shared, user};
use crate::conformance::cases::connection::expect_closed_with;
use crate::conformance::cases::{case, expect_status, limited_app_gate, member};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const WEBHOOKS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "webhooks",
    section: "9.2 Event payloads",
};
const CACHE: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "cache",
    section: "10.1 Cache channels",
};
const REST: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "rest",
    section: "8.4-8.6 Channel queries and users",
};
const QUOTA: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "quota",
    section: "10.7 Connection limits and counting",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "cluster/webhooks/once-per-transition",
            WEBHOOKS,
            Must,
            "A channel used on several nodes gives one channel_occupied and one channel_vacated, a user on several nodes one member_added and one member_removed.",
            once_per_transition
        ),
        case!(
            "cluster/cache/replay-across-nodes",
            CACHE,
            Must,
            "A subscriber on another node replays the event last published to a cache channel.",
            replay_across_nodes
        ),
        case!(
            "cluster/rest/queries-agree",
            REST,
            Must,
            "Every node's HTTP API reports the channels, counts and users of the whole cluster.",
            queries_agree
        ),
        case!(
            "cluster/quota/cluster-wide",
            QUOTA,
            Must,
            "The app's connection quota counts the connections on every node.",
            cluster_wide_quota
        ),
    ]
}

pub(super) fn hook_names(sink: &crate::client::WebhookSink, channel: &str, name: &str) -> usize {
    sink.events_for(channel)
        .iter()
        .filter(|(e, _)| e.get("name").and_then(Value::as_str) == Some(name))
        .count()
}

/// Each node's sentinel webhook: a fresh channel's `channel_occupied`,
/// which that node sends after everything it queued before. Once all are
/// in, a duplicate from any node would be too.
pub(super) async fn sentinel_hooks(ctx: &Ctx, nodes: &[Ctx]) -> Outcome {
    let sink = ctx.sink()?;
    let mut held = Vec::new();
    for n in nodes {
        let channel = ctx.unique_channel(ChannelKind::Public);
        let mut c = n.connect().await?;
        c.subscribe(&channel).await?;
        held.push((c, channel));
    }
    for (_, channel) in &held {
        sink.expect_event(channel, "channel_occupied", ctx.timeout() * 3)
            .await?;
    }
    tokio::time::sleep(ctx.settle()).await;
    Ok(())
}

async fn once_per_transition(ctx: Ctx) -> Outcome {
    let sink = ctx.sink()?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let wait = ctx.timeout() * 3;
    let public = ctx.unique_channel(ChannelKind::Public);
    let presence = ctx.unique_channel(ChannelKind::Presence);
    let u = user(&ctx, "u");
    let mut held = Vec::new();
    for n in &nodes {
        let mut c = n.connect().await?;
        c.subscribe(&public).await?;
        c.subscribe_presence(&presence, &member(&u)).await?;
        held.push(c);
    }
    sink.expect_event(&public, "channel_occupied", wait).await?;
    sink.expect_event(&presence, "member_added", wait).await?;
    sentinel_hooks(&ctx, &nodes).await?;
    let joined = (
        hook_names(sink, &public, "channel_occupied"),
        hook_names(sink, &presence, "member_added"),
    );
    for c in held {
        c.close_handshake().await;
    }
    sink.expect_event(&public, "channel_vacated", wait).await?;
    sink.expect_event(&presence, "member_removed", wait).await?;
    sentinel_hooks(&ctx, &nodes).await?;
    let left = (
        hook_names(sink, &public, "channel_vacated"),
        hook_names(sink, &presence, "member_removed"),
    );
    if joined == (1, 1) && left == (1, 1) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!(
                "one each of channel_occupied, channel_vacated ({public}), member_added and member_removed ({u}), the channel used on {} nodes",
                nodes.len()
            ),
            format!(
                "{} channel_occupied, {} member_added, {} channel_vacated, {} member_removed",
                joined.0, joined.1, left.0, left.1
            ),
        ))
    }
}

async fn replay_across_nodes(ctx: Ctx) -> Outcome {
    ctx.require(
        ctx.target().profile.features.cache_channels,
        "n/a: cache channels disabled",
    )?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::PublicCache);
    let data = json!({ "v": ctx.random_suffix() }).to_string();
    let resp = nodes[0]
        .rest()
        .publish(&[&channel], "cached", &data, json!({}))
        .await?;
    expect_status(&resp, 200, "a publish to a cache channel")?;
    for (k, n) in nodes.iter().enumerate().skip(1) {
        let mut c = n.connect().await?;
        c.subscribe(&channel).await?;
        let e = c
            .expect_frame("the cached event right after subscribing", |e| {
                e.channel() == Some(channel.as_str())
            })
            .await?;
        if e.event() != "cached" || e.data_decoded() != serde_json::from_str(&data).ok() {
            return Err(Failure::violation(
                format!("the cached event {data} replayed on node {}", k + 1),
                e.encode(),
            ));
        }
    }
    Ok(())
}

async fn queries_agree(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let counting = ctx.target().profile.features.subscription_count;
    let public = ctx.unique_channel(ChannelKind::Public);
    let presence = ctx.unique_channel(ChannelKind::Presence);
    let mut held = Vec::new();
    let mut ids = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let id = user(&ctx, &format!("n{}", k + 1));
        let mut c = n.connect().await?;
        c.subscribe(&public).await?;
        c.subscribe_presence(&presence, &member(&id)).await?;
        ids.push(id);
        held.push(c);
    }
    ids.sort();
    let all = nodes.len() as u64;
    for (k, n) in nodes.iter().enumerate() {
        let at = format!("node {} ({})", k + 1, n.target().rest_base);
        let query: &[(&str, &str)] = if counting {
            &[("info", "subscription_count")]
        } else {
            &[]
        };
        let one = get_json(n, &format!("/channels/{public}"), query).await?;
        let count_ok = !counting || one["subscription_count"] == json!(all);
        if one["occupied"] != json!(true) || !count_ok {
            return Err(Failure::violation(
                format!("GET /channels/{public} on {at}: occupied with subscription_count {all}"),
                one.to_string(),
            ));
        }
        let listed = get_json(
            n,
            "/channels",
            &[("filter_by_prefix", &presence), ("info", "user_count")],
        )
        .await?;
        if listed["channels"][presence.as_str()]["user_count"] != json!(all) {
            return Err(Failure::violation(
                format!("GET /channels on {at} lists {presence} with user_count {all}"),
                listed.to_string(),
            ));
        }
        let users = super::users_on(n, &presence).await?;
        if users != ids {
            return Err(Failure::violation(
                format!("GET /channels/{presence}/users on {at} lists {ids:?}"),
                format!("{users:?}"),
            ));
        }
    }
    Ok(())
}

async fn cluster_wide_quota(ctx: Ctx) -> Outcome {
    let app = ctx.app("limited")?;
    let quota = app.max_connections.ok_or(Failure::NotApplicable(
        "n/a: apps.limited has no max_connections",
    ))?;
    if quota > 50 {
        return Err(Failure::NotApplicable(
            "n/a: apps.limited allows over 50 connections (this case opens that many)",
        ));
    }
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let _quota = limited_app_gate(&ctx).await;
    let creds = Arc::new(app.credentials());
    let mut held = Vec::new();
    // Spread over the nodes, so no node holds the whole quota; the one
    // over it goes to the node holding the fewest.
    for k in 0..quota as usize {
        held.push(nodes[k % nodes.len()].connect_as(creds.clone()).await?);
    }
    let last = nodes.len() - 1;
    let url = nodes[last].target().ws_url(&app.key, "");
    expect_closed_with(&nodes[last], &url, &[4004], None)
        .await
        .map_err(|f| match f {
            Failure::Violation { expected, actual } => Failure::violation(
                format!(
                    "{expected}: the quota of {quota} is held across {} nodes",
                    nodes.len()
                ),
                actual,
            ),
            other => other,
        })
}
