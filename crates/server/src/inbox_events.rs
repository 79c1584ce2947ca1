//! `GET /api/v1/connect/inbox/events`: the workspace's messages as
//! server-sent events, for the inbox of a signed-in member (or an API key
//! with read permission; visitor tokens are refused).
//!
//! The conversation stream's [`feed`](crate::events::feed) over the hub's
//! workspace topic: subscribed first, then what the client missed
//! (`Last-Event-ID`) read from the store, then live messages, each once in
//! store order. A reader that falls behind is ended, and resumes with
//! `Last-Event-ID`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::Response;
use axum::routing::get;
use connect360_api::INBOX_EVENTS_PATH;

use crate::ai::Ai;
use crate::attachments::url::UrlSigner;
use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::events::EventStreams;
use crate::events::feed::Watch;
use crate::events::last_event_id::LastEventId;
use crate::events::log::StoreLog;
use crate::hub::{EventBus, Topic};
use crate::store::Store;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Arc<dyn EventBus>: FromRef<S>,
    Authenticator: FromRef<S>,
    Ai: FromRef<S>,
    UrlSigner: FromRef<S>,
    EventStreams: FromRef<S>,
{
    Router::new().route(INBOX_EVENTS_PATH, get(open))
}

#[allow(clippy::too_many_arguments)] // one per extractor
async fn open(
    State(store): State<Arc<dyn Store>>,
    State(events): State<Arc<dyn EventBus>>,
    State(ai): State<Ai>,
    State(urls): State<UrlSigner>,
    State(streams): State<EventStreams>,
    principal: Principal,
    last_event_id: Result<LastEventId, ApiError>,
) -> Result<Response, ApiError> {
    let Principal::Member(member) = &principal else {
        return Err(ApiError::forbidden("Visitor tokens cannot watch the workspace."));
    };
    principal.require(Permission::Read)?;
    let subscription = events.subscribe(Topic::Workspace(member.workspace_id.clone()));
    let watch = Watch {
        log: Arc::new(StoreLog(store)),
        urls,
        principal,
        subscription,
        writing: None,
        last_event_id: last_event_id?,
        buffer: streams.buffer,
    };
    let feed = watch.open().await?;
    // Members' streams are not capped: nothing to hold.
    Ok(crate::events::respond(feed, "inbox", (), ai.closed()))
}
