//! AI replies against the real server: the faq agent, the openai agent
//! against a fake endpoint, failures as notices, and restarts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{TestApp, spawn_app, spawn_app_with};
use connect360_api::{GetOrCreateConversation, ListMessages, SendMessage};
use connect360_server::ai::{AgentConfig, FaqSettings, OpenAiSettings};
use connect360_server::auth::Role;
use connect360_server::store::Store;
use serde_json::{Value, json};

const KNOWLEDGE: &str = "\
# Shipping
## Shipping {en}
Parcels leave within 2 business days.
## الشحن {ar}
نشحن الطلبات خلال يومي عمل.
# Returns
## Returns {en}
Return any item within 30 days.
## الإرجاع {ar}
يمكنك إرجاع أي منتج خلال 30 يومًا.
";

async fn agent(app: &TestApp, config: AgentConfig) -> String {
    let ws = app.workspace("default").await;
    app.store.create_agent(&ws.id, "Nordwind assistant", None, &config).await.unwrap()
}

fn faq() -> AgentConfig {
    AgentConfig::Faq(FaqSettings { knowledge: KNOWLEDGE.to_owned() })
}

/// A conversation of a new customer; returns its id and the customer's externalId.
async fn conversation(app: &TestApp, key: &str) -> (String, String) {
    let external = format!("visitor-{}", common::uuid_like());
    let answer = app.call::<GetOrCreateConversation>(key, json!({"customer": {"externalId": external}})).await;
    (answer.data()["id"].as_str().unwrap().to_owned(), external)
}

/// The customer asks with an AI reply requested; returns the stored question.
async fn ask(app: &TestApp, key: &str, (conv, external): &(String, String), text: &str, agent: &str) -> Value {
    let input = json!({
        "conversationId": conv, "sender": "customer", "customer": {"externalId": external},
        "content": {"en": text}, "ai": {"agentId": agent}
    });
    app.call::<SendMessage>(key, input).await.data().clone()
}

async fn ai_messages(app: &TestApp, key: &str, conv: &str) -> Vec<Value> {
    let page = app.call::<ListMessages>(key, json!({"conversationId": conv})).await;
    page.data()["items"].as_array().unwrap().iter().filter(|m| m["sender"]["type"] == "ai").cloned().collect()
}

/// Waits for the conversation's `n`th AI message.
async fn reply(app: &TestApp, key: &str, conv: &str, n: usize) -> Value {
    for _ in 0..200 {
        if let Some(message) = ai_messages(app, key, conv).await.get(n - 1) {
            return message.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no AI reply in {conv}");
}

async fn status(app: &TestApp, question: &Value) -> String {
    sqlx::query_scalar("SELECT status FROM ai_requests WHERE message_id = ?")
        .bind(question["id"].as_str().unwrap())
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_faq_agent_replies_to_the_question_in_the_visitor_s_language() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, faq()).await;
    let conv = conversation(&app, &key).await;

    let question = ask(&app, &key, &conv, "How long does shipping take?", &agent).await;
    let answer = reply(&app, &key, &conv.0, 1).await;
    assert_eq!(answer["content"], json!({"en": "Parcels leave within 2 business days."}));
    assert_eq!(answer["parentId"], question["id"]);
    assert_eq!(answer["sender"], json!({"type": "ai", "id": agent, "name": "Nordwind assistant", "image": null}));
    assert_eq!(status(&app, &question).await, "done");

    // Arabic typed in a widget whose interface is English: answered in Arabic.
    ask(&app, &key, &conv, "كيف أرجع المنتج؟", &agent).await;
    assert_eq!(reply(&app, &key, &conv.0, 2).await["content"], json!({"ar": "يمكنك إرجاع أي منتج خلال 30 يومًا."}));

    ask(&app, &key, &conv, "Do you sell bicycles?", &agent).await;
    assert_eq!(reply(&app, &key, &conv.0, 3).await["content"], json!({"en": "A team member will reply here shortly."}));
}

#[tokio::test]
async fn a_request_pending_at_a_stop_is_answered_after_the_restart() {
    let app = spawn_app_with(|c| c.ai_runner = false).await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, faq()).await;
    let conv = conversation(&app, &key).await;
    let question = ask(&app, &key, &conv, "returns?", &agent).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(ai_messages(&app, &key, &conv.0).await.is_empty());
    assert_eq!(status(&app, &question).await, "pending");

    let app = app.restart(|_| {}).await;
    let answer = reply(&app, &key, &conv.0, 1).await;
    assert_eq!(answer["content"], json!({"en": "Return any item within 30 days."}));
    assert_eq!(status(&app, &question).await, "done");
}

