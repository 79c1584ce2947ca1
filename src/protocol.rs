//! The wire protocol the widget speaks, without a browser: building tRPC
//! requests and reading their answers into `Result<Output, ClientError>`.
//!
//! Queries are `GET {apiBase}/api/trpc/<path>?input=<url-encoded JSON>`,
//! mutations `POST {apiBase}/api/trpc/<path>` with a JSON body. A success is
//! `{"result":{"data":<output>}}`; a failure is an [`ErrorEnvelope`] whose
//! HTTP status is `data.httpStatus`.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use connect360_api::{
    AiDelta, AiIdle, AiRequest, AiStart, AiStreamEvent, AiStreamInput, Attachment, Channel, ChannelType, Conversation, ConversationType, CustomerInput,
    ErrorCode, ErrorData, ErrorEnvelope, ErrorShape, HandOffInput, ListMessagesInput, Locale, Message, Page,
    Procedure, ProcedureKind, SendAs, SendInput, Sender, SenderType, SessionCustomer,
    UploadResponse, UploadedFile, WIDGET_SESSION_PATH, WidgetSession, WidgetSessionInput,
};
use serde_json::{Map, Number, Value};

use crate::session::{Identity, StoredSession};

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
            ClientError::Api(shape) => f.write_str(&shape.message),
            ClientError::Network(_) => f.write_str("Can't reach the server"),
            ClientError::Decode(why) => {
                f.write_str("Unexpected answer from the server: ")?;
                f.write_str(why)
            }
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
pub fn trpc_request<P: Procedure>(api_base: &str, input: &P::Input) -> HttpRequest
where
    P::Input: ToJson,
{
    let json = to_json(input);
    let mut url = api_base.trim_end_matches('/').to_owned();
    url.push_str("/api/trpc/");
    url.push_str(P::PATH);
    match P::KIND {
        ProcedureKind::Query => {
            url.push_str("?input=");
            url.push_str(&encode_uri_component(&json));
            HttpRequest {
                method: Method::Get,
                url,
                body: None,
            }
        }
        ProcedureKind::Mutation => HttpRequest {
            method: Method::Post,
            url,
            body: Some(json),
        },
    }
}

/// The request that starts (or resumes) a visitor session.
pub fn session_request(api_base: &str, input: &WidgetSessionInput) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url: api_base.trim_end_matches('/').to_owned() + WIDGET_SESSION_PATH,
        body: Some(to_json(input)),
    }
}

/// Reads a tRPC answer: `{"result":{"data":…}}` or an error envelope.
pub fn parse_trpc<T: FromJson>(status: u16, body: &str) -> Result<T, ClientError> {
    parse_with(status, body, |body| {
        let mut success = object(parse_json(body)?)?;
        let mut result = object(take(&mut success, "result")?)?;
        take(&mut result, "data")
    })
}

/// Reads the session endpoint's answer: a plain [`WidgetSession`] or an envelope.
pub fn parse_session(status: u16, body: &str) -> Result<WidgetSession, ClientError> {
    parse_with(status, body, from_json::<WidgetSession>)
}

fn parse_with<T>(
    status: u16,
    body: &str,
    success: impl FnOnce(&str) -> Result<T, JsonError>,
) -> Result<T, ClientError> {
    if (200..300).contains(&status) {
        return success(body).map_err(|e| ClientError::Decode(e.to_string()));
    }
    Err(refusal(status, body))
}

/// Why a request was refused (a status outside 2xx): the error envelope the
/// API answers, or what else came.
pub fn refusal(status: u16, body: &str) -> ClientError {
    match from_json::<ErrorEnvelope>(body) {
        Ok(envelope) => ClientError::Api(envelope.error),
        // A gateway's own page: the API itself was not reached.
        Err(_) if matches!(status, 502..=504) => ClientError::Network(format!("HTTP {status}")),
        Err(e) => ClientError::Decode(format!("HTTP {status}: {e}")),
    }
}

