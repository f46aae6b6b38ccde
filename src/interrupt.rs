//! Ctrl-C and SIGTERM as a value passed in (no global flag): the command
//! layer owns the [`Trigger`], the engine and the runner watch an
//! [`Interrupt`]. The first signal asks for a drain (stop scheduling, let
//! what is in flight finish, write the reports), the second for an
//! immediate stop.

use tokio::sync::watch;

/// What has been asked for so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
    /// Keep going.
    Run,
    /// Stop scheduling; drain what is in flight, then report.
    Drain,
    /// Stop now (the second signal): skip the drain, then report.
    Abort,
}

/// The receiving side, cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Request>,
}

/// The sending side, held by the command layer's signal handler.
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<Request>,
}

impl Interrupt {
    /// A pair: signals sent on the trigger reach every clone of the interrupt.
    pub fn channel() -> (Trigger, Interrupt) {
        let (tx, rx) = watch::channel(Request::Run);
        (Trigger { tx }, Interrupt { rx })
    }

    /// An interrupt that never fires (tests, library callers).
    pub fn never() -> Interrupt {
        Interrupt::channel().1
    }

    /// What has been asked for so far.
    pub fn requested(&self) -> Request {
        *self.rx.borrow()
    }

    /// Whether at least a drain was asked for.
    pub fn is_set(&self) -> bool {
        self.requested() >= Request::Drain
    }

    /// Waits until at least `level` is asked for; forever when the trigger
    /// is gone without having asked.
    pub async fn wait_for(&self, level: Request) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|r| *r >= level).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Trigger {
    /// One more signal: `Run` becomes `Drain`, `Drain` becomes `Abort`.
    /// Returns the new request.
    pub fn escalate(&self) -> Request {
        let next = match *self.tx.borrow() {
            Request::Run => Request::Drain,
            Request::Drain | Request::Abort => Request::Abort,
        };
        self.tx.send_replace(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_signals_escalate_from_drain_to_abort() {
        let (trigger, interrupt) = Interrupt::channel();
        assert_eq!(interrupt.requested(), Request::Run);
        assert_eq!(trigger.escalate(), Request::Drain);
        interrupt.wait_for(Request::Drain).await;
        assert!(interrupt.is_set());
        assert_eq!(trigger.escalate(), Request::Abort);
        interrupt.clone().wait_for(Request::Abort).await;
    }
}
