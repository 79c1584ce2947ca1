//! Small wrappers over the browser: storage, randomness, dates.

use js_sys::{Date, Object, Reflect};
use leptos::prelude::{document, window};
use wasm_bindgen::{JsCast, JsValue};

/// localStorage of the host page; `None` where it is blocked.
fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn save(key: &str, value: &str) {
    if let Some(s) = storage() {
        _ = s.set_item(key, value);
    }
}

pub fn remove(key: &str) {
    if let Some(s) = storage() {
        _ = s.remove_item(key);
    }
}

/// 16 random bytes from `crypto.getRandomValues` (unlike `randomUUID`, also
/// on plain-http pages).
pub fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if let Ok(crypto) = window().crypto() {
        _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    if bytes == [0; 16] {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
}

pub fn languages() -> Vec<String> {
    window().navigator().languages().iter().filter_map(|v| v.as_string()).collect()
}

/// Whether the visitor asked for less motion (`prefers-reduced-motion`).
pub fn reduced_motion() -> bool {
    let window: JsValue = window().into();
    Reflect::get(&window, &"matchMedia".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&window, &"(prefers-reduced-motion: reduce)".into()).ok())
        .and_then(|list| Reflect::get(&list, &"matches".into()).ok())
        .is_some_and(|m| m.is_truthy())
}

pub fn hidden() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Hidden
}

/// The local calendar day of an RFC 3339 instant (or of now), as `yyyymmdd`.
pub fn local_day(at: Option<&str>) -> u32 {
    day_key(&parse(at))
}

fn day_key(date: &Date) -> u32 {
    date.get_full_year() * 10_000 + (date.get_month() + 1) * 100 + date.get_date()
}

/// [`local_day`] of yesterday.
pub fn yesterday() -> u32 {
    let date = Date::new_0();
    date.set_date(date.get_date() - 1);
    day_key(&date)
}

fn parse(at: Option<&str>) -> Date {
    match at {
        Some(at) => Date::new(&JsValue::from_str(at)),
        None => Date::new_0(),
    }
}

fn options(pairs: &[(&str, &str)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        _ = Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o
}

/// `14:05` in the reader's locale.
pub fn format_time(at: &str, locale: &str) -> String {
    parse(Some(at))
        .to_locale_time_string_with_options(locale, &options(&[("hour", "2-digit"), ("minute", "2-digit")]))
        .into()
}

/// `Mon, 24 Nov` (with the year when it is not this year's).
pub fn format_day(at: &str, locale: &str) -> String {
    let date = parse(Some(at));
    let mut pairs = vec![("weekday", "short"), ("day", "numeric"), ("month", "short")];
    if date.get_full_year() != Date::new_0().get_full_year() {
        pairs.push(("year", "numeric"));
    }
    date.to_locale_date_string(locale, &options(&pairs)).into()
}

/// Resolves at the next animation frame: after the reactive system has
/// updated the DOM (it does so in microtasks) and before the browser paints.
pub async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        _ = window().request_animation_frame(&resolve);
    });
    _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Resolves after `duration`.
pub async fn sleep(duration: std::time::Duration) {
    let ms = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
