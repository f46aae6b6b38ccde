//! One connection's protocol state machine, sans I/O (DESIGN "Reference server: layers").
//!
//! The transport calls [`Session::on_text`] for each text frame,
//! [`Session::on_activity`] for control frames, and [`Session::on_tick`] when
//! [`Session::next_deadline`] passes. Each returns [`Action`]s for the
//! transport to carry out. Time is an argument, so tests pass instants.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::auth::{self, AuthError};
use super::channel::{Access, ChannelKind, SERVER_TO_USER_PREFIX, validate_channel_name};
use super::close::CloseCode;
use super::frame::Frame;
use super::message::{self, Inbound, SigninData, SubscribeData, UnsubscribeData};
use super::refusal::{ClientEventRefusal, MemberRefusal, Refusal, SigninRefusal, SubscribeRefusal};
use crate::config::AppConfig;
use crate::faults::Handle;

/// Something the transport must do for the session.
#[derive(Debug)]
pub enum Action {
    /// Send this frame to this connection.
    Send(Frame),
    /// Refuse what the client asked: a `pusher:error` frame (spec 2.2); the
    /// connection stays open.
    Refuse(Refusal),
    /// Add the connection to a channel; the hub answers with the success frames.
    Join(Join),
    /// Remove the connection from a channel.
    Leave {
        /// The channel.
        channel: String,
    },
    /// Relay a client event to the channel's other subscribers.
    ClientEvent(ClientEvent),
    /// The connection signed in (spec 5.3).
    SignedIn(SignedIn),
    /// Send `pusher:ping` and a WebSocket ping (spec 3.3).
    Ping,
    /// Close the connection.
    Close(CloseCode),
}

/// A subscription the session has authorized.
#[derive(Debug)]
pub struct Join {
    /// Channel name.
    pub channel: String,
    /// Its kind.
    pub kind: ChannelKind,
    /// The presence member, for presence channels.
    pub member: Option<Member>,
}

/// A presence member as authorized (spec 7.1).
#[derive(Clone, Debug)]
pub struct Member {
    /// Canonical user id (numbers become their JSON text).
    pub user_id: Arc<str>,
    /// The member's `user_info` object, as received.
    pub user_info: Option<Arc<RawValue>>,
}

/// A client event accepted for relay (spec 6).
#[derive(Debug)]
pub struct ClientEvent {
    /// Channel.
    pub channel: String,
    /// Event name.
    pub event: String,
    /// The frame for the other subscribers, encoded once.
    pub frame: Frame,
    /// `data` as a string, for the `client_event` webhook (spec 9.2).
    pub data: String,
    /// The sender's presence user id.
    pub user_id: Option<Arc<str>>,
}

/// A completed sign-in (spec 5.3, 10.4).
#[derive(Debug)]
pub struct SignedIn {
    /// The user id.
    pub user_id: Arc<str>,
    /// Watched user ids, truncated to the app's limit.
    pub watchlist: Vec<String>,
}

/// A live subscription: the presence user id it joined as, if any.
#[derive(Debug)]
struct Subscription {
    user_id: Option<Arc<str>>,
}

#[derive(Debug)]
struct User {
    id: Arc<str>,
    user_info: Option<Arc<RawValue>>,
}

/// Token bucket for client events (spec 6.2, 13.8).
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Session {
    socket_id: Arc<str>,
    app: Arc<AppConfig>,
    faults: Handle,
    activity_timeout: Duration,
    pong_timeout: Duration,
    last_inbound: Instant,
    ping_sent: Option<Instant>,
    subscriptions: HashMap<String, Subscription>,
    user: Option<User>,
    bucket: Bucket,
}

/// Liveness timers for a session (spec 3.3).
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// Inbound silence before the server pings.
    pub activity_timeout: Duration,
    /// Wait after the ping before closing 4201.
    pub pong_timeout: Duration,
}

fn refuse(refusal: impl Into<Refusal>) -> Action {
    Action::Refuse(refusal.into())
}

impl Session {
    /// A new session for an accepted connection.
    pub fn new(
        socket_id: Arc<str>,
        app: Arc<AppConfig>,
        faults: Handle,
        timers: Timers,
        now: Instant,
    ) -> Session {
        let tokens = f64::from(app.client_event_rate);
        Session {
            socket_id,
            app,
            faults,
            activity_timeout: timers.activity_timeout,
            pong_timeout: timers.pong_timeout,
            last_inbound: now,
            ping_sent: None,
            subscriptions: HashMap::new(),
            user: None,
            bucket: Bucket {
                tokens,
                updated: now,
            },
        }
    }

