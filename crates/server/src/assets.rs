//! The widget's files, built by Trunk: served from memory, compressed once
//! (gzip at load, brotli on a background thread because at quality 11 it
//! takes seconds, and the server should not wait for it to start), cached for
//! a year (their names are hashed).
//!
//! `widget.js`, the loader, is the one file with a fixed name: it is served
//! with a short cache and told the hashed names of the bundle it loads.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::header::{
    ACCEPT_ENCODING, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const LOADER: &str = "widget.js";
const ASSETS_PLACEHOLDER: &str = "__CONNECT360_ASSETS__";
const BUNDLE_PREFIX: &str = "/widget/";

struct Asset {
    content_type: &'static str,
    cache_control: &'static str,
    etag: String,
    raw: Bytes,
    gzip: Bytes,
    brotli: OnceLock<Bytes>,
}

impl Asset {
    fn new(name: &str, raw: Vec<u8>, cache_control: &'static str) -> anyhow::Result<Asset> {
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&raw))[..32]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw)?;
        let gzip = gz.finish()?;
        Ok(Asset {
            content_type: content_type(name),
            cache_control,
            etag,
            raw: raw.into(),
            gzip: gzip.into(),
            brotli: OnceLock::new(),
        })
    }

    /// Compresses with brotli at the best quality, once.
    fn brotli(&self) -> &Bytes {
        self.brotli.get_or_init(|| {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
            match brotli::BrotliCompress(&mut self.raw.as_ref(), &mut out, &params) {
                Ok(_) => out.into(),
                // Writing to a Vec does not fail; should it, gzip stays the answer.
                Err(err) => {
                    tracing::error!(%err, "brotli compression failed");
                    Bytes::new()
                }
            }
        })
    }

    fn respond(&self, request: &HeaderMap) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        // The loader imports the bundle from the host page's origin: a CORS fetch.
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(ETAG, etag);
        }
        let fresh = request
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == self.etag));
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let accepts = request.get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let accepts = |coding: &str| accepts.split(',').any(|c| c.split(';').next().is_some_and(|c| c.trim() == coding));
        let brotli = self.brotli.get().filter(|b| !b.is_empty());
        let body = if let (true, Some(brotli)) = (accepts("br"), brotli) {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
            brotli.clone()
        } else if accepts("gzip") {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            self.gzip.clone()
        } else {
            self.raw.clone()
        };
        (headers, body).into_response()
    }
}

fn content_type(name: &str) -> &'static str {
    match Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Sizes of what a visitor downloads, for the logs and the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

pub struct WidgetAssets {
    loader: Asset,
    bundle: HashMap<String, Asset>,
}

