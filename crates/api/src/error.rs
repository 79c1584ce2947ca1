//! tRPC's error envelope and code table.

use std::fmt;

use serde::{Deserialize, Serialize};

/// tRPC error codes, with their JSON-RPC numbers and HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ParseError,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotSupported,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    /// The server gave up on the request (it took longer than its timeout).
    Timeout,
    InternalServerError,
}

impl ErrorCode {
    pub fn json_rpc_code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::BadRequest => -32600,
            ErrorCode::Unauthorized => -32001,
            ErrorCode::Forbidden => -32003,
            ErrorCode::NotFound => -32004,
            ErrorCode::MethodNotSupported => -32005,
            ErrorCode::Conflict => -32009,
            ErrorCode::PayloadTooLarge => -32013,
            ErrorCode::UnsupportedMediaType => -32015,
            ErrorCode::TooManyRequests => -32029,
            ErrorCode::Timeout => -32008,
            ErrorCode::InternalServerError => -32603,
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ParseError | ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotSupported => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Timeout => 408,
            ErrorCode::InternalServerError => 500,
        }
    }

    /// Whether the same call may succeed later without being changed.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorCode::TooManyRequests | ErrorCode::Timeout | ErrorCode::InternalServerError)
    }
}

/// `{"error": …}`: the body of a failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorShape,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorShape {
    pub message: String,
    /// The JSON-RPC number of `data.code`.
    pub code: i32,
    pub data: ErrorData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    pub code: ErrorCode,
    pub http_status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl ErrorShape {
    pub fn new(code: ErrorCode, message: impl Into<String>, path: Option<&str>) -> Self {
        ErrorShape {
            message: message.into(),
            code: code.json_rpc_code(),
            data: ErrorData { code, http_status: code.http_status(), path: path.map(str::to_owned) },
        }
    }
}

impl fmt::Display for ErrorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = serde_json::to_value(self.data.code).unwrap_or_default();
        write!(f, "{}: {}", code.as_str().unwrap_or("ERROR"), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_serialises_as_trpc_does() {
        let shape = ErrorShape::new(ErrorCode::BadRequest, "bad", Some("v1.connect.send"));
        let json = serde_json::to_value(ErrorEnvelope { error: shape }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"message": "bad", "code": -32600,
                "data": {"code": "BAD_REQUEST", "httpStatus": 400, "path": "v1.connect.send"}}})
        );
    }
}
