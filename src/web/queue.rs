//! The rating queue: unrated renders that were shown, batch by batch (the
//! original beside A, B, …), and the post that records one rating through
//! the same op as `latina rate`.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::App;
use super::assets::QUEUE_SCRIPT;
use super::page::{Access, Nav, WebError, escape, layout, with_store};
use super::security::same_secret;
use crate::domain::{ExperimentId, Stars};
use crate::ops::rate::{RatingInput, rate_and_learn, unrated};
use crate::store::ExperimentRecord;

/// Batches shown at once; the rest wait until these are rated (a page of
/// a thousand renders would only be scrolled past).
pub(super) const BATCHES_PER_PAGE: usize = 30;

/// One batch of the queue: its renders, in option order.
struct Batch {
    renders: Vec<ExperimentRecord>,
}

/// Unrated renders that exist, grouped by batch, newest batch first.
fn batches(pending: Vec<ExperimentRecord>) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in pending.into_iter().filter(|e| e.output_path.is_some()) {
        let key = e.batch_id.as_str().to_string();
        match index.get(&key) {
            Some(&i) => out[i].renders.push(e),
            None => {
                index.insert(key, out.len());
                out.push(Batch { renders: vec![e] });
            }
        }
    }
    for batch in &mut out {
        batch.renders.sort_by(|a, b| a.option.cmp(&b.option));
    }
    out
}

/// `GET /`: the queue.
pub(super) async fn page(State(app): State<Arc<App>>) -> Result<Html<String>, WebError> {
    with_store(&app, Access::Read, |app, store| {
        let all = batches(unrated(store)?);
        let total: usize = all.iter().map(|b| b.renders.len()).sum();
        let mut body = String::with_capacity(64 * 1024);
        let _ = write!(
            body,
            r#"<h1>Queue <small id="left">{total} unrated render{s} in {n} batch{es}</small></h1>
<p class="help">Keys: <kbd>1</kbd>–<kbd>5</kbd> stars · <kbd>⇧A</kbd> <kbd>⇧B</kbd> … that render is the best of the batch · <kbd>=</kbd> the batch's renders are the same · <kbd>←</kbd> <kbd>→</kbd> variant · <kbd>↑</kbd> <kbd>↓</kbd> batch · <kbd>c</kbd> comment · <kbd>z</kbd> zoom · <kbd>Enter</kbd> submit the batch · drag the slider to compare with the original</p>
<p id="flash" role="status"></p>
"#,
            s = if total == 1 { "" } else { "s" },
            n = all.len(),
            es = if all.len() == 1 { "" } else { "es" },
        );
        if all.is_empty() {
            body.push_str(r#"<p class="empty">Nothing to rate. Render some with <code>latina enhance photo.jpg</code>.</p>"#);
        }
        for (index, batch) in all.iter().take(BATCHES_PER_PAGE).enumerate() {
            let first = &batch.renders[0];
            let detail = store.experiment_detail(&first.id)?;
            let photo = detail
                .row
                .image
                .as_ref()
                .map_or("(no photo)".to_string(), |i| i.name.clone());
            let tags: Vec<&str> = [&detail.batch.project, &detail.batch.room, &detail.batch.style]
                .into_iter()
                .filter_map(|t| t.as_deref())
                .collect();
            let _ = write!(
                body,
                r#"<section class="batch" data-batch="{batch}"><h2>{photo} <small>{tags} · batch {index} of {count}</small></h2><div class="row">"#,
                batch = escape(first.batch_id.as_str()),
                photo = escape(&photo),
                tags = escape(&tags.join(" · ")),
                index = index + 1,
                count = all.len(),
            );
            if first.image_path.is_some() {
                let _ = write!(
                    body,
                    r#"<figure class="original"><img src="/thumb/original/{id}" data-full="/image/original/{id}" alt="original photo" loading="lazy"><figcaption><b>ORIGINAL</b></figcaption></figure>"#,
                    id = escape(first.id.as_str())
                );
            }
            for e in &batch.renders {
                variant(&mut body, e);
            }
            body.push_str(r#"</div><button type="button" class="submit">Submit batch (Enter)</button></section>"#);
        }
        if all.len() > BATCHES_PER_PAGE {
            let _ = write!(
                body,
                r#"<p class="more">{} more batches wait; they appear as these are rated.</p>"#,
                all.len() - BATCHES_PER_PAGE
            );
        }
        let _ = write!(body, "<div id=\"zoom\" hidden><img alt=\"zoomed render\"></div><script>{QUEUE_SCRIPT}</script>");
        Ok(layout(app, "Queue", Nav::Queue, &body))
    })
    .await
}

/// One render: the render with the original over it behind a slider, its
/// label, stars and comment box.
fn variant(body: &mut String, e: &ExperimentRecord) {
    let id = escape(e.id.as_str());
    let before = if e.image_path.is_some() {
        format!(
            r#"<img class="before" src="/thumb/original/{id}" alt="original" loading="lazy"><input class="slider" type="range" min="0" max="100" value="0" aria-label="compare with the original" tabindex="-1">"#
        )
    } else {
        String::new()
    };
    let _ = write!(
        body,
        r#"<figure class="variant" data-id="{id}" data-option="{option}" data-stars="0"><div class="cmp"><img class="after" src="/thumb/render/{id}" data-full="/image/render/{id}" alt="render {option}" loading="lazy">{before}</div><figcaption><b>{option}</b> · {provider} · <a href="/experiment/{id}">details</a> <span class="stars" aria-label="stars">☆☆☆☆☆</span></figcaption><textarea class="comment" rows="2" maxlength="4000" placeholder="comment (c), Enter submits"></textarea></figure>"#,
        option = escape(&e.option),
        provider = escape(&e.trial.provider),
    );
}

/// The fields of a rating post, as text: each is checked here so that a
/// bad one is a 400 with a reason, not a generic rejection.
#[derive(Debug, Deserialize)]
pub(super) struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    stars: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    designer: String,
}

/// `POST /rate`: one rating, through `ops::rate::rate_and_learn`. Replies
/// JSON to scripts (`Accept: application/json`), else sends back to the queue.
pub(super) async fn rate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    form: Result<Form<RateForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|r| WebError::Status(r.status(), r.body_text()))?;
    if !same_secret(&form.csrf, &app.csrf) {
        return Err(WebError::Forbidden(
            "the form's CSRF token is missing or wrong: reload the page".into(),
        ));
    }
    let stars = Stars::parse(&form.stars).map_err(WebError::from)?;
    let designer = designer_of(&app, &form.designer)?;
    let id = experiment_id(&form.id)?;
    let receipt = with_store(&app, Access::Write, move |app, store| {
        // Only the queue's renders are rated here: the id must name a whole
        // experiment, not a prefix.
        store
            .experiment(&id)
            .map_err(|_| WebError::NotFound(format!("no experiment has id `{}`", id.as_str())))?;
        let input = RatingInput {
            id: id.as_str(),
            stars,
            comment: Some(form.comment.as_str()),
            rated_by: designer.as_deref(),
        };
        let (receipt, _learned) = rate_and_learn(&app.ws, store, &input, &|name| (app.env)(name))?;
        Ok(receipt)
    })
    .await?;
    reply(&headers, &receipt)
}

