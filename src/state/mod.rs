//! The widget's state, split by concern: each part a small `Copy` handle of
//! signals with the methods that change it. [`Chat`] holds them all and
//! does what takes several (sending, polling, following a reply); the
//! components get it with `use_context::<Chat>()`.

mod chat;
mod messages;
mod poller;
mod reply;
mod session;
mod ui;
mod uploads;

pub use chat::Chat;
pub use messages::Messages;
pub use poller::Poller;
pub use reply::ReplyStream;
pub use session::{HandOffState, Session, SessionState, Status};
pub use ui::Ui;
pub use uploads::{Attachments, files_of};
