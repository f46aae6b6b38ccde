//! Cluster mode: several nodes share channels, presence, cache and users
//! through one Redis server (issue 10). Off unless `--redis` or
//! `[cluster] redis_url` is given; then the hub calls [`Node`] and nothing
//! else of this module.
//!
//! # What lives where
//!
//! - Fan-out: one Redis pub/sub channel per app (`wire.rs` says why). A
//!   node delivers to its own clients directly and publishes for the others.
//! - Shared state: Redis keys under the cluster's prefix, changed only by the
//!   Lua scripts in `lua/`, atomically, which decides who reports a
//!   transition (exactly one node sends each webhook).
//! - Order: one ordered command line per node (`link.rs`); presence and count
//!   messages numbered by the app's sequence in Redis.
//! - Liveness: a lease key per node, renewed every heartbeat; a node whose
//!   lease expired is reaped by whichever survivor runs the reap script first
//!   (`lease.rs`).
//!
//! # Keys (`P` = prefix, `A` = app id, `C` = channel, `N` = node number)
//!
//! `P:node_seq` node numbers; `P:nodes` live nodes; `P:node:N` lease;
//! `P:node:N:chans` what N holds; `P:name:NAME` last number of a node name;
//! `P:A:seq` message sequence; `P:A:events` pub/sub channel;
//! `P:A:ch:C` counts per node and total; `P:A:occupied` occupied channels;
//! `P:A:pm:C` presence connection -> user; `P:A:pu:C` user -> connections;
//! `P:A:pi:C` user -> user_info; `P:A:cache:C` cache slot; `P:A:conns`
//! connections per node (quota); `P:A:online` user -> signed-in
//! connections anywhere; `P:node:N:users:A` user -> those on N (watchlists).

mod lease;
mod link;
mod scripts;
mod stream;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use self::link::Link;
pub(crate) use self::scripts::{CacheSlot, JoinReply, Transition, TransitionKind};
pub(crate) use self::wire::Envelope;

/// The `[cluster]` table of the config file; `--redis` sets `redis_url`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSettings {
    /// `redis://HOST:PORT` (or `redis+unix:///path`); `None` is single-node.
    pub redis_url: Option<String>,
    /// This node's name in logs and in Redis; a node started again under the
    /// same name first clears what its earlier run left. Default: `node`
    /// plus the process id.
    pub node_id: Option<String>,
    /// Prefix of every Redis key and channel, so clusters can share a Redis.
    pub key_prefix: String,
    /// A node whose lease is this old is dead. Default 5000.
    pub lease_ms: u64,
    /// How often a node renews its lease and looks for dead nodes. Default
    /// 1000. A dead node's members are gone within `lease_ms + heartbeat_ms`.
    pub heartbeat_ms: u64,
    /// A Redis command not answered within this fails (HTTP API: 503). Default 2000.
    pub command_timeout_ms: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            redis_url: None,
            node_id: None,
            key_prefix: "pushcheck".into(),
            lease_ms: 5000,
            heartbeat_ms: 1000,
            command_timeout_ms: 2000,
        }
    }
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The node could not join: Redis at this URL did not answer.
    #[error("cannot connect to redis at {url}")]
    Connect {
        /// The configured URL.
        url: String,
        /// Why.
        #[source]
        source: redis::RedisError,
    },
    /// Redis refused or could not be reached.
    #[error("redis command failed")]
    Redis(#[source] redis::RedisError),
    /// Redis answered something the scripts never return.
    #[error("unexpected redis reply: expected {what}")]
    Reply {
        /// What was expected.
        what: &'static str,
    },
    /// The node's command queue is full.
    #[error("the node's redis command queue is full")]
    QueueFull,
    /// The node is shutting down.
    #[error("the node's redis link has stopped")]
    Stopped,
}

/// What the hub gives the cluster: where messages go, who gets webhooks, and
/// what the node holds (for a resync).
pub(crate) trait Receiver: Send + Sync + 'static {
    /// A message from an app's channel, in the order Redis published it.
    fn deliver(&self, app: &str, message: Envelope);
    /// Transitions this node's reaper or resync caused: their webhooks.
    fn transitions(&self, transitions: Vec<Transition>);
    /// Queues a reconcile of everything this node holds (channels,
    /// presence members, signed-in users); called by the resync with the
    /// hub's locks taken in the hub, so the commands sit in the link before
    /// any later join, leave, sign-in or sign-out of the same connections.
    /// `listed` is what Redis lists as this node's channels; those the node
    /// no longer holds are reconciled to nothing.
    /// `loud` says whether the cluster saw this node's share change (see
    /// `lua/reconcile.lua`).
    fn resync(&self, listed: &[(String, String)], loud: bool) -> Vec<Reconciling>;
    /// The cluster reaped this node while it lived (it was frozen, or cut
    /// off from Redis, past its lease): everyone saw its members leave and
    /// its clients missed what was sent meanwhile, so every connection with
    /// a subscription, and every signed-in one (its watchers were told it
    /// went offline), is closed (4200, reconnect) and forgotten, rather
    /// than announced again.
    fn evict(&self);
}

