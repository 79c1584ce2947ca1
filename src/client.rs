//! The HTTP client: one generic call per procedure, over the browser's `fetch`.

use std::time::Duration;

use connect360_api::{Procedure, WidgetSession, WidgetSessionInput};
use leptos::prelude::{set_timeout_with_handle, window};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

use crate::protocol::{self, ClientError, FromJson, HttpRequest, Method, ToJson};

/// How long a request may take before it is abandoned (as a network error).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

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
    ) -> Result<P::Output, ClientError>
    where
        P::Input: ToJson,
        P::Output: FromJson,
    {
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
    // Only "Can't reach the server" is shown: no need to describe `e`.
    let network = |_: JsValue| ClientError::Network(String::new());
    let headers = Headers::new().map_err(network)?;
    if let Some(token) = token {
        headers
            .set("Authorization", &("Bearer ".to_owned() + token))
            .map_err(network)?;
    }
    if let Some(key) = idempotency_key {
        headers.set("Idempotency-Key", key).map_err(network)?;
    }
    let init = RequestInit::new();
    init.set_method(match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    });
    if let Some(body) = &request.body {
        headers
            .set("Content-Type", "application/json")
            .map_err(network)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    // A request that hangs must not hold up the polls (nor a send) for good.
    let abort = AbortController::new().map_err(network)?;
    init.set_signal(Some(&abort.signal()));
    let timer = set_timeout_with_handle(move || abort.abort(), REQUEST_TIMEOUT);
    let result = async {
        let response: Response =
            JsFuture::from(window().fetch_with_str_and_init(&request.url, &init))
                .await
                .map_err(network)?
                .unchecked_into();
        let body = JsFuture::from(response.text().map_err(network)?)
            .await
            .map_err(network)?
            .as_string()
            .unwrap_or_default();
        Ok((response.status(), body))
    }
    .await;
    if let Ok(timer) = timer {
        timer.clear();
    }
    result
}
