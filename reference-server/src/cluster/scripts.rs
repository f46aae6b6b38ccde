//! The Lua scripts that change shared state, as commands, and their replies
//! as types. Each script runs atomically in Redis, which is what makes a
//! transition (occupied, vacated, first or last member) happen once.

use redis::{Cmd, Value};

use super::ClusterError;

macro_rules! script {
    ($file:literal) => {
        concat!(include_str!("lua/common.lua"), include_str!($file))
    };
}

pub(crate) const JOIN: &str = script!("lua/join.lua");
pub(crate) const LEAVE: &str = script!("lua/leave.lua");
pub(crate) const REAP: &str = script!("lua/reap.lua");
pub(crate) const RECONCILE: &str = script!("lua/reconcile.lua");
pub(crate) const ADMIT: &str = script!("lua/admit.lua");
pub(crate) const RELEASE: &str = script!("lua/release.lua");
pub(crate) const CACHE_PUBLISH: &str = script!("lua/cache_publish.lua");
pub(crate) const RAISE: &str = script!("lua/raise.lua");
pub(crate) const SIGN_IN: &str = script!("lua/sign_in.lua");
pub(crate) const SIGN_OUT: &str = script!("lua/sign_out.lua");
pub(crate) const RECONCILE_USERS: &str = script!("lua/reconcile_users.lua");
/// Fault `cluster_restart_revives_users` only.
pub(crate) const ADOPT_USERS: &str = script!("lua/adopt_users.lua");

/// `EVAL script 0 args...`. Scripts name no keys up front: they derive them
/// from the prefix, which a single (non-cluster) Redis allows.
pub(crate) fn eval(script: &str, args: &[&str]) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(0);
    for arg in args {
        cmd.arg(*arg);
    }
    cmd
}

/// A change of shared state that one script saw happen, reported once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    /// App id.
    pub(crate) app: String,
    /// Channel.
    pub(crate) channel: String,
    /// What happened.
    pub(crate) kind: TransitionKind,
}

/// What happened to a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TransitionKind {
    /// First subscription anywhere.
    Occupied,
    /// Last subscription anywhere gone.
    Vacated,
    /// A user's first presence connection anywhere.
    MemberAdded(String),
    /// A user's last presence connection anywhere gone.
    MemberRemoved(String),
    /// The cluster-wide subscription count is now this.
    Count(u64),
}

/// What a join script answered.
#[derive(Debug)]
pub(crate) enum JoinReply {
    /// The presence channel is full across the cluster (spec 7.3).
    Full,
    /// Joined.
    Joined {
        /// The app's sequence number once the join was applied: later
        /// messages have larger numbers.
        seq: u64,
        /// Subscribed connections across the cluster, this one included.
        total: u64,
        /// What the join changed.
        transitions: Vec<Transition>,
        /// The presence roster after the join: (user id, user_info JSON or "").
        roster: Vec<(String, String)>,
        /// The cache slot as of the join, for cache channels.
        cached: Option<CacheSlot>,
    },
}

/// A cache channel's last event as stored in Redis.
#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct CacheSlot {
    /// Event name.
    pub(crate) event: String,
    /// Event data.
    pub(crate) data: String,
}

fn bad(what: &'static str) -> ClusterError {
    ClusterError::Reply { what }
}

pub(crate) fn int(value: &Value) -> Result<i64, ClusterError> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::BulkString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(bad("an integer")),
        _ => Err(bad("an integer")),
    }
}

pub(crate) fn text(value: &Value) -> Result<String, ClusterError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).map_err(|_| bad("UTF-8 text")),
        Value::SimpleString(s) => Ok(s.clone()),
        _ => Err(bad("a string")),
    }
}

pub(crate) fn array(value: &Value) -> Result<&[Value], ClusterError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Nil => Ok(&[]),
        _ => Err(bad("an array")),
    }
}

