//! Component tests of the panel, headless in Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p connect360-widget`.
//! No server: the tests fill the widget's state and read the DOM.
#![cfg(target_arch = "wasm32")]

use connect360_api::{Message, Page};
use connect360_widget::components::App;
use connect360_widget::config::WidgetConfig;
use connect360_widget::outbox::Outbox;
use connect360_widget::reply::PendingReply;
use connect360_widget::state::Chat;
use leptos::prelude::*;
use leptos::task::tick;
use serde_json::json;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn message(id: &str, second: u32, kind: &str, text: &str, parent: Option<&str>) -> Message {
    serde_json::from_value(json!({
        "id": id,
        "conversationId": "c1",
        "content": {"en": text},
        "attachments": [],
        "sender": {"type": kind, "id": format!("{kind}-1"),
                   "name": if kind == "workspace" { Some("Sam Agent") } else { None }, "image": null},
        "parentId": parent,
        "flags": [],
        "templateId": null,
        "channel": null,
        "createdAt": format!("2026-11-24T10:{:02}:{:02}.000Z", second / 60, second % 60),
    }))
    .unwrap()
}

fn config() -> WidgetConfig {
    WidgetConfig::parse(r#"{"widgetKey":"wk_test","apiBase":"https://chat.invalid","locale":"en"}"#).unwrap()
}

/// Mounts an open panel with `messages` into a fresh container.
async fn mount_panel(messages: Vec<Message>) -> (Chat, HtmlElement) {
    mount_page(messages, None).await
}

/// Mounts an open panel whose first page is `messages`, older ones at `cursor`.
async fn mount_page(messages: Vec<Message>, cursor: Option<&str>) -> (Chat, HtmlElement) {
    let container: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&container).unwrap();
    let chat = Chat::new(config(), None);
    chat.messages.timeline.update(|t| {
        t.apply_latest(Page { items: messages, next_cursor: cursor.map(str::to_owned) });
    });
    chat.ui.open.set(true);
    mount_to(container.clone(), move || view! { <App chat /> }).forget();
    tick().await;
    (chat, container)
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length()).map(|i| list.item(i).unwrap().unchecked_into()).collect()
}

fn bubbles(root: &Element) -> Vec<Element> {
    all(root, ".c360-bubble")
}

/// The browser reads a tRPC answer's envelope in place (not through the
/// wire type's decoder): held here to what the wire type writes.
#[wasm_bindgen_test]
fn a_trpc_answer_is_read_as_the_wire_type_writes_it() {
    use connect360_api::{TrpcResult, TrpcSuccess};
    use connect360_widget::transport::ClientError;
    use connect360_widget::transport::error::read_trpc;
    let sent = message("m1", 1, "workspace", "hello", None);
    let body = serde_json::to_string(&TrpcSuccess { result: TrpcResult { data: sent.clone() } }).unwrap();
    assert_eq!(read_trpc::<Message>(200, &body), Ok(sent));
    for bad in [r#"{"data":{}}"#, r#"{"result":{}}"#, r#"{"result":{"data":{}}}"#, "null", "5", "nope"] {
        assert!(matches!(read_trpc::<Message>(200, bad), Err(ClientError::Decode(_))), "{bad}");
    }
}

/// The same for an upload's answer: its first file, read in place.
#[wasm_bindgen_test]
fn an_upload_answer_is_read_as_the_wire_type_writes_it() {
    use connect360_api::{UploadResponse, UploadedFile};
    use connect360_widget::attachments::parse_upload;
    let file = UploadedFile {
        id: "f1".into(),
        name: "a.png".into(),
        s3_key: "w/f1/a.png".into(),
        media_type: "image/png".into(),
        url: "/u".into(),
        size: 3,
    };
    let body = serde_json::to_string(&UploadResponse { files: vec![file] }).unwrap();
    let got = parse_upload(200, &body, "Upload failed").unwrap();
    assert_eq!(
        (got.id.as_str(), got.name.as_str(), got.media_type.as_str(), got.url.as_str(), got.size),
        ("f1", "a.png", "image/png", "/u", 3)
    );
    for bad in ["{}", r#"{"files":[]}"#, r#"{"files":[{}]}"#, "null", "nope"] {
        assert_eq!(parse_upload(200, bad, "Upload failed"), Err("Upload failed".to_owned()), "{bad}");
    }
}

#[wasm_bindgen_test]
async fn markup_in_a_message_stays_text() {
    let evil = r#"<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"#;
    let (_, root) = mount_panel(vec![message("m1", 1, "workspace", evil, None)]).await;
    let bubble = &bubbles(&root)[0];
    assert_eq!(bubble.text_content().unwrap(), evil);
    assert_eq!(bubble.child_element_count(), 0, "no element was made from the text");
    assert!(all(&root, ".c360-row img:not(.c360-avatar), script").is_empty());
}

