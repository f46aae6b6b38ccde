//! Signed-in users and their watchlists (spec 5.3, 8.7, 10.4).

use std::collections::HashMap;
use std::sync::Arc;

use super::conn::Conn;
use crate::protocol::message::{self, WatchlistEntry};
use crate::protocol::session::SignedIn;

/// Who is signed in where, and who watches whom.
#[derive(Debug, Default)]
pub(crate) struct Users {
    /// Connections signed in as each user; a user is online while this is non-empty.
    signed_in: HashMap<Arc<str>, HashMap<u64, Arc<Conn>>>,
    /// Connections watching each user id.
    watchers: HashMap<Arc<str>, HashMap<u64, Arc<Conn>>>,
    /// Each watching connection's list, to undo on sign-out.
    watching: HashMap<u64, Vec<Arc<str>>>,
}

impl Users {
    /// Records a sign-in; tells the new connection its watchlist's state and
    /// the user's watchers that it came online.
    pub(crate) fn sign_in(&mut self, conn: &Arc<Conn>, signed_in: SignedIn) {
        let user_id = signed_in.user_id;
        let sessions = self.signed_in.entry(user_id.clone()).or_default();
        let came_online = sessions.is_empty();
        sessions.insert(conn.id, conn.clone());
        self.unwatch(conn.id);
        if !signed_in.watchlist.is_empty() {
            self.watch(conn, signed_in.watchlist);
        }
        if came_online {
            self.notify(&user_id, "online");
        }
    }

    fn watch(&mut self, conn: &Arc<Conn>, watchlist: Vec<String>) {
        let ids: Vec<Arc<str>> = watchlist.into_iter().map(Arc::from).collect();
        let (online, offline): (Vec<&Arc<str>>, Vec<&Arc<str>>) =
            ids.iter().partition(|id| self.signed_in.get(id.as_ref()).is_some_and(|s| !s.is_empty()));
        let entries: Vec<WatchlistEntry<'_>> = [("online", online), ("offline", offline)]
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(name, ids)| WatchlistEntry { name, user_ids: ids.into_iter().map(AsRef::as_ref).collect() })
            .collect();
        conn.send(message::watchlist_events(&entries));
        for id in &ids {
            self.watchers.entry(id.clone()).or_default().insert(conn.id, conn.clone());
        }
        self.watching.insert(conn.id, ids);
    }

    fn unwatch(&mut self, conn_id: u64) {
        for id in self.watching.remove(&conn_id).unwrap_or_default() {
            if let Some(watchers) = self.watchers.get_mut(&id) {
                watchers.remove(&conn_id);
                if watchers.is_empty() {
                    self.watchers.remove(&id);
                }
            }
        }
    }

    fn notify(&self, user_id: &str, name: &'static str) {
        let Some(watchers) = self.watchers.get(user_id) else { return };
        let frame = message::watchlist_events(&[WatchlistEntry { name, user_ids: vec![user_id] }]);
        for conn in watchers.values() {
            conn.send(frame.clone());
        }
    }

    /// Forgets a closed connection; its user goes offline with its last connection.
    pub(crate) fn sign_out(&mut self, conn_id: u64, user_id: &str) {
        self.unwatch(conn_id);
        let Some(sessions) = self.signed_in.get_mut(user_id) else { return };
        sessions.remove(&conn_id);
        if sessions.is_empty() {
            self.signed_in.remove(user_id);
            self.notify(user_id, "offline");
        }
    }

    /// Every connection signed in as `user_id`.
    pub(crate) fn connections_of(&self, user_id: &str) -> Vec<Arc<Conn>> {
        self.signed_in.get(user_id).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }
}