/// Pairs of a flat `[k1, v1, k2, v2, ...]` reply (HGETALL).
pub(crate) fn pairs(value: &Value) -> Result<Vec<(String, String)>, ClusterError> {
    array(value)?
        .chunks(2)
        .map(|pair| match pair {
            [k, v] => Ok((text(k)?, text(v)?)),
            _ => Err(bad("key/value pairs")),
        })
        .collect()
}

/// The `out` table of a script: (app, channel, kind, user, n) five at a time.
pub(crate) fn transitions(value: &Value) -> Result<Vec<Transition>, ClusterError> {
    array(value)?
        .chunks(5)
        .map(|row| {
            let [app, channel, kind, user, n] = row else {
                return Err(bad("transitions of five fields"));
            };
            let kind = match text(kind)?.as_str() {
                "occupied" => TransitionKind::Occupied,
                "vacated" => TransitionKind::Vacated,
                "member_added" => TransitionKind::MemberAdded(text(user)?),
                "member_removed" => TransitionKind::MemberRemoved(text(user)?),
                "count" => TransitionKind::Count(int(n)?.max(0) as u64),
                _ => return Err(bad("a known transition")),
            };
            Ok(Transition {
                app: text(app)?,
                channel: text(channel)?,
                kind,
            })
        })
        .collect()
}

pub(crate) fn join_reply(value: &Value) -> Result<JoinReply, ClusterError> {
    match array(value)? {
        [full] if int(full)? == -1 => Ok(JoinReply::Full),
        [seq, total, out, roster, slot] => Ok(JoinReply::Joined {
            seq: int(seq)?.max(0) as u64,
            total: int(total)?.max(0) as u64,
            transitions: transitions(out)?,
            roster: pairs(roster)?,
            cached: match text(slot)?.as_str() {
                "" => None,
                json => Some(serde_json::from_str(json).map_err(|_| bad("a cache slot"))?),
            },
        }),
        _ => Err(bad("a join reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn transitions_are_read_five_fields_at_a_time() {
        let out = Value::Array(vec![
            bulk("app"),
            bulk("presence-a"),
            bulk("member_added"),
            bulk("u1"),
            Value::Int(0),
            bulk("app"),
            bulk("c"),
            bulk("count"),
            bulk(""),
            Value::Int(3),
        ]);
        assert_eq!(
            transitions(&out).expect("valid"),
            vec![
                Transition {
                    app: "app".into(),
                    channel: "presence-a".into(),
                    kind: TransitionKind::MemberAdded("u1".into()),
                },
                Transition {
                    app: "app".into(),
                    channel: "c".into(),
                    kind: TransitionKind::Count(3),
                },
            ]
        );
        let unknown = Value::Array(vec![
            bulk("a"),
            bulk("c"),
            bulk("exploded"),
            bulk(""),
            Value::Int(0),
        ]);
        assert!(matches!(
            transitions(&unknown),
            Err(ClusterError::Reply { .. })
        ));
        let short = Value::Array(vec![bulk("a"), bulk("c")]);
        assert!(
            transitions(&short).is_err(),
            "a partial row is an error, not dropped"
        );
    }

    #[test]
    fn join_replies_say_full_or_joined() {
        assert!(matches!(
            join_reply(&Value::Array(vec![Value::Int(-1)])),
            Ok(JoinReply::Full)
        ));
        let joined = Value::Array(vec![
            Value::Int(7),
            Value::Int(2),
            Value::Array(vec![]),
            Value::Array(vec![bulk("u1"), bulk(r#"{"n":1}"#)]),
            bulk(r#"{"event":"e","data":"d"}"#),
        ]);
        let Ok(JoinReply::Joined {
            seq,
            total,
            roster,
            cached,
            ..
        }) = join_reply(&joined)
        else {
            panic!("a join reply");
        };
        assert_eq!((seq, total), (7, 2));
        assert_eq!(roster, vec![("u1".to_owned(), r#"{"n":1}"#.to_owned())]);
        assert_eq!(
            cached.map(|slot| (slot.event, slot.data)),
            Some(("e".into(), "d".into()))
        );
        assert!(join_reply(&Value::Array(vec![Value::Int(1)])).is_err());
    }
}