    /// This connection's socket id.
    pub fn socket_id(&self) -> &Arc<str> {
        &self.socket_id
    }

    /// The signed-in user id, if any.
    pub fn user_id(&self) -> Option<&Arc<str>> {
        self.user.as_ref().map(|u| &u.id)
    }

    /// Channels this connection is subscribed to.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.subscriptions.keys().map(String::as_str)
    }

    /// Drops a subscription the hub refused (e.g. presence member limit).
    pub fn forget(&mut self, channel: &str) {
        self.subscriptions.remove(channel);
    }

    /// Any inbound frame (text or control) is proof of life (spec 3.1).
    pub fn on_activity(&mut self, now: Instant) {
        self.last_inbound = now;
        self.ping_sent = None;
    }

    /// When [`Session::on_tick`] must next be called.
    pub fn next_deadline(&self) -> Instant {
        match self.ping_sent {
            Some(sent) => sent + self.pong_timeout,
            None => self.last_inbound + self.activity_timeout,
        }
    }

    /// Pings a silent client; closes 4201 when it stays silent (spec 3.3).
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        match self.ping_sent {
            Some(sent) if now >= sent + self.pong_timeout => {
                vec![Action::Close(CloseCode::PongTimeout)]
            }
            None if now >= self.last_inbound + self.activity_timeout => {
                self.ping_sent = Some(now);
                vec![Action::Ping]
            }
            _ => Vec::new(),
        }
    }

    /// Handles one text frame from the client.
    pub fn on_text(&mut self, text: &str, now: Instant) -> Vec<Action> {
        if !self.faults.only_pings_keep_alive() || text.contains("pusher:ping") {
            self.on_activity(now);
        }
        let inbound = match Inbound::parse(text) {
            Ok(inbound) => inbound,
            Err(_) if self.faults.close_on_malformed() => {
                return vec![Action::Close(CloseCode::Reconnect)];
            }
            Err(e) => return vec![refuse(e)],
        };
        match inbound.event.as_ref() {
            "pusher:subscribe"
                if self.faults.refuse_string_data()
                    && inbound.data.is_some_and(|d| d.get().starts_with('"')) =>
            {
                vec![refuse(message::DecodeError::NotObject {
                    event: "pusher:subscribe".into(),
                })]
            }
            "pusher:ping" => vec![Action::Send(message::pong())],
            "pusher:pong" => Vec::new(),
            "pusher:subscribe" => match inbound.data_as::<SubscribeData>() {
                Ok(data) => self.subscribe(data),
                Err(e) => vec![refuse(e)],
            },
            "pusher:unsubscribe" => match inbound.data_as::<UnsubscribeData>() {
                Ok(data) => self.unsubscribe(data.channel),
                Err(e) => vec![refuse(e)],
            },
            "pusher:signin" => match inbound.data_as::<SigninData>() {
                Ok(data) => self.signin(&data),
                Err(e) => vec![refuse(e)],
            },
            name if name.starts_with("client-")
                || self.faults.relay_any_event_name()
                || (self.faults.relay_reserved_client_events()
                    && (name.starts_with("pusher:") || name.starts_with("pusher_internal:"))) =>
            {
                self.client_event(&inbound, now)
            }
            name => vec![refuse(Refusal::UnsupportedEvent {
                name: name.to_owned(),
            })],
        }
    }

    fn subscribe(&mut self, data: SubscribeData) -> Vec<Action> {
        let channel = data.channel;
        if let (false, Err(reason)) = (
            self.faults.accept_bad_channel_names()
                || (self.faults.accept_hash_channels() && channel.starts_with('#')),
            validate_channel_name(&channel),
        ) {
            return vec![refuse(SubscribeRefusal::InvalidName { channel, reason })];
        }
        if (self.faults.narrow_channel_names()
            && !channel
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            || self.faults.channel_names_164() && channel.len() > 164
        {
            let reason = crate::protocol::channel::ChannelNameError::BadCharacter;
            return vec![refuse(SubscribeRefusal::InvalidName { channel, reason })];
        }
        if self.subscriptions.contains_key(&channel) && !self.faults.allow_duplicate_subscribe() {
            return vec![refuse(SubscribeRefusal::Duplicate { channel })];
        }
        let limit = self.app.max_subscriptions_per_connection;
        if self.subscriptions.len() >= limit && !self.subscriptions.contains_key(&channel) {
            return vec![refuse(SubscribeRefusal::TooManySubscriptions { limit })];
        }
        let infix = channel.find("private-").or(channel.find("presence-"));
        let kind = match infix.or(channel.find("cache-")) {
            Some(at) if self.faults.unanchored_prefixes() => ChannelKind::of(&channel[at..]),
            _ if self.faults.loose_prefixes() => loose_kind(&channel),
            _ => ChannelKind::of(&channel),
        };
        let member = match self.authorize(
            &channel,
            kind,
            data.auth.as_deref(),
            data.channel_data.as_deref(),
        ) {
            Ok(member) => member,
            Err(refusal)
                if self.faults.leak_failed_subscriber() && kind.access != Access::Presence =>
            {
                self.subscriptions
                    .insert(channel.clone(), Subscription { user_id: None });
                return vec![
                    refuse(refusal),
                    Action::Join(Join {
                        channel,
                        kind,
                        member: None,
                    }),
                ];
            }
            Err(refusal)
                if self.faults.forged_presence_member() && kind.access == Access::Presence =>
            {
                let forged = data
                    .channel_data
                    .as_deref()
                    .map(|t| self.presence_member(t));
                let Some(Ok(member)) = forged else {
                    return vec![refuse(refusal)];
                };
                let user_id = Some(member.user_id.clone());
                self.subscriptions
                    .insert(channel.clone(), Subscription { user_id });
                return vec![
                    refuse(refusal),
                    Action::Join(Join {
                        channel,
                        kind,
                        member: Some(member),
                    }),
                ];
            }
            Err(refusal) if self.faults.close_on_refused_subscribe() => {
                return vec![refuse(refusal), Action::Close(CloseCode::Reconnect)];
            }
            Err(refusal) => return vec![refuse(refusal)],
        };
        let user_id = member.as_ref().map(|m| m.user_id.clone());
        self.subscriptions
            .insert(channel.clone(), Subscription { user_id });
        vec![Action::Join(Join {
            channel,
            kind,
            member,
        })]
    }

    /// Checks the subscription's right to the channel; returns the presence member.
    fn authorize(
        &self,
        channel: &str,
        kind: ChannelKind,
        auth: Option<&str>,
        channel_data: Option<&str>,
    ) -> Result<Option<Member>, SubscribeRefusal> {
        let channel_name = || channel.to_owned();
        match kind.access {
            Access::Public if self.faults.public_needs_auth_field() && auth.is_none() => {
                return Err(SubscribeRefusal::AuthFieldRequired {
                    channel: channel_name(),
                });
            }
            Access::Public => return Ok(None),
            Access::ServerToUser if self.faults.accept_hash_channels() => return Ok(None),
            Access::ServerToUser => {
                let wanted = &channel[SERVER_TO_USER_PREFIX.len()..];
                return match self.user_id() {
                    Some(id) if id.as_ref() == wanted && !self.faults.refuse_server_to_user() => {
                        Ok(None)
                    }
                    _ => Err(SubscribeRefusal::NotSignedInAs {
                        channel: channel_name(),
                    }),
                };
            }
            Access::Private | Access::Encrypted | Access::Presence => {}
        }
        let unsigned_ok = self.faults.cache_variants_unsigned() && kind.cache;
        if !unsigned_ok {
            self.check_signature(channel, auth, channel_data)?;
        }
        if kind.access != Access::Presence {
            return Ok(None);
        }
        match channel_data {
            Some(text) => Ok(Some(self.presence_member(text)?)),
            None => match &self.user {
                Some(user) if !self.faults.ignore_signin_identity() => Ok(Some(Member {
                    user_id: user.id.clone(),
                    user_info: user.user_info.clone(),
                })),
                Some(_) | None => Err(SubscribeRefusal::PresenceWithoutMember {
                    channel: channel_name(),
                }),
            },
        }
    }

    fn check_signature(
        &self,
        channel: &str,
        auth: Option<&str>,
        channel_data: Option<&str>,
    ) -> Result<(), AuthError> {
        if self.faults.accept_missing_auth() && auth.is_none_or(str::is_empty) {
            return Ok(());
        }
        let auth = auth
            .filter(|a| !a.is_empty())
            .ok_or_else(|| AuthError::Missing {
                channel: channel.to_owned(),
            })?;
        if self.faults.accept_any_signature() {
            return Ok(());
        }
        let signed_data = channel_data.filter(|_| !self.faults.presence_signature_without_data());
        let signed = auth::channel_string(&self.socket_id, channel, signed_data);
        let auth = match auth.split_once(':') {
            Some((_, sig)) if self.faults.ignore_auth_key_part() => {
                format!("{}:{sig}", self.app.key)
            }
            _ if self.faults.hex_case_insensitive() => auth.to_ascii_lowercase(),
            _ if self.faults.refuse_every_signature() => String::new(),
            _ => auth.to_owned(),
        };
        auth::verify(&self.app.key, &self.app.secret, &auth, &signed)
    }

    /// Parses presence `channel_data` and applies the member limits (spec 7.1, 7.3).
    fn presence_member(&self, text: &str) -> Result<Member, MemberRefusal> {
        #[derive(Deserialize)]
        struct ChannelData {
            user_id: serde_json::Value,
            #[serde(default)]
            user_info: Option<Box<RawValue>>,
        }
        let data: ChannelData = message::from_object(text).map_err(MemberRefusal::NotJson)?;
        let user_id = match data.user_id {
            serde_json::Value::String(s) if !s.is_empty() => s,
            serde_json::Value::Number(n) if !self.faults.refuse_numeric_user_id() => n.to_string(),
            _ => return Err(MemberRefusal::BadUserId),
        };
        let limit = self.app.max_presence_user_id_chars;
        if user_id.chars().count() > limit {
            return Err(MemberRefusal::UserIdTooLong { limit });
        }
        let user_info = match data.user_info {
            Some(raw) if raw.get() == "null" => None,
            Some(raw) if !raw.get().starts_with('{') && !self.faults.accept_any_user_info() => {
                return Err(MemberRefusal::UserInfoNotObject);
            }
            Some(raw) if raw.get().len() > self.app.max_presence_user_info_bytes => {
                return Err(MemberRefusal::UserInfoTooLarge {
                    limit: self.app.max_presence_user_info_bytes,
                });
            }
            other => other,
        };
        Ok(Member {
            user_id: user_id.into(),
            user_info: user_info.map(Arc::from),
        })
    }

    fn unsubscribe(&mut self, channel: String) -> Vec<Action> {
        if self.faults.ignore_unsubscribe() {
            return Vec::new();
        }
        if self.subscriptions.remove(&channel).is_some() {
            vec![Action::Leave { channel }]
        } else if self.faults.close_on_unknown_unsubscribe() {
            vec![Action::Close(CloseCode::Reconnect)]
        } else {
            vec![refuse(Refusal::NotSubscribed { channel })]
        }
    }

    fn signin(&mut self, data: &SigninData) -> Vec<Action> {
        if !self.app.user_authentication {
            return vec![refuse(SigninRefusal::Disabled)];
        }
        match self.check_signin(data) {
            Ok((user, watchlist)) => self.complete_signin(data, user, watchlist),
            Err(refusal) => vec![refuse(refusal)],
        }
    }

    fn check_signin(&self, data: &SigninData) -> Result<(User, Vec<String>), SigninRefusal> {
        #[derive(Deserialize)]
        struct UserData {
            #[serde(default)]
            id: serde_json::Value,
            #[serde(default)]
            user_info: Option<Box<RawValue>>,
            #[serde(default)]
            watchlist: Option<Vec<String>>,
        }
        if !self.faults.accept_any_signature() {
            let signed = auth::signin_string(&self.socket_id, &data.user_data);
            auth::verify(&self.app.key, &self.app.secret, &data.auth, &signed)?;
        }
        let parsed: UserData =
            message::from_object(&data.user_data).map_err(SigninRefusal::BadUserData)?;
        let id = match parsed.id {
            serde_json::Value::String(s) if !s.is_empty() => s,
            other if self.faults.signin_id_unchecked() => other.to_string(),
            _ => return Err(SigninRefusal::BadId),
        };
        let current = self.user.as_ref().filter(|u| u.id.as_ref() != id);
        if let Some(current) = current.filter(|_| !self.faults.allow_resignin_other_user()) {
            return Err(SigninRefusal::OtherUser {
                current: current.id.to_string(),
            });
        }
        let user_info = parsed
            .user_info
            .filter(|raw| raw.get().starts_with('{'))
            .map(Arc::from);
        Ok((
            User {
                id: id.into(),
                user_info,
            },
            parsed.watchlist.unwrap_or_default(),
        ))
    }

    fn complete_signin(
        &mut self,
        data: &SigninData,
        user: User,
        mut watchlist: Vec<String>,
    ) -> Vec<Action> {
        let user_id = user.id.clone();
        self.user = Some(user);
        let mut actions = vec![Action::Send(message::signin_success(&data.user_data))];
        let limit = self.app.max_watchlist;
        if watchlist.len() > limit {
            watchlist.truncate(limit);
            actions.push(refuse(Refusal::WatchlistTruncated { limit }));
        }
        if !self.app.watchlist || self.faults.ignore_watchlist() {
            watchlist.clear();
        }
        actions.push(Action::SignedIn(SignedIn { user_id, watchlist }));
        actions
    }

    fn client_event(&mut self, inbound: &Inbound<'_>, now: Instant) -> Vec<Action> {
        match self.check_client_event(inbound, now) {
            Ok(action) => vec![action],
            Err(refusal) => vec![refuse(refusal)],
        }
    }

    fn check_client_event(
        &mut self,
        inbound: &Inbound<'_>,
        now: Instant,
    ) -> Result<Action, ClientEventRefusal> {
        if !self.app.client_events && !self.faults.ignore_client_events_setting() {
            return Err(ClientEventRefusal::Disabled);
        }
        let channel = inbound
            .channel
            .as_deref()
            .ok_or(ClientEventRefusal::NoChannel)?;
        let kind = ChannelKind::of(channel);
        if !kind.allows_client_events() && !self.faults.client_events_on_public() {
            return Err(ClientEventRefusal::WrongChannelKind {
                channel: channel.to_owned(),
            });
        }
        let user_id = match self.subscriptions.get(channel) {
            Some(sub) => sub.user_id.clone(),
            None if self.faults.allow_unsubscribed_client_events() => None,
            None => {
                return Err(ClientEventRefusal::NotSubscribed {
                    channel: channel.to_owned(),
                });
            }
        };
        let size = match inbound.data {
            Some(d) if self.faults.payload_limit_in_chars() => d.get().chars().count(),
            Some(d) => d.get().len(),
            None => 0,
        };
        let limit = self.app.max_event_payload_bytes;
        if size > limit {
            return Err(ClientEventRefusal::TooLarge { size, limit });
        }
        if !self.take_token(now) {
            return Err(ClientEventRefusal::RateLimited);
        }
        Ok(Action::ClientEvent(
            self.build_client_event(inbound, channel, user_id),
        ))
    }

    fn build_client_event(
        &self,
        inbound: &Inbound<'_>,
        channel: &str,
        user_id: Option<Arc<str>>,
    ) -> ClientEvent {
        let event = inbound.event.as_ref();
        let user_id = user_id.filter(|_| !self.faults.no_client_event_user_id());
        let spoofed = inbound.user_id.as_deref().filter(|_| {
            (self.faults.keep_client_user_id() && user_id.is_some())
                || self.faults.relay_client_user_id()
        });
        let frame =
            message::client_event(channel, event, inbound.data, spoofed.or(user_id.as_deref()));
        let data = match inbound.data {
            Some(raw) if raw.get().starts_with('"') => {
                serde_json::from_str(raw.get()).unwrap_or_default()
            }
            Some(raw) => raw.get().to_owned(),
            None => String::new(),
        };
        ClientEvent {
            channel: channel.to_owned(),
            event: event.to_owned(),
            frame,
            data,
            user_id,
        }
    }

    fn take_token(&mut self, now: Instant) -> bool {
        let rate = f64::from(self.app.client_event_rate);
        let elapsed = now
            .saturating_duration_since(self.bucket.updated)
            .as_secs_f64();
        self.bucket.tokens = (self.bucket.tokens + elapsed * rate).min(rate);
        self.bucket.updated = now;
        if self.bucket.tokens >= 1.0 {
            self.bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The `loose_prefixes` fault's classification: lower-cased, and a
/// `private` prefix without its dash still counts.
fn loose_kind(channel: &str) -> ChannelKind {
    let lower = channel.to_ascii_lowercase();
    match lower.strip_prefix("private") {
        Some(rest) if !rest.starts_with('-') => ChannelKind::of(&format!("private-{rest}")),
        _ => ChannelKind::of(&lower),
    }
}

#[cfg(test)]
mod tests;
