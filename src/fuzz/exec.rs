//! Sending one case to the target and reading its answer, on a connection
//! reused across cases: a subscription is answered, then unsubscribed, so one
//! socket checks many authorizations (spec 4.3 to 4.6).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::FuzzError;
use super::case::{
    Case, ChannelCase, Endpoint, Member, RestCase, RestTamper, SigninCase, Tamper, change_char,
    change_digit, change_hex,
};
use crate::client::{Incoming, Prepared, ProtocolClient, RestClient};
use crate::signing::{
    RestSignature, Secret, body_md5, channel_string_to_sign, hmac_hex, signin_string_to_sign,
};
use crate::target::{Credentials, Target};

/// What the target did with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Subscribed, signed in, or a 2xx answer; the frame or body seen.
    Accepted(String),
    /// An error frame, a close, or a non-2xx answer; what was seen.
    Refused(String),
    /// Nothing within the timeout.
    NoAnswer(Duration),
}

/// Exactly what was sent, to reproduce a case by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A WebSocket frame on a connection with this socket id.
    Frame {
        /// The connection URL.
        url: String,
        /// The socket id the server gave the connection.
        socket_id: String,
        /// The frame text.
        frame: String,
        /// The string the client signed (not necessarily what the server should build).
        signed: String,
    },
    /// An HTTP request.
    Http {
        /// Method.
        method: String,
        /// Full URL with the signed query.
        url: String,
        /// Body text, if any.
        body: Option<String>,
    },
}

impl Sent {
    /// A reproduction recipe: the frame with its connection, or a `curl` command.
    pub fn reproduce(&self) -> String {
        match self {
            Sent::Frame {
                url,
                socket_id,
                frame,
                signed,
            } => format!(
                "connect to {url}; the server assigns socket_id {socket_id}; send the text frame\n    {frame}\n  (the client signed {signed:?})"
            ),
            Sent::Http { method, url, body } => {
                let mut cmd = format!("curl -sS -X {method} '{url}'");
                if let Some(body) = body {
                    let quoted = body.replace('\'', "'\\''");
                    cmd.push_str(&format!(
                        " -H 'content-type: application/json' --data-binary '{quoted}'"
                    ));
                }
                format!("{cmd}\n  (auth_timestamp is from the run; re-sign it to replay later)")
            }
        }
    }
}

/// One case as sent and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// What was sent.
    pub sent: Sent,
    /// What came back.
    pub answer: Answer,
}

impl Execution {
    /// A valid case not accepted, or a tampered one accepted.
    pub fn is_counterexample(&self, case: &Case) -> bool {
        let accepted = matches!(self.answer, Answer::Accepted(_));
        accepted != case.is_valid()
    }
}

/// A client that reuses one WebSocket connection and one HTTP connection pool.
#[derive(Debug)]
pub(crate) struct Worker {
    target: Arc<Target>,
    credentials: Arc<Credentials>,
    timeout: Duration,
    conn: Option<ProtocolClient>,
    signed_in: Option<String>,
    /// A channel accepted by the previous case, still to unsubscribe.
    unsubscribe: Option<String>,
    rest: RestClient,
}

impl Worker {
    pub(crate) fn new(target: Arc<Target>, rest: RestClient, timeout: Duration) -> Worker {
        Worker {
            credentials: Arc::new(target.credentials.clone()),
            target,
            timeout,
            conn: None,
            signed_in: None,
            unsubscribe: None,
            rest,
        }
    }

    async fn connection(&mut self) -> Result<&mut ProtocolClient, FuzzError> {
        if self.conn.is_none() {
            let url = self.target.ws_url(&self.credentials.key, "");
            let client = ProtocolClient::connect(&url, self.credentials.clone(), self.timeout)
                .await
                .map_err(|source| FuzzError::Connect {
                    url,
                    source: Box::new(source),
                })?;
            self.signed_in = None;
            self.unsubscribe = None;
            self.conn = Some(client);
        }
        Ok(self.conn.as_mut().expect("connected just above"))
    }

    /// Sends one case and reads the target's answer.
    pub(crate) async fn execute(&mut self, case: &Case) -> Result<Execution, FuzzError> {
        match case {
            Case::Channel(c) => self.subscribe(c).await,
            Case::Signin(c) => self.signin(c).await,
            Case::Rest(c) => self.http(c).await,
        }
    }

