//! tRPC v11 over HTTP, without a transformer, as `@trpc/client`'s `httpLink`
//! and `httpBatchLink` speak it.
//!
//! - `GET /api/trpc/<path>?input=<json>` runs a query, `POST` with a JSON
//!   body a mutation.
//! - `?batch=1` with paths joined by commas runs several calls; inputs are
//!   keyed "0", "1", … and the answer is an array, HTTP 207 when the calls'
//!   statuses differ.
//! - Each call answers `{"result":{"data":…}}` or `{"error":{…}}`. Errors of
//!   the request as a whole (unparsable JSON, a body too large) answer a
//!   single error object.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use connect360_api::{ErrorCode, ErrorEnvelope, ProcedureKind};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::ai::Ai;
use crate::attachments::url::UrlSigner;
use crate::auth::{Authenticator, Principal};
use crate::backend::Backend;
use crate::error::ApiError;
use crate::limits::Limits;
use crate::procedures::{self, Ctx, Route};
use crate::store::Store;
use crate::telemetry::{self, ErrorOutcome};

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const MAX_BATCH: usize = 50;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Arc<dyn Backend>: FromRef<S>,
    Authenticator: FromRef<S>,
    UrlSigner: FromRef<S>,
    Ai: FromRef<S>,
    Limits: FromRef<S>,
{
    Router::new().route("/api/trpc/{*path}", any(handle))
}

/// Answers with tRPC's envelopes itself: a request-level error of a single
/// call names its procedure, and a batch answers one envelope per call.
#[allow(clippy::too_many_arguments)] // one per extractor
async fn handle(
    State(store): State<Arc<dyn Store>>,
    State(backend): State<Arc<dyn Backend>>,
    State(urls): State<UrlSigner>,
    State(ai): State<Ai>,
    State(limits): State<Limits>,
    // Resolved once per request; each call fails with the error if it is one.
    principal: Result<Principal, ApiError>,
    Path(path): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let query = Query::parse(&uri);
    let paths: Vec<&str> = if query.batch { path.split(',').collect() } else { vec![path.as_str()] };
    let single_path = (!query.batch).then_some(path.as_str());

    if method == Method::HEAD {
        return StatusCode::NO_CONTENT.into_response();
    }
    let inputs = match read_inputs(&method, &query, &headers, body, paths.len()).await {
        Ok(inputs) => inputs,
        Err(err) => return err.response_at(single_path),
    };

    let idempotency_key = headers.get("idempotency-key").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    let mut results = Vec::with_capacity(paths.len());
    for (index, (path, input)) in paths.iter().zip(&inputs).enumerate() {
        let ctx = Ctx {
            store: store.as_ref(),
            backend: backend.as_ref(),
            principal: &principal,
            idempotency_key: idempotency_key
                .as_ref()
                .map(|key| if query.batch { format!("{key}#{index}") } else { key.clone() }),
            urls: &urls,
            ai: &ai,
            limits: &limits,
        };
        let outcome = run(&ctx, &method, path, input.as_deref()).await;
        results.push((path, outcome));
    }

    if !query.batch {
        let (path, outcome) = results.remove(0);
        return call_response(path, outcome);
    }
    let retry_after = results.iter().filter_map(|(_, r)| r.as_ref().err()?.retry_after).max();
    let statuses: Vec<u16> = results.iter().map(|(_, r)| status_of(r)).collect();
    let status = if statuses.windows(2).all(|w| w[0] == w[1]) { statuses.first().copied().unwrap_or(200) } else { 207 };
    let body: Vec<Envelope> = results.into_iter().map(|(path, outcome)| envelope(path, outcome)).collect();
    with_retry_after(json_response(status, &body), retry_after)
}

/// A refused call's wait, as the answer's `Retry-After` (a batch's longest).
fn with_retry_after(mut res: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}

/// One call, counted and timed under its procedure's path.
async fn run(ctx: &Ctx<'_>, method: &Method, path: &str, input: Option<&RawValue>) -> Result<Box<RawValue>, ApiError> {
    let started = Instant::now();
    let route = procedures::route(path);
    let outcome = match route {
        Some(route) => call(ctx, method, path, route, input).await,
        None => Err(ApiError::not_found(format!("No procedure found on path \"{path}\""))),
    };
    let procedure = route.map_or("unknown", |route| route.path);
    telemetry::trpc_call(procedure, outcome.as_ref().err().map(|err| err.code), started.elapsed());
    outcome
}

