//! The hub in cluster mode: this node's share of each channel, kept in step
//! with the shared state in Redis through [`Node`].
//!
//! Each subscription is queued to Redis under the channel lock, so a resync
//! (which reconciles under the same lock) always sees what is queued before
//! it. A subscription is pending until its join script answers; messages
//! for it meanwhile are buffered, and on the answer it gets its success
//! frames first, then the buffered ones numbered after the join. Presence,
//! count and cache-channel messages carry the app's sequence number; a
//! subscription takes only those numbered after its join, which is what
//! keeps `member_added` from reaching the joiner and a cached event from
//! arriving twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::value::RawValue;

use super::channel::{member_added, member_removed, roster};
use super::{AppState, COUNT_THROTTLE, COUNT_THROTTLE_ABOVE, CachedEvent, ChannelStats, Conn};
use crate::cluster::{
    CacheSlot, ClusterError, Envelope, JoinReply, Node, Outgoing, Reconciling, Transition,
    TransitionKind,
};
use crate::protocol::channel::{Access, ChannelKind};
use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;
use crate::protocol::message;
use crate::protocol::refusal::SubscribeRefusal;
use crate::protocol::session::{ClientEvent, Join};
use crate::webhooks::{WebhookEvent, WebhookKind};

/// Frames buffered for one pending subscription at most; past it the
/// connection is closed 4100 (the join is taking far longer than Redis ever should).
const MAX_PENDING: usize = 4096;

/// One local subscription.
#[derive(Debug)]
struct Sub {
    conn: Arc<Conn>,
    /// The app's sequence number at the join; `None` while the join is in flight.
    joined: Option<u64>,
    /// Frames that arrived while pending, with their sequence numbers.
    pending: Vec<(Option<u64>, Frame)>,
    /// Presence member: user id and `user_info` JSON ("" when absent).
    member: Option<(Arc<str>, String)>,
}

impl Sub {
    /// Sends `frame` now, or buffers it while pending; numbered frames only
    /// when they come after the join.
    fn offer(&mut self, frame: &Frame, seq: Option<u64>) {
        match self.joined {
            Some(joined) => {
                if seq.is_none_or(|seq| seq > joined) {
                    self.conn.send(frame.clone());
                }
            }
            None if self.pending.len() < MAX_PENDING => self.pending.push((seq, frame.clone())),
            None => self.conn.close(CloseCode::OverCapacity),
        }
    }
}

/// This node's share of one app in cluster mode.
#[derive(Debug)]
pub(crate) struct Clustered {
    node: Node,
    channels: Mutex<HashMap<String, HashMap<u64, Sub>>>,
    /// The highest sequence number seen (by subscriptions and watches), so
    /// a resync against a Redis that lost its data can raise the counter
    /// past it.
    max_seq: AtomicU64,
    /// `subscription_count` throttle per channel (spec 7.5).
    counts: Mutex<HashMap<String, Throttle>>,
    /// Fault `cluster_cache_local` only: what this node itself published
    /// on cache channels.
    local_cache: Mutex<HashMap<String, CacheSlot>>,
}

/// When a channel's count was last sent here, and the newest one held back.
#[derive(Debug, Default)]
struct Throttle {
    sent: Option<Instant>,
    /// (count, sequence number) waiting for the throttle to pass.
    held: Option<(u64, u64)>,
}

fn is_presence(channel: &str) -> bool {
    ChannelKind::of(channel).access == Access::Presence
}

impl Clustered {
    pub(super) fn new(node: Node) -> Clustered {
        Clustered {
            node,
            channels: Mutex::new(HashMap::new()),
            max_seq: AtomicU64::new(0),
            counts: Mutex::new(HashMap::new()),
            local_cache: Mutex::new(HashMap::new()),
        }
    }

    /// The node.
    pub(super) fn node(&self) -> &Node {
        &self.node
    }