#[wasm_bindgen_test]
async fn links_are_safe_and_bubbles_have_their_own_direction() {
    let text = "See https://example.com/help. Not javascript:alert(1) nor data:text/html,x";
    let (_, root) = mount_panel(vec![
        message("m1", 1, "workspace", text, None),
        message("m2", 2, "customer", "مرحبا https://example.com/ar", None),
    ])
    .await;
    let links = all(&root, ".c360-bubble a");
    assert_eq!(links.len(), 2);
    for a in &links {
        assert!(a.get_attribute("href").unwrap().starts_with("https://example.com/"));
        assert_eq!(a.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
        assert_eq!(a.get_attribute("target").as_deref(), Some("_blank"));
    }
    assert_eq!(links[0].text_content().unwrap(), "https://example.com/help");
    assert_eq!(bubbles(&root)[0].text_content().unwrap(), text);
    for b in bubbles(&root) {
        assert_eq!(b.get_attribute("dir").as_deref(), Some("auto"));
    }
}

#[wasm_bindgen_test]
async fn visitor_and_support_are_on_their_sides_with_names_and_avatars() {
    let (_, root) = mount_panel(vec![
        message("m1", 1, "customer", "Hi", None),
        message("m2", 2, "workspace", "Hello!", None),
        message("m3", 3, "workspace", "How can I help?", None),
        message("m4", 4, "ai", "I can help too", None),
    ])
    .await;
    let rows = all(&root, ".c360-row");
    assert_eq!(rows.len(), 4);
    assert!(rows[0].class_list().contains("c360-mine"));
    assert!(rows[1].class_list().contains("c360-theirs"));
    assert_eq!(
        all(&root, ".c360-name").iter().map(|n| n.text_content().unwrap()).collect::<Vec<_>>(),
        ["Sam Agent", "Assistant"]
    );
    let initials: Vec<String> =
        all(&root, "span.c360-avatar:not(.c360-avatar-space)").iter().map(|a| a.text_content().unwrap()).collect();
    assert_eq!(initials, ["SA", "A"]);
    assert_eq!(all(&root, ".c360-day").len(), 1, "one day, one separator");
    assert_eq!(all(&root, "time").len(), 4);
}

#[wasm_bindgen_test]
async fn a_reply_shows_its_parent_and_the_composer_what_is_replied_to() {
    let (chat, root) = mount_panel(vec![
        message("m1", 1, "workspace", "Your order shipped", None),
        message("m1b", 2, "workspace", "Anything else?", None),
        message("m2", 3, "customer", "Thanks!", Some("m1")),
        // Right below its parent: its place says what it answers.
        message("m3", 4, "workspace", "You're welcome", Some("m2")),
    ])
    .await;
    let quote = &all(&root, ".c360-quote")[0];
    assert_eq!(all(&root, ".c360-quote").len(), 1);
    assert!(quote.text_content().unwrap().contains("Sam Agent"));
    assert!(quote.text_content().unwrap().contains("Your order shipped"));

    // Reply to m2 from its button.
    let reply_buttons = all(&root, ".c360-reply");
    assert_eq!(reply_buttons.len(), 4);
    reply_buttons[2].unchecked_ref::<HtmlElement>().click();
    tick().await;
    assert_eq!(chat.messages.replying_to.get_untracked().as_deref(), Some("m2"));
    let replying = &all(&root, ".c360-replying")[0];
    assert!(replying.text_content().unwrap().contains("Thanks!"));
    // A message arriving meanwhile leaves the focus on the cancel button.
    let cancel: HtmlElement = all(&root, ".c360-cancel-reply")[0].clone().unchecked_into();
    cancel.focus().unwrap();
    chat.messages.timeline.update(|t| _ = t.insert(message("m4", 5, "workspace", "One more thing", None)));
    tick().await;
    assert_eq!(all(&root, ".c360-row").len(), 5, "the new message is shown");
    assert_eq!(document().active_element(), Some(cancel.clone().into()), "the cancel button keeps the focus");
    cancel.click();
    tick().await;
    assert!(all(&root, ".c360-replying").is_empty());
    assert_eq!(chat.messages.replying_to.get_untracked(), None);
}

#[wasm_bindgen_test]
async fn outgoing_messages_show_sending_then_failed_with_retry() {
    let (chat, root) = mount_panel(vec![]).await;
    chat.messages.outbox.update(|o: &mut Outbox| {
        o.push("k1".into(), [(connect360_api::Locale::En, json!("hello"))].into(), vec![], None);
    });
    tick().await;
    let row = &all(&root, ".c360-row")[0];
    assert!(row.class_list().contains("c360-mine"));
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Sending…");
    assert!(all(&root, ".c360-retry").is_empty());
    assert!(all(&root, ".c360-reply").is_empty(), "not stored: cannot be replied to");

    chat.messages.outbox.update(|o| o.failed("k1", "Can't reach the server"));
    tick().await;
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Not sent");
    assert_eq!(all(&root, ".c360-retry").len(), 1);
    assert_eq!(bubbles(&root).len(), 1);
    settle().await;
    assert_eq!(announced(&root), "Not sent: hello", "a failure is said, not only shown");
}

/// Gives the message list a fixed height, so that it scrolls; the
/// stylesheet, to remove.
fn scrollable_list() -> Element {
    let style = document().create_element("style").unwrap();
    style.set_text_content(Some(".c360-list{height:200px;overflow:auto;display:block}"));
    document().head().unwrap().append_child(&style).unwrap();
    style
}

/// Support's messages `m{i}`, "message {i}", a second apart.
fn numbered(seconds: std::ops::Range<u32>) -> Vec<Message> {
    seconds.map(|i| message(&format!("m{i}"), i, "workspace", &format!("message {i}"), None)).collect()
}

/// Prepends 40 older messages while the list moves `slide_px` down the page
/// (as in the panel's opening slide); the rows in view stay where they were
/// in the list.
async fn prepend_history_while_the_list_moves(slide_px: u32) {
    scrollable_list();

    let newest = numbered(50..70);
    let (chat, root) = mount_page(newest, Some("m50")).await;
    let list: Element = root.query_selector(".c360-list").unwrap().unwrap();
    list.set_scroll_top(30);
    let anchor = root.query_selector("[data-id=\"m52\"]").unwrap().unwrap();
    let in_list = || anchor.get_bounding_client_rect().top() - list.get_bounding_client_rect().top();
    let top_before = in_list();

    let before = chat.ui.scroll_mark();
    list.parent_element().unwrap().set_attribute("style", &format!("transform:translateY({slide_px}px)")).unwrap();
    let older: Vec<Message> =
        (10..50).map(|i| message(&format!("m{i}"), i, "customer", &format!("older {i}"), None)).collect();
    chat.messages.timeline.update(|t| {
        t.apply_older("m50", Page { items: older, next_cursor: None });
    });
    chat.ui.keep_scroll_position(before).await;

    assert!(list.scroll_top() > 30, "scrolled down by what was prepended");
    let top_after = in_list();
    assert!((top_after - top_before).abs() < 1.0, "{top_before} → {top_after} with a slide of {slide_px} px");
    assert_eq!(all(&root, ".c360-row").len(), 60);
}

#[wasm_bindgen_test]
async fn prepending_history_keeps_the_view_in_place() {
    prepend_history_while_the_list_moves(0).await;
}

#[wasm_bindgen_test]
async fn prepending_history_during_the_opening_slide_keeps_the_view_in_place() {
    prepend_history_while_the_list_moves(40).await;
}

#[wasm_bindgen_test]
async fn enter_sends_optimistically_and_an_unreachable_server_fails_it_with_retry() {
    use connect360_widget::outbox::SendContext;
    use connect360_widget::state::Session;
    use connect360_widget::transport::Client;

    let (chat, root) = mount_panel(vec![]).await;
    chat.session.current.set(Some(Session {
        // Nothing listens there: fetch fails as when the server is down.
        client: Client { api_base: "http://127.0.0.1:9".into(), token: Some("t".into()) },
        send: SendContext {
            conversation_id: "c1".into(),
            external_id: "guest_1".into(),
            channel_identifier: "localhost".into(),
            ai_agent: None,
        },
    }));
    let textarea: web_sys::HtmlTextAreaElement = root.query_selector("textarea").unwrap().unwrap().unchecked_into();
    let key = |k: &str, shift: bool| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_shift_key(shift);
        init.set_bubbles(true);
        init.set_cancelable(true);
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
    };

    chat.messages.draft.set("first line".into());
    tick().await;
    let shift_enter = key("Enter", true);
    textarea.dispatch_event(&shift_enter).unwrap();
    assert!(!shift_enter.default_prevented(), "Shift+Enter is a new line");
    assert!(bubbles(&root).is_empty());

    chat.messages.draft.set("Hello <b>there</b>".into());
    let enter = key("Enter", false);
    textarea.dispatch_event(&enter).unwrap();
    assert!(enter.default_prevented());
    tick().await;
    assert_eq!(bubbles(&root)[0].text_content().unwrap(), "Hello <b>there</b>");
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Sending…");
    assert_eq!(chat.messages.draft.get_untracked(), "", "the composer is cleared");

    for _ in 0..100 {
        if !all(&root, ".c360-retry").is_empty() {
            break;
        }
        connect360_widget::browser::next_frame().await;
    }
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Not sent");
    let key_before = chat.messages.outbox.with_untracked(|o| o.unstored().next().unwrap().client_id.clone());
    all(&root, ".c360-retry")[0].unchecked_ref::<HtmlElement>().click();
    tick().await;
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Sending…");
    let keys: Vec<String> =
        chat.messages.outbox.with_untracked(|o| o.unstored().map(|m| m.client_id.clone()).collect());
    assert_eq!(keys, [key_before], "the retry is the same message, same key");
}

