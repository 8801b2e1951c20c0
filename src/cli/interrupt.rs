//! Ctrl-C: while variants render, the first press cancels them (remote jobs
//! are cancelled where the API can, every variant is recorded as failed and
//! the command exits 130); otherwise, or on a second press, latina quits at
//! once with 130, as it would without a handler.
//!
//! The listener runs on its own thread: the signal handler, once installed,
//! stays for the life of the process, so it must also answer while the main
//! thread waits at a rating prompt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_util::sync::CancellationToken;

/// Shared between the command and the listener thread.
pub struct Interrupts {
    rendering: AtomicBool,
    cancel: CancellationToken,
}

impl Interrupts {
    /// Starts the listener. Without a signal handler (it cannot be
    /// installed), Ctrl-C keeps its default effect.
    pub fn install(quiet: bool) -> Arc<Self> {
        let state = Arc::new(Interrupts {
            rendering: AtomicBool::new(false),
            cancel: CancellationToken::new(),
        });
        let listener = Arc::clone(&state);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            let spawned = std::thread::Builder::new()
                .name("ctrl-c".into())
                .spawn(move || runtime.block_on(listener.listen(quiet)));
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "Ctrl-C cannot be handled gracefully");
            }
        }
        state
    }

    /// The token renders watch.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Marks the start and end of rendering.
    pub fn set_rendering(&self, rendering: bool) {
        self.rendering.store(rendering, Ordering::SeqCst);
    }

    async fn listen(self: Arc<Self>, quiet: bool) {
        while tokio::signal::ctrl_c().await.is_ok() {
            if self.rendering.load(Ordering::SeqCst) && !self.cancel.is_cancelled() {
                self.cancel.cancel();
                if !quiet {
                    eprintln!(
                        "latina: cancelling the renders in flight (Ctrl-C again to quit at once)"
                    );
                }
            } else {
                std::process::exit(i32::from(super::EXIT_INTERRUPTED));
            }
        }
    }
}
