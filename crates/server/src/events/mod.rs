//! `GET /api/v1/connect/events?conversationId=…`: a conversation's events as
//! server-sent events (the wire is `connect360_api::events`'s).
//!
//! API keys with read permission may watch any conversation of their
//! workspace; a visitor token only its own customer's (another's is not
//! found, as everywhere). Visitors' streams are capped per visitor and per
//! client address ([`limits`]). A stream ends when its reader falls behind
//! ([`feed::forward`]) or the server stops; the client resumes with
//! `Last-Event-ID`.

pub mod feed;
pub mod limits;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connect360_api::{EVENTS_PATH, EventsQuery, LAST_EVENT_ID};
use futures_util::{Stream, StreamExt};

use self::feed::Feed;
use self::limits::StreamLimits;
use crate::ai::Ai;
use crate::attachments::url::UrlSigner;
use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::limits::{ClientIp, Limits};
use crate::store::Store;
use crate::telemetry::OpenStream;
use crate::validate;

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a stream is opened with, besides the store and the caller.
#[derive(Clone)]
pub struct EventStreams {
    pub limits: StreamLimits,
    /// Events a reader may be behind by before it is dropped.
    pub buffer: usize,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Authenticator: FromRef<S>,
    Ai: FromRef<S>,
    UrlSigner: FromRef<S>,
    EventStreams: FromRef<S>,
    Limits: FromRef<S>,
{
    Router::new().route(EVENTS_PATH, get(open))
}

#[allow(clippy::too_many_arguments)] // one per extractor
async fn open(
    State(store): State<Arc<dyn Store>>,
    State(ai): State<Ai>,
    State(urls): State<UrlSigner>,
    State(streams): State<EventStreams>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    principal: Principal,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, Response> {
    principal.require(Permission::Read).map_err(IntoResponse::into_response)?;
    let Query(query) = query.map_err(|err| ApiError::invalid("query", err.body_text()).into_response())?;
    let conversation_id = validate::id("conversationId", &query.conversation_id).map_err(IntoResponse::into_response)?;
    let last_event_id = last_event_id(&headers).map_err(IntoResponse::into_response)?;
    let slots = streams.limits.acquire(principal.only_customer(), client).map_err(IntoResponse::into_response)?;
    // Subscribed before the store is read: what is stored in between is
    // then read or received, and the feed sends it once.
    let (writing, subscription) = ai.replies.subscribe(&conversation_id);
    let live = feed::forward(subscription, streams.buffer);
    let cursor = store
        .message_cursor(
            principal.workspace_id(),
            &conversation_id,
            principal.only_customer(),
            last_event_id.as_deref().map(|id| ("Last-Event-ID", id)),
        )
        .await
        .map_err(|err| ApiError::from(err).into_response())?;
    let feed = Feed { store, urls, principal, cursor, writing, live };
    let open = OpenStream::new("events");
    let events = feed.events().take_until(ai.closed()).map(move |event| {
        // Counted, and holding their caps' slots, until the stream is dropped.
        let _held = (&open, &slots);
        event
    });
    Ok(sse(events).into_response())
}

/// The stream, starting with a comment at once (so that a client can tell
/// a proxy that buffers from a quiet conversation), then keep-alives.
pub(crate) fn sse(events: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static) -> impl IntoResponse {
    let hello = futures_util::stream::once(async { Ok(SseEvent::default().comment("connected")) });
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// The `Last-Event-ID` header: a message id, or none (absent or empty).
fn last_event_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ApiError::invalid("Last-Event-ID", "must be a message id"))?.trim();
    match value.is_empty() {
        true => Ok(None),
        false => validate::id("Last-Event-ID", value).map(Some),
    }
}