impl WidgetAssets {
    /// Reads Trunk's output directory: one js, one wasm, one css, plus the loader.
    pub fn load(dir: &Path) -> anyhow::Result<WidgetAssets> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files).with_context(|| format!("reading the widget build in {}", dir.display()))?;
        let one = |suffix: &str| -> anyhow::Result<String> {
            let found: Vec<&String> = files
                .iter()
                .filter(|f| f.ends_with(suffix) && f.as_str() != LOADER && !f.contains('/'))
                .collect();
            match found.as_slice() {
                [one] => Ok((*one).clone()),
                _ => bail!("expected one *{suffix} in {}, found {found:?}; rebuild with trunk", dir.display()),
            }
        };
        let names = serde_json::json!({
            "js": format!("{BUNDLE_PREFIX}{}", one(".js")?),
            "wasm": format!("{BUNDLE_PREFIX}{}", one("_bg.wasm")?),
            "css": format!("{BUNDLE_PREFIX}{}", one(".css")?),
        });
        let loader_src = std::fs::read_to_string(dir.join(LOADER))
            .with_context(|| format!("reading the loader {}", dir.join(LOADER).display()))?;
        if !loader_src.contains(ASSETS_PLACEHOLDER) {
            bail!("the loader {LOADER} has no {ASSETS_PLACEHOLDER} to fill");
        }
        let loader = Asset::new(LOADER, loader_src.replace(ASSETS_PLACEHOLDER, &names.to_string()).into_bytes(), "public, max-age=300")?;
        let mut bundle = HashMap::new();
        for name in files.iter().filter(|f| f.as_str() != LOADER && !f.ends_with(".html")) {
            let raw = std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))?;
            bundle.insert(name.clone(), Asset::new(name, raw, "public, max-age=31536000, immutable")?);
        }
        Ok(WidgetAssets { loader, bundle })
    }

    pub fn loader(&self, request: &HeaderMap) -> Response {
        self.loader.respond(request)
    }

    pub fn file(&self, name: &str, request: &HeaderMap) -> Option<Response> {
        self.bundle.get(name).map(|a| a.respond(request))
    }

    /// Compresses every file with brotli on a thread of its own; until a file
    /// is done it is served with gzip.
    pub fn compress_in_background(self: &Arc<Self>) {
        let assets = Arc::clone(self);
        std::thread::spawn(move || {
            let (loader, total) = assets.sizes();
            tracing::info!(loader_gzip = loader.gzip, widget_brotli = total.brotli, "widget compressed");
        });
    }

    /// The loader alone, and loader plus bundle (what a visitor who opens the
    /// panel loads). Compresses with brotli first where that is not done yet.
    pub fn sizes(&self) -> (Sizes, Sizes) {
        let size = |a: &Asset| Sizes { raw: a.raw.len(), gzip: a.gzip.len(), brotli: a.brotli().len() };
        let loader = size(&self.loader);
        let total = self.bundle.values().map(size).fold(loader, |t, s| Sizes {
            raw: t.raw + s.raw,
            gzip: t.gzip + s.gzip,
            brotli: t.brotli + s.brotli,
        });
        (loader, total)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path: PathBuf = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(dir: &Path, loader: &str) {
        std::fs::write(dir.join("connect360-widget-abc.js"), "export default function init() {}").unwrap();
        std::fs::write(dir.join("connect360-widget-abc_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.join("style-abc.css"), ":host { all: initial }").unwrap();
        std::fs::write(dir.join("index.html"), "<html></html>").unwrap();
        std::fs::write(dir.join(LOADER), loader).unwrap();
    }

    #[test]
    fn the_loader_learns_the_hashed_names() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), "const assets = __CONNECT360_ASSETS__;");
        let assets = WidgetAssets::load(dir.path()).unwrap();
        let loader = String::from_utf8(assets.loader.raw.to_vec()).unwrap();
        assert!(loader.contains(r#""js":"/widget/connect360-widget-abc.js""#), "{loader}");
        assert!(loader.contains(r#""wasm":"/widget/connect360-widget-abc_bg.wasm""#));
        assert!(loader.contains(r#""css":"/widget/style-abc.css""#));
        assert!(assets.file("index.html", &HeaderMap::new()).is_none());
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

    #[test]
    fn encodings_are_negotiated_and_etags_honoured() {
        let asset = Asset::new("a.wasm", vec![7; 10_000], "public").unwrap();
        let mut req = HeaderMap::new();
        req.insert(ACCEPT_ENCODING, "gzip, deflate, br;q=1.0".parse().unwrap());
        assert_eq!(asset.respond(&req).headers()[CONTENT_ENCODING], "gzip", "brotli is not ready yet");
        asset.brotli();
        let res = asset.respond(&req);
        assert_eq!(res.headers()[CONTENT_ENCODING], "br");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/wasm");
        req.insert(ACCEPT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(asset.respond(&req).headers()[CONTENT_ENCODING], "gzip");
        req.insert(ACCEPT_ENCODING, "identity".parse().unwrap());
        assert!(asset.respond(&req).headers().get(CONTENT_ENCODING).is_none());
        req.insert(IF_NONE_MATCH, asset.etag.parse().unwrap());
        assert_eq!(asset.respond(&req).status(), StatusCode::NOT_MODIFIED);
        assert!(asset.brotli().len() < 100 && asset.gzip.len() < 100);
    }
}
