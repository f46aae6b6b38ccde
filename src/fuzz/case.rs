//! What fuzz-auth sends: generated channel authorizations, sign-ins and
//! signed HTTP API requests, each valid or carrying one [`Tamper`], and the
//! proptest strategies that generate and shrink them.

use proptest::prelude::*;

use super::Family;

/// Characters of generated ids, names and channel suffixes: valid in channel
/// names and JSON strings alike, so a changed character never makes a frame
/// malformed, only wrongly signed.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// Replaces the character at `at % len` of an [`ALPHABET`] string with a
/// different [`ALPHABET`] character.
pub(crate) fn change_char(s: &str, at: usize, step: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    if bytes.is_empty() {
        return "x".into();
    }
    let i = at % bytes.len();
    let n = ALPHABET.len();
    let old = ALPHABET.iter().position(|&c| c == bytes[i]).unwrap_or(0);
    bytes[i] = ALPHABET[(old + 1 + usize::from(step) % (n - 1)) % n];
    String::from_utf8(bytes).expect("ALPHABET is ASCII")
}

/// Replaces one decimal digit of a socket id with another digit.
pub(crate) fn change_digit(s: &str, at: usize, step: u8) -> String {
    let digits: Vec<usize> = s
        .bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    if digits.is_empty() {
        return format!("{s}1");
    }
    let mut bytes = s.as_bytes().to_vec();
    let i = digits[at % digits.len()];
    bytes[i] = b'0' + (bytes[i] - b'0' + 1 + step % 9) % 10;
    String::from_utf8(bytes).expect("digits are ASCII")
}

/// Replaces one hex digit of a signature with another hex digit.
pub(crate) fn change_hex(s: &str, at: usize, step: u8) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut bytes = s.as_bytes().to_vec();
    if bytes.is_empty() {
        return "0".into();
    }
    let i = at % bytes.len();
    let old = HEX.iter().position(|&c| c == bytes[i]).unwrap_or(0);
    bytes[i] = HEX[(old + 1 + usize::from(step) % 15) % 16];
    String::from_utf8(bytes).expect("hex is ASCII")
}

/// A channel kind that needs an authorization (spec 4.1, 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `private-`.
    Private,
    /// `private-cache-`.
    PrivateCache,
    /// `private-encrypted-`.
    PrivateEncrypted,
    /// `private-encrypted-cache-`.
    PrivateEncryptedCache,
    /// `presence-`, with `channel_data`.
    Presence,
    /// `presence-cache-`, with `channel_data`.
    PresenceCache,
}

impl AuthKind {
    /// The channel-name prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            AuthKind::Private => "private-",
            AuthKind::PrivateCache => "private-cache-",
            AuthKind::PrivateEncrypted => "private-encrypted-",
            AuthKind::PrivateEncryptedCache => "private-encrypted-cache-",
            AuthKind::Presence => "presence-",
            AuthKind::PresenceCache => "presence-cache-",
        }
    }

    /// Whether the subscription carries `channel_data`.
    pub fn is_presence(self) -> bool {
        matches!(self, AuthKind::Presence | AuthKind::PresenceCache)
    }
}

/// A presence member or signed-in user: `{"<id_field>":"id","user_info":{"name":"name"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user id.
    pub id: String,
    /// `user_info.name`.
    pub name: String,
}

impl Member {
    /// The JSON text, with `user_id` (presence) or `id` (sign-in) as the id field.
    pub fn json(&self, id_field: &str) -> String {
        format!(
            "{{\"{id_field}\":\"{}\",\"user_info\":{{\"name\":\"{}\"}}}}",
            self.id, self.name
        )
    }
}

