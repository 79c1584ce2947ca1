//! CSRF defence for the inbox's session cookie: a state-changing request
//! that the cookie authenticates must come from the server's own pages,
//! which browsers prove with `Origin`. Requests with a credential header
//! (API keys, visitor tokens) are not affected: a browser never adds those
//! on its own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{credential, session_token};
use crate::error::ApiError;

/// The origin the server is reached at (`--public-url`), when it is behind
/// a proxy; else the request's `Host` over http or https.
#[derive(Debug, Clone, Default)]
pub struct PublicOrigin(pub Option<Arc<str>>);

impl PublicOrigin {
    /// `https://chat.example.com/` → `https://chat.example.com`.
    pub fn new(url: Option<&str>) -> Self {
        PublicOrigin(url.map(|u| Arc::from(u.trim_end_matches('/').to_ascii_lowercase())))
    }

    /// Whether the request's `Origin` is this server's own.
    pub fn is_same_origin(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
        let origin = origin.to_ascii_lowercase();
        if let Some(public) = &self.0 {
            return origin == **public;
        }
        let Some(host) = headers.get(HOST).and_then(|v| v.to_str().ok()) else { return false };
        let host = host.to_ascii_lowercase();
        origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host.as_str())
    }

    /// Whether the browser reached the server over https: the public URL
    /// says so, or the proxy in front does (`X-Forwarded-Proto`).
    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        match &self.0 {
            Some(public) => public.starts_with("https://"),
            None => headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https")),
        }
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a state-changing request authenticated by the session cookie
/// unless it comes from the server's own origin.
pub async fn same_origin(State(origin): State<PublicOrigin>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let by_cookie = !matches!(credential(headers), Ok(Some(_)) | Err(_)) && session_token(headers).is_some();
    if by_cookie && changes_state(req.method()) && !origin.is_same_origin(headers) {
        return ApiError::forbidden(
            "A signed-in request that changes something must come from this server's own pages (Origin).",
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), v.parse().unwrap())).collect()
    }

    #[test]
    fn same_origin_is_the_host_or_the_public_url() {
        let local = PublicOrigin::default();
        assert!(local.is_same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!local.is_same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9090")])));
        assert!(!local.is_same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "null")])));
        assert!(!local.is_same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        let public = PublicOrigin::new(Some("https://Chat.Example.com/"));
        assert!(public.is_same_origin(&headers(&[("host", "10.0.0.2"), ("origin", "https://chat.example.com")])));
        assert!(!public.is_same_origin(&headers(&[("host", "10.0.0.2"), ("origin", "http://chat.example.com")])));
        assert!(public.is_https(&HeaderMap::new()));
        assert!(local.is_https(&headers(&[("x-forwarded-proto", "https")])));
        assert!(!local.is_https(&HeaderMap::new()));
    }
}
