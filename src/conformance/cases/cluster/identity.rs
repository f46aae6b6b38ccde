//! Identity across nodes: socket ids are unique in the whole cluster (spec
//! 1.3), so a channel authorization signed for a socket on one node is
//! refused for any socket on another (spec 5.2).
//!
//! Ids of the spec's form `P.N` with the same `P` on two nodes may come
//! from per-node counters that will meet: the cases then open connections
//! on the node whose `N` is behind until it passes the other's, which finds
//! the collision if there is one (bounded by [`WALK_LIMIT`]).

use futures_util::future::join_all;

use super::{exclusive, nodes};
use crate::client::ProtocolClient;
use crate::conformance::cases::{case, expect_no_leak};
use crate::conformance::observe::expect_refused;
use crate::conformance::{Case, Ctx, Doc, Failure, HarnessError, Outcome, SpecRef};
use crate::wire::ChannelKind;

const IDS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "identity",
    section: "1.3 pusher:connection_established",
};
const AUTH: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "identity",
    section: "5.2 Channel authorization strings",
};

/// Most connections a walk opens.
const WALK_LIMIT: u64 = 5000;
/// Connections a walk opens at once.
const WALK_STEP: u64 = 16;

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "cluster/identity/socket-ids-unique",
            IDS,
            Must,
            "No two nodes of a cluster hand out the same socket id.",
            socket_ids_unique
        ),
        case!(
            "cluster/identity/auth-bound-to-socket",
            AUTH,
            Must,
            "An authorization signed for a socket on one node is refused for a socket on another.",
            auth_bound_to_socket,
            security
        ),
    ]
}

/// `P.N` as numbers.
fn parts(id: &str) -> Option<(u64, u64)> {
    let (p, n) = id.split_once('.')?;
    Some((p.parse().ok()?, n.parse().ok()?))
}

/// Opens connections on `node` until one has the id `wanted` (returned,
/// held open) or the node's counter has passed it (`None`). Only called
/// when both ids have the same prefix and `node` is behind.
async fn walk(node: &Ctx, wanted: &str) -> Result<Option<ProtocolClient>, Failure> {
    let Some((_, target)) = parts(wanted) else {
        return Ok(None);
    };
    let mut opened = 0;
    while opened < WALK_LIMIT {
        let batch = join_all((0..WALK_STEP).map(|_| node.connect())).await;
        opened += WALK_STEP;
        let mut passed = false;
        for c in batch {
            let c = c?;
            if c.socket_id() == wanted {
                return Ok(Some(c));
            }
            passed |= parts(c.socket_id()).is_some_and(|(_, n)| n >= target);
        }
        if passed {
            return Ok(None);
        }
    }
    Err(Failure::Harness(HarnessError::Setup {
        step: "walk the socket id counter",
        expected: format!("a socket id past {wanted} within {WALK_LIMIT} connections"),
        actual: format!("{} kept numbering below it", node.target().ws_base),
    }))
}

/// Two connections with the same socket id, on node 1 and on node `j`,
/// if the two nodes' ids can meet: equal at once, or of the same prefix,
/// the node behind walked up to the other (see the module docs). Other
/// cases may take ids on node 1 meanwhile, so a walk there that passes the
/// id without meeting it leaves node 1 ahead, and the next round walks `j`.
async fn collision(
    nodes: &[Ctx],
    j: usize,
) -> Result<Option<(ProtocolClient, ProtocolClient)>, Failure> {
    for _ in 0..3 {
        let a = nodes[0].connect().await?;
        let b = nodes[j].connect().await?;
        if a.socket_id() == b.socket_id() {
            return Ok(Some((a, b)));
        }
        let (Some((p, n)), Some((q, m))) = (parts(a.socket_id()), parts(b.socket_id())) else {
            return Ok(None);
        };
        if p != q {
            return Ok(None);
        }
        if m < n {
            // Only this case connects to node j now (the gate is held alone).
            return Ok(walk(&nodes[j], a.socket_id()).await?.map(|twin| (a, twin)));
        }
        if let Some(twin) = walk(&nodes[0], b.socket_id()).await? {
            return Ok(Some((twin, b)));
        }
    }
    Ok(None)
}

async fn socket_ids_unique(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = exclusive(&ctx).await;
    for j in 1..nodes.len() {
        if let Some((a, _)) = collision(&nodes, j).await? {
            return Err(Failure::violation(
                "distinct socket ids on every node",
                format!(
                    "{} on node 1 and on node {} (the node behind walked up to it)",
                    a.socket_id(),
                    j + 1
                ),
            ));
        }
    }
    Ok(())
}

async fn auth_bound_to_socket(ctx: Ctx) -> Outcome {
    let nodes = nodes(&ctx)?;
    let _gate = exclusive(&ctx).await;
    let channel = ctx.unique_channel(ChannelKind::Private);
    // The attacker's socket on the second node: one with the victim's id,
    // if the cluster ever hands that out there, else any.
    let (mut victim, mut attacker, twin) = match collision(&nodes, 1).await? {
        Some((victim, attacker)) => (victim, attacker, true),
        None => (nodes[0].connect().await?, nodes[1].connect().await?, false),
    };
    victim.subscribe(&channel).await?;
    let captured = victim.auth_for(&channel, None);
    attacker
        .send_subscribe(&channel, Some(&captured), None)
        .await?;
    let refused = expect_refused(&nodes[1], &mut attacker, &channel).await;
    let refused = refused.map_err(|f| match f {
        Failure::Violation { expected, actual } if twin => Failure::violation(
            expected,
            format!(
                "{actual} (socket {} on node 2 has the id of the socket on node 1 the authorization was signed for)",
                attacker.socket_id()
            ),
        ),
        other => other,
    });
    refused?;
    expect_no_leak(&nodes[0], &mut attacker, &channel).await
}
