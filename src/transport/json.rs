//! Reading JSON answers into the `connect360_api` types.
//!
//! In the browser the text goes through `JSON.parse` and serde-wasm-bindgen:
//! the same serde derives as serde_json would use, without serde_json's
//! parser in the bundle (issue 11: about 10 KB brotli). Natively (the unit
//! tests) serde_json reads it, with the same derives.

use serde::de::DeserializeOwned;

/// `text` as a `T`, or why not.
#[cfg(target_arch = "wasm32")]
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|_| "invalid JSON".to_owned())?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// `value` as JSON text (what the requests and localStorage hold).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // The wire types are structs of strings, numbers and JSON values, which
    // always serialise.
    serde_json::to_string(value).unwrap_or_default()
}