/// Who is rating: the name typed on the page, else (on a private bind)
/// the configured rater or the login name. A shared server insists on a
/// name so that every judgement has its designer.
pub(super) fn designer_of(app: &App, typed: &str) -> Result<Option<String>, WebError> {
    let designer = typed.trim().to_string();
    if designer.chars().count() > 80 {
        return Err(WebError::BadRequest(
            "the designer's name is too long (80 characters at most)".into(),
        ));
    }
    if !designer.is_empty() {
        return Ok(Some(designer));
    }
    if app.token.is_some() {
        return Err(WebError::BadRequest(
            "a shared server records who rated: type your name at the top of the page".into(),
        ));
    }
    Ok(app.ws.config.rater.clone().or_else(|| (app.env)("USER")))
}

/// The receipt as JSON to scripts (`Accept: application/json`), else a
/// redirect back to the queue for a plain form post.
pub(super) fn reply<T: serde::Serialize>(
    headers: &HeaderMap,
    receipt: &T,
) -> Result<Response, WebError> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let json = serde_json::to_string(receipt).map_err(|e| WebError::Internal(e.to_string()))?;
        Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response())
    } else {
        Ok(Redirect::to("/").into_response())
    }
}

/// An experiment id as the pages write it: 1–64 letters, digits, `-`, `_`.
/// Anything else cannot name an experiment, so it is a 404 before the
/// store is asked.
pub(super) fn experiment_id(text: &str) -> Result<ExperimentId, WebError> {
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(ExperimentId::from_stored(text.to_string()))
    } else {
        Err(WebError::NotFound(format!(
            "no experiment has id `{}`",
            text.chars().take(64).collect::<String>()
        )))
    }
}