fn with_files(mut m: Message, files: serde_json::Value) -> Message {
    m.attachments = serde_json::from_value(files).unwrap();
    m
}

#[wasm_bindgen_test]
async fn an_image_attachment_is_a_thumbnail_at_the_api_origin_that_opens_large() {
    let m = with_files(
        message("m1", 1, "customer", "", None),
        json!([{"id": "f1", "name": "receipt.png", "type": "image/png", "size": 68,
                "url": "/api/v1/connect/assets/ws/f1/receipt.png?for=v&exp=1&sig=s"}]),
    );
    let (chat, root) = mount_panel(vec![m]).await;
    let img = &all(&root, ".c360-files img")[0];
    let src = "https://chat.invalid/api/v1/connect/assets/ws/f1/receipt.png?for=v&exp=1&sig=s";
    assert_eq!(img.get_attribute("src").as_deref(), Some(src));
    assert_eq!(img.get_attribute("alt").as_deref(), Some("receipt.png"));
    assert_eq!(img.get_attribute("loading").as_deref(), Some("lazy"));
    assert!(bubbles(&root).is_empty(), "no empty text bubble above the files");

    all(&root, ".c360-thumb")[0].unchecked_ref::<HtmlElement>().click();
    tick().await;
    let large = &all(&root, ".c360-lightbox img")[0];
    assert_eq!(large.get_attribute("src").as_deref(), Some(src));
    assert!(chat.ui.lightbox.get_untracked().is_some());
    all(&root, ".c360-lightbox")[0].unchecked_ref::<HtmlElement>().click();
    tick().await;
    assert!(all(&root, ".c360-lightbox").is_empty());
}

