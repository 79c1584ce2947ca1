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

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use axum::routing::post;
use connect360_api::{AI_STREAM_PATH, AiDelta, AiIdle, AiStart, AiStreamEvent, AiStreamInput, SenderType};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use super::Ai;
use super::runner::REPLY_TIMEOUT;
use crate::auth::{Authenticator, Principal};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::extract::Input;
use crate::hub::{self, ReplyEvent, Subscription};
use crate::store::Store;
use crate::telemetry::OpenStream;
use crate::validate;

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

type Events = Sse<KeepAliveStream<BoxStream<'static, Result<Event, Infallible>>>>;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Store>: FromRef<S>,
    Authenticator: FromRef<S>,
    Ai: FromRef<S>,
{
    Router::new().route(AI_STREAM_PATH, post(open))
}

fn event(event: &AiStreamEvent) -> Result<Event, Infallible> {
    Ok(Event::default().event(event.name()).data(event.data()))
}

async fn open(
    State(store): State<Arc<dyn Store>>,
    State(ai): State<Ai>,
    principal: Principal,
    Input(input): Input<AiStreamInput>,
) -> Result<Events, ApiError> {
    principal.require(Permission::Read)?;
    let conversation_id = validate::id("conversationId", &input.conversation_id)?;
    let after = input.last_message_id.as_deref().map(|id| validate::id("lastMessageId", id)).transpose()?;
    // Subscribed before looking: a reply stored in between is then either
    // in the state read below or among the events received.
    // Released when dropped: at the stream's end, or when the caller goes away.
    let (writing, watching) = ai.replies.subscribe(&conversation_id);
    let reply = store
        .ai_reply_state(principal.workspace_id(), &conversation_id, principal.only_customer(), after.as_deref())
        .await?;
    if !reply.pending {
        let answer = match reply.latest {
            Some(message) => AiStreamEvent::Message(Box::new(message)),
            None => AiStreamEvent::Idle(AiIdle {}),
        };
        return Ok(with_keep_alive(stream::once(async move { event(&answer) }).boxed()));
    }
    let mut so_far = Vec::new();
    if let Some((sender, written)) = writing {
        so_far.push(AiStreamEvent::Start(AiStart { sender }));
        if !written.is_empty() {
            so_far.push(AiStreamEvent::Delta(AiDelta { text: written }));
        }
    }
    let closed = ai.closed();
    // Ends when the reply is stored, the caller goes away, time is up, or the server stops.
    let ends = async move {
        tokio::select! {
            _ = tokio::time::sleep(REPLY_TIMEOUT + KEEP_ALIVE) => {}
            _ = closed => {}
        }
    };
    let events = stream::iter(so_far).chain(relay(watching)).take_until(ends).map(|reply| event(&reply));
    Ok(with_keep_alive(events.boxed()))
}

/// The stream, counted as open (`stream="ai"`) until it ends or its caller goes away.
fn with_keep_alive(events: BoxStream<'static, Result<Event, Infallible>>) -> Events {
    let open = OpenStream::new("ai");
    let events = events.map(move |event| {
        let _counted = &open;
        event
    });
    Sse::new(events.boxed()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// The conversation's reply events as they come, until the stored AI
/// message (or `idle` when the reply is dropped). The conversation's other
/// messages are not this stream's.
fn relay(watching: Subscription) -> impl futures_util::Stream<Item = AiStreamEvent> {
    stream::unfold(Some(watching), |watching| async move {
        let mut watching = watching?;
        loop {
            let event = match watching.recv().await {
                Ok(event) => event,
                // Missed text is no loss: the stored message replaces it.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return Some((AiStreamEvent::Idle(AiIdle {}), None)),
            };
            let next = match &*event {
                hub::Event::Reply { event: ReplyEvent::Start(sender), .. } => {
                    AiStreamEvent::Start(AiStart { sender: sender.clone() })
                }
                hub::Event::Reply { event: ReplyEvent::Delta(text), .. } => {
                    AiStreamEvent::Delta(AiDelta { text: text.clone() })
                }
                hub::Event::Reply { event: ReplyEvent::Stopped, .. } => {
                    return Some((AiStreamEvent::Idle(AiIdle {}), None));
                }
                hub::Event::Message(stored) if stored.message.sender.kind == SenderType::Ai => {
                    return Some((AiStreamEvent::Message(Box::new(stored.message.clone())), None));
                }
                hub::Event::Message(_) => continue,
                // The reply may have been stored unseen: the caller reopens
                // with its lastMessageId, which reads the store.
                hub::Event::Gap => return None,
            };
            return Some((next, Some(watching)));
        }
    })
}
