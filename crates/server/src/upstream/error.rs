//! What can go wrong calling the upstream, and what the visitor is told of it.

use connect360_api::{ErrorCode, ErrorEnvelope};

use crate::error::ApiError;

/// A failed upstream call. Names the URL it called, never the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with tRPC's error envelope.
    #[error("{url} answered {status} {code:?}: {message}")]
    Refused { url: String, code: ErrorCode, status: u16, message: String, retry_after: Option<u64> },
    /// No answer within the client's timeout.
    #[error("{url} did not answer in time")]
    Timeout { url: String },
    /// No connection, or it broke before the answer was read.
    #[error("{url} is unreachable: {cause}")]
    Unreachable { url: String, cause: String },
    /// An answer that is neither tRPC's success nor its error envelope.
    #[error("{url} answered {status} with a body that is not tRPC's: {cause}")]
    Malformed { url: String, status: u16, cause: String },
}

impl UpstreamError {
    /// Whether the same call may succeed when repeated unchanged.
    pub fn is_transient(&self) -> bool {
        match self {
            UpstreamError::Refused { code, .. } => code.is_transient(),
            UpstreamError::Timeout { .. } | UpstreamError::Unreachable { .. } => true,
            UpstreamError::Malformed { status, .. } => *status >= 500,
        }
    }

    /// Our key is wrong or lacks a permission: the operator's to fix.
    pub fn is_configuration(&self) -> bool {
        matches!(self, UpstreamError::Refused { status: 401 | 403, .. })
    }

    /// Decodes a failed answer's body (`{"error": …}`).
    pub(super) fn from_answer(url: &str, status: u16, body: &[u8], retry_after: Option<u64>) -> UpstreamError {
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(ErrorEnvelope { error }) => UpstreamError::Refused {
                url: url.to_owned(),
                code: error.data.code,
                status,
                message: error.message,
                retry_after,
            },
            Err(err) => UpstreamError::Malformed { url: url.to_owned(), status, cause: err.to_string() },
        }
    }
}

/// What a visitor is told: their own mistakes as the upstream said them,
/// the upstream's trouble as a retryable error, our configuration as ours.
impl From<UpstreamError> for ApiError {
    fn from(err: UpstreamError) -> ApiError {
        let unavailable =
            || ApiError::new(ErrorCode::InternalServerError, "The chat service is unavailable right now; try again.");
        if err.is_configuration() {
            tracing::error!(%err, "CONFIGURATION: the upstream refused our API key; check --upstream-key-env and the key's role");
            return ApiError::new(ErrorCode::InternalServerError, "The chat service is not configured correctly.");
        }
        match err {
            UpstreamError::Refused { code, message, retry_after, .. }
                if !code.is_transient() || code == ErrorCode::TooManyRequests =>
            {
                ApiError { code, message, retry_after }
            }
            UpstreamError::Timeout { .. } => {
                tracing::warn!(%err, "upstream timeout");
                ApiError::new(ErrorCode::Timeout, "The chat service took too long to answer; try again.")
            }
            err => {
                tracing::warn!(%err, "upstream unavailable");
                unavailable()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: ErrorCode) -> UpstreamError {
        UpstreamError::Refused {
            url: "http://up/api/trpc/v1.connect.send".into(),
            code,
            status: code.http_status(),
            message: "m".into(),
            retry_after: None,
        }
    }

    #[test]
    fn the_visitor_sees_their_mistakes_and_a_retryable_error_for_the_upstream_s() {
        assert_eq!(ApiError::from(refused(ErrorCode::BadRequest)).code, ErrorCode::BadRequest);
        assert_eq!(ApiError::from(refused(ErrorCode::NotFound)).message, "m");
        let down = ApiError::from(UpstreamError::Unreachable { url: "u".into(), cause: "refused".into() });
        assert!(down.code.is_transient(), "{down:?}");
        assert_eq!(ApiError::from(UpstreamError::Timeout { url: "u".into() }).code, ErrorCode::Timeout);
        let crashed = ApiError::from(refused(ErrorCode::InternalServerError));
        assert_eq!(crashed.code, ErrorCode::InternalServerError);
        assert_ne!(crashed.message, "m");
    }

    #[test]
    fn a_refused_key_is_ours_to_fix_and_not_the_visitor_s() {
        for code in [ErrorCode::Unauthorized, ErrorCode::Forbidden] {
            let err = refused(code);
            assert!(err.is_configuration());
            let told = ApiError::from(err);
            assert_eq!(told.code, ErrorCode::InternalServerError);
            assert!(told.message.contains("not configured"), "{told:?}");
        }
    }

    #[test]
    fn an_answer_that_is_not_an_envelope_is_malformed() {
        let err = UpstreamError::from_answer("u", 502, b"<html>bad gateway</html>", None);
        assert!(matches!(err, UpstreamError::Malformed { status: 502, .. }), "{err:?}");
        assert!(err.is_transient());
    }
}