/// An event of the AI reply stream from its SSE `event:` name and `data:`
/// (the api crate's `AiStreamEvent::name` and `data`); `None` for an unknown
/// name, which a newer server may send and a client skips.
pub fn ai_stream_event(name: &str, data: &str) -> Option<Result<AiStreamEvent, JsonError>> {
    let read = |data: &str| -> Result<AiStreamEvent, JsonError> {
        let mut map = object(parse_json(data)?)?;
        Ok(match name {
            "start" => AiStreamEvent::Start(AiStart { sender: take(&mut map, "sender")? }),
            "delta" => AiStreamEvent::Delta(AiDelta { text: take(&mut map, "text")? }),
            "message" => AiStreamEvent::Message(Box::new(Message::from_json(Value::Object(map))?)),
            _ => AiStreamEvent::Idle(AiIdle {}),
        })
    };
    matches!(name, "start" | "delta" | "message" | "idle").then(|| read(data))
}

// --- JSON ----------------------------------------------------------------
//
// The widget reads and writes its few wire types by hand rather than through
// serde: serde_json's parser and the derived visitors were a fifth of the
// widget's WebAssembly. The wire format is the server's serde one (the tests
// check both against each other): struct fields in declaration order, `None`
// skipped where the API type skips it, unknown fields ignored when reading.

/// Why JSON text could not be read as the type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// The innermost field that was missing or of the wrong type; `""` for
    /// text that is not JSON at all.
    field: &'static str,
}

const SYNTAX: JsonError = JsonError { field: "" };
const INVALID: JsonError = JsonError { field: "?" };

impl JsonError {
    fn at(self, field: &'static str) -> JsonError {
        if self.field == "?" { JsonError { field } } else { self }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            "" => f.write_str("invalid JSON"),
            "?" => f.write_str("invalid value"),
            field => {
                f.write_str("missing or invalid field `")?;
                f.write_str(field)?;
                f.write_str("`")
            }
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads JSON text as `T`.
pub fn from_json<T: FromJson>(text: &str) -> Result<T, JsonError> {
    T::from_json(parse_json(text)?)
}

/// Writes `value` as JSON text.
pub fn to_json<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    value.write_json(&mut out);
    out
}

/// JSON text as a [`Value`] (RFC 8259; nesting up to 128 deep, as serde_json).
pub fn parse_json(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser { text, at: 0 };
    let value = p.value(0)?;
    match p.peek() {
        None => Ok(value),
        Some(_) => Err(SYNTAX),
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn byte(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// The next byte that is not whitespace.
    fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.byte() {
            self.at += 1;
        }
        self.byte()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.at += found as usize;
        found
    }

    fn value(&mut self, depth: u32) -> Result<Value, JsonError> {
        if depth > 128 {
            return Err(SYNTAX);
        }
        let Some(first) = self.peek() else {
            return Err(SYNTAX);
        };
        if first == b'{' || first == b'[' {
            self.at += 1;
            let close = first + 2; // `}` or `]`
            let mut map = Map::new();
            let mut list = Vec::new();
            if !self.eat(close) {
                loop {
                    if first == b'{' {
                        if self.peek() != Some(b'"') {
                            return Err(SYNTAX);
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(SYNTAX);
                        }
                        map.insert(key, self.value(depth + 1)?);
                    } else {
                        list.push(self.value(depth + 1)?);
                    }
                    if self.eat(close) {
                        break;
                    }
                    if !self.eat(b',') {
                        return Err(SYNTAX);
                    }
                }
            }
            return Ok(if first == b'{' { Value::Object(map) } else { Value::Array(list) });
        }
        if first == b'"' {
            return self.string().map(Value::String);
        }
        for (word, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.text[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        self.number()
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while self.byte().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - from
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let from = self.at;
        let negative = self.byte() == Some(b'-');
        self.at += negative as usize;
        let int_from = self.at;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.text.as_bytes()[int_from] == b'0') {
            return Err(SYNTAX);
        }
        let mut integer = true;
        if self.byte() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(SYNTAX);
            }
        }
        if let Some(b'e' | b'E') = self.byte() {
            self.at += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.byte() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(SYNTAX);
            }
        }
        let text = &self.text[from..self.at];
        if integer {
            let magnitude = self.text[int_from..self.at]
                .bytes()
                .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add((d - b'0') as u64));
            match (negative, magnitude) {
                (false, Some(n)) => return Ok(Value::Number(n.into())),
                (true, Some(n)) if n <= i64::MAX as u64 + 1 => {
                    return Ok(Value::Number((n as i64).wrapping_neg().into()));
                }
                _ => {}
            }
        }
        Number::from_f64(parse_float(text))
            .map(Value::Number)
            .ok_or(SYNTAX)
    }

    /// A string; the cursor is on its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let from = self.at;
            while self.byte().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.push_str(&self.text[from..self.at]);
            match self.byte() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 2;
                    let c = match self.text.as_bytes().get(self.at - 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) {
                                // A surrogate pair: `\uD83D\uDE00`.
                                if !self.text[self.at..].starts_with("\\u") {
                                    return Err(SYNTAX);
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(SYNTAX);
                                }
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                            char::from_u32(code).ok_or(SYNTAX)?
                        }
                        _ => return Err(SYNTAX),
                    };
                    out.push(c);
                }
                // The end of the text, or a control character.
                _ => return Err(SYNTAX),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.text.get(self.at..self.at + 4).ok_or(SYNTAX)?;
        self.at += 4;
        digits.bytes().try_fold(0, |n, d| Some(n * 16 + (d as char).to_digit(16)?)).ok_or(SYNTAX)
    }
}

