//! Upstream mode: our own server in normal mode plays the hosted API, on
//! loopback with its own store and key; the Rust tRPC client, and then a
//! proxy instance in upstream mode, call it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::sse::{eventually, ids, open};
use common::{Answer, TestApp, send, spawn_app, spawn_app_on, spawn_app_with};
use connect360_api::{
    Conversation, ErrorCode, GetOrCreateConversation, HandOff, ListMessages, ListMessagesInput, SendInput, SendMessage,
    WIDGET_SESSION_PATH,
};
use connect360_server::app::{Application, ServeConfig};
use connect360_server::domain::{Domain, Role};
use connect360_server::store::Widget;
use connect360_server::upstream::UpstreamConfig;
use connect360_server::upstream::client::{ApiKey, ClientConfig, Repeat, TrpcClient};
use connect360_server::upstream::error::UpstreamError;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn client_at(base: &str, key: &str, configure: impl FnOnce(&mut ClientConfig)) -> TrpcClient {
    let mut config = ClientConfig::new(base, ApiKey::new(key));
    configure(&mut config);
    TrpcClient::new(config).expect("client builds")
}

fn client(upstream: &TestApp, key: &str) -> TrpcClient {
    client_at(&upstream.url("/api/trpc"), key, |_| {})
}

async fn conversation(client: &TrpcClient, external_id: &str) -> Conversation {
    let input = serde_json::from_value(json!({"customer": {"externalId": external_id}})).unwrap();
    client.call::<GetOrCreateConversation>(&input, Repeat::Once).await.expect("conversation")
}

fn text(conversation_id: &str, text: &str) -> SendInput {
    serde_json::from_value(json!({"conversationId": conversation_id, "content": {"en": text}})).unwrap()
}

fn list(conversation_id: &str) -> ListMessagesInput {
    ListMessagesInput { conversation_id: conversation_id.to_owned(), ..ListMessagesInput::default() }
}

