//! The forgery and replay family as generators: each [`AttackKind`] builds a
//! subscription or HTTP API request that a correct server must refuse
//! (spec 4.5, 5.2, 5.5). The load engine's attackers send them at a rate; an
//! accepted one is a security failure named in the report.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{RestClient, RestRequest};
use crate::signing::Credentials;
use crate::signing::{Secret, channel_auth};

/// One way of forging or replaying an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackKind {
    /// Channel auth signed with a wrong secret.
    WrongSecret,
    /// Correct signature, but the key part names another app key.
    WrongKey,
    /// Private or presence subscription without any `auth`.
    MissingAuth,
    /// A valid signature for another channel.
    OtherChannel,
    /// A valid signature captured for another connection's socket id.
    OtherSocketId,
    /// Presence `channel_data` changed after signing (another user id).
    TamperedChannelData,
    /// Malformed auth strings: no colon, truncated, non-hex, empty.
    MalformedAuth,
    /// HTTP API request signed with a wrong secret.
    RestWrongSecret,
    /// HTTP API request with a timestamp 700 s in the past.
    RestStale,
    /// HTTP API request with a timestamp 700 s in the future.
    RestFuture,
    /// HTTP API request whose body was changed after signing (body_md5 mismatch).
    RestTamperedBody,
}

impl AttackKind {
    /// Every kind, in report order.
    pub const ALL: [AttackKind; 11] = [
        AttackKind::WrongSecret,
        AttackKind::WrongKey,
        AttackKind::MissingAuth,
        AttackKind::OtherChannel,
        AttackKind::OtherSocketId,
        AttackKind::TamperedChannelData,
        AttackKind::MalformedAuth,
        AttackKind::RestWrongSecret,
        AttackKind::RestStale,
        AttackKind::RestFuture,
        AttackKind::RestTamperedBody,
    ];

    /// Stable kebab-case name used in scenarios and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::WrongSecret => "wrong-secret",
            AttackKind::WrongKey => "wrong-key",
            AttackKind::MissingAuth => "missing-auth",
            AttackKind::OtherChannel => "other-channel",
            AttackKind::OtherSocketId => "other-socket-id",
            AttackKind::TamperedChannelData => "tampered-channel-data",
            AttackKind::MalformedAuth => "malformed-auth",
            AttackKind::RestWrongSecret => "rest-wrong-secret",
            AttackKind::RestStale => "rest-stale",
            AttackKind::RestFuture => "rest-future",
            AttackKind::RestTamperedBody => "rest-tampered-body",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<AttackKind> {
        AttackKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the attack is an HTTP API request (else a subscription).
    pub fn is_rest(self) -> bool {
        matches!(
            self,
            AttackKind::RestWrongSecret
                | AttackKind::RestStale
                | AttackKind::RestFuture
                | AttackKind::RestTamperedBody
        )
    }

    /// Whether the attack needs a presence channel.
    pub fn needs_presence(self) -> bool {
        self == AttackKind::TamperedChannelData
    }
}

/// A forged `pusher:subscribe`: exactly the fields to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedSubscription {
    /// Channel to subscribe to.
    pub channel: String,
    /// `auth` field, if sent.
    pub auth: Option<String>,
    /// `channel_data` field, if sent.
    pub channel_data: Option<String>,
}

impl ForgedSubscription {
    /// The `pusher:subscribe` frame text.
    pub fn frame(&self) -> String {
        let mut data = json!({"channel": self.channel});
        if let Some(a) = &self.auth {
            data["auth"] = json!(a);
        }
        if let Some(cd) = &self.channel_data {
            data["channel_data"] = json!(cd);
        }
        json!({"event": "pusher:subscribe", "data": data}).to_string()
    }
}

