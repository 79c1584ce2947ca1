//! The widget's files, as `build_widget` (scripts/lib.sh) leaves them in
//! Trunk's output folder: one js, one wasm and one css with hashed names,
//! each beside its `.br` and `.gz`, compressed at build time. tower-http's
//! `ServeFile` answers with the compressed file the request accepts
//! (q-values honoured, `br;q=0` refuses brotli), and with ranges; only these
//! three files and the loader are served, nothing else of the folder. The
//! bundle is cached for a year (its names are hashed).
//!
//! `widget.js`, the loader, is the one file with a fixed name: it is served
//! from memory with a short cache, told the hashed names of the bundle it
//! loads, and compressed per request (a few KB) since it differs from the
//! file on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::cors::CROSS_ORIGIN_RESOURCE_POLICY;
use crate::error::ApiError;

pub const LOADER: &str = "widget.js";
const ASSETS_PLACEHOLDER: &str = "__CONNECT360_ASSETS__";
const BUNDLE_PREFIX: &str = "/widget/";
const LOADER_CACHE: &str = "public, max-age=300";
const BUNDLE_CACHE: &str = "public, max-age=31536000, immutable";

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A content hash, quoted as an entity tag.
fn etag(bytes: &[u8]) -> HeaderValue {
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32]);
    HeaderValue::from_str(&tag).expect("hex is a valid header value")
}

/// Sizes of what a visitor downloads, for the logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    pub raw: u64,
    pub brotli: u64,
}

/// One of the bundle's files: its name in the folder and its entity tag.
struct BundleFile {
    name: String,
    etag: HeaderValue,
}

pub struct WidgetAssets {
    dir: PathBuf,
    /// The loader with the bundle's names filled in.
    loader: Bytes,
    loader_etag: HeaderValue,
    /// The js, the wasm and the css.
    bundle: Vec<BundleFile>,
}

impl WidgetAssets {
    /// Reads Trunk's output folder: one js, one wasm, one css, plus the loader.
    pub fn load(dir: &Path) -> anyhow::Result<WidgetAssets> {
        let files = top_level_files(dir).with_context(|| format!("reading the widget build in {}", dir.display()))?;
        let one = |suffix: &str| -> anyhow::Result<String> {
            let found: Vec<&String> = files.iter().filter(|f| f.ends_with(suffix) && f.as_str() != LOADER).collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                _ => bail!("expected one *{suffix} in {}, found {found:?}; rebuild with trunk", dir.display()),
            }
        };
        let (js, wasm, css) = (one(".js")?, one("_bg.wasm")?, one(".css")?);
        let names = serde_json::json!({
            "js": format!("{BUNDLE_PREFIX}{js}"),
            "wasm": format!("{BUNDLE_PREFIX}{wasm}"),
            "css": format!("{BUNDLE_PREFIX}{css}"),
        });
        let loader_src = std::fs::read_to_string(dir.join(LOADER))
            .with_context(|| format!("reading the loader {}", dir.join(LOADER).display()))?;
        if !loader_src.contains(ASSETS_PLACEHOLDER) {
            bail!("the loader {LOADER} has no {ASSETS_PLACEHOLDER} to fill");
        }
        let loader = Bytes::from(loader_src.replace(ASSETS_PLACEHOLDER, &names.to_string()));
        let mut bundle = Vec::new();
        for name in [js, wasm, css] {
            let raw = std::fs::read(dir.join(&name)).with_context(|| format!("reading {name}"))?;
            bundle.push(BundleFile { etag: etag(&raw), name });
        }
        Ok(WidgetAssets { dir: dir.to_owned(), loader_etag: etag(&loader), loader, bundle })
    }

    /// The bundle's size as built and as brotli sends it; a file without its
    /// `.br` counts whole, and is named in a warning.
    pub fn sizes(&self) -> Sizes {
        let size = |name: &str| std::fs::metadata(self.dir.join(name)).map(|m| m.len()).ok();
        self.bundle.iter().fold(Sizes::default(), |total, file| {
            let raw = size(&file.name).unwrap_or_default();
            let brotli = size(&format!("{}.br", file.name)).unwrap_or_else(|| {
                tracing::warn!(file = file.name, "not compressed at build time: run build_widget (scripts/lib.sh)");
                raw
            });
            Sizes { raw: total.raw + raw, brotli: total.brotli + brotli }
        })
    }
}

