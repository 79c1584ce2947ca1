//! The API client on gloo-net: tRPC procedures and the session endpoint.

use std::time::Duration;

use connect360_api::{Procedure, ProcedureKind, WidgetSession, WidgetSessionInput};
use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::set_timeout_with_handle;
use web_sys::AbortController;

use super::error::{ClientError, read_plain, read_trpc};
use super::json::encode;
use super::url;

/// How long a request may take before it is abandoned (as a network error).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Calls the API at `api_base` as the visitor holding `token`, or (`None`,
/// the team inbox) as the member whose session cookie the browser sends to
/// its own origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub api_base: String,
    pub token: Option<String>,
}

/// Only "Can't reach the server" is shown; the browser's own words are kept
/// for debugging. Not gloo's `Display`: it would bring serde_json's and
/// std::io's error texts into the bundle for a string nobody is shown.
pub(super) fn network(e: gloo_net::Error) -> ClientError {
    ClientError::Network(match e {
        gloo_net::Error::JsError(js) => js.message,
        gloo_net::Error::GlooError(message) => message,
        // Its JSON errors, when a crate turns gloo-net's `json` feature on.
        #[allow(unreachable_patterns)]
        _ => String::new(),
    })
}

impl Client {
    /// `builder` with this visitor's token, if any.
    pub(super) fn authorized(&self, builder: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => builder.header("Authorization", &url::bearer(token)),
            None => builder,
        }
    }

    /// Calls procedure `P`. A send carries its client message id as
    /// `idempotency_key`, so that its retries never store it twice.
    pub async fn call<P: Procedure>(
        &self,
        input: &P::Input,
        idempotency_key: Option<&str>,
    ) -> Result<P::Output, ClientError> {
        let (status, body) = self.send_trpc(P::PATH, P::KIND, encode(input), idempotency_key).await?;
        read_trpc(status, &body)
    }

    /// The request of a procedure with its `input` as JSON: a query is a
    /// GET with `?input=`, a mutation a POST with a JSON body. One copy for
    /// every procedure: only the input's and output's types are generic.
    async fn send_trpc(
        &self,
        path: &str,
        kind: ProcedureKind,
        input: String,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, String), ClientError> {
        let address = url::trpc(&self.api_base, path);
        let mut builder = self.authorized(match kind {
            ProcedureKind::Query => Request::get(&address).query([("input", input.as_str())]),
            ProcedureKind::Mutation => Request::post(&address),
        });
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        send(builder, (kind == ProcedureKind::Mutation).then_some(input)).await
    }
}

/// Starts (or resumes) a visitor session.
pub async fn start_session(api_base: &str, input: &WidgetSessionInput) -> Result<WidgetSession, ClientError> {
    let (status, body) = send(Request::post(&url::session(api_base)), Some(encode(input))).await?;
    read_plain(status, &body)
}

/// Sends `builder`'s request, with `json` as its body (abandoned after
/// [`REQUEST_TIMEOUT`]: a request that hangs must not hold up the polls, nor
/// a send, for good), and reads its status and body.
pub async fn send(builder: RequestBuilder, json: Option<String>) -> Result<(u16, String), ClientError> {
    let abort = AbortController::new().map_err(|_| ClientError::Network("no AbortController".into()))?;
    let builder = builder.abort_signal(Some(&abort.signal()));
    let request = match json {
        Some(json) => builder.header("Content-Type", "application/json").body(json),
        None => builder.build(),
    }
    .map_err(network)?;
    let timer = set_timeout_with_handle(move || abort.abort(), REQUEST_TIMEOUT);
    let result = async {
        let response: Response = request.send().await.map_err(network)?;
        let body = response.text().await.map_err(network)?;
        Ok((response.status(), body))
    }
    .await;
    if let Ok(timer) = timer {
        timer.clear();
    }
    result
}
