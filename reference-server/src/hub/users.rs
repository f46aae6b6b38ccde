//! Signed-in users and their watchlists (spec 5.3, 8.7, 10.4).
//!
//! On a single node a watchlist's state and events come from here alone.
//! In cluster mode (see `clustered.rs`) the state comes from Redis and the
//! events from the app's Redis channel, numbered by the app's sequence: a
//! watch is pending until its sign-in script answers, holds the events that
//! arrive meanwhile, and then takes only those numbered after the state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::conn::Conn;
use crate::protocol::close::CloseCode;
use crate::protocol::frame::Frame;
use crate::protocol::message::{self, WatchlistEntry};
use crate::protocol::session::SignedIn;

/// Watchlist events held for one pending watch at most; past it the
/// connection is closed 4100.
const MAX_HELD: usize = 1024;

/// Who is signed in where, and who watches whom.
#[derive(Debug, Default)]
pub(crate) struct Users {
    /// Connections signed in as each user; a user is online while this is non-empty.
    signed_in: HashMap<Arc<str>, HashMap<u64, Arc<Conn>>>,
    /// Connections watching each user id.
    watchers: HashMap<Arc<str>, HashSet<u64>>,
    /// Each watching connection's watch.
    watching: HashMap<u64, Watch>,
}

#[derive(Debug)]
struct Watch {
    conn: Arc<Conn>,
    ids: Vec<Arc<str>>,
    /// The sequence number of the state it was sent; `None` while pending.
    since: Option<u64>,
    /// Events that arrived while pending, with their numbers.
    held: Vec<(u64, Frame)>,
}

fn state_frame(ids: &[Arc<str>], is_online: impl Fn(&str) -> bool) -> Frame {
    let (online, offline): (Vec<&Arc<str>>, Vec<&Arc<str>>) =
        ids.iter().partition(|id| is_online(id));
    let entries: Vec<WatchlistEntry<'_>> = [("online", online), ("offline", offline)]
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(name, ids)| WatchlistEntry {
            name,
            user_ids: ids.into_iter().map(AsRef::as_ref).collect(),
        })
        .collect();
    message::watchlist_events(&entries)
}

impl Users {
    /// Records a sign-in; tells the new connection its watchlist's state and
    /// the user's watchers that it came online (one node).
    pub(crate) fn sign_in(&mut self, conn: &Arc<Conn>, signed_in: SignedIn) {
        let user_id = signed_in.user_id.clone();
        let came_online = self.record(conn, &user_id);
        if !signed_in.watchlist.is_empty() {
            let ids = self.watch(conn, signed_in.watchlist, Some(0));
            let frame = state_frame(&ids, |id| self.signed_in.contains_key(id));
            conn.send(frame);
        }
        if came_online {
            self.notify(&user_id, "online", None);
        }
    }

    /// Records a sign-in whose state and announcements come from the
    /// cluster; returns the watched ids (their watch pending).
    pub(crate) fn sign_in_shared(
        &mut self,
        conn: &Arc<Conn>,
        signed_in: SignedIn,
    ) -> Vec<Arc<str>> {
        self.record(conn, &signed_in.user_id);
        if signed_in.watchlist.is_empty() {
            return Vec::new();
        }
        self.watch(conn, signed_in.watchlist, None)
    }

    /// The cluster's state for a pending watch: `online` are the watched ids
    /// online anywhere as of `seq`; then what it held numbered after `seq`.
    pub(crate) fn watch_state(&mut self, conn_id: u64, seq: u64, online: &[String]) {
        let Some(watch) = self.watching.get_mut(&conn_id) else {
            return;
        };
        if watch.since.is_some() {
            return;
        }
        watch
            .conn
            .send(state_frame(&watch.ids, |id| online.iter().any(|o| o == id)));
        watch.since = Some(seq);
        for (at, frame) in std::mem::take(&mut watch.held) {
            if at > seq {
                watch.conn.send(frame);
            }
        }
    }

    /// `true` when the user came online with this connection (here).
    fn record(&mut self, conn: &Arc<Conn>, user_id: &Arc<str>) -> bool {
        let sessions = self.signed_in.entry(user_id.clone()).or_default();
        let came_online = sessions.is_empty();
        sessions.insert(conn.id, conn.clone());
        self.unwatch(conn.id);
        came_online
    }

    fn watch(
        &mut self,
        conn: &Arc<Conn>,
        watchlist: Vec<String>,
        since: Option<u64>,
    ) -> Vec<Arc<str>> {
        let ids: Vec<Arc<str>> = watchlist.into_iter().map(Arc::from).collect();
        for id in &ids {
            self.watchers.entry(id.clone()).or_default().insert(conn.id);
        }
        let watch = Watch {
            conn: conn.clone(),
            ids: ids.clone(),
            since,
            held: Vec::new(),
        };
        self.watching.insert(conn.id, watch);
        ids
    }

    fn unwatch(&mut self, conn_id: u64) {
        let Some(watch) = self.watching.remove(&conn_id) else {
            return;
        };
        for id in watch.ids {
            if let Some(watchers) = self.watchers.get_mut(&id) {
                watchers.remove(&conn_id);
                if watchers.is_empty() {
                    self.watchers.remove(&id);
                }
            }
        }
    }

    /// Tells `user_id`'s watchers it went `name` (`online`, `offline`);
    /// `seq` numbers a cluster event.
    pub(crate) fn notify(&mut self, user_id: &str, name: &'static str, seq: Option<u64>) {
        let Some(watchers) = self.watchers.get(user_id) else {
            return;
        };
        let frame = message::watchlist_events(&[WatchlistEntry {
            name,
            user_ids: vec![user_id],
        }]);
        for id in watchers {
            let Some(watch) = self.watching.get_mut(id) else {
                continue;
            };
            match (watch.since, seq) {
                (Some(since), Some(seq)) if seq <= since => {}
                (Some(_), _) => watch.conn.send(frame.clone()),
                (None, Some(seq)) if watch.held.len() < MAX_HELD => {
                    watch.held.push((seq, frame.clone()));
                }
                (None, _) => watch.conn.close(CloseCode::OverCapacity),
            }
        }
    }

    /// Forgets a closed connection; its user goes offline with its last
    /// connection, announced here when `announce` (one node). `true` when it
    /// was signed in.
    pub(crate) fn sign_out(&mut self, conn_id: u64, user_id: &str, announce: bool) -> bool {
        self.unwatch(conn_id);
        let Some(sessions) = self.signed_in.get_mut(user_id) else {
            return false;
        };
        let was = sessions.remove(&conn_id).is_some();
        if sessions.is_empty() {
            self.signed_in.remove(user_id);
            if announce {
                self.notify(user_id, "offline", None);
            }
        }
        was
    }

    /// Every connection signed in as `user_id`.
    pub(crate) fn connections_of(&self, user_id: &str) -> Vec<Arc<Conn>> {
        self.signed_in
            .get(user_id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Each signed-in user with its number of connections here (a
    /// cluster resync puts these back in Redis).
    pub(crate) fn counts(&self) -> Vec<(Arc<str>, usize)> {
        self.signed_in
            .iter()
            .map(|(user, sessions)| (user.clone(), sessions.len()))
            .collect()
    }

    /// Forgets every signed-in connection and watch, and returns the
    /// connections: the caller closes them, and their sign-outs then find
    /// nothing (the cluster already took their users offline).
    pub(crate) fn forget_all(&mut self) -> Vec<Arc<Conn>> {
        self.watchers.clear();
        self.watching.clear();
        std::mem::take(&mut self.signed_in)
            .into_values()
            .flat_map(HashMap::into_values)
            .collect()
    }
}