#[tokio::test]
async fn the_client_speaks_trpc_to_our_server() {
    let upstream = spawn_app().await;
    let key = upstream.key(Role::Engage).await;
    let client = client(&upstream, &key);

    let conv = conversation(&client, "visitor-1").await;
    assert_eq!(conversation(&client, "visitor-1").await.id, conv.id, "get-or-create finds it again");
    let sent = client.call::<SendMessage>(&text(&conv.id, "Hello"), Repeat::Keyed("send-1")).await.unwrap();
    let again = client.call::<SendMessage>(&text(&conv.id, "Hello"), Repeat::Keyed("send-1")).await.unwrap();
    assert_eq!(again.id, sent.id, "the same Idempotency-Key stores one message");
    let page = client.call::<ListMessages>(&list(&conv.id), Repeat::Query).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [sent.id.as_str()]);

    // The error envelope, decoded with its code and status.
    let missing = client.call::<ListMessages>(&list("conv_nope"), Repeat::Query).await.unwrap_err();
    assert!(matches!(&missing, UpstreamError::Refused { code: ErrorCode::NotFound, status: 404, .. }), "{missing:?}");
    let mut bad = list(&conv.id);
    bad.limit = Some(0);
    let bad = client.call::<ListMessages>(&bad, Repeat::Query).await.unwrap_err();
    match bad {
        UpstreamError::Refused { code: ErrorCode::BadRequest, status: 400, message, .. } => {
            assert!(message.starts_with("limit"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_key_is_a_configuration_error_that_names_the_url_and_not_the_key() {
    let upstream = spawn_app().await;
    let client = client(&upstream, "sk_wrong_key");
    let err = client.call::<ListMessages>(&list("conv_1"), Repeat::Query).await.unwrap_err();
    assert!(matches!(&err, UpstreamError::Refused { code: ErrorCode::Unauthorized, status: 401, .. }), "{err:?}");
    assert!(err.is_configuration());
    let said = err.to_string();
    assert!(said.contains(&upstream.url("/api/trpc/v1.connect.listMessages")), "{said}");
    assert!(!said.contains("sk_wrong_key"), "{said}");
}

#[tokio::test]
async fn a_keyed_send_is_retried_until_the_upstream_is_back_and_stored_once() {
    let upstream = spawn_app().await;
    let key = upstream.key(Role::Engage).await;
    let conv = conversation(&client(&upstream, &key), "visitor-2").await;
    let (addr, data, files) = (upstream.addr, upstream.data.clone(), upstream.files.clone());
    let base = upstream.url("/api/trpc");
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let client = client_at(&base, &key, |c| {
        c.attempts = 8;
        c.backoff = Duration::from_millis(100);
    });
    // Without a key the send is not repeated: it fails well before a first
    // pause of 2 s would have ended.
    let patient = client_at(&base, &key, |c| {
        c.attempts = 8;
        c.backoff = Duration::from_secs(2);
    });
    let started = Instant::now();
    let once = patient.call::<SendMessage>(&text(&conv.id, "lost?"), Repeat::Once).await.unwrap_err();
    assert!(matches!(once, UpstreamError::Unreachable { .. }), "{once:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());

    let sending = tokio::spawn({
        let client = client.clone();
        let input = text(&conv.id, "Are you there?");
        async move { client.call::<SendMessage>(&input, Repeat::Keyed("send-back")).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!sending.is_finished(), "the send waits for the upstream");
    let upstream = spawn_app_on(data, None, files, |config| config.addr = addr).await;
    let sent = sending.await.unwrap().expect("sent once the upstream is back");
    let page = client.call::<ListMessages>(&list(&conv.id), Repeat::Query).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [sent.id.as_str()]);
    drop(upstream);
}

#[tokio::test]
async fn a_slow_upstream_times_out() {
    // An upstream that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = client_at(&format!("http://{addr}/api/trpc"), "k", |c| {
        c.timeout = Duration::from_millis(300);
        c.attempts = 3;
        c.backoff = Duration::from_millis(50);
    });
    let started = Instant::now();
    let err = client.call::<ListMessages>(&list("conv_1"), Repeat::Query).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Timeout { .. }), "{err:?}");
    // The timeout bounds the whole call, retries included: the visitor hears
    // back within it (8 s by default, before the widget's own 20 s limit).
    // Three attempts of 300 ms each would take more than 1 s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(800), "one budget of 300 ms: {took:?}");
}

// Upstream mode: a proxy instance in front of the upstream one.

const SITE: &str = "https://shop.example.com";

fn upstream_config(base: &str, key: &str, configure: impl FnOnce(&mut ClientConfig)) -> UpstreamConfig {
    let mut client = ClientConfig::new(base, ApiKey::new(key));
    configure(&mut client);
    UpstreamConfig { client, key_env: "CONNECT360_TEST_UPSTREAM_KEY".into() }
}

/// The proxy, its widget on shop.example.com, and the upstream's key.
struct Pair {
    upstream: TestApp,
    key: String,
    proxy: TestApp,
    widget: Widget,
}

async fn pair_with(configure: impl FnOnce(&mut ClientConfig)) -> Pair {
    pair_serving(configure, |_| {}).await
}

/// The pair, the proxy's own configuration changed too.
async fn pair_serving(configure: impl FnOnce(&mut ClientConfig), serve: impl FnOnce(&mut ServeConfig)) -> Pair {
    let upstream = spawn_app().await;
    let key = upstream.key(Role::Engage).await;
    let config = upstream_config(&upstream.url("/api/trpc"), &key, configure);
    let proxy = spawn_app_with(|c| {
        c.upstream = Some(config);
        serve(c);
    })
    .await;
    let ws = proxy.workspace("default").await;
    let domain = Domain::parse("d", "shop.example.com").unwrap();
    let widget = proxy.store.create_widget(&ws.id, None, &[domain], None).await.unwrap();
    Pair { upstream, key, proxy, widget }
}

async fn pair() -> Pair {
    pair_with(|_| {}).await
}

/// A guest's widget session on the proxy.
struct Visitor {
    token: String,
    conversation_id: String,
    customer_id: String,
    external_id: String,
}

async fn visitor(pair: &Pair) -> Visitor {
    let answer = send(
        pair.proxy
            .http
            .post(pair.proxy.url(WIDGET_SESSION_PATH))
            .header("origin", SITE)
            .json(&json!({"widgetKey": pair.widget.public_key})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let b = &answer.body;
    assert_eq!(b["conversation"]["customerId"], b["customer"]["id"]);
    Visitor {
        token: b["token"].as_str().unwrap().to_owned(),
        conversation_id: b["conversation"]["id"].as_str().unwrap().to_owned(),
        customer_id: b["customer"]["id"].as_str().unwrap().to_owned(),
        external_id: b["customer"]["externalId"].as_str().unwrap().to_owned(),
    }
}

fn visitor_text(v: &Visitor, text: &str) -> Value {
    json!({"conversationId": v.conversation_id, "sender": "customer", "customer": {"externalId": v.external_id},
        "content": {"en": text}, "channelIdentifier": "shop.example.com"})
}

/// A visitor's send through the proxy, from the site, with an Idempotency-Key.
async fn proxy_send(pair: &Pair, v: &Visitor, body: Value, key: &str) -> Answer {
    let url = pair.proxy.url(&format!("/api/trpc/{}", <SendMessage as connect360_api::Procedure>::PATH));
    send(
        pair.proxy
            .http
            .post(url)
            .bearer_auth(&v.token)
            .header("origin", SITE)
            .header("idempotency-key", key)
            .json(&body),
    )
    .await
}

async fn upstream_texts(pair: &Pair, conversation_id: &str) -> Vec<String> {
    let page = pair.upstream.call::<ListMessages>(&pair.key, json!({"conversationId": conversation_id})).await;
    page.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["en"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_visitor_chats_through_the_proxy_and_the_messages_live_upstream() {
    let pair = pair().await;
    let v = visitor(&pair).await;

    let sent = proxy_send(&pair, &v, visitor_text(&v, "Where is my order?"), "k1").await;
    let sent = sent.data().clone();
    assert_eq!(sent["sender"]["type"], "customer");
    assert_eq!(sent["sender"]["id"], v.customer_id.as_str());
    assert_eq!(sent["channel"]["identifier"], "shop.example.com");
    // Stored upstream, as the key sees it; not in the proxy's store.
    assert_eq!(upstream_texts(&pair, &v.conversation_id).await, ["Where is my order?"]);
    let local: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&pair.proxy.db().await).await.unwrap();
    assert_eq!(local, 0, "the proxy keeps no messages");

    // Support answers upstream; the visitor's history on the proxy has both.
    pair.upstream.send_text(&pair.key, &v.conversation_id, "It ships today.").await;
    let page = pair.proxy.call::<ListMessages>(&v.token, json!({"conversationId": v.conversation_id})).await;
    let items = page.data()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[1]["sender"]["type"], "workspace");

    // Coming back with the token finds the same customer and conversation.
    let again = send(
        pair.proxy
            .http
            .post(pair.proxy.url(WIDGET_SESSION_PATH))
            .header("origin", SITE)
            .json(&json!({"widgetKey": pair.widget.public_key, "token": v.token})),
    )
    .await;
    assert_eq!(again.body["conversation"]["id"], v.conversation_id.as_str(), "{}", again.body);
    assert_eq!(again.body["customer"]["externalId"], v.external_id.as_str());

    // "Talk to a person" stops the AI upstream.
    let handed = pair.proxy.call::<HandOff>(&v.token, json!({"conversationId": v.conversation_id})).await;
    assert!(handed.data()["aiStoppedAt"].is_string(), "{}", handed.body);
    let upstream_view =
        pair.upstream.call::<GetOrCreateConversation>(&pair.key, json!({"customerId": v.customer_id})).await;
    assert_eq!(upstream_view.data()["aiStoppedAt"], handed.data()["aiStoppedAt"]);
}

#[tokio::test]
async fn visitors_are_kept_apart_before_anything_is_forwarded() {
    let pair = pair().await;
    let (a, b) = (visitor(&pair).await, visitor(&pair).await);
    assert_ne!(a.conversation_id, b.conversation_id);
    proxy_send(&pair, &a, visitor_text(&a, "A's secret"), "a1").await.data();

    // B names A's conversation: as if it did not exist.
    let read = pair.proxy.call::<ListMessages>(&b.token, json!({"conversationId": a.conversation_id})).await;
    read.error("NOT_FOUND");
    let mut into_a = visitor_text(&b, "B in A's chat");
    into_a["conversationId"] = json!(a.conversation_id);
    proxy_send(&pair, &b, into_a, "b1").await.error("NOT_FOUND");
    // B poses as A's customer: refused by the token's scope.
    let mut as_a = visitor_text(&b, "B as A");
    as_a["customer"] = json!({"externalId": a.external_id});
    proxy_send(&pair, &b, as_a, "b2").await.error("FORBIDDEN");
    let mut as_a_by_id = visitor_text(&b, "B as A");
    as_a_by_id["customer"] = json!({"id": a.customer_id});
    proxy_send(&pair, &b, as_a_by_id, "b3").await.error("FORBIDDEN");
    pair.proxy.call::<HandOff>(&b.token, json!({"conversationId": a.conversation_id})).await.error("NOT_FOUND");
    // The same Idempotency-Key from two visitors stores two messages.
    let same_key = proxy_send(&pair, &b, visitor_text(&b, "B's own"), "a1").await;
    assert_eq!(same_key.data()["content"]["en"], "B's own");

    assert_eq!(upstream_texts(&pair, &a.conversation_id).await, ["A's secret"]);
    assert_eq!(upstream_texts(&pair, &b.conversation_id).await, ["B's own"]);
}

#[tokio::test]
async fn the_proxy_serves_visitors_only() {
    let pair = pair().await;
    // The upstream's key, or a key of the proxy's own store: both sent to the upstream.
    let own_key = pair.proxy.key(Role::Full).await;
    for key in [&pair.key, &own_key] {
        let message = pair
            .proxy
            .call::<GetOrCreateConversation>(key, json!({"customer": {"externalId": "x"}}))
            .await
            .error("UNAUTHORIZED");
        assert!(message.contains("upstream"), "{message}");
    }
    let sign_in = send(pair.proxy.http.get(pair.proxy.url(connect360_api::INBOX_SESSION_PATH))).await;
    assert_eq!(sign_in.status, StatusCode::NOT_FOUND, "{}", sign_in.body);
    // The event stream is the visitor's too; a key's is refused.
    let v = visitor(&pair).await;
    let refused = open(&pair.proxy, &own_key, &v.conversation_id, None).await.err().expect("a key is refused");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
}

#[tokio::test]
async fn upstream_down_is_a_retryable_error_and_the_retried_send_is_stored_once() {
    let pair = pair_with(|c| {
        c.attempts = 1;
        c.timeout = Duration::from_secs(2);
    })
    .await;
    let v = visitor(&pair).await;
    let Pair { upstream, key, proxy, widget } = pair;
    let (addr, data, files) = (upstream.addr, upstream.data.clone(), upstream.files.clone());
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let down = Pair { upstream: spawn_app().await, key: key.clone(), proxy, widget };
    let answer = proxy_send(&down, &v, visitor_text(&v, "Hello?"), "retry-1").await;
    let message = answer.error("INTERNAL_SERVER_ERROR");
    assert!(message.contains("try again"), "{message}");

    let Pair { proxy, widget, .. } = down;
    let back = Pair { upstream: spawn_app_on(data, None, files, |c| c.addr = addr).await, key, proxy, widget };
    let first = proxy_send(&back, &v, visitor_text(&v, "Hello?"), "retry-1").await.data().clone();
    let again = proxy_send(&back, &v, visitor_text(&v, "Hello?"), "retry-1").await.data().clone();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(upstream_texts(&back, &v.conversation_id).await, ["Hello?"]);
}

/// Relays loopback connections to `to`; once told to hold, requests go
/// unanswered (on open connections too: the client keeps them alive).
async fn relay(to: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicBool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = Arc::new(AtomicBool::new(false));
    let holding = hold.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = tokio::net::TcpStream::connect(to).await else { continue };
            let hold = holding.clone();
            let (mut from_client, mut to_client) = inbound.into_split();
            let (mut from_upstream, mut to_upstream) = outbound.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut from_upstream, &mut to_client).await });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    while hold.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    if to_upstream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, hold)
}

