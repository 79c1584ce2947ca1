//! Reads the conversation's event stream, `GET /api/v1/connect/events`
//! (`connect360_api::events`), as it arrives. `EventSource` can't send the
//! token, so the body of a fetch is read through `sse`.

use connect360_api::{AiStreamEvent, EVENTS_PATH, LAST_EVENT_ID};
use gloo_net::http::Request;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReadableStreamDefaultReader};

use super::client::Client;
use super::error::{ClientError, refusal};
use super::sse::{Parser, event_of};
use super::url;

/// What the stream brought.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Its first bytes (the server starts with a comment at once): the
    /// stream is held, no proxy buffers it.
    Open,
    /// An event and the stream's last event id.
    Event(AiStreamEvent, String),
}

impl Client {
    /// Follows the stream of `conversation_id`, resumed after event
    /// `last_event_id`, handing what comes to `on`, until the server ends it
    /// (`Ok`), or it fails or `signal` aborts it (`Err`). Unknown events
    /// are skipped; an event that can't be read ends it with the reason.
    pub async fn follow_events(
        &self,
        conversation_id: &str,
        last_event_id: Option<&str>,
        signal: &AbortSignal,
        mut on: impl FnMut(Received),
    ) -> Result<(), ClientError> {
        // Only "Can't reach the server" is shown: the cause is not kept.
        let network = |_| ClientError::Network(String::new());
        let mut builder = self
            .authorized(Request::get(&url::join(&self.api_base, EVENTS_PATH)))
            .query([("conversationId", conversation_id)])
            .abort_signal(Some(signal));
        if let Some(id) = last_event_id {
            builder = builder.header(LAST_EVENT_ID, id);
        }
        let response = builder.send().await.map_err(super::client::network)?;
        if !response.ok() {
            // Refused before it started: an error envelope, as tRPC answers.
            let text = response.text().await.unwrap_or_default();
            return Err(refusal(response.status(), &text));
        }
        let reader: ReadableStreamDefaultReader = response
            .body()
            .ok_or_else(|| ClientError::Decode("the event stream has no body".into()))?
            .get_reader()
            .unchecked_into();
        let mut parser = Parser::default();
        let mut opened = false;
        loop {
            let chunk = JsFuture::from(reader.read()).await.map_err(network)?;
            if Reflect::get(&chunk, &"done".into()).is_ok_and(|done| done.is_truthy()) {
                return Ok(());
            }
            if !std::mem::replace(&mut opened, true) {
                on(Received::Open);
            }
            let bytes = Reflect::get(&chunk, &"value".into()).map_err(network)?;
            for frame in parser.push(&Uint8Array::new(&bytes).to_vec()) {
                if let Some(event) = event_of(&frame) {
                    on(Received::Event(event.map_err(ClientError::Decode)?, frame.id));
                }
            }
        }
    }
}
