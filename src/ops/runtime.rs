//! The one place an async runtime is built. The learning code is plain
//! synchronous Rust; only the steps that talk to the network (providers,
//! the LLM, the embeddings endpoint) are async, and the commands that need
//! them block on their op here, on a current-thread runtime.

use std::future::Future;

use crate::error::{Error, Result};

/// Runs `future` to completion on a fresh current-thread runtime (timers
/// and I/O enabled).
///
/// # Errors
/// [`Error::Runtime`] when the runtime cannot be started.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    Ok(runtime.block_on(future))
}