#[tokio::test]
async fn a_slow_upstream_is_a_timeout_for_the_visitor() {
    let upstream = spawn_app().await;
    let key = upstream.key(Role::Engage).await;
    let (relay_addr, hold) = relay(upstream.addr).await;
    let config = upstream_config(&format!("http://{relay_addr}/api/trpc"), &key, |c| {
        c.timeout = Duration::from_millis(400);
        c.attempts = 2;
        c.backoff = Duration::from_millis(50);
    });
    let proxy = spawn_app_with(|c| c.upstream = Some(config)).await;
    let ws = proxy.workspace("default").await;
    let widget = proxy
        .store
        .create_widget(&ws.id, None, &[Domain::parse("d", "shop.example.com").unwrap()], None)
        .await
        .unwrap();
    let pair = Pair { upstream, key, proxy, widget };
    let v = visitor(&pair).await;

    hold.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let page = pair.proxy.call::<ListMessages>(&v.token, json!({"conversationId": v.conversation_id})).await;
    let message = page.error("TIMEOUT");
    assert!(message.contains("too long"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

async fn build_proxy(config: UpstreamConfig) -> anyhow::Result<Application> {
    let data = tempfile::tempdir().unwrap();
    let mut serve = ServeConfig::new("127.0.0.1:0".parse().unwrap(), data.path().to_owned(), data.path().join("none"));
    serve.upstream = Some(config);
    Application::build(&serve).await
}

#[tokio::test]
async fn a_wrong_key_or_an_unreachable_upstream_stops_the_start_naming_the_url_and_not_the_key() {
    let upstream = spawn_app().await;
    let base = upstream.url("/api/trpc");
    let Err(err) = build_proxy(upstream_config(&base, "sk_not_the_key", |_| {})).await else {
        panic!("started with a wrong key")
    };
    let said = format!("{err:#}");
    assert!(said.contains(&base) && said.contains("CONNECT360_TEST_UPSTREAM_KEY"), "{said}");
    assert!(!said.contains("sk_not_the_key"), "{said}");

    let addr = upstream.addr;
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let gone = format!("http://{addr}/api/trpc");
    let Err(err) = build_proxy(upstream_config(&gone, "sk_any", |c| c.attempts = 1)).await else {
        panic!("started without its upstream")
    };
    let said = format!("{err:#}");
    assert!(said.contains(&gone) && said.contains("unreachable"), "{said}");
}

#[tokio::test]
async fn serve_reads_the_key_from_the_named_variable_and_says_what_is_wrong_without_it() {
    let upstream = spawn_app().await;
    let base = upstream.url("/api/trpc");
    let data = tempfile::tempdir().unwrap();
    let run = |key: Option<&'static str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_connect360-server"));
        cmd.args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--upstream-url",
            &base,
            "--upstream-key-env",
            "C360_TEST_UPSTREAM_KEY",
        ])
        .arg("--data")
        .arg(data.path())
        .env("NO_COLOR", "1")
        .env_remove("C360_TEST_UPSTREAM_KEY");
        if let Some(key) = key {
            cmd.env("C360_TEST_UPSTREAM_KEY", key);
        }
        cmd
    };
    let unset = tokio::task::spawn_blocking({
        let mut cmd = run(None);
        move || cmd.output().unwrap()
    });
    let wrong = tokio::task::spawn_blocking({
        let mut cmd = run(Some("sk_wrong_secret"));
        move || cmd.output().unwrap()
    });
    let (unset, wrong) = (unset.await.unwrap(), wrong.await.unwrap());
    let said = String::from_utf8_lossy(&unset.stderr);
    assert!(!unset.status.success() && said.contains("C360_TEST_UPSTREAM_KEY") && said.contains("not set"), "{said}");
    let said = String::from_utf8_lossy(&wrong.stderr) + String::from_utf8_lossy(&wrong.stdout);
    assert!(!wrong.status.success(), "{said}");
    assert!(said.contains(&base) && said.contains("refused the API key"), "{said}");
    assert!(!said.contains("sk_wrong_secret"), "{said}");
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn png_form(name: &str) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(PNG.to_vec()).file_name(name.to_owned()).mime_str("image/png").unwrap();
    reqwest::multipart::Form::new().part("file", part)
}

