//! What the loader calls: `mount(root, configJson, emit)` and the handle it
//! returns (`open`, `close`, `toggle`, `identify`, `setLocale`, `setTheme`).

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::components::App;
use crate::config::WidgetConfig;
use crate::session::Identity;
use crate::state::Chat;
use crate::theme::{Theme, WHITE, parse_color, text_on};
use crate::web;
use connect360_api::Locale;

/// The mounted widget, as JavaScript holds it.
#[wasm_bindgen]
pub struct Widget {
    chat: Chat,
    /// The `.c360-root` element, where the theme goes.
    root: web_sys::HtmlElement,
    theme: StoredValue<Theme>,
}

#[wasm_bindgen]
impl Widget {
    pub fn open(&self) {
        self.chat.set_open(true);
    }

    pub fn close(&self) {
        self.chat.set_open(false);
    }

    pub fn toggle(&self) {
        self.chat.toggle();
    }

    /// `identify(JSON.stringify({ externalId?, name?, email?, userHash? }))`;
    /// anything else is ignored. Whether it was taken.
    pub fn identify(&self, identity_json: &str) -> bool {
        let identity = crate::transport::json::decode::<Identity>(identity_json);
        let taken = identity.is_ok();
        if let Ok(identity) = identity {
            self.chat.identify(identity);
        }
        taken
    }

    /// `setLocale("ar")`: the panel's language (`en`, `ar`, `tr`, or a tag
    /// such as `tr-TR`), at once. Whether it is one the widget has.
    #[wasm_bindgen(js_name = setLocale)]
    pub fn set_locale(&self, tag: &str) -> bool {
        let locale = Locale::from_tag(tag.trim());
        if let Some(locale) = locale {
            self.chat.set_locale(locale);
        }
        locale.is_some()
    }

    /// `setTheme("dark" | "light" | "auto")`; anything else is `auto`.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&self, theme: &str) {
        self.theme.set_value(Theme::parse(Some(theme)));
        web::apply_theme(&self.root, self.theme.get_value());
    }
}

/// The brand colour's readable text colour: white or near-black. Colours
/// Rust can't read (names, `oklch()`…) are read back from the browser.
fn accent_text(container: &web_sys::HtmlElement, color: &str) -> &'static str {
    let rgb = parse_color(color).or_else(|| {
        _ = container.style().set_property("color", color);
        let computed =
            window().get_computed_style(container).ok().flatten().and_then(|s| s.get_property_value("color").ok());
        _ = container.style().remove_property("color");
        computed.as_deref().and_then(parse_color)
    });
    rgb.map_or(WHITE, text_on)
}

/// Mounts the widget into `root` (the loader's shadow root).
///
/// `config_json`: `{"widgetKey","apiBase","locale"?,"position"?,"title"?,"color"?,
/// "aiAgent"?,"theme"?,"sound"?}`.
/// `emit(type, detail)` is called with `"open"`, `"close"` and
/// `"message"` (detail: the message as the API returns it).
#[wasm_bindgen]
pub fn mount(root: &web_sys::Node, config_json: &str, emit: Option<js_sys::Function>) -> Result<Widget, JsError> {
    let config = WidgetConfig::parse(config_json).map_err(|e| JsError::new(&e))?;
    let container: web_sys::HtmlElement = document()
        .create_element("div")
        .map_err(|_| JsError::new("cannot create the widget's element"))?
        .unchecked_into();
    container.set_class_name("c360-root");
    root.append_child(&container).map_err(|_| JsError::new("cannot attach the widget"))?;
    if let Some(color) = config.accent() {
        // CSSOM, not a style attribute: allowed under a strict CSP.
        let style = container.style();
        _ = style.set_property("--c360-accent", color);
        _ = style.set_property("--c360-accent-contrast", accent_text(&container, color));
    }
    let theme = StoredValue::new(config.theme());
    web::apply_theme(&container, theme.get_value());
    let el = container.clone();
    web::on_scheme_change(move || web::apply_theme(&el, theme.get_value()));
    web::track_visual_viewport(container.clone());
    let sound = config.sound();
    let chat = Chat::new(config, emit);
    // The widget lives as long as the page: its handle is never unmounted.
    mount_to(container.clone(), move || {
        web::on_unread(chat.ui.unread, sound);
        view! { <App chat /> }
    })
    .forget();
    let root = container;
    chat.start();
    Ok(Widget { chat, root, theme })
}
