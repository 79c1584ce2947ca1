//! The abuse limits: a flood is refused with TOO_MANY_REQUESTS (HTTP 429,
//! `Retry-After`) after the configured number, nothing of a refused request
//! is written, the limit comes back after its period, and other visitors,
//! addresses, widgets and keys are not affected. Each limit here gives one
//! back every two seconds: slack enough for a busy machine, short to wait.

mod common;

use std::time::Duration;

use common::{Answer, TestApp, spawn_app_with};
use connect360_api::{ATTACHMENTS_PATH, ListMessages, SendMessage, WIDGET_SESSION_PATH};
use connect360_server::domain::{Domain, Role};
use connect360_server::limits::{LimitsConfig, Rate};
use connect360_server::store::Widget;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const SITE: &str = "https://shop.example.com";
/// `count` at once, one more every two seconds.
fn rate(count: u32) -> Rate {
    Rate::new(count, Duration::from_secs(2) * count)
}
/// Long enough for one more of every limit.
const RESET: Duration = Duration::from_millis(2100);

async fn app_with(configure: impl FnOnce(&mut LimitsConfig)) -> TestApp {
    spawn_app_with(|config| configure(&mut config.limits)).await
}

async fn widget(app: &TestApp, label: &str) -> Widget {
    let ws = app.workspace("default").await;
    let domains = [Domain::parse("d", "shop.example.com").unwrap()];
    app.store.create_widget(&ws.id, Some(label), &domains, None).await.unwrap()
}

/// A refusal: 429, a Retry-After of a second or two, TOO_MANY_REQUESTS.
fn assert_too_many(status: StatusCode, retry_after: Option<&str>, body: &Value) {
    assert_too_many_within(status, retry_after, body, 2);
}

fn assert_too_many_within(status: StatusCode, retry_after: Option<&str>, body: &Value, max_seconds: u64) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=max_seconds).contains(&seconds), "Retry-After {seconds}");
    let error = if body.is_array() { &body[0]["error"] } else { &body["error"] };
    assert_eq!(error["data"]["code"], "TOO_MANY_REQUESTS", "{body}");
}

