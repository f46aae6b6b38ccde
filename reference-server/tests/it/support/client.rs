//! A raw Pusher protocol client over tokio-tungstenite that asserts on JSON values.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

use super::sign::{channel_auth, signin_auth};
use super::{WAIT, data_of};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One WebSocket connection to the server.
#[derive(Debug)]
pub(crate) struct Client {
    ws: Ws,
    socket_id: String,
    key: String,
    secret: String,
}

impl Client {
    /// Connects and reads `pusher:connection_established`, which must come first.
    pub(crate) async fn connect(url: &str, key: &str, secret: &str) -> Client {
        let mut client = Client::open(url, key, secret).await;
        let hello = client.recv_json().await;
        assert_eq!(
            hello["event"], "pusher:connection_established",
            "first frame: {hello}"
        );
        let data = data_of(&hello);
        client.socket_id = data["socket_id"]
            .as_str()
            .expect("socket_id is a string")
            .to_owned();
        client
    }

    /// Opens the WebSocket without reading.
    pub(crate) async fn open(url: &str, key: &str, secret: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, connect_async_with_config(url, None, true))
            .await
            .expect("upgrade within the deadline")
            .expect("upgrade succeeds");
        Client {
            ws,
            socket_id: String::new(),
            key: key.to_owned(),
            secret: secret.to_owned(),
        }
    }

    /// Wraps a stream opened elsewhere (e.g. over a socket with a small buffer).
    pub(crate) async fn from_stream(ws: Ws) -> Client {
        let mut client = Client {
            ws,
            socket_id: String::new(),
            key: super::KEY.into(),
            secret: super::SECRET.into(),
        };
        let hello = client.recv_json().await;
        client.socket_id = data_of(&hello)["socket_id"]
            .as_str()
            .expect("socket_id")
            .to_owned();
        client
    }

    /// The socket id from `connection_established`.
    pub(crate) fn socket_id(&self) -> &str {
        &self.socket_id
    }

    /// Sends one WebSocket message.
    pub(crate) async fn send_message(&mut self, message: Message) {
        self.ws.send(message).await.expect("send to server");
    }

    /// Sends a text frame.
    pub(crate) async fn send_text(&mut self, text: &str) {
        self.send_message(Message::text(text)).await;
    }

    /// Sends a JSON value as a text frame.
    pub(crate) async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// The next message of any kind; panics on timeout or end of stream.
    pub(crate) async fn recv_message(&mut self) -> Message {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(e))) => panic!("socket error while waiting for a frame: {e}"),
            Ok(None) => panic!("stream ended while waiting for a frame"),
            Err(_) => panic!("nothing within {WAIT:?}"),
        }
    }

    /// The next text frame as JSON, skipping control frames; a close panics.
    pub(crate) async fn recv_json(&mut self) -> Value {
        loop {
            match self.recv_message().await {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("server frames are JSON");
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads until an event called `name` arrives; returns the frame.
    pub(crate) async fn expect_event(&mut self, name: &str) -> Value {
        loop {
            let frame = self.recv_json().await;
            if frame["event"] == name {
                return frame;
            }
        }
    }

    /// The next text frame, which must be the event `name`.
    pub(crate) async fn expect_next(&mut self, name: &str) -> Value {
        let frame = self.recv_json().await;
        assert_eq!(frame["event"], name, "unexpected frame: {frame}");
        frame
    }

    /// The `data` of the next `pusher:error`, read as the next frame.
    pub(crate) async fn expect_error(&mut self) -> Value {
        data_of(&self.expect_next("pusher:error").await)
    }

    /// Sends `pusher:ping` and returns every frame before the `pusher:pong`.
    /// The pong goes through the same queue as everything else, so whatever was
    /// queued for this connection before the ping is in the result (STYLE 2.3).
    pub(crate) async fn barrier(&mut self) -> Vec<Value> {
        self.send_json(&json!({"event": "pusher:ping", "data": {}}))
            .await;
        let mut before = Vec::new();
        loop {
            let frame = self.recv_json().await;
            if frame["event"] == "pusher:pong" {
                return before;
            }
            before.push(frame);
        }
    }

    /// Proves nothing is queued for this connection.
    pub(crate) async fn expect_quiet(&mut self) {
        let frames = self.barrier().await;
        assert!(frames.is_empty(), "expected no frames, got {frames:?}");
    }

    /// Reads until the server's close frame; returns its code and reason.
    pub(crate) async fn expect_close(&mut self) -> (u16, String) {
        loop {
            match self.recv_message().await {
                Message::Close(Some(frame)) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Message::Close(None) => panic!("close frame without a code"),
                _ => {}
            }
        }
    }

    /// Closes the connection and waits for the server's close reply.
    pub(crate) async fn close(mut self) {
        self.send_message(Message::Close(None)).await;
        while !matches!(self.recv_message().await, Message::Close(_)) {}
    }

    /// Sends `pusher:unsubscribe`.
    pub(crate) async fn unsubscribe(&mut self, channel: &str) {
        self.send_json(&json!({"event": "pusher:unsubscribe", "data": {"channel": channel}}))
            .await;
    }

    /// Sends `pusher:subscribe` with `data` as given.
    pub(crate) async fn send_subscribe(&mut self, data: Value) {
        self.send_json(&json!({"event": "pusher:subscribe", "data": data}))
            .await;
    }

    /// Subscribes to a channel that needs no auth and waits for success.
    pub(crate) async fn subscribe(&mut self, channel: &str) -> Value {
        self.send_subscribe(json!({"channel": channel, "auth": ""}))
            .await;
        self.expect_succeeded(channel).await
    }

    /// Subscribes with a valid private signature and waits for success.
    pub(crate) async fn subscribe_private(&mut self, channel: &str) -> Value {
        let auth = self.auth(channel, None);
        self.send_subscribe(json!({"channel": channel, "auth": auth}))
            .await;
        self.expect_succeeded(channel).await
    }

    /// Joins a presence channel with signed `channel_data`; returns the `presence` roster.
    pub(crate) async fn subscribe_presence(&mut self, channel: &str, channel_data: &str) -> Value {
        let auth = self.auth(channel, Some(channel_data));
        self.send_subscribe(
            json!({"channel": channel, "auth": auth, "channel_data": channel_data}),
        )
        .await;
        self.expect_succeeded(channel).await["presence"].clone()
    }

    /// The next frame must be `subscription_succeeded` on `channel`; returns its data.
    pub(crate) async fn expect_succeeded(&mut self, channel: &str) -> Value {
        let frame = self
            .expect_next("pusher_internal:subscription_succeeded")
            .await;
        assert_eq!(frame["channel"], channel, "{frame}");
        data_of(&frame)
    }

    /// A valid `auth` for this connection.
    pub(crate) fn auth(&self, channel: &str, channel_data: Option<&str>) -> String {
        channel_auth(
            &self.key,
            &self.secret,
            &self.socket_id,
            channel,
            channel_data,
        )
    }

    /// Sends a correctly signed `pusher:signin`.
    pub(crate) async fn send_signin(&mut self, user_data: &str) {
        let auth = signin_auth(&self.key, &self.secret, &self.socket_id, user_data);
        self.send_json(
            &json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}),
        )
        .await;
    }

    /// Signs in and waits for `pusher:signin_success`; returns its data.
    pub(crate) async fn signin(&mut self, user_data: &str) -> Value {
        self.send_signin(user_data).await;
        data_of(&self.expect_next("pusher:signin_success").await)
    }

    /// Sends a client event.
    pub(crate) async fn trigger(&mut self, channel: &str, event: &str, data: Value) {
        self.send_json(&json!({"event": event, "channel": channel, "data": data}))
            .await;
    }
}