/// A JSON number that is not an integer (rare on this wire: only in content).
fn parse_float(text: &str) -> f64 {
    // The browser's parser: Rust's would add its tables to the widget.
    #[cfg(target_arch = "wasm32")]
    return js_sys::parse_float(text);
    #[cfg(not(target_arch = "wasm32"))]
    return text.parse().unwrap_or(f64::NAN);
}

/// A type read from a JSON [`Value`].
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, JsonError>;
}

/// The object that `value` is.
pub fn object(value: Value) -> Result<Map<String, Value>, JsonError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(INVALID),
    }
}

/// Field `key` of an object, as serde's derive reads it: a missing field is
/// `null` (so `None` for an `Option`, an error for anything else).
pub fn take<T: FromJson>(map: &mut Map<String, Value>, key: &'static str) -> Result<T, JsonError> {
    // Taken in place: removing would add the map's rebalancing code.
    let value = map.get_mut(key).map(Value::take).unwrap_or(Value::Null);
    T::from_json(value).map_err(|e| e.at(key))
}

fn string(value: Value) -> Result<String, JsonError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(INVALID),
    }
}

/// `value` as one of `names`, a string: its index.
fn one_of(value: Value, names: &[&str]) -> Result<usize, JsonError> {
    let name = string(value)?;
    names.iter().position(|n| *n == name).ok_or(INVALID)
}

fn unsigned(value: Value) -> Result<u64, JsonError> {
    match value {
        Value::Number(n) => n.as_u64().ok_or(INVALID),
        _ => Err(INVALID),
    }
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        Ok(value)
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        string(value)
    }
}

impl FromJson for u64 {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        unsigned(value)
    }
}

impl FromJson for u16 {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        u16::try_from(unsigned(value)?).map_err(|_| INVALID)
    }
}

impl FromJson for i32 {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or(INVALID),
            _ => Err(INVALID),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        match value {
            Value::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        let Value::Array(items) = value else {
            return Err(INVALID);
        };
        // A loop, not `collect`: that would add an adapter per item type.
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(T::from_json(item)?);
        }
        Ok(out)
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        object(value)
    }
}

/// `Content`: each key an exact locale code.
impl FromJson for BTreeMap<Locale, Value> {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        // Inserted one by one: collecting would sort, and add a sort to the widget.
        let mut content = BTreeMap::new();
        for (code, text) in object(value)? {
            let locale = Locale::ALL.into_iter().find(|l| l.as_str() == code);
            content.insert(locale.ok_or(INVALID)?, text);
        }
        Ok(content)
    }
}

impl FromJson for SenderType {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        let kinds = [SenderType::Workspace, SenderType::Customer, SenderType::Ai];
        Ok(kinds[one_of(value, &["workspace", "customer", "ai"])?])
    }
}

