//! Ctrl-C and SIGTERM become an [`Interrupt`]: the first asks the running
//! subcommand to drain and report, the second to stop at once. Printed once
//! each on stderr, so a user knows the reports are still coming.

use crate::interrupt::{Interrupt, Request};

/// Installs the handlers; the returned interrupt fires on the signals.
pub(super) fn install() -> Interrupt {
    let (trigger, interrupt) = Interrupt::channel();
    // The listeners are created once, before the first signal, and kept:
    // a listener made anew after each signal would miss a second signal
    // that arrives before it exists (a quick second Ctrl-C).
    #[cfg(unix)]
    let (mut int, mut term) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    tokio::spawn(async move {
        loop {
            #[cfg(unix)]
            {
                let got = tokio::select! {
                    r = recv(int.as_mut()) => r,
                    r = recv(term.as_mut()) => r,
                };
                if got.is_none() {
                    return;
                }
            }
            #[cfg(not(unix))]
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            match trigger.escalate() {
                Request::Drain => eprintln!(
                    "\ninterrupted: draining, then writing the reports (again to skip the drain)"
                ),
                Request::Abort | Request::Run => {
                    eprintln!("\ninterrupted again: skipping the drain");
                }
            }
        }
    });
    interrupt
}

/// The next signal of a listener; never, when it could not be installed.
#[cfg(unix)]
async fn recv(s: Option<&mut tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
