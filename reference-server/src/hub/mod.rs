//! Shared state: apps, channels, presence rosters, cache slots, signed-in users, fan-out.
//!
//! Locks are `parking_lot` mutexes held only for in-memory work, never across
//! an `.await`. Frames go into each connection's bounded outbox without
//! waiting, so a publish never waits on a slow client. Lock order inside
//! an app: a `channels` shard (never two), then `cache`, then `users`.

mod channel;
mod clustered;
mod conn;
mod users;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use self::channel::{Channel, Member, member_added, member_removed};
pub(crate) use self::clustered::Apps;
use self::clustered::Clustered;
pub use self::conn::{Conn, Flusher, Outgoing, Queue, Wire, Writer, Written};
use self::users::Users;
use crate::cluster::{ClusterError, Node};
use crate::config::{AppConfig, Config};
use crate::faults::Handle;
use crate::metrics::{AppMetrics, Metrics};
use crate::protocol::channel::ChannelKind;
use crate::protocol::close::CloseCode;
use crate::protocol::message;
use crate::protocol::refusal::SubscribeRefusal;
use crate::protocol::session::{ClientEvent, Join, SignedIn};
use crate::webhooks::{AppHooks, WebhookEvent, WebhookKind, Webhooks};

/// Channel shards per app: a listing of every channel locks one shard at a
/// time, so it never stops publishes and subscribes to the others for long.
const SHARDS: usize = 16;

/// One app's channels, split over [`SHARDS`] locks by name hash.
#[derive(Debug)]
struct ChannelMap {
    shards: [Mutex<HashMap<String, Channel>>; SHARDS],
    hasher: RandomState,
}

impl ChannelMap {
    fn new() -> ChannelMap {
        ChannelMap {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            hasher: RandomState::new(),
        }
    }

    /// The shard that holds `name`.
    fn shard(&self, name: &str) -> &Mutex<HashMap<String, Channel>> {
        let at = self.hasher.hash_one(name) as usize % SHARDS;
        &self.shards[at]
    }
}

/// Above this many subscribers `subscription_count` is sent at most every 5 s (spec 7.5).
const COUNT_THROTTLE_ABOVE: usize = 100;
const COUNT_THROTTLE: Duration = Duration::from_secs(5);

/// Every app's state, and the socket id generator.
#[derive(Debug)]
pub struct Hub {
    by_key: HashMap<String, Arc<AppState>>,
    by_id: HashMap<String, Arc<AppState>>,
    socket_prefix: u64,
    next_conn: AtomicU64,
    metrics: Metrics,
    /// Writes the outboxes of connections the hub may write to directly.
    flusher: Arc<Flusher>,
}

impl Hub {
    /// Builds the hub for the configured apps.
    pub fn new(config: &Config, webhooks: &Webhooks) -> Hub {
        Hub::with_node(config, webhooks, None)
    }

    /// Builds the hub; with a cluster node, every app shares its state
    /// through it and socket ids start with the node's number.
    pub(crate) fn with_node(config: &Config, webhooks: &Webhooks, node: Option<&Node>) -> Hub {
        let faults = config.fault_handle();
        let metrics = Metrics::new(webhooks);
        let mut by_key = HashMap::new();
        let mut by_id = HashMap::new();
        for app in &config.apps {
            let mut state = AppState::new(
                app.clone(),
                webhooks.clone(),
                faults.clone(),
                metrics.app(&app.id),
            );
            state.clustered = node.map(|node| Clustered::new(node.clone()));
            let state = Arc::new(state);
            by_key.insert(app.key.clone(), state.clone());
            by_id.insert(app.id.clone(), state);
        }
        // Socket ids are `<prefix>.<counter>` (spec 1.3: `^\d+\.\d+$`); the random
        // prefix keeps ids of two runs of the server from colliding. A cluster
        // node's number is unique in the cluster for ever, so its ids are too.
        let socket_prefix = match node {
            Some(node) => node.socket_prefix(),
            None => RandomState::new().hash_one(0u8) % 1_000_000,
        };
        Hub {
            by_key,
            by_id,
            socket_prefix,
            next_conn: AtomicU64::new(1),
            metrics,
            flusher: Flusher::start(),
        }
    }

