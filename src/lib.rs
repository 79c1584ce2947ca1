//! The Connect360 chat widget: a Leptos panel compiled to WebAssembly and
//! mounted by `loader/widget.js` into a shadow root on the host page.
//!
//! The pure logic (what to show, when to poll, what goes on the wire) is
//! plain Rust tested natively; the browser side only exists on wasm32.

pub use connect360_api as api;

pub mod attachments;
pub mod config;
pub mod i18n;
pub mod icons;
pub mod linkify;
pub mod live;
pub mod loader;
pub mod locale;
pub mod outbox;
pub mod poll;
pub mod reply;
pub mod session;
pub mod theme;
pub mod timeline;
pub mod transport;
pub mod unread;

#[cfg(target_arch = "wasm32")]
pub mod browser;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod mount;
#[cfg(target_arch = "wasm32")]
pub mod state;
#[cfg(target_arch = "wasm32")]
pub mod web;