    async fn subscribe(&mut self, case: &ChannelCase) -> Result<Execution, FuzzError> {
        let creds = self.credentials.clone();
        let url = self.target.ws_url(&creds.key, "");
        let timeout = self.timeout;
        self.connection().await?;
        let pending = self.unsubscribe.take();
        let conn = self.conn.as_mut().expect("connected just above");
        let socket_id = conn.socket_id().to_owned();
        let (channel, frame, signed) = subscribe_frame(case, &creds, &socket_id);
        // The previous case's accepted channel is unsubscribed right after
        // this subscribe, so the two frames share one round trip. An
        // unsubscribe of a subscribed channel has no reply (spec 4.6), so it
        // cannot be mistaken for this case's answer.
        match pending {
            Some(old) if old == channel => {
                conn.unsubscribe(&old).await?;
                conn.send_text(&frame).await?;
            }
            Some(old) => {
                conn.send_text(&frame).await?;
                conn.unsubscribe(&old).await?;
            }
            None => conn.send_text(&frame).await?,
        }
        let (answer, closed) = answer(conn, timeout, |e| {
            let ours = e.channel() == Some(channel.as_str());
            match e.event() {
                "pusher_internal:subscription_succeeded" if ours => Some(true),
                "pusher:error" => Some(false),
                "pusher:subscription_error" if ours => Some(false),
                _ => None,
            }
        })
        .await;
        if closed {
            self.conn = None;
        } else if matches!(answer, Answer::Accepted(_)) {
            self.unsubscribe = Some(channel);
        }
        let sent = Sent::Frame {
            url,
            socket_id,
            frame,
            signed,
        };
        Ok(Execution { sent, answer })
    }

    async fn signin(&mut self, case: &SigninCase) -> Result<Execution, FuzzError> {
        // A connection signed in as one user refuses another (spec 5.3).
        if self
            .signed_in
            .as_ref()
            .is_some_and(|id| *id != case.user.id)
        {
            self.conn = None;
        }
        let creds = self.credentials.clone();
        let url = self.target.ws_url(&creds.key, "");
        let timeout = self.timeout;
        let conn = self.connection().await?;
        let socket_id = conn.socket_id().to_owned();
        let (frame, signed, sent_id) = signin_frame(case, &creds, &socket_id);
        conn.send_text(&frame).await?;
        let (answer, closed) = answer(conn, timeout, |e| match e.event() {
            "pusher:signin_success" => Some(true),
            "pusher:error" => Some(false),
            _ => None,
        })
        .await;
        if closed {
            self.conn = None;
        } else if matches!(answer, Answer::Accepted(_)) {
            self.signed_in = Some(sent_id);
        }
        let sent = Sent::Frame {
            url,
            socket_id,
            frame,
            signed,
        };
        Ok(Execution { sent, answer })
    }

    async fn http(&mut self, case: &RestCase) -> Result<Execution, FuzzError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let prepared = rest_request(case, &self.credentials, &self.target.rest_base, now);
        let response = self.rest.send_prepared(&prepared).await?;
        let answer = if (200..300).contains(&response.status) {
            Answer::Accepted(response.describe())
        } else {
            Answer::Refused(response.describe())
        };
        let sent = Sent::Http {
            method: prepared.method,
            url: prepared.url,
            body: prepared
                .body
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        };
        Ok(Execution { sent, answer })
    }
}

/// Reads frames until `decide` says accepted (`true`) or refused (`false`);
/// the flag says whether the connection closed.
async fn answer(
    conn: &mut ProtocolClient,
    timeout: Duration,
    decide: impl Fn(&crate::wire::Envelope) -> Option<bool>,
) -> (Answer, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        match conn.recv_until(deadline).await {
            None => return (Answer::NoAnswer(timeout), false),
            Some(Incoming::Text(e)) => match decide(&e) {
                Some(true) => return (Answer::Accepted(e.encode()), false),
                Some(false) => return (Answer::Refused(e.encode()), false),
                None => {}
            },
            Some(closed @ Incoming::Closed(..)) => {
                return (Answer::Refused(closed.describe()), true);
            }
            Some(_) => {}
        }
    }
}

/// The parts a client signs, after applying a [`Tamper`] to the signing side.
struct Signing {
    key: String,
    secret: Secret,
    socket_id: String,
}