impl FromJson for ChannelType {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        one_of(value, &["website"]).map(|_| ChannelType::Website)
    }
}

impl FromJson for ConversationType {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        let kinds = [ConversationType::Direct, ConversationType::Group];
        Ok(kinds[one_of(value, &["DIRECT", "GROUP"])?])
    }
}

const ERROR_CODES: [(ErrorCode, &str); 11] = [
    (ErrorCode::ParseError, "PARSE_ERROR"),
    (ErrorCode::BadRequest, "BAD_REQUEST"),
    (ErrorCode::Unauthorized, "UNAUTHORIZED"),
    (ErrorCode::Forbidden, "FORBIDDEN"),
    (ErrorCode::NotFound, "NOT_FOUND"),
    (ErrorCode::MethodNotSupported, "METHOD_NOT_SUPPORTED"),
    (ErrorCode::Conflict, "CONFLICT"),
    (ErrorCode::PayloadTooLarge, "PAYLOAD_TOO_LARGE"),
    (ErrorCode::UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (ErrorCode::TooManyRequests, "TOO_MANY_REQUESTS"),
    (ErrorCode::InternalServerError, "INTERNAL_SERVER_ERROR"),
];

impl FromJson for ErrorCode {
    fn from_json(value: Value) -> Result<Self, JsonError> {
        let name = string(value)?;
        ERROR_CODES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c).ok_or(INVALID)
    }
}

/// The `FromJson` of a struct whose fields are all read with [`take`].
macro_rules! from_json_struct {
    ($ty:ident $(<$param:ident>)? { $($field:ident: $key:literal),* $(,)? }) => {
        impl$(<$param: FromJson>)? FromJson for $ty$(<$param>)? {
            fn from_json(value: Value) -> Result<Self, JsonError> {
                let mut map = object(value)?;
                Ok($ty { $($field: take(&mut map, $key)?),* })
            }
        }
    };
}

from_json_struct!(ErrorEnvelope { error: "error" });
from_json_struct!(ErrorShape { message: "message", code: "code", data: "data" });
from_json_struct!(ErrorData { code: "code", http_status: "httpStatus", path: "path" });
from_json_struct!(Page<T> { items: "items", next_cursor: "nextCursor" });
from_json_struct!(Sender { kind: "type", id: "id", name: "name", image: "image" });
from_json_struct!(Channel { id: "id", kind: "type", identifier: "identifier" });
from_json_struct!(Attachment { id: "id", name: "name", media_type: "type", size: "size", url: "url" });
from_json_struct!(Message {
    id: "id",
    conversation_id: "conversationId",
    content: "content",
    attachments: "attachments",
    sender: "sender",
    parent_id: "parentId",
    flags: "flags",
    template_id: "templateId",
    channel: "channel",
    created_at: "createdAt",
});
from_json_struct!(Conversation {
    id: "id",
    name: "name",
    kind: "type",
    parent_id: "parentId",
    customer_id: "customerId",
    member_ids: "memberIds",
    channels: "channels",
    metadata: "metadata",
    ai_stopped_at: "aiStoppedAt",
    created_at: "createdAt",
    updated_at: "updatedAt",
});
from_json_struct!(SessionCustomer { id: "id", external_id: "externalId", name: "name" });
from_json_struct!(WidgetSession {
    token: "token",
    expires_at: "expiresAt",
    customer: "customer",
    conversation: "conversation",
    channel_identifier: "channelIdentifier",
});
from_json_struct!(UploadResponse { files: "files" });
from_json_struct!(UploadedFile {
    id: "id",
    name: "name",
    s3_key: "s3Key",
    media_type: "type",
    url: "url",
    size: "size",
});
from_json_struct!(StoredSession { external_id: "externalId", token: "token" });
from_json_struct!(Identity {
    external_id: "externalId",
    name: "name",
    email: "email",
    user_hash: "userHash",
});

/// A type written as JSON text.
pub trait ToJson {
    fn write_json(&self, out: &mut String);
}