    /// Joins across the cluster (spec 4.4, 7.2, 7.3, 10.1).
    pub(super) async fn join(
        &self,
        app: &AppState,
        conn: &Arc<Conn>,
        join: Join,
    ) -> Result<(), SubscribeRefusal> {
        let name = join.channel;
        let member = join.member.map(|m| {
            (
                m.user_id,
                m.user_info.map(|i| i.get().to_owned()).unwrap_or_default(),
            )
        });
        let internal = name.starts_with('#');
        let counting = app.config.subscription_count && member.is_none();
        let faults = &app.faults;
        let mut limit = app.config.max_presence_members;
        let first_here;
        let reply = {
            let mut channels = self.channels.lock();
            if faults.cluster_member_limit_per_node()
                && let Some((user, _)) = &member
            {
                let here = local_users(channels.get(&name));
                if !here.contains(&user.as_ref()) && here.len() >= limit {
                    drop(channels);
                    return Err(SubscribeRefusal::MemberLimit {
                        limit,
                        channel: name,
                    });
                }
                limit = usize::MAX;
            }
            first_here = channels.get(&name).is_none_or(HashMap::is_empty);
            let sub = Sub {
                conn: conn.clone(),
                joined: internal.then_some(0),
                pending: Vec::new(),
                member: member.clone(),
            };
            channels
                .entry(name.clone())
                .or_default()
                .insert(conn.id, sub);
            if internal {
                // `#server-to-user-` channels are per connection: nothing shared.
                conn.send(message::subscription_succeeded(&name));
                app.metrics.subscription(join.kind.access, 1);
                return Ok(());
            }
            self.node.join(
                &app.config.id,
                &name,
                conn.id,
                member
                    .as_ref()
                    .map(|(user, info)| (user.as_ref(), info.as_str())),
                limit,
                counting,
                join.kind.cache,
            )
        };
        match reply.await {
            Ok(JoinReply::Joined {
                seq,
                total,
                transitions,
                roster: mut members,
                mut cached,
            }) => {
                if faults.cluster_roster_local() {
                    let channels = self.channels.lock();
                    let here = local_users(channels.get(&name));
                    members.retain(|(user, _)| here.contains(&user.as_str()));
                }
                if faults.cluster_cache_local() {
                    cached = self.local_cache.lock().get(&name).cloned();
                }
                self.faulty_join_effects(
                    app,
                    &name,
                    conn.id,
                    member.as_ref(),
                    seq,
                    first_here,
                    &transitions,
                );
                let first = success_frames(
                    &name,
                    member.is_some().then_some(members.as_slice()),
                    join.kind.cache.then_some(cached.as_ref()),
                    counting.then_some(total),
                );
                self.joined(conn.id, &name, seq, first);
                app.metrics.subscription(join.kind.access, 1);
                if join.kind.cache && cached.is_none() {
                    app.hook(WebhookKind::CacheMiss, || WebhookEvent::CacheMiss {
                        channel: name.clone(),
                    });
                }
                app.transitions(transitions);
                Ok(())
            }
            Ok(JoinReply::Full) => {
                self.forget(conn.id, &name);
                Err(SubscribeRefusal::MemberLimit {
                    limit: app.config.max_presence_members,
                    channel: name,
                })
            }
            Err(error) => {
                tracing::warn!(%error, channel = %name, "cluster join failed");
                self.forget(conn.id, &name);
                Err(SubscribeRefusal::ClusterUnavailable { channel: name })
            }
        }
    }