/// Builds the forged subscription of `kind` on `channel` for the connection
/// `socket_id`; `donor` is the socket id of another live connection (for
/// [`AttackKind::OtherSocketId`]); `variant` picks among malformed forms.
///
/// Returns `None` for HTTP API kinds.
pub fn forge_subscription(
    kind: AttackKind,
    creds: &Credentials,
    socket_id: &str,
    donor: &str,
    channel: &str,
    variant: u64,
) -> Option<ForgedSubscription> {
    let presence = channel.starts_with("presence-");
    let member = |id: &str| json!({"user_id": id}).to_string();
    let data = presence.then(|| member("attacker"));
    let cd = data.as_deref();
    let key = &creds.key;
    let sign = |secret: &Secret, sid: &str, ch: &str, cd: Option<&str>| {
        channel_auth(key, secret, sid, ch, cd)
    };
    let good = sign(&creds.secret, socket_id, channel, cd);
    let auth = match kind {
        AttackKind::WrongSecret => Some(sign(
            &Secret::new(format!("{}-not", creds.secret.expose())),
            socket_id,
            channel,
            cd,
        )),
        AttackKind::WrongKey => Some(format!(
            "{key}-other:{}",
            good.split_once(':').map_or("", |(_, s)| s)
        )),
        AttackKind::MissingAuth => None,
        AttackKind::OtherChannel => Some(sign(
            &creds.secret,
            socket_id,
            &format!("{channel}-other"),
            cd,
        )),
        AttackKind::OtherSocketId => Some(sign(&creds.secret, donor, channel, cd)),
        AttackKind::TamperedChannelData => {
            let signed = member("attacker");
            let sent = member("admin");
            let auth = sign(&creds.secret, socket_id, channel, Some(&signed));
            return Some(ForgedSubscription {
                channel: channel.into(),
                auth: Some(auth),
                channel_data: Some(sent),
            });
        }
        AttackKind::MalformedAuth => Some(malformed(&good, variant)),
        AttackKind::RestWrongSecret
        | AttackKind::RestStale
        | AttackKind::RestFuture
        | AttackKind::RestTamperedBody => return None,
    };
    Some(ForgedSubscription {
        channel: channel.into(),
        auth,
        channel_data: data,
    })
}

fn malformed(good: &str, variant: u64) -> String {
    let (key, sig) = good.split_once(':').unwrap_or((good, ""));
    match variant % 4 {
        0 => format!("{key}{sig}"),
        1 => format!("{key}:{}", &sig[..sig.len() / 2]),
        2 => format!("{key}:{}", sig.replace(|c: char| c.is_ascii_digit(), "g")),
        _ => String::new(),
    }
}

/// Builds the forged HTTP API publish of `kind` to `channel`; `None` for
/// subscription kinds.
pub fn forge_rest(kind: AttackKind, rest: &RestClient, channel: &str) -> Option<RestRequest> {
    let body = json!({"name": "pushcheck-attack", "channel": channel, "data": "{}"});
    let req = rest.request("POST", "/events").json(&body);
    Some(match kind {
        AttackKind::RestWrongSecret => {
            let wrong = format!("{}-not", rest.credentials().secret.expose());
            req.with_secret(&wrong)
        }
        AttackKind::RestStale => req.with_timestamp_offset(-700),
        AttackKind::RestFuture => req.with_timestamp_offset(700),
        AttackKind::RestTamperedBody => {
            let tampered =
                json!({"name": "pushcheck-attack", "channel": channel, "data": "{\"x\":1}"});
            req.with_sent_body(tampered.to_string().as_bytes())
        }
        AttackKind::WrongSecret
        | AttackKind::WrongKey
        | AttackKind::MissingAuth
        | AttackKind::OtherChannel
        | AttackKind::OtherSocketId
        | AttackKind::TamperedChannelData
        | AttackKind::MalformedAuth => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("app-id", "app-key", "app-secret")
    }

    #[test]
    fn no_forged_subscription_carries_the_valid_auth() {
        let c = creds();
        for ch in ["private-a", "presence-a"] {
            let valid = channel_auth(
                &c.key,
                &c.secret,
                "1.1",
                ch,
                ch.starts_with("presence-")
                    .then(|| json!({"user_id": "attacker"}).to_string())
                    .as_deref(),
            );
            for kind in AttackKind::ALL.into_iter().filter(|k| !k.is_rest()) {
                for variant in 0..4 {
                    let f = forge_subscription(kind, &c, "1.1", "2.2", ch, variant)
                        .expect("a subscription kind");
                    let honest = f.auth.as_deref() == Some(valid.as_str())
                        && f.channel_data
                            == ch
                                .starts_with("presence-")
                                .then(|| json!({"user_id": "attacker"}).to_string());
                    assert!(!honest, "{} {ch} is not a forgery", kind.as_str());
                }
            }
        }
    }

    #[test]
    fn names_round_trip_and_rest_kinds_build_requests() {
        let rest = RestClient::new("http://h", creds(), std::time::Duration::from_secs(1));
        for k in AttackKind::ALL {
            assert_eq!(AttackKind::from_name(k.as_str()), Some(k));
            assert_eq!(forge_rest(k, &rest, "private-a").is_some(), k.is_rest());
        }
    }
}