/// Writes `s` as a JSON string, escaped as serde_json does.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[c as usize >> 4] as char);
                out.push(HEX[c as usize & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for u64 {
    fn write_json(&self, out: &mut String) {
        _ = write!(out, "{self}");
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        _ = write!(out, "{self}");
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(value) => value.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl ToJson for Value {
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => _ = write!(out, "{n}"),
            Value::String(s) => write_str(out, s),
            Value::Array(items) => items.write_json(out),
            Value::Object(map) => map.write_json(out),
        }
    }
}

impl ToJson for Map<String, Value> {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        for (key, value) in self {
            o.field(key, value);
        }
        o.end();
    }
}

impl ToJson for BTreeMap<Locale, Value> {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        for (locale, value) in self {
            o.field(locale.as_str(), value);
        }
        o.end();
    }
}

/// Writes an object's fields, with the commas between them.
struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    fn field<T: ToJson + ?Sized>(&mut self, key: &str, value: &T) {
        value.write_json(self.key(key));
    }

    /// A field skipped when `None` (`skip_serializing_if = "Option::is_none"`).
    fn some<T: ToJson>(&mut self, key: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.field(key, value);
        }
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// The `ToJson` of a struct: each field written, or (`if_some`) skipped when `None`.
macro_rules! to_json_struct {
    (@one $o:ident, $v:expr, $key:literal) => { $o.field($key, $v) };
    (@one $o:ident, $v:expr, $key:literal, if_some) => { $o.some($key, $v) };
    ($ty:ident { $($field:ident: $key:literal $($opt:ident)?),* $(,)? }) => {
        impl ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                // Every field named: one added to the type and not here is a compile error.
                let $ty { $($field),* } = self;
                let mut o = ObjectWriter::new(out);
                $(to_json_struct!(@one o, $field, $key $(, $opt)?);)*
                o.end();
            }
        }
    };
}

impl ToJson for SendAs {
    fn write_json(&self, out: &mut String) {
        write_str(out, match self {
            SendAs::Workspace => "workspace",
            SendAs::Customer => "customer",
        });
    }
}

impl ToJson for SenderType {
    fn write_json(&self, out: &mut String) {
        write_str(out, match self {
            SenderType::Workspace => "workspace",
            SenderType::Customer => "customer",
            SenderType::Ai => "ai",
        });
    }
}

impl ToJson for ChannelType {
    fn write_json(&self, out: &mut String) {
        write_str(out, "website");
    }
}

