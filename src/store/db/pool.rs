//! Idle server connections kept for reuse within one process. A command
//! opens the store once and exits, but `latina serve` opens it for every
//! request: without reuse each one paid a TCP connect, a SCRAM login and
//! the migration check. A client goes back here when its store is dropped
//! and is pinged before it is handed out again, so a connection the server
//! closed (a restart, an administrator's `pg_terminate_backend`) is
//! replaced by a fresh one instead of failing the request.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::pg::{PgClient, PgTarget};
use crate::error::Result;

/// Idle connections kept per server, login and mode; more are closed.
const IDLE_PER_KEY: usize = 4;

/// Which idle connections can serve a store: the same server, database,
/// user and password (hashed, never kept in clear beside the client), and
/// the same mode (a read-only session stays read-only).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PoolKey {
    shown: String,
    user: String,
    password_hash: u64,
    read_only: bool,
}

impl PoolKey {
    /// The key of `target` opened in this mode.
    pub fn new(target: &PgTarget, read_only: bool) -> Self {
        let mut hasher = DefaultHasher::new();
        target.password().hash(&mut hasher);
        PoolKey {
            shown: target.shown().to_string(),
            user: target.user().to_string(),
            password_hash: hasher.finish(),
            read_only,
        }
    }
}

static IDLE: Mutex<Vec<(PoolKey, PgClient)>> = Mutex::new(Vec::new());

/// Off in one-shot commands: a connection kept in a static is never closed
/// politely at exit, and the server would log each one as a lost client.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Keeps connections for reuse from now on (a long-running process).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// An idle connection for `key` that still answers, if there is one; those
/// that do not are closed on the way.
pub fn take(key: &PoolKey) -> Option<PgClient> {
    loop {
        let client = {
            let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            let at = idle.iter().rposition(|(k, _)| k == key)?;
            idle.swap_remove(at).1
        };
        if ping(&client).is_ok() {
            return Some(client);
        }
        tracing::debug!(server = %client.shown(), "an idle connection no longer answers; dropped");
    }
}

/// Keeps `client` for the next store of `key`, unless enough are idle.
pub fn give_back(key: PoolKey, client: PgClient) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
    if idle.iter().filter(|(k, _)| *k == key).count() < IDLE_PER_KEY {
        idle.push((key, client));
    }
}

fn ping(client: &PgClient) -> Result<()> {
    client.batch("SELECT 1")
}