/// `/widget.js` and the bundle's files; without a built widget they say so.
pub fn router<S: Clone + Send + Sync + 'static>(assets: Option<Arc<WidgetAssets>>) -> Router<S> {
    let Some(assets) = assets else {
        let not_built =
            || async { ApiError::not_found("The widget is not built: run trunk build --release --offline.") };
        return Router::new().route("/widget.js", get(not_built)).route("/widget/{*file}", get(not_built));
    };
    let mut bundle = Router::new();
    for file in &assets.bundle {
        let mime = content_type(&file.name).parse().expect("the content types above are valid");
        let serve =
            ServeFile::new_with_mime(assets.dir.join(&file.name), &mime).precompressed_br().precompressed_gzip();
        bundle = bundle.route_service(
            &format!("{BUNDLE_PREFIX}{}", file.name),
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(file.etag.clone(), conditional))
                .service(serve),
        );
    }
    let loader = Router::new()
        .route("/widget.js", get(loader))
        .layer(axum::middleware::from_fn_with_state(assets.loader_etag.clone(), conditional))
        // At the best level: 7 KB take a few milliseconds, and every page load fetches it.
        .layer(CompressionLayer::new().quality(CompressionLevel::Best))
        .with_state(assets.clone());
    let cache =
        |value: &'static str| SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static(value));
    Router::new().merge(bundle.layer(cache(BUNDLE_CACHE))).merge(loader.layer(cache(LOADER_CACHE))).layer(
        ServiceBuilder::new()
            .layer(header(VARY, "accept-encoding"))
            .layer(header(X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // The loader imports the bundle from the host page's origin: a CORS fetch.
            .layer(header(ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            // Sites embed the loader and the bundle: other sites must be able to.
            .layer(header(CROSS_ORIGIN_RESOURCE_POLICY, "cross-origin")),
    )
}

fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

async fn loader(State(assets): State<Arc<WidgetAssets>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, content_type(LOADER))], assets.loader.clone())
}

/// Tags the answer with the file's entity tag; 304 when the request has it already.
async fn conditional(State(tag): State<HeaderValue>, req: Request, next: Next) -> Response {
    let fresh = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().as_bytes() == tag.as_bytes()));
    let mut res = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { next.run(req).await };
    res.headers_mut().insert(ETAG, tag);
    res
}

