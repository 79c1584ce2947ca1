//! A request's JSON input, decoded so that a bad one names its field:
//! `content.fr: unknown locale…`. The tRPC route reads its inputs from the
//! query (`?input=`, `?batch=1`) or the body itself and decodes each with
//! [`decode`]; the REST routes take a JSON body with [`Input`]. The text is
//! checked as JSON once, then decoded straight into the input type, with no
//! `serde_json::Value` in between.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use connect360_api::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// A JSON object body decoded into `T`. The body is read whatever its
/// content-type, as the widget's plain `fetch` calls have always been.
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Input<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(req, state).await.map_err(|err| match err.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ErrorCode::PayloadTooLarge, err.body_text()),
            _ => ApiError::invalid("body", format!("could not be read: {}", err.body_text())),
        })?;
        let raw: &RawValue = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(ErrorCode::ParseError, format!("Body is not valid JSON: {e}")))?;
        decode(Some(raw)).map(Input)
    }
}

/// Decodes an input (JSON text already checked to be valid), naming the field at fault.
pub fn decode<T: DeserializeOwned>(raw: Option<&RawValue>) -> Result<T, ApiError> {
    let text = match raw.map(RawValue::get) {
        Some(text) if text.starts_with('{') => text,
        None | Some("null") => return Err(ApiError::invalid("input", "required: a JSON object")),
        Some(_) => return Err(ApiError::invalid("input", "must be a JSON object")),
    };
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(|err| {
        let path = err.path().to_string();
        let message = without_position(err.inner());
        let (field, rule) = describe(&path, &message);
        ApiError::invalid(field, rule)
    })
}

/// The error's text without the ` at line 1 column 42` that decoding text
/// adds: the field's path says where, as it did when inputs were decoded
/// from `serde_json::Value`s.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// Rewrites serde's wording for fields into `field: rule`.
fn describe(path: &str, message: &str) -> (String, String) {
    let join = |name: &str| if path == "." { name.to_owned() } else { format!("{path}.{name}") };
    let quoted = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_owned);
    if let Some(name) = quoted("missing field `") {
        return (join(&name), "required".into());
    }
    // serde_path_to_error's path already ends with an unknown field's name.
    if message.starts_with("unknown field `") {
        return (path.to_owned(), "unknown field".into());
    }
    let field = if path == "." { "input".to_owned() } else { path.to_owned() };
    (field, message.to_owned())
}

#[cfg(test)]
mod tests {
    use connect360_api as api;
    use serde_json::{Value, json};

    use super::*;

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    fn error_of(value: Value) -> String {
        decode::<api::SendInput>(Some(&raw(value))).unwrap_err().message
    }

    #[test]
    fn decode_names_the_field_and_rule() {
        assert_eq!(error_of(json!({})), "conversationId: required");
        assert_eq!(error_of(json!({"conversationId": "c", "contnt": {}})), "contnt: unknown field");
        assert_eq!(
            error_of(json!({"conversationId": "c", "content": {"fr": "Bonjour"}})),
            "content.fr: unknown locale \"fr\"; expected en, ar or tr"
        );
        assert!(error_of(json!({"conversationId": 5})).starts_with("conversationId: invalid type: integer `5`"));
        assert!(error_of(json!({"conversationId": "c", "sender": "bot"})).starts_with("sender: unknown variant `bot`"));
        assert_eq!(error_of(json!({"conversationId": "c", "customer": {"x": 1}})), "customer.x: unknown field");
    }

    #[test]
    fn decode_wants_an_object() {
        assert_eq!(decode::<api::SendInput>(None).unwrap_err().message, "input: required: a JSON object");
        assert_eq!(
            decode::<api::SendInput>(Some(&raw(json!([1])))).unwrap_err().message,
            "input: must be a JSON object"
        );
    }
}
