//! Upstream mode's REST routes for visitors: uploads, private downloads and
//! the AI stream, checked here, then forwarded with the key, their bodies
//! streamed through in both directions (never held whole in memory).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRef, Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use connect360_api::{AI_STREAM_PATH, ATTACHMENTS_PATH, AiStreamInput, ErrorCode, UploadResponse};

use super::backend::UpstreamBackend;
use super::client::{read_json, transport};
use crate::attachments::download::CSP;
use crate::attachments::upload::BODY_LIMIT;
use crate::attachments::url::{Grantee, SignedQuery, UrlSigner};
use crate::auth::{Authenticator, Principal};
use crate::cors::CROSS_ORIGIN_RESOURCE_POLICY;
use crate::domain::files::asset_path;
use crate::error::ApiError;
use crate::extract::Input;
use crate::limits::Limits;
use crate::validate;
use crate::visitor_token::VisitorClaims;

/// An upload takes as long as the visitor's connection needs.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A download, as long as the browser reads it.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What the forwarding routes need.
#[derive(Clone, FromRef)]
pub struct Forwarder {
    pub upstream: Arc<UpstreamBackend>,
    pub auth: Authenticator,
    pub urls: UrlSigner,
    pub limits: Limits,
}

/// The upload route (not under the request timeout, as locally).
pub fn uploads<S: Clone + Send + Sync + 'static>(forwarder: Forwarder) -> Router<S> {
    Router::new().route(ATTACHMENTS_PATH, post(upload).layer(DefaultBodyLimit::max(BODY_LIMIT))).with_state(forwarder)
}

/// Downloads and the AI stream.
pub fn calls<S: Clone + Send + Sync + 'static>(forwarder: Forwarder) -> Router<S> {
    Router::new()
        .route("/api/v1/connect/assets/{*key}", get(download))
        .route(AI_STREAM_PATH, post(ai_stream))
        .with_state(forwarder)
}

fn visitor(principal: Principal) -> Result<VisitorClaims, ApiError> {
    match principal {
        Principal::Visitor(v) => Ok(v),
        Principal::Member(_) => {
            Err(ApiError::unauthorized("This server serves website visitors only: call the upstream API."))
        }
    }
}

fn send_failed(url: &reqwest::Url) -> impl Fn(reqwest::Error) -> ApiError + '_ {
    move |err| ApiError::from(transport(url, &err))
}

async fn upload(
    State(f): State<Forwarder>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadResponse>, ApiError> {
    let v = visitor(principal)?;
    f.limits.upload(&v.customer_id)?;
    // Counted before it is sent on: what the visitor may upload is known from its length.
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| ApiError::invalid("Content-Length", "an upload states its length"))?;
    if length > BODY_LIMIT as u64 {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The upload is larger than {BODY_LIMIT} bytes in all."),
        ));
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .filter(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data")))
        .cloned()
        .ok_or_else(|| ApiError::invalid("body", "must be multipart/form-data with a boundary"))?;
    f.limits.upload_bytes(&v.customer_id, length)?;
    let (url, request) = f.upstream.client().rest(Method::POST, ATTACHMENTS_PATH)?;
    let response = request
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, length)
        .timeout(UPLOAD_TIMEOUT)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await
        .map_err(send_failed(&url))?;
    let mut answer: UploadResponse = read_json(&url, response).await?;
    // The visitor's own URLs, to this server, which fetches the bytes with the key.
    let grantee = Grantee::Customer(v.customer_id.clone());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for file in &mut answer.files {
        file.url = f.urls.signed_url(&file.s3_key, &grantee, now);
    }
    tracing::info!(count = answer.files.len(), customer = %v.customer_id, "files uploaded upstream");
    Ok(Json(answer))
}

/// A visitor's signed URL (only this server signs them: for the files of
/// their conversation and their uploads) is fetched upstream with the key.
async fn download(
    State(f): State<Forwarder>,
    key: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hidden = || ApiError::not_found("No such file.");
    let Ok(Path(key)) = key else { return Err(hidden()) };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if f.urls.verify(&key, &SignedQuery::parse(uri.query()), now).is_none() {
        return Err(hidden());
    }
    let (url, mut request) = f.upstream.client().rest(Method::GET, &asset_path(&key))?;
    for name in [RANGE, IF_RANGE, IF_NONE_MATCH] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value.clone());
        }
    }
    let response = request.timeout(DOWNLOAD_TIMEOUT).send().await.map_err(send_failed(&url))?;
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return Err(hidden());
    }
    let passes =
        status.is_success() || status == StatusCode::NOT_MODIFIED || status == StatusCode::RANGE_NOT_SATISFIABLE;
    if !passes {
        return Err(read_json::<serde_json::Value>(&url, response)
            .await
            .err()
            .map_or_else(|| ApiError::internal(format!("{url} answered {status}")), ApiError::from));
    }
    let mut answer = Response::builder().status(status);
    for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_RANGE, ACCEPT_RANGES, ETAG, CACHE_CONTROL, CONTENT_DISPOSITION] {
        if let Some(value) = response.headers().get(&name) {
            answer = answer.header(name, value.clone());
        }
    }
    // Whatever the upstream says: an upload never runs as a page of this origin.
    answer = answer
        .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
        .header(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP))
        // A signed URL is the widget's, shown in the site's page.
        .header(CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("cross-origin"));
    answer.body(Body::from_stream(response.bytes_stream())).map_err(ApiError::internal)
}

/// The upstream's AI stream for the visitor's own conversation, relayed as it comes.
async fn ai_stream(
    State(f): State<Forwarder>,
    principal: Principal,
    Input(input): Input<AiStreamInput>,
) -> Result<Response, ApiError> {
    let v = visitor(principal)?;
    let conversation_id = validate::id("conversationId", &input.conversation_id)?;
    f.upstream.check_owner(Some(&v.customer_id), &conversation_id).await?;
    let response = f.upstream.client().ai_stream(&input).await?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(response.bytes_stream()),
    )
        .into_response())
}
