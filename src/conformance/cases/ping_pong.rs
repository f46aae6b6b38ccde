//! Spec 3, "Liveness: ping, pong, activity timeout".

use std::time::Duration;

use super::{case, expect_open};
use crate::client::Incoming;
use crate::conformance::{Case, Ctx, Doc, Failure, Outcome, SpecRef};
use crate::wire::ChannelKind;

const SECTION: SpecRef = SpecRef {
    doc: Doc::Protocol,
    slug: "ping-pong",
    section: "3. Liveness: ping, pong, activity timeout",
};

pub(super) fn cases() -> Vec<Case> {
    vec![
        case!(
            "protocol/ping-pong/app-ping",
            SECTION,
            Must,
            "pusher:ping is answered with pusher:pong as the next frame.",
            app_ping
        ),
        case!(
            "protocol/ping-pong/ws-ping",
            SECTION,
            Must,
            "A WebSocket control ping is answered with a control pong.",
            ws_ping
        ),
        case!(
            "protocol/ping-pong/server-pings-idle",
            SECTION,
            Should,
            "A silent client receives pusher:ping or a control ping within activity_timeout plus slack.",
            server_pings_idle,
            slow
        ),
        case!(
            "protocol/ping-pong/dead-client-closed",
            SECTION,
            Should,
            "A client ignoring pings is closed with 4201, not before activity_timeout + pong timeout and within that plus slack.",
            dead_client_closed,
            slow
        ),
        case!(
            "protocol/ping-pong/traffic-keeps-alive",
            SECTION,
            Must,
            "A client that never pings but keeps sending messages stays connected (any inbound message is proof of life).",
            traffic_keeps_alive,
            slow
        ),
    ]
}

async fn app_ping(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_ping().await?;
    c.expect_next("pusher:pong").await?;
    Ok(())
}

async fn ws_ping(ctx: Ctx) -> Outcome {
    let mut c = ctx.connect().await?;
    c.send_ws_ping().await?;
    loop {
        match c.recv().await {
            Some(Incoming::Pong) => return Ok(()),
            Some(Incoming::Text(_) | Incoming::Ping) => {}
            Some(other) => return Err(Failure::violation("a control pong", other.describe())),
            None => {
                return Err(Failure::violation(
                    "a control pong",
                    crate::client::nothing_within(ctx.timeout()),
                ));
            }
        }
    }
}

async fn server_pings_idle(ctx: Ctx) -> Outcome {
    let (slow, setup) = ctx.slow()?;
    let mut c = slow.connect().await?;
    let slack = setup.activity_timeout / 2 + Duration::from_secs(1);
    let deadline = tokio::time::Instant::now() + setup.activity_timeout + slack;
    loop {
        match c.recv_until(deadline).await {
            Some(Incoming::Ping) => return Ok(()),
            Some(Incoming::Text(e)) if e.event() == "pusher:ping" => return Ok(()),
            Some(closed @ Incoming::Closed(..)) => {
                return Err(Failure::violation("a ping", closed.describe()));
            }
            Some(_) => {}
            None => {
                return Err(Failure::violation(
                    "a ping while idle",
                    format!(
                        "nothing within {} ms",
                        (setup.activity_timeout + slack).as_millis()
                    ),
                ));
            }
        }
    }
}

async fn dead_client_closed(ctx: Ctx) -> Outcome {
    let (slow, setup) = ctx.slow()?;
    // Two silent clients: `early` is read once, just before the server may
    // close it (reading makes the WebSocket library answer control pings,
    // which keeps a client alive), `late` only after it must have.
    let (mut early, mut late) = (slow.connect().await?, slow.connect().await?);
    let start = tokio::time::Instant::now();
    let budget = setup.activity_timeout + setup.pong_timeout;
    // Time passing in silence is the requirement itself.
    tokio::time::sleep_until(start + budget * 3 / 4).await;
    // Only a close seen clearly before the budget is premature: a read that
    // a loaded scheduler delays past it proves nothing either way.
    let conclusive = start.elapsed() < budget - budget / 16;
    while let Some(incoming) = early.recv_until(tokio::time::Instant::now()).await {
        if let (closed @ Incoming::Closed(..), true) = (incoming, conclusive) {
            return Err(Failure::violation(
                format!(
                    "no close before activity_timeout + pong timeout ({} ms) of silence",
                    budget.as_millis()
                ),
                format!(
                    "{} within {} ms",
                    closed.describe(),
                    start.elapsed().as_millis()
                ),
            ));
        }
    }
    tokio::time::sleep_until(start + budget + budget / 2 + Duration::from_millis(500)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    match late.expect_close_until(deadline).await {
        Ok((Some(4201), _)) => Ok(()),
        Ok((code, reason)) => Err(Failure::violation(
            "close 4201",
            format!("close {code:?} {reason:?}"),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn traffic_keeps_alive(ctx: Ctx) -> Outcome {
    let (slow, setup) = ctx.slow()?;
    let mut c = slow.connect().await?;
    let step = setup.activity_timeout / 2;
    let rounds =
        3 * (setup.activity_timeout + setup.pong_timeout).as_millis() / step.as_millis().max(1);
    // Unsubscribing a subscribed channel draws no reply (spec 4.6), so only
    // the client's own messages can keep the connection alive: a server
    // whose idle timer counts its outbound frames closes it.
    let mut channels = Vec::new();
    for _ in 0..rounds {
        let channel = slow.unique_channel(ChannelKind::Public);
        c.subscribe(&channel).await?;
        channels.push(channel);
    }
    for channel in &channels {
        // The client speaks on a schedule without reading. A send that
        // fails means the server dropped the connection.
        if let Err(e) = c.unsubscribe(channel).await {
            return Err(Failure::violation(
                "the connection open while the client keeps sending",
                format!("sending failed: {e}"),
            ));
        }
        tokio::time::sleep(step).await;
    }
    expect_open(&slow, &mut c).await?;
    Ok(())
}
