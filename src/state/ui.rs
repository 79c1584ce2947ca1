//! What the panel shows around the conversation: open or not, its language,
//! the unread count, a drag of files, the image shown large, and the
//! elements the state needs to scroll and focus.

use connect360_api::Locale;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::browser;
use crate::config::WidgetConfig;
use crate::locale::visitor_locale;

/// Scrolled within this many pixels of the top, older messages load.
const HISTORY_THRESHOLD_PX: i32 = 48;
/// Within this many pixels of the bottom, new messages keep the list at the bottom.
const STICKY_BOTTOM_PX: i32 = 80;

#[derive(Clone, Copy)]
pub struct Ui {
    pub config: StoredValue<WidgetConfig>,
    /// The panel's language; `Chat::set_locale` changes it live.
    pub locale: RwSignal<Locale>,
    pub open: RwSignal<bool>,
    /// Messages from support that arrived while the panel was closed.
    pub unread: RwSignal<u32>,
    /// Files dragged over the panel: how many of its elements they entered.
    pub dragging: RwSignal<u32>,
    /// An image shown large: its address and name.
    pub lightbox: RwSignal<Option<(String, String)>>,
    /// What had focus before the image opened, to return to.
    pub lightbox_opener: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
    /// The message list and the composer's input, once drawn.
    pub list: NodeRef<html::Div>,
    pub input: NodeRef<html::Textarea>,
    /// The loader's `emit(type, detail)`: events for the page.
    emit: StoredValue<Option<js_sys::Function>, LocalStorage>,
}

impl Ui {
    pub fn new(config: WidgetConfig, emit: Option<js_sys::Function>) -> Ui {
        let languages = browser::languages();
        let locale = visitor_locale(
            config.locale.as_deref(),
            crate::web::page_lang().as_deref(),
            languages.iter().map(String::as_str),
        );
        Ui {
            config: StoredValue::new(config),
            locale: RwSignal::new(locale),
            open: RwSignal::new(false),
            unread: RwSignal::new(0),
            dragging: RwSignal::new(0),
            lightbox: RwSignal::new(None),
            lightbox_opener: StoredValue::new_local(None),
            list: NodeRef::new(),
            input: NodeRef::new(),
            emit: StoredValue::new_local(emit),
        }
    }

    /// Tells the page (`Connect360Chat.on(event, …)`).
    pub fn emit(self, event: &str, detail: JsValue) {
        self.emit.with_value(|emit| {
            if let Some(f) = emit {
                _ = f.call2(&JsValue::NULL, &JsValue::from_str(event), &detail);
            }
        });
    }

    pub fn focus_input(self) {
        if let Some(input) = self.input.get_untracked() {
            _ = input.focus();
        }
    }

    /// Shows `src` large; `opener` gets the focus back when it closes.
    pub fn open_image(self, src: String, alt: String, opener: Option<web_sys::HtmlElement>) {
        self.lightbox_opener.set_value(opener);
        self.lightbox.set(Some((src, alt)));
    }

    pub fn close_image(self) {
        self.lightbox.set(None);
        if let Some(opener) = self.lightbox_opener.try_update_value(Option::take).flatten() {
            _ = opener.focus();
        }
    }

    pub fn near_bottom(self) -> bool {
        self.list
            .get_untracked()
            .is_none_or(|l| l.scroll_height() - l.scroll_top() - l.client_height() < STICKY_BOTTOM_PX)
    }

    pub fn near_top(self) -> bool {
        self.list.get_untracked().is_some_and(|l| l.scroll_top() < HISTORY_THRESHOLD_PX)
    }

    /// Whether the list is too short to scroll (or not laid out).
    pub fn scrollable(self) -> bool {
        self.list.get_untracked().is_none_or(|l| l.client_height() == 0 || l.scroll_height() > l.client_height())
    }

    pub fn scroll_to_bottom(self) {
        if let Some(list) = self.list.get_untracked() {
            list.set_scroll_top(list.scroll_height());
        }
    }

    /// The first stored message and where its line of time and delivery is
    /// in the list's box, to keep the view in place while older messages go
    /// above it. That line, not the list's height: heights are rounded to
    /// whole pixels (a drift of up to 1 px per page), and the row's name line
    /// above its bubble comes and goes with the rows above it (the row is
    /// then drawn anew: it is found again by its id). Every row has the line.
    pub fn scroll_mark(self) -> Option<(String, f64)> {
        let list = self.list.get_untracked()?;
        let row = list.query_selector(".c360-row[data-id]").ok()??;
        let id = row.get_attribute("data-id")?;
        Some((id, meta_top(&list, &row)?))
    }

    /// After the list grew above the view, scrolls by as much as the mark of
    /// [`Ui::scroll_mark`] moved, before the browser paints; and again a
    /// frame later, for what settles only then (images, fonts).
    pub async fn keep_scroll_position(self, before: Option<(String, f64)>) {
        let Some((id, top)) = before else { return };
        for _ in 0..2 {
            browser::next_frame().await;
            let Some(list) = self.list.get_untracked() else { return };
            let Some(now) = self.message_element(&id).and_then(|row| meta_top(&list, &row)) else { return };
            if (now - top).abs() >= 0.5 {
                list.scroll_by_with_x_and_y(0.0, now - top);
            }
        }
    }

    /// The row of message `id`, when it is drawn.
    pub fn message_element(self, id: &str) -> Option<web_sys::Element> {
        let list = self.list.get_untracked()?;
        let escaped: String = id
            .chars()
            .flat_map(|c| {
                let esc = matches!(c, '"' | '\\').then_some('\\');
                esc.into_iter().chain([c])
            })
            .collect();
        list.query_selector(&format!("[data-id=\"{escaped}\"]")).ok().flatten()
    }
}

/// The top of `row`'s line of time and delivery below the list's top: not in
/// the viewport, where the panel's opening slide moves it too.
fn meta_top(list: &web_sys::Element, row: &web_sys::Element) -> Option<f64> {
    let meta = row.query_selector(".c360-meta").ok()??;
    Some(meta.get_bounding_client_rect().top() - list.get_bounding_client_rect().top())
}
