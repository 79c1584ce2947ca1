//! Why a call failed: the one error type of the transport.

use std::fmt;

use connect360_api::{ErrorEnvelope, ErrorShape};
use serde::de::DeserializeOwned;

use super::json::{decode, decode_data};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered with an error envelope.
    Api(ErrorShape),
    /// The server could not be reached (or a proxy answered in its place).
    Network(String),
    /// The answer could not be read.
    Decode(String),
}

impl ClientError {
    /// Whether sending the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Api(shape) => shape.data.code.is_transient(),
            ClientError::Network(_) => true,
            ClientError::Decode(_) => false,
        }
    }

    /// Whether the visitor token was refused (a new session is needed).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ClientError::Api(shape) if shape.data.http_status == 401)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api(shape) => f.write_str(&shape.message),
            ClientError::Network(_) => f.write_str("Can't reach the server"),
            ClientError::Decode(why) => {
                f.write_str("Unexpected answer from the server: ")?;
                f.write_str(why)
            }
        }
    }
}

/// Reads an answer of the plain JSON endpoints (session): `T` on a 2xx, else
/// the refusal.
pub fn read_plain<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ClientError> {
    read(status, body, decode)
}

/// Reads a tRPC answer: `{"result":{"data":…}}` or an error envelope.
pub fn read_trpc<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ClientError> {
    read(status, body, decode_data)
}

fn read<T>(status: u16, body: &str, decode: fn(&str) -> Result<T, String>) -> Result<T, ClientError> {
    if (200..300).contains(&status) { decode(body).map_err(ClientError::Decode) } else { Err(refusal(status, body)) }
}

/// Why a request was refused (a status outside 2xx): the error envelope the
/// API answers, or what else came.
pub fn refusal(status: u16, body: &str) -> ClientError {
    match decode::<ErrorEnvelope>(body) {
        Ok(envelope) => ClientError::Api(envelope.error),
        // A gateway's own page: the API itself was not reached.
        Err(_) if matches!(status, 502..=504) => ClientError::Network(format!("HTTP {status}")),
        Err(e) => ClientError::Decode(format!("HTTP {status}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect360_api::{ErrorCode, Message, Page, WidgetSession};
    use serde_json::json;

    #[test]
    fn success_data_is_unwrapped() {
        let body = r#"{"result":{"data":{"items":[],"nextCursor":null}}}"#;
        let page: Page<Message> = read_trpc(200, body).unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn error_envelopes_become_api_errors() {
        let shape = ErrorShape::new(ErrorCode::Unauthorized, "Invalid token", None);
        let body = serde_json::to_string(&ErrorEnvelope { error: shape.clone() }).unwrap();
        let err = read_trpc::<Page<Message>>(401, &body).unwrap_err();
        assert_eq!(err, ClientError::Api(shape));
        assert!(err.is_unauthorized());
        assert!(!err.is_transient());
    }

    #[test]
    fn a_gateway_page_is_a_network_error_and_other_garbage_a_decode_error() {
        let err = read_trpc::<Page<Message>>(502, "<html>Bad gateway</html>").unwrap_err();
        assert!(matches!(err, ClientError::Network(_)));
        assert!(err.is_transient());
        let err = read_trpc::<Page<Message>>(400, "nope").unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)));
        let err = read_trpc::<Page<Message>>(200, r#"{"data":{}}"#).unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)));
    }

    #[test]
    fn session_answers_are_plain_json() {
        let body = json!({
            "token": "t", "expiresAt": "2026-01-01T00:00:00.000Z",
            "customer": {"id": "cu1", "externalId": "g1", "name": null},
            "conversation": {"id": "c1", "name": null, "type": "DIRECT", "parentId": null,
                "customerId": "cu1", "memberIds": [], "channels": [], "metadata": {},
                "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"},
            "channelIdentifier": "shop.example.com"
        });
        let session: WidgetSession = read_plain(200, &body.to_string()).unwrap();
        assert_eq!(session.conversation.id, "c1");
        assert_eq!(session.channel_identifier, "shop.example.com");
    }
}
