//! Component tests of the inbox, headless in Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p connect360-inbox`.
//! No server: the tests fill the inbox's state, act on the DOM and read it.
#![cfg(target_arch = "wasm32")]

use connect360_api::{ConversationSummary, MemberSession, Message, Page, Role};
use connect360_inbox::components::App;
use connect360_inbox::route::Route;
use connect360_inbox::state::{Account, Inbox};
use leptos::prelude::*;
use leptos::task::tick;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement, KeyboardEvent, KeyboardEventInit};

wasm_bindgen_test_configure!(run_in_browser);

fn session() -> MemberSession {
    serde_json::from_value(json!({
        "member": {"id": "mem_1", "name": "Sam Agent", "email": "sam@example.com", "role": "full"},
        "workspace": {"slug": "default", "name": "Nordwind"}
    }))
    .unwrap()
}

fn summary(id: &str, second: u32, customer: &str, unread: u32) -> ConversationSummary {
    serde_json::from_value(json!({
        "id": id, "name": null,
        "customer": {"id": format!("cu_{id}"), "externalId": format!("guest_{id}"), "name": customer,
                     "email": format!("{id}@example.com"), "metadata": {"plan": "pro"}},
        "channel": {"id": "ch1", "type": "website", "identifier": "shop.example.com"},
        "metadata": {}, "lastMessage": null, "unreadCount": unread, "aiStoppedAt": null,
        "lastActivityAt": format!("2026-12-01T10:00:{second:02}.000Z"),
    }))
    .unwrap()
}

fn message(id: &str, conversation: &str, second: u32, kind: &str, text: &str) -> Message {
    serde_json::from_value(json!({
        "id": id, "conversationId": conversation, "content": {"en": text}, "attachments": [],
        "sender": {"type": kind, "id": format!("{kind}-1"), "name": null, "image": null},
        "parentId": null, "flags": [], "templateId": null, "channel": null,
        "createdAt": format!("2026-12-01T10:01:{second:02}.000Z"),
    }))
    .unwrap()
}

/// Mounts the app for `inbox` (its state set by the test) in a fresh container.
async fn mount(inbox: Inbox) -> HtmlElement {
    let container: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&container).unwrap();
    mount_to(container.clone(), move || view! { <App inbox /> }).forget();
    tick().await;
    container
}

/// Signed in with conversations c1 (older, Ayşe) and c2 (newer, Bob).
fn signed_in() -> Inbox {
    // Nothing listens there: calls fail at once, as offline.
    let inbox = Inbox::new("http://127.0.0.1:9".into());
    inbox.account.set(Account::SignedIn(session()));
    inbox.list.conversations.update(|l| {
        l.apply_newest(Page {
            items: vec![summary("c2", 20, "Bob", 0), summary("c1", 10, "Ayşe", 2)],
            next_cursor: None,
        })
    });
    inbox
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length()).map(|i| list.item(i).unwrap().unchecked_into()).collect()
}

fn texts(root: &Element, selector: &str) -> Vec<String> {
    all(root, selector).iter().map(|e| e.text_content().unwrap_or_default()).collect()
}

fn key(target: &Element, key: &str, shift: bool) -> bool {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let ev = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap()
}

#[wasm_bindgen_test]
async fn a_refused_sign_in_stays_on_the_page_with_its_reason() {
    let inbox = Inbox::new("http://127.0.0.1:9".into());
    inbox.account.set(Account::SignedOut { busy: false, error: None });
    let root = mount(inbox).await;
    assert_eq!(texts(&root, "label"), ["Email", "Password"]);
    let button = root.query_selector("button[type=submit]").unwrap().unwrap();
    assert_eq!(button.text_content().unwrap(), "Sign in");
    inbox.account.set(Account::SignedOut { busy: true, error: None });
    tick().await;
    assert!(button.has_attribute("disabled"), "one attempt at a time");
    let email: web_sys::HtmlInputElement = root.query_selector("#email").unwrap().unwrap().unchecked_into();
    email.set_value("sam@example.com");
    inbox.account.set(Account::SignedOut { busy: false, error: Some("Wrong email or password.".into()) });
    tick().await;
    assert!(!button.has_attribute("disabled"));
    assert!(button.is_connected(), "the same page: not drawn again");
    assert_eq!(email.value(), "sam@example.com", "what was typed stays");
    assert_eq!(texts(&root, ".sign-in .error"), ["Wrong email or password."]);
}

#[wasm_bindgen_test]
async fn a_visitor_message_moves_its_conversation_to_the_top_with_its_unread_count() {
    let inbox = signed_in();
    let root = mount(inbox).await;
    assert_eq!(texts(&root, ".item-name"), ["Bob", "Ayşe"]);
    assert_eq!(texts(&root, ".badge"), ["2"]);
    assert!(all(&root, ".item-name").iter().all(|e| e.get_attribute("dir").as_deref() == Some("auto")));
    assert_eq!(texts(&root, ".item-site"), ["shop.example.com", "shop.example.com"]);

    inbox.on_stream_message(message("m9", "c1", 5, "customer", "Merhaba, siparişim nerede?"));
    tick().await;
    assert_eq!(texts(&root, ".item-name"), ["Ayşe", "Bob"]);
    assert_eq!(texts(&root, ".badge"), ["3"]);
    assert_eq!(texts(&root, ".item-preview")[0], "Merhaba, siparişim nerede?");
    assert_eq!(texts(&root, ".item .sr-only"), ["3 unread"], "said, not the bare number");
}

