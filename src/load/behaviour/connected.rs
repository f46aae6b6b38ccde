//! The life of a connected client (subscriber, client-event sender,
//! attacker): ramp, bounded handshake, the behaviour's setup, then one
//! receive loop that also runs the behaviour's scheduled work.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::attacker::{self, Attacks};
use super::client::Client;
use super::client_events::{self, Sender};
use super::subscriber;
use crate::load::conn::{Conn, Read};
use crate::load::listen::Park;
use crate::load::pacing::Pacing;
use crate::load::plan::Behaviour;
use crate::load::state::{Phase, Run};
use crate::metrics::ErrorKind;

/// What a connected client does on its schedule during traffic.
pub(super) enum Work {
    /// Nothing: it only listens.
    Idle,
    /// Sends client events.
    ClientEvents(Sender),
    /// Sends forged subscriptions and requests.
    Attacks(Attacks),
}

/// The work and its schedule (set once traffic starts).
struct Job {
    work: Work,
    interval: Duration,
    pacing: Option<Pacing>,
}

impl Job {
    fn due(&self) -> Option<Instant> {
        self.pacing.as_ref().map(Pacing::due)
    }

    fn start(&mut self, at: Instant) {
        if !matches!(self.work, Work::Idle) {
            self.pacing = Some(Pacing::new(at, self.interval));
        }
    }

    fn stop(&mut self) {
        self.pacing = None;
    }
}

/// Entry point of a subscriber, client-event sender or attacker task. A
/// client with nothing scheduled is handed to `park` (its thread's
/// listener) once its setup is done, when its connection allows.
pub(crate) async fn connected(run: Arc<Run>, pop: usize, local: u32, park: Option<Park>) {
    let p = &run.plan.populations[pop];
    let id = p.first_id + local;
    let w = run.worker(pop, id);
    let due = run.connect_start + Duration::from_secs_f64(f64::from(local) / p.ramp.get());
    sleep_until(due).await;
    // Bounded handshakes in flight: a server slower than the ramp would
    // otherwise pile up thousands of half-open clients and their transient
    // buffers, inflating the generator's memory for the rest of the run.
    let Ok(permit) = run.connect_permits.acquire().await else {
        return;
    };
    let deadline = Instant::now() + run.plan.connect_timeout;
    // The handshake, setup and tick futures are large and short-lived: boxed,
    // they are freed when done instead of sizing every idle client's task.
    let node = run.node_of(pop, id);
    let conn = match Box::pin(Conn::open(&run.nodes[node].dialer, id, &w, deadline)).await {
        Ok(c) => c,
        Err(kind) => {
            w.error(kind);
            run.pending.ready_one();
            return;
        }
    };
    run.connected_to(node, false);
    let behaviour = p.behaviour.clone();
    // Boxed: the task stays small, and a hand-over to a listener moves a pointer.
    let mut c = Box::new(Client::new(
        run.clone(),
        conn,
        w,
        (id, run.core_of(pop, id)),
    ));
    c.node = node;
    let job = match Box::pin(setup(&mut c, &behaviour)).await {
        Ok(job) => job,
        Err(kind) => {
            c.w.error(kind);
            run.pending.ready_one();
            return;
        }
    };
    drop(permit);
    c.w.tally(|t| t.ready += 1);
    // Handed over before it counts as ready: once every client is ready,
    // every hand-over of the connect phase is counted.
    let kept = match (&job.work, park) {
        (Work::Idle, Some(park)) => park.park(c).err(),
        _ => Some(c),
    };
    run.pending.ready_one();
    if let Some(c) = kept {
        // Boxed: a listened client never needs the receive loop's state.
        Box::pin(serve(c, job)).await;
    }
}

async fn setup(c: &mut Client, b: &Behaviour) -> Result<Job, ErrorKind> {
    let (work, interval) = match b {
        Behaviour::Subscriber { set, per_client } => {
            subscriber::setup(c, *set, *per_client).await?;
            (Work::Idle, Duration::ZERO)
        }
        Behaviour::ClientEvents { set, rate, payload } => {
            let sender = client_events::setup(c, *set, *payload).await?;
            (Work::ClientEvents(sender), rate.interval())
        }
        Behaviour::Attacker { rate, attacks, .. } => {
            let a = attacker::setup(c, attacks).await?;
            (Work::Attacks(a), rate.interval())
        }
        Behaviour::Publisher { .. } | Behaviour::Churner { .. } => (Work::Idle, Duration::ZERO),
    };
    Ok(Job {
        work,
        interval,
        pacing: None,
    })
}

/// The receive loop: frames, the job's schedule and phase changes.
///
/// The phase waiter is made once per phase, not once per frame: a frame
/// costs one read and its accounting, without registering and dropping a
/// waiter each time (issue 14).
async fn serve(mut c: Box<Client>, mut job: Job) {
    let mut phase = c.run.phase.subscribe();
    let current = *phase.borrow_and_update();
    match current {
        Phase::Traffic(at) => job.start(at),
        Phase::Stop => return,
        Phase::Connect | Phase::Drain => {}
    }
    loop {
        let changed = {
            let changed = phase.changed();
            tokio::pin!(changed);
            loop {
                let due = job.due();
                let tick = async move {
                    match due {
                        Some(at) => sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                // Phase and schedule first, so a busy socket cannot starve them.
                tokio::select! {
                    biased;
                    changed = &mut changed => break changed,
                    () = tick => {
                        if !Box::pin(self::tick(&mut c, &mut job)).await { job.stop(); }
                    }
                    read = c.conn.recv() => match read {
                        Read::Text(span) => { c.on_frame(span).await; }
                        Read::Closed => {
                            let now = *c.run.phase.borrow();
                            if closed(&mut c, &job, now).await {
                                continue;
                            }
                            return;
                        }
                    },
                }
            }
        };
        if changed.is_err() {
            return;
        }
        match *phase.borrow_and_update() {
            Phase::Traffic(at) => job.start(at),
            Phase::Drain => job.stop(),
            Phase::Stop => return,
            Phase::Connect => {}
        }
    }
}

/// The connection closed in phase `now`: `true` when the client recovered
/// (reconnected and resubscribed), `false` when it is done.
async fn closed(c: &mut Client, job: &Job, now: Phase) -> bool {
    let recoverable = c.run.recovers_in(now) && !matches!(job.work, Work::Attacks(_));
    if recoverable {
        match Box::pin(c.recover()).await {
            Ok(()) => return true,
            Err(kind) => c.w.error(kind),
        }
    } else if now != Phase::Stop {
        c.w.error(ErrorKind::Disconnected);
    }
    false
}

/// Runs one due send of the job; `false` when the schedule is over.
async fn tick(c: &mut Client, job: &mut Job) -> bool {
    let Some(pacing) = job.pacing.as_mut() else {
        return false;
    };
    match &mut job.work {
        Work::Idle => false,
        Work::ClientEvents(sender) => client_events::tick(c, sender, pacing).await,
        Work::Attacks(attacks) => attacker::tick(c, attacks, pacing).await,
    }
}