/// The names of the folder's files, not of its subfolders' (Trunk leaves a `.stage/` there).
fn top_level_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::HeaderMap;
    use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
    use tower::ServiceExt;

    use super::*;

    const WASM: &str = "connect360-widget-abc_bg.wasm";

    fn build(dir: &Path, loader: &str) {
        std::fs::write(dir.join("connect360-widget-abc.js"), "export default function init() {}").unwrap();
        std::fs::write(dir.join(WASM), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.join("style-abc.css"), ":host { all: initial }").unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.join(LOADER), loader).unwrap();
    }

    /// What `build_widget` adds: each bundle file's brotli and gzip beside it
    /// (here stand-ins, so that the answer shows which file was sent).
    fn precompress(dir: &Path) {
        std::fs::write(dir.join(format!("{WASM}.br")), "brotli bytes").unwrap();
        std::fs::write(dir.join(format!("{WASM}.gz")), "gzip bytes").unwrap();
    }

    async fn get(dir: &Path, path: &str, headers: &[(HeaderName, &str)]) -> (StatusCode, HeaderMap, Bytes) {
        let assets = Arc::new(WidgetAssets::load(dir).unwrap());
        let mut req = Request::get(path);
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let res = router::<()>(Some(assets)).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        (parts.status, parts.headers, axum::body::to_bytes(body, usize::MAX).await.unwrap())
    }

    #[tokio::test]
    async fn the_loader_learns_the_hashed_names() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "const assets = __CONNECT360_ASSETS__;");
        let assets = WidgetAssets::load(dir.path()).unwrap();
        let loader = String::from_utf8(assets.loader.to_vec()).unwrap();
        assert!(loader.contains(r#""js":"/widget/connect360-widget-abc.js""#), "{loader}");
        assert!(loader.contains(r#""wasm":"/widget/connect360-widget-abc_bg.wasm""#));
        assert!(loader.contains(r#""css":"/widget/style-abc.css""#));
        assert_eq!(get(dir.path(), "/widget/index.html", &[]).await.0, StatusCode::NOT_FOUND);
        let (status, headers, body) = get(dir.path(), "/widget.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, assets.loader);
        assert_eq!(headers[CACHE_CONTROL], LOADER_CACHE);
        assert_eq!(headers[CONTENT_TYPE], "text/javascript; charset=utf-8");
    }

    #[test]
    fn a_loader_without_the_placeholder_or_two_bundles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "no placeholder");
        assert!(WidgetAssets::load(dir.path()).is_err());
        build(dir.path(), "__CONNECT360_ASSETS__");
        std::fs::write(dir.path().join("other-def.js"), "x").unwrap();
        let err = WidgetAssets::load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("expected one *.js"), "{err}");
    }

    #[tokio::test]
    async fn encodings_are_negotiated_and_etags_honoured() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "__CONNECT360_ASSETS__");
        precompress(dir.path());
        let wasm = format!("/widget/{WASM}");
        let (status, headers, body) = get(dir.path(), &wasm, &[(ACCEPT_ENCODING, "gzip, deflate, br;q=1.0")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((&headers[CONTENT_ENCODING], &body[..]), (&HeaderValue::from_static("br"), &b"brotli bytes"[..]));
        assert_eq!(headers[CONTENT_TYPE], "application/wasm");
        assert_eq!(headers[CACHE_CONTROL], BUNDLE_CACHE);
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[CROSS_ORIGIN_RESOURCE_POLICY], "cross-origin", "sites embed the bundle");
        assert!(headers[VARY].to_str().unwrap().contains("accept-encoding"));
        let (_, headers, body) = get(dir.path(), &wasm, &[(ACCEPT_ENCODING, "gzip")]).await;
        assert_eq!((&headers[CONTENT_ENCODING], &body[..]), (&HeaderValue::from_static("gzip"), &b"gzip bytes"[..]));
        let (_, headers, body) = get(dir.path(), &wasm, &[(ACCEPT_ENCODING, "identity")]).await;
        assert!(headers.get(CONTENT_ENCODING).is_none());
        assert_eq!(&body[..], b"\0asm\x01\0\0\0");
        let tag = headers[ETAG].to_str().unwrap().to_owned();
        let (status, _, body) = get(dir.path(), &wasm, &[(IF_NONE_MATCH, &tag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn brotli_at_q_0_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "__CONNECT360_ASSETS__");
        precompress(dir.path());
        let wasm = format!("/widget/{WASM}");
        let (_, headers, _) = get(dir.path(), &wasm, &[(ACCEPT_ENCODING, "br;q=0, gzip")]).await;
        assert_eq!(headers[CONTENT_ENCODING], "gzip");
        let (_, headers, _) = get(dir.path(), &wasm, &[(ACCEPT_ENCODING, "br;q=0")]).await;
        assert!(headers.get(CONTENT_ENCODING).is_none());
        let (_, headers, _) = get(dir.path(), "/widget.js", &[(ACCEPT_ENCODING, "br;q=0, gzip;q=0.5")]).await;
        assert_eq!(headers[CONTENT_ENCODING], "gzip", "the loader too");
    }

    #[tokio::test]
    async fn only_the_built_bundle_is_served() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "__CONNECT360_ASSETS__");
        std::fs::create_dir(dir.path().join(".stage")).unwrap();
        std::fs::write(dir.path().join(".stage/connect360-widget-old.js"), "old").unwrap();
        for path in ["/widget/.stage/connect360-widget-old.js", "/widget/index.html", "/widget/widget.js"] {
            assert_eq!(get(dir.path(), path, &[]).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        let assets = WidgetAssets::load(dir.path()).unwrap();
        let raw = ["connect360-widget-abc.js", WASM, "style-abc.css"]
            .map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len())
            .iter()
            .sum();
        assert_eq!(assets.sizes(), Sizes { raw, brotli: raw }, "the stage's files are not counted");
    }
}