/// One deliberate deviation from a valid authorization. The client signs the
/// original and sends the changed part, or signs with a changed part and
/// sends the original, so a correct server must refuse either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// One hex digit of the signature changed.
    Signature {
        /// Position.
        at: usize,
        /// Which other digit.
        step: u8,
    },
    /// Signed for another socket id (one digit changed).
    SocketId {
        /// Position among the digits.
        at: usize,
        /// Which other digit.
        step: u8,
    },
    /// Signed for a channel whose name differs in one character.
    Channel {
        /// Position in the suffix.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// The user id sent differs in one character from the one signed.
    UserId {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// `user_info.name` sent differs in one character from the one signed.
    UserName {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// The key in `auth` differs in one character.
    Key {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// Signed with a secret that differs in one character.
    Secret {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
}

/// One subscription to an authorized channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCase {
    /// Channel kind.
    pub kind: AuthKind,
    /// The channel name after the kind prefix.
    pub suffix: String,
    /// Presence member (`channel_data`), for presence kinds.
    pub member: Option<Member>,
    /// `None` for a valid authorization.
    pub tamper: Option<Tamper>,
}

/// One `pusher:signin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninCase {
    /// The user in `user_data`.
    pub user: Member,
    /// `None` for a valid sign-in.
    pub tamper: Option<Tamper>,
}

/// Which HTTP API request is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /apps/{id}/events` to a public channel nobody is subscribed to.
    Trigger {
        /// Channel suffix (`fuzz-<suffix>`).
        suffix: String,
        /// Event data string.
        data: String,
    },
    /// `GET /apps/{id}/channels?filter_by_prefix=...`.
    Channels {
        /// The prefix filter value.
        prefix: String,
    },
    /// `GET /apps/{id}/channels/fuzz-<suffix>`.
    Channel {
        /// Channel suffix.
        suffix: String,
    },
}

/// One deviation from a valid signed request (spec 5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestTamper {
    /// One hex digit of `auth_signature` changed.
    Signature {
        /// Position.
        at: usize,
        /// Which other digit.
        step: u8,
    },
    /// Signed with a secret that differs in one character.
    Secret {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// `auth_key` differs in one character (signed as sent).
    Key {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// `auth_timestamp` moved by this many seconds after signing (still in the window).
    Timestamp {
        /// Seconds added.
        by: u16,
    },
    /// A parameter added after signing.
    ExtraParam {
        /// Its value.
        value: String,
    },
    /// The channel in the path differs in one character from the one signed.
    Path {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// The body sent differs in one character; `body_md5` is the signed body's.
    Body {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// The body differs in one character and `body_md5` matches it, but the signature is the old one.
    BodyAndMd5 {
        /// Position.
        at: usize,
        /// Which other character.
        step: u8,
    },
    /// Correctly signed with a timestamp this many seconds in the past (replay).
    Stale {
        /// Seconds in the past, at least 600.
        secs: u32,
    },
}

/// One signed HTTP API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestCase {
    /// The request.
    pub endpoint: Endpoint,
    /// `None` for a valid request.
    pub tamper: Option<RestTamper>,
}

/// One generated case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Case {
    /// A channel subscription.
    Channel(ChannelCase),
    /// A sign-in.
    Signin(SigninCase),
    /// An HTTP API request.
    Rest(RestCase),
}

impl Case {
    /// The family it belongs to.
    pub fn family(&self) -> Family {
        match self {
            Case::Channel(_) => Family::Channel,
            Case::Signin(_) => Family::Signin,
            Case::Rest(_) => Family::Rest,
        }
    }

    /// Whether a correct server must accept it.
    pub fn is_valid(&self) -> bool {
        match self {
            Case::Channel(c) => c.tamper.is_none(),
            Case::Signin(c) => c.tamper.is_none(),
            Case::Rest(c) => c.tamper.is_none(),
        }
    }
}

fn word(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9_-]{{1,{max}}}")).expect("a valid regex")
}

fn member() -> impl Strategy<Value = Member> {
    (word(16), word(16)).prop_map(|(id, name)| Member { id, name })
}

fn position() -> impl Strategy<Value = (usize, u8)> {
    (0usize..64, any::<u8>())
}

fn tamper(presence_or_signin: bool, channel: bool) -> BoxedStrategy<Tamper> {
    let mut options: Vec<BoxedStrategy<Tamper>> = vec![
        position()
            .prop_map(|(at, step)| Tamper::Signature { at, step })
            .boxed(),
        position()
            .prop_map(|(at, step)| Tamper::SocketId { at, step })
            .boxed(),
        position()
            .prop_map(|(at, step)| Tamper::Key { at, step })
            .boxed(),
        position()
            .prop_map(|(at, step)| Tamper::Secret { at, step })
            .boxed(),
    ];
    if channel {
        options.push(
            position()
                .prop_map(|(at, step)| Tamper::Channel { at, step })
                .boxed(),
        );
    }
    if presence_or_signin {
        options.push(
            position()
                .prop_map(|(at, step)| Tamper::UserId { at, step })
                .boxed(),
        );
        options.push(
            position()
                .prop_map(|(at, step)| Tamper::UserName { at, step })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

/// Valid one time in three, tampered otherwise. Shrinks towards valid.
fn maybe<T: std::fmt::Debug + Clone + 'static>(
    s: BoxedStrategy<T>,
) -> impl Strategy<Value = Option<T>> {
    prop_oneof![1 => Just(None), 2 => s.prop_map(Some)]
}

fn kind() -> impl Strategy<Value = AuthKind> {
    prop_oneof![
        Just(AuthKind::Private),
        Just(AuthKind::Presence),
        Just(AuthKind::PrivateCache),
        Just(AuthKind::PresenceCache),
        Just(AuthKind::PrivateEncrypted),
        Just(AuthKind::PrivateEncryptedCache),
    ]
}

fn channel_case() -> impl Strategy<Value = Case> {
    kind().prop_flat_map(|kind| {
        let presence = kind.is_presence();
        let member = if presence {
            member().prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        };
        (word(20), member, maybe(tamper(presence, true))).prop_map(
            move |(suffix, member, tamper)| {
                Case::Channel(ChannelCase {
                    kind,
                    suffix,
                    member,
                    tamper,
                })
            },
        )
    })
}

fn signin_case() -> impl Strategy<Value = Case> {
    (member(), maybe(tamper(true, false)))
        .prop_map(|(user, tamper)| Case::Signin(SigninCase { user, tamper }))
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        (word(20), word(40)).prop_map(|(suffix, data)| Endpoint::Trigger { suffix, data }),
        word(12).prop_map(|prefix| Endpoint::Channels { prefix }),
        word(20).prop_map(|suffix| Endpoint::Channel { suffix }),
    ]
}

fn rest_tamper(endpoint: &Endpoint) -> BoxedStrategy<RestTamper> {
    let mut options: Vec<BoxedStrategy<RestTamper>> = vec![
        position()
            .prop_map(|(at, step)| RestTamper::Signature { at, step })
            .boxed(),
        position()
            .prop_map(|(at, step)| RestTamper::Secret { at, step })
            .boxed(),
        position()
            .prop_map(|(at, step)| RestTamper::Key { at, step })
            .boxed(),
        (1u16..300)
            .prop_map(|by| RestTamper::Timestamp { by })
            .boxed(),
        word(8)
            .prop_map(|value| RestTamper::ExtraParam { value })
            .boxed(),
        (600u32..100_000)
            .prop_map(|secs| RestTamper::Stale { secs })
            .boxed(),
    ];
    match endpoint {
        Endpoint::Trigger { .. } => {
            options.push(
                position()
                    .prop_map(|(at, step)| RestTamper::Body { at, step })
                    .boxed(),
            );
            options.push(
                position()
                    .prop_map(|(at, step)| RestTamper::BodyAndMd5 { at, step })
                    .boxed(),
            );
        }
        Endpoint::Channel { .. } => options.push(
            position()
                .prop_map(|(at, step)| RestTamper::Path { at, step })
                .boxed(),
        ),
        Endpoint::Channels { .. } => {}
    }
    proptest::strategy::Union::new(options).boxed()
}

fn rest_case() -> impl Strategy<Value = Case> {
    endpoint().prop_flat_map(|endpoint| {
        let tamper = maybe(rest_tamper(&endpoint));
        (Just(endpoint), tamper)
            .prop_map(|(endpoint, tamper)| Case::Rest(RestCase { endpoint, tamper }))
    })
}

/// Cases of the given families, in equal shares.
pub fn cases(families: &[Family]) -> BoxedStrategy<Case> {
    let options: Vec<BoxedStrategy<Case>> = families
        .iter()
        .map(|f| match f {
            Family::Channel => channel_case().boxed(),
            Family::Signin => signin_case().boxed(),
            Family::Rest => rest_case().boxed(),
        })
        .collect();
    proptest::strategy::Union::new(options).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_differs_from_its_input_and_keeps_its_alphabet() {
        for step in 0..=255u8 {
            for at in 0..8 {
                let c = change_char("ab_-Z9", at, step);
                assert_ne!(c, "ab_-Z9");
                assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
                let d = change_digit("123.456", at, step);
                assert_ne!(d, "123.456");
                assert_eq!(d.as_bytes()[3], b'.');
                let h = change_hex("0f", at, step);
                assert_ne!(h, "0f");
                assert!(
                    h.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
        }
    }
}
