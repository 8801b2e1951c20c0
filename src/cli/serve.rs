//! `latina serve`: resolves the address, port and token, prints where the
//! page is, and runs the server (`crate::web`) until Ctrl-C or SIGTERM.

use clap::Args;
use std::process::ExitCode;

use super::ui::Ui;
use super::workspace::env_lookup;
use crate::ops::Workspace;
use crate::ops::runtime::block_on;
use crate::store::OpenMode;
use crate::web::{self, ServeOptions};

/// Arguments of `latina serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: serve.bind, 127.0.0.1]; any other than loopback
    /// serves the LAN and requires a token and each designer's name
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Port [default: serve.port, 8421]; 0 picks a free one (the URL is printed)
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
}

/// Serves until Ctrl-C or SIGTERM, then lets the requests under way finish.
pub fn run(ws: &Workspace, ui: &Ui, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let serve = &ws.config.serve;
    let bind = web::parse_bind(args.bind.as_deref().unwrap_or(&serve.bind))?;
    let port = args.port.unwrap_or(serve.port);
    let token = web::access_token(bind, env_lookup(&serve.token_env));
    // Create and migrate the database once, so each request only opens it.
    drop(ws.open_store(OpenMode::CreateIfMissing)?);
    let options = ServeOptions {
        bind,
        port,
        token: token.as_ref().map(|t| t.value.clone()),
    };
    let mut printed = Ok(());
    let ready = |listening: &web::Listening| {
        printed = announce(ui, listening, token.as_ref(), &serve.token_env);
    };
    block_on(web::serve(ws.clone(), options, env_lookup, ready, stop()))??;
    printed?;
    ui.note("latina serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Where the page is; a generated token is printed here, once, inside the
/// URL to open (a token from the environment is never printed).
fn announce(
    ui: &Ui,
    listening: &web::Listening,
    token: Option<&web::AccessToken>,
    token_env: &str,
) -> std::io::Result<()> {
    let url = match token {
        Some(t) if t.generated => format!("{}?token={}", listening.url, t.value),
        _ => listening.url.clone(),
    };
    if ui.json {
        ui.json_line(&serde_json::json!({
            "url": url,
            "addr": listening.addr.to_string(),
            "lan": token.is_some(),
        }))?;
    } else {
        ui.out(format!("latina serve: {url}"))?;
    }
    match token {
        Some(t) if t.generated => ui.note(format!(
            "The LAN needs the token in the URL above (set ${token_env} to choose one); each designer types their name."
        )),
        Some(_) => ui.note(format!(
            "The LAN needs the token in ${token_env}: open {}?token=<token>; each designer types their name.",
            listening.url
        )),
        None => ui.note("Only this machine can open it (--bind 0.0.0.0 serves the LAN). Ctrl-C stops."),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