#[wasm_bindgen_test]
async fn another_file_is_a_download_chip_with_name_and_size() {
    let m = with_files(
        message("m1", 1, "workspace", "Your invoice", None),
        json!([{"id": "f2", "name": "invoice.pdf", "type": "application/pdf", "size": 150000,
                "url": "/api/v1/connect/assets/ws/f2/invoice.pdf?for=v&exp=1&sig=s"}]),
    );
    let (_, root) = mount_panel(vec![m]).await;
    assert!(all(&root, ".c360-files img").is_empty());
    let link = &all(&root, "a.c360-file")[0];
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://chat.invalid/api/v1/connect/assets/ws/f2/invoice.pdf?for=v&exp=1&sig=s")
    );
    assert!(link.has_attribute("download"));
    assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
    assert_eq!(link.query_selector(".c360-file-name").unwrap().unwrap().text_content().as_deref(), Some("invoice.pdf"));
    assert_eq!(link.query_selector(".c360-file-size").unwrap().unwrap().text_content().as_deref(), Some("147 KB"));
}

#[wasm_bindgen_test]
async fn too_many_files_are_refused_before_uploading_with_a_reason() {
    let (chat, root) = mount_panel(vec![]).await;
    let files: Vec<web_sys::File> = (0..6)
        .map(|i| web_sys::File::new_with_str_sequence(&js_sys::Array::of1(&"x".into()), &format!("f{i}.txt")).unwrap())
        .collect();
    chat.attach(files);
    tick().await;
    let alert = &all(&root, ".c360-limit")[0];
    assert_eq!(alert.get_attribute("role").as_deref(), Some("alert"));
    assert!(alert.text_content().unwrap().contains("up to 5 files"));
    assert!(all(&root, ".c360-upload").is_empty(), "nothing was uploaded");
}

#[wasm_bindgen_test]
async fn composer_files_show_progress_then_the_servers_reason_with_remove() {
    let (chat, root) = mount_panel(vec![]).await;
    let (mut a, mut b) = (0, 0);
    chat.uploads.items.update(|u| {
        a = u.add("photo.png".into(), 2048);
        b = u.add("huge.zip".into(), 10);
        u.progress(a, 1.0, 2.0);
        u.finished(b, Err("huge.zip is larger than 25 MB".into()));
    });
    tick().await;
    let chips = all(&root, ".c360-upload");
    assert_eq!(chips.len(), 2);
    let progress = chips[0].query_selector("progress").unwrap().unwrap();
    assert_eq!(progress.get_attribute("value").as_deref(), Some("50"));
    assert!(chips[1].text_content().unwrap().contains("huge.zip is larger than 25 MB"));
    assert!(!chat.can_send(), "a file is still uploading");
    // Progress keeps the chip and the focus on its cancel button.
    let cancel: HtmlElement = chips[0].query_selector(".c360-upload-remove").unwrap().unwrap().unchecked_into();
    assert_eq!(cancel.get_attribute("aria-label").as_deref(), Some("Cancel upload"));
    cancel.focus().unwrap();
    chat.uploads.items.update(|u| u.progress(a, 3.0, 4.0));
    tick().await;
    assert_eq!(progress.get_attribute("value").as_deref(), Some("75"));
    assert_eq!(document().active_element(), Some(cancel.clone().into()), "the cancel button keeps the focus");
    chips[1].query_selector(".c360-upload-remove").unwrap().unwrap().unchecked_ref::<HtmlElement>().click();
    tick().await;
    assert_eq!(all(&root, ".c360-upload").len(), 1);
}

fn attr(root: &Element, selector: &str, name: &str) -> Option<String> {
    root.query_selector(selector).unwrap().unwrap().get_attribute(name)
}

