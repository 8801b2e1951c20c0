//! Images by experiment id: the render or the original photo it was made
//! from, whole or as a cached thumbnail. The file is always the one the
//! store recorded for that id; nothing in the URL is ever used as a path,
//! so `..`, absolute paths and encoded slashes have nothing to reach.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use std::sync::Arc;

use super::App;
use super::page::{Access, WebError, with_store};
use super::queue::experiment_id;
use crate::ops::thumbnail;

/// Which of an experiment's images.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Render,
    Original,
}

impl Kind {
    fn parse(text: &str) -> Result<Kind, WebError> {
        match text {
            "render" => Ok(Kind::Render),
            "original" => Ok(Kind::Original),
            _ => Err(WebError::NotFound(
                "images are `render` or `original`".into(),
            )),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Render => "render",
            Kind::Original => "original",
        }
    }
}

/// The recorded file of `kind` for experiment `id`.
async fn recorded(app: &Arc<App>, kind: Kind, id: &str) -> Result<(String, String), WebError> {
    let id = experiment_id(id)?;
    with_store(app, Access::Read, move |_, store| {
        let e = store
            .experiment(&id)
            .map_err(|_| WebError::NotFound(format!("no experiment has id `{}`", id.as_str())))?;
        let path = match kind {
            Kind::Render => e.output_path,
            Kind::Original => e.image_path,
        };
        let path = path.ok_or_else(|| {
            WebError::NotFound(format!("experiment {} has no {}", id.as_str(), kind.word()))
        })?;
        Ok((id.as_str().to_string(), path))
    })
    .await
}

/// Sends a file's bytes with the content type of its recorded extension.
async fn send(path: PathBuf) -> Result<Response, WebError> {
    let content_type = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
        .await
        .map_err(|e| WebError::Internal(format!("image task failed: {e}")))?
        .map_err(|_| WebError::NotFound("the image file is gone from the data directory".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Renders and originals never change once written.
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /image/{kind}/{id}`: the whole file.
pub(super) async fn full(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (_, reference) = recorded(&app, Kind::parse(&kind)?, &id).await?;
    let ws = app.ws.clone();
    // A file in a bucket is fetched into this server's cache on a miss.
    let path = tokio::task::spawn_blocking(move || ws.storage.local_copy(&reference))
        .await
        .map_err(|e| WebError::Internal(format!("image task failed: {e}")))?
        .map_err(WebError::from)?;
    send(path).await
}

/// `GET /thumb/{kind}/{id}`: a small copy, made on first request and
/// cached under the data directory.
pub(super) async fn thumbnail(
    State(app): State<Arc<App>>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let kind = Kind::parse(&kind)?;
    let (id, source) = recorded(&app, kind, &id).await?;
    let ws = app.ws.clone();
    // An original is shared by its batch's renders and stored under its
    // content hash: one thumbnail per file, not per render.
    let stem = std::path::Path::new(&source)
        .file_stem()
        .and_then(|s| s.to_str())
        .map(str::to_string);
    let key = match (kind, stem.as_deref()) {
        (Kind::Original, Some(stem)) => format!("original-{stem}"),
        _ => format!("{}-{id}", kind.word()),
    };
    let path = tokio::task::spawn_blocking(move || thumbnail::cached(&ws, &key, &source))
        .await
        .map_err(|e| WebError::Internal(format!("thumbnail task failed: {e}")))?
        .map_err(|e| match e {
            crate::error::Error::Io { .. } | crate::error::Error::Image { .. } => {
                tracing::warn!("serve: thumbnail: {e}");
                WebError::NotFound("the image file is gone or unreadable".into())
            }
            other => WebError::from(other),
        })?;
    send(path).await
}