async fn call(
    ctx: &Ctx<'_>,
    method: &Method,
    path: &str,
    route: Route,
    input: Option<&RawValue>,
) -> Result<Box<RawValue>, ApiError> {
    let allowed = match route.kind {
        ProcedureKind::Query => Method::GET,
        ProcedureKind::Mutation => Method::POST,
    };
    if *method != allowed {
        let kind = match route.kind {
            ProcedureKind::Query => "query",
            ProcedureKind::Mutation => "mutation",
        };
        return Err(ApiError::new(
            ErrorCode::MethodNotSupported,
            format!("Unsupported {method}-request to {kind} procedure at path \"{path}\""),
        ));
    }
    (route.call)(ctx, input).await
}

struct Query {
    batch: bool,
    input: Option<String>,
}

impl Query {
    fn parse(uri: &Uri) -> Query {
        let mut query = Query { batch: false, input: None };
        for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "batch" => query.batch = value == "1" || value == "true",
                "input" => query.input = Some(value.into_owned()),
                _ => {}
            }
        }
        query
    }
}

/// The raw input of each call (checked to be JSON, decoded by the
/// procedure), `None` where the caller gave none.
async fn read_inputs(
    method: &Method,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
    calls: usize,
) -> Result<Vec<Option<Box<RawValue>>>, ApiError> {
    if calls > MAX_BATCH {
        return Err(ApiError::invalid("batch", format!("at most {MAX_BATCH} calls, got {calls}")));
    }
    let raw = match *method {
        Method::GET => query.input.as_deref().map(parse_json).transpose()?,
        Method::POST => {
            let bytes = read_body(headers, body).await?;
            if bytes.is_empty() {
                None
            } else {
                let is_json = headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
                if !is_json {
                    return Err(ApiError::new(
                        ErrorCode::UnsupportedMediaType,
                        "Send the input as JSON with content-type: application/json.",
                    ));
                }
                Some(serde_json::from_slice(&bytes).map_err(parse_error)?)
            }
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::MethodNotSupported,
                format!("Unsupported {method}-request: queries are GET, mutations POST"),
            ));
        }
    };
    if !query.batch {
        return Ok(vec![raw]);
    }
    match raw {
        None => Ok(vec![None; calls]),
        Some(raw) if raw.get().starts_with('{') => {
            let mut by_index: HashMap<String, Box<RawValue>> = serde_json::from_str(raw.get()).map_err(parse_error)?;
            Ok((0..calls).map(|i| by_index.remove(&i.to_string())).collect())
        }
        Some(_) => Err(ApiError::invalid("input", "needs to be an object when doing a batch call")),
    }
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::new(ErrorCode::PayloadTooLarge, format!("Request body is larger than {MAX_BODY_BYTES} bytes."));
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|err| {
        let cause = err.into_inner();
        if cause.is::<http_body_util::LengthLimitError>() {
            too_large()
        } else {
            ApiError::invalid("body", format!("could not be read: {cause}"))
        }
    })
}

fn parse_json(text: &str) -> Result<Box<RawValue>, ApiError> {
    serde_json::from_str(text).map_err(parse_error)
}

fn parse_error(err: serde_json::Error) -> ApiError {
    ApiError::new(ErrorCode::ParseError, format!("Input is not valid JSON: {err}"))
}

fn status_of(outcome: &Result<Box<RawValue>, ApiError>) -> u16 {
    match outcome {
        Ok(_) => 200,
        Err(err) => err.code.http_status(),
    }
}

/// One call's answer: `{"result":{"data":…}}` or `{"error":…}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Envelope {
    Result { result: Data },
    Error(ErrorEnvelope),
}

#[derive(Serialize)]
struct Data {
    data: Box<RawValue>,
}

fn envelope(path: &str, outcome: Result<Box<RawValue>, ApiError>) -> Envelope {
    match outcome {
        Ok(data) => Envelope::Result { result: Data { data } },
        Err(err) => Envelope::Error(ErrorEnvelope { error: err.shape(Some(path)) }),
    }
}

fn call_response(path: &str, outcome: Result<Box<RawValue>, ApiError>) -> Response {
    let status = status_of(&outcome);
    let code = outcome.as_ref().err().map(|err| err.code);
    let retry_after = outcome.as_ref().err().and_then(|err| err.retry_after);
    let mut res = with_retry_after(json_response(status, &envelope(path, outcome)), retry_after);
    if let Some(code) = code {
        res.extensions_mut().insert(ErrorOutcome(code));
    }
    res
}

fn json_response(status: u16, body: &impl Serialize) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(err) => ApiError::internal(err).into_response(),
    }
}