#[wasm_bindgen_test]
async fn set_locale_redraws_the_open_panel_keeping_messages_draft_and_focus() {
    use connect360_api::Locale;
    let (chat, root) = mount_panel(vec![
        message("m1", 1, "customer", "Hi", None),
        message("m2", 2, "workspace", "Hello! مرحبا", None),
    ])
    .await;
    chat.messages.outbox.update(|o: &mut Outbox| {
        o.push("k1".into(), [(Locale::En, json!("on its way"))].into(), vec![], None);
    });
    chat.messages.draft.set("half-written".into());
    // The new row renders first; the textarea's value a tick after.
    tick().await;
    tick().await;
    let textarea: web_sys::HtmlTextAreaElement = root.query_selector("textarea").unwrap().unwrap().unchecked_into();
    textarea.focus().unwrap();
    textarea.set_selection_range(2, 4).unwrap();
    assert_eq!(attr(&root, ".c360", "dir").as_deref(), Some("ltr"));
    assert!(!root.query_selector(".c360").unwrap().unwrap().class_list().contains("c360-left"));
    assert!(!root.query_selector(".c360").unwrap().unwrap().class_list().contains("c360-again"));

    chat.set_locale(Locale::Ar);
    tick().await;
    connect360_widget::browser::next_frame().await;
    connect360_widget::browser::next_frame().await;
    let frame = root.query_selector(".c360").unwrap().unwrap();
    assert_eq!(frame.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(frame.get_attribute("lang").as_deref(), Some("ar"));
    assert!(frame.class_list().contains("c360-left"), "the launcher moves to the reading direction's end");
    assert_eq!(attr(&root, "textarea", "placeholder").as_deref(), Some("اكتب رسالة…"));
    assert_eq!(attr(&root, ".c360-launcher", "aria-label").as_deref(), Some("أغلق المحادثة"), "open: it closes");
    assert_eq!(attr(&root, ".c360-send", "aria-label").as_deref(), Some("إرسال"));
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "جارٍ الإرسال…");
    let texts: Vec<String> = bubbles(&root).iter().map(|b| b.text_content().unwrap()).collect();
    assert_eq!(texts, ["Hi", "Hello! مرحبا", "on its way"]);
    for b in bubbles(&root) {
        assert_eq!(b.get_attribute("dir").as_deref(), Some("auto"));
    }
    assert_eq!(all(&root, ".c360-panel").len(), 1, "one panel, drawn again");
    assert!(frame.class_list().contains("c360-again"), "without the opening animation");
    let textarea: web_sys::HtmlTextAreaElement = root.query_selector("textarea").unwrap().unwrap().unchecked_into();
    assert_eq!(textarea.value(), "half-written");
    assert!(textarea.matches(":focus").unwrap(), "the composer keeps the focus");
    assert_eq!((textarea.selection_start().unwrap(), textarea.selection_end().unwrap()), (Some(2), Some(4)));
    assert!(chat.ui.open.get_untracked());

    // Sent in Turkish now: the visitor's text is keyed by the panel's locale.
    chat.set_locale(Locale::Tr);
    tick().await;
    assert_eq!(attr(&root, ".c360", "dir").as_deref(), Some("ltr"));
    assert_eq!(attr(&root, "textarea", "placeholder").as_deref(), Some("Bir mesaj yazın…"));
    assert_eq!(bubbles(&root).len(), 3);
}

#[wasm_bindgen_test]
async fn an_explicit_data_position_is_kept_in_arabic() {
    use connect360_api::Locale;
    let container: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&container).unwrap();
    let config = WidgetConfig::parse(
        r#"{"widgetKey":"wk_test","apiBase":"https://chat.invalid","locale":"ar","position":"right"}"#,
    )
    .unwrap();
    let chat = Chat::new(config, None);
    assert_eq!(chat.ui.locale.get_untracked(), Locale::Ar);
    mount_to(container.clone(), move || view! { <App chat /> }).forget();
    tick().await;
    let frame = container.query_selector(".c360").unwrap().unwrap();
    assert_eq!(frame.get_attribute("dir").as_deref(), Some("rtl"));
    assert!(!frame.class_list().contains("c360-left"));
}

#[wasm_bindgen_test]
async fn set_locale_keeps_the_list_scrolled_where_it_was() {
    use connect360_api::Locale;
    let style = scrollable_list();
    let messages = numbered(0..40);
    let (chat, root) = mount_panel(messages).await;
    let list = || root.query_selector(".c360-list").unwrap().unwrap();
    list().set_scroll_top(150);
    let before = list().scroll_top();
    assert!(before > 100, "the list scrolls");
    chat.set_locale(Locale::Tr);
    tick().await;
    connect360_widget::browser::next_frame().await;
    connect360_widget::browser::next_frame().await;
    assert_eq!(attr(&root, ".c360", "lang").as_deref(), Some("tr"));
    assert_eq!(list().scroll_top(), before);
    style.remove();
}

#[wasm_bindgen_test]
async fn unread_replies_prefix_the_title_until_read() {
    document().set_title("Nordwind shop");
    let unread = RwSignal::new(0u32);
    let owner = Owner::new();
    owner.with(|| connect360_widget::web::on_unread(unread, false));
    tick().await;
    assert_eq!(document().title(), "Nordwind shop");
    unread.set(1);
    tick().await;
    assert_eq!(document().title(), "(1) Nordwind shop");
    unread.set(3);
    tick().await;
    assert_eq!(document().title(), "(3) Nordwind shop");
    unread.set(0);
    tick().await;
    assert_eq!(document().title(), "Nordwind shop");
    drop(owner);
}

#[wasm_bindgen_test]
fn a_forced_theme_wins_over_the_system() {
    use connect360_widget::theme::Theme;
    let el = document().create_element("div").unwrap();
    connect360_widget::web::apply_theme(&el, Theme::Dark);
    assert_eq!(el.get_attribute("data-theme").as_deref(), Some("dark"));
    connect360_widget::web::apply_theme(&el, Theme::Light);
    assert_eq!(el.get_attribute("data-theme").as_deref(), Some("light"));
    // Auto: the headless browser's preference, whichever it is.
    connect360_widget::web::apply_theme(&el, Theme::Auto);
    assert!(matches!(el.get_attribute("data-theme").as_deref(), Some("dark" | "light")));
}

