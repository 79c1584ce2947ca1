//! The team inbox's page: its built folder at /inbox, index.html for the
//! app's own addresses, under a strict policy that no frame may show it.

mod common;

use common::spawn_app_with;
use reqwest::StatusCode;

const INDEX: &str = r#"<!doctype html><html><head><link rel="stylesheet" href="/inbox/inbox-1.css"><script type="module">import init from '/inbox/inbox-1.js'; init();</script></head><body></body></html>"#;

#[tokio::test]
async fn the_built_inbox_is_served_with_its_index_for_client_routes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), INDEX).unwrap();
    std::fs::write(dir.path().join("inbox-1.css"), "body{}").unwrap();
    let inbox_dir = dir.path().to_owned();
    let app = spawn_app_with(|c| c.inbox_dir = inbox_dir).await;

    for path in ["/inbox", "/inbox/", "/inbox/c/conv_1"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'sha256-"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(res.text().await.unwrap(), INDEX, "{path}");
    }
    let css = app.http.get(app.url("/inbox/inbox-1.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(css.text().await.unwrap(), "body{}");
}

#[tokio::test]
async fn without_a_built_inbox_it_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-built");
    let app = spawn_app_with(|c| c.inbox_dir = missing).await;
    for path in ["/inbox", "/inbox/c/conv_1"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(res.text().await.unwrap().contains("The inbox is not built"));
    }
}
