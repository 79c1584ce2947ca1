//! The one error type of the API: a tRPC code and a message for the caller.
//! As a response it is tRPC's error envelope, on the REST routes too.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use connect360_api::{ErrorCode, ErrorEnvelope, ErrorShape};

use crate::domain::Invalid;
use crate::rate_limit::RetryAfter;
use crate::store::StoreError;
use crate::telemetry::ErrorOutcome;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds a refused caller should wait: the answer's `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), retry_after: None }
    }

    /// TOO_MANY_REQUESTS, answered with `Retry-After`.
    pub fn too_many(message: impl Into<String>, retry: RetryAfter) -> Self {
        ApiError { retry_after: Some(retry.seconds()), ..Self::new(ErrorCode::TooManyRequests, message) }
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

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `{"error": …}` with the HTTP status of the code; a tRPC call's error names its procedure.
    pub fn response_at(&self, path: Option<&str>) -> Response {
        let mut res = (self.status(), Json(ErrorEnvelope { error: self.shape(path) })).into_response();
        res.extensions_mut().insert(ErrorOutcome(self.code));
        if let Some(seconds) = self.retry_after {
            res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        res
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.response_at(None)
    }
}

impl From<Invalid> for ApiError {
    fn from(err: Invalid) -> Self {
        ApiError::invalid(err.field, err.rule)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Invalid { field, rule } => ApiError::invalid(field, rule),
            StoreError::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            StoreError::Forbidden(message) => ApiError::forbidden(message),
            StoreError::Database(cause) => {
                crate::telemetry::store_error();
                ApiError::internal(cause)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;

    #[test]
    fn a_database_failure_is_counted_as_a_store_error_and_a_refusal_is_not() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let (failed, refused) = metrics::with_local_recorder(&recorder, || {
            let failed = ApiError::from(StoreError::Database("disk I/O error".into()));
            let refused = ApiError::from(StoreError::NotFound("Conversation not found: c1".into()));
            (failed, refused)
        });
        assert_eq!((failed.code, refused.code), (ErrorCode::InternalServerError, ErrorCode::NotFound));
        let text = recorder.handle().render();
        assert!(text.lines().any(|line| line == "connect360_store_errors_total 1"), "{text}");
    }
}