/// A queued reconcile's reply.
pub(crate) type Reconciling = tokio::sync::oneshot::Receiver<redis::RedisResult<redis::Value>>;

/// One presence connection as a resync reports it: (connection, user id, user_info or "").
pub(crate) type MemberShare = (u64, String, String);

/// A node of the cluster; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    number: u64,
    name: String,
    prefix: String,
    apps: Vec<String>,
    client: redis::Client,
    link: Link,
    settings: ClusterSettings,
    faults: crate::faults::Handle,
    /// Set when the node's shared state may differ from what it holds.
    resync: AtomicBool,
    /// The Redis data set this node's share was last written to (`P:epoch`):
    /// a different one means Redis lost its data.
    epoch: parking_lot::Mutex<String>,
    wake: Notify,
}

impl Node {
    /// Connects, takes a node number (`INCR`), clears an earlier run of the
    /// same name and takes the lease. The pub/sub side starts in [`Node::start`].
    pub(crate) async fn connect(
        settings: &ClusterSettings,
        url: &str,
        apps: Vec<String>,
        faults: crate::faults::Handle,
    ) -> Result<Node, ClusterError> {
        let connect = |source| ClusterError::Connect {
            url: url.to_owned(),
            source,
        };
        let client = redis::Client::open(url).map_err(connect)?;
        let timeout = Duration::from_millis(settings.command_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(timeout, client.get_connection_manager_with_config(config))
            .await
            .map_err(|_| connect(timed_out()))?
            .map_err(connect)?;
        let link = Link::start(conn, timeout);
        let prefix = settings.key_prefix.clone();
        let number = scripts::int(
            &link
                .call(redis::Cmd::incr(format!("{prefix}:node_seq"), 1))
                .await?,
        )?
        .max(1) as u64;
        let name = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node{}", std::process::id()));
        let node = Node {
            inner: Arc::new(Inner {
                number,
                name,
                prefix,
                apps,
                client,
                link,
                settings: settings.clone(),
                faults,
                resync: AtomicBool::new(false),
                epoch: parking_lot::Mutex::new(String::new()),
                wake: Notify::new(),
            }),
        };
        node.current_epoch().await?;
        node.claim_name().await?;
        node.renew().await?;
        Ok(node)
    }

    /// This node's number: unique in the cluster for ever, the first part of
    /// its socket ids.
    pub(crate) fn number(&self) -> u64 {
        self.inner.number
    }

    /// The first part of this node's socket ids: its number, unique in the
    /// cluster (spec 1.3).
    pub(crate) fn socket_prefix(&self) -> u64 {
        if self.inner.faults.cluster_shared_socket_prefix() {
            return 1;
        }
        self.inner.number
    }

    /// The fault switches (all off unless built with `faults`).
    pub(crate) fn faults(&self) -> &crate::faults::Faults {
        &self.inner.faults
    }

    /// This node's name.
    pub(crate) fn name(&self) -> &str {
        &self.inner.name
    }

    fn key(&self, tail: &str) -> String {
        format!("{}:{tail}", self.inner.prefix)
    }

    fn app_key(&self, app: &str, tail: &str) -> String {
        format!("{}:{app}:{tail}", self.inner.prefix)
    }

    /// Subscribes to every app's channel (waiting until Redis confirms, so
    /// nothing published after this returns is missed), then spawns the
    /// stream reader and the lease keeper.
    pub(crate) async fn start(
        &self,
        receiver: Arc<dyn Receiver>,
        stop: watch::Receiver<bool>,
    ) -> Result<(), ClusterError> {
        let pubsub = stream::subscribe(self).await?;
        tokio::spawn(stream::run(
            self.clone(),
            receiver.clone(),
            pubsub,
            stop.clone(),
        ));
        tokio::spawn(lease::run(self.clone(), receiver, stop));
        Ok(())
    }

    /// Asks the lease keeper to resynchronise as soon as Redis answers.
    pub(crate) fn request_resync(&self) {
        self.inner.resync.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    /// Leaves the cluster on shutdown: clears this node's share at once, so
    /// nobody waits for its lease to expire.
    pub(crate) async fn leave_cluster(&self) -> Result<Vec<Transition>, ClusterError> {
        let number = self.inner.number.to_string();
        let out = self.reap(&number, "own").await?;
        let cmds = vec![
            redis::Cmd::del(self.key(&format!("node:{number}"))),
            redis::Cmd::srem(self.key("nodes"), &number),
        ];
        self.inner.link.call_all(cmds).await?;
        Ok(out)
    }

    /// Reads (creating it if missing) the data set's epoch; `true` when it
    /// is not the one this node last saw, i.e. Redis lost its data since.
    pub(crate) async fn current_epoch(&self) -> Result<bool, ClusterError> {
        let key = self.key("epoch");
        // Unique per creation: a node that recreates the epoch after Redis
        // lost its data must not write the value it wrote the first time, or
        // the nodes that remember that value would not see the loss (and
        // would take the restart for their own reaping).
        let nonce = std::hash::BuildHasher::hash_one(
            &std::hash::RandomState::new(),
            std::time::SystemTime::now(),
        );
        let fresh = format!("{}-{}-{nonce:x}", self.inner.number, std::process::id());
        let mut set = redis::cmd("SET");
        set.arg(&key).arg(&fresh).arg("NX");
        let values = self
            .inner
            .link
            .call_all(vec![set, redis::Cmd::get(&key)])
            .await?;
        let now = values
            .get(1)
            .map(scripts::text)
            .transpose()?
            .unwrap_or(fresh);
        let mut epoch = self.inner.epoch.lock();
        let changed = !epoch.is_empty() && *epoch != now;
        *epoch = now;
        Ok(changed)
    }

    async fn claim_name(&self) -> Result<(), ClusterError> {
        let key = self.key(&format!("name:{}", self.inner.name));
        let mut set = redis::cmd("SET");
        set.arg(&key).arg(self.inner.number).arg("GET");
        let previous = self.inner.link.call(set).await?;
        if let Ok(old) = scripts::text(&previous) {
            if self.inner.faults.cluster_restart_revives_users() {
                let number = self.inner.number.to_string();
                let mut args = vec![self.inner.prefix.as_str(), &old, &number];
                args.extend(self.inner.apps.iter().map(String::as_str));
                let adopt = scripts::eval(scripts::ADOPT_USERS, &args);
                self.inner.link.call(adopt).await?;
            }
            // The earlier run is dead or being replaced: its members go now.
            self.reap(&old, "own").await?;
            let srem = redis::Cmd::srem(self.key("nodes"), &old);
            self.inner.link.call(srem).await?;
        }
        Ok(())
    }

    /// Renews the lease; `true` when the node was not listed as live (it had
    /// been reaped, or is new).
    async fn renew(&self) -> Result<bool, ClusterError> {
        let number = self.inner.number.to_string();
        let mut set = redis::cmd("SET");
        set.arg(self.key(&format!("node:{number}")))
            .arg(&self.inner.name)
            .arg("PX")
            .arg(self.inner.settings.lease_ms);
        let raise = scripts::eval(scripts::RAISE, &[&self.inner.prefix, "node_seq", &number]);
        let values = self
            .inner
            .link
            .call_all(vec![
                set,
                redis::Cmd::sadd(self.key("nodes"), &number),
                raise,
            ])
            .await?;
        Ok(values.get(1).map(scripts::int).transpose()?.unwrap_or(0) == 1)
    }

    async fn reap(&self, node: &str, mode: &str) -> Result<Vec<Transition>, ClusterError> {
        let mut args = vec![self.inner.prefix.as_str(), node, mode];
        args.extend(self.inner.apps.iter().map(String::as_str));
        let reply = self
            .inner
            .link
            .call(scripts::eval(scripts::REAP, &args))
            .await?;
        scripts::transitions(&reply)
    }

    /// Joins a channel across the cluster; queued at once (so it is ordered
    /// against the caller's other commands), answered later.
    #[allow(clippy::too_many_arguments, reason = "one script's arguments, named")]
    pub(crate) fn join(
        &self,
        app: &str,
        channel: &str,
        conn: u64,
        member: Option<(&str, &str)>,
        limit: usize,
        counting: bool,
        cache: bool,
    ) -> impl Future<Output = Result<JoinReply, ClusterError>> + Send + 'static {
        let (user, info) = member.unwrap_or(("", ""));
        let cmd = scripts::eval(
            scripts::JOIN,
            &[
                &self.inner.prefix,
                app,
                channel,
                &self.inner.number.to_string(),
                &conn.to_string(),
                user,
                info,
                &limit.to_string(),
                flag(counting),
                flag(cache),
            ],
        );
        let queued = self.inner.link.enqueue(cmd);
        async move {
            let reply = queued?
                .await
                .map_err(|_| ClusterError::Stopped)?
                .map_err(ClusterError::Redis)?;
            scripts::join_reply(&reply)
        }
    }

    /// Leaves a channel across the cluster; `then` gets the transitions.
    pub(crate) fn leave(
        &self,
        app: &str,
        channel: &str,
        conn: u64,
        counting: bool,
        then: impl FnOnce(Vec<Transition>) + Send + 'static,
    ) {
        let cmd = scripts::eval(
            scripts::LEAVE,
            &[
                &self.inner.prefix,
                app,
                channel,
                &self.inner.number.to_string(),
                &conn.to_string(),
                flag(counting),
            ],
        );
        self.inner.link.send(cmd, move |reply| {
            if let Ok(transitions) = reply
                .map_err(ClusterError::Redis)
                .and_then(|v| scripts::transitions(&v))
            {
                then(transitions);
            }
        });
    }

    /// Queues a reconcile of one channel's share of this node (see
    /// `lua/reconcile.lua`).
    pub(crate) fn reconcile(
        &self,
        app: &str,
        channel: &str,
        counting: bool,
        count: u64,
        members: &[MemberShare],
        loud: bool,
    ) -> Result<Reconciling, ClusterError> {
        let number = self.inner.number.to_string();
        let count = count.to_string();
        let conns: Vec<String> = members
            .iter()
            .map(|(conn, _, _)| conn.to_string())
            .collect();
        let mut args = vec![
            self.inner.prefix.as_str(),
            app,
            channel,
            &number,
            flag(counting),
            &count,
            flag(loud),
        ];
        for ((_, user, info), conn) in members.iter().zip(&conns) {
            args.extend([conn.as_str(), user.as_str(), info.as_str()]);
        }
        self.inner
            .link
            .enqueue(scripts::eval(scripts::RECONCILE, &args))
    }

    /// Queues raising the app's message sequence to at least `seq` (resync:
    /// a Redis that lost its data must not number messages below what this
    /// node's subscriptions already saw, or they would be taken as old).
    pub(crate) fn raise_seq(&self, app: &str, seq: u64) -> Result<Reconciling, ClusterError> {
        let tail = format!("{app}:seq");
        let cmd = scripts::eval(
            scripts::RAISE,
            &[&self.inner.prefix, &tail, &seq.to_string()],
        );
        self.inner.link.enqueue(cmd)
    }

    /// Queues setting this node's connection count of an app (resync).
    pub(crate) fn set_connections(
        &self,
        app: &str,
        count: u32,
    ) -> Result<Reconciling, ClusterError> {
        let key = self.app_key(app, "conns");
        let cmd = if count == 0 {
            redis::Cmd::hdel(key, self.inner.number)
        } else {
            redis::Cmd::hset(key, self.inner.number, count)
        };
        self.inner.link.enqueue(cmd)
    }

    /// The channels Redis lists as held by this node, as (app, channel).
    pub(crate) async fn own_channels(&self) -> Result<Vec<(String, String)>, ClusterError> {
        let key = self.key(&format!("node:{}:chans", self.inner.number));
        let reply = self.inner.link.call(redis::Cmd::smembers(key)).await?;
        Ok(scripts::array(&reply)?
            .iter()
            .filter_map(|v| scripts::text(v).ok())
            .filter_map(|entry| {
                entry
                    .split_once('\n')
                    .map(|(a, c)| (a.to_owned(), c.to_owned()))
            })
            .collect())
    }

    /// Publishes HTTP API events in order; every one is queued before the
    /// first is answered, so a batch costs one round trip. Returns each
    /// event's sequence number (cache channels only).
    pub(crate) async fn publish(
        &self,
        app: &str,
        events: &[Outgoing<'_>],
    ) -> Result<Vec<Option<u64>>, ClusterError> {
        let channel = self.app_key(app, "events");
        let origin = self.inner.number.to_string();
        let reversed = self.inner.faults.cluster_remote_batch_reversed();
        let order: Vec<&Outgoing<'_>> = if reversed {
            events.iter().rev().collect()
        } else {
            events.iter().collect()
        };
        let cmds = order
            .into_iter()
            .map(|out| match out.cache_ttl_ms {
                None => redis::Cmd::publish(
                    &channel,
                    Envelope::Publish {
                        origin: self.inner.number,
                        channel: out.channel.to_owned(),
                        event: out.event.to_owned(),
                        data: out.data.to_owned(),
                        exclude: out.exclude.map(str::to_owned),
                        seq: None,
                    }
                    .encode(),
                ),
                Some(ttl) => scripts::eval(
                    scripts::CACHE_PUBLISH,
                    &[
                        &self.inner.prefix,
                        app,
                        out.channel,
                        &ttl.to_string(),
                        out.event,
                        out.data,
                        &origin,
                        out.exclude.unwrap_or(""),
                    ],
                ),
            })
            .collect();
        let mut values = self.inner.link.call_all(cmds).await?;
        if reversed {
            values.reverse();
        }
        events
            .iter()
            .zip(&values)
            .map(|(out, value)| match out.cache_ttl_ms {
                None => Ok(None),
                Some(_) => Ok(Some(scripts::int(value)?.max(0) as u64)),
            })
            .collect()
    }

    /// Publishes without waiting (client events, terminate fan-out).
    pub(crate) fn publish_later(&self, app: &str, envelope: &Envelope) {
        let cmd = redis::Cmd::publish(self.app_key(app, "events"), envelope.encode());
        self.inner.link.send(cmd, drop);
    }

    /// Publishes and waits until Redis took it.
    pub(crate) async fn publish_now(
        &self,
        app: &str,
        envelope: &Envelope,
    ) -> Result<(), ClusterError> {
        let cmd = redis::Cmd::publish(self.app_key(app, "events"), envelope.encode());
        self.inner.link.call(cmd).await.map(drop)
    }

    /// Counts a connection against the app's cluster-wide quota; `false`
    /// when the cluster already has `limit`.
    pub(crate) async fn admit(&self, app: &str, limit: u32) -> Result<bool, ClusterError> {
        let app = &self.quota_app(app);
        let cmd = scripts::eval(
            scripts::ADMIT,
            &[
                &self.inner.prefix,
                app,
                &self.inner.number.to_string(),
                &limit.to_string(),
            ],
        );
        Ok(scripts::int(&self.inner.link.call(cmd).await?)? == 1)
    }

    /// Gives back a connection counted by [`Node::admit`].
    pub(crate) fn release(&self, app: &str) {
        let app = &self.quota_app(app);
        let cmd = scripts::eval(
            scripts::RELEASE,
            &[&self.inner.prefix, app, &self.inner.number.to_string()],
        );
        self.inner.link.send(cmd, drop);
    }

    /// The app whose `conns` hash counts the quota: the app itself, or
    /// (fault) a per-node one.
    fn quota_app(&self, app: &str) -> String {
        if self.inner.faults.cluster_quota_per_node() {
            format!("{app}:node{}", self.inner.number)
        } else {
            app.to_owned()
        }
    }

    /// (subscription count, user count) of each channel across the
    /// cluster, in one round trip.
    pub(crate) async fn channel_stats(
        &self,
        app: &str,
        channels: &[String],
    ) -> Result<Vec<(u64, u64)>, ClusterError> {
        let cmds = channels
            .iter()
            .flat_map(|channel| {
                [
                    redis::Cmd::hget(self.app_key(app, &format!("ch:{channel}")), "total"),
                    redis::Cmd::hlen(self.app_key(app, &format!("pu:{channel}"))),
                ]
            })
            .collect();
        let values = self.inner.link.call_all(cmds).await?;
        let count = |value: &redis::Value| match value {
            redis::Value::Nil => Ok(0),
            value => scripts::int(value).map(|n| n.max(0) as u64),
        };
        values
            .chunks(2)
            .map(|pair| match pair {
                [subscriptions, users] => Ok((count(subscriptions)?, count(users)?)),
                _ => Err(ClusterError::Reply {
                    what: "two counts per channel",
                }),
            })
            .collect()
    }

    /// Occupied channels of an app across the cluster.
    pub(crate) async fn occupied(&self, app: &str) -> Result<Vec<String>, ClusterError> {
        let reply = self
            .inner
            .link
            .call(redis::Cmd::smembers(self.app_key(app, "occupied")))
            .await?;
        scripts::array(&reply)?.iter().map(scripts::text).collect()
    }

    /// Distinct users of a presence channel across the cluster.
    pub(crate) async fn users(
        &self,
        app: &str,
        channel: &str,
    ) -> Result<Vec<String>, ClusterError> {
        let reply = self
            .inner
            .link
            .call(redis::Cmd::hkeys(
                self.app_key(app, &format!("pu:{channel}")),
            ))
            .await?;
        scripts::array(&reply)?.iter().map(scripts::text).collect()
    }

    /// The shared cache slot of a channel: (event, data, ms left).
    pub(crate) async fn cached(
        &self,
        app: &str,
        channel: &str,
    ) -> Result<Option<(String, String, u64)>, ClusterError> {
        let key = self.app_key(app, &format!("cache:{channel}"));
        let values = self
            .inner
            .link
            .call_all(vec![redis::Cmd::get(&key), redis::Cmd::pttl(&key)])
            .await?;
        let [slot, ttl] = values.as_slice() else {
            return Err(ClusterError::Reply {
                what: "a cache slot and its ttl",
            });
        };
        if matches!(slot, redis::Value::Nil) {
            return Ok(None);
        }
        let slot: CacheSlot =
            serde_json::from_str(&scripts::text(slot)?).map_err(|_| ClusterError::Reply {
                what: "a cache slot",
            })?;
        let ttl = scripts::int(ttl)?;
        if ttl <= 0 {
            return Ok(None);
        }
        Ok(Some((slot.event, slot.data, ttl as u64)))
    }
}

impl Node {
    /// Records a signed-in connection of `user` across the cluster (spec
    /// 10.4); queued at once, answered later with the app's sequence number
    /// after it and which of `watched` are online anywhere.
    pub(crate) fn sign_in(
        &self,
        app: &str,
        user: &str,
        watched: &[&str],
    ) -> impl Future<Output = Result<(u64, Vec<String>), ClusterError>> + Send + 'static {
        let number = self.inner.number.to_string();
        let mut args = vec![self.inner.prefix.as_str(), app, &number, user];
        args.extend(watched);
        let queued = self
            .inner
            .link
            .enqueue(scripts::eval(scripts::SIGN_IN, &args));
        async move {
            let reply = queued?
                .await
                .map_err(|_| ClusterError::Stopped)?
                .map_err(ClusterError::Redis)?;
            let [seq, online] = scripts::array(&reply)? else {
                return Err(ClusterError::Reply {
                    what: "a sequence number and the online ids",
                });
            };
            let online = scripts::array(online)?
                .iter()
                .map(scripts::text)
                .collect::<Result<_, _>>()?;
            Ok((scripts::int(seq)?.max(0) as u64, online))
        }
    }

