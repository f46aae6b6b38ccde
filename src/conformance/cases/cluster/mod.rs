//! The `cluster/` family: the rules of the other sections again, checked
//! across the nodes of a clustered target (`[[nodes]]` in the profile, or
//! `--cluster N`). Each case cites the section of the rule it checks; all
//! are N/A on a target of fewer than two nodes, and the node-death cases
//! also without the profile's lifecycle commands.
//!
//! Absence across nodes is proven by a sentinel that travels the same path
//! as what must not arrive: published through the node whose action could
//! cause it, after that action has reached the shared state (a REST count
//! or a delivery elsewhere shows that), so it is behind anything the
//! action sent.
//!
//! Cases of this family may run at once, but a case that kills or freezes
//! a node, or counts a node's socket ids, holds the family's gate alone
//! (every other cluster case holds it shared), so no other cluster case
//! sees a node go away under it or takes ids on it. Cases outside the
//! family talk to the first node only, which is never killed.

mod death;
mod fanout;
mod identity;
mod presence;
mod state;
mod watchlist;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use tokio::time::Instant;

use crate::client::{Incoming, ProtocolClient, RestResponse};
use crate::conformance::{Case, Ctx, Failure};
use crate::target::lifecycle::{self, Action};
use crate::wire::Envelope;

pub(super) fn cases() -> Vec<Case> {
    [
        identity::cases(),
        fanout::cases(),
        presence::cases(),
        state::cases(),
        watchlist::cases(),
        // Last: they hold the gate alone for a while, and cases started
        // before them do not wait for it.
        death::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Why a case of this family does not apply to a one-node target.
const ONE_NODE: &str = "n/a: the target has one node (list two or more as [[nodes]] in the profile, or run --cluster N)";

/// A context per node of the target (two at least, else N/A), in the
/// target's node order; the first is the target's own address.
fn nodes(ctx: &Ctx) -> Result<Vec<Ctx>, Failure> {
    let n = ctx.target().nodes().len();
    if n < 2 {
        return Err(Failure::NotApplicable(ONE_NODE));
    }
    (0..n).map(|i| ctx.on_node(i)).collect()
}

/// The family's gate for this target (see the module docs).
fn gate(ctx: &Ctx) -> Arc<RwLock<()>> {
    static GATES: LazyLock<parking_lot::Mutex<HashMap<String, Arc<RwLock<()>>>>> =
        LazyLock::new(Default::default);
    let key: Vec<String> = ctx.target().nodes().into_iter().map(|n| n.url).collect();
    GATES.lock().entry(key.join(" ")).or_default().clone()
}

/// Holds the gate shared: no node is killed or frozen meanwhile.
async fn shared(ctx: &Ctx) -> OwnedRwLockReadGuard<()> {
    gate(ctx).read_owned().await
}

/// Holds the gate alone, for a case that kills or freezes a node.
async fn exclusive(ctx: &Ctx) -> OwnedRwLockWriteGuard<()> {
    gate(ctx).write_owned().await
}

/// N/A unless every node can be put through `actions`.
fn require_lifecycle(ctx: &Ctx, actions: &[Action], why: &'static str) -> Result<(), Failure> {
    if actions
        .iter()
        .all(|a| lifecycle::supports(ctx.target(), *a))
    {
        Ok(())
    } else {
        Err(Failure::NotApplicable(why))
    }
}

/// Reads `c` until a frame matching `pred` arrives or `deadline` passes;
/// the frames passed over are returned with it.
async fn frame_until(
    c: &mut ProtocolClient,
    deadline: Instant,
    expected: &str,
    pred: impl Fn(&Envelope) -> bool,
) -> Result<(Envelope, Vec<Envelope>), Failure> {
    let mut passed = Vec::new();
    loop {
        match c.recv_until(deadline).await {
            Some(Incoming::Text(e)) if pred(&e) => return Ok((e, passed)),
            Some(Incoming::Text(e)) => passed.push(e),
            Some(Incoming::Ping | Incoming::Pong) => {}
            Some(other) => {
                return Err(Failure::violation(expected, other.describe()));
            }
            None => {
                let shown: Vec<String> =
                    passed.iter().rev().take(5).map(Envelope::encode).collect();
                return Err(Failure::violation(
                    expected,
                    format!("nothing matching by the deadline; last frames: {shown:?}"),
                ));
            }
        }
    }
}

/// A GET of the HTTP API on `ctx`'s node, expecting 200 with a JSON body.
async fn get_json(ctx: &Ctx, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
    let rest = ctx.rest();
    let mut request = rest.request("GET", path);
    for (k, v) in query {
        request = request.query(k, v);
    }
    let resp: RestResponse = rest.send(&request).await?;
    match (resp.status, resp.json()) {
        (200, Some(json)) => Ok(json),
        _ => Err(Failure::violation(
            format!(
                "HTTP 200 with JSON for GET {path} on {}",
                ctx.target().rest_base
            ),
            resp.describe(),
        )),
    }
}

/// The sorted user ids of `GET /channels/<channel>/users` on `ctx`'s node.
async fn users_on(ctx: &Ctx, channel: &str) -> Result<Vec<String>, Failure> {
    let json = get_json(ctx, &format!("/channels/{channel}/users"), &[]).await?;
    let mut ids: Vec<String> = json["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Polls `GET /channels/<channel>/users` on every node until each answers
/// `want` (the shared state settles after a leave or a reap), up to
/// `within`; a violation names the nodes that disagree.
async fn users_agree(
    nodes: &[Ctx],
    channel: &str,
    want: &[&str],
    within: Duration,
) -> Result<(), Failure> {
    let deadline = Instant::now() + within;
    loop {
        let mut wrong = Vec::new();
        for n in nodes {
            let ids = users_on(n, channel).await?;
            if ids != want {
                wrong.push(format!("{} lists {ids:?}", n.target().rest_base));
            }
        }
        if wrong.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::violation(
                format!("every node lists the users {want:?} of {channel}"),
                wrong.join("; "),
            ));
        }
        // The poll waits for a state change the target reports through its
        // HTTP API; the pause only spaces the queries.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `user_id` in a member event's data.
fn member_user(e: &Envelope) -> Option<String> {
    e.data_decoded()
        .and_then(|d| d.get("user_id").and_then(Value::as_str).map(str::to_owned))
}

/// A user id no other case uses.
fn user(ctx: &Ctx, name: &str) -> String {
    format!("{name}-{}", ctx.random_suffix())
}
