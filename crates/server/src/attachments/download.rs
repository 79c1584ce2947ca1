//! `GET /api/v1/connect/assets/{*key}`: a file's bytes, to those who may read
//! it, and the same 404 to everyone else as for a key that doesn't exist, so
//! that a file's existence is never told.
//!
//! Who may: an API key of the file's workspace; the visitor (token in the
//! Authorization header) who uploaded the file or whose conversation holds
//! it; or a URL signed for such a visitor (see [`super::url`]).
//!
//! What the browser is told: the sniffed type, `nosniff`, a sandboxing CSP,
//! and `attachment` for everything but plain raster images, so that no
//! upload ever runs as a page of this origin (SVG and HTML included).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::io::ReaderStream;

use super::range::Ranged;
use super::sniff::is_safe_inline;
use super::storage::FileStorage;
use super::url::{Grantee, SignedQuery, UrlSigner};
use crate::auth::{Principal, credential, session_token};
use crate::cors::CROSS_ORIGIN_RESOURCE_POLICY;
use crate::error::ApiError;
use crate::store::{Store, StoredFile};

pub const CSP: &str = "default-src 'none'; sandbox";
/// Files never change under a key; an hour keeps repeated views off the server.
const CACHE_CONTROL_VALUE: &str = "private, max-age=3600";

pub(super) async fn handle(
    State(store): State<Arc<dyn Store>>,
    State(files): State<Arc<dyn FileStorage>>,
    State(urls): State<UrlSigner>,
    key: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    principal: Result<Principal, ApiError>,
) -> Result<Response, ApiError> {
    let Ok(Path(key)) = key else { return Err(hidden()) };
    let Some(file) = store.file_by_key(&key).await? else { return Err(hidden()) };
    match readable(file, &urls, &uri, &headers, principal)? {
        Some((file, via)) => serve(files.as_ref(), &file, &headers, via).await,
        None => Err(hidden()),
    }
}

/// How the request may read the file, which decides who may embed the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A visitor's signed URL: the widget shows it in the site's page, another site.
    SignedUrl,
    /// An API key or the inbox's session: read on the server's own site.
    Credential,
}

impl Via {
    /// `Cross-Origin-Resource-Policy`: only the widget's URLs may be embedded elsewhere.
    fn resource_policy(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Via::SignedUrl => "cross-origin",
            Via::Credential => "same-site",
        })
    }
}

/// The one answer for "no such file" and "not yours".
fn hidden() -> ApiError {
    ApiError::not_found("No such file.")
}

/// The file, if the signed query or the request's credential may read it.
fn readable(
    file: StoredFile,
    urls: &UrlSigner,
    uri: &Uri,
    headers: &HeaderMap,
    principal: Result<Principal, ApiError>,
) -> Result<Option<(StoredFile, Via)>, ApiError> {
    let signed = SignedQuery::parse(uri.query());
    if signed.is_present() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let allowed = match urls.verify(&file.storage_key, &signed, now) {
            Some(Grantee::Customer(customer_id)) => super::customer_may_read(&file, &customer_id),
            None => false,
        };
        if allowed {
            return Ok(Some((file, Via::SignedUrl)));
        }
    }
    // A signed-in member's browser shows attachments with the session cookie.
    if !matches!(credential(headers), Ok(Some(_))) && session_token(headers).is_none() {
        return Ok(None);
    }
    match principal {
        Ok(principal) => Ok(super::may_read(&file, &principal).then_some((file, Via::Credential))),
        Err(err) if err.code == connect360_api::ErrorCode::InternalServerError => Err(err),
        Err(_) => Ok(None),
    }
}

async fn serve(
    files: &dyn FileStorage,
    file: &StoredFile,
    request: &HeaderMap,
    via: Via,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", file.id);
    let mut headers = HeaderMap::new();
    headers.insert(CROSS_ORIGIN_RESOURCE_POLICY, via.resource_policy());
    headers.insert(ETAG, header_value(&etag));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    if request.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| etag_matches(v, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    headers.insert(CONTENT_TYPE, header_value(&content_type(&file.media_type)));
    headers.insert(CONTENT_DISPOSITION, header_value(&disposition(&file.media_type, &file.name)));

    // A Range for an older version (If-Range differs) gets the whole file.
    let stale = request.get(IF_RANGE).is_some_and(|v| v.as_bytes() != etag.as_bytes());
    let range = if stale { None } else { request.get(RANGE).and_then(|v| v.to_str().ok()) };
    let (status, slice) = match Ranged::of(range, file.size) {
        Ranged::Full => (StatusCode::OK, None),
        Ranged::Partial { start, end } => {
            headers.insert(CONTENT_RANGE, header_value(&format!("bytes {start}-{end}/{}", file.size)));
            (StatusCode::PARTIAL_CONTENT, Some((start, end - start + 1)))
        }
        Ranged::Unsatisfiable => {
            headers.insert(CONTENT_RANGE, header_value(&format!("bytes */{}", file.size)));
            headers.remove(CONTENT_DISPOSITION);
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response());
        }
    };
    let length = slice.map_or(file.size, |(_, len)| len);
    headers.insert(CONTENT_LENGTH, header_value(&length.to_string()));
    match files.open(&file.storage_key, slice).await {
        Ok(Some(reader)) => Ok((status, headers, Body::from_stream(ReaderStream::new(reader))).into_response()),
        Ok(None) => {
            tracing::error!(key = file.storage_key, "a recorded file has no bytes");
            Err(hidden())
        }
        Err(err) => Err(ApiError::internal(format!("opening a file: {err}"))),
    }
}

/// Every value built here is visible ASCII; a fallback keeps a bad one from panicking.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn content_type(media_type: &str) -> String {
    if media_type.starts_with("text/") || media_type == "image/svg+xml" {
        format!("{media_type}; charset=utf-8")
    } else {
        media_type.to_owned()
    }
}

/// `inline` for plain raster images, `attachment` for the rest; the name
/// both as an ASCII fallback and exactly, RFC 6266 / 8187.
fn disposition(media_type: &str, name: &str) -> String {
    let kind = if is_safe_inline(media_type) { "inline" } else { "attachment" };
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut exact = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            exact.push(byte as char);
        } else {
            exact.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_is_inline_only_for_rasters_and_encodes_the_name() {
        assert_eq!(disposition("image/png", "a b.png"), "inline; filename=\"a b.png\"; filename*=UTF-8''a%20b.png");
        assert_eq!(
            disposition("image/svg+xml", "\"é\".svg"),
            "attachment; filename=\"_é_.svg\"; filename*=UTF-8''%22%C3%A9%22.svg".replace('é', "_")
        );
        assert!(disposition("text/html", "x.html").starts_with("attachment;"));
    }

    #[test]
    fn etags_match_lists_weak_tags_and_star() {
        assert!(etag_matches("\"file_1\"", "\"file_1\""));
        assert!(etag_matches("\"x\", W/\"file_1\"", "\"file_1\""));
        assert!(etag_matches("*", "\"file_1\""));
        assert!(!etag_matches("\"file_2\"", "\"file_1\""));
    }

    #[test]
    fn text_gets_a_charset() {
        assert_eq!(content_type("text/plain"), "text/plain; charset=utf-8");
        assert_eq!(content_type("image/png"), "image/png");
    }
}