    /// Queues a reconcile of this node's signed-in users of an app, given
    /// as (user, connections here) (see `lua/reconcile_users.lua`).
    pub(crate) fn reconcile_users(
        &self,
        app: &str,
        users: &[(Arc<str>, usize)],
        loud: bool,
    ) -> Result<Reconciling, ClusterError> {
        let number = self.inner.number.to_string();
        let counts: Vec<String> = users.iter().map(|(_, n)| n.to_string()).collect();
        let mut args = vec![self.inner.prefix.as_str(), app, &number, flag(loud)];
        for ((user, _), n) in users.iter().zip(&counts) {
            args.extend([user.as_ref(), n.as_str()]);
        }
        self.inner
            .link
            .enqueue(scripts::eval(scripts::RECONCILE_USERS, &args))
    }

    /// Forgets a signed-in connection of `user` across the cluster.
    pub(crate) fn sign_out(&self, app: &str, user: &str) {
        let number = self.inner.number.to_string();
        let cmd = scripts::eval(scripts::SIGN_OUT, &[&self.inner.prefix, app, &number, user]);
        self.inner.link.send(cmd, drop);
    }
}

/// One HTTP API event to publish on one channel.
#[derive(Debug)]
pub(crate) struct Outgoing<'a> {
    /// Channel.
    pub(crate) channel: &'a str,
    /// Event name.
    pub(crate) event: &'a str,
    /// Event data.
    pub(crate) data: &'a str,
    /// Socket id excluded (spec 8.9).
    pub(crate) exclude: Option<&'a str>,
    /// For cache channels, the slot's time to live.
    pub(crate) cache_ttl_ms: Option<u64>,
}

fn flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "redis did not answer within the command timeout",
    ))
}
