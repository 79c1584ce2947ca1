//! The Connect360 team inbox: members sign in and answer visitors from a
//! browser. A Leptos app on the same API as the widget, built by Trunk and
//! served by the server at `/inbox`.
//!
//! What the widget already knows is not written again: the timeline, the
//! outbox and its no-duplicate retry, uploads, links and the gloo-net client
//! come from `connect360_widget`. The inbox's own logic (the list, ages,
//! routes) is plain Rust tested natively; the browser side only exists on
//! wasm32.

pub mod conversations;
pub mod route;
pub mod when;

#[cfg(target_arch = "wasm32")]
pub mod account;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod state;

/// Draws the inbox into the page's body.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    let inbox = state::Inbox::new(leptos::prelude::window().location().origin().unwrap_or_default());
    leptos::mount::mount_to_body(move || leptos::view! { <components::App inbox /> });
    inbox.start();
}
