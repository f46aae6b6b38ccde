//! One channel's subscribers and presence roster (spec 4, 7).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::value::RawValue;

use super::conn::{Conn, Marks};
use crate::protocol::frame::Frame;
use crate::protocol::message;

/// A presence member and how many of its connections are in the channel.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) user_info: Option<Arc<RawValue>>,
    pub(crate) connections: u32,
}

/// State of one occupied channel. Exists only while it has subscribers.
#[derive(Debug, Default)]
pub(crate) struct Channel {
    /// Subscribed connections by connection id.
    pub(crate) subscribers: HashMap<u64, Arc<Conn>>,
    /// Presence roster by user id (presence channels only).
    pub(crate) members: HashMap<Arc<str>, Member>,
    /// Which user each presence connection joined as.
    pub(crate) member_of: HashMap<u64, Arc<str>>,
    /// When `subscription_count` was last sent (spec 7.5 throttle).
    pub(crate) count_sent: Option<Instant>,
    /// Whether a delayed `subscription_count` is already scheduled.
    pub(crate) count_scheduled: bool,
}

impl Channel {
    /// Sends `frame` to every subscriber except `skip`; returns how many got it.
    pub(crate) fn broadcast(&self, frame: &Frame, skip: Option<u64>) -> usize {
        let mut sent = 0;
        let mut marks = Marks::default();
        for (id, conn) in &self.subscribers {
            if Some(*id) != skip {
                conn.send_to(frame.clone(), &mut marks);
                sent += 1;
            }
        }
        sent
    }

    /// Sends `frame` to every subscriber whose socket id is not `exclude`
    /// (spec 8.9); returns how many got it.
    pub(crate) fn publish(&self, frame: &Frame, exclude: Option<&str>) -> usize {
        let mut sent = 0;
        let mut marks = Marks::default();
        for conn in self.subscribers.values() {
            if Some(conn.socket_id.as_ref()) != exclude {
                conn.send_to(frame.clone(), &mut marks);
                sent += 1;
            }
        }
        sent
    }

    /// `subscription_succeeded` for a presence channel: ids, hash and count (spec 4.4).
    pub(crate) fn roster_frame(&self, channel: &str) -> Frame {
        let members = self
            .members
            .iter()
            .map(|(id, m)| (id.as_ref(), m.user_info.as_deref()));
        roster(channel, members)
    }
}

/// `subscription_succeeded` for a presence channel with these members (spec 4.4).
pub(crate) fn roster<'a>(
    channel: &str,
    members: impl Iterator<Item = (&'a str, Option<&'a RawValue>)>,
) -> Frame {
    #[derive(Serialize)]
    struct Presence<'a> {
        ids: Vec<&'a str>,
        hash: HashMap<&'a str, Option<&'a RawValue>>,
        count: usize,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        presence: Presence<'a>,
    }
    let hash: HashMap<&str, Option<&RawValue>> = members.collect();
    let ids: Vec<&str> = hash.keys().copied().collect();
    let presence = Presence {
        count: ids.len(),
        ids,
        hash,
    };
    message::json_string_data(
        "pusher_internal:subscription_succeeded",
        Some(channel),
        &Data { presence },
    )
}

/// `pusher_internal:member_added` (spec 7.2); `user_info` left out when absent (spec 13.7).
pub(crate) fn member_added(channel: &str, user_id: &str, user_info: Option<&RawValue>) -> Frame {
    #[derive(Serialize)]
    struct Added<'a> {
        user_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_info: Option<&'a RawValue>,
    }
    message::json_string_data(
        "pusher_internal:member_added",
        Some(channel),
        &Added { user_id, user_info },
    )
}

/// `pusher_internal:member_removed` (spec 7.2).
pub(crate) fn member_removed(channel: &str, user_id: &str) -> Frame {
    #[derive(Serialize)]
    struct Removed<'a> {
        user_id: &'a str,
    }
    message::json_string_data(
        "pusher_internal:member_removed",
        Some(channel),
        &Removed { user_id },
    )
}
