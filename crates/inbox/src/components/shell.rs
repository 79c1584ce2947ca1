//! Signed in: the header (workspace, member, Sign out), the list and the
//! conversation on screen. Wide, both side by side; on a phone one screen
//! at a time (`data-screen` says which; the stylesheet decides).

use connect360_api::MemberSession;
use leptos::prelude::*;

use super::{Conversation, ConversationList, use_inbox};

#[component]
pub fn Shell(session: MemberSession) -> impl IntoView {
    let inbox = use_inbox();
    let screen = move || if inbox.route.with(|r| r.conversation().is_some()) { "conversation" } else { "list" };
    view! {
        <div class="shell" data-screen=screen>
            <header class="top">
                <h1 class="workspace">{session.workspace.name}</h1>
                // Said by screen readers: a hand-off or hand-back.
                <div class="sr-only" role="status">{move || inbox.announcement.get()}</div>
                <span class="member">{session.member.name}</span>
                <button type="button" class="sign-out" on:click=move |_| inbox.sign_out()>"Sign out"</button>
            </header>
            <main class="panes">
                <ConversationList />
                {move || match inbox.route.get().conversation() {
                    Some(id) => view! { <Conversation id=id.to_owned() /> }.into_any(),
                    None => view! {
                        <section class="conversation empty" aria-label="Conversation">
                            <p>"Choose a conversation."</p>
                        </section>
                    }.into_any(),
                }}
            </main>
        </div>
    }
}
