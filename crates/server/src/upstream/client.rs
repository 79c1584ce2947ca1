//! The upstream's tRPC client: `@trpc/client`'s `httpLink` wire, in Rust,
//! over the procedures the api crate declares.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use connect360_api::{AI_STREAM_PATH, AiStreamInput, Procedure, ProcedureKind, TrpcSuccess};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::de::DeserializeOwned;

use super::error::UpstreamError;

/// The upstream API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<hidden>)")
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The upstream's tRPC base, e.g. `https://api.example.com/api/trpc`.
    pub base_url: String,
    pub key: ApiKey,
    /// How long a call may take, connecting and retries included: the
    /// visitor gets an answer within it, before the widget's own limit.
    pub timeout: Duration,
    /// Attempts of a call that is safe to repeat (1: no retries).
    pub attempts: u32,
    /// The wait before the first retry; it doubles after each.
    pub backoff: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);
pub const DEFAULT_ATTEMPTS: u32 = 3;
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);
/// A `Retry-After` longer than this ends the retries: the caller is told instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// The AI stream lasts as long as a reply may take, and a little more.
const AI_STREAM_TIMEOUT: Duration = Duration::from_secs(crate::ai::runner::REPLY_TIMEOUT.as_secs() + 30);

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, key: ApiKey) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            key,
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
        }
    }
}

/// One client for every procedure; cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct TrpcClient {
    http: reqwest::Client,
    /// Ends with `/`, so that a procedure's path joins onto it.
    base: Url,
    key: ApiKey,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
}

/// Whether a call may be sent again after a failure that left its outcome unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat<'a> {
    /// A query: reading twice changes nothing.
    Query,
    /// A mutation the upstream deduplicates by this `Idempotency-Key`.
    Keyed(&'a str),
    /// A mutation whose second run finds what the first made (get-or-create).
    Idempotent,
    /// A mutation without a key: sent once, whatever happens.
    Once,
}

