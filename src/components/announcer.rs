//! A visually hidden status region that says "New message from X: text"
//! for messages from others that arrive while the panel is open; never for
//! the history loaded on opening or paged in above, nor the visitor's own,
//! which are only announced when they could not be sent ("Not sent: text").

use connect360_api::{Message, SenderType};
use leptos::prelude::*;

use super::{sender_name, use_chat};
use crate::locale::display_text;
use crate::outbox::Delivery;
use crate::timeline::History;

#[component]
pub fn Announcer() -> impl IntoView {
    let chat = use_chat();
    let s = chat.strings();
    let open = chat.ui.open;
    let said = RwSignal::new(None::<String>);
    let say = move |words: Vec<String>| {
        if !words.is_empty() && open.get_untracked() {
            said.set(Some(words.join("\n")));
        }
    };
    // The newest stored message already looked at (`Some(None)`: none yet);
    // `None` until the first page is in. Each effect keeps what it saw in
    // its own closure.
    let mut seen = None::<Option<(String, String)>>;
    Effect::new(move |_| {
        let fresh = chat.messages.timeline.with(|t| {
            if *t.history() == History::Unknown {
                seen = None;
                return Vec::new();
            }
            let newest = t.messages().last().map(|m| (m.created_at.clone(), m.id.clone()));
            let Some(last) = seen.replace(newest) else {
                return Vec::new();
            };
            let is_new = |m: &&Message| {
                last.as_ref().is_none_or(|(at, id)| (m.created_at.as_str(), m.id.as_str()) > (at.as_str(), id.as_str()))
            };
            let mut fresh: Vec<String> = t
                .messages()
                .iter()
                .rev()
                .take_while(is_new)
                .filter(|m| m.sender.kind != SenderType::Customer)
                .take(3)
                .map(|m| {
                    let text = display_text(&m.content, chat.ui.locale.get_untracked())
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or_else(|| {
                            m.attachments.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                        });
                    s.new_message.replace("{name}", &sender_name(&m.sender, s)).replace("{text}", &text)
                })
                .collect();
            fresh.reverse();
            fresh
        });
        say(fresh);
    });
    // The visitor's messages that failed, by client id, once each failure.
    let mut failed = Vec::<String>::new();
    Effect::new(move |_| {
        let mut newly = Vec::new();
        let now: Vec<String> = chat.messages.outbox.with(|o| {
            o.unstored()
                .filter(|m| matches!(m.delivery, Delivery::Failed(_)))
                .map(|m| {
                    if !failed.contains(&m.client_id) {
                        let text = display_text(&m.content, chat.ui.locale.get_untracked()).unwrap_or_default();
                        newly.push(format!("{}: {text}", s.failed));
                    }
                    m.client_id.clone()
                })
                .collect()
        });
        failed = now;
        say(newly);
    });
    // The assistant starts on a reply: said once, as it starts typing (not
    // again when the send's answer names the question after it began).
    let mut typing_for = None::<Option<String>>;
    Effect::new(move |_| {
        let after = chat.reply.pending.with(|r| r.as_ref().map(|r| r.after.clone()));
        let named = matches!((&typing_for, &after), (Some(None), Some(Some(_))));
        if after.is_some() && after != typing_for && !named {
            say(vec![s.typing.to_owned()]);
        }
        typing_for = after;
    });
    Effect::new(move |_| {
        if !open.get() {
            said.set(None);
        }
    });
    view! {
        // A new element each time, so that the same words twice are said twice.
        <div class="c360-sr c360-announcer" role="status">
            {move || said.get().map(|text| view! { <p>{text}</p> })}
        </div>
    }
}
