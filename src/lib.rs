//! The Connect360 chat widget. The Leptos panel arrives with the widget issue;
//! until then this crate only ties the wire types into the workspace.

pub use connect360_api as api;
