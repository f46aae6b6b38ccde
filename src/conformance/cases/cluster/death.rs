//! A node that dies or freezes (spec 7.2: a member whose connection is gone
//! is removed; 8.5-8.6: the HTTP API reports what is there): within the
//! profile's `[cluster] dead_within` the other nodes drop its members and
//! subscriptions and signed-in users (spec 10.4), once; a killed node
//! started again brings nothing back, neither members nor users;
//! a frozen node closes its clients when it resumes, since the cluster
//! already told everyone they left.
//!
//! The victim is always the last node, the observers sit on the first.
//! The node is restored (started, resumed) whatever the verdict.

use std::time::Duration;

use tokio::time::Instant;

use super::state::{hook_names, sentinel_hooks};
use super::watchlist::{entries, next_is, sign_in};
use super::{
    exclusive, frame_until, get_json, member_user, nodes, require_lifecycle, user, users_agree,
};
use crate::client::{Incoming, ProtocolClient};
use crate::conformance::cases::{case, member};
use crate::conformance::observe::{Path, expect_none};
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::target::lifecycle::{self, Action};
use crate::wire::{ChannelKind, Envelope};

const EVENTS: SpecRef = SpecRef {
    doc: Doc::Cluster,
    slug: "node-death",
    section: "7.2 Member events",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "cluster/node-death/kill-removes-members",
            EVENTS,
            Must,
            "When a node is killed, the others remove its members, subscriptions and signed-in users within the profile's bound (member_removed, watchlist offline, HTTP API users, occupancy and subscription_count, one channel_vacated and one member_removed webhook) and nothing comes back when it restarts.",
            kill_removes_members,
            slow
        ),
        case!(
            "cluster/node-death/freeze-closes-clients",
            EVENTS,
            Must,
            "When a node freezes past its liveness, the others remove its members and signed-in users (member_removed, watchlist offline), and its clients are closed when it resumes, never announced again.",
            freeze_closes_clients,
            slow
        ),
    ]
}

/// The victim's presence member as the watcher sees it join.
struct Scene {
    nodes: Vec<Ctx>,
    victim: usize,
    presence: String,
    watcher_id: String,
    victim_id: String,
    watcher: ProtocolClient,
    doomed: ProtocolClient,
}

/// A watcher on node 1 and a member on the last node in one presence channel.
async fn scene(ctx: &Ctx) -> Result<Scene, Failure> {
    let nodes = nodes(ctx)?;
    let victim = nodes.len() - 1;
    let presence = ctx.unique_channel(ChannelKind::Presence);
    let watcher_id = user(ctx, "w");
    let victim_id = user(ctx, "v");
    let mut watcher = nodes[0].connect().await?;
    watcher
        .subscribe_presence(&presence, &member(&watcher_id))
        .await?;
    let mut doomed = nodes[victim].connect().await?;
    doomed
        .subscribe_presence(&presence, &member(&victim_id))
        .await?;
    let added = watcher
        .expect_event(&presence, "pusher_internal:member_added")
        .await?;
    if member_user(&added).as_deref() != Some(victim_id.as_str()) {
        return Err(Failure::violation(
            format!("member_added for {victim_id}"),
            added.encode(),
        ));
    }
    Ok(Scene {
        nodes,
        victim,
        presence,
        watcher_id,
        victim_id,
        watcher,
        doomed,
    })
}

impl Scene {
    fn bound(&self) -> Duration {
        self.nodes[0].target().profile.cluster.dead_within
    }

    /// The watcher gets member_removed for the victim's member by `deadline`.
    async fn removed_by(&mut self, deadline: Instant, how: &str) -> Outcome {
        let expected = format!(
            "member_removed for {} within dead_within = {} ms of its node being {how}",
            self.victim_id,
            self.bound().as_millis()
        );
        let id = self.victim_id.clone();
        let channel = self.presence.clone();
        frame_until(&mut self.watcher, deadline, &expected, |e: &Envelope| {
            e.event() == "pusher_internal:member_removed"
                && e.channel() == Some(channel.as_str())
                && member_user(e).as_deref() == Some(id.as_str())
        })
        .await
        .map(drop)
    }

    /// Every node in `nodes` lists the watcher alone.
    async fn only_watcher(&self, nodes: &[Ctx]) -> Outcome {
        let want = [self.watcher_id.as_str()];
        users_agree(nodes, &self.presence, &want, nodes[0].timeout()).await
    }

    /// A sentinel through the victim's node proves it announced nothing
    /// for its old member (it is up again and ahead of the sentinel).
    async fn nothing_back(&mut self) -> Outcome {
        let what = format!(
            "member_added for {} after its node came back",
            self.victim_id
        );
        let channel = self.presence.clone();
        expect_none(
            &self.nodes[self.victim],
            &mut self.watcher,
            Path::Channel(&channel),
            &what,
            |e| e.event() == "pusher_internal:member_added",
        )
        .await
        .map(drop)
    }
}