    /// What faults `cluster_member_added_per_node` and
    /// `cluster_webhooks_per_node` add to a join that only this node saw as
    /// a first: a second `member_added` broadcast, a second `channel_occupied`.
    #[allow(clippy::too_many_arguments, reason = "the join's facts, named")]
    fn faulty_join_effects(
        &self,
        app: &AppState,
        name: &str,
        conn_id: u64,
        member: Option<&(Arc<str>, String)>,
        seq: u64,
        first_here: bool,
        transitions: &[Transition],
    ) {
        let faults = &app.faults;
        if faults.cluster_webhooks_per_node()
            && first_here
            && !transitions
                .iter()
                .any(|t| matches!(t.kind, TransitionKind::Occupied))
        {
            app.hook(WebhookKind::ChannelOccupied, || {
                WebhookEvent::ChannelOccupied {
                    channel: name.to_owned(),
                }
            });
        }
        if let (true, Some((user, info))) = (faults.cluster_member_added_per_node(), member) {
            let announced = transitions
                .iter()
                .any(|t| matches!(&t.kind, TransitionKind::MemberAdded(_)));
            let others_here = self.channels.lock().get(name).is_some_and(|subs| {
                subs.iter().any(|(id, s)| {
                    *id != conn_id && s.member.as_ref().is_some_and(|(u, _)| u == user)
                })
            });
            if !announced && !others_here {
                let envelope = Envelope::Added {
                    channel: name.to_owned(),
                    user_id: user.to_string(),
                    user_info: info.clone(),
                    seq,
                };
                self.node.publish_later(&app.config.id, &envelope);
            }
        }
    }

    /// The join answered: success frames, then what was buffered after it.
    fn joined(&self, conn_id: u64, name: &str, seq: u64, first: Vec<Frame>) {
        self.max_seq.fetch_max(seq, Ordering::AcqRel);
        let mut channels = self.channels.lock();
        let Some(sub) = channels
            .get_mut(name)
            .and_then(|subs| subs.get_mut(&conn_id))
        else {
            return;
        };
        for frame in first {
            sub.conn.send(frame);
        }
        sub.joined = Some(seq);
        for (at, frame) in std::mem::take(&mut sub.pending) {
            if at.is_none_or(|at| at > seq) {
                sub.conn.send(frame);
            }
        }
    }

    fn forget(&self, conn_id: u64, name: &str) {
        let mut channels = self.channels.lock();
        if let Some(subs) = channels.get_mut(name) {
            subs.remove(&conn_id);
            if subs.is_empty() {
                channels.remove(name);
            }
        }
    }

    /// Leaves across the cluster (spec 4.6, 7.2); the transitions' webhooks
    /// are sent when Redis answers.
    pub(super) fn leave(&self, app: &Arc<AppState>, conn_id: u64, name: &str) {
        let mut channels = self.channels.lock();
        let Some(subs) = channels.get_mut(name) else {
            return;
        };
        let Some(sub) = subs.remove(&conn_id) else {
            return;
        };
        let last_here = subs.is_empty();
        if last_here {
            channels.remove(name);
        }
        if sub.joined.is_some() {
            app.metrics.subscription(ChannelKind::of(name).access, -1);
        }
        if name.starts_with('#') {
            return;
        }
        let counting = app.config.subscription_count && !is_presence(name);
        let id = app.config.id.clone();
        let app = app.clone();
        let per_node = last_here && app.faults.cluster_webhooks_per_node();
        let channel = name.to_owned();
        self.node.leave(&id, name, conn_id, counting, move |t| {
            let vacated = t.iter().any(|t| matches!(t.kind, TransitionKind::Vacated));
            app.transitions(t);
            if per_node && !vacated {
                app.hook(WebhookKind::ChannelVacated, || {
                    WebhookEvent::ChannelVacated { channel }
                });
            }
        });
    }

    /// Relays a client event here and to the other nodes (spec 6).
    pub(super) fn client_event(&self, app: &AppState, sender: &Conn, event: &ClientEvent) {
        {
            let mut channels = self.channels.lock();
            let Some(subs) = channels.get_mut(&event.channel) else {
                return;
            };
            for sub in subs.values_mut().filter(|s| s.conn.id != sender.id) {
                sub.offer(&event.frame, None);
            }
        }
        if app.faults.cluster_client_events_local() {
            return;
        }
        let envelope = Envelope::Client {
            origin: self.node.number(),
            channel: event.channel.clone(),
            frame: event.frame.as_str().to_owned(),
        };
        self.node.publish_later(&app.config.id, &envelope);
    }

