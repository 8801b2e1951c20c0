//! Ctrl-C (SIGINT), SIGTERM (`timeout`, systemd, `docker stop`) and SIGHUP
//! (the terminal closed): while variants render, the first signal cancels
//! them (remote jobs are cancelled where the API can, every unfinished
//! variant is recorded as failed naming the signal, and the command exits
//! 128 + the signal's number: 130, 143, 129); otherwise, or on a second
//! signal, latina quits at once with that code, as it would without a
//! handler.
//!
//! The listener runs on its own thread: a signal handler, once installed,
//! stays for the life of the process, so it must also answer while the main
//! thread waits at a rating prompt.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

/// A signal that stops latina.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupt,
    Terminate,
    Hangup,
}

impl Stop {
    /// How the signal is named in messages and recorded errors.
    fn label(self) -> &'static str {
        match self {
            Stop::Interrupt => "Ctrl-C",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
        }
    }

    /// 128 + the signal number, as shells report a process it stopped.
    fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => super::EXIT_INTERRUPTED,
            Stop::Terminate => 128 + 15,
            Stop::Hangup => 128 + 1,
        }
    }
}

/// Shared between the command and the listener thread.
pub struct Interrupts {
    rendering: AtomicBool,
    cancel: CancellationToken,
    /// The first signal's exit code; 0 until one arrives.
    code: AtomicU8,
    /// The first signal's label, read by the renders to name it.
    reason: Arc<OnceLock<&'static str>>,
}

impl Interrupts {
    /// Starts the listener. Without a signal handler (it cannot be
    /// installed), the signals keep their default effect.
    pub fn install(quiet: bool) -> Arc<Self> {
        let state = Arc::new(Interrupts {
            rendering: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            code: AtomicU8::new(0),
            reason: Arc::new(OnceLock::new()),
        });
        let listener = Arc::clone(&state);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            let spawned = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || runtime.block_on(listener.listen(quiet)));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "signals cannot be handled gracefully");
            }
        }
        state
    }

    /// The token renders watch.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Set to the signal's name ("Ctrl-C", "SIGTERM", "SIGHUP") when
    /// renders are cancelled, before the token is.
    pub fn reason(&self) -> Arc<OnceLock<&'static str>> {
        Arc::clone(&self.reason)
    }

    /// The exit code for the signal that cancelled the renders (130 when
    /// none was recorded).
    pub fn exit_code(&self) -> u8 {
        match self.code.load(Ordering::SeqCst) {
            0 => super::EXIT_INTERRUPTED,
            code => code,
        }
    }

    /// Marks the start and end of rendering.
    pub fn set_rendering(&self, rendering: bool) {
        self.rendering.store(rendering, Ordering::SeqCst);
    }

    async fn listen(self: Arc<Self>, quiet: bool) {
        #[cfg(unix)]
        let (mut term, mut hup) = {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(term), Ok(hup)) => (term, hup),
                (term, hup) => {
                    tracing::warn!(
                        term = term.is_ok(),
                        hup = hup.is_ok(),
                        "SIGTERM/SIGHUP cannot be handled gracefully"
                    );
                    // Without both, listening only for Ctrl-C keeps the
                    // default (immediate) effect of the other two.
                    while tokio::signal::ctrl_c().await.is_ok() {
                        self.on_signal(Stop::Interrupt, quiet);
                    }
                    return;
                }
            }
        };
        loop {
            #[cfg(unix)]
            let stop = tokio::select! {
                r = tokio::signal::ctrl_c() => match r {
                    Ok(()) => Stop::Interrupt,
                    Err(_) => return,
                },
                Some(()) = term.recv() => Stop::Terminate,
                Some(()) = hup.recv() => Stop::Hangup,
            };
            #[cfg(not(unix))]
            let stop = match tokio::signal::ctrl_c().await {
                Ok(()) => Stop::Interrupt,
                Err(_) => return,
            };
            self.on_signal(stop, quiet);
        }
    }

    fn on_signal(&self, stop: Stop, quiet: bool) {
        if self.rendering.load(Ordering::SeqCst) && !self.cancel.is_cancelled() {
            let _ = self.reason.set(stop.label());
            let _ =
                self.code
                    .compare_exchange(0, stop.exit_code(), Ordering::SeqCst, Ordering::SeqCst);
            self.cancel.cancel();
            // After SIGHUP the terminal is gone: writing to it could fail or
            // stop the process, so only the other signals are acknowledged.
            if !quiet && stop != Stop::Hangup {
                eprintln!(
                    "latina: {}: cancelling the renders in flight ({} again to quit at once)",
                    stop.label(),
                    stop.label()
                );
            }
        } else {
            std::process::exit(i32::from(stop.exit_code()));
        }
    }
}