impl TrpcClient {
    pub fn new(config: ClientConfig) -> Result<TrpcClient, String> {
        let mut base =
            Url::parse(&config.base_url).map_err(|err| format!("--upstream-url {}: {err}", config.base_url))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!(
                "--upstream-url {}: needs an http(s) URL such as https://host/api/trpc",
                config.base_url
            ));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|err| format!("building the upstream client: {err}"))?;
        Ok(TrpcClient {
            http,
            base,
            key: config.key,
            timeout: config.timeout,
            attempts: config.attempts.max(1),
            backoff: config.backoff,
        })
    }

    /// The tRPC base the client calls, to name in messages (it holds no secret).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// A request to one of the upstream's REST routes (`/api/v1/connect/…` on
    /// the tRPC base's host), with the key; sent once, never retried.
    pub(super) fn rest(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<(Url, reqwest::RequestBuilder), UpstreamError> {
        let url = self.base.join(path).map_err(|err| UpstreamError::Unreachable {
            url: format!("{}{path}", self.base),
            cause: err.to_string(),
        })?;
        let request = self.http.request(method, url.clone()).bearer_auth(&self.key.0);
        Ok((url, request))
    }

    /// The upstream's AI reply stream for a conversation, once it answered
    /// with success (its events still to be read); sent once.
    pub(super) async fn ai_stream(&self, input: &AiStreamInput) -> Result<reqwest::Response, UpstreamError> {
        let (url, request) = self.rest(reqwest::Method::POST, AI_STREAM_PATH)?;
        let response =
            request.json(input).timeout(AI_STREAM_TIMEOUT).send().await.map_err(|err| transport(&url, &err))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        // A failed answer always reads as an error; its envelope says which.
        Err(read_json::<serde_json::Value>(&url, response).await.err().unwrap_or_else(|| UpstreamError::Malformed {
            url: url.to_string(),
            status,
            cause: "a failed answer without an error".into(),
        }))
    }

    /// Calls procedure `P`, retrying it while that is safe (see [`Repeat`]).
    pub async fn call<P: Procedure>(&self, input: &P::Input, repeat: Repeat<'_>) -> Result<P::Output, UpstreamError> {
        debug_assert_eq!(P::KIND == ProcedureKind::Query, repeat == Repeat::Query, "{} called as {repeat:?}", P::PATH);
        let url = self.base.join(P::PATH).map_err(|err| UpstreamError::Unreachable {
            url: format!("{}{}", self.base, P::PATH),
            cause: err.to_string(),
        })?;
        let input = serde_json::to_string(input).map_err(|err| UpstreamError::Malformed {
            url: url.to_string(),
            status: 0,
            cause: format!("the input does not serialise: {err}"),
        })?;
        let attempts = if repeat == Repeat::Once { 1 } else { self.attempts };
        let deadline = Instant::now() + self.timeout;
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let err = match self.attempt::<P>(&url, &input, repeat, left).await {
                Ok(output) => return Ok(output),
                Err(err) => err,
            };
            let asked = match &err {
                UpstreamError::Refused { retry_after: Some(seconds), .. } => Some(Duration::from_secs(*seconds)),
                _ => None,
            };
            let pause = asked.unwrap_or(wait).max(wait);
            if attempt >= attempts
                || !err.is_transient()
                || asked.is_some_and(|asked| asked > MAX_RETRY_AFTER)
                || Instant::now() + pause >= deadline
            {
                return Err(err);
            }
            tracing::debug!(%err, attempt, procedure = P::PATH, "upstream call failed; retrying");
            tokio::time::sleep(pause).await;
            wait *= 2;
            attempt += 1;
        }
    }

    async fn attempt<P: Procedure>(
        &self,
        url: &Url,
        input: &str,
        repeat: Repeat<'_>,
        timeout: Duration,
    ) -> Result<P::Output, UpstreamError> {
        let request = match P::KIND {
            ProcedureKind::Query => {
                let mut url = url.clone();
                url.query_pairs_mut().append_pair("input", input);
                self.http.get(url)
            }
            ProcedureKind::Mutation => {
                self.http.post(url.clone()).header(CONTENT_TYPE, "application/json").body(input.to_owned())
            }
        };
        let request = match repeat {
            Repeat::Keyed(key) => request.header("idempotency-key", key),
            Repeat::Query | Repeat::Idempotent | Repeat::Once => request,
        };
        let response =
            request.bearer_auth(&self.key.0).timeout(timeout).send().await.map_err(|err| transport(url, &err))?;
        let success: TrpcSuccess<P::Output> = read_json(url, response).await?;
        Ok(success.result.data)
    }
}

/// A whole answer's JSON, or the error envelope it carries instead.
pub(super) async fn read_json<T: DeserializeOwned>(url: &Url, response: reqwest::Response) -> Result<T, UpstreamError> {
    let status = response.status().as_u16();
    let retry_after =
        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let body = response.bytes().await.map_err(|err| transport(url, &err))?;
    if !(200..300).contains(&status) {
        return Err(UpstreamError::from_answer(url.as_str(), status, &body, retry_after));
    }
    serde_json::from_slice::<T>(&body).map_err(|err| UpstreamError::Malformed {
        url: url.to_string(),
        status,
        cause: err.to_string(),
    })
}

/// A request that got no complete answer: timed out, or the connection failed.
pub(super) fn transport(url: &Url, err: &reqwest::Error) -> UpstreamError {
    let url = url.to_string();
    if err.is_timeout() {
        return UpstreamError::Timeout { url };
    }
    // reqwest's own text says only "error sending request": the cause is below it.
    let mut cause = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        cause = format!("{cause}: {inner}");
        source = inner.source();
    }
    UpstreamError::Unreachable { url, cause }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_printed() {
        let client =
            TrpcClient::new(ClientConfig::new("http://127.0.0.1:9/api/trpc", ApiKey::new("sk_secret"))).unwrap();
        assert!(!format!("{client:?}").contains("sk_secret"));
        assert_eq!(client.base_url(), "http://127.0.0.1:9/api/trpc/");
    }

    #[test]
    fn only_http_urls_are_upstreams() {
        for bad in ["ftp://host/api/trpc", "not a url", "mailto:a@b"] {
            let err = TrpcClient::new(ClientConfig::new(bad, ApiKey::new("k"))).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