#[wasm_bindgen_test]
async fn an_ai_reply_types_then_streams_then_gives_way_to_the_stored_message() {
    let (chat, root) = mount_panel(vec![message("q1", 1, "customer", "Do you ship to Izmir?", None)]).await;
    chat.reply.pending.set(Some(PendingReply::new("q1".into())));
    tick().await;
    let typing = all(&root, ".c360-draft .c360-typing");
    assert_eq!(typing.len(), 1, "dots until the first word");
    assert!(typing[0].text_content().unwrap().contains("writing a reply"));
    let said = all(&root, ".c360-announcer")[0].text_content().unwrap();
    assert!(said.contains("writing a reply"), "announced once as it starts: {said}");
    assert_eq!(all(&root, ".c360-draft .c360-name")[0].text_content().unwrap(), "Assistant");
    // The stream names the writer, as the stored reply will.
    let agent =
        serde_json::from_value(json!({"type": "ai", "id": "agent_1", "name": "Nordwind assistant", "image": null}))
            .unwrap();
    chat.reply.pending.update(|r| r.as_mut().unwrap().sender = Some(agent));
    tick().await;
    assert_eq!(all(&root, ".c360-draft .c360-name")[0].text_content().unwrap(), "Nordwind assistant");
    // Shown as capitals by the avatar's CSS.
    assert_eq!(all(&root, ".c360-draft .c360-avatar")[0].text_content().unwrap(), "Na");

    chat.reply.pending.update(|r| r.as_mut().unwrap().text.push_str("Yes, we ship "));
    tick().await;
    assert!(all(&root, ".c360-typing").is_empty());
    let draft = &all(&root, ".c360-draft .c360-bubble")[0];
    assert_eq!(draft.text_content().unwrap(), "Yes, we ship ");
    chat.reply.pending.update(|r| r.as_mut().unwrap().text.push_str("everywhere in Turkey."));
    tick().await;
    assert_eq!(draft.text_content().unwrap(), "Yes, we ship everywhere in Turkey.", "the same bubble grows");

    // The stored reply arrives (by stream or poll): one bubble, the stored one.
    let stored = message("r1", 2, "ai", "Yes, we ship everywhere in Turkey.", Some("q1"));
    chat.messages.timeline.update(|t| _ = t.insert(stored));
    tick().await;
    assert!(all(&root, ".c360-draft").is_empty(), "the draft is gone");
    let answers: Vec<String> =
        bubbles(&root).iter().filter_map(|b| b.text_content()).filter(|t| t.starts_with("Yes")).collect();
    assert_eq!(answers, ["Yes, we ship everywhere in Turkey."]);
    assert!(all(&root, ".c360-quote").is_empty(), "a reply right below its question quotes nothing");
}

/// Waits a few frames for effects and what they render.
async fn settle() {
    for _ in 0..3 {
        tick().await;
        connect360_widget::browser::next_frame().await;
    }
}

fn announced(root: &Element) -> String {
    root.query_selector(".c360-announcer").unwrap().unwrap().text_content().unwrap()
}

#[wasm_bindgen_test]
async fn only_new_messages_from_others_are_announced_never_history() {
    let (chat, root) = mount_page(
        vec![
            message("m5", 5, "customer", "Where is my order?", None),
            message("m6", 6, "workspace", "Let me look.", None),
        ],
        Some("m5"),
    )
    .await;
    settle().await;
    let list = root.query_selector(".c360-list").unwrap().unwrap();
    assert_eq!(list.get_attribute("role").as_deref(), Some("log"));
    assert_eq!(list.get_attribute("aria-live").as_deref(), Some("off"), "the list reads out nothing");
    let region = root.query_selector(".c360-announcer").unwrap().unwrap();
    assert_eq!(region.get_attribute("role").as_deref(), Some("status"));
    assert_eq!(announced(&root), "", "the first page is history");

    chat.messages.timeline.update(|t| {
        t.apply_older("m5", Page { items: vec![message("m1", 1, "workspace", "Welcome!", None)], next_cursor: None });
    });
    settle().await;
    assert_eq!(all(&root, ".c360-row").len(), 3);
    assert_eq!(announced(&root), "", "an older page is history");

    let latest = |items| Page { items, next_cursor: Some("m1".to_owned()) };
    chat.messages.timeline.update(|t| _ = t.apply_latest(latest(vec![message("m7", 7, "customer", "Thanks", None)])));
    settle().await;
    assert_eq!(announced(&root), "", "the visitor's own message");

    chat.messages
        .timeline
        .update(|t| _ = t.apply_latest(latest(vec![message("m8", 8, "workspace", "It ships today.", None)])));
    settle().await;
    assert_eq!(announced(&root), "New message from Sam Agent: It ships today.");

    chat.ui.open.set(false);
    settle().await;
    assert_eq!(announced(&root), "", "nothing stale is left for the next opening");
}

