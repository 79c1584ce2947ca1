//! The inbox as a Leptos component tree. [`App`] provides the [`Inbox`]
//! state as context and draws the sign-in page or the signed-in shell (the
//! conversation list and the conversation on screen).

mod composer;
mod conversation;
mod conversation_list;
mod details;
mod files;
mod message_row;
mod shell;
mod sign_in;

use connect360_api::{Sender, SenderType};
use leptos::either::EitherOf3;
use leptos::prelude::*;

pub use composer::Composer;
pub use conversation::Conversation;
pub use conversation_list::ConversationList;
pub use details::Details;
pub use message_row::MessageRow;
pub use shell::Shell;
pub use sign_in::SignIn;

use crate::state::{Account, Inbox};

/// The app for `inbox` (started by `crate::start`; tests set its state).
#[component]
pub fn App(inbox: Inbox) -> impl IntoView {
    provide_context(inbox);
    // Which screen: a refused sign-in changes the account but keeps the
    // sign-in page (and what was typed in it).
    let screen = Memo::new(move |_| match inbox.account.get() {
        Account::Checking => None,
        Account::SignedOut { .. } => Some(None),
        Account::SignedIn(session) => Some(Some(session)),
    });
    move || match screen.get() {
        None => EitherOf3::A(view! { <main class="loading"><p>"Loading…"</p></main> }),
        Some(None) => EitherOf3::B(view! { <SignIn /> }),
        Some(Some(session)) => EitherOf3::C(view! { <Shell session /> }),
    }
}

/// The inbox's state, from [`App`].
pub fn use_inbox() -> Inbox {
    expect_context::<Inbox>()
}

/// How a message's sender is named to a member: the customer by the
/// conversation's title, the team by name.
pub fn sender_name(sender: &Sender, customer: &str) -> String {
    match (&sender.name, sender.kind) {
        (Some(name), _) if !name.trim().is_empty() => name.clone(),
        (_, SenderType::Customer) => customer.to_owned(),
        (_, SenderType::Ai) => "Assistant".to_owned(),
        (_, SenderType::Workspace) => "Support".to_owned(),
    }
}
