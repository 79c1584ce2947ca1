//! How the widget talks to the server: one client on gloo-net for the tRPC
//! procedures, the session endpoint and the conversation's event stream, and the
//! uploads (XMLHttpRequest: see `upload`).
//!
//! Requests are written by serde_json (`json::encode`) from the `connect360_api` types;
//! answers are read by the browser's `JSON.parse` and serde-wasm-bindgen
//! into the same types (`json::decode`), which is smaller in the bundle
//! than serde_json's parser. The wire fields exist once, in `connect360_api`.

pub mod error;
pub mod json;
pub mod sse;
pub mod url;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
pub mod upload;

#[cfg(target_arch = "wasm32")]
pub use client::{Client, send, start_session};
pub use error::ClientError;
#[cfg(target_arch = "wasm32")]
pub use events::Received;
