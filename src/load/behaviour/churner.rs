//! Churners: every cycle connects, subscribes, holds, leaves, and proves
//! with two ping barriers that nothing arrives after leaving.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::time::{Instant, sleep_until};

use super::client::{Client, Control};
use crate::load::conn::Conn;
use crate::load::pacing::Pacing;
use crate::load::plan::Behaviour;
use crate::load::state::{Phase, Run};
use crate::metrics::{ErrorKind, Worker};

/// Entry point of a churner task.
pub(crate) async fn churner(run: Arc<Run>, pop: usize, local: u32, start: Instant) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.worker(pop, id);
    let Behaviour::Churner { set, rate, hold } = p.behaviour.clone() else {
        return;
    };
    let offset = Duration::from_secs_f64(f64::from(local) / p.ramp.get());
    let mut pacing = Pacing::new(start + offset, rate.interval());
    let mut phase = run.phase.subscribe();
    loop {
        let due = pacing.due();
        if !run.stop.allows(due) {
            return;
        }
        tokio::select! {
            () = sleep_until(due) => {}
            _ = phase.wait_for(|p| matches!(p, Phase::Drain | Phase::Stop)) => return,
        }
        let k = pacing.advance();
        let ch = run.set_offset[set.0]
            + ((u64::from(id) + k) % u64::from(run.plan.channel_sets[set.0].count)) as u32;
        if let Err(kind) = churn_cycle(&run, &w, (pop, id), ch, hold).await {
            w.error(kind);
        }
    }
}

async fn churn_cycle(
    run: &Arc<Run>,
    w: &Worker,
    (pop, id): (usize, u32),
    ch: u32,
    hold: Duration,
) -> Result<(), ErrorKind> {
    let deadline = Instant::now() + run.plan.connect_timeout;
    let node = run.plan.populations[pop].spread.node(id, run.nodes.len());
    let conn = Conn::open(&run.nodes[node].dialer, id, w, deadline).await?;
    run.connected_to(node, false);
    let mut c = Client::new(run.clone(), conn, w.clone(), (id, run.core_of(pop, id)));
    c.node = node;
    c.rx.churn = true;
    c.subscribe(ch).await?;
    let until = Instant::now() + hold;
    while c.next_control(until).await.is_some() {}
    let name = run.channels[ch as usize].clone();
    let unsub = json!({"event": "pusher:unsubscribe", "data": {"channel": &*name}});
    c.conn.send(unsub.to_string()).await?;
    c.rx.subscribed.retain(|x| *x != ch);
    c.rx.leaving.push(ch);
    for barrier in 0..2 {
        c.conn.ping().await?;
        let deadline = Instant::now() + run.plan.connect_timeout;
        loop {
            match c.next_control(deadline).await {
                Some(Control::Pong) => break,
                Some(_) => {}
                None => return Err(ErrorKind::Disconnected),
            }
        }
        if barrier == 0 {
            // The unsubscribe was processed before this pong: from here on
            // any delivery on the channel is one the socket must not get.
            c.rx.leaving.clear();
        }
    }
    w.tally(|t| t.churn_cycles += 1);
    Ok(())
}