fn signing_side(tamper: Option<&Tamper>, creds: &Credentials, socket_id: &str) -> Signing {
    let mut s = Signing {
        key: creds.key.clone(),
        secret: creds.secret.clone(),
        socket_id: socket_id.to_owned(),
    };
    match tamper {
        Some(Tamper::Key { at, step }) => s.key = change_char(&s.key, *at, *step),
        Some(Tamper::Secret { at, step }) => {
            s.secret = Secret::new(change_char(creds.secret.expose(), *at, *step));
        }
        Some(Tamper::SocketId { at, step }) => s.socket_id = change_digit(socket_id, *at, *step),
        _ => {}
    }
    s
}

/// The member as sent, after a [`Tamper::UserId`] or [`Tamper::UserName`].
fn sent_member(member: &Member, tamper: Option<&Tamper>) -> Member {
    let mut m = member.clone();
    match tamper {
        Some(Tamper::UserId { at, step }) => m.id = change_char(&m.id, *at, *step),
        Some(Tamper::UserName { at, step }) => m.name = change_char(&m.name, *at, *step),
        _ => {}
    }
    m
}

fn auth_value(s: &Signing, signed: &str, tamper: Option<&Tamper>) -> String {
    let mut sig = hmac_hex(&s.secret, signed);
    if let Some(Tamper::Signature { at, step }) = tamper {
        sig = change_hex(&sig, *at, *step);
    }
    format!("{}:{sig}", s.key)
}

/// The channel subscribed to, the `pusher:subscribe` frame, and the string signed.
pub(crate) fn subscribe_frame(
    case: &ChannelCase,
    creds: &Credentials,
    socket_id: &str,
) -> (String, String, String) {
    let tamper = case.tamper.as_ref();
    let channel = format!("{}{}", case.kind.prefix(), case.suffix);
    let signed_channel = match tamper {
        Some(Tamper::Channel { at, step }) => format!(
            "{}{}",
            case.kind.prefix(),
            change_char(&case.suffix, *at, *step)
        ),
        _ => channel.clone(),
    };
    let signing = signing_side(tamper, creds, socket_id);
    let signed_data = case.member.as_ref().map(|m| m.json("user_id"));
    let sent_data = case
        .member
        .as_ref()
        .map(|m| sent_member(m, tamper).json("user_id"));
    let signed =
        channel_string_to_sign(&signing.socket_id, &signed_channel, signed_data.as_deref());
    let mut data = json!({"channel": channel, "auth": auth_value(&signing, &signed, tamper)});
    if let Some(d) = sent_data {
        data["channel_data"] = Value::String(d);
    }
    let frame = json!({"event": "pusher:subscribe", "data": data}).to_string();
    (channel, frame, signed)
}