#[wasm_bindgen_test]
async fn a_conversation_shows_its_history_details_and_sends_on_enter_only() {
    let inbox = signed_in();
    inbox.route.set(Route::Conversation("c1".into()));
    inbox.thread.messages.apply_latest(Page {
        items: vec![
            message("m1", "c1", 1, "customer", "Hi, see https://shop.example.com/o/1"),
            message("m2", "c1", 2, "ai", "Your order ships today."),
        ],
        next_cursor: None,
    });
    let root = mount(inbox).await;
    assert_eq!(texts(&root, ".conversation-head h2"), ["Ayşe"]);
    assert_eq!(texts(&root, ".row-who"), ["Ayşe", "Assistant"]);
    let link = root.query_selector(".bubble a").unwrap().unwrap();
    assert_eq!(link.get_attribute("href").as_deref(), Some("https://shop.example.com/o/1"));
    assert_eq!(texts(&root, ".details dd"), ["Ayşe", "c1@example.com", "guest_c1", "shop.example.com", "pro"]);
    assert_eq!(texts(&root, ".ai-switch"), ["Hand off from AI"]);

    let textarea: HtmlTextAreaElement = root.query_selector("textarea").unwrap().unwrap().unchecked_into();
    textarea.set_value("Thanks!");
    textarea.dispatch_event(&web_sys::Event::new("input").unwrap()).unwrap();
    assert!(key(&textarea, "Enter", true), "Shift+Enter is left to the textarea: a new line");
    tick().await;
    assert_eq!(all(&root, ".row").len(), 2, "nothing sent on Shift+Enter");
    assert!(!key(&textarea, "Enter", false), "Enter sends instead of a new line");
    tick().await;
    let rows = all(&root, ".row");
    assert_eq!(rows.len(), 3, "shown at once");
    assert!(rows[2].class_list().contains("mine"));
    assert_eq!(rows[2].query_selector(".bubble").unwrap().unwrap().text_content().unwrap(), "Thanks!");
    assert_eq!(textarea.value(), "", "the composer is emptied");

    inbox.list.conversations.update(|l| l.set_ai_stopped("c1", Some("2026-12-01T10:02:00.000Z".into())));
    tick().await;
    assert_eq!(texts(&root, ".ai-switch"), ["Hand back to AI"]);
}

#[wasm_bindgen_test]
async fn a_read_only_member_reads_without_a_composer_reply_or_ai_switch() {
    let inbox = signed_in();
    inbox.account.update(|account| {
        if let Account::SignedIn(session) = account {
            session.member.role = Role::Read;
        }
    });
    inbox.route.set(Route::Conversation("c1".into()));
    inbox
        .thread
        .messages
        .apply_latest(Page { items: vec![message("m1", "c1", 1, "customer", "Hello?")], next_cursor: None });
    let root = mount(inbox).await;
    assert_eq!(texts(&root, ".bubble"), ["Hello?"], "the history is there");
    assert!(all(&root, ".composer, .ai-switch, .reply").is_empty(), "nothing the server would refuse");
    assert_eq!(texts(&root, ".read-only"), ["Your role lets you read conversations, not reply."]);

    inbox.account.update(|account| {
        if let Account::SignedIn(session) = account {
            session.member.role = Role::Engage;
        }
    });
    tick().await;
    assert_eq!(all(&root, ".composer").len(), 1, "an engage member replies");
    assert_eq!(texts(&root, ".ai-switch"), ["Hand off from AI"]);
    assert_eq!(texts(&root, ".reply"), ["Reply"], "the rows already shown offer Reply too");
    assert!(all(&root, ".read-only").is_empty());
}

#[wasm_bindgen_test]
async fn a_send_that_fails_offers_retry_with_the_same_message() {
    let inbox = signed_in();
    inbox.route.set(Route::Conversation("c2".into()));
    inbox.thread.messages.apply_latest(Page { items: vec![], next_cursor: None });
    let root = mount(inbox).await;
    inbox.thread.messages.draft.set("Hello".into());
    inbox.send_draft();
    tick().await;
    assert_eq!(texts(&root, ".row .status"), ["Sending…"]);
    // The server can't be reached (nothing listens on port 9).
    for _ in 0..50 {
        if !all(&root, ".retry").is_empty() {
            break;
        }
        connect360_widget::browser::sleep(std::time::Duration::from_millis(100)).await;
    }
    let retry: HtmlElement = root.query_selector(".retry").unwrap().expect("Retry shown").unchecked_into();
    assert!(texts(&root, ".row .status")[0].starts_with("Not sent"));
    let key_before = inbox.thread.messages.outbox.with_untracked(|o| o.unstored().next().unwrap().client_id.clone());
    retry.click();
    tick().await;
    assert_eq!(texts(&root, ".row .status"), ["Sending…"]);
    let key_after = inbox.thread.messages.outbox.with_untracked(|o| o.unstored().next().unwrap().client_id.clone());
    assert_eq!(key_before, key_after, "a retry keeps its idempotency key");
    assert_eq!(all(&root, ".row").len(), 1, "no duplicate");
}
