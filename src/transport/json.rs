//! Reading JSON answers into the `connect360_api` types.
//!
//! In the browser the text goes through `JSON.parse` and serde-wasm-bindgen:
//! the same serde derives as serde_json would use, without serde_json's
//! parser in the bundle (issue 11: about 10 KB brotli). Natively (the unit
//! tests) serde_json reads it, with the same derives.

#[cfg(not(target_arch = "wasm32"))]
use connect360_api::TrpcSuccess;
use serde::de::DeserializeOwned;

/// `text` as a `T`, or why not.
#[cfg(target_arch = "wasm32")]
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    from_js(parse(text)?)
}

/// The `data` of a tRPC success (`connect360_api::TrpcSuccess`: `{"result":{"data":…}}`)
/// as a `T`, or why not. In the browser the envelope is read in place:
/// decoding a `TrpcSuccess<T>` would put its two wrappers' decoders in the
/// bundle once more for each procedure's `T` (a wasm test holds this to the
/// wire type).
#[cfg(target_arch = "wasm32")]
pub fn decode_data<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    use js_sys::Reflect;
    let data = Reflect::get(&parse(text)?, &"result".into()).and_then(|result| Reflect::get(&result, &"data".into()));
    match data {
        Ok(data) if !data.is_undefined() => from_js(data),
        _ => Err("missing field `result.data`".to_owned()),
    }
}

#[cfg(target_arch = "wasm32")]
fn parse(text: &str) -> Result<wasm_bindgen::JsValue, String> {
    js_sys::JSON::parse(text).map_err(|_| "invalid JSON".to_owned())
}

#[cfg(target_arch = "wasm32")]
fn from_js<T: DeserializeOwned>(value: wasm_bindgen::JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn decode_data<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    decode::<TrpcSuccess<T>>(text).map(|s| s.result.data)
}

/// `value` as JSON text (what the requests and localStorage hold).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // The wire types are structs of strings, numbers and JSON values, which
    // always serialise.
    serde_json::to_string(value).unwrap_or_default()
}
