//! The HTTP client: one generic call per procedure, over the browser's fetch.

use connect360_api::{Procedure, WidgetSession, WidgetSessionInput};
use gloo_net::http::Request;

use crate::protocol::{self, ClientError, HttpRequest, Method};

/// Calls the API at `api_base` as the visitor holding `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub api_base: String,
    pub token: String,
}

impl Client {
    /// Calls procedure `P`. A send carries its client message id as
    /// `idempotency_key`, so that its retries never store it twice.
    pub async fn call<P: Procedure>(
        &self,
        input: &P::Input,
        idempotency_key: Option<&str>,
    ) -> Result<P::Output, ClientError> {
        let request = protocol::trpc_request::<P>(&self.api_base, input);
        let (status, body) = fetch(request, Some(&self.token), idempotency_key).await?;
        protocol::parse_trpc(status, &body)
    }
}

/// Starts (or resumes) a visitor session.
pub async fn start_session(
    api_base: &str,
    input: &WidgetSessionInput,
) -> Result<WidgetSession, ClientError> {
    let (status, body) = fetch(protocol::session_request(api_base, input), None, None).await?;
    protocol::parse_session(status, &body)
}

async fn fetch(
    request: HttpRequest,
    token: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<(u16, String), ClientError> {
    let network = |e: gloo_net::Error| ClientError::Network(e.to_string());
    let mut builder = match request.method {
        Method::Get => Request::get(&request.url),
        Method::Post => Request::post(&request.url),
    };
    if let Some(token) = token {
        builder = builder.header("Authorization", &format!("Bearer {token}"));
    }
    if let Some(key) = idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    let response = match request.body {
        Some(body) => {
            builder
                .header("Content-Type", "application/json")
                .body(body)
                .map_err(network)?
                .send()
                .await
        }
        None => builder.send().await,
    }
    .map_err(network)?;
    let body = response.text().await.map_err(network)?;
    Ok((response.status(), body))
}
