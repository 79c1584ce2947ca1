//! Upstream mode: our own server in normal mode plays the hosted API, on
//! loopback with its own store and key; the Rust tRPC client, and then a
//! proxy instance in upstream mode, call it.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, spawn_app, spawn_app_on};
use connect360_api::{
    Conversation, ErrorCode, GetOrCreateConversation, ListMessages, ListMessagesInput, SendInput, SendMessage,
};
use connect360_server::domain::Role;
use connect360_server::upstream::client::{ApiKey, ClientConfig, Repeat, TrpcClient};
use connect360_server::upstream::error::UpstreamError;
use serde_json::json;

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
    assert!(
        matches!(&missing, UpstreamError::Refused { code: ErrorCode::NotFound, status: 404, .. }),
        "{missing:?}"
    );
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
    let (addr, data) = (upstream.addr, upstream.data.clone());
    let base = upstream.url("/api/trpc");
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let client = client_at(&base, &key, |c| {
        c.attempts = 8;
        c.backoff = Duration::from_millis(100);
    });
    // Without a key the send is not repeated: it fails at once.
    let started = Instant::now();
    let once = client.call::<SendMessage>(&text(&conv.id, "lost?"), Repeat::Once).await.unwrap_err();
    assert!(matches!(once, UpstreamError::Unreachable { .. }), "{once:?}");
    assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());

    let sending = tokio::spawn({
        let client = client.clone();
        let input = text(&conv.id, "Are you there?");
        async move { client.call::<SendMessage>(&input, Repeat::Keyed("send-back")).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!sending.is_finished(), "the send waits for the upstream");
    let upstream = spawn_app_on(data, None, |config| config.addr = addr).await;
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
        c.attempts = 2;
        c.backoff = Duration::from_millis(50);
    });
    let started = Instant::now();
    let err = client.call::<ListMessages>(&list("conv_1"), Repeat::Query).await.unwrap_err();
    assert!(matches!(err, UpstreamError::Timeout { .. }), "{err:?}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(600) && took < Duration::from_secs(3), "two attempts of 300 ms: {took:?}");
}
