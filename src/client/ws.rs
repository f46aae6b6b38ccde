//! ProtocolClient: one Pusher WebSocket connection driven by `expect_*` words.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::journal::{Channel, Direction, Journal, Payload};
use super::{ExpectError, TlsTrust, nothing_within};
use crate::signing::Credentials;
use crate::signing::{channel_auth, signin_auth};
use crate::wire::{ChannelKind, DecodeError, Envelope};

/// Errors of the WebSocket transport itself (not target misbehaviour).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP/TLS/WebSocket handshake failed.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// Sending a frame failed.
    #[error("cannot send a frame")]
    Send(#[source] Box<tokio_tungstenite::tungstenite::Error>),
}

/// One thing read from the socket.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A text frame holding a Pusher envelope.
    Text(Envelope),
    /// A text frame that is not a valid envelope.
    Malformed(String, DecodeError),
    /// A binary frame (never allowed, spec 2.1).
    Binary(usize),
    /// A control ping.
    Ping,
    /// A control pong.
    Pong,
    /// The connection closed; code and reason when a close frame was sent.
    Closed(Option<u16>, String),
}

impl Incoming {
    /// A short description for `actual` fields.
    pub fn describe(&self) -> String {
        match self {
            Incoming::Text(e) => e.encode(),
            Incoming::Malformed(text, err) => format!("malformed frame {text:?} ({err})"),
            Incoming::Binary(n) => format!("a binary frame of {n} bytes"),
            Incoming::Ping => "a control ping".into(),
            Incoming::Pong => "a control pong".into(),
            Incoming::Closed(Some(code), reason) => format!("close {code} {reason:?}"),
            Incoming::Closed(None, _) => "connection closed without a close code".into(),
        }
    }
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A Pusher client connection with a per-context deadline for every wait.
#[derive(Debug)]
pub struct ProtocolClient {
    ws: Stream,
    credentials: Arc<Credentials>,
    timeout: Duration,
    socket_id: String,
    established: Option<Envelope>,
    closed: Option<Incoming>,
    journal: Option<(Arc<Journal>, usize)>,
    state: Seen,
}

/// What the client has learnt from the frames it read, so that waiting words
/// can judge the frames they pass over instead of skipping them silently.
#[derive(Debug, Default)]
struct Seen {
    /// Channels whose `subscription_succeeded` arrived (ever).
    subscribed: HashSet<String>,
    /// This connection's own presence user id, per presence channel.
    own_user: HashMap<String, String>,
    /// The user this connection signed in as.
    signed_in: Option<String>,
    /// The public channel used as this connection's sentinel path.
    sentinel: Option<String>,
}

impl ProtocolClient {
    /// Opens the WebSocket without waiting for `connection_established`.
    ///
    /// An HTTP refusal of the upgrade is returned as `Ok(Err(status))`.
    pub async fn open(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
    ) -> Result<Result<ProtocolClient, u16>, ClientError> {
        ProtocolClient::open_with_tls(url, credentials, timeout, &TlsTrust::default()).await
    }

    /// [`Self::open`] trusting `tls` for `wss://` URLs.
    pub async fn open_with_tls(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
        tls: &TlsTrust,
    ) -> Result<Result<ProtocolClient, u16>, ClientError> {
        ProtocolClient::open_journaled(url, credentials, timeout, tls, None).await
    }

