//! What keeps the server to its users: the LAN token (query on the first
//! visit, then a cookie; or a bearer header), the Origin and Fetch-Metadata
//! checks on posts, the per-server CSRF secret every form post echoes, and
//! the response headers that keep pages from being framed or sniffed.
//!
//! Files are never named by the URL: images are looked up by experiment id
//! in the store (see `images`), so there is no path to traverse.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::IpAddr;
use std::sync::Arc;

use super::App;

/// The cookie that carries the LAN token after the first visit.
const TOKEN_COOKIE: &str = "latina_token";

/// The LAN token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub value: String,
    /// True when it was generated now (the CLI prints it once), false when
    /// it came from the configured environment variable.
    pub generated: bool,
}

/// The token a bind needs: none on loopback; on a LAN bind, the value of
/// the configured variable (`from_env`), or a fresh random one.
pub fn access_token(bind: IpAddr, from_env: Option<String>) -> Option<AccessToken> {
    if !super::is_lan(bind) {
        return None;
    }
    Some(match from_env.map(|t| t.trim().to_string()) {
        Some(value) if !value.is_empty() => AccessToken {
            value,
            generated: false,
        },
        _ => AccessToken {
            value: secret(),
            generated: true,
        },
    })
}

/// 128 random bits as 32 hex digits (from the system's random source).
pub(super) fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Compares two secrets in time that does not depend on where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of one cookie in the request, if sent.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `token` query parameter, if any.
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_string())
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("latina: {message}\n"),
    )
        .into_response()
}

/// Whether a post comes from this server's own pages: a browser's
/// `Sec-Fetch-Site` must not say cross-site, and an `Origin`, when sent,
/// must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => origin == format!("http://{host}"),
        _ => false,
    }
}

/// Runs before every handler: the LAN token, the origin of posts, and the
/// headers every response carries.
pub(super) async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(token) = &app.token {
        let headers = request.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let from_query = query_token(request.uri().query());
        let known = [bearer, cookie(headers, TOKEN_COOKIE), from_query.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| same_secret(t, token));
        if !known {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this server needs its access token: open the URL latina serve printed",
            );
        }
        if from_query.is_some() && request.method() == Method::GET {
            // Trade the token in the URL for a cookie, and drop it from the
            // address bar (and from any later Referer).
            let mut response = Redirect::to(request.uri().path()).into_response();
            if let Ok(value) = HeaderValue::from_str(&format!(
                "{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            )) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return response;
        }
    }
    if request.method() != Method::GET && !same_origin(request.headers()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "cross-site request refused: post from this server's own pages",
        );
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "SAMEORIGIN"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'; \
             form-action 'self'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn secrets_compare_equal_only_when_identical() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn a_loopback_bind_needs_no_token_and_a_lan_bind_always_has_one() {
        assert_eq!(access_token("127.0.0.1".parse().unwrap(), None), None);
        assert_eq!(access_token("::1".parse().unwrap(), Some("x".into())), None);
        let lan = "0.0.0.0".parse().unwrap();
        let given = access_token(lan, Some(" s3cret ".into())).unwrap();
        assert_eq!(given.value, "s3cret");
        assert!(!given.generated);
        let made = access_token(lan, Some("  ".into())).unwrap();
        assert!(made.generated);
        assert_eq!(made.value.len(), 32);
        assert_ne!(made.value, access_token(lan, None).unwrap().value);
    }

    #[test]
    fn posts_from_another_origin_are_not_same_origin() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8421")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8421"),
            ("origin", "http://127.0.0.1:8421"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8421"),
            ("origin", "http://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8421"),
            ("sec-fetch-site", "cross-site"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8421"),
            ("origin", "null"),
        ])));
    }

    #[test]
    fn cookies_and_query_tokens_are_found_by_name() {
        let h = headers(&[("cookie", "a=1; latina_token=xyz; b=2")]);
        assert_eq!(cookie(&h, "latina_token"), Some("xyz"));
        assert_eq!(cookie(&h, "latina"), None);
        assert_eq!(query_token(Some("q=1&token=abc")), Some("abc".into()));
        assert_eq!(query_token(Some("tokens=abc")), None);
        assert_eq!(query_token(None), None);
    }
}