    /// The server's metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The app with this key.
    pub fn app_by_key(&self, key: &str) -> Option<&Arc<AppState>> {
        self.by_key.get(key)
    }

    /// The app with this id.
    pub fn app_by_id(&self, id: &str) -> Option<&Arc<AppState>> {
        self.by_id.get(id)
    }

    /// Every app.
    pub fn apps(&self) -> impl Iterator<Item = &Arc<AppState>> {
        self.by_id.values()
    }

    /// Every app by id, as the cluster's stream delivers to them.
    pub(crate) fn receiver(&self) -> Apps {
        Apps(self.by_id.clone())
    }

    /// A fresh connection handle with a process-unique socket id and an
    /// outbox of at most `queue_bytes`.
    pub fn new_conn(&self, queue_bytes: usize) -> Arc<Conn> {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let socket_id: Arc<str> = format!("{}.{id}", self.socket_prefix).into();
        Conn::new(id, socket_id, queue_bytes, self.flusher.clone())
    }
}

/// A cached event of a cache channel (spec 10.1).
#[derive(Debug)]
struct CacheSlot {
    event: Arc<str>,
    data: Arc<str>,
    expires: Instant,
}

/// What the HTTP API can ask about a channel (spec 8.4, 8.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Subscribed connections.
    pub subscription_count: usize,
    /// Distinct presence users.
    pub user_count: usize,
}

/// The cached event of a channel as the HTTP API reports it.
#[derive(Clone, Debug)]
pub struct CachedEvent {
    /// Event name.
    pub event: Arc<str>,
    /// Event data.
    pub data: Arc<str>,
    /// Time left before it expires.
    pub ttl: Duration,
}

/// One app's live state.
#[derive(Debug)]
pub struct AppState {
    /// The app's configuration.
    pub config: Arc<AppConfig>,
    /// Its webhook endpoints.
    pub hooks: Arc<AppHooks>,
    /// Test-only misbehaviours.
    pub faults: Handle,
    /// What this app counts.
    pub metrics: AppMetrics,
    webhooks: Webhooks,
    connections: AtomicU32,
    channels: ChannelMap,
    cache: Mutex<HashMap<String, CacheSlot>>,
    users: Mutex<Users>,
    /// Users terminated while the `ban_terminated_users` fault is on.
    banned: Mutex<std::collections::HashSet<Arc<str>>>,
    /// Cluster mode: this node's share of the app. `None` is single-node,
    /// where nothing below touches Redis.
    clustered: Option<Clustered>,
}

/// One HTTP API event for one channel.
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    /// Channel.
    pub channel: &'a str,
    /// Event name.
    pub event: &'a str,
    /// Event data.
    pub data: &'a str,
    /// Socket id that must not get it (spec 8.9).
    pub exclude: Option<&'a str>,
}

impl AppState {
    fn new(config: AppConfig, webhooks: Webhooks, faults: Handle, metrics: AppMetrics) -> AppState {
        let hooks = Arc::new(AppHooks {
            app_id: config.id.clone(),
            key: config.key.clone(),
            secret: String::from_utf8_lossy(config.secret.expose()).into_owned(),
            targets: config.webhooks.clone(),
            faults: faults.clone(),
        });
        AppState {
            config: Arc::new(config),
            hooks,
            faults,
            metrics,
            webhooks,
            connections: AtomicU32::new(0),
            channels: ChannelMap::new(),
            cache: Mutex::new(HashMap::new()),
            users: Mutex::new(Users::default()),
            banned: Mutex::new(std::collections::HashSet::new()),
            clustered: None,
        }
    }

    fn hook(&self, kind: WebhookKind, event: impl FnOnce() -> WebhookEvent) {
        if self.hooks.wants(kind) {
            self.webhooks.emit(&self.hooks, event());
        }
    }

    /// Counts a new connection, or says why it is refused (spec 1.5: 4003, 4004).
    pub fn admit(&self) -> Result<(), CloseCode> {
        if !self.config.enabled {
            return Err(CloseCode::AppDisabled);
        }
        let limit = self.config.max_connections.unwrap_or(u32::MAX);
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .map(|_| self.metrics.connection(1))
            .map_err(|_| CloseCode::OverQuota)
    }