/// Waits until `ctx`'s node reports `channel` unoccupied.
async fn vacated(ctx: &Ctx, channel: &str, within: Duration) -> Outcome {
    let deadline = Instant::now() + within;
    loop {
        let info = get_json(ctx, &format!("/channels/{channel}"), &[]).await?;
        if info["occupied"] == serde_json::json!(false) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::violation(
                format!(
                    "{channel}, held only on the dead node, unoccupied on {}",
                    ctx.target().rest_base
                ),
                info.to_string(),
            ));
        }
        // A state change the API reports; the pause spaces the queries.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `ctx`'s node counts `want` subscriptions of `channel`.
async fn counted(ctx: &Ctx, channel: &str, want: u64, within: Duration) -> Outcome {
    let deadline = Instant::now() + within;
    loop {
        let query = [("info", "subscription_count")];
        let info = get_json(ctx, &format!("/channels/{channel}"), &query).await?;
        if info["subscription_count"] == serde_json::json!(want) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::violation(
                format!(
                    "subscription_count {want} of {channel} on {} once the dead node's subscriber is gone",
                    ctx.target().rest_base
                ),
                info.to_string(),
            ));
        }
        // A state change the API reports; the pause spaces the queries.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A watcher on the first node (spec 10.4) of the victim's user and of a
/// sentinel user, who signs in only once the victim's node is back.
struct Eye {
    client: ProtocolClient,
    sentinel: String,
}

/// With watchlists (spec 10.4): the victim's connection signs in as the
/// victim's user, and a watcher on the first node, signed in with the
/// victim (and a sentinel user) in its watchlist, sees it online; `None`
/// without watchlists.
async fn watching_victim(ctx: &Ctx, scene: &mut Scene) -> Result<Option<Eye>, Failure> {
    let f = &ctx.target().profile.features;
    if !(f.watchlist && f.user_authentication) {
        return Ok(None);
    }
    let sentinel = user(ctx, "sentinel");
    // With a watchlist, whose state comes once the cluster has the
    // sign-in: the watcher's state on another node must count it.
    sign_in(&mut scene.doomed, &scene.victim_id, &[&sentinel]).await?;
    next_is(
        &mut scene.doomed,
        &[("offline", &sentinel)],
        "the initial state of the connection on the node to be killed",
    )
    .await?;
    let mut client = scene.nodes[0].connect().await?;
    sign_in(
        &mut client,
        &user(ctx, "eye"),
        &[&scene.victim_id, &sentinel],
    )
    .await?;
    next_is(
        &mut client,
        &[("online", &scene.victim_id), ("offline", &sentinel)],
        "the initial state, with the user signed in on the node to be killed",
    )
    .await?;
    Ok(Some(Eye { client, sentinel }))
}

impl Eye {
    /// Nothing brings the victim's user back (spec 10.4: a user is online
    /// while it has a connection, and its only one died with its node):
    /// the sentinel user signs in on the victim's node, up again, and its
    /// `online` travels the way a revived user's would, after anything the
    /// node announced as it came back; the watcher's next watchlist event
    /// must be that `online` alone.
    async fn nothing_back(&mut self, scene: &Scene, how: &str) -> Outcome {
        let mut sentinel = scene.nodes[scene.victim].connect().await?;
        sign_in(&mut sentinel, &self.sentinel, &[]).await?;
        let why = format!(
            "the sentinel user signed in on the node {how}: no online for {} before it",
            scene.victim_id
        );
        next_is(&mut self.client, &[("online", &self.sentinel)], &why).await
    }
}

/// The watcher sees the dead node's user go offline by `deadline`.
async fn offline_by(eye: &mut Eye, scene: &Scene, deadline: Instant, how: &str) -> Outcome {
    let expected = format!(
        "watchlist_events offline [{}] within dead_within = {} ms of its node being {how}",
        scene.victim_id,
        scene.bound().as_millis()
    );
    let want = vec![("offline".to_owned(), scene.victim_id.clone())];
    frame_until(&mut eye.client, deadline, &expected, |e: &Envelope| {
        e.event() == "pusher_internal:watchlist_events" && entries(e) == want
    })
    .await
    .map(drop)
}

/// The reap's webhooks came once for the cluster (spec 9.2, 9.3): a
/// sentinel webhook from every survivor, sent after anything it queued for
/// the reap, then one `channel_vacated` of `alone` and one `member_removed`
/// of the victim on `presence`.
async fn once_reaped(
    ctx: &Ctx,
    survivors: &[Ctx],
    alone: &str,
    presence: &str,
    victim_id: &str,
) -> Outcome {
    let sink = ctx.sink()?;
    sentinel_hooks(ctx, survivors).await?;
    let vacated = hook_names(sink, alone, "channel_vacated");
    let removed = sink
        .events_for(presence)
        .iter()
        .filter(|(e, _)| {
            e.get("name").and_then(serde_json::Value::as_str) == Some("member_removed")
                && e.get("user_id").and_then(serde_json::Value::as_str) == Some(victim_id)
        })
        .count();
    if (vacated, removed) == (1, 1) {
        return Ok(());
    }
    Err(Failure::violation(
        format!(
            "one channel_vacated ({alone}) and one member_removed ({victim_id} on {presence}) webhook for the killed node's share, with {} nodes left",
            survivors.len()
        ),
        format!("{vacated} channel_vacated, {removed} member_removed"),
    ))
}

