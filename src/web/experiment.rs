//! One experiment's page (prompt, parameters, why it was chosen, ratings,
//! images) and the history with thumbnails and search, both over
//! `ops::history`, as `latina show` and `latina history` read them.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

use super::App;
use super::page::{Access, Nav, WebError, escape, layout, stars, with_store};
use super::queue::experiment_id;
use crate::domain::Method;
use crate::ops::history::{self, FileRole};
use crate::store::HistoryQuery;

/// Rows the history page lists at most.
const HISTORY_ROWS: u64 = 200;

/// `GET /experiment/{id}`.
pub(super) async fn page(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let id = experiment_id(&id)?;
    with_store(&app, Access::Read, move |app, store| {
        let report = history::show(&app.ws.storage, store, id.as_str())?;
        let d = &report.detail;
        let r = &d.row;
        let id = escape(r.experiment_id.as_str());
        let photo = r.image.as_ref().map_or("(no photo)".into(), |i| i.name.clone());
        let mut body = String::with_capacity(16 * 1024);
        let _ = write!(
            body,
            r#"<h1>{photo} · {option} <small>experiment {id}</small></h1><div class="row">"#,
            photo = escape(&photo),
            option = escape(&r.option),
        );
        for f in report.files.iter().filter(|f| f.exists) {
            let (kind, label) = match f.role {
                FileRole::Render => ("render", "render"),
                FileRole::Original => ("original", "original"),
                FileRole::Preview => continue,
            };
            let _ = write!(
                body,
                r#"<figure class="detail"><a href="/image/{kind}/{id}"><img src="/thumb/{kind}/{id}" alt="{label}"></a><figcaption>{label}</figcaption></figure>"#
            );
        }
        body.push_str("</div><table class=\"kv\">");
        let p = &r.params;
        let method = Method::parse(&d.method).map_or(d.method.replace('_', " "), |m| {
            d.explanation.describe(m)
        });
        let tags = [
            ("project", &d.batch.project),
            ("room", &d.batch.room),
            ("style", &d.batch.style),
        ];
        for (key, value) in [
            ("provider", r.provider.clone()),
            ("init_strength", format!("{:.3}", p.init_strength)),
            ("guidance_scale", format!("{:.2}", p.guidance_scale)),
            ("controlnet_weight", format!("{:.3}", p.controlnet_weight)),
            ("status", r.status.clone()),
            ("why this point", method),
            ("prompt version", d.prompt.version.clone()),
        ]
        .into_iter()
        .chain(tags.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v.clone()))))
        {
            let _ = write!(
                body,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(key),
                escape(&value)
            );
        }
        body.push_str("</table><h2>Prompt</h2>");
        let _ = write!(
            body,
            r#"<pre class="prompt">{}</pre>"#,
            escape(d.prompt.prompt.as_deref().unwrap_or("(prompt version missing)"))
        );
        if let Some(negative) = &d.prompt.negative_prompt {
            let _ = write!(
                body,
                r#"<p class="note">negative:</p><pre class="prompt">{}</pre>"#,
                escape(negative)
            );
        }
        body.push_str("<h2>Ratings</h2>");
        if d.ratings.is_empty() {
            body.push_str("<p class=\"note\">Not rated yet.</p>");
        }
        body.push_str("<ul class=\"ratings\">");
        for rating in &d.ratings {
            let _ = write!(
                body,
                r#"<li><span class="stars">{}</span> {} <i>{}</i> <small>{}{}</small></li>"#,
                stars(rating.stars),
                escape(rating.rated_by.as_deref().unwrap_or("(unnamed)")),
                escape(rating.comment.as_deref().unwrap_or("")),
                escape(&crate::domain::time::format(rating.rated_at)),
                if rating.counts { "" } else { " · superseded" }
            );
        }
        body.push_str("</ul>");
        Ok(layout(app, &format!("{photo} {}", r.option), Nav::None, &body))
    })
    .await
}

/// The history page's search fields, as typed (empty means any).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Search {
    #[serde(default)]
    photo: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    style: String,
    #[serde(default)]
    designer: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// `GET /history?photo=&project=&room=&style=&designer=`.
pub(super) async fn history(
    State(app): State<Arc<App>>,
    Query(search): Query<Search>,
) -> Result<Html<String>, WebError> {
    with_store(&app, Access::Read, move |app, store| {
        let query = HistoryQuery {
            photo: given(&search.photo),
            project: given(&search.project),
            room: given(&search.room),
            style: given(&search.style),
            rated_by: given(&search.designer),
            limit: Some(HISTORY_ROWS),
            ..HistoryQuery::default()
        };
        let total = history::count(store, &query)?;
        let mut body = String::with_capacity(64 * 1024);
        let field = |name: &str, value: &str| {
            format!(
                r#"<label>{name} <input name="{name}" value="{}"></label> "#,
                escape(value)
            )
        };
        let _ = write!(
            body,
            r#"<h1>History <small>{total} experiment{s}{shown}</small></h1><form class="search" method="get" action="/history">{}{}{}{}{}<button>Search</button></form><table class="history"><tr><th></th><th>photo</th><th>option</th><th>provider</th><th>parameters</th><th>rating</th><th>by</th><th>comment</th><th>made</th></tr>"#,
            field("photo", &search.photo),
            field("project", &search.project),
            field("room", &search.room),
            field("style", &search.style),
            field("designer", &search.designer),
            s = if total == 1 { "" } else { "s" },
            shown = if total > HISTORY_ROWS {
                format!(", the newest {HISTORY_ROWS} shown")
            } else {
                String::new()
            },
        );
        history::history(store, &query, |r| {
            let id = escape(r.experiment_id.as_str());
            let thumb = if r.output_path.is_some() {
                format!(r#"<img src="/thumb/render/{id}" alt="" loading="lazy">"#)
            } else {
                String::new()
            };
            let (rating, by, comment) = match &r.rating {
                Some(x) => (
                    stars(x.stars),
                    x.rated_by.clone().unwrap_or_default(),
                    x.comment.clone().unwrap_or_default(),
                ),
                None => ("–".to_string(), String::new(), String::new()),
            };
            let _ = write!(
                body,
                r#"<tr><td class="thumb"><a href="/experiment/{id}">{thumb}</a></td><td><a href="/experiment/{id}">{photo}</a></td><td>{option}</td><td>{provider}</td><td>{s:.2} · {g:.1} · {c:.2}</td><td class="stars">{rating}</td><td>{by}</td><td><i>{comment}</i></td><td>{made}</td></tr>"#,
                photo = escape(r.image.as_ref().map_or("(suggest)", |i| i.name.as_str())),
                option = escape(&r.option),
                provider = escape(&r.provider),
                s = r.params.init_strength,
                g = r.params.guidance_scale,
                c = r.params.controlnet_weight,
                by = escape(&by),
                comment = escape(&comment),
                made = escape(&crate::domain::time::format(r.created_at)),
            );
            Ok::<(), crate::error::Error>(())
        })?;
        body.push_str("</table>");
        Ok(layout(app, "History", Nav::History, &body))
    })
    .await
}
