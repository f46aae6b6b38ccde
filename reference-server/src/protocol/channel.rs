//! Channel names: validation (spec 4.2) and kinds by anchored prefix (spec 4.1).

/// The longest channel name accepted (spec 4.2: the SDKs' 200, not the doc's 164).
pub const MAX_CHANNEL_NAME_LEN: usize = 200;

/// Prefix of the per-user delivery channel (spec 10.3).
pub const SERVER_TO_USER_PREFIX: &str = "#server-to-user-";

/// What a channel name says about the channel (spec 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelKind {
    /// Who may subscribe.
    pub access: Access,
    /// Whether the last published event is cached (spec 10.1).
    pub cache: bool,
}

/// The subscription rule of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone; no auth.
    Public,
    /// `private-`: a `socket_id:channel` signature.
    Private,
    /// `private-encrypted-`: a private signature; data relayed untouched.
    Encrypted,
    /// `presence-`: a signature over `channel_data` too.
    Presence,
    /// `#server-to-user-<id>`: only the connection signed in as `<id>`.
    ServerToUser,
}

impl ChannelKind {
    /// Classifies a name by its anchored prefix, longest first (spec 4.1).
    pub fn of(name: &str) -> ChannelKind {
        let table: [(&str, Access, bool); 8] = [
            ("private-encrypted-cache-", Access::Encrypted, true),
            ("private-encrypted-", Access::Encrypted, false),
            ("private-cache-", Access::Private, true),
            ("private-", Access::Private, false),
            ("presence-cache-", Access::Presence, true),
            ("presence-", Access::Presence, false),
            ("cache-", Access::Public, true),
            (SERVER_TO_USER_PREFIX, Access::ServerToUser, false),
        ];
        for (prefix, access, cache) in table {
            if name.starts_with(prefix) {
                return ChannelKind { access, cache };
            }
        }
        ChannelKind { access: Access::Public, cache: false }
    }

    /// Whether subscribing needs an `auth` signature.
    pub fn needs_signature(self) -> bool {
        matches!(self.access, Access::Private | Access::Encrypted | Access::Presence)
    }

    /// Whether clients may trigger `client-` events here (spec 6.2).
    pub fn allows_client_events(self) -> bool {
        matches!(self.access, Access::Private | Access::Presence)
    }
}

/// Why a channel name is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChannelNameError {
    /// The name is empty.
    #[error("channel name is empty")]
    Empty,
    /// Longer than [`MAX_CHANNEL_NAME_LEN`].
    #[error("channel name is longer than 200 characters")]
    TooLong,
    /// A character outside `A-Za-z0-9_-=@,.;`, or a reserved `#` name.
    #[error("channel name may only contain letters, digits and _ - = @ , . ;")]
    BadCharacter,
}

/// Checks a channel name (spec 4.2); `#server-to-user-<id>` is the one `#` name allowed.
pub fn validate_channel_name(name: &str) -> Result<(), ChannelNameError> {
    let rest = name.strip_prefix(SERVER_TO_USER_PREFIX).unwrap_or(name);
    if rest.is_empty() {
        return Err(ChannelNameError::Empty);
    }
    if name.len() > MAX_CHANNEL_NAME_LEN {
        return Err(ChannelNameError::TooLong);
    }
    if rest.bytes().all(is_name_byte) { Ok(()) } else { Err(ChannelNameError::BadCharacter) }
}

/// The character class shared by channel names and user ids (spec 4.2, 5.3).
pub fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'=' | b'@' | b',' | b'.' | b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_decided_by_anchored_prefix() {
        let cases = [
            ("private-encrypted-cache-x", Access::Encrypted, true),
            ("private-encrypted-x", Access::Encrypted, false),
            ("private-cache-x", Access::Private, true),
            ("private-x", Access::Private, false),
            ("presence-cache-x", Access::Presence, true),
            ("presence-x", Access::Presence, false),
            ("cache-x", Access::Public, true),
            ("my-private-x", Access::Public, false),
            ("my-cache-x", Access::Public, false),
            ("#server-to-user-u1", Access::ServerToUser, false),
        ];
        for (name, access, cache) in cases {
            assert_eq!(ChannelKind::of(name), ChannelKind { access, cache }, "{name}");
        }
    }

    #[test]
    fn names_follow_the_character_class_and_length() {
        assert_eq!(validate_channel_name("foo-bar_1234@=,.;"), Ok(()));
        assert_eq!(validate_channel_name(&"a".repeat(200)), Ok(()));
        assert_eq!(validate_channel_name(&"a".repeat(201)), Err(ChannelNameError::TooLong));
        assert_eq!(validate_channel_name(""), Err(ChannelNameError::Empty));
        for bad in ["a b", "a/b", "a*b", "#foo", "é"] {
            assert_eq!(validate_channel_name(bad), Err(ChannelNameError::BadCharacter), "{bad}");
        }
        assert_eq!(validate_channel_name("#server-to-user-u1"), Ok(()));
        assert_eq!(validate_channel_name("#server-to-user-"), Err(ChannelNameError::Empty));
    }
}