#[wasm_bindgen_test]
async fn escape_closes_and_the_focus_goes_back_to_the_launcher_which_says_what_waits() {
    let (chat, root) = mount_panel(vec![message("m1", 1, "workspace", "Hello", None)]).await;
    let launcher: HtmlElement = root.query_selector(".c360-launcher").unwrap().unwrap().unchecked_into();
    let panel = root.query_selector(".c360-panel").unwrap().unwrap();
    let first = root.query_selector("button, [tabindex]").unwrap().unwrap();
    assert!(first.class_list().contains("c360-launcher"), "the launcher comes before the panel");
    assert_eq!(launcher.get_attribute("aria-controls").as_deref(), Some(panel.id().as_str()));
    assert_eq!(launcher.get_attribute("aria-label").as_deref(), Some("Close chat"));

    let textarea: HtmlElement = root.query_selector("textarea").unwrap().unwrap().unchecked_into();
    textarea.focus().unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    textarea
        .dispatch_event(&web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap())
        .unwrap();
    settle().await;
    assert!(!chat.ui.open.get_untracked());
    assert!(panel.has_attribute("hidden"));
    assert_eq!(document().active_element().as_ref(), Some(launcher.unchecked_ref::<Element>()));

    chat.ui.unread.set(2);
    settle().await;
    assert_eq!(launcher.get_attribute("aria-label").as_deref(), Some("Open chat, 2 unread"));
    let badge = root.query_selector(".c360-badge").unwrap().unwrap();
    assert_eq!(badge.get_attribute("aria-hidden").as_deref(), Some("true"), "the label says it");
}

#[wasm_bindgen_test]
async fn the_open_image_keeps_tab_on_its_close_button_and_esc_goes_back_to_the_thumbnail() {
    let m = with_files(
        message("m1", 1, "workspace", "", None),
        json!([{"id": "f1", "name": "parcel.png", "type": "image/png", "size": 68,
                "url": "/api/v1/connect/assets/ws/f1/parcel.png"}]),
    );
    let (chat, root) = mount_panel(vec![m]).await;
    let thumb: HtmlElement = all(&root, ".c360-thumb")[0].clone().unchecked_into();
    thumb.focus().unwrap();
    thumb.click();
    settle().await;
    let close = root.query_selector(".c360-lightbox-close").unwrap().unwrap();
    assert_eq!(close.get_attribute("aria-label").as_deref(), Some("Close image"));
    assert_eq!(document().active_element().as_ref(), Some(&close));

    let key = |k: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        init.set_cancelable(true);
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
    };
    let tab = key("Tab");
    close.dispatch_event(&tab).unwrap();
    assert!(tab.default_prevented(), "Tab does not leave the image for what it covers");
    assert_eq!(document().active_element().as_ref(), Some(&close));

    close.dispatch_event(&key("Escape")).unwrap();
    settle().await;
    assert!(chat.ui.lightbox.get_untracked().is_none());
    assert!(chat.ui.open.get_untracked(), "Esc closed the image, not the panel");
    assert_eq!(document().active_element().as_ref(), Some(thumb.unchecked_ref::<Element>()));
}

fn texts(root: &Element, selector: &str) -> Vec<String> {
    all(root, selector).iter().filter_map(|e| e.text_content()).collect()
}

#[wasm_bindgen_test]
async fn keyed_rows_keep_their_elements_and_follow_the_order() {
    let items = RwSignal::new(vec![1u32, 2, 3]);
    let parent: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    mount_to(parent.clone(), move || {
        view! {
            <For each=move || items.get() key=|n| *n let(n)>
                <p>{n}</p>
            </For>
        }
    })
    .forget();
    assert_eq!(texts(&parent, "p"), ["1", "2", "3"]);
    let two = all(&parent, "p")[1].clone();
    items.set(vec![0, 3, 2]);
    tick().await;
    assert_eq!(texts(&parent, "p"), ["0", "3", "2"]);
    assert_eq!(all(&parent, "p")[2], two, "a kept key keeps its element");
    items.set(vec![2, 2]);
    tick().await;
    assert_eq!(texts(&parent, "p"), ["2"], "a key twice is shown once");
    items.set(Vec::new());
    tick().await;
    assert!(texts(&parent, "p").is_empty());
}

#[wasm_bindgen_test]
async fn a_part_drawn_again_drops_what_the_last_one_ran() {
    let shown = RwSignal::new(true);
    let text = RwSignal::new("a".to_owned());
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let parent: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    let counted = runs.clone();
    mount_to(parent.clone(), move || {
        view! {
            <Show when=move || shown.get()>
                <p>{
                    let counted = counted.clone();
                    move || {
                        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        text.get()
                    }
                }</p>
            </Show>
        }
    })
    .forget();
    text.set("b".to_owned());
    tick().await;
    assert_eq!(texts(&parent, "p"), ["b"]);
    assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 2);
    shown.set(false);
    tick().await;
    assert!(texts(&parent, "p").is_empty());
    text.set("c".to_owned());
    tick().await;
    assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 2, "the text of a part no longer shown is not written");
}

#[wasm_bindgen_test]
async fn the_empty_state_waits_for_the_first_page() {
    use connect360_widget::state::Status;
    let container: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&container).unwrap();
    let chat = Chat::new(config(), None);
    chat.ui.open.set(true);
    // The session is ready; its first page is still on its way.
    chat.session.status.set(Status::Ready);
    mount_to(container.clone(), move || view! { <App chat /> }).forget();
    tick().await;
    assert!(all(&container, ".c360-empty").is_empty(), "not said before the first page is in");
    chat.messages.timeline.update(|t| _ = t.apply_latest(Page { items: vec![], next_cursor: None }));
    tick().await;
    assert_eq!(all(&container, ".c360-empty").len(), 1);
}

