//! The wire protocol the widget speaks, without a browser: building tRPC
//! requests and reading their answers into `Result<Output, ClientError>`.
//!
//! Queries are `GET {apiBase}/api/trpc/<path>?input=<url-encoded JSON>`,
//! mutations `POST {apiBase}/api/trpc/<path>` with a JSON body. A success is
//! `{"result":{"data":<output>}}`; a failure is an [`ErrorEnvelope`] whose
//! HTTP status is `data.httpStatus`.

use std::fmt;

use connect360_api::{
    ErrorEnvelope, ErrorShape, Procedure, ProcedureKind, WIDGET_SESSION_PATH, WidgetSession,
    WidgetSessionInput,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call failed.
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
            ClientError::Api(shape) => write!(f, "{}", shape.message),
            ClientError::Network(_) => f.write_str("Can't reach the server"),
            ClientError::Decode(why) => write!(f, "Unexpected answer from the server: {why}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// An HTTP request, ready for the browser's fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    /// JSON, sent with `content-type: application/json`.
    pub body: Option<String>,
}

/// The request of procedure `P` with `input`.
pub fn trpc_request<P: Procedure>(api_base: &str, input: &P::Input) -> HttpRequest {
    let json = to_json(input);
    let base = format!("{}/api/trpc/{}", api_base.trim_end_matches('/'), P::PATH);
    match P::KIND {
        ProcedureKind::Query => HttpRequest {
            method: Method::Get,
            url: format!("{base}?input={}", encode_uri_component(&json)),
            body: None,
        },
        ProcedureKind::Mutation => HttpRequest {
            method: Method::Post,
            url: base,
            body: Some(json),
        },
    }
}

/// The request that starts (or resumes) a visitor session.
pub fn session_request(api_base: &str, input: &WidgetSessionInput) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url: format!("{}{}", api_base.trim_end_matches('/'), WIDGET_SESSION_PATH),
        body: Some(to_json(input)),
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // The wire types are plain structs and maps with string keys.
    serde_json::to_string(value).expect("wire types serialise")
}

/// Reads a tRPC answer: `{"result":{"data":…}}` or an error envelope.
pub fn parse_trpc<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ClientError> {
    #[derive(serde::Deserialize)]
    struct Success<T> {
        result: Data<T>,
    }
    #[derive(serde::Deserialize)]
    struct Data<T> {
        data: T,
    }
    parse_with(status, body, |body| {
        from_json::<Success<T>>(body).map(|s| s.result.data)
    })
}

/// Reads the session endpoint's answer: a plain [`WidgetSession`] or an envelope.
pub fn parse_session(status: u16, body: &str) -> Result<WidgetSession, ClientError> {
    parse_with(status, body, from_json::<WidgetSession>)
}

fn parse_with<T>(
    status: u16,
    body: &str,
    success: impl FnOnce(&str) -> serde_json::Result<T>,
) -> Result<T, ClientError> {
    if (200..300).contains(&status) {
        return success(body).map_err(|e| ClientError::Decode(e.to_string()));
    }
    match from_json::<ErrorEnvelope>(body) {
        Ok(envelope) => Err(ClientError::Api(envelope.error)),
        // A gateway's own page: the API itself was not reached.
        Err(_) if matches!(status, 502..=504) => {
            Err(ClientError::Network(format!("HTTP {status}")))
        }
        Err(e) => Err(ClientError::Decode(format!("HTTP {status}: {e}"))),
    }
}

/// Reads JSON text as `T`, through one `Value`: the text parser is then
/// compiled once rather than once per type (a fifth of the widget's wasm).
pub fn from_json<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::from_str::<serde_json::Value>(text)?)
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is
/// percent-encoded, byte by byte of its UTF-8.
pub fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect360_api::procedure::{ListMessages, SendMessage};
    use connect360_api::{ErrorCode, ListMessagesInput, Message, Page};
    use serde_json::json;

    #[test]
    fn queries_are_gets_with_the_input_url_encoded() {
        let input = ListMessagesInput {
            conversation_id: "c 1&x".into(),
            limit: Some(20),
            cursor: None,
        };
        let req = trpc_request::<ListMessages>("https://chat.example.com/", &input);
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.body, None);
        assert_eq!(
            req.url,
            "https://chat.example.com/api/trpc/v1.connect.listMessages?input=\
             %7B%22conversationId%22%3A%22c%201%26x%22%2C%22limit%22%3A20%7D"
        );
    }

    #[test]
    fn mutations_are_posts_with_a_json_body() {
        let input = connect360_api::SendInput {
            conversation_id: "c1".into(),
            sender: connect360_api::SendAs::Customer,
            ..Default::default()
        };
        let req = trpc_request::<SendMessage>("https://h", &input);
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://h/api/trpc/v1.connect.send");
        let body: serde_json::Value = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"conversationId": "c1", "sender": "customer"}));
    }

    #[test]
    fn session_goes_to_the_rest_path() {
        let input = WidgetSessionInput {
            widget_key: "wk_1".into(),
            ..Default::default()
        };
        let req = session_request("https://h", &input);
        assert_eq!(req.url, "https://h/api/v1/connect/widget/session");
        assert_eq!(req.body.as_deref(), Some(r#"{"widgetKey":"wk_1"}"#));
    }

    #[test]
    fn encodes_utf8_like_encode_uri_component() {
        assert_eq!(encode_uri_component("a-b_c.d!~*'()"), "a-b_c.d!~*'()");
        assert_eq!(encode_uri_component("é /?#+"), "%C3%A9%20%2F%3F%23%2B");
    }

    #[test]
    fn success_data_is_unwrapped() {
        let body = r#"{"result":{"data":{"items":[],"nextCursor":null}}}"#;
        let page: Page<Message> = parse_trpc(200, body).unwrap();
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn error_envelopes_become_api_errors() {
        let shape = ErrorShape::new(ErrorCode::Unauthorized, "Invalid token", None);
        let body = serde_json::to_string(&ErrorEnvelope { error: shape.clone() }).unwrap();
        let err = parse_trpc::<Page<Message>>(401, &body).unwrap_err();
        assert_eq!(err, ClientError::Api(shape));
        assert!(err.is_unauthorized());
        assert!(!err.is_transient());
    }

    #[test]
    fn a_gateway_page_is_a_network_error_and_other_garbage_a_decode_error() {
        let err = parse_trpc::<Page<Message>>(502, "<html>Bad gateway</html>").unwrap_err();
        assert!(matches!(err, ClientError::Network(_)));
        assert!(err.is_transient());
        let err = parse_trpc::<Page<Message>>(400, "nope").unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)));
        let err = parse_trpc::<Page<Message>>(200, r#"{"data":{}}"#).unwrap_err();
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
        let session = parse_session(200, &body.to_string()).unwrap();
        assert_eq!(session.conversation.id, "c1");
        assert_eq!(session.channel_identifier, "shop.example.com");
    }
}
