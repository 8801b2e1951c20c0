//! `latina serve`: the local web page for rating renders and looking at the
//! learning, served by latina itself from the same store as the commands.
//!
//! Handlers are thin: every read and write goes through the same `ops` as
//! the commands (`rate`, `history`, `show`, `status`, `report`), with the
//! store opened per request on a blocking thread (rusqlite is synchronous;
//! WAL and the busy timeout let `enhance`, `rate` and cron `evolve` write
//! the same file meanwhile). One concern per file: `router` wires the
//! routes, `security` guards them (token, CSRF, Origin, body size),
//! `page` lays out and escapes HTML, `assets` holds the CSS and script,
//! and `queue`, `images`, `experiment`, `dashboard` are the pages.

mod assets;
mod dashboard;
mod experiment;
mod images;
mod page;
mod prefer;
mod queue;
mod router;
mod security;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ops::Workspace;

pub use security::{AccessToken, access_token};

/// Reads one environment variable (the CLI passes the process environment;
/// the library never reads it itself).
pub type EnvFn = fn(&str) -> Option<String>;

/// Largest request body accepted, bytes: a rating with a long comment
/// fits many times over.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How and where to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on.
    pub bind: IpAddr,
    /// The port; 0 lets the system choose.
    pub port: u16,
    /// The token every request must carry; `None` only on a loopback bind.
    pub token: Option<String>,
}

/// Where the server listens, once it does.
#[derive(Debug, Clone)]
pub struct Listening {
    /// The address actually bound (the chosen port included).
    pub addr: SocketAddr,
    /// The URL to open (without the token: a LAN visitor adds
    /// `?token=…` once, which sets its cookie).
    pub url: String,
}

/// What every handler shares.
pub(crate) struct App {
    pub ws: Workspace,
    pub env: EnvFn,
    /// `Some` on a LAN bind: requests without it are refused.
    pub token: Option<String>,
    /// The per-server secret every form post must echo.
    pub csrf: String,
    /// The report page last drawn and the store's activity mark then: the
    /// charts take about a second on a large history, so they are redrawn
    /// only after something was rated or rendered.
    pub report: std::sync::Mutex<Option<([i64; 3], Arc<String>)>>,
}

/// Whether binding to `ip` serves more than this machine.
pub fn is_lan(ip: IpAddr) -> bool {
    !ip.is_loopback()
}

/// Parses `serve.bind` / `--bind`.
///
/// # Errors
/// [`Error::BadBindAddress`] when it is not an IP address.
pub fn parse_bind(text: &str) -> Result<IpAddr> {
    text.trim()
        .parse()
        .map_err(|_| Error::BadBindAddress(text.to_string()))
}

/// Serves until `shutdown` resolves, then finishes the requests under way.
/// `ready` is called once, with the bound address, before the first request.
///
/// # Errors
/// [`Error::Listen`] when the address cannot be bound or serving fails.
pub async fn serve(
    ws: Workspace,
    options: ServeOptions,
    env: EnvFn,
    ready: impl FnOnce(&Listening),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Every request opens the store: on a server, reuse its connections.
    crate::store::keep_server_connections();
    let asked = SocketAddr::new(options.bind, options.port);
    let listen_error = |source| Error::Listen {
        addr: asked.to_string(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(asked)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let url = format!("http://{addr}/");
    let app = Arc::new(App {
        ws,
        env,
        token: options.token,
        csrf: security::secret(),
        report: std::sync::Mutex::new(None),
    });
    ready(&Listening { addr, url });
    axum::serve(listener, router::routes(app))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(listen_error)
}
