//! What the loader calls: `mount(root, configJson, emit)` and the handle it
//! returns (`open`, `close`, `toggle`, `identify`).

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::app::App;
use crate::chat::Chat;
use crate::config::WidgetConfig;
use crate::session::Identity;

/// The mounted widget, as JavaScript holds it.
#[wasm_bindgen]
pub struct Widget {
    chat: Chat,
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
        let identity = crate::protocol::from_json::<Identity>(identity_json);
        let taken = identity.is_ok();
        if let Ok(identity) = identity {
            self.chat.identify(identity);
        }
        taken
    }
}

/// Mounts the widget into `root` (the loader's shadow root).
///
/// `config_json`: `{"widgetKey","apiBase","locale"?,"position"?,"title"?,"color"?}`.
/// `emit(type, detail)` is called with `"open"`, `"close"` and
/// `"message"` (detail: the message as the API returns it).
#[wasm_bindgen]
pub fn mount(
    root: &web_sys::Node,
    config_json: &str,
    emit: Option<js_sys::Function>,
) -> Result<Widget, JsError> {
    let config = WidgetConfig::parse(config_json).map_err(|e| JsError::new(&e))?;
    let container: web_sys::HtmlElement = document()
        .create_element("div")
        .map_err(|_| JsError::new("cannot create the widget's element"))?
        .unchecked_into();
    container.set_class_name("c360-root");
    if let Some(color) = config.accent() {
        // CSSOM, not a style attribute: allowed under a strict CSP.
        _ = container.style().set_property("--c360-accent", color);
    }
    root.append_child(&container)
        .map_err(|_| JsError::new("cannot attach the widget"))?;
    let chat = Chat::new(config, emit);
    mount_to(container, move || view! { <App chat /> }).forget();
    chat.start();
    Ok(Widget { chat })
}
