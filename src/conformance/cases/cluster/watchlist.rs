//! Watchlists across nodes (spec 10.4): a watcher's state counts users
//! signed in on any node, and `online`/`offline` follow a watched user's
//! first and last connection anywhere in the cluster.

use serde_json::{Value, json};

use super::{nodes, shared, user};
use crate::client::ProtocolClient;
use crate::conformance::cases::case;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::Envelope;

const WATCHLIST: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "watchlist",
    section: "10.4 Watchlist",
};

pub(super) fn cases() -> Vec<Case> {
    vec![case!(
        "cluster/watchlist/online-offline-across-nodes",
        WATCHLIST,
        Must,
        "A watcher's initial state counts users signed in on other nodes, and a watched user's first and last connection anywhere in the cluster yield one online and one offline.",
        online_offline_across_nodes
    )]
}

/// N/A unless the target has user authentication and watchlists.
pub(super) fn watchlists(ctx: &Ctx) -> Outcome {
    let f = &ctx.target().profile.features;
    ctx.require(
        f.watchlist && f.user_authentication,
        "n/a: watchlist disabled",
    )
}

/// The entries of a `watchlist_events` frame as (name, user id) pairs.
pub(super) fn entries(e: &Envelope) -> Vec<(String, String)> {
    let events = e
        .data_decoded()
        .and_then(|d| d.get("events").cloned())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for event in events {
        let name = event["name"].as_str().unwrap_or_default().to_owned();
        for id in event["user_ids"].as_array().into_iter().flatten() {
            out.push((name.clone(), id.as_str().unwrap_or_default().to_owned()));
        }
    }
    out.sort();
    out
}

/// Signs in as `id` with `watchlist`.
pub(super) async fn sign_in(c: &mut ProtocolClient, id: &str, watchlist: &[&str]) -> Outcome {
    let mut data = json!({ "id": id });
    if !watchlist.is_empty() {
        data["watchlist"] = Value::from(watchlist.to_vec());
    }
    let reply = c.signin(&data.to_string()).await?;
    if reply.event() == "pusher:signin_success" {
        return Ok(());
    }
    Err(Failure::violation(
        format!("pusher:signin_success for {id}"),
        reply.encode(),
    ))
}

/// The watcher's next `watchlist_events` frame is exactly `want`.
pub(super) async fn next_is(c: &mut ProtocolClient, want: &[(&str, &str)], why: &str) -> Outcome {
    let e = c
        .expect_frame("pusher_internal:watchlist_events", |e| {
            e.event() == "pusher_internal:watchlist_events"
        })
        .await?;
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(n, id)| ((*n).to_owned(), (*id).to_owned()))
        .collect();
    want.sort();
    if entries(&e) == want {
        return Ok(());
    }
    Err(Failure::violation(
        format!("watchlist_events {want:?} ({why})"),
        e.encode(),
    ))
}

async fn online_offline_across_nodes(ctx: Ctx) -> Outcome {
    watchlists(&ctx)?;
    let nodes = nodes(&ctx)?;
    let _gate = shared(&ctx).await;
    let far = &nodes[nodes.len() - 1];
    let (there, later, sentinel) = (user(&ctx, "a"), user(&ctx, "b"), user(&ctx, "s"));
    let mut a = far.connect().await?;
    // With a watchlist, whose state comes once the cluster has the
    // sign-in: the watcher's state on another node must count it.
    sign_in(&mut a, &there, &[&sentinel]).await?;
    next_is(&mut a, &[("offline", &sentinel)], "a's initial state").await?;
    let mut watcher = nodes[0].connect().await?;
    let w = user(&ctx, "w");
    sign_in(&mut watcher, &w, &[&there, &later, &sentinel]).await?;
    next_is(
        &mut watcher,
        &[
            ("online", &there),
            ("offline", &later),
            ("offline", &sentinel),
        ],
        "the initial state, with a user signed in on another node online",
    )
    .await?;
    let mut b = far.connect().await?;
    sign_in(&mut b, &later, &[]).await?;
    next_is(
        &mut watcher,
        &[("online", &later)],
        "a watched user signed in on another node",
    )
    .await?;
    // A second connection of the same user, on the watcher's node: its
    // first leaving is no `offline` (the sentinel's `online` comes next).
    // It watches `there`, and its watchlist state, which counts the
    // cluster's users, comes once the cluster has its sign-in: only then
    // does the first connection leave (else the two nodes race).
    let mut b2 = nodes[0].connect().await?;
    sign_in(&mut b2, &later, &[&there]).await?;
    next_is(
        &mut b2,
        &[("online", &there)],
        "the second connection's initial state",
    )
    .await?;
    b.close_handshake().await;
    let mut s = far.connect().await?;
    sign_in(&mut s, &sentinel, &[]).await?;
    next_is(
        &mut watcher,
        &[("online", &sentinel)],
        "no offline while the user has a connection on another node",
    )
    .await?;
    b2.close_handshake().await;
    next_is(
        &mut watcher,
        &[("offline", &later)],
        "the user's last connection in the cluster closed",
    )
    .await?;
    a.close_handshake().await;
    next_is(
        &mut watcher,
        &[("offline", &there)],
        "a user on another node signed out",
    )
    .await
}