async fn fetch(app: &TestApp, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(app.url(url));
    if let Some(range) = range {
        req = req.header("range", range);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn attachments_go_both_ways_through_the_proxy() {
    let pair = pair().await;
    let v = visitor(&pair).await;

    // The visitor's upload is stored upstream and answered with this server's signed URL.
    let up = send(
        pair.proxy
            .http
            .post(pair.proxy.url(connect360_api::ATTACHMENTS_PATH))
            .bearer_auth(&v.token)
            .header("origin", SITE)
            .multipart(png_form("photo.png")),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    let file = up.body["files"][0].clone();
    let url = file["url"].as_str().unwrap();
    assert!(url.starts_with("/api/v1/connect/assets/") && url.contains("sig="), "{url}");
    let mut with_file = visitor_text(&v, "my receipt");
    with_file["attachmentIds"] = json!([file["id"]]);
    let sent = proxy_send(&pair, &v, with_file, "f1").await.data().clone();
    assert_eq!(sent["attachments"][0]["id"], file["id"]);

    let res = fetch(&pair.proxy, url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let part = fetch(&pair.proxy, url, Some("bytes=0-3")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], format!("bytes 0-3/{}", PNG.len()).as_str());
    assert_eq!(part.bytes().await.unwrap().as_ref(), &PNG[..4]);
    // Unsigned, or signed for another key: as if there were no such file.
    let plain = url.split('?').next().unwrap();
    assert_eq!(fetch(&pair.proxy, plain, None).await.status(), StatusCode::NOT_FOUND);
    let forged = url.replace("photo.png", "other.png");
    assert_eq!(fetch(&pair.proxy, &forged, None).await.status(), StatusCode::NOT_FOUND);

    // Support sends a file upstream; the visitor's history on the proxy shows it, signed.
    let res = pair
        .upstream
        .http
        .post(pair.upstream.url(connect360_api::ATTACHMENTS_PATH))
        .bearer_auth(&pair.key)
        .multipart(png_form("label.png"))
        .send()
        .await
        .unwrap();
    let support_file: Value = res.json().await.unwrap();
    let reply = json!({"conversationId": v.conversation_id, "attachmentIds": [support_file["files"][0]["id"]]});
    pair.upstream.call::<SendMessage>(&pair.key, reply).await.data();
    let page = pair.proxy.call::<ListMessages>(&v.token, json!({"conversationId": v.conversation_id})).await;
    let items = page.data()["items"].as_array().unwrap().clone();
    let shown = items[1]["attachments"][0]["url"].as_str().unwrap().to_owned();
    assert!(shown.contains("sig=") && shown.contains("label.png"), "{shown}");
    let res = fetch(&pair.proxy, &shown, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
}

/// An FAQ agent upstream whose answer to "When does my order ship?" is `answer`.
async fn assistant(pair: &Pair, answer: &str) -> String {
    let ws = pair.upstream.workspace("default").await;
    let knowledge = format!("# Shipping\n## When does my order ship? {{en}}\n{answer}\n");
    let config = connect360_server::domain::AgentConfig::Faq(connect360_server::domain::FaqSettings { knowledge });
    pair.upstream.store.create_agent(&ws.id, "Assistant", None, &config).await.unwrap()
}

#[tokio::test]
async fn the_ai_stream_is_relayed_from_the_upstream() {
    let pair = pair().await;
    let agent = assistant(&pair, "Every order ships within two days.").await;
    let (a, b) = (visitor(&pair).await, visitor(&pair).await);
    let mut ask = visitor_text(&a, "When does my order ship?");
    ask["ai"] = json!({"agentId": agent});
    let asked = proxy_send(&pair, &a, ask, "ai1").await.data().clone();

    let open = |v: &Visitor, conversation_id: &str| {
        pair.proxy
            .http
            .post(pair.proxy.url(connect360_api::AI_STREAM_PATH))
            .bearer_auth(&v.token)
            .header("origin", SITE)
            .json(&json!({"conversationId": conversation_id, "lastMessageId": asked["id"]}))
    };
    // B may not watch A's conversation.
    send(open(&b, &a.conversation_id)).await.error("NOT_FOUND");
    let res = open(&a, &a.conversation_id).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(Duration::from_secs(20), res.text()).await.expect("the stream ends").unwrap();
    assert!(text.contains("event: message") && text.contains("within two days"), "{text}");
}

/// A metric of the proxy's `/metrics` (0 until it exists).
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

const POLLERS: &str = "connect360_upstream_pollers";

/// Held by the tests that open event streams, one at a time: the pollers' gauge is the process's.
static STREAMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn upstream_replies_reach_the_proxy_s_event_streams_from_one_poller_per_conversation() {
    let _streams = STREAMS.lock().await;
    let pair = pair_serving(|_| {}, |c| c.metrics = true).await;
    let v = visitor(&pair).await;
    let (proxy, conv) = (&pair.proxy, v.conversation_id.as_str());
    let mut first = open(proxy, &v.token, conv, None).await.expect("the proxy serves the event stream");
    let mut second = open(proxy, &v.token, conv, None).await.unwrap();
    assert_eq!(metric(proxy, POLLERS).await, 1.0, "two streams of one conversation share one poller");

    // The visitor writes; support answers with the key, directly upstream.
    let asked = proxy_send(&pair, &v, visitor_text(&v, "Is it in stock?"), "k1").await.data()["id"].clone();
    let started = Instant::now();
    let reply = pair.upstream.send_text(&pair.key, conv, "Yes, two left.").await;
    for stream in [&mut first, &mut second] {
        let frames = stream.take(2).await;
        assert_eq!(ids(&frames), [asked.as_str().unwrap(), reply["id"].as_str().unwrap()]);
        assert_eq!(frames[1].event, "message");
        assert_eq!(frames[1].data, reply, "the upstream's message as it stored it");
    }
    assert!(started.elapsed() < Duration::from_secs(2), "the reply took {:?}", started.elapsed());

    // Another visitor's stream is refused before the upstream hears of it.
    let other = visitor(&pair).await;
    let refused = open(proxy, &other.token, conv, None).await.err().expect("refused");
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);

    drop(second);
    let later = pair.upstream.send_text(&pair.key, conv, "Shall I hold one?").await;
    assert_eq!(first.next().await.unwrap().data, later, "the poller goes on for the stream left");
    drop(first);
    eventually("the poller stops with the last stream", async || metric(proxy, POLLERS).await == 0.0).await;

    // Resuming after the last id seen gets what was sent meanwhile, once, then what comes live.
    let mut missed = Vec::new();
    for text in ["Hello again?", "We held one for you."] {
        missed.push(pair.upstream.send_text(&pair.key, conv, text).await["id"].as_str().unwrap().to_owned());
    }
    let mut resumed = open(proxy, &v.token, conv, later["id"].as_str()).await.unwrap();
    assert_eq!(ids(&resumed.take(2).await), missed);
    let live = pair.upstream.send_text(&pair.key, conv, "Anything else?").await;
    assert_eq!(resumed.next().await.unwrap().data, live, "nothing twice, and live again");
    // Resuming from the first message gets every later one, in order.
    let mut from_start = open(proxy, &v.token, conv, asked.as_str()).await.unwrap();
    let all: Vec<&str> = [
        reply["id"].as_str(),
        later["id"].as_str(),
        Some(missed[0].as_str()),
        Some(missed[1].as_str()),
        live["id"].as_str(),
    ]
    .into_iter()
    .map(Option::unwrap)
    .collect();
    assert_eq!(ids(&from_start.take(5).await), all);
    let unknown = open(proxy, &v.token, conv, Some("msg_not_here")).await.err().expect("refused");
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
}

/// An answer long enough to be typed out in many deltas, for a second or so.
const LONG_ANSWER: &str = "Every order ships within two working days from our warehouse in Hamburg. You get an email with the \
    tracking link as soon as the carrier has scanned your parcel, usually the same evening. Deliveries inside Germany take one \
    or two more days, to the rest of the European Union three to five, and you can follow every step in your account.";

/// The visitor asks the upstream's assistant through the proxy; their message's id.
async fn ask_assistant(pair: &Pair, v: &Visitor, agent: &str, key: &str) -> String {
    let mut ask = visitor_text(v, "When does my order ship?");
    ask["ai"] = json!({"agentId": agent});
    proxy_send(pair, v, ask, key).await.data()["id"].as_str().unwrap().to_owned()
}

/// The stream's frames up to the first that `last` accepts, the visitor's own messages left out.
async fn frames_until(
    stream: &mut common::sse::Events,
    last: impl Fn(&common::sse::Frame) -> bool,
) -> Vec<common::sse::Frame> {
    let mut frames = Vec::new();
    loop {
        let frame = stream.next().await.expect("the stream goes on");
        let done = last(&frame);
        if frame.data["sender"]["type"] != "customer" {
            frames.push(frame);
        }
        if done {
            return frames;
        }
    }
}

/// A visitor watching their conversation's event stream on the proxy, the
/// upstream's assistant (answering [`LONG_ANSWER`]) at hand.
struct Watching {
    _streams: tokio::sync::MutexGuard<'static, ()>,
    pair: Pair,
    v: Visitor,
    agent: String,
    stream: common::sse::Events,
}

async fn watching_the_assistant() -> Watching {
    let _streams = STREAMS.lock().await;
    let pair = pair().await;
    let agent = assistant(&pair, LONG_ANSWER).await;
    let v = visitor(&pair).await;
    let stream = open(&pair.proxy, &v.token, &v.conversation_id, None).await.unwrap();
    Watching { _streams, pair, v, agent, stream }
}

#[tokio::test]
async fn the_upstream_s_ai_reply_streams_word_by_word_to_the_proxy_s_event_stream_before_the_stored_message() {
    let Watching { _streams, pair, v, agent, mut stream } = watching_the_assistant().await;
    let asked = ask_assistant(&pair, &v, &agent, "ai-words").await;

    let frames = frames_until(&mut stream, |f| f.event == "message" && f.data["sender"]["type"] == "ai").await;
    let names: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
    let deltas = &names[1..names.len() - 1];
    assert_eq!((names[0], names[names.len() - 1]), ("start", "message"), "{names:?}");
    assert!(deltas.len() >= 3 && deltas.iter().all(|n| *n == "delta"), "several deltas, then the message: {names:?}");
    assert_eq!(frames[0].data["sender"]["name"], "Assistant");
    let written: String =
        frames.iter().filter(|f| f.event == "delta").map(|f| f.data["text"].as_str().unwrap()).collect();
    let stored = &frames[frames.len() - 1].data;
    assert_eq!(
        stored["content"]["en"].as_str(),
        Some(written.as_str()),
        "the deltas are the stored reply, nothing lost or doubled"
    );
    assert_eq!(stored["parentId"], asked.as_str());
    assert_eq!(upstream_texts(&pair, &v.conversation_id).await, ["When does my order ship?", LONG_ANSWER]);

    // The next question's reply streams too: the relay follows each reply.
    ask_assistant(&pair, &v, &agent, "ai-words-2").await;
    let frames = frames_until(&mut stream, |f| f.event == "message" && f.data["sender"]["type"] == "ai").await;
    assert_eq!(frames[0].event, "start", "{frames:?}");
    assert!(frames.iter().filter(|f| f.event == "delta").count() >= 3, "{frames:?}");
}

#[tokio::test]
async fn a_reply_dropped_upstream_by_a_hand_off_ends_in_idle_on_the_proxy_s_event_stream() {
    let Watching { _streams, pair, v, agent, mut stream } = watching_the_assistant().await;
    ask_assistant(&pair, &v, &agent, "ai-dropped").await;
    let started = frames_until(&mut stream, |f| f.event == "delta").await;
    assert_eq!(started[0].event, "start", "{started:?}");

    // Support takes over with the key, straight upstream, while the assistant writes.
    pair.upstream.call::<HandOff>(&pair.key, json!({"conversationId": v.conversation_id})).await.data();
    // (Whether the reply had been stored just before is the upstream's race, not the proxy's.)
    let rest = frames_until(&mut stream, |f| f.event != "delta").await;
    assert_eq!(rest.last().unwrap().event, "idle", "the draft ends, no stored reply: {rest:?}");
}