/// What the fake model endpoint was sent: the Authorization header and the body.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// An OpenAI-compatible endpoint on a random port answering `status` with
/// `body`; returns its base URL and what it is sent.
async fn fake_model(status: StatusCode, body: &'static str) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, axum::Json(request): axum::Json<Value>| async move {
            let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
            log.lock().unwrap().push((auth.to_owned(), request));
            (status, [(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), seen)
}

fn openai(base_url: &str, api_key_env: &str) -> AgentConfig {
    AgentConfig::Openai(OpenAiSettings {
        base_url: base_url.to_owned(),
        model: "test-model".to_owned(),
        api_key_env: api_key_env.to_owned(),
        system_prompt: Some("You are Nordwind's assistant.".to_owned()),
    })
}

/// Cargo sets this for the tests it runs: a key the test need not set itself.
const KEY_ENV: &str = "CARGO_PKG_NAME";

#[tokio::test]
async fn the_openai_agent_streams_the_model_s_answer_with_the_conversation_as_context() {
    let chunks = concat!(
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"Your parcel \"}}]}\n\n",
        ": a comment line\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"ships today.\"}}]}\n\n",
        "data: [DONE]\n\n",
    );
    let (base_url, seen) = fake_model(StatusCode::OK, chunks).await;
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, openai(&base_url, KEY_ENV)).await;
    let conv = conversation(&app, &key).await;
    app.send_text(&key, &conv.0, "Welcome to Nordwind!").await;
    let question = ask(&app, &key, &conv, "When does my parcel ship?", &agent).await;

    let answer = reply(&app, &key, &conv.0, 1).await;
    assert_eq!(answer["content"], json!({"en": "Your parcel ships today."}));
    assert_eq!(answer["parentId"], question["id"]);
    let seen = seen.lock().unwrap().clone();
    let (auth, request) = &seen[0];
    assert_eq!(auth, &format!("Bearer {}", env!("CARGO_PKG_NAME")));
    assert_eq!(request["model"], "test-model");
    assert_eq!(request["stream"], true);
    assert_eq!(
        request["messages"],
        json!([
            {"role": "system", "content": "You are Nordwind's assistant."},
            {"role": "assistant", "content": "Welcome to Nordwind!"},
            {"role": "user", "content": "When does my parcel ship?"},
        ])
    );
}

#[tokio::test]
async fn an_agent_that_fails_leaves_a_visible_notice() {
    let (base_url, _) = fake_model(StatusCode::INTERNAL_SERVER_ERROR, "boom").await;
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let conv = conversation(&app, &key).await;

    let failing = agent(&app, openai(&base_url, KEY_ENV)).await;
    let question = ask(&app, &key, &conv, "Hello?", &failing).await;
    let notice = reply(&app, &key, &conv.0, 1).await;
    assert_eq!(notice["content"], json!({"en": "The assistant could not answer: the model service answered HTTP 500."}));
    assert_eq!(notice["parentId"], question["id"]);
    assert_eq!(status(&app, &question).await, "failed");

    let keyless = agent(&app, openai(&base_url, "CONNECT360_TEST_UNSET_KEY")).await;
    ask(&app, &key, &conv, "Hello?", &keyless).await;
    let notice = reply(&app, &key, &conv.0, 2).await;
    let text = notice["content"]["en"].as_str().unwrap();
    assert!(text.contains("CONNECT360_TEST_UNSET_KEY is not set"), "{text}");
}
