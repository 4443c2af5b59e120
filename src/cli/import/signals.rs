//! Ctrl-C and SIGTERM for an import or a sync: registered once, before the run starts, so
//! no signal is lost between the first and the second (the first stops the run
//! cleanly, the second quits at once). What a stop does is the engine's.

/// The process's stop signals, listened to from registration on.
pub(crate) struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Registers the handlers (call inside the runtime, before the run starts).
    pub(crate) fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => None,
            };
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for the next Ctrl-C or SIGTERM; false when none can come.
    pub(crate) async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match &mut self.streams {
                Some((int, term)) => tokio::select! {
                    r = int.recv() => r.is_some(),
                    r = term.recv() => r.is_some(),
                },
                None => tokio::signal::ctrl_c().await.is_ok(),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// Listens for stop signals (call inside the runtime, before the run starts): the
/// first sets the returned flag (the run stops cleanly, exit 3), a second quits at
/// once (exit 130) after printing `resume`.
pub(crate) fn stop_on_signals(
    printer: &crate::cli::Printer,
    resume: String,
) -> tokio::sync::watch::Receiver<bool> {
    let (int_tx, interrupt) = tokio::sync::watch::channel(false);
    let notices = printer.clone();
    let mut signals = Signals::register();
    tokio::spawn(async move {
        if signals.next().await {
            notices.notice(
                "stopping: no new calls; calls in flight finish their current try \
                 (at most --timeout), then the ledger is written. \
                 Press Ctrl-C again to quit at once (the run stays resumable).",
            );
            let _ = int_tx.send(true);
            if signals.next().await {
                notices.notice(&format!("quitting at once; resume with: {resume}"));
                std::process::exit(i32::from(crate::cli::ExitStatus::Quit.code()));
            }
        }
    });
    interrupt
}
