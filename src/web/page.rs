//! The page frame (head, navigation, styles), HTML escaping, the error
//! responses handlers return, and the helper that runs store work on a
//! blocking thread.

use axum::http::StatusCode;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

use super::App;
use super::assets::{COMMON_SCRIPT, STYLE};
use crate::error::Error;
use crate::store::{OpenMode, Store};

pub(super) use crate::ops::report::escape;

/// A handler's failure, as the status and one line the browser shows.
#[derive(Debug)]
pub(super) enum WebError {
    /// 400: the request is malformed (a rating of "abc", a missing field).
    BadRequest(String),
    /// 403: a form post without this server's CSRF secret.
    Forbidden(String),
    /// 404: no such experiment, page or file.
    NotFound(String),
    /// 409: the experiment exists but cannot take this (a failed render).
    Conflict(String),
    /// Any other status an extractor chose (413 for an oversized body).
    Status(StatusCode, String),
    /// 500: the store or the disk failed.
    Internal(String),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        match e {
            Error::UnknownExperiment(_) | Error::NotFound(_) | Error::DatabaseMissing { .. } => {
                WebError::NotFound(e.to_string())
            }
            Error::AmbiguousExperiment { .. } | Error::RatingOutOfRange(_) => {
                WebError::BadRequest(e.to_string())
            }
            Error::NotRateable { .. }
            | Error::SelfPreference(_)
            | Error::DifferentPhotos { .. } => WebError::Conflict(e.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            WebError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            WebError::Conflict(m) => (StatusCode::CONFLICT, m),
            WebError::Status(s, m) => (s, m),
            WebError::Internal(m) => {
                tracing::warn!("serve: {m}");
                (StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("latina: {message}\n"),
        )
            .into_response()
    }
}

/// Which store access a request needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Access {
    /// Reading only: the database is never changed.
    Read,
    /// Recording ratings.
    Write,
}

/// Opens the store on a blocking thread and runs `work` with it.
pub(super) async fn with_store<T: Send + 'static>(
    app: &Arc<App>,
    access: Access,
    work: impl FnOnce(&App, &mut Store) -> Result<T, WebError> + Send + 'static,
) -> Result<T, WebError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let mode = match access {
            Access::Read => OpenMode::ReadOnly,
            Access::Write => OpenMode::MustExist,
        };
        let mut store = app.ws.open_store(mode)?;
        work(&app, &mut store)
    })
    .await
    .map_err(|e| WebError::Internal(format!("request task failed: {e}")))?
}

/// Which page the navigation marks as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Queue,
    History,
    Dashboard,
    None,
}

/// A whole page: head with the styles and the CSRF secret, navigation,
/// and `body` (already escaped HTML).
pub(super) fn layout(app: &App, title: &str, nav: Nav, body: &str) -> Html<String> {
    let link = |target: Nav, href: &str, label: &str| {
        let current = if nav == target {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<a href="{href}"{current}>{label}</a>"#)
    };
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf" content="{csrf}"><meta name="lan" content="{lan}">
<title>{title} · latina</title><style>{STYLE}</style></head>
<body><nav class="top"><b>latina</b> {queue} {history} {dashboard}
<label class="designer">designer <input id="designer" autocomplete="name" placeholder="your name" maxlength="80"></label></nav>
<main>{body}</main><script>{COMMON_SCRIPT}</script></body></html>
"#,
        csrf = escape(&app.csrf),
        lan = app.token.is_some(),
        title = escape(title),
        queue = link(Nav::Queue, "/", "Queue"),
        history = link(Nav::History, "/history", "History"),
        dashboard = link(Nav::Dashboard, "/dashboard", "Dashboard"),
    ))
}

/// `★★★☆☆` for a rating.
pub(super) fn stars(n: u8) -> String {
    let n = usize::from(n.min(5));
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}