    /// [`Self::open_with_tls`] recording every frame into `journal`.
    pub async fn open_journaled(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
        tls: &TlsTrust,
        journal: Option<Arc<Journal>>,
    ) -> Result<Result<ProtocolClient, u16>, ClientError> {
        let journal = journal.map(|j| {
            let n = j.next_connection();
            j.record(Channel::Ws(n), Direction::Sent, Payload::Open(url.into()));
            (j, n)
        });
        // Nagle off: small frames written back to back (a subscribe, then an
        // unsubscribe that has no reply) must not wait for a delayed ACK.
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            url,
            None,
            true,
            tls.ws_connector(url),
        );
        let result = match tokio::time::timeout(timeout, connect).await {
            Ok(r) => r,
            Err(_) => Err(tokio_tungstenite::tungstenite::Error::Io(
                std::io::ErrorKind::TimedOut.into(),
            )),
        };
        match result {
            Ok((ws, _)) => Ok(Ok(ProtocolClient {
                ws,
                credentials,
                timeout,
                socket_id: String::new(),
                established: None,
                closed: None,
                journal,
                state: Seen::default(),
            })),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let status = resp.status().as_u16();
                if let Some((j, n)) = &journal {
                    let text = format!("HTTP {status} instead of an upgrade");
                    j.record(Channel::Ws(*n), Direction::Received, Payload::Http(text));
                }
                Ok(Err(status))
            }
            Err(e) => Err(ClientError::Connect {
                url: url.into(),
                source: Box::new(e),
            }),
        }
    }

    /// Opens the connection and expects `pusher:connection_established` first.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), pushcheck::client::ExpectError> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// use pushcheck::client::{ProtocolClient, RestClient};
    /// use pushcheck::target::Credentials;
    ///
    /// let creds = Credentials::new("app-id", "app-key", "app-secret");
    /// let url = "ws://127.0.0.1:6001/app/app-key?protocol=7";
    /// let timeout = Duration::from_secs(2);
    /// let mut client = ProtocolClient::connect(url, Arc::new(creds.clone()), timeout).await?;
    /// client.subscribe("private-orders").await?;
    ///
    /// let rest = RestClient::new("http://127.0.0.1:6001", creds, timeout);
    /// rest.publish(&["private-orders"], "created", "{}", serde_json::json!({}))
    ///     .await?;
    /// let event = client.expect_event("private-orders", "created").await?;
    /// assert_eq!(event.event(), "created");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
    ) -> Result<ProtocolClient, ExpectError> {
        ProtocolClient::connect_with_tls(url, credentials, timeout, &TlsTrust::default()).await
    }

    /// [`Self::connect`] trusting `tls` for `wss://` URLs.
    pub async fn connect_with_tls(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
        tls: &TlsTrust,
    ) -> Result<ProtocolClient, ExpectError> {
        ProtocolClient::connect_journaled(url, credentials, timeout, tls, None).await
    }

    /// [`Self::connect_with_tls`] recording every frame into `journal`.
    pub async fn connect_journaled(
        url: &str,
        credentials: Arc<Credentials>,
        timeout: Duration,
        tls: &TlsTrust,
        journal: Option<Arc<Journal>>,
    ) -> Result<ProtocolClient, ExpectError> {
        let opened = ProtocolClient::open_journaled(url, credentials, timeout, tls, journal);
        let mut client = match opened.await? {
            Ok(c) => c,
            Err(status) => {
                return Err(ExpectError::violation(
                    "a WebSocket upgrade",
                    format!("HTTP {status}"),
                ));
            }
        };
        let first = client.expect_next("pusher:connection_established").await?;
        let data = first.data_decoded().unwrap_or(Value::Null);
        client.socket_id = data
            .get("socket_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        client.established = Some(first);
        Ok(client)
    }

    /// The socket id from `connection_established` (empty if not connected).
    pub fn socket_id(&self) -> &str {
        &self.socket_id
    }

    /// The `connection_established` frame.
    pub fn established(&self) -> Option<&Envelope> {
        self.established.as_ref()
    }

    /// The credentials this client signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The wait deadline of each `expect_*`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Reads the next frame until `deadline`; `None` on timeout.
    pub async fn recv_until(&mut self, deadline: Instant) -> Option<Incoming> {
        if let Some(closed) = &self.closed {
            return Some(closed.clone());
        }
        let next = tokio::time::timeout_at(deadline, self.ws.next())
            .await
            .ok()?;
        let (incoming, payload) = match next {
            Some(Ok(Message::Text(t))) => {
                let payload = Payload::Text(t.as_str().to_owned());
                match Envelope::decode(t.as_str()) {
                    Ok(e) => (Incoming::Text(e), payload),
                    Err(err) => (Incoming::Malformed(t.as_str().to_owned(), err), payload),
                }
            }
            Some(Ok(Message::Binary(b))) => (Incoming::Binary(b.len()), Payload::Binary(b.len())),
            Some(Ok(Message::Ping(_))) => (Incoming::Ping, Payload::Control("ping")),
            Some(Ok(Message::Pong(_))) => (Incoming::Pong, Payload::Control("pong")),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame.map_or((None, String::new()), |f| {
                    (Some(u16::from(f.code)), f.reason.as_str().to_owned())
                });
                let payload = Payload::Close(code, reason.clone());
                (Incoming::Closed(code, reason), payload)
            }
            Some(Ok(Message::Frame(_))) => return None,
            Some(Err(_)) | None => (
                Incoming::Closed(None, String::new()),
                Payload::Close(None, String::new()),
            ),
        };
        self.note(Direction::Received, payload);
        match &incoming {
            Incoming::Closed(..) => self.closed = Some(incoming.clone()),
            Incoming::Text(e) => self.learn(e),
            _ => {}
        }
        Some(incoming)
    }

    fn note(&self, direction: Direction, payload: Payload) {
        if let Some((journal, n)) = &self.journal {
            journal.record(Channel::Ws(*n), direction, payload);
        }
    }

    fn learn(&mut self, e: &Envelope) {
        if e.event() == "pusher_internal:subscription_succeeded"
            && let Some(channel) = e.channel()
        {
            self.state.subscribed.insert(channel.to_owned());
        }
        if e.event() == "pusher:signin_success" {
            let user = e
                .data_decoded()
                .and_then(|d| {
                    d.get("user_data")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .and_then(|u| u.get("id").map(id_text));
            if user.is_some() {
                self.state.signed_in = user;
            }
        }
    }

    /// Why `e` must not arrive at this connection whatever the case checks,
    /// or `None`. Waiting words judge every frame they read with it, so a
    /// frame they pass over is never silently skipped.
    pub fn breach(&self, e: &Envelope) -> Option<String> {
        let channel = e.channel()?;
        let event = e.event();
        let answers_subscribe = matches!(
            event,
            "pusher:error" | "pusher:subscription_error" | "pusher_internal:subscription_succeeded"
        );
        // Spec 10.3 leaves open whether user events need the subscription.
        let own_user_channel = self
            .state
            .signed_in
            .as_ref()
            .is_some_and(|id| channel == format!("#server-to-user-{id}"));
        if !answers_subscribe && !own_user_channel && !self.state.subscribed.contains(channel) {
            return Some(format!(
                "a frame on {channel} before its pusher_internal:subscription_succeeded (spec 4.4)"
            ));
        }
        let presence = ChannelKind::of(channel).is_presence();
        if presence && event == "pusher_internal:subscription_count" {
            return Some(format!(
                "pusher_internal:subscription_count on presence channel {channel} (spec 7.5)"
            ));
        }
        let user = e.data_decoded().and_then(|d| d.get("user_id").cloned());
        let own = self.state.own_user.get(channel);
        if event == "pusher_internal:member_added"
            && own.is_some_and(|own| user.as_ref().and_then(Value::as_str) == Some(own))
        {
            return Some(format!(
                "member_added for this connection's own user on {channel} (spec 7.2)"
            ));
        }
        None
    }

    /// The user this connection signed in as, once `signin_success` arrived.
    pub fn signed_in(&self) -> Option<&str> {
        self.state.signed_in.as_deref()
    }

    /// The public channel this connection uses as its sentinel path, if any.
    pub fn sentinel_channel(&self) -> Option<&str> {
        self.state.sentinel.as_deref()
    }

    /// Records `channel` as this connection's sentinel path.
    pub fn set_sentinel_channel(&mut self, channel: &str) {
        self.state.sentinel = Some(channel.to_owned());
    }

    /// Reads the next frame within the client timeout.
    pub async fn recv(&mut self) -> Option<Incoming> {
        let deadline = Instant::now() + self.timeout;
        self.recv_until(deadline).await
    }

    /// Sends a JSON value as a text frame.
    pub async fn send_json(&mut self, value: &Value) -> Result<(), ClientError> {
        self.send_text(&value.to_string()).await
    }

    /// Sends raw text (for malformed-input cases).
    pub async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        self.note(Direction::Sent, Payload::Text(text.to_owned()));
        let msg = Message::Text(text.to_owned().into());
        self.ws
            .send(msg)
            .await
            .map_err(|e| ClientError::Send(Box::new(e)))
    }

    /// Sends a WebSocket control ping.
    pub async fn send_ws_ping(&mut self) -> Result<(), ClientError> {
        self.note(Direction::Sent, Payload::Control("ping"));
        let msg = Message::Ping(b"pushcheck".to_vec().into());
        self.ws
            .send(msg)
            .await
            .map_err(|e| ClientError::Send(Box::new(e)))
    }

    /// Sends `pusher:ping`.
    pub async fn send_ping(&mut self) -> Result<(), ClientError> {
        self.send_json(&json!({"event": "pusher:ping", "data": {}}))
            .await
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        self.note(Direction::Sent, Payload::Close(Some(1000), String::new()));
        // A close failure is irrelevant: the case is over with this socket.
        let _ignored = self.ws.close(None).await;
    }

    /// Closes politely and waits for the server's close frame, so that the
    /// server has seen the close before the caller goes on. Returns the
    /// server's close code, if it sent one.
    pub async fn close_handshake(mut self) -> Option<u16> {
        self.note(Direction::Sent, Payload::Close(Some(1000), String::new()));
        // A send failure means the connection is already gone: nothing to wait for.
        if self.ws.close(None).await.is_err() {
            return None;
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.recv_until(deadline).await {
                Some(Incoming::Closed(code, _)) => return code,
                Some(_) => {}
                None => return None,
            }
        }
    }

    /// Waits for the first text frame satisfying `pred`. Every frame read on
    /// the way is judged by [`Self::breach`]; a malformed or binary frame or a
    /// close is a violation, and a timeout says what was passed over.
    pub async fn expect_frame(
        &mut self,
        expected: &str,
        pred: impl Fn(&Envelope) -> bool,
    ) -> Result<Envelope, ExpectError> {
        Ok(self.expect_frame_after(expected, pred).await?.0)
    }

    /// [`Self::expect_frame`], also returning the text frames passed over.
    pub async fn expect_frame_after(
        &mut self,
        expected: &str,
        pred: impl Fn(&Envelope) -> bool,
    ) -> Result<(Envelope, Vec<Envelope>), ExpectError> {
        let deadline = Instant::now() + self.timeout;
        let mut passed: Vec<Envelope> = Vec::new();
        let shown = |passed: &[Envelope]| passed.iter().map(Envelope::encode).collect::<Vec<_>>();
        loop {
            match self.recv_until(deadline).await {
                None => {
                    let actual = seen_then(&shown(&passed), &nothing_within(self.timeout));
                    return Err(ExpectError::violation(expected, actual));
                }
                Some(Incoming::Text(e)) => {
                    if let Some(why) = self.breach(&e) {
                        let actual = format!("{why}: {}", e.encode());
                        return Err(ExpectError::violation(expected, actual));
                    }
                    if pred(&e) {
                        return Ok((e, passed));
                    }
                    passed.push(e);
                }
                Some(Incoming::Ping | Incoming::Pong) => {}
                Some(other) => {
                    let actual = seen_then(&shown(&passed), &other.describe());
                    return Err(ExpectError::violation(expected, actual));
                }
            }
        }
    }

    /// The next text frame must be `event` (control frames are skipped).
    pub async fn expect_next(&mut self, event: &str) -> Result<Envelope, ExpectError> {
        let expected = format!("event {event} as the next frame");
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.recv_until(deadline).await {
                None => {
                    return Err(ExpectError::violation(
                        expected,
                        nothing_within(self.timeout),
                    ));
                }
                Some(Incoming::Ping | Incoming::Pong) => {}
                Some(Incoming::Text(e)) if e.event() == event => {
                    return match self.breach(&e) {
                        Some(why) => Err(ExpectError::violation(
                            expected,
                            format!("{why}: {}", e.encode()),
                        )),
                        None => Ok(e),
                    };
                }
                Some(other) => return Err(ExpectError::violation(expected, other.describe())),
            }
        }
    }

    /// Waits for `event` on `channel`; frames passed over are judged.
    pub async fn expect_event(
        &mut self,
        channel: &str,
        event: &str,
    ) -> Result<Envelope, ExpectError> {
        let expected = format!("event {event} on {channel}");
        self.expect_frame(&expected, |e| {
            e.event() == event && e.channel() == Some(channel)
        })
        .await
    }

    /// Waits for a `pusher:error` frame.
    pub async fn expect_error(&mut self) -> Result<Envelope, ExpectError> {
        self.expect_frame("a pusher:error frame", |e| e.event() == "pusher:error")
            .await
    }

    /// Waits until the connection closes; returns the code (if any) and reason.
    pub async fn expect_close(&mut self) -> Result<(Option<u16>, String), ExpectError> {
        let deadline = Instant::now() + self.timeout;
        self.expect_close_until(deadline).await
    }

    /// [`Self::expect_close`] with an explicit deadline (for slow cases);
    /// text frames before the close are judged.
    pub async fn expect_close_until(
        &mut self,
        deadline: Instant,
    ) -> Result<(Option<u16>, String), ExpectError> {
        let waited = deadline.saturating_duration_since(Instant::now());
        let mut passed = Vec::new();
        loop {
            match self.recv_until(deadline).await {
                None => {
                    let actual = seen_then(&passed, &nothing_within(waited));
                    return Err(ExpectError::violation("the connection to close", actual));
                }
                Some(Incoming::Closed(code, reason)) => return Ok((code, reason)),
                Some(Incoming::Text(e)) => {
                    if let Some(why) = self.breach(&e) {
                        let actual = format!("{why}: {}", e.encode());
                        return Err(ExpectError::violation("the connection to close", actual));
                    }
                    passed.push(e.encode());
                }
                Some(_) => {}
            }
        }
    }

    /// The auth value for `channel` signed with this client's credentials.
    pub fn auth_for(&self, channel: &str, channel_data: Option<&str>) -> String {
        let c = &self.credentials;
        channel_auth(&c.key, &c.secret, &self.socket_id, channel, channel_data)
    }

    /// Sends `pusher:subscribe` with exactly these fields.
    pub async fn send_subscribe(
        &mut self,
        channel: &str,
        auth: Option<&str>,
        channel_data: Option<&str>,
    ) -> Result<(), ClientError> {
        let mut data = json!({"channel": channel});
        if let Some(auth) = auth {
            data["auth"] = json!(auth);
        }
        if let Some(cd) = channel_data {
            data["channel_data"] = json!(cd);
        }
        let own = match channel_data {
            Some(cd) => serde_json::from_str::<Value>(cd)
                .ok()
                .and_then(|v| v.get("user_id").map(id_text)),
            None => self.state.signed_in.clone(),
        };
        if let (Some(own), true) = (own, ChannelKind::of(channel).is_presence()) {
            self.state.own_user.insert(channel.to_owned(), own);
        }
        self.send_json(&json!({"event": "pusher:subscribe", "data": data}))
            .await
    }

    /// Subscribes with a correct signature (presence: a generated member) and
    /// expects `pusher_internal:subscription_succeeded`.
    pub async fn subscribe(&mut self, channel: &str) -> Result<Envelope, ExpectError> {
        if ChannelKind::of(channel).is_presence() {
            let data =
                json!({"user_id": format!("u-{}", self.socket_id), "user_info": {}}).to_string();
            return self.subscribe_presence(channel, &data).await;
        }
        let auth = ChannelKind::of(channel)
            .needs_auth()
            .then(|| self.auth_for(channel, None));
        self.send_subscribe(channel, Some(auth.as_deref().unwrap_or("")), None)
            .await?;
        self.expect_subscribed(channel).await
    }

    /// Subscribes to a presence channel with this exact `channel_data`, correctly signed.
    pub async fn subscribe_presence(
        &mut self,
        channel: &str,
        channel_data: &str,
    ) -> Result<Envelope, ExpectError> {
        let auth = self.auth_for(channel, Some(channel_data));
        self.send_subscribe(channel, Some(&auth), Some(channel_data))
            .await?;
        self.expect_subscribed(channel).await
    }

    /// Expects `subscription_succeeded` on `channel`; an error frame first is a violation.
    pub async fn expect_subscribed(&mut self, channel: &str) -> Result<Envelope, ExpectError> {
        let expected = format!("pusher_internal:subscription_succeeded on {channel}");
        let e = self
            .expect_frame(&expected, |e| {
                e.event() == "pusher:error"
                    || (e.event() == "pusher_internal:subscription_succeeded"
                        && e.channel() == Some(channel))
            })
            .await?;
        if e.event() == "pusher:error" {
            return Err(ExpectError::violation(expected, e.encode()));
        }
        Ok(e)
    }

    /// Sends a client event.
    pub async fn trigger(
        &mut self,
        channel: &str,
        event: &str,
        data: Value,
    ) -> Result<(), ClientError> {
        self.send_json(&json!({"event": event, "channel": channel, "data": data}))
            .await
    }

    /// Sends `pusher:unsubscribe`.
    pub async fn unsubscribe(&mut self, channel: &str) -> Result<(), ClientError> {
        self.send_json(&json!({"event": "pusher:unsubscribe", "data": {"channel": channel}}))
            .await
    }

    /// Sends a correctly signed `pusher:signin` with this `user_data` text.
    pub async fn send_signin(&mut self, user_data: &str) -> Result<(), ClientError> {
        let c = &self.credentials;
        let auth = signin_auth(&c.key, &c.secret, &self.socket_id, user_data);
        self.send_signin_raw(&auth, user_data).await
    }

    /// Sends `pusher:signin` with an arbitrary auth value.
    pub async fn send_signin_raw(
        &mut self,
        auth: &str,
        user_data: &str,
    ) -> Result<(), ClientError> {
        let data = json!({"auth": auth, "user_data": user_data});
        self.send_json(&json!({"event": "pusher:signin", "data": data}))
            .await
    }

    /// Signs in and expects `pusher:signin_success`.
    pub async fn signin(&mut self, user_data: &str) -> Result<Envelope, ExpectError> {
        self.send_signin(user_data).await?;
        let e = self
            .expect_frame("pusher:signin_success", |e| {
                e.event() == "pusher:signin_success" || e.event() == "pusher:error"
            })
            .await?;
        if e.event() == "pusher:error" {
            return Err(ExpectError::violation("pusher:signin_success", e.encode()));
        }
        Ok(e)
    }
}

/// A JSON id as the text servers report it: strings as they are, numbers as their JSON text.
fn id_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// `actual` text for a failed wait: what it passed over, then how it ended.
fn seen_then(passed: &[String], ending: &str) -> String {
    if passed.is_empty() {
        return ending.to_owned();
    }
    let shown: Vec<&str> = passed
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(String::as_str)
        .collect();
    let more = passed.len().saturating_sub(shown.len());
    let more = if more > 0 {
        format!("{more} earlier frames, then ")
    } else {
        String::new()
    };
    format!("{ending}; passed over {more}{}", shown.join(" "))
}
