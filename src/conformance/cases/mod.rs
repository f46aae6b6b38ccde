//! The catalogue, one module per spec section, in spec order, plus the small
//! helpers the cases are built from.

mod auth_signatures;
mod cache;
mod client_event_rules;
mod client_events;
mod cluster;
mod connection;
mod forged_members;
mod forgery;
mod framing;
mod identity;
mod names;
mod ping_pong;
mod presence;
mod rest_api;
mod rest_auth;
mod rest_binding;
mod rest_input;
mod subscriptions;
mod watchlist;
mod webhooks;

use serde_json::{Value, json};

use super::observe::{Path, expect_no_event, expect_none, expect_open, expect_refused};
use super::{Case, Ctx, Failure};
use crate::client::{ProtocolClient, RestResponse};
use crate::wire::Envelope;

/// Builds a [`Case`] from its fields and an `async fn(Ctx) -> Outcome`.
macro_rules! case {
    ($id:literal, $section:expr, $level:ident, $req:literal, $f:path) => {
        crate::conformance::Case {
            id: $id,
            spec: $section,
            level: crate::conformance::Level::$level,
            requirement: $req,
            slow: false,
            security: false,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
    ($id:literal, $section:expr, $level:ident, $req:literal, $f:path, slow) => {
        crate::conformance::Case {
            slow: true,
            ..case!($id, $section, $level, $req, $f)
        }
    };
    ($id:literal, $section:expr, $level:ident, $req:literal, $f:path, security) => {
        crate::conformance::Case {
            security: true,
            ..case!($id, $section, $level, $req, $f)
        }
    };
    ($id:literal, $section:expr, $level:ident, $req:literal, $f:path, slow, security) => {
        crate::conformance::Case {
            slow: true,
            security: true,
            ..case!($id, $section, $level, $req, $f)
        }
    };
}
pub(crate) use case;

/// Every case in spec order.
pub(super) fn all() -> Vec<Case> {
    [
        connection::cases(),
        framing::cases(),
        ping_pong::cases(),
        subscriptions::cases(),
        names::cases(),
        presence::cases(),
        client_events::cases(),
        client_event_rules::cases(),
        forgery::cases(),
        forged_members::cases(),
        auth_signatures::cases(),
        identity::cases(),
        rest_auth::cases(),
        rest_binding::cases(),
        rest_api::cases(),
        rest_input::cases(),
        webhooks::cases(),
        cache::cases(),
        watchlist::cases(),
        cluster::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Held by every case that fills the `limited` app's connection quota,
/// so two of them never count each other's connections.
async fn limited_app_gate(ctx: &Ctx) -> tokio::sync::OwnedMutexGuard<()> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock};
    static GATES: LazyLock<parking_lot::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let key = ctx.target().rest_base.clone();
    let gate = GATES.lock().entry(key).or_default().clone();
    gate.lock_owned().await
}

/// Checks a response status; a 2xx answer must also carry a JSON object
/// body (spec 8.1: success bodies are JSON, `{}` at least).
fn expect_status(resp: &RestResponse, status: u16, what: &str) -> Result<(), Failure> {
    let object = resp.json().is_some_and(|j| j.is_object());
    if resp.status == status && ((200..300).contains(&status) && !object) {
        Err(Failure::violation(
            format!("HTTP {status} with a JSON object body for {what}"),
            resp.describe(),
        ))
    } else if resp.status == status {
        Ok(())
    } else {
        Err(Failure::violation(
            format!("HTTP {status} for {what}"),
            resp.describe(),
        ))
    }
}

/// Publishes one event over REST and expects 200.
async fn publish(ctx: &Ctx, channel: &str, event: &str, data: &str) -> Result<(), Failure> {
    let resp = ctx
        .rest()
        .publish(&[channel], event, data, json!({}))
        .await?;
    expect_status(&resp, 200, "a valid publish")
}

/// A fresh connection subscribes with exactly these fields; it must be refused
/// and must not receive a later event on the channel.
async fn expect_forgery_refused(
    ctx: &Ctx,
    channel: &str,
    auth: Option<&str>,
    data: Option<&str>,
) -> Result<(), Failure> {
    let mut c = ctx.connect().await?;
    c.send_subscribe(channel, auth, data).await?;
    expect_refused(ctx, &mut c, channel).await?;
    expect_no_leak(ctx, &mut c, channel).await
}

/// Publishes on `channel`, which `c` was refused, and proves by a sentinel
/// on its connection that nothing on `channel` reaches it (spec 4.5).
async fn expect_no_leak(ctx: &Ctx, c: &mut ProtocolClient, channel: &str) -> Result<(), Failure> {
    publish(ctx, channel, "after-forgery", "{}").await?;
    let what = format!("any event on refused {channel}");
    expect_none(ctx, c, Path::Connection, &what, |e| {
        e.channel() == Some(channel)
    })
    .await
    .map(drop)
}

/// The decoded `data` of a frame, or a violation naming the frame.
fn data_object(e: &Envelope, what: &str) -> Result<Value, Failure> {
    match e.data_decoded() {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(Failure::violation(
            format!("{what} with an object in data"),
            e.encode(),
        )),
    }
}

/// A presence `channel_data` text for `user_id`.
fn member(user_id: &str) -> String {
    json!({"user_id": user_id, "user_info": {"name": user_id}}).to_string()
}
