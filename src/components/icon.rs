//! An icon: one path, decorative.

use leptos::prelude::*;

pub use crate::icons::*;

/// An icon of path `d` (one component for all of them: one instance of
/// its rendering code).
#[component]
pub fn Icon(#[prop(default = "c360-icon")] class: &'static str, d: &'static str) -> impl IntoView {
    view! {
        <svg class=class viewBox="0 0 24 24" aria-hidden="true">
            <path d=d />
        </svg>
    }
}
