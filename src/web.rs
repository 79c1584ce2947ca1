//! The page around the widget: its language, the system's colour scheme,
//! the visual viewport (the on-screen keyboard), the title's unread count
//! and the reply tone. Bound by hand: web-sys features not worth adding.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::theme::Theme;
use crate::unread::TitleBadge;

#[wasm_bindgen]
extern "C" {
    type MediaQueryList;
    #[wasm_bindgen(method, getter)]
    fn matches(this: &MediaQueryList) -> bool;

    type VisualViewport;
    #[wasm_bindgen(method, getter)]
    fn height(this: &VisualViewport) -> f64;
    #[wasm_bindgen(method, getter, js_name = offsetTop)]
    fn offset_top(this: &VisualViewport) -> f64;

    type AudioContext;
    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<AudioContext, JsValue>;
    #[wasm_bindgen(method, getter, js_name = currentTime)]
    fn current_time(this: &AudioContext) -> f64;
    #[wasm_bindgen(method, getter)]
    fn destination(this: &AudioContext) -> JsValue;
    #[wasm_bindgen(method)]
    fn resume(this: &AudioContext) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = createOscillator)]
    fn create_oscillator(this: &AudioContext) -> AudioNode;
    #[wasm_bindgen(method, js_name = createGain)]
    fn create_gain(this: &AudioContext) -> AudioNode;

    type AudioNode;
    #[wasm_bindgen(method)]
    fn connect(this: &AudioNode, to: &JsValue);
    #[wasm_bindgen(method, getter)]
    fn frequency(this: &AudioNode) -> AudioParam;
    #[wasm_bindgen(method, getter)]
    fn gain(this: &AudioNode) -> AudioParam;
    #[wasm_bindgen(method)]
    fn start(this: &AudioNode, at: f64);
    #[wasm_bindgen(method)]
    fn stop(this: &AudioNode, at: f64);

    type AudioParam;
    #[wasm_bindgen(method, js_name = setValueAtTime)]
    fn set_value_at_time(this: &AudioParam, value: f64, at: f64);
    #[wasm_bindgen(method, js_name = exponentialRampToValueAtTime)]
    fn ramp_to(this: &AudioParam, value: f64, at: f64);
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn listen(target: &JsValue, event: &str, f: impl Fn() + 'static) {
    let closure = Closure::<dyn Fn()>::new(f);
    _ = target
        .unchecked_ref::<web_sys::EventTarget>()
        .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    // Kept for the page's life, as the widget is.
    closure.forget();
}

/// The page's language, `<html lang>`.
pub fn page_lang() -> Option<String> {
    document().document_element()?.get_attribute("lang").filter(|l| !l.trim().is_empty())
}

fn dark_query() -> Option<JsValue> {
    get(&window(), "matchMedia")
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&window(), &"(prefers-color-scheme: dark)".into()).ok())
        .filter(|q| q.is_object())
}

/// `data-theme="dark"` or `"light"` on `el`, as `theme` and the system say.
pub fn apply_theme(el: &web_sys::Element, theme: Theme) {
    let system_dark = dark_query().is_some_and(|q| q.unchecked_ref::<MediaQueryList>().matches());
    let dark = theme.is_dark(system_dark);
    _ = el.set_attribute("data-theme", if dark { "dark" } else { "light" });
}

/// Calls `f` whenever the system's light/dark preference changes.
pub fn on_scheme_change(f: impl Fn() + 'static) {
    if let Some(query) = dark_query() {
        listen(&query, "change", f);
    }
}

/// Keeps `--c360-vv-top` and `--c360-vv-height` on `el` to the visual
/// viewport: the part of the page the on-screen keyboard leaves visible.
/// A full-screen panel (small screens) sizes itself with them.
pub fn track_visual_viewport(el: web_sys::HtmlElement) {
    let Some(vv) = get(&window(), "visualViewport") else {
        return;
    };
    let update = {
        let vv = vv.clone();
        move || {
            let vv = vv.unchecked_ref::<VisualViewport>();
            let style = el.style();
            // Whole pixels: formatting an f64 would add its code to the bundle.
            let (top, height) = (vv.offset_top().round() as i32, vv.height().floor() as i32);
            _ = style.set_property("--c360-vv-top", &format!("{top}px"));
            _ = style.set_property("--c360-vv-height", &format!("{height}px"));
        }
    };
    update();
    let on_scroll = update.clone();
    listen(&vv, "resize", update);
    listen(&vv, "scroll", on_scroll);
}

/// "(n) " before `document.title` while `unread` replies wait (the title
/// comes back as it was once they are read) and, with `sound`, a tone each
/// time the count grows.
pub fn on_unread(unread: RwSignal<u32>, sound: bool) {
    let badge = StoredValue::new(TitleBadge::default());
    let chime = sound.then(chime);
    Effect::new(move |before: Option<u32>| {
        let n = unread.get();
        let current = document().title();
        if let Some(title) = badge.try_update_value(|b| b.update(&current, n)).flatten() {
            document().set_title(&title);
        }
        if let Some(chime) = &chime
            && before.is_some_and(|b| n > b)
        {
            chime();
        }
        n
    });
}

/// Whether the visitor has used the page yet (clicked, typed): before
/// that, no sound.
fn had_gesture() -> bool {
    get(&window().navigator(), "userActivation")
        .and_then(|a| get(&a, "hasBeenActive"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// What plays a tone, made with WebAudio (no audio file), only once the
/// visitor has used the page.
fn chime() -> impl Fn() {
    let context = StoredValue::new_local(None::<AudioContext>);
    let unlock = move || {
        if context.with_value(Option::is_none) && had_gesture() {
            context.set_value(AudioContext::new().ok());
        }
        context.with_value(|c| {
            if let Some(c) = c {
                _ = c.resume();
            }
        });
    };
    // Browsers start audio only from a gesture: be ready from the first one.
    for event in ["pointerdown", "keydown"] {
        listen(&window(), event, unlock);
    }
    move || {
        if had_gesture() {
            unlock();
            context.with_value(|c| c.as_ref().map(tone));
        }
    }
}

/// Two short notes, soft, 0.3 s.
fn tone(ctx: &AudioContext) {
    let now = ctx.current_time();
    let osc = ctx.create_oscillator();
    let gain = ctx.create_gain();
    osc.frequency().set_value_at_time(880.0, now);
    osc.frequency().set_value_at_time(1320.0, now + 0.09);
    gain.gain().set_value_at_time(0.0001, now);
    gain.gain().ramp_to(0.12, now + 0.02);
    gain.gain().ramp_to(0.0001, now + 0.3);
    osc.connect(&gain);
    gain.connect(&ctx.destination());
    osc.start(now);
    osc.stop(now + 0.32);
}