to_json_struct!(AiRequest { agent_id: "agentId", channel_id: "channelId" if_some });
to_json_struct!(CustomerInput {
    id: "id" if_some,
    external_id: "externalId" if_some,
    name: "name" if_some,
    email: "email" if_some,
    phone: "phone" if_some,
    image: "image" if_some,
    metadata: "metadata" if_some,
});
to_json_struct!(SendInput {
    conversation_id: "conversationId",
    content: "content" if_some,
    attachment_ids: "attachmentIds" if_some,
    flags: "flags" if_some,
    parent_id: "parentId" if_some,
    template_id: "templateId" if_some,
    template_context: "templateContext" if_some,
    channel_id: "channelId" if_some,
    channel_identifier: "channelIdentifier" if_some,
    sender: "sender",
    customer_id: "customerId" if_some,
    customer: "customer" if_some,
    ai: "ai" if_some,
});
to_json_struct!(HandOffInput { conversation_id: "conversationId" });
to_json_struct!(AiStreamInput {
    conversation_id: "conversationId",
    last_message_id: "lastMessageId" if_some,
    sender_id: "senderId" if_some,
    channel_id: "channelId" if_some,
});
to_json_struct!(ListMessagesInput { conversation_id: "conversationId", limit: "limit" if_some, cursor: "cursor" if_some });
to_json_struct!(WidgetSessionInput {
    widget_key: "widgetKey",
    external_id: "externalId" if_some,
    name: "name" if_some,
    email: "email" if_some,
    user_hash: "userHash" if_some,
    token: "token" if_some,
});
to_json_struct!(StoredSession { external_id: "externalId", token: "token" });
to_json_struct!(Sender { kind: "type", id: "id", name: "name", image: "image" });
to_json_struct!(Channel { id: "id", kind: "type", identifier: "identifier" });
to_json_struct!(Attachment { id: "id", name: "name", media_type: "type", size: "size", url: "url" });
to_json_struct!(Message {
    id: "id",
    conversation_id: "conversationId",
    content: "content",
    attachments: "attachments",
    sender: "sender",
    parent_id: "parentId",
    flags: "flags",
    template_id: "templateId",
    channel: "channel",
    created_at: "createdAt",
});

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
    fn json_text_parses_as_serde_json_parses_it() {
        for text in [
            r#"{"a":[1,-2,3.5,-0.25e2,1E3,18446744073709551615,-9223372036854775808],"b":{"c":null}}"#,
            r#" [ true , false , null , "" , {} , [] ] "#,
            r#""esc: \" \\ \/ \b \f \n \r \t \u00e9 \u20AC \ud83d\ude00 é 😀""#,
            "18446744073709551616",
            "-9223372036854775809",
            "0",
            r#"{"dup":1,"dup":2}"#,
        ] {
            let ours = parse_json(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(ours, serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
        for bad in [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "1e", "-", "+1", "tru",
            "\"open", "\"\\x\"", "\"\\ud83d\"", "\"\\ud83dx\"", "\"tab\tinside\"", "[1] 2", "nan",
            "1e999",
        ] {
            assert!(parse_json(bad).is_err(), "{bad:?} parsed");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad:?} serde_json");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_json(&deep).is_err(), "nesting is bounded");
    }

    fn full_message() -> Value {
        json!({
            "id": "m1", "conversationId": "c1",
            "content": {"ar": "مرحبا", "en": "Hi \"there\"\n", "tr": {"nested": [1, 2.5, null]}},
            "attachments": [{"id": "f1", "name": "a.png", "type": "image/png", "size": 68,
                "url": "/api/v1/connect/assets/w/f1/a.png"}],
            "sender": {"type": "ai", "id": "ai1", "name": "Bot", "image": null},
            "parentId": "m0", "flags": ["x"], "templateId": null,
            "channel": {"id": "ch1", "type": "website", "identifier": "shop.example.com"},
            "createdAt": "2026-11-24T10:00:00.000Z",
            "unknownField": {"ignored": true}
        })
    }

    /// The events as the server frames them (the api crate's `name` and `data`).
    #[test]
    fn ai_stream_events_read_as_the_server_writes_them() {
        let message: Message = serde_json::from_value(full_message()).unwrap();
        let events = [
            AiStreamEvent::Start(AiStart { sender: message.sender.clone() }),
            AiStreamEvent::Delta(AiDelta { text: "line one\nline two".into() }),
            AiStreamEvent::Message(Box::new(message)),
            AiStreamEvent::Idle(AiIdle {}),
        ];
        for event in events {
            assert_eq!(ai_stream_event(event.name(), &event.data()).unwrap().unwrap(), event);
        }
        assert!(ai_stream_event("typing", "{}").is_none(), "an unknown event is skipped");
        assert!(ai_stream_event("delta", "{}").unwrap().is_err(), "a delta without text is an error");
    }

    #[test]
    fn wire_types_read_as_serde_reads_them() {
        let text = full_message().to_string();
        let ours: Message = from_json(&text).unwrap();
        assert_eq!(ours, serde_json::from_str::<Message>(&text).unwrap());

        let page = json!({"items": [full_message(), full_message()], "nextCursor": "cur"}).to_string();
        let ours: Page<Message> = from_json(&page).unwrap();
        assert_eq!(ours, serde_json::from_str::<Page<Message>>(&page).unwrap());

        let envelope = json!({"error": {"message": "slow down", "code": -32029,
            "data": {"code": "TOO_MANY_REQUESTS", "httpStatus": 429}}}).to_string();
        let ours: ErrorEnvelope = from_json(&envelope).unwrap();
        assert_eq!(ours, serde_json::from_str::<ErrorEnvelope>(&envelope).unwrap());
        for code in ERROR_CODES.map(|(c, _)| c) {
            let shape = ErrorShape::new(code, "m", Some("p"));
            let text = serde_json::to_string(&ErrorEnvelope { error: shape.clone() }).unwrap();
            assert_eq!(from_json::<ErrorEnvelope>(&text).unwrap().error, shape);
        }

        let upload = json!({"files": [{"id": "f", "name": "n", "s3Key": "k", "type": "t",
            "url": "/u", "size": 3}]}).to_string();
        let ours: UploadResponse = from_json(&upload).unwrap();
        assert_eq!(ours, serde_json::from_str::<UploadResponse>(&upload).unwrap());
    }

    #[test]
    fn wire_types_refuse_what_serde_refuses() {
        let cases = [
            json!({"id": "m1"}),
            {
                let mut m = full_message();
                m["content"] = json!({"fr": "Bonjour"});
                m
            },
            {
                let mut m = full_message();
                m["attachments"][0]["size"] = json!(-1);
                m
            },
            {
                let mut m = full_message();
                m["attachments"][0]["size"] = json!(1.5);
                m
            },
            {
                let mut m = full_message();
                m["sender"]["type"] = json!("robot");
                m
            },
            {
                let mut m = full_message();
                m["flags"] = json!(null);
                m
            },
        ];
        for case in cases {
            let text = case.to_string();
            assert!(serde_json::from_str::<Message>(&text).is_err(), "serde: {text}");
            let err = from_json::<Message>(&text).unwrap_err();
            assert!(err.to_string().contains('`'), "{err}");
        }
        let status = json!({"error": {"message": "m", "code": 1,
            "data": {"code": "NOT_FOUND", "httpStatus": 70000}}}).to_string();
        assert!(from_json::<ErrorEnvelope>(&status).is_err());
        assert_eq!(from_json::<Message>("{").unwrap_err().to_string(), "invalid JSON");
        // Optional fields may be missing, as serde's derive allows.
        let mut m = full_message();
        m.as_object_mut().unwrap().remove("parentId");
        m.as_object_mut().unwrap().remove("channel");
        let ours: Message = from_json(&m.to_string()).unwrap();
        assert_eq!((ours.parent_id, ours.channel), (None, None));
    }

    #[test]
    fn wire_types_write_as_serde_writes_them() {
        let message: Message = serde_json::from_value(full_message()).unwrap();
        assert_eq!(to_json(&message), serde_json::to_string(&message).unwrap());

        let full = connect360_api::SendInput {
            conversation_id: "c\u{1}\u{1f}\"1".into(),
            content: Some(message.content.clone()),
            attachment_ids: Some(vec!["f1".into(), "f2".into()]),
            flags: Some(vec![]),
            parent_id: Some("p".into()),
            template_id: Some("t".into()),
            template_context: Some(json!({"n": -3, "f": 0.1, "big": 1e300, "list": [true, false]})),
            channel_id: Some("ch".into()),
            channel_identifier: Some("shop".into()),
            sender: connect360_api::SendAs::Customer,
            customer_id: Some("cu".into()),
            customer: Some(connect360_api::CustomerInput {
                id: Some("cu".into()),
                external_id: Some("g".into()),
                name: Some("N".into()),
                email: Some("e".into()),
                phone: Some("p".into()),
                image: Some("i".into()),
                metadata: Some(json!({"k": "v"}).as_object().unwrap().clone()),
            }),
            ai: Some(connect360_api::AiRequest { agent_id: "a".into(), channel_id: Some("c".into()) }),
        };
        assert_eq!(to_json(&full), serde_json::to_string(&full).unwrap());
        let bare = connect360_api::SendInput::default();
        assert_eq!(to_json(&bare), serde_json::to_string(&bare).unwrap());

        let list = ListMessagesInput { conversation_id: "c".into(), limit: Some(7), cursor: Some("x".into()) };
        assert_eq!(to_json(&list), serde_json::to_string(&list).unwrap());
        let session = WidgetSessionInput {
            widget_key: "wk".into(),
            external_id: Some("e".into()),
            name: Some("n".into()),
            email: Some("m".into()),
            user_hash: Some("h".into()),
            token: Some("t".into()),
        };
        assert_eq!(to_json(&session), serde_json::to_string(&session).unwrap());
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
