//! Reads `POST /api/v1/connect/ai-stream` as it arrives: the AI reply being
//! written, event by event (see `connect360_api::ai`). `EventSource` can't
//! POST nor send a token, so the stream of a fetch is read through `sse`.

use connect360_api::{AiStreamEvent, AiStreamInput};
use gloo_net::http::Request;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use super::client::Client;
use super::error::{ClientError, refusal};
use super::json::encode;
use super::sse::{Parser, event_of};
use super::url;

impl Client {
    /// Opens the stream and hands each event to `on_event` until it returns
    /// `false` or the stream ends. Unknown events are skipped.
    pub async fn follow_reply(
        &self,
        input: &AiStreamInput,
        mut on_event: impl FnMut(AiStreamEvent) -> bool,
    ) -> Result<(), ClientError> {
        // Only "Can't reach the server" is shown: the cause is not kept.
        let network = |_: wasm_bindgen::JsValue| ClientError::Network(String::new());
        let response = self
            .authorized(Request::post(&url::ai_stream(&self.api_base)))
            .header("Content-Type", "application/json")
            .body(encode(input))
            .map_err(|e| ClientError::Network(e.to_string()))?
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        if !response.ok() {
            // Refused before it started: an error envelope, as tRPC answers.
            let text = response.text().await.unwrap_or_default();
            return Err(refusal(response.status(), &text));
        }
        let reader: ReadableStreamDefaultReader = response
            .body()
            .ok_or_else(|| ClientError::Decode("the stream has no body".into()))?
            .get_reader()
            .unchecked_into();
        let mut parser = Parser::default();
        loop {
            let chunk = JsFuture::from(reader.read()).await.map_err(network)?;
            if Reflect::get(&chunk, &"done".into()).is_ok_and(|done| done.is_truthy()) {
                return Ok(());
            }
            let bytes = Reflect::get(&chunk, &"value".into()).map_err(network)?;
            for frame in parser.push(&Uint8Array::new(&bytes).to_vec()) {
                let Some(event) = event_of(&frame) else { continue };
                if !on_event(event.map_err(ClientError::Decode)?) {
                    // Nothing more is wanted: the server may stop writing.
                    _ = reader.cancel();
                    return Ok(());
                }
            }
        }
    }
}