async fn answer(res: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = res.status();
    let retry = res.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

async fn open_session(
    app: &TestApp,
    widget: &Widget,
    forwarded_for: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", SITE);
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    answer(req.json(&json!({"widgetKey": widget.public_key})).send().await.unwrap()).await
}

#[tokio::test]
async fn sessions_per_address_behind_a_trusted_proxy() {
    let app = app_with(|l| {
        l.sessions_per_ip = rate(3);
        l.trusted_proxy_header = Some("x-forwarded-for".parse().unwrap());
    })
    .await;
    let w = widget(&app, "shop").await;
    // The proxy's entry (the last) is the client: the first is the client's own claim.
    for _ in 0..3 {
        assert_eq!(open_session(&app, &w, Some("6.6.6.6, 203.0.113.7")).await.0, StatusCode::OK);
    }
    let (status, retry, body) = open_session(&app, &w, Some("7.7.7.7, 203.0.113.7")).await;
    assert_too_many(status, retry.as_deref(), &body);
    assert_eq!(open_session(&app, &w, Some("203.0.113.8")).await.0, StatusCode::OK, "another address");
    tokio::time::sleep(RESET).await;
    assert_eq!(open_session(&app, &w, Some("203.0.113.7")).await.0, StatusCode::OK, "reset");
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_header_changes_nothing() {
    let app = app_with(|l| l.sessions_per_ip = rate(2)).await;
    let w = widget(&app, "shop").await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(open_session(&app, &w, Some(ip)).await.0, StatusCode::OK);
    }
    let (status, retry, body) = open_session(&app, &w, Some("198.51.100.3")).await;
    assert_too_many(status, retry.as_deref(), &body);
}

#[tokio::test]
async fn sessions_per_widget() {
    let app = app_with(|l| l.sessions_per_widget = rate(2)).await;
    let (busy, other) = (widget(&app, "busy").await, widget(&app, "other").await);
    for _ in 0..2 {
        assert_eq!(open_session(&app, &busy, None).await.0, StatusCode::OK);
    }
    let (status, retry, body) = open_session(&app, &busy, None).await;
    assert_too_many(status, retry.as_deref(), &body);
    assert_eq!(open_session(&app, &other, None).await.0, StatusCode::OK, "another widget");
    tokio::time::sleep(RESET).await;
    assert_eq!(open_session(&app, &busy, None).await.0, StatusCode::OK, "reset");
}

struct Visitor {
    token: String,
    conversation: String,
    customer: String,
}

async fn visitor(app: &TestApp, w: &Widget) -> Visitor {
    let (status, _, body) = open_session(app, w, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Visitor {
        token: body["token"].as_str().unwrap().to_owned(),
        conversation: body["conversation"]["id"].as_str().unwrap().to_owned(),
        customer: body["customer"]["id"].as_str().unwrap().to_owned(),
    }
}

async fn visitor_send(app: &TestApp, v: &Visitor, text: &str) -> (StatusCode, Option<String>, Value) {
    let input = json!({"conversationId": v.conversation, "sender": "customer", "customerId": v.customer, "content": {"en": text}});
    let req =
        app.http.post(app.url("/api/trpc/v1.connect.send")).bearer_auth(&v.token).header("origin", SITE).json(&input);
    answer(req.send().await.unwrap()).await
}

async fn stored_messages(app: &TestApp, v: &Visitor) -> usize {
    let page: Answer = app.call::<ListMessages>(&v.token, json!({"conversationId": v.conversation})).await;
    page.data()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn sends_per_visitor() {
    let app = app_with(|l| l.sends_per_visitor = rate(3)).await;
    let w = widget(&app, "shop").await;
    let (flooder, other) = (visitor(&app, &w).await, visitor(&app, &w).await);
    for i in 0..3 {
        assert_eq!(visitor_send(&app, &flooder, &format!("m{i}")).await.0, StatusCode::OK);
    }
    let (status, retry, body) = visitor_send(&app, &flooder, "one too many").await;
    assert_too_many(status, retry.as_deref(), &body);
    assert_eq!(body["error"]["data"]["path"], "v1.connect.send");
    assert_eq!(stored_messages(&app, &flooder).await, 3, "the refused message is not stored");
    assert_eq!(visitor_send(&app, &other, "hello").await.0, StatusCode::OK, "another visitor");
    // Support's key is not a visitor: not held to it.
    let key = app.key(Role::Engage).await;
    app.call::<SendMessage>(&key, json!({"conversationId": flooder.conversation, "content": {"en": "support"}}))
        .await
        .data();
    tokio::time::sleep(RESET).await;
    assert_eq!(visitor_send(&app, &flooder, "after a while").await.0, StatusCode::OK, "reset");
}

async fn upload(app: &TestApp, v: &Visitor, bytes: usize) -> (StatusCode, Option<String>, Value) {
    let form = Form::new().part("files", Part::bytes(vec![b'a'; bytes]).file_name("notes.txt"));
    let req = app.http.post(app.url(ATTACHMENTS_PATH)).bearer_auth(&v.token).header("origin", SITE).multipart(form);
    answer(req.send().await.unwrap()).await
}

async fn file_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM files").fetch_one(&app.db().await).await.unwrap()
}

fn spooled(app: &TestApp) -> usize {
    std::fs::read_dir(app.data.path().join("incoming")).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn uploads_per_visitor() {
    let app = app_with(|l| l.uploads_per_visitor = rate(2)).await;
    let w = widget(&app, "shop").await;
    let (flooder, other) = (visitor(&app, &w).await, visitor(&app, &w).await);
    for _ in 0..2 {
        assert_eq!(upload(&app, &flooder, 10).await.0, StatusCode::OK);
    }
    let (status, retry, body) = upload(&app, &flooder, 10).await;
    assert_too_many(status, retry.as_deref(), &body);
    assert_eq!(file_rows(&app).await, 2);
    assert_eq!(upload(&app, &other, 10).await.0, StatusCode::OK, "another visitor");
    tokio::time::sleep(RESET).await;
    assert_eq!(upload(&app, &flooder, 10).await.0, StatusCode::OK, "reset");
}

#[tokio::test]
async fn upload_bytes_per_visitor() {
    // 1 MiB per 20 s: about 100 KiB come back in two seconds.
    let app = app_with(|l| l.upload_mib_per_visitor = Rate::new(1, Duration::from_secs(20))).await;
    let w = widget(&app, "shop").await;
    let (flooder, other) = (visitor(&app, &w).await, visitor(&app, &w).await);
    let (status, _, body) = upload(&app, &flooder, 1000 * 1024).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, retry, body) = upload(&app, &flooder, 100 * 1024).await;
    assert_too_many(status, retry.as_deref(), &body);
    assert_eq!(file_rows(&app).await, 1, "the refused upload left no row");
    assert_eq!(spooled(&app), 0, "nor bytes");
    assert_eq!(upload(&app, &other, 100 * 1024).await.0, StatusCode::OK, "another visitor");
    // More than a whole period's allowance never fits: wait the period.
    let (status, retry, body) = upload(&app, &other, 1024 * 1024 + 1).await;
    assert_too_many_within(status, retry.as_deref(), &body, 20);
    tokio::time::sleep(RESET).await;
    assert_eq!(upload(&app, &flooder, 100 * 1024).await.0, StatusCode::OK, "reset");
}

#[tokio::test]
async fn requests_per_api_key() {
    let app = app_with(|l| l.api_key_requests = rate(5)).await;
    let (busy, calm) = (app.key(Role::Engage).await, app.key(Role::Engage).await);
    let conversation = app.conversation(&busy).await; // the first of five
    let list = |key: &str| {
        app.http
            .get(app.url("/api/trpc/v1.connect.listMessages"))
            .query(&[("input", json!({"conversationId": conversation}).to_string())])
            .bearer_auth(key)
            .send()
    };
    for _ in 0..4 {
        assert_eq!(list(&busy).await.unwrap().status(), StatusCode::OK);
    }
    let (status, retry, body) = answer(list(&busy).await.unwrap()).await;
    assert_too_many(status, retry.as_deref(), &body);
    // A refused write writes nothing.
    let send =
        app.call::<SendMessage>(&busy, json!({"conversationId": conversation, "content": {"en": "lost?"}})).await;
    assert_eq!(send.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(list(&calm).await.unwrap().status(), StatusCode::OK, "another key");
    tokio::time::sleep(RESET).await;
    let page = app.call::<ListMessages>(&busy, json!({"conversationId": conversation})).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 0, "reset, and the refused send stored nothing");
}