    /// Publishes HTTP API events: Redis first (an error is the caller's 503,
    /// and nobody got the event), then this node's subscribers, in order.
    pub(super) async fn publish(
        &self,
        app: &AppState,
        events: &[super::Publish<'_>],
    ) -> Result<(), ClusterError> {
        let ttl = app.config.cache_ttl_ms.max(1);
        let outgoing: Vec<Outgoing<'_>> = events
            .iter()
            .map(|e| Outgoing {
                channel: e.channel,
                event: e.event,
                data: e.data,
                exclude: e.exclude,
                cache_ttl_ms: ChannelKind::of(e.channel).cache.then_some(ttl),
            })
            .collect();
        let seqs = self.node.publish(&app.config.id, &outgoing).await?;
        if app.faults.cluster_cache_local() {
            let mut local = self.local_cache.lock();
            for e in events.iter().filter(|e| ChannelKind::of(e.channel).cache) {
                let slot = CacheSlot {
                    event: e.event.to_owned(),
                    data: e.data.to_owned(),
                };
                local.insert(e.channel.to_owned(), slot);
            }
        }
        for (event, seq) in events.iter().zip(seqs) {
            let frame = message::channel_event(event.channel, event.event, event.data);
            app.metrics
                .delivered(self.deliver(event.channel, &frame, seq, event.exclude));
        }
        Ok(())
    }

    /// Offers `frame` to this node's subscribers of `channel`, but not to the
    /// socket id `exclude` (spec 8.9).
    /// Returns how many subscriptions it reached (buffered ones included).
    fn deliver(
        &self,
        channel: &str,
        frame: &Frame,
        seq: Option<u64>,
        exclude: Option<&str>,
    ) -> usize {
        if let Some(seq) = seq {
            self.max_seq.fetch_max(seq, Ordering::AcqRel);
        }
        let mut channels = self.channels.lock();
        let Some(subs) = channels.get_mut(channel) else {
            return 0;
        };
        let mut reached = 0;
        for sub in subs.values_mut() {
            if Some(sub.conn.socket_id.as_ref()) != exclude {
                sub.offer(frame, seq);
                reached += 1;
            }
        }
        reached
    }

    /// A message from the app's Redis channel.
    pub(super) fn receive(&self, app: &Arc<AppState>, envelope: Envelope) {
        let me = self.node.number();
        let faults = &app.faults;
        match envelope {
            Envelope::Client { origin, .. }
                if origin == me && faults.cluster_echo_own_client_events() =>
            {
                if let Envelope::Client { channel, frame, .. } = envelope {
                    self.deliver(&channel, &Frame::from(frame), None, None);
                }
            }
            Envelope::Publish { origin, .. }
            | Envelope::Client { origin, .. }
            | Envelope::Terminate { origin, .. }
            | Envelope::Reaped { origin, .. }
                if origin == me => {}
            Envelope::Online { user_id, seq } => {
                self.max_seq.fetch_max(seq, Ordering::AcqRel);
                app.users.lock().notify(&user_id, "online", Some(seq));
            }
            Envelope::Offline { user_id, seq } => {
                self.max_seq.fetch_max(seq, Ordering::AcqRel);
                app.users.lock().notify(&user_id, "offline", Some(seq));
            }
            Envelope::Reaped {
                channel, user_id, ..
            } => match user_id {
                Some(user_id) => app.hook(WebhookKind::MemberRemoved, || {
                    WebhookEvent::MemberRemoved { channel, user_id }
                }),
                None => app.hook(WebhookKind::ChannelVacated, || {
                    WebhookEvent::ChannelVacated { channel }
                }),
            },
            Envelope::Publish { channel, .. }
                if faults.cluster_user_events_local() && channel.starts_with('#') => {}
            Envelope::Publish {
                channel,
                event,
                data,
                exclude,
                seq,
                ..
            } => {
                let frame = message::channel_event(&channel, &event, &data);
                let exclude = exclude.filter(|_| !faults.cluster_remote_exclusion_ignored());
                app.metrics
                    .delivered(self.deliver(&channel, &frame, seq, exclude.as_deref()));
                if faults.cluster_remote_duplicates() {
                    self.deliver(&channel, &frame, seq, exclude.as_deref());
                }
            }
            Envelope::Client { channel, frame, .. } => {
                let frame = if faults.cluster_remote_client_events_without_user() {
                    without_user_id(&frame)
                } else {
                    frame
                };
                self.deliver(&channel, &Frame::from(frame), None, None);
            }
            Envelope::Terminate { user_id, .. } => app.terminate_user(&user_id),
            Envelope::Added {
                channel,
                user_id,
                user_info,
                seq,
            } => {
                let info = raw(&user_info);
                let frame = member_added(&channel, &user_id, info.as_deref());
                self.deliver(&channel, &frame, Some(seq), None);
            }
            Envelope::Removed {
                channel,
                user_id,
                seq,
            } => {
                let frame = member_removed(&channel, &user_id);
                self.deliver(&channel, &frame, Some(seq), None);
            }
            Envelope::Count {
                channel,
                count,
                seq,
            } => {
                if app.config.subscription_count {
                    self.count(app, channel, count, seq);
                }
            }
        }
    }

    /// A cluster-wide count for this node's subscribers: at once up to 100
    /// subscribers, above that at most every 5 s, the newest count when the
    /// throttle passes (spec 7.5), as on a single node.
    fn count(&self, app: &Arc<AppState>, channel: String, count: u64, seq: u64) {
        let now = Instant::now();
        let mut counts = self.counts.lock();
        if !self.channels.lock().contains_key(&channel) {
            counts.remove(&channel);
            return;
        }
        let throttle = counts.entry(channel.clone()).or_default();
        let due = throttle
            .sent
            .is_none_or(|sent| now >= sent + COUNT_THROTTLE);
        if count as usize <= COUNT_THROTTLE_ABOVE || due {
            throttle.sent = Some(now);
            throttle.held = None;
            drop(counts);
            let frame = message::subscription_count(&channel, count as usize);
            self.deliver(&channel, &frame, Some(seq), None);
            return;
        }
        let scheduled = throttle.held.replace((count, seq)).is_some();
        let Some(at) = throttle.sent.map(|sent| sent + COUNT_THROTTLE) else {
            return;
        };
        if !scheduled {
            let app = app.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                if let Some(clustered) = &app.clustered {
                    clustered.release_count(&channel);
                }
            });
        }
    }

    /// Sends the count the throttle held back.
    fn release_count(&self, channel: &str) {
        let held = {
            let mut counts = self.counts.lock();
            let Some(throttle) = counts.get_mut(channel) else {
                return;
            };
            throttle.sent = Some(Instant::now());
            throttle.held.take()
        };
        if let Some((count, seq)) = held {
            let frame = message::subscription_count(channel, count as usize);
            self.deliver(channel, &frame, Some(seq), None);
        }
    }

    /// Queues a reconcile of every channel this node holds, of those Redis
    /// lists for it that it no longer holds, and of its signed-in users
    /// (spec 10.4: a user signed in here is online for every watcher).
    pub(super) fn resync(
        &self,
        app: &AppState,
        listed: &[(String, String)],
        loud: bool,
    ) -> Vec<Reconciling> {
        let id = &app.config.id;
        let mut queued = self.resync_channels(app, listed, loud);
        if !app.faults.cluster_watchlist_local() {
            // Under the users lock, like a sign-in, so the reconcile is
            // ordered against every sign-in and sign-out of this node.
            let users = app.users.lock();
            queued.extend(self.node.reconcile_users(id, &users.counts(), loud).ok());
        }
        queued.extend(self.node.set_connections(id, app.connection_count()).ok());
        queued
    }

    /// The channel part of [`Clustered::resync`], under the channels lock.
    fn resync_channels(
        &self,
        app: &AppState,
        listed: &[(String, String)],
        loud: bool,
    ) -> Vec<Reconciling> {
        let channels = self.channels.lock();
        let id = &app.config.id;
        let mut queued = Vec::new();
        // First, so every reconcile below is numbered after what was seen.
        let seen = self.max_seq.load(Ordering::Acquire);
        queued.extend(self.node.raise_seq(id, seen).ok());
        for (name, subs) in channels.iter().filter(|(name, _)| !name.starts_with('#')) {
            let members: Vec<(u64, String, String)> = subs
                .values()
                .filter_map(|s| {
                    let (user, info) = s.member.as_ref()?;
                    Some((s.conn.id, user.to_string(), info.clone()))
                })
                .collect();
            let counting = app.config.subscription_count && !is_presence(name);
            queued.extend(
                self.node
                    .reconcile(id, name, counting, subs.len() as u64, &members, loud)
                    .ok(),
            );
        }
        for (_, name) in listed
            .iter()
            .filter(|(a, c)| a == id && !channels.contains_key(c))
        {
            queued.extend(self.node.reconcile(id, name, false, 0, &[], loud).ok());
        }
        queued
    }

    /// Closes and forgets every subscribed connection (see
    /// [`crate::cluster::Receiver::evict`]); their later leaves find nothing.
    fn evict(&self, app: &AppState) {
        let channels = std::mem::take(&mut *self.channels.lock());
        self.counts.lock().clear();
        for (name, subs) in channels {
            for sub in subs.into_values() {
                if sub.joined.is_some() {
                    app.metrics.subscription(ChannelKind::of(&name).access, -1);
                }
                sub.conn.close(CloseCode::Reconnect);
            }
        }
    }

    /// Counts for one channel across the cluster; `None` when unoccupied.
    pub(super) async fn channel_stats(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Option<ChannelStats>, ClusterError> {
        if self.node.faults().cluster_rest_local() {
            let channels = self.channels.lock();
            let subs = channels.get(name);
            let count = subs.map_or(0, HashMap::len) as u64;
            return Ok(occupied(count, local_users(subs).len() as u64));
        }
        let stats = self.node.channel_stats(app_id, &[name.to_owned()]).await?;
        Ok(stats
            .first()
            .and_then(|&(subscriptions, users)| occupied(subscriptions, users)))
    }

    /// Occupied channels across the cluster with their counts.
    pub(super) async fn occupied(
        &self,
        app_id: &str,
        prefix: &str,
    ) -> Result<Vec<(String, ChannelStats)>, ClusterError> {
        if self.node.faults().cluster_rest_local() {
            let channels = self.channels.lock();
            return Ok(channels
                .iter()
                .filter(|(name, _)| name.starts_with(prefix) && !name.starts_with('#'))
                .filter_map(|(name, subs)| {
                    let stats = occupied(subs.len() as u64, local_users(Some(subs)).len() as u64)?;
                    Some((name.clone(), stats))
                })
                .collect());
        }
        let names: Vec<String> = self
            .node
            .occupied(app_id)
            .await?
            .into_iter()
            .filter(|name| name.starts_with(prefix) && !name.starts_with('#'))
            .collect();
        let stats = self.node.channel_stats(app_id, &names).await?;
        Ok(names
            .into_iter()
            .zip(stats)
            .filter_map(|(name, (subscriptions, users))| {
                Some((name, occupied(subscriptions, users)?))
            })
            .collect())
    }

    /// Distinct users of a presence channel across the cluster (spec 8.6).
    pub(super) async fn users(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Vec<String>, ClusterError> {
        let faults = self.node.faults();
        if faults.cluster_rest_local() || faults.cluster_rest_users_local() {
            let channels = self.channels.lock();
            return Ok(local_users(channels.get(name))
                .into_iter()
                .map(str::to_owned)
                .collect());
        }
        self.node.users(app_id, name).await
    }

    /// The shared cache slot (spec 8.5, 10.1).
    pub(super) async fn cached(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Option<CachedEvent>, ClusterError> {
        Ok(self
            .node
            .cached(app_id, name)
            .await?
            .map(|(event, data, ms)| CachedEvent {
                event: event.into(),
                data: data.into(),
                ttl: std::time::Duration::from_millis(ms),
            }))
    }

    /// Records a sign-in across the cluster (spec 10.4): queued to Redis
    /// under the users lock, so it is ordered before the connection's
    /// sign-out; the watchlist's state is sent when Redis answers. Without
    /// Redis the connection is closed 4200 (reconnect) rather than given a
    /// watchlist state that may be wrong.
    pub(super) fn sign_in(
        &self,
        app: &Arc<AppState>,
        conn: &Arc<Conn>,
        signed_in: crate::protocol::session::SignedIn,
    ) {
        let user_id = signed_in.user_id.clone();
        let reply = {
            let mut users = app.users.lock();
            let ids = users.sign_in_shared(conn, signed_in);
            let watched: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
            self.node.sign_in(&app.config.id, &user_id, &watched)
        };
        let app = app.clone();
        let conn = conn.clone();
        tokio::spawn(async move {
            match reply.await {
                Ok((seq, online)) => {
                    // Watches take only events numbered after `seq`: a
                    // resync against a Redis that lost its data must number
                    // past it too.
                    if let Some(clustered) = &app.clustered {
                        clustered.max_seq.fetch_max(seq, Ordering::AcqRel);
                    }
                    app.users.lock().watch_state(conn.id, seq, &online);
                }
                Err(error) => {
                    tracing::warn!(%error, user = %user_id, "cluster sign-in failed");
                    conn.close(CloseCode::Reconnect);
                }
            }
        });
    }

    /// Closes the user's connections on every node (spec 8.7).
    pub(super) async fn terminate(
        &self,
        app: &AppState,
        user_id: &str,
    ) -> Result<(), ClusterError> {
        let envelope = Envelope::Terminate {
            origin: self.node.number(),
            user_id: user_id.to_owned(),
        };
        self.node.publish_now(&app.config.id, &envelope).await?;
        app.terminate_user(user_id);
        Ok(())
    }
}

impl AppState {
    /// Sends the webhooks of transitions this node's scripts reported: each
    /// happened once in the cluster, so each is sent once (spec 9.2).
    pub(crate) fn transitions(&self, transitions: Vec<Transition>) {
        for Transition { channel, kind, .. } in transitions {
            if channel.starts_with('#') {
                continue;
            }
            match kind {
                TransitionKind::Occupied => self.hook(WebhookKind::ChannelOccupied, || {
                    WebhookEvent::ChannelOccupied { channel }
                }),
                TransitionKind::Vacated => self.hook(WebhookKind::ChannelVacated, || {
                    WebhookEvent::ChannelVacated { channel }
                }),
                TransitionKind::MemberAdded(user_id) => self.hook(WebhookKind::MemberAdded, || {
                    WebhookEvent::MemberAdded { channel, user_id }
                }),
                TransitionKind::MemberRemoved(user_id) => {
                    self.hook(WebhookKind::MemberRemoved, || WebhookEvent::MemberRemoved {
                        channel,
                        user_id,
                    })
                }
                TransitionKind::Count(count) if self.config.subscription_count => {
                    self.hook(WebhookKind::SubscriptionCount, || {
                        WebhookEvent::SubscriptionCount {
                            channel,
                            subscription_count: count,
                        }
                    })
                }
                TransitionKind::Count(_) => {}
            }
        }
    }
}

/// What a new subscription gets first, in the spec's order: the success
/// frame (with the cluster's roster on presence channels, spec 4.4), then on
/// cache channels the cached event or `cache_miss` (spec 10.1), then, when
/// counting, the cluster-wide `subscription_count` (spec 7.5).
fn success_frames(
    name: &str,
    roster: Option<&[(String, String)]>,
    cache: Option<Option<&CacheSlot>>,
    count: Option<u64>,
) -> Vec<Frame> {
    let mut frames = vec![match roster {
        Some(members) => roster_frame(name, members),
        None => message::subscription_succeeded(name),
    }];
    match cache {
        Some(Some(slot)) => frames.push(message::channel_event(name, &slot.event, &slot.data)),
        Some(None) => frames.push(message::cache_miss(name)),
        None => {}
    }
    if let Some(total) = count {
        frames.push(message::subscription_count(name, total as usize));
    }
    frames
}

/// The distinct presence users among this node's subscriptions of a channel.
fn local_users(subs: Option<&HashMap<u64, Sub>>) -> Vec<&str> {
    let mut users: Vec<&str> = subs
        .into_iter()
        .flat_map(HashMap::values)
        .filter_map(|s| s.member.as_ref().map(|(user, _)| user.as_ref()))
        .collect();
    users.sort_unstable();
    users.dedup();
    users
}

/// Fault `cluster_remote_client_events_without_user`: the frame without its `user_id`.
fn without_user_id(frame: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(frame) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("user_id");
            serde_json::Value::Object(map).to_string()
        }
        _ => frame.to_owned(),
    }
}

