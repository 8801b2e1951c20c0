//! The dashboard: the numbers of `latina status` and the charts of
//! `latina report` (the report page itself, framed), kept live by a script
//! that polls `/api/status` and redraws the charts when the count of
//! ratings changes.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;

use super::App;
use super::assets::DASHBOARD_SCRIPT;
use super::page::{Access, Nav, WebError, escape, layout, with_store};
use crate::error::Error;
use crate::ops::report;
use crate::ops::status::{StatusReport, status};

/// Best and worst renders the framed report shows thumbnails of.
const REPORT_THUMBNAILS: usize = 4;

/// How the status numbers open the store: writable, so that a model fit the
/// numbers needed is cached (`status` saves it when it can). A read-only
/// open refitted the GP's hyperparameters on every request until a CLI
/// command happened to write the cache: 220–290 ms instead of 30 ms on a
/// freshly imported 100,000-rating history. The server records ratings in
/// the same store, so it may write it anyway.
const STATUS_ACCESS: Access = Access::Write;

/// `GET /dashboard`.
pub(super) async fn page(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    with_store(&app, STATUS_ACCESS, |app, store| {
        let s = status(&app.ws, store)?;
        let mut body = String::with_capacity(8 * 1024);
        body.push_str("<h1>Dashboard <small id=\"updated\">live</small></h1><div class=\"stats\">");
        for (id, value, name) in numbers(&s) {
            let _ = write!(
                body,
                r#"<div class="stat"><div class="value" id="{id}">{value}</div><div class="name">{name}</div></div>"#,
                value = escape(&value),
            );
        }
        body.push_str("</div><h2>Providers</h2><table class=\"providers\" id=\"providers\">");
        providers(&mut body, &s);
        let _ = write!(
            body,
            r#"</table><h2>Charts</h2><iframe id="report" class="report" src="/dashboard/report" title="learning report"></iframe><script>{DASHBOARD_SCRIPT}</script>"#
        );
        Ok(layout(app, "Dashboard", Nav::Dashboard, &body))
    })
    .await
}

/// The headline numbers as (element id, value, name); the script fills
/// the same ids from `/api/status`.
fn numbers(s: &StatusReport) -> Vec<(&'static str, String, &'static str)> {
    let p = &s.phase1;
    vec![
        ("samples", p.total_samples.to_string(), "rated samples"),
        ("best", format!("{:.0}", p.best_rating), "best rating"),
        (
            "average",
            s.avg_rating.map_or("–".into(), |a| format!("{a:.2}")),
            "average rating",
        ),
        (
            "convergence",
            format!("{:.0}%", p.convergence * 100.0),
            "convergence",
        ),
        ("phase", p.phase.to_string(), "phase"),
        ("unrated", s.unrated.to_string(), "unrated renders"),
        ("preferences", s.preferences.to_string(), "preferences"),
        ("failed", s.failed.to_string(), "failed renders"),
        ("cost", format!("${:.2}", s.total_cost_usd), "spent"),
    ]
}

fn providers(body: &mut String, s: &StatusReport) {
    body.push_str("<tr><th>arm</th><th>rated</th><th>average</th><th>≥ 4 stars</th><th>renders</th><th>failed</th></tr>");
    for (name, p) in &s.performance_by_api {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            p.count,
            p.avg_rating,
            p.success_rate * 100.0,
            p.renders,
            p.failed
        );
    }
}

/// `GET /api/status`: what `latina status --json` prints.
pub(super) async fn status_json(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    let json = with_store(&app, STATUS_ACCESS, |app, store| {
        let s = status(&app.ws, store)?;
        serde_json::to_string(&s).map_err(|e| WebError::Internal(e.to_string()))
    })
    .await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json,
    )
        .into_response())
}

/// `GET /api/mark`: the store's activity mark (see
/// [`crate::store::Store::activity_mark`]); the dashboard polls it and
/// fetches `/api/status` only when it changes.
pub(super) async fn mark_json(State(app): State<Arc<App>>) -> Result<Response, WebError> {
    let mark = with_store(&app, Access::Read, |_, store| Ok(store.activity_mark()?)).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"mark\":\"{}-{}-{}\"}}", mark[0], mark[1], mark[2]),
    )
        .into_response())
}

/// `GET /dashboard/report`: the `latina report` page, redrawn only when
/// the store's activity mark moved since the last drawing.
pub(super) async fn report(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    let page = with_store(&app, Access::Read, |app, store| {
        let mark = store.activity_mark()?;
        let cached = app
            .report
            .lock()
            .map_err(|_| WebError::Internal("report cache poisoned".into()))?
            .as_ref()
            .filter(|(at, _)| *at == mark)
            .map(|(_, page)| page.clone());
        if let Some(page) = cached {
            return Ok(page);
        }
        let page = match report::html_page(&app.ws, store, REPORT_THUMBNAILS) {
            Ok(page) => page,
            Err(Error::NothingToReport { .. }) => {
                "<!DOCTYPE html><p style=\"font-family:sans-serif\">No charts yet: rate some renders first.</p>"
                    .to_string()
            }
            Err(e) => return Err(e.into()),
        };
        let page = Arc::new(page);
        if let Ok(mut slot) = app.report.lock() {
            *slot = Some((mark, page.clone()));
        }
        Ok(page)
    })
    .await?;
    Ok(Html(page.as_str().to_string()))
}
