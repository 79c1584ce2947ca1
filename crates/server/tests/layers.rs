//! What the layers around the routes answer: request ids, the request
//! timeout, and CORS.

mod common;

use std::time::Duration;

use common::{spawn_app, spawn_app_with};
use connect360_server::domain::{Domain, Role};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_the_caller_s() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let other = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(other.headers()["x-request-id"], id, "one per request");
    let res =
        app.http.get(app.url("/api/trpc/v1.connect.nope")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["x-request-id"], "trace-42");
}

/// Sends `head` and `body` over a raw connection, pausing before the body;
/// the answer's status and body.
async fn raw_request(addr: std::net::SocketAddr, head: String, body: &[u8], pause: Duration) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(pause).await;
    // The server may have answered and stopped reading already.
    let _ = conn.write_all(body).await;
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    let read = async {
        loop {
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if length.is_some_and(|n| body.len() >= n) {
                    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                    return (status, body.to_owned());
                }
            }
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the answer: {text}");
            answer.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("an answer")
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_with_a_timeout() {
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_millis(300)).await;
    let key = app.key(Role::Engage).await;
    let body = br#"{"conversationId":"conv_x","content":{"en":"hi"}}"#;
    let head = format!(
        "POST /api/trpc/v1.connect.send HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let (status, answer) = raw_request(app.addr, head, body, Duration::from_millis(800)).await;
    assert_eq!(status, 408, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["error"]["data"]["code"], "TIMEOUT", "{answer}");
    assert_eq!(answer["error"]["data"]["httpStatus"], 408);
    // A request in time is answered as ever.
    let conv = app.conversation(&key).await;
    assert_eq!(app.send_text(&key, &conv, "hello").await["content"]["en"], "hello");
}

#[tokio::test]
async fn uploads_take_as_long_as_the_connection_needs() {
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_millis(300)).await;
    let key = app.key(Role::Engage).await;
    let boundary = "c360slow";
    let body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
         content-type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-type: multipart/form-data; boundary={boundary}\r\ncontent-length: {}\r\n\r\n",
        connect360_api::ATTACHMENTS_PATH,
        body.len()
    );
    let (status, answer) = raw_request(app.addr, head, body.as_bytes(), Duration::from_millis(800)).await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["files"][0]["name"], "a.txt");
}

#[tokio::test]
async fn cors_answers_are_kept() {
    let app = spawn_app().await;
    let ws = app.workspace("default").await;
    let domain = Domain::parse("d", "example.com").unwrap();
    app.store.create_widget(&ws.id, None, &[domain], None).await.unwrap();
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/trpc/v1.connect.send"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type, idempotency-key")
            .send()
    };
    let ok = preflight("https://example.com").await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let header = |name: &str| ok.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("access-control-allow-origin"), "https://example.com");
    assert_eq!(header("access-control-allow-methods").replace(' ', ""), "GET,POST");
    assert_eq!(header("access-control-allow-headers").replace(' ', ""), "authorization,content-type,idempotency-key");
    assert_eq!(header("access-control-max-age"), "600");
    assert!(header("vary").contains("origin"));

    let refused = preflight("https://evil.com").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    assert_eq!(refused.text().await.unwrap(), "origin not allowed\n");

    // The calls themselves: the origin allowed, answered whatever the outcome.
    let call = app
        .http
        .get(app.url("/api/trpc/v1.connect.listMessages?input=%7B%7D"))
        .header("origin", "https://example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call.headers()["access-control-allow-origin"], "https://example.com");
    assert!(call.headers()["vary"].to_str().unwrap().contains("origin"));
    // Not for the widget's files, which any page may load, nor for pages.
    let health = app.http.get(app.url("/healthz")).header("origin", "https://example.com").send().await.unwrap();
    assert!(health.headers().get("access-control-allow-origin").is_none());
}
