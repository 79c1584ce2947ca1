//! The team inbox's page at `/inbox`: the folder Trunk built
//! (`crates/inbox/dist`, `--inbox-dir`), served by tower-http's `ServeDir`
//! (with the `.br`/`.gz` beside a file when the build wrote them), and its
//! `index.html` for every other `/inbox/…` address: the app routes those
//! itself.
//!
//! Under a strict Content-Security-Policy: only the page's own files and
//! API, WebAssembly compiled, and the one inline script Trunk writes (its
//! loader) allowed by its hash, read from the built `index.html`. The page
//! may not be framed (clickjacking a signed-in member).

use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;

pub const PATH: &str = "/inbox";
/// Where `build_inbox` (scripts/lib.sh) leaves it, from the repository's root.
pub const DEFAULT_DIR: &str = "./crates/inbox/dist";

/// The built inbox: its folder and the policy its page is served under.
#[derive(Debug, Clone)]
pub struct InboxPage {
    dir: PathBuf,
    policy: HeaderValue,
}

impl InboxPage {
    /// Reads the built folder's `index.html`.
    pub fn load(dir: &Path) -> anyhow::Result<InboxPage> {
        let index = dir.join("index.html");
        let html = std::fs::read_to_string(&index)
            .with_context(|| format!("reading {} (build it: scripts/demo or build_inbox)", index.display()))?;
        let policy = HeaderValue::from_str(&policy(&html)).context("the inbox's policy")?;
        Ok(InboxPage { dir: dir.to_owned(), policy })
    }
}

/// The Content-Security-Policy of a page whose inline scripts are those of `html`.
fn policy(html: &str) -> String {
    let hashes: String = inline_scripts(html)
        .map(|script| {
            let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
            format!(" 'sha256-{digest}'")
        })
        .collect();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// The text of each `<script>` without a `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        let (text, _) = body.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(text)
    })
}

/// `/inbox` and everything under it; without a built inbox they say so.
pub fn router<S: Clone + Send + Sync + 'static>(page: Option<InboxPage>) -> Router<S> {
    let Some(page) = page else {
        let not_built = || async { ApiError::not_found("The inbox is not built: run scripts/demo (build_inbox).") };
        return Router::new().route(PATH, get(not_built)).route(&format!("{PATH}/{{*path}}"), get(not_built));
    };
    let index = page.dir.join("index.html");
    let files = ServeDir::new(&page.dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index).precompressed_br().precompressed_gzip());
    let header = |name, value: HeaderValue| SetResponseHeaderLayer::overriding(name, value);
    Router::new().nest_service(
        PATH,
        ServiceBuilder::new()
            .layer(header(CONTENT_SECURITY_POLICY, page.policy))
            .layer(header(X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
            .layer(header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .layer(header(REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
            // Trunk hashes the names of the files; the page names them, and
            // is asked for again on each visit (revalidated by date).
            .layer(header(CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            .service(files),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_their_hash_and_nothing_else_inline() {
        let html = r#"<head><script type="module" src="/inbox/a.js"></script><script type="module">import init from '/inbox/a.js';init();</script></head>"#;
        assert_eq!(inline_scripts(html).collect::<Vec<_>>(), ["import init from '/inbox/a.js';init();"]);
        let csp = policy(html);
        let digest =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"import init from '/inbox/a.js';init();"));
        assert!(csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{digest}';")), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
