//! The `Last-Event-ID` header, one rule for every event stream.
//!
//! A browser's `EventSource` sends the id of the last event it got when it
//! reconnects, and no header at all while that id is empty (the SSE spec's
//! "last event ID string"). An empty value is therefore taken as what it
//! means to a browser, no id yet, and the stream starts from now, whichever
//! client sent it; anything else must be a well-formed message id (400
//! otherwise), and the store checks it is one of the topic's.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use connect360_api::LAST_EVENT_ID;

use crate::error::ApiError;
use crate::validate;

/// The message id a client resumes after; `None` starts from now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEventId(Option<String>);

impl LastEventId {
    /// The name errors give the header.
    pub const FIELD: &str = "Last-Event-ID";

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    fn parse(value: Option<&axum::http::HeaderValue>) -> Result<Self, ApiError> {
        let Some(value) = value else { return Ok(LastEventId(None)) };
        let value = value.to_str().map_err(|_| ApiError::invalid(Self::FIELD, "must be a message id"))?.trim();
        match value.is_empty() {
            true => Ok(LastEventId(None)),
            false => validate::id(Self::FIELD, value).map(|id| LastEventId(Some(id))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        LastEventId::parse(parts.headers.get(LAST_EVENT_ID))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn absent_or_empty_is_none_and_anything_else_must_be_an_id() {
        assert_eq!(LastEventId::parse(None).unwrap(), LastEventId(None));
        assert_eq!(LastEventId::parse(Some(&HeaderValue::from_static(""))).unwrap(), LastEventId(None));
        assert_eq!(LastEventId::parse(Some(&HeaderValue::from_static("  "))).unwrap(), LastEventId(None));
        assert_eq!(
            LastEventId::parse(Some(&HeaderValue::from_static(" msg_1 "))).unwrap(),
            LastEventId(Some("msg_1".into()))
        );
        let not_text = HeaderValue::from_bytes(b"msg_\xff").unwrap();
        assert_eq!(LastEventId::parse(Some(&not_text)).unwrap_err().message, "Last-Event-ID: must be a message id");
        let too_long = HeaderValue::from_str(&"m".repeat(10_000)).unwrap();
        assert!(LastEventId::parse(Some(&too_long)).unwrap_err().message.starts_with("Last-Event-ID: "));
    }
}
