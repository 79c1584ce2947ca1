//! `POST /api/v1/connect/ai-stream`: the reply being written for a
//! conversation, as server-sent events (see `connect360_api::ai`).
//!
//! API keys with read permission may watch any conversation of their
//! workspace; a visitor token only its own customer's. The stream watches the
//! runner's broadcast for the conversation: who writes the reply (`start`)
//! and the text written so far as one delta, deltas as the agent writes,
//! then the stored message, then it ends (or `idle` when a hand-off drops
//! the reply). With no reply pending it answers at once:
//! the newest AI message (after `lastMessageId`), or `idle`. With several
//! replies pending it ends after the first; ask again with `lastMessageId`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use connect360_api::{AiDelta, AiIdle, AiStart, AiStreamEvent, AiStreamInput, ErrorCode, Sender};
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::replies::ReplyEvent;
use super::runner::REPLY_TIMEOUT;
use crate::app::AppState;
use crate::auth::Permission;
use crate::error::ApiError;
use crate::{trpc, validate};

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match open(&state, &headers, &body).await {
        Ok(body) => ([(CONTENT_TYPE, "text/event-stream"), (CACHE_CONTROL, "no-cache")], body).into_response(),
        Err(err) => trpc::error_response(&err, None),
    }
}

fn frame(event: &AiStreamEvent) -> String {
    format!("event: {}\ndata: {}\n\n", event.name(), event.data())
}

async fn open(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Body, ApiError> {
    let principal = crate::auth::authenticate(state.store.as_ref(), &state.signer, headers).await?;
    principal.require(Permission::Read)?;
    let raw = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::ParseError, format!("Body is not valid JSON: {e}")))?;
    let input: AiStreamInput = crate::procedures::decode(Some(raw))?;
    let conversation_id = validate::id("conversationId", &input.conversation_id)?;
    let after = input.last_message_id.as_deref().map(|id| validate::id("lastMessageId", id)).transpose()?;
    // Subscribed before looking: a reply stored in between is then either
    // in the state read below or among the events received.
    let (writing, events) = state.ai.replies.subscribe(&conversation_id);
    let reply = state
        .store
        .ai_reply_state(principal.workspace_id(), &conversation_id, principal.only_customer(), after.as_deref())
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(err) => {
            drop(events);
            state.ai.replies.release(&conversation_id);
            return Err(err.into());
        }
    };
    if !reply.pending {
        drop(events);
        state.ai.replies.release(&conversation_id);
        let event = match reply.latest {
            Some(message) => AiStreamEvent::Message(Box::new(message)),
            None => AiStreamEvent::Idle(AiIdle {}),
        };
        return Ok(Body::from(frame(&event)));
    }
    let (writer, reader) = tokio::io::duplex(16 * 1024);
    let (replies, closed) = (state.ai.replies.clone(), state.ai.closed());
    tokio::spawn(async move {
        // Ends when the reply is stored, the caller goes away, time is up, or the server stops.
        tokio::select! {
            _ = tokio::time::timeout(REPLY_TIMEOUT + KEEP_ALIVE, relay(writing, events, writer)) => {}
            _ = closed => {}
        }
        replies.release(&conversation_id);
    });
    Ok(Body::from_stream(tokio_util::io::ReaderStream::new(reader)))
}

/// Writes the reply being written so far, then the conversation's reply
/// events as they come, until the stored message.
async fn relay(
    writing: Option<(Sender, String)>,
    mut events: broadcast::Receiver<ReplyEvent>,
    mut out: tokio::io::DuplexStream,
) -> std::io::Result<()> {
    if let Some((sender, written)) = writing {
        out.write_all(frame(&AiStreamEvent::Start(AiStart { sender })).as_bytes()).await?;
        if !written.is_empty() {
            out.write_all(frame(&AiStreamEvent::Delta(AiDelta { text: written })).as_bytes()).await?;
        }
    }
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.tick().await;
    loop {
        let event = tokio::select! {
            received = events.recv() => received,
            _ = keep_alive.tick() => {
                out.write_all(b": keep-alive\n\n").await?;
                continue;
            }
        };
        let event = match event {
            Ok(ReplyEvent::Start(sender)) => AiStreamEvent::Start(AiStart { sender }),
            Ok(ReplyEvent::Delta(text)) => AiStreamEvent::Delta(AiDelta { text }),
            Ok(ReplyEvent::Message(message)) => {
                return out.write_all(frame(&AiStreamEvent::Message(message)).as_bytes()).await;
            }
            // Missed text is no loss: the stored message replaces it.
            Err(RecvError::Lagged(_)) => continue,
            Ok(ReplyEvent::Stopped) | Err(RecvError::Closed) => AiStreamEvent::Idle(AiIdle {}),
        };
        out.write_all(frame(&event).as_bytes()).await?;
        if matches!(event, AiStreamEvent::Idle(_)) {
            return Ok(());
        }
    }
}
