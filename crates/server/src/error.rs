//! The one error type of the API: a tRPC code and a message for the caller.

use connect360_api::{ErrorCode, ErrorShape};

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// A rule broken by one field: the message starts with the field's path.
    pub fn invalid(field: impl AsRef<str>, rule: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::BadRequest, format!("{}: {}", field.as_ref(), rule.as_ref()))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// Logs the cause and tells the caller nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::InternalServerError, "Internal server error.")
    }

    pub fn shape(&self, path: Option<&str>) -> ErrorShape {
        ErrorShape::new(self.code, self.message.clone(), path)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Invalid { field, rule } => ApiError::invalid(field, rule),
            StoreError::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            StoreError::Forbidden(message) => ApiError::forbidden(message),
            StoreError::Database(cause) => ApiError::internal(cause),
        }
    }
}
