//! Wire types of the Connect360 messages API.
//!
//! The widget and the server both depend on this crate, so a field renamed
//! here is renamed on both sides of the wire at once. Serde only: nothing in
//! here knows about HTTP, storage or the browser.

pub mod ai;
pub mod attachment;
pub mod content;
pub mod conversation;
pub mod customer;
pub mod error;
pub mod events;
pub mod guest;
pub mod inbox;
pub mod message;
pub mod patch;
pub mod procedure;
pub mod template;
pub mod widget;

pub use ai::*;
pub use attachment::*;
pub use content::{Content, Locale};
pub use conversation::*;
pub use customer::CustomerInput;
pub use error::{ErrorCode, ErrorData, ErrorEnvelope, ErrorShape};
pub use events::*;
pub use guest::*;
pub use inbox::*;
pub use message::*;
pub use patch::Patch;
pub use procedure::*;
pub use template::*;
pub use widget::*;

/// A JSON object, as `metadata` fields carry.
pub type Metadata = serde_json::Map<String, serde_json::Value>;
