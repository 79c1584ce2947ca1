//! The widget's state, split by concern: each part a small `Copy` handle of
//! signals with the methods that change it. [`Chat`] holds them all and
//! does what takes several (sending, polling, holding the event stream); the
//! components get it with `use_context::<Chat>()`.

mod chat;
mod live;
mod messages;
mod poller;
mod reply;
mod session;
mod ui;
mod uploads;

pub use chat::Chat;
pub use live::{Live, Mode};
pub use messages::Messages;
pub use poller::Poller;
pub use reply::ReplyStream;
pub use session::{HandOffState, Session, SessionState, Status};
pub use ui::Ui;
pub use uploads::{Attachments, files_of};
