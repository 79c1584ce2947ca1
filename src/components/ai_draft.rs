//! The AI reply being written, drawn as its stored message will be (same
//! row, name and avatar), so that the swap moves nothing: three dots until
//! the first words, then the words as they come.

use connect360_api::SenderType;
use leptos::either::Either;
use leptos::prelude::*;

use super::message_row::{Avatar, linked};
use super::{sender_name, use_chat};

#[component]
pub fn AiDraft() -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let (pending, timeline) = (chat.reply.pending, chat.messages.timeline);
    // `Some(typing)` while shown: hidden once the reply is stored.
    let shown = Memo::new(move |_| {
        pending.with(|r| r.as_ref().filter(|r| !timeline.with(|t| r.answered_in(t.messages()))).map(|r| r.typing()))
    });
    // As the stream names the writer, else as the agent's last reply shows it.
    let sender = Memo::new(move |_| {
        pending.with(|r| r.as_ref().and_then(|r| r.sender.clone())).or_else(|| {
            timeline
                .with(|t| t.messages().iter().rev().find(|m| m.sender.kind == SenderType::Ai).map(|m| m.sender.clone()))
        })
    });
    let name =
        move || sender.with(|snd| snd.as_ref().map_or_else(|| s.assistant.to_owned(), |snd| sender_name(snd, s)));
    let avatar = move || {
        let image = sender.with(|snd| snd.as_ref().and_then(|snd| snd.image.clone()));
        view! { <Avatar image name=name() ai=true /> }
    };
    let text = move || pending.with(|r| r.as_ref().map(|r| r.text.clone()).unwrap_or_default());
    // Drawn once when shown; only its parts change after that.
    let visible = Memo::new(move |_| shown.with(Option::is_some));
    move || {
        visible.get().then(|| {
            view! {
                <div class="c360-row c360-theirs c360-first c360-draft">
                    {avatar}
                    <div class="c360-stack">
                        <div class="c360-name">{name}</div>
                        {move || if shown.get() == Some(true) {
                            // Announced by the announcer when it starts.
                            Either::Left(view! {
                                <div class="c360-bubble c360-typing">
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-dot" aria-hidden="true"></span>
                                    <span class="c360-sr">{s.typing}</span>
                                </div>
                            })
                        } else {
                            // One bubble that grows.
                            Either::Right(view! {
                                <div class="c360-bubble" dir="auto">{move || linked(&text())}</div>
                            })
                        }}
                        // The stored message's time goes here: its line is kept.
                        <div class="c360-meta">"\u{a0}"</div>
                    </div>
                </div>
            }
        })
    }
}
