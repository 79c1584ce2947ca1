//! Reads `POST /api/v1/connect/ai-stream` as it arrives: the AI reply being
//! written, event by event (see `connect360_api::ai`).

use connect360_api::{AI_STREAM_PATH, AiStreamEvent, AiStreamInput};
use js_sys::{Reflect, Uint8Array};
use leptos::prelude::window;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReadableStreamDefaultReader, RequestInit, Response};

use crate::client::Client;
use crate::protocol::{self, ClientError};
use crate::sse::Parser;

/// Opens the stream and hands each event to `on_event` until it returns
/// `false` or the stream ends. Unknown events are skipped.
pub async fn follow(
    client: &Client,
    input: &AiStreamInput,
    mut on_event: impl FnMut(AiStreamEvent) -> bool,
) -> Result<(), ClientError> {
    let network = |e: JsValue| ClientError::Network(e.as_string().unwrap_or_default());
    let headers = Headers::new().map_err(network)?;
    headers.set("Authorization", &format!("Bearer {}", client.token)).map_err(network)?;
    headers.set("Content-Type", "application/json").map_err(network)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&protocol::to_json(input)));
    let url = format!("{}{AI_STREAM_PATH}", client.api_base);
    let response: Response = JsFuture::from(window().fetch_with_str_and_init(&url, &init))
        .await
        .map_err(network)?
        .unchecked_into();
    if !response.ok() {
        // Refused before it started: an error envelope, as tRPC answers.
        let text = JsFuture::from(response.text().map_err(network)?).await.map_err(network)?;
        let text = text.as_string().unwrap_or_default();
        return Err(protocol::refusal(response.status(), &text));
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
            let Some(event) = protocol::ai_stream_event(&frame.event, &frame.data) else {
                continue;
            };
            let event = event.map_err(|e| ClientError::Decode(e.to_string()))?;
            if !on_event(event) {
                // Nothing more is wanted: the server may stop writing.
                _ = reader.cancel();
                return Ok(());
            }
        }
    }
}
