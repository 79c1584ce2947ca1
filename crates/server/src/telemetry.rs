//! Metrics in Prometheus's text format (`GET /metrics`, served when the
//! server runs with `--metrics`), recorded with the `metrics` crate's macros.
//!
//! The recorder is process-wide: it is installed once, by the first server
//! that asks for it (tests start several in one process), and every server
//! of the process records into it. Without it the macros record nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use connect360_api::ErrorCode;
use metrics::{SharedString, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestId, RequestId};

pub const HTTP_REQUESTS: &str = "connect360_http_requests_total";
pub const HTTP_DURATION: &str = "connect360_http_request_duration_seconds";
pub const TRPC_CALLS: &str = "connect360_trpc_calls_total";
pub const TRPC_DURATION: &str = "connect360_trpc_call_duration_seconds";
pub const EVENT_STREAMS_OPEN: &str = "connect360_event_streams_open";
pub const AI_REQUESTS_PENDING: &str = "connect360_ai_requests_pending";
pub const COMMIT_BATCH_SIZE: &str = "connect360_store_commit_batch_size";
pub const STORE_ERRORS: &str = "connect360_store_errors_total";
pub const UPSTREAM_POLLERS: &str = "connect360_upstream_pollers";
pub const UPSTREAM_POLLS: &str = "connect360_upstream_polls_total";

/// Seconds: from a cached read (~0.1 ms) to the request timeout (30 s).
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Writes per commit, up to the group commit's largest batch (128).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
/// How often histograms are drained when nobody scrapes, so that they do not grow.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use (and only then: a second
/// global recorder would be refused).
pub fn recorder() -> anyhow::Result<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(COMMIT_BATCH_SIZE.into()), BATCH_BUCKETS))
                .and_then(|b| b.install_recorder())
                .map_err(|err| format!("installing the metrics recorder: {err}"))?;
            describe();
            Ok(handle)
        })
        .as_ref()
        .map_err(|err| anyhow::anyhow!("{err}"))
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route pattern, method and outcome.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time until an HTTP request's answer starts, by route pattern.");
    describe_counter!(TRPC_CALLS, "tRPC calls (one per call of a batch), by procedure and outcome.");
    describe_histogram!(TRPC_DURATION, Unit::Seconds, "Time a tRPC call takes, by procedure.");
    describe_gauge!(EVENT_STREAMS_OPEN, "Server-sent event streams open now, by stream.");
    describe_gauge!(UPSTREAM_POLLERS, "Upstream mode: conversations polled now (those with an open event stream).");
    describe_counter!(UPSTREAM_POLLS, "Upstream mode: listMessages pages read for the event streams.");
    describe_gauge!(AI_REQUESTS_PENDING, "AI replies asked for and not yet written, as of the runner's last look.");
    describe_histogram!(COMMIT_BATCH_SIZE, Unit::Count, "Writes committed together by one group commit.");
    describe_counter!(STORE_ERRORS, "Store operations that failed inside the database layer (not refusals).");
}

/// `GET /metrics`. The route exists only once [`recorder`] was installed.
pub async fn render() -> Response {
    match recorder() {
        Ok(handle) => ([(CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err:#}\n")).into_response(),
    }
}

/// Drains histograms now and then while the server runs.
pub async fn upkeep() {
    let Ok(handle) = recorder() else { return };
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

/// The outcome a response reports: the tRPC error code it carries (see
/// [`ErrorOutcome`]), else its status class.
fn outcome(res: &Response) -> SharedString {
    if let Some(ErrorOutcome(code)) = res.extensions().get() {
        return code_name(*code);
    }
    SharedString::const_str(match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    })
}

/// The code as it is on the wire, e.g. `NOT_FOUND`.
pub fn code_name(code: ErrorCode) -> SharedString {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(name)) => SharedString::from(name),
        _ => SharedString::const_str("UNKNOWN"),
    }
}

/// The tRPC code of an error answer, left on the response for [`track`].
#[derive(Debug, Clone, Copy)]
pub struct ErrorOutcome(pub ErrorCode);

/// Middleware: counts and times each request under its route's pattern
/// (never the raw path, which would make a series per id).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "outcome" => outcome(&res)).increment(1);
    histogram!(HTTP_DURATION, "route" => route).record(started.elapsed());
    res
}

/// Counts and times one tRPC call; `procedure` is a known procedure's path
/// or `unknown`, so that callers cannot invent series. The outcome is `OK`
/// or the error's code.
pub fn trpc_call(procedure: &'static str, error: Option<ErrorCode>, took: Duration) {
    let outcome = error.map_or(SharedString::const_str("OK"), code_name);
    counter!(TRPC_CALLS, "procedure" => procedure, "outcome" => outcome).increment(1);
    histogram!(TRPC_DURATION, "procedure" => procedure).record(took);
}

pub fn commit_batch(size: usize) {
    histogram!(COMMIT_BATCH_SIZE).record(size as f64);
}

pub fn store_error() {
    counter!(STORE_ERRORS).increment(1);
}

pub fn ai_requests_pending(count: usize) {
    gauge!(AI_REQUESTS_PENDING).set(count as f64);
}

/// Upstream mode: a conversation's poller started (+1) or stopped (-1).
pub fn upstream_pollers(change: f64) {
    gauge!(UPSTREAM_POLLERS).increment(change);
}

/// Upstream mode: a `listMessages` page read for the event streams.
pub fn upstream_poll() {
    counter!(UPSTREAM_POLLS).increment(1);
}

/// One open event stream, counted while it lives. `stream` names the kind:
/// `ai` (`ai-stream`) or `events` (a conversation's event stream).
pub struct OpenStream(&'static str);

impl OpenStream {
    pub fn new(stream: &'static str) -> Self {
        gauge!(EVENT_STREAMS_OPEN, "stream" => stream).increment(1.0);
        OpenStream(stream)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        gauge!(EVENT_STREAMS_OPEN, "stream" => self.0).decrement(1.0);
    }
}

/// Request ids (`x-request-id`) without a random number per request, whose
/// `getrandom` call each request paid for: UUIDs (version 8, custom) of a
/// random half drawn once per server and a counter, so
/// `…-8000-00000000002a` is the 42nd request of its server. The random half
/// keeps the ids of different servers and runs apart in shared logs.
#[derive(Clone)]
pub struct SequentialRequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl Default for SequentialRequestIds {
    fn default() -> Self {
        SequentialRequestIds { prefix: rand::random(), next: Arc::new(AtomicU64::new(1)) }
    }
}

impl MakeRequestId for SequentialRequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let bits = (u128::from(self.prefix) << 64) | u128::from(n);
        let id = uuid::Builder::from_custom_bytes(bits.to_be_bytes()).into_uuid();
        HeaderValue::try_from(id.hyphenated().to_string()).ok().map(RequestId::new)
    }
}