// --- the event stream (issue 13) ---------------------------------------------

#[wasm_bindgen_test]
async fn the_visitor_s_own_message_pushed_before_the_send_s_answer_shows_once_as_sent() {
    let (chat, root) = mount_panel(vec![]).await;
    chat.messages.draft.set("Is it in stock?".into());
    chat.messages.queue("cm_1".into(), connect360_api::Locale::En, vec![]);
    assert!(chat.messages.attempt("cm_1", |_| ()).is_some(), "sent: the first page is in");
    tick().await;
    assert_eq!(bubbles(&root).len(), 1);
    assert!(all(&root, ".c360-status")[0].text_content().unwrap().starts_with("Sending"));

    let stored = message("m1", 1, "customer", "Is it in stock?", None);
    assert!(chat.messages.take_pushed(&stored), "new to the timeline");
    settle().await;
    assert_eq!(bubbles(&root).len(), 1, "the outbox claimed it: one bubble");
    assert_eq!(all(&root, ".c360-status")[0].text_content().unwrap(), "Sent");
    // The send's answer, a poll or a replay bring it again: nothing changes.
    assert!(!chat.messages.take_pushed(&stored));
    chat.messages.outbox.update(|o| o.sent("cm_1", "m1"));
    settle().await;
    assert_eq!(bubbles(&root).len(), 1);
}

#[wasm_bindgen_test]
async fn a_reply_the_stream_begins_before_the_send_s_answer_keeps_its_first_words() {
    use connect360_api::{AiDelta, AiStart, AiStreamEvent};
    let (chat, root) = mount_panel(vec![message("q1", 1, "customer", "Do you ship to Izmir?", None)]).await;
    let agent: connect360_api::Sender =
        serde_json::from_value(json!({"type": "ai", "id": "agent_1", "name": "Nordwind assistant", "image": null}))
            .unwrap();
    chat.reply.on_event(&AiStreamEvent::Delta(AiDelta { text: "lost".into() }));
    assert!(chat.reply.pending.get_untracked().is_none(), "words of no reply begun are not drawn");
    chat.reply.on_event(&AiStreamEvent::Start(AiStart { sender: agent }));
    chat.reply.on_event(&AiStreamEvent::Delta(AiDelta { text: "Yes, ".into() }));
    chat.reply.start("q1".into());
    chat.reply.on_event(&AiStreamEvent::Delta(AiDelta { text: "we do.".into() }));
    settle().await;
    assert_eq!(all(&root, ".c360-draft .c360-bubble")[0].text_content().unwrap(), "Yes, we do.");
    assert_eq!(all(&root, ".c360-draft .c360-name")[0].text_content().unwrap(), "Nordwind assistant");
    let said = all(&root, ".c360-announcer")[0].text_content().unwrap();
    assert_eq!(said.matches("writing a reply").count(), 1, "said once: {said}");

    let stored = message("r1", 2, "ai", "Yes, we do.", Some("q1"));
    assert!(chat.messages.take_pushed(&stored));
    chat.reply.on_event(&AiStreamEvent::Message(Box::new(stored)));
    settle().await;
    assert!(all(&root, ".c360-draft").is_empty());
    assert!(chat.reply.pending.get_untracked().is_none());
    assert_eq!(bubbles(&root).len(), 2);
}

#[wasm_bindgen_test]
fn a_newer_stream_loop_stops_the_older_one_and_polling_stands_in_after_failures() {
    use connect360_widget::live::{Ended, Plan};
    use connect360_widget::state::{Live, Mode};
    let live = Live::default();
    assert_eq!(live.mode(), Mode::Off);
    let first = live.begin();
    let aborted = live.controller().unwrap();
    let second = live.begin();
    assert!(aborted.signal().aborted(), "the older request is ended");
    assert!(!live.current(first) && live.current(second));
    assert_eq!(live.mode(), Mode::Streaming);

    assert!(matches!(live.plan(Ended::Failed), Plan::Reopen(1_000..=2_000)));
    assert!(matches!(live.plan(Ended::Failed), Plan::Reopen(2_000..=4_000)));
    assert!(matches!(live.plan(Ended::Failed), Plan::Poll(_)));
    assert_eq!(live.mode(), Mode::Polling);
    live.retry();
    assert_eq!(live.mode(), Mode::Streaming);

    live.received("m5");
    live.received("");
    assert_eq!(live.last_id().as_deref(), Some("m5"), "an event without an id keeps the last");
    live.forget();
    assert_eq!(live.last_id(), None);
    live.stop();
    assert!(!live.current(second));
    assert_eq!(live.mode(), Mode::Off);
}

#[wasm_bindgen_test]
async fn a_hidden_tab_s_stream_closes_after_a_while_unless_shown_again() {
    use connect360_widget::state::{Live, Mode};
    let wait = || connect360_widget::browser::sleep(std::time::Duration::from_millis(60));
    let live = Live::default();
    let generation = live.begin();
    let request = live.controller().unwrap();
    live.close_later(20);
    live.keep();
    wait().await;
    assert!(live.current(generation) && live.mode() == Mode::Streaming, "shown again in time: kept");

    live.close_later(20);
    wait().await;
    assert!(!live.current(generation), "its loop stops");
    assert_eq!(live.mode(), Mode::Off, "reopened when shown");
    assert!(request.signal().aborted());
}