/// The `pusher:signin` frame, the string signed, and the user id sent.
pub(crate) fn signin_frame(
    case: &SigninCase,
    creds: &Credentials,
    socket_id: &str,
) -> (String, String, String) {
    let tamper = case.tamper.as_ref();
    let signing = signing_side(tamper, creds, socket_id);
    let sent = sent_member(&case.user, tamper);
    let signed = signin_string_to_sign(&signing.socket_id, &case.user.json("id"));
    let data = json!({"auth": auth_value(&signing, &signed, tamper), "user_data": sent.json("id")});
    let frame = json!({"event": "pusher:signin", "data": data}).to_string();
    (frame, signed, sent.id)
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn set(params: &mut [(String, String)], key: &str, value: String) {
    if let Some(p) = params.iter_mut().find(|(k, _)| k == key) {
        p.1 = value;
    }
}

fn trigger_body(suffix: &str, data: &str) -> String {
    json!({"name": "fuzz-auth", "channel": format!("fuzz-{suffix}"), "data": data}).to_string()
}

/// Builds the request of a REST case signed at `now` (Unix seconds).
pub(crate) fn rest_request(case: &RestCase, creds: &Credentials, base: &str, now: u64) -> Prepared {
    let id = &creds.app_id;
    let (method, path, extra, body) = match &case.endpoint {
        Endpoint::Trigger { suffix, data } => (
            "POST",
            format!("/apps/{id}/events"),
            vec![],
            Some(trigger_body(suffix, data)),
        ),
        Endpoint::Channels { prefix } => (
            "GET",
            format!("/apps/{id}/channels"),
            vec![("filter_by_prefix".to_owned(), prefix.clone())],
            None,
        ),
        Endpoint::Channel { suffix } => (
            "GET",
            format!("/apps/{id}/channels/fuzz-{suffix}"),
            vec![],
            None,
        ),
    };
    let tamper = case.tamper.as_ref();
    let (mut key, mut secret, mut timestamp) = (creds.key.clone(), creds.secret.clone(), now);
    match tamper {
        Some(RestTamper::Key { at, step }) => key = change_char(&key, *at, *step),
        Some(RestTamper::Secret { at, step }) => {
            secret = Secret::new(change_char(secret.expose(), *at, *step));
        }
        Some(RestTamper::Stale { secs }) => timestamp = now.saturating_sub(u64::from(*secs)),
        _ => {}
    }
    let bytes = body.as_ref().map(|b| b.as_bytes());
    let mut params =
        RestSignature::sign(&key, &secret, method, &path, &extra, bytes, timestamp).params;
    let (mut sent_path, mut sent_body) = (path, body);
    match (tamper, &case.endpoint) {
        (Some(RestTamper::Signature { at, step }), _) => {
            let sig = params.last().map(|(_, v)| change_hex(v, *at, *step));
            set(&mut params, "auth_signature", sig.unwrap_or_default());
        }
        (Some(RestTamper::Timestamp { by }), _) => {
            let moved = timestamp + u64::from(*by);
            set(&mut params, "auth_timestamp", moved.to_string());
        }
        (Some(RestTamper::ExtraParam { value }), _) => {
            params.push(("fuzz_extra".into(), value.clone()));
        }
        (Some(RestTamper::Path { at, step }), Endpoint::Channel { suffix }) => {
            sent_path = format!(
                "/apps/{id}/channels/fuzz-{}",
                change_char(suffix, *at, *step)
            );
        }
        (
            Some(RestTamper::Body { at, step } | RestTamper::BodyAndMd5 { at, step }),
            Endpoint::Trigger { suffix, data },
        ) => {
            let changed = trigger_body(suffix, &change_char(data, *at, *step));
            if matches!(tamper, Some(RestTamper::BodyAndMd5 { .. })) {
                set(&mut params, "body_md5", body_md5(changed.as_bytes()));
            }
            sent_body = Some(changed);
        }
        _ => {}
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    Prepared {
        method: method.into(),
        url: format!("{base}{sent_path}?{}", query.join("&")),
        body: sent_body.map(String::into_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::case::AuthKind;

    fn creds() -> Credentials {
        Credentials::new("3", "278d425bdf160c739803", "7ad3773142a6692b25b8")
    }

    #[test]
    fn a_valid_private_subscription_carries_the_documented_signature() {
        let case = ChannelCase {
            kind: AuthKind::Private,
            suffix: "foobar".into(),
            member: None,
            tamper: None,
        };
        let (channel, frame, signed) = subscribe_frame(&case, &creds(), "1234.1234");
        assert_eq!(channel, "private-foobar");
        assert_eq!(signed, "1234.1234:private-foobar");
        assert!(frame.contains(
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        ));
    }

    #[test]
    fn a_tampered_user_id_is_sent_but_not_signed() {
        let case = SigninCase {
            user: Member {
                id: "ab".into(),
                name: "n".into(),
            },
            tamper: Some(Tamper::UserId { at: 0, step: 0 }),
        };
        let (frame, signed, sent_id) = signin_frame(&case, &creds(), "1.2");
        assert_eq!(signed, r#"1.2::user::{"id":"ab","user_info":{"name":"n"}}"#);
        assert_eq!(sent_id, "bb");
        assert!(frame.contains(r#"{\"id\":\"bb\""#));
    }

    #[test]
    fn a_body_tamper_keeps_the_signed_md5() {
        let case = RestCase {
            endpoint: Endpoint::Trigger {
                suffix: "a".into(),
                data: "xyz".into(),
            },
            tamper: Some(RestTamper::Body { at: 1, step: 0 }),
        };
        let p = rest_request(&case, &creds(), "http://h", 1_353_088_179);
        let signed_md5 = body_md5(trigger_body("a", "xyz").as_bytes());
        assert!(p.url.contains(&format!("body_md5={signed_md5}")));
        assert_eq!(p.body, Some(trigger_body("a", "xzz").into_bytes()));
    }
}
