//! `POST /prefer`: a designer's choice between two renders of one photo,
//! through the same op as `latina prefer` (and the `rate` walkthrough's
//! choice keys). The queue page sends one post per pair when the designer
//! picks the best of a batch or marks its renders the same.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

use super::App;
use super::page::{Access, WebError, with_store};
use super::queue::{designer_of, experiment_id, reply};
use super::security::same_secret;
use crate::ops::prefer::{PreferenceInput, prefer_and_learn};

/// The fields of a preference post, as text, each checked here so that a
/// bad one is a 400 with a reason.
#[derive(Debug, Deserialize)]
pub(super) struct PreferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    better: String,
    #[serde(default)]
    worse: String,
    /// `1` for "the same"; absent or `0` otherwise.
    #[serde(default)]
    tie: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    designer: String,
}

/// `POST /prefer`.
pub(super) async fn prefer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<PreferForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|r| WebError::Status(r.status(), r.body_text()))?;
    if !same_secret(&form.csrf, &app.csrf) {
        return Err(WebError::Forbidden(
            "the form's CSRF token is missing or wrong: reload the page".into(),
        ));
    }
    let tie = match form.tie.as_str() {
        "" | "0" => false,
        "1" => true,
        other => {
            return Err(WebError::BadRequest(format!(
                "`tie` is 1 (the same) or 0, not `{}`",
                other.chars().take(16).collect::<String>()
            )));
        }
    };
    let designer = designer_of(&app, &form.designer)?;
    let better = experiment_id(&form.better)?;
    let worse = experiment_id(&form.worse)?;
    let receipt = with_store(&app, Access::Write, move |app, store| {
        // Whole ids only: the page never sends a prefix.
        for id in [&better, &worse] {
            store.experiment(id).map_err(|_| {
                WebError::NotFound(format!("no experiment has id `{}`", id.as_str()))
            })?;
        }
        let input = PreferenceInput {
            better: better.as_str(),
            worse: worse.as_str(),
            tie,
            comment: Some(form.comment.as_str()),
            rated_by: designer.as_deref(),
        };
        let (receipt, _learned) =
            prefer_and_learn(&app.ws, store, &input, &|name| (app.env)(name))?;
        Ok(receipt)
    })
    .await?;
    reply(&headers, &receipt)
}
