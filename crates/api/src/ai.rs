//! The AI reply stream: `POST /api/v1/connect/ai-stream` (plain JSON in,
//! server-sent events out, not tRPC).
//!
//! It takes an [`AiStreamInput`] and streams the reply being written for the
//! conversation as events named by [`AiStreamEvent::name`], each with one
//! `data:` line of JSON:
//!
//! - `start` `{"sender": {…}}`: a reply is being written, by this sender
//!   (as its message will name it), before its first `delta`;
//! - `delta` `{"text": "…"}`: more of the reply, as the agent writes it;
//! - `message`: the stored reply, a [`Message`] as `listMessages` gives it,
//!   which replaces the deltas; the stream ends after it;
//! - `idle` `{}`: no reply is being written and none is newer than
//!   `lastMessageId`, or the one being written was dropped by a hand-off
//!   (`v1.connect.handOff`); the stream ends.
//!
//! Errors before the stream starts answer an [`crate::ErrorEnvelope`] with
//! the matching HTTP status, as tRPC calls do.

use serde::{Deserialize, Serialize};

use crate::{Message, Sender};

pub const AI_STREAM_PATH: &str = "/api/v1/connect/ai-stream";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AiStreamInput {
    pub conversation_id: String,
    /// The newest message the caller has: a reply stored after it is sent at
    /// once, so that a reconnecting stream misses nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_id: Option<String>,
    /// Accepted for compatibility; replies are written for `send`'s
    /// `ai` requests, whose message already names its sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// Accepted for compatibility; the reply goes out on its request's channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiStart {
    pub sender: Sender,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiDelta {
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiIdle {}

#[derive(Debug, Clone, PartialEq)]
pub enum AiStreamEvent {
    Start(AiStart),
    Delta(AiDelta),
    Message(Box<Message>),
    Idle(AiIdle),
}

impl AiStreamEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            AiStreamEvent::Start(_) => "start",
            AiStreamEvent::Delta(_) => "delta",
            AiStreamEvent::Message(_) => "message",
            AiStreamEvent::Idle(_) => "idle",
        }
    }

    /// The SSE `data:` payload: one line of JSON.
    pub fn data(&self) -> String {
        let json = match self {
            AiStreamEvent::Start(start) => serde_json::to_string(start),
            AiStreamEvent::Delta(delta) => serde_json::to_string(delta),
            AiStreamEvent::Message(message) => serde_json::to_string(message),
            AiStreamEvent::Idle(idle) => serde_json::to_string(idle),
        };
        // Plain structs of strings and JSON values always serialise.
        json.unwrap_or_default()
    }

    /// The event an SSE `event:` name and `data:` carry (the inverse of
    /// [`Self::name`] and [`Self::data`]); `None` for a name not known here,
    /// which a client skips (a newer server may send one).
    #[cfg(feature = "decode-ai-events")]
    pub fn decode(name: &str, data: &str) -> Option<Result<AiStreamEvent, serde_json::Error>> {
        Some(match name {
            "start" => serde_json::from_str(data).map(AiStreamEvent::Start),
            "delta" => serde_json::from_str(data).map(AiStreamEvent::Delta),
            "message" => serde_json::from_str(data).map(|m| AiStreamEvent::Message(Box::new(m))),
            "idle" => serde_json::from_str(data).map(AiStreamEvent::Idle),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The widget reads them with the browser's JSON parser (`transport::sse::event_of`), tested there.
    #[test]
    fn events_are_one_named_line_of_json() {
        let delta = AiStreamEvent::Delta(AiDelta { text: "line one\nline two".into() });
        assert_eq!(delta.data(), r#"{"text":"line one\nline two"}"#, "one data line, whatever the text");
        let idle = AiStreamEvent::Idle(AiIdle {});
        assert_eq!((idle.name(), idle.data().as_str()), ("idle", "{}"));
    }

    #[cfg(feature = "decode-ai-events")]
    #[test]
    fn events_decode_from_their_name_and_data() {
        let sender =
            crate::Sender { kind: crate::SenderType::Ai, id: "agent_1".into(), name: Some("Bot".into()), image: None };
        for event in [
            AiStreamEvent::Start(AiStart { sender }),
            AiStreamEvent::Delta(AiDelta { text: "line one\nline two".into() }),
            AiStreamEvent::Idle(AiIdle {}),
        ] {
            assert_eq!(AiStreamEvent::decode(event.name(), &event.data()).unwrap().unwrap(), event);
        }
        assert!(AiStreamEvent::decode("typing", "{}").is_none(), "an unknown event is skipped");
        assert!(AiStreamEvent::decode("delta", "{}").unwrap().is_err(), "a delta without text is an error");
    }
}
