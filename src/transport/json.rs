//! Reading JSON answers into the `connect360_api` types.
//!
//! In the browser the text goes through `JSON.parse` and serde-wasm-bindgen:
//! the same serde derives as serde_json would use, without serde_json's
//! parser in the bundle (issue 11: about 10 KB brotli). Natively (the unit
//! tests) serde_json reads it, with the same derives.

use connect360_api::{TrpcSuccess, UploadResponse, UploadedFile};
use serde::de::DeserializeOwned;

/// `text` as a `T`, or why not.
#[cfg(target_arch = "wasm32")]
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    from_js(parse(text)?)
}

/// The `data` of a tRPC success (`connect360_api::TrpcSuccess`: `{"result":{"data":…}}`)
/// as a `T`, or why not.
#[cfg(target_arch = "wasm32")]
pub fn decode_data<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    decode_at(text, TrpcSuccess::<()>::DATA_PATH)
}

/// The first file of an upload's answer (`UploadResponse`: one file per
/// request), or why not.
#[cfg(target_arch = "wasm32")]
pub fn decode_first_file(text: &str) -> Result<UploadedFile, String> {
    decode_at(text, UploadResponse::FIRST_FILE_PATH)
}

/// The value at `path` in `text` (keys, or an array's index) as a `T`. In
/// the browser an answer's envelope is read in place: decoding the wire type
/// around the value would put its wrappers' decoders in the bundle once more
/// for each `T` (wasm tests hold this to what the wire types write).
#[cfg(target_arch = "wasm32")]
fn decode_at<T: DeserializeOwned>(text: &str, path: [&str; 2]) -> Result<T, String> {
    let mut value = parse(text)?;
    for key in path {
        value = js_sys::Reflect::get(&value, &key.into()).map_err(|_| format!("missing {key}"))?;
    }
    if value.is_undefined() {
        return Err(format!("missing {}", path[1]));
    }
    from_js(value)
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

#[cfg(not(target_arch = "wasm32"))]
pub fn decode_first_file(text: &str) -> Result<UploadedFile, String> {
    let answer = decode::<UploadResponse>(text)?;
    answer.files.into_iter().next().ok_or_else(|| "no file".to_owned())
}

/// `value` as JSON text (what the requests and localStorage hold).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // The wire types are structs of strings, numbers and JSON values, which
    // always serialise.
    serde_json::to_string(value).unwrap_or_default()
}
