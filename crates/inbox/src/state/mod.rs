//! The inbox's state, split by concern: each part a small `Copy` handle of
//! signals. [`Inbox`] holds them all and does what takes several (signing
//! in, opening a conversation, sending, the live stream); the components
//! get it with `use_context::<Inbox>()`.

mod inbox;
mod list;
mod live;
mod thread;

pub use inbox::{Account, Inbox};
pub use list::List;
pub use thread::Thread;
