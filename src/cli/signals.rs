//! Ctrl-C and SIGTERM become an [`Interrupt`]: the first asks the running
//! subcommand to drain and report, the second to stop at once. Printed once
//! each on stderr, so a user knows the reports are still coming.

use crate::interrupt::{Interrupt, Request};

/// Installs the handlers; the returned interrupt fires on the signals.
pub(super) fn install() -> Interrupt {
    let (trigger, interrupt) = Interrupt::channel();
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let terminated = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminated = std::future::pending::<()>();
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { return },
                () = terminated => {}
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
