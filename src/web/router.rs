//! The routes and the layers every request passes (security checks, body
//! bound). Handlers live in their page's file.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use std::sync::Arc;

use super::{App, MAX_BODY_BYTES, dashboard, experiment, images, prefer, queue, security};

/// Every route of the server.
pub(super) fn routes(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(queue::page))
        .route("/rate", post(queue::rate))
        .route("/prefer", post(prefer::prefer))
        .route("/history", get(experiment::history))
        .route("/experiment/{id}", get(experiment::page))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/report", get(dashboard::report))
        .route("/api/status", get(dashboard::status_json))
        .route("/api/mark", get(dashboard::mark_json))
        .route("/image/{kind}/{id}", get(images::full))
        .route("/thumb/{kind}/{id}", get(images::thumbnail))
        .layer(middleware::from_fn_with_state(app.clone(), security::guard))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}
