//! `GET /api/v1/connect/events?conversationId=…`: a conversation's events as
//! server-sent events (the wire is `connect360_api::events`'s). The inbox's
//! member stream (`inbox_events`) is the same [`feed`] over its
//! workspace's topic.
//!
//! API keys with read permission may watch any conversation of their
//! workspace; a visitor token only its own customer's (another's is not
//! found, as everywhere). Visitors' streams are capped per visitor and per
//! client address ([`limits`]). A stream ends when its reader falls behind
//! ([`feed`]) or the server stops; the client resumes with
//! `Last-Event-ID`.
//!
//! What a stream missed is read from the conversation's [`log::MessageLog`]:
//! the store's, or in upstream mode the conversation's poller's.

pub mod feed;
pub mod last_event_id;
pub mod limits;
pub mod log;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connect360_api::{EVENTS_PATH, EventsQuery};
use futures_util::{Stream, StreamExt};

use self::feed::{Feed, Watch};
use self::last_event_id::LastEventId;
use self::limits::StreamLimits;
use self::log::ConversationLogs;
use crate::ai::Ai;
use crate::attachments::url::UrlSigner;
use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::limits::{ClientIp, Limits};
use crate::telemetry::OpenStream;
use crate::validate;

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a stream is opened with, besides the caller.
#[derive(Clone)]
pub struct EventStreams {
    /// Where streams read what their callers missed.
    pub logs: Arc<dyn ConversationLogs>,
    pub limits: StreamLimits,
    /// Events a reader may be behind by before it is dropped.
    pub buffer: usize,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Authenticator: FromRef<S>,
    Ai: FromRef<S>,
    UrlSigner: FromRef<S>,
    EventStreams: FromRef<S>,
    Limits: FromRef<S>,
{
    Router::new().route(EVENTS_PATH, get(open))
}

async fn open(
    State(ai): State<Ai>,
    State(urls): State<UrlSigner>,
    State(streams): State<EventStreams>,
    ClientIp(client): ClientIp,
    last_event_id: Result<LastEventId, ApiError>,
    principal: Principal,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, Response> {
    principal.require(Permission::Read).map_err(IntoResponse::into_response)?;
    let Query(query) = query.map_err(|err| ApiError::invalid("query", err.body_text()).into_response())?;
    let conversation_id =
        validate::id("conversationId", &query.conversation_id).map_err(IntoResponse::into_response)?;
    let last_event_id = last_event_id.map_err(IntoResponse::into_response)?;
    let slots = streams.limits.acquire(principal.only_customer(), client).map_err(IntoResponse::into_response)?;
    let log = streams.logs.open(&principal, &conversation_id).await.map_err(IntoResponse::into_response)?;
    let (writing, subscription) = ai.replies.subscribe(&conversation_id);
    let watch = Watch { log, urls, principal, subscription, writing, last_event_id, buffer: streams.buffer };
    let feed = watch.open().await.map_err(IntoResponse::into_response)?;
    Ok(respond(feed, "events", slots, ai.closed()))
}

/// The feed as server-sent events, counted as an open stream of `kind` and
/// holding `held` (e.g. its caps' slots) until it is dropped or `until`
/// (the server stopping) ends it.
pub(crate) fn respond(
    feed: Feed,
    kind: &'static str,
    held: impl Send + Sync + 'static,
    until: impl Future<Output = ()> + Send + 'static,
) -> Response {
    let open = OpenStream::new(kind);
    let events = feed.events().take_until(until).map(move |event| {
        let _held = (&open, &held);
        event
    });
    sse(events).into_response()
}

/// The stream, starting with a comment at once (so that a client can tell
/// a proxy that buffers from a quiet conversation), then keep-alives.
fn sse(events: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static) -> impl IntoResponse {
    let hello = futures_util::stream::once(async { Ok(SseEvent::default().comment("connected")) });
    Sse::new(hello.chain(events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}
