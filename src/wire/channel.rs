//! Channel kinds decided by anchored, case-sensitive prefixes, longest first (spec 4.1).

/// What a channel name means to the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// No prefix: anyone may subscribe, no client events.
    Public,
    /// `cache-`: public with a cached last event.
    PublicCache,
    /// `private-`: needs a signature.
    Private,
    /// `private-cache-`.
    PrivateCache,
    /// `private-encrypted-`: signature; payloads end-to-end encrypted.
    Encrypted,
    /// `private-encrypted-cache-`.
    EncryptedCache,
    /// `presence-`: signature over `channel_data`.
    Presence,
    /// `presence-cache-`.
    PresenceCache,
    /// `#server-to-user-<id>`.
    ServerToUser,
}

impl ChannelKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::Public,
        ChannelKind::PublicCache,
        ChannelKind::Private,
        ChannelKind::PrivateCache,
        ChannelKind::Encrypted,
        ChannelKind::EncryptedCache,
        ChannelKind::Presence,
        ChannelKind::PresenceCache,
        ChannelKind::ServerToUser,
    ];

    /// Classifies a name; the longest matching prefix wins.
    ///
    /// ```
    /// use pushcheck::wire::ChannelKind;
    /// assert_eq!(ChannelKind::of("private-encrypted-cache-x"), ChannelKind::EncryptedCache);
    /// assert_eq!(ChannelKind::of("my-private-x"), ChannelKind::Public);
    /// ```
    pub fn of(name: &str) -> ChannelKind {
        // Longest prefix first: the order of this list is the precedence.
        const TABLE: [(&str, ChannelKind); 8] = [
            ("private-encrypted-cache-", ChannelKind::EncryptedCache),
            ("private-encrypted-", ChannelKind::Encrypted),
            ("private-cache-", ChannelKind::PrivateCache),
            ("private-", ChannelKind::Private),
            ("presence-cache-", ChannelKind::PresenceCache),
            ("presence-", ChannelKind::Presence),
            ("cache-", ChannelKind::PublicCache),
            ("#server-to-user-", ChannelKind::ServerToUser),
        ];
        TABLE
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map_or(ChannelKind::Public, |(_, kind)| *kind)
    }

    /// The name prefix of this kind (empty for public).
    pub fn prefix(self) -> &'static str {
        match self {
            ChannelKind::Public => "",
            ChannelKind::PublicCache => "cache-",
            ChannelKind::Private => "private-",
            ChannelKind::PrivateCache => "private-cache-",
            ChannelKind::Encrypted => "private-encrypted-",
            ChannelKind::EncryptedCache => "private-encrypted-cache-",
            ChannelKind::Presence => "presence-",
            ChannelKind::PresenceCache => "presence-cache-",
            ChannelKind::ServerToUser => "#server-to-user-",
        }
    }

    /// Subscribing needs an `auth` signature.
    pub fn needs_auth(self) -> bool {
        match self {
            ChannelKind::Private
            | ChannelKind::PrivateCache
            | ChannelKind::Encrypted
            | ChannelKind::EncryptedCache
            | ChannelKind::Presence
            | ChannelKind::PresenceCache => true,
            ChannelKind::Public | ChannelKind::PublicCache | ChannelKind::ServerToUser => false,
        }
    }

    /// The signature covers `channel_data` (presence kinds).
    pub fn is_presence(self) -> bool {
        matches!(self, ChannelKind::Presence | ChannelKind::PresenceCache)
    }

    /// The server keeps the last REST event (spec 10.1).
    pub fn is_cache(self) -> bool {
        matches!(
            self,
            ChannelKind::PublicCache
                | ChannelKind::PrivateCache
                | ChannelKind::EncryptedCache
                | ChannelKind::PresenceCache
        )
    }

    /// End-to-end encrypted kinds.
    pub fn is_encrypted(self) -> bool {
        matches!(self, ChannelKind::Encrypted | ChannelKind::EncryptedCache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_classifies_its_own_prefix() {
        for kind in ChannelKind::ALL {
            assert_eq!(ChannelKind::of(&format!("{}abc", kind.prefix())), kind);
        }
    }

    #[test]
    fn prefixes_are_anchored_and_case_sensitive() {
        assert_eq!(ChannelKind::of("my-private-x"), ChannelKind::Public);
        assert_eq!(ChannelKind::of("Private-x"), ChannelKind::Public);
        assert_eq!(ChannelKind::of("x-cache-y"), ChannelKind::Public);
        assert_eq!(
            ChannelKind::of("presence-cache-y"),
            ChannelKind::PresenceCache
        );
    }
}