    /// [`AppState::admit`] against the cluster-wide quota in cluster mode.
    /// When Redis cannot be asked, the node's own count is held to the limit.
    pub async fn admit_shared(&self) -> Result<(), CloseCode> {
        let (Some(clustered), Some(limit), true) = (
            &self.clustered,
            self.config.max_connections,
            self.config.enabled,
        ) else {
            return self.admit();
        };
        match clustered.node().admit(&self.config.id, limit).await {
            Ok(true) => {
                self.connections.fetch_add(1, Ordering::AcqRel);
                self.metrics.connection(1);
                Ok(())
            }
            Ok(false) => Err(CloseCode::OverQuota),
            Err(error) => {
                tracing::warn!(%error, "cluster quota unavailable; counting locally");
                self.admit()
            }
        }
    }

    /// Current connection count.
    pub fn connection_count(&self) -> u32 {
        self.connections.load(Ordering::Acquire)
    }

    /// Removes a closed connection from every channel and from the user registry.
    pub fn disconnect<'a>(
        self: &Arc<Self>,
        conn: &Conn,
        channels: impl Iterator<Item = &'a str>,
        user: Option<&Arc<str>>,
        now: Instant,
    ) {
        for channel in channels {
            self.leave(conn.id, channel, now);
        }
        if let Some(user_id) = user {
            match self.shared_watchlists() {
                Some(clustered) => {
                    if self.users.lock().sign_out(conn.id, user_id, false) {
                        clustered.node().sign_out(&self.config.id, user_id);
                    }
                }
                None => {
                    self.users.lock().sign_out(conn.id, user_id, true);
                }
            }
        }
        self.connections.fetch_sub(1, Ordering::AcqRel);
        self.metrics.connection(-1);
        if let (Some(clustered), Some(_)) = (&self.clustered, self.config.max_connections) {
            clustered.node().release(&self.config.id);
        }
    }

    /// Subscribes a connection: [`AppState::join`] on a single node, the
    /// cluster's join (which waits for Redis) in cluster mode.
    pub async fn subscribe(
        self: &Arc<Self>,
        conn: &Arc<Conn>,
        join: Join,
        now: Instant,
    ) -> Result<(), SubscribeRefusal> {
        match &self.clustered {
            Some(clustered) => clustered.join(self, conn, join).await,
            None => self.join(conn, join, now),
        }
    }

    /// Adds a connection to a channel and sends it the success frames (spec 4.4,
    /// 7.2, 10.1), or refuses it (presence member limit, spec 7.3).
    pub fn join(
        self: &Arc<Self>,
        conn: &Arc<Conn>,
        join: Join,
        now: Instant,
    ) -> Result<(), SubscribeRefusal> {
        let mut channels = self.channels.shard(&join.channel).lock();
        let channel = channels.entry(join.channel.clone()).or_default();
        if let Some(member) = &join.member {
            let limit = self.config.max_presence_members;
            if !channel.members.contains_key(&member.user_id) && channel.members.len() >= limit {
                if channel.subscribers.is_empty() {
                    channels.remove(&join.channel);
                }
                return Err(SubscribeRefusal::MemberLimit {
                    limit,
                    channel: join.channel,
                });
            }
        }
        if channel.subscribers.insert(conn.id, conn.clone()).is_none() {
            self.metrics
                .subscription(ChannelKind::of(&join.channel).access, 1);
        }
        match join.member {
            Some(member) => {
                let early = self.faults.roster_without_self();
                let roster = early.then(|| channel.roster_frame(&join.channel));
                let user_id = member.user_id.clone();
                self.add_member(channel, conn.id, &join.channel, member);
                conn.send(roster.unwrap_or_else(|| channel.roster_frame(&join.channel)));
                if self.faults.member_added_to_joiner() {
                    conn.send(member_added(&join.channel, &user_id, None));
                }
            }
            None => conn.send(message::subscription_succeeded(&join.channel)),
        }
        if channel.subscribers.len() == 1 && !join.channel.starts_with('#') {
            self.hook(WebhookKind::ChannelOccupied, || {
                WebhookEvent::ChannelOccupied {
                    channel: join.channel.clone(),
                }
            });
        }
        // The cached event (or cache_miss) is the first frame after
        // subscription_succeeded (spec 10.1), before any subscription_count.
        if join.kind.cache {
            self.replay_cache(conn, &join.channel, now);
        }
        if join.kind.access != crate::protocol::channel::Access::Presence
            || self.faults.count_on_presence()
        {
            self.count_changed(channel, &join.channel, now);
        }
        Ok(())
    }

    fn add_member(
        &self,
        channel: &mut Channel,
        conn_id: u64,
        name: &str,
        member: crate::protocol::session::Member,
    ) {
        channel.member_of.insert(conn_id, member.user_id.clone());
        let entry = channel
            .members
            .entry(member.user_id.clone())
            .or_insert(Member {
                user_info: member.user_info,
                connections: 0,
            });
        entry.connections += 1;
        let first = entry.connections == 1;
        if first || self.faults.member_added_per_connection() {
            let frame = member_added(name, &member.user_id, entry.user_info.as_deref());
            self.metrics
                .delivered(channel.broadcast(&frame, Some(conn_id)));
        }
        if first || self.faults.member_added_per_connection() {
            let user_id = member.user_id.to_string();
            self.hook(WebhookKind::MemberAdded, || WebhookEvent::MemberAdded {
                channel: name.to_owned(),
                user_id,
            });
        }
    }

    fn replay_cache(&self, conn: &Arc<Conn>, channel: &str, now: Instant) {
        let mut cache = self.cache.lock();
        let hit = cache
            .get(channel)
            .filter(|slot| slot.expires > now && !self.faults.no_cache_replay());
        match hit {
            Some(slot) => conn.send(message::channel_event(channel, &slot.event, &slot.data)),
            None => {
                cache.remove(channel);
                conn.send(message::cache_miss(channel));
                self.hook(WebhookKind::CacheMiss, || WebhookEvent::CacheMiss {
                    channel: channel.to_owned(),
                });
            }
        }
    }

    /// Removes a connection from a channel (spec 4.6, 7.2, 9.2).
    pub fn leave(self: &Arc<Self>, conn_id: u64, name: &str, now: Instant) {
        if let Some(clustered) = &self.clustered {
            return clustered.leave(self, conn_id, name);
        }
        let mut channels = self.channels.shard(name).lock();
        let Some(channel) = channels.get_mut(name) else {
            return;
        };
        if channel.subscribers.remove(&conn_id).is_none() {
            return;
        }
        self.metrics.subscription(ChannelKind::of(name).access, -1);
        if let Some(user_id) = channel.member_of.remove(&conn_id) {
            self.remove_member(channel, name, &user_id);
        }
        if channel.subscribers.is_empty() {
            channels.remove(name);
            // `#server-to-user-` channels are internal: no occupancy webhooks.
            if !name.starts_with('#') && !self.faults.no_vacated_webhook() {
                self.hook(WebhookKind::ChannelVacated, || {
                    WebhookEvent::ChannelVacated {
                        channel: name.to_owned(),
                    }
                });
            }
        } else if ChannelKind::of(name).access != crate::protocol::channel::Access::Presence {
            self.count_changed(channel, name, now);
        }
    }

    fn remove_member(&self, channel: &mut Channel, name: &str, user_id: &Arc<str>) {
        let Some(member) = channel.members.get_mut(user_id) else {
            return;
        };
        member.connections -= 1;
        if member.connections > 0 {
            return;
        }
        channel.members.remove(user_id);
        self.metrics
            .delivered(channel.broadcast(&member_removed(name, user_id), None));
        let user_id = user_id.to_string();
        self.hook(WebhookKind::MemberRemoved, || WebhookEvent::MemberRemoved {
            channel: name.to_owned(),
            user_id,
        });
    }

    /// Sends `subscription_count` to the channel, throttled above 100 subscribers (spec 7.5).
    fn count_changed(self: &Arc<Self>, channel: &mut Channel, name: &str, now: Instant) {
        if !self.config.subscription_count || name.starts_with('#') {
            return;
        }
        let due = channel
            .count_sent
            .is_none_or(|sent| now >= sent + COUNT_THROTTLE);
        if channel.subscribers.len() <= COUNT_THROTTLE_ABOVE || due {
            self.send_count(channel, name, now);
        } else if !channel.count_scheduled {
            channel.count_scheduled = true;
            let at = channel.count_sent.map_or(now, |sent| sent + COUNT_THROTTLE);
            let (app, name) = (self.clone(), name.to_owned());
            // The hub's one timer of its own: the throttled count is due later.
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                if let Some(channel) = app.channels.shard(&name).lock().get_mut(&name) {
                    channel.count_scheduled = false;
                    app.send_count(channel, &name, Instant::now());
                }
            });
        }
    }

    fn send_count(&self, channel: &mut Channel, name: &str, now: Instant) {
        let count = channel.subscribers.len();
        channel.count_sent = Some(now);
        self.metrics
            .delivered(channel.broadcast(&message::subscription_count(name, count), None));
        self.hook(WebhookKind::SubscriptionCount, || {
            WebhookEvent::SubscriptionCount {
                channel: name.to_owned(),
                subscription_count: count as u64,
            }
        });
    }

    /// Relays a client event to the channel's other subscribers (spec 6).
    pub fn client_event(&self, sender: &Conn, event: ClientEvent, now: Instant) {
        if let Some(clustered) = &self.clustered {
            clustered.client_event(self, sender, &event);
        } else {
            let channels = self.channels.shard(&event.channel).lock();
            let Some(channel) = channels.get(&event.channel) else {
                return;
            };
            let skip = (!self.faults.echo_client_events()).then_some(sender.id);
            self.metrics
                .delivered(channel.broadcast(&event.frame, skip));
        }
        if self.faults.cache_client_events() && ChannelKind::of(&event.channel).cache {
            self.store_cache(&event.channel, &event.event, &event.data, now);
        }
        self.hook(WebhookKind::ClientEvent, || WebhookEvent::ClientEvent {
            channel: event.channel,
            event: event.event,
            data: event.data,
            socket_id: sender.socket_id.to_string(),
            user_id: event
                .user_id
                .filter(|_| !self.faults.client_event_webhook_without_user())
                .map(|id| id.to_string()),
        });
    }

    /// Delivers HTTP API events in order: [`AppState::publish`] each on a
    /// single node; in cluster mode through Redis, where an error means
    /// nobody got them (the HTTP API answers 503).
    pub async fn publish_events(
        &self,
        events: &[Publish<'_>],
        now: Instant,
    ) -> Result<(), ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.publish(self, events).await,
            None => {
                for e in events {
                    self.publish(e.channel, e.event, e.data, e.exclude, now);
                }
                Ok(())
            }
        }
    }

    /// Counts for one channel across the cluster (or this node alone).
    pub async fn query_stats(&self, name: &str) -> Result<Option<ChannelStats>, ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.channel_stats(&self.config.id, name).await,
            None => Ok(self.channel_stats(name)),
        }
    }

    /// [`AppState::occupied_channels`] across the cluster.
    pub async fn query_occupied(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, ChannelStats)>, ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.occupied(&self.config.id, prefix).await,
            None => Ok(self.occupied_channels(prefix)),
        }
    }

    /// [`AppState::presence_users`] across the cluster.
    pub async fn query_users(&self, name: &str) -> Result<Vec<String>, ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.users(&self.config.id, name).await,
            None => Ok(self.presence_users(name)),
        }
    }

    /// [`AppState::cached`] from the shared slot in cluster mode.
    pub async fn query_cached(
        &self,
        name: &str,
        now: Instant,
    ) -> Result<Option<CachedEvent>, ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.cached(&self.config.id, name).await,
            None => Ok(self.cached(name, now)),
        }
    }

    /// [`AppState::terminate_user`] on every node of the cluster.
    pub async fn terminate(&self, user_id: &str) -> Result<(), ClusterError> {
        match &self.clustered {
            Some(clustered) => clustered.terminate(self, user_id).await,
            None => {
                self.terminate_user(user_id);
                Ok(())
            }
        }
    }

    /// Delivers an HTTP API event to one channel and caches it on cache
    /// channels (spec 8.2, 8.9, 10.1). The frame is encoded once.
    pub fn publish(
        &self,
        channel_name: &str,
        event: &str,
        data: &str,
        exclude: Option<&str>,
        now: Instant,
    ) {
        if self.faults.drop_server_to_user_events() && channel_name.starts_with('#') {
            return;
        }
        let frame = message::channel_event(channel_name, event, data);
        let exclude = exclude.filter(|_| !self.faults.skip_socket_exclusion());
        let channels = self.channels.shard(channel_name).lock();
        if ChannelKind::of(channel_name).cache {
            self.store_cache(channel_name, event, data, now);
        }
        if let Some(channel) = channels.get(channel_name) {
            self.metrics.delivered(channel.publish(&frame, exclude));
        }
    }

    fn store_cache(&self, channel: &str, event: &str, data: &str, now: Instant) {
        let mut cache = self.cache.lock();
        if cache.len() >= 1024 && cache.len().is_power_of_two() {
            cache.retain(|_, slot| slot.expires > now);
        }
        let expires = now + Duration::from_millis(self.config.cache_ttl_ms);
        cache.insert(
            channel.to_owned(),
            CacheSlot {
                event: event.into(),
                data: data.into(),
                expires,
            },
        );
    }

    /// Counts for one channel; `None` when nobody is subscribed.
    pub fn channel_stats(&self, name: &str) -> Option<ChannelStats> {
        let channels = self.channels.shard(name).lock();
        channels.get(name).map(stats)
    }

    /// Occupied channels whose name starts with `prefix`, excluding `#` channels
    /// (spec 8.4). One shard is locked at a time, and only to copy its names
    /// and counts; the reply is built with no lock held.
    pub fn occupied_channels(&self, prefix: &str) -> Vec<(String, ChannelStats)> {
        let mut out = Vec::new();
        for shard in &self.channels.shards {
            let channels = shard.lock();
            out.extend(
                channels
                    .iter()
                    .filter(|(name, _)| name.starts_with(prefix) && !name.starts_with('#'))
                    .map(|(name, channel)| (name.clone(), stats(channel))),
            );
        }
        out
    }

    /// Distinct user ids of a presence channel (spec 8.6).
    pub fn presence_users(&self, name: &str) -> Vec<String> {
        let channels = self.channels.shard(name).lock();
        channels
            .get(name)
            .map(|c| c.members.keys().map(|id| id.to_string()).collect())
            .unwrap_or_default()
    }

    /// The cached event of a cache channel, if still alive (spec 8.5, 10.1).
    pub fn cached(&self, name: &str, now: Instant) -> Option<CachedEvent> {
        let cache = self.cache.lock();
        let slot = cache.get(name).filter(|slot| slot.expires > now)?;
        Some(CachedEvent {
            event: slot.event.clone(),
            data: slot.data.clone(),
            ttl: slot.expires - now,
        })
    }

    /// Records a sign-in; sends watchlist state and online notifications (spec 10.4).
    /// In cluster mode the watchlists span the cluster (spec 10.4), from
    /// Redis through `clustered.rs`; otherwise they are this node's alone.
    pub fn signed_in(self: &Arc<Self>, conn: &Arc<Conn>, signed_in: SignedIn) {
        if self.faults.ban_terminated_users() && self.banned.lock().contains(&signed_in.user_id) {
            conn.close(CloseCode::Terminated);
            return;
        }
        match self.shared_watchlists() {
            Some(clustered) => clustered.sign_in(self, conn, signed_in),
            None => self.users.lock().sign_in(conn, signed_in),
        }
    }

    /// The cluster, when watchlists are shared through it (not with fault
    /// `cluster_watchlist_local`).
    fn shared_watchlists(&self) -> Option<&Clustered> {
        self.clustered
            .as_ref()
            .filter(|_| !self.faults.cluster_watchlist_local())
    }

    /// Closes every connection signed in as `user_id` with 4009 (spec 8.7).
    pub fn terminate_user(&self, user_id: &str) {
        if self.faults.ban_terminated_users() {
            self.banned.lock().insert(user_id.into());
        }
        for conn in self.users.lock().connections_of(user_id) {
            conn.close(CloseCode::Terminated);
        }
    }
}

fn stats(channel: &Channel) -> ChannelStats {
    ChannelStats {
        subscription_count: channel.subscribers.len(),
        user_count: channel.members.len(),
    }
}
