//! Presence across nodes: one roster (spec 7.1, 4.4), one member per user
//! whatever node its connections are on (7.2), one member limit (7.3).

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::{frame_until, member_user, nodes, shared, user};
use crate::conformance::cases::{case, member};
use crate::conformance::observe::{Path, expect_none};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const IDENTITY: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "presence",
    section: "7.1 Member identity",
};
const EVENTS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "presence",
    section: "7.2 Member events",
};
const LIMITS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "presence",
    section: "7.3 Limits enforcement",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "cluster/presence/one-roster",
            IDENTITY,
            Must,
            "A presence roster lists the members on every node, not only the joiner's.",
            one_roster
        ),
        case!(
            "cluster/presence/one-member-per-user",
            EVENTS,
            Must,
            "A user connected on two nodes is one member: one member_added, and member_removed only when its last connection leaves.",
            one_member_per_user
        ),
        case!(
            "cluster/presence/limit-across-nodes",
            LIMITS,
            Should,
            "Users joining at once on different nodes are admitted up to the member limit and no further.",
            limit_across_nodes
        ),
    ]
}

async fn one_roster(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let mut held = Vec::new();
    let mut ids = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let id = user(&ctx, &format!("n{}", k + 1));
        let mut c = n.connect().await?;
        let ok = c.subscribe_presence(&channel, &member(&id)).await?;
        ids.push(id);
        let presence = ok
            .data_decoded()
            .and_then(|d| d.get("presence").cloned())
            .unwrap_or(Value::Null);
        let mut listed: Vec<String> = presence["ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        listed.sort();
        let mut want = ids.clone();
        want.sort();
        let hash_ok = ids
            .iter()
            .all(|id| presence["hash"][id.as_str()] == json!({ "name": id }));
        if listed != want || presence["count"] != json!(ids.len()) || !hash_ok {
            return Err(Failure::violation(
                format!(
                    "the roster on node {} lists ids {want:?} with their user_info, count {}",
                    k + 1,
                    ids.len()
                ),
                presence.to_string(),
            ));
        }
        held.push(c);
    }
    Ok(())
}

async fn one_member_per_user(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Presence);
    // The watcher is on node 1; every sentinel goes through node 2, so it
    // reaches the watcher through the cluster's fan-out, as what it proves
    // absent would.
    let mut watcher = nodes[0].connect().await?;
    watcher
        .subscribe_presence(&channel, &member(&user(&ctx, "w")))
        .await?;
    let u = user(&ctx, "u");
    let mut first = nodes[0].connect().await?;
    first.subscribe_presence(&channel, &member(&u)).await?;
    let added = watcher
        .expect_event(&channel, "pusher_internal:member_added")
        .await?;
    if member_user(&added).as_deref() != Some(u.as_str()) {
        return Err(Failure::violation(
            format!("member_added for {u}"),
            added.encode(),
        ));
    }
    let mut second = nodes[1].connect().await?;
    second.subscribe_presence(&channel, &member(&u)).await?;
    // Anything the second join sent left through node 2 before its
    // subscription succeeded; a sentinel through node 2 comes after it.
    let what = format!("a second member_added for {u}, connected on node 2 as well");
    let is_added = |e: &crate::wire::Envelope| e.event() == "pusher_internal:member_added";
    expect_none(
        &nodes[1],
        &mut watcher,
        Path::Channel(&channel),
        &what,
        is_added,
    )
    .await?;
    // The first connection leaves, then joins another channel: its node
    // takes the two in order, so once the join succeeds the leave has been
    // taken too, and a member_removed sent for it is ahead of any sentinel.
    first.unsubscribe(&channel).await?;
    first
        .subscribe(&ctx.unique_channel(ChannelKind::Public))
        .await?;
    let what = format!("member_removed for {u} while it is still connected on node 2");
    let is_removed = |e: &crate::wire::Envelope| e.event() == "pusher_internal:member_removed";
    expect_none(
        &nodes[1],
        &mut watcher,
        Path::Channel(&channel),
        &what,
        is_removed,
    )
    .await?;
    second.close_handshake().await;
    let deadline = tokio::time::Instant::now() + ctx.timeout();
    let (removed, _) = frame_until(
        &mut watcher,
        deadline,
        &format!("member_removed for {u} once its last connection left"),
        is_removed,
    )
    .await?;
    if member_user(&removed).as_deref() == Some(u.as_str()) {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("member_removed for {u}"),
            removed.encode(),
        ))
    }
}

async fn limit_across_nodes(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let max = ctx.target().profile.limits.max_presence_members;
    if max > 50 {
        return Err(Failure::NotApplicable(
            "n/a: the profile's limits.max_presence_members is over 50 (this case joins that many users at once)",
        ));
    }
    let channel = ctx.unique_channel(ChannelKind::Presence);
    let joiners = max + nodes.len();
    let mut conns = Vec::new();
    for k in 0..joiners {
        conns.push(nodes[k % nodes.len()].connect().await?);
    }
    let ids: Vec<String> = (0..joiners).map(|k| user(&ctx, &format!("m{k}"))).collect();
    let outcomes = join_all(conns.iter_mut().zip(&ids).map(|(c, id)| {
        let channel = channel.clone();
        async move {
            let data = member(id);
            let auth = c.auth_for(&channel, Some(&data));
            c.send_subscribe(&channel, Some(&auth), Some(&data)).await?;
            c.expect_frame("subscription_succeeded or pusher:error", |e| {
                (e.event() == "pusher_internal:subscription_succeeded"
                    && e.channel() == Some(channel.as_str()))
                    || e.event() == "pusher:error"
                    || e.event() == "pusher:subscription_error"
            })
            .await
        }
    }))
    .await;
    let mut admitted = 0;
    for o in outcomes {
        if o?.event() == "pusher_internal:subscription_succeeded" {
            admitted += 1;
        }
    }
    if admitted == max {
        Ok(())
    } else {
        Err(Failure::violation(
            format!(
                "{max} of {joiners} users joining at once on {} nodes admitted (limits.max_presence_members = {max})",
                nodes.len()
            ),
            format!("{admitted} admitted"),
        ))
    }
}