/// Stats of an occupied channel; `None` when nobody is subscribed.
fn occupied(subscriptions: u64, users: u64) -> Option<ChannelStats> {
    (subscriptions > 0).then_some(ChannelStats {
        subscription_count: subscriptions as usize,
        user_count: users as usize,
    })
}

/// `user_info` JSON text as a raw value; empty means absent.
fn raw(info: &str) -> Option<Box<RawValue>> {
    if info.is_empty() {
        return None;
    }
    RawValue::from_string(info.to_owned()).ok()
}

/// The presence `subscription_succeeded` from the cluster's roster (spec 4.4).
fn roster_frame(channel: &str, members: &[(String, String)]) -> Frame {
    let infos: Vec<(&str, Option<Box<RawValue>>)> = members
        .iter()
        .map(|(id, info)| (id.as_str(), raw(info)))
        .collect();
    roster(
        channel,
        infos.iter().map(|(id, info)| (*id, info.as_deref())),
    )
}

/// The hub's side of [`crate::cluster::Receiver`]: every app of the node.
#[derive(Debug)]
pub(crate) struct Apps(pub(crate) HashMap<String, Arc<AppState>>);

impl crate::cluster::Receiver for Apps {
    fn deliver(&self, app: &str, message: Envelope) {
        if let Some(state) = self.0.get(app)
            && let Some(clustered) = &state.clustered
        {
            clustered.receive(state, message);
        }
    }

    fn transitions(&self, transitions: Vec<Transition>) {
        for transition in transitions {
            if let Some(state) = self.0.get(&transition.app) {
                state.transitions(vec![transition]);
            }
        }
    }

    fn evict(&self) {
        for state in self.0.values() {
            if let Some(clustered) = &state.clustered {
                clustered.evict(state);
                // The reap told every watcher these users went offline.
                if !state.faults.cluster_watchlist_local() {
                    // Forgotten, not only closed: the resync that follows
                    // must not put them back (announced online again).
                    let signed_in = state.users.lock().forget_all();
                    for conn in signed_in {
                        conn.close(CloseCode::Reconnect);
                    }
                }
            }
        }
    }

    fn resync(&self, listed: &[(String, String)], loud: bool) -> Vec<Reconciling> {
        self.0
            .values()
            .filter_map(|state| Some(state.clustered.as_ref()?.resync(state, listed, loud)))
            .flatten()
            .collect()
    }
}
