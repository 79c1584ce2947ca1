//! The conversation's event stream: `GET /api/v1/connect/events?conversationId=…`
//! (server-sent events, not tRPC).
//!
//! Authenticated like every call, by the `Authorization: Bearer …` header
//! (an API key with read permission, or a visitor token for its own
//! customer's conversations); never by a token in the URL, which ends up in
//! logs. Errors before the stream starts answer an [`crate::ErrorEnvelope`]
//! with the matching HTTP status (401, 404 for a conversation the caller may
//! not see, 429 with `Retry-After` beyond the open-stream caps).
//!
//! The stream starts with a comment at once (so a client can tell a proxy
//! that buffers from a quiet conversation), sends a keep-alive comment while
//! quiet, and carries the events of [`crate::AiStreamEvent`], each with an
//! `id:`:
//!
//! - `message`: a new or changed message, as `listMessages` gives it (the
//!   visitor's signed attachment URLs included); its `id:` is the message's id;
//! - `start`, `delta`, `idle`: the AI reply being written, as `ai-stream`
//!   sends them (`idle`: a reply being written was dropped by a hand-off);
//!   their `id:` is that of the newest message sent before them (empty in a
//!   conversation without messages; an empty `Last-Event-ID` is as none).
//!
//! A client resumes by sending the last `id:` it received as the
//! `Last-Event-ID` header: the stream first sends, from the store, every
//! message stored after that one, then live events; nothing twice, nothing
//! lost. A message id the client already holds (the newest of its
//! `listMessages` page) is a valid `Last-Event-ID`, so a client that read the
//! history first misses nothing stored in between; without it the stream
//! starts after the conversation's newest message. An id that is not a
//! message of the conversation is refused (400), not replayed from anywhere.
//! A reply being written when the stream opens comes first, as `start` and
//! the text so far as one `delta`. The server may end a
//! stream (a reader too slow to keep up, a restart); the client reconnects
//! with `Last-Event-ID`.

use serde::{Deserialize, Serialize};

pub const EVENTS_PATH: &str = "/api/v1/connect/events";

/// The request header naming the last event a client received.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The query string of [`EVENTS_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsQuery {
    pub conversation_id: String,
}
