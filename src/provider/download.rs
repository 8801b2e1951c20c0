//! Fetching a finished render from a provider's CDN or API: bounded by the
//! policy's size limit and refused unless it really is an image.

use super::{RenderOutput, Secret, decoded_output};
use crate::error::Result;
use crate::http::{HttpClient, Method, RequestKind};

/// Downloads a render from `url` (no credentials unless `auth` is given),
/// within the client's deadline: refused unless the server says it is an
/// image (or a generic binary) and the bytes decode as one.
///
/// # Errors
/// [`crate::Error::Provider`] for transport failures, a non-image content
/// type, an oversized body or bytes that are not an image.
pub async fn download_image(
    http: &HttpClient,
    url: &str,
    auth: Option<&Secret>,
    cost_usd: Option<f64>,
) -> Result<RenderOutput> {
    let what = "download the render";
    let response = http
        .send(what, RequestKind::Idempotent, || {
            let builder = http.request(Method::GET, url);
            match auth {
                Some(secret) => builder.bearer_auth(secret.expose()),
                None => builder,
            }
        })
        .await?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let acceptable = content_type.is_empty()
        || content_type.starts_with("image/")
        || content_type.starts_with("application/octet-stream")
        || content_type.starts_with("binary/octet-stream");
    if !acceptable {
        let shown: String = content_type.chars().take(60).collect();
        return Err(http.error(
            what,
            format!("expected an image, got content type {shown:?}"),
        ));
    }
    let bytes = http.read_limited(what, response).await?;
    decoded_output(http.provider(), what, bytes, cost_usd)
}