async fn kill_removes_members(ctx: Ctx) -> Outcome {
    require_lifecycle(
        &ctx,
        &[Action::Kill, Action::Start],
        "n/a: the profile gives no kill and start commands for the nodes",
    )?;
    nodes(&ctx)?;
    let _gate = exclusive(&ctx).await;
    let mut scene = scene(&ctx).await?;
    let alone = ctx.unique_channel(ChannelKind::Public);
    scene.doomed.subscribe(&alone).await?;
    let counting = ctx.target().profile.features.subscription_count;
    let both = ctx.unique_channel(ChannelKind::Public);
    scene.doomed.subscribe(&both).await?;
    scene.watcher.subscribe(&both).await?;
    let sink = ctx.sink().ok();
    if let Some(sink) = sink {
        sink.expect_event(&alone, "channel_occupied", ctx.timeout() * 3)
            .await?;
    }
    let mut eye = watching_victim(&ctx, &mut scene).await?;
    let target = ctx.target().clone();
    let victim = scene.victim;
    lifecycle::kill(&target, victim).await?;
    let killed = Instant::now();
    let checks = async {
        scene
            .removed_by(killed + scene.bound() + ctx.timeout(), "killed")
            .await?;
        if let Some(eye) = &mut eye {
            offline_by(
                eye,
                &scene,
                killed + scene.bound() + ctx.timeout(),
                "killed",
            )
            .await?;
        }
        let survivors = &scene.nodes[..victim];
        scene.only_watcher(survivors).await?;
        for n in survivors {
            vacated(n, &alone, ctx.timeout()).await?;
            if counting {
                counted(n, &both, 1, ctx.timeout()).await?;
            }
        }
        if let Some(sink) = sink {
            let left =
                (killed + scene.bound() + ctx.timeout()).saturating_duration_since(Instant::now());
            sink.expect_event(&alone, "channel_vacated", left).await?;
            let left =
                (killed + scene.bound() + ctx.timeout()).saturating_duration_since(Instant::now());
            sink.expect_event(&scene.presence, "member_removed", left)
                .await?;
            once_reaped(&ctx, survivors, &alone, &scene.presence, &scene.victim_id).await?;
        }
        Ok::<(), Failure>(())
    };
    let verdict = checks.await;
    // Restored whatever the verdict, so the rest of the family has its node.
    lifecycle::start(&target, victim).await?;
    verdict?;
    scene.nothing_back().await?;
    if let Some(eye) = &mut eye {
        eye.nothing_back(&scene, "killed and started again").await?;
    }
    scene.only_watcher(&scene.nodes).await
}

async fn freeze_closes_clients(ctx: Ctx) -> Outcome {
    require_lifecycle(
        &ctx,
        &[Action::Stop, Action::Cont],
        "n/a: the profile gives no stop and cont commands for the nodes",
    )?;
    nodes(&ctx)?;
    let _gate = exclusive(&ctx).await;
    let mut scene = scene(&ctx).await?;
    let mut eye = watching_victim(&ctx, &mut scene).await?;
    let target = ctx.target().clone();
    let victim = scene.victim;
    lifecycle::stop(&target, victim).await?;
    let frozen = Instant::now();
    let checks = async {
        scene
            .removed_by(frozen + scene.bound() + ctx.timeout(), "frozen")
            .await?;
        if let Some(eye) = &mut eye {
            offline_by(
                eye,
                &scene,
                frozen + scene.bound() + ctx.timeout(),
                "frozen",
            )
            .await?;
        }
        scene.only_watcher(&scene.nodes[..victim]).await
    };
    let verdict = checks.await;
    lifecycle::cont(&target, victim).await?;
    verdict?;
    // Resumed, the node learns at its next liveness check that it was
    // given up; its client must then be closed.
    let deadline = Instant::now() + scene.bound() + ctx.timeout();
    let expected = format!(
        "the frozen node's client closed within dead_within = {} ms of resuming",
        scene.bound().as_millis()
    );
    loop {
        match scene.doomed.recv_until(deadline).await {
            Some(Incoming::Closed(..)) => break,
            Some(_) => {}
            None => return Err(Failure::violation(expected, "the connection stayed open")),
        }
    }
    scene.nothing_back().await?;
    if let Some(eye) = &mut eye {
        eye.nothing_back(&scene, "frozen and resumed").await?;
    }
    scene.only_watcher(&scene.nodes).await
}
