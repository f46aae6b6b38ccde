//! What nodes tell each other on an app's Redis channel (`{prefix}:{app}:events`).
//!
//! One channel per app, not one per Pusher channel: every node subscribes
//! once at start, so a node that gains its first subscriber to a channel
//! never races its own `SUBSCRIBE` against an event already in flight, and
//! one Redis connection carries the app's events in one order. The cost is
//! that every node sees every event of the app and drops the ones for
//! channels it does not hold, which is a hash lookup. The presence,
//! occupancy and count messages are published by the Lua scripts themselves
//! (`lua/common.lua`), so they carry the app's sequence number and arrive in
//! the order the scripts ran.

use serde::{Deserialize, Serialize};

/// One message on an app's channel. Field names are shared with the Lua
/// scripts, which build the `added`, `removed` and `count` messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Envelope {
    /// An HTTP API event for one channel (spec 8.2).
    Publish {
        /// The node that took the request; it delivered to its own clients.
        origin: u64,
        /// Channel.
        channel: String,
        /// Event name.
        event: String,
        /// Event data.
        data: String,
        /// A socket id that must not get it (spec 8.9).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exclude: Option<String>,
        /// Set on cache channels (the slot and the message are numbered
        /// together, see `lua/cache_publish.lua`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A client event relayed by the sender's node (spec 6).
    Client {
        /// The sender's node; it relayed to its own clients.
        origin: u64,
        /// Channel.
        channel: String,
        /// The frame as the other subscribers get it, encoded once.
        frame: String,
    },
    /// Close every connection of a user (spec 8.7).
    Terminate {
        /// The node that took the request.
        origin: u64,
        /// The user.
        user_id: String,
    },
    /// A user's first connection anywhere joined a presence channel.
    Added {
        /// Channel.
        channel: String,
        /// User id.
        user_id: String,
        /// `user_info` JSON text; empty when absent.
        user_info: String,
        /// The app's sequence number of this change.
        seq: u64,
    },
    /// A user's last connection anywhere left a presence channel.
    Removed {
        /// Channel.
        channel: String,
        /// User id.
        user_id: String,
        /// The app's sequence number of this change.
        seq: u64,
    },
    /// The cluster-wide subscription count of a channel changed (spec 7.5).
    Count {
        /// Channel.
        channel: String,
        /// Subscribed connections on every node.
        count: u64,
        /// The app's sequence number of this change.
        seq: u64,
    },
    /// A user's first signed-in connection anywhere (spec 10.4).
    Online {
        /// User id.
        user_id: String,
        /// The app's sequence number of this change.
        seq: u64,
    },
    /// A user's last signed-in connection anywhere closed, or its node was
    /// reaped (spec 10.4).
    Offline {
        /// User id.
        user_id: String,
        /// The app's sequence number of this change.
        seq: u64,
    },
    /// Fault `cluster_reap_webhooks_per_node` only: a transition the
    /// reaper saw, for the other nodes to send its webhook again.
    Reaped {
        /// The reaper.
        origin: u64,
        /// Channel.
        channel: String,
        /// The member removed; `None` for the channel vacated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
}

impl Envelope {
    /// The JSON published.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_built_by_the_lua_scripts_decode() {
        // cjson's output for the scripts' tables (it escapes '/').
        let added = r#"{"t":"added","channel":"presence-a\/b","user_id":"u1","user_info":"{\"n\":1}","seq":12}"#;
        assert_eq!(
            serde_json::from_str::<Envelope>(added).expect("decodes"),
            Envelope::Added {
                channel: "presence-a/b".into(),
                user_id: "u1".into(),
                user_info: r#"{"n":1}"#.into(),
                seq: 12
            }
        );
        let count = r#"{"seq":3,"count":2,"t":"count","channel":"c"}"#;
        assert!(matches!(
            serde_json::from_str::<Envelope>(count),
            Ok(Envelope::Count {
                count: 2,
                seq: 3,
                ..
            })
        ));
    }

    #[test]
    fn publish_round_trips_without_exclude() {
        let publish = Envelope::Publish {
            origin: 7,
            channel: "c".into(),
            event: "e".into(),
            data: "{}".into(),
            exclude: None,
            seq: None,
        };
        let text = publish.encode();
        assert!(!text.contains("exclude"), "{text}");
        assert_eq!(
            serde_json::from_str::<Envelope>(&text).expect("decodes"),
            publish
        );
    }
}
