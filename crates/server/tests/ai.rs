//! AI replies against the real server: the faq agent, the openai agent
//! against a fake endpoint, failures as notices, and restarts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{StoreKind, TestApp, spawn_app, spawn_app_with};
use connect360_api::{AI_STREAM_PATH, GetOrCreateConversation, HandOff, ListMessages, SendMessage};
use connect360_server::domain::Role;
use connect360_server::domain::{AgentConfig, FaqSettings, OpenAiSettings};
use serde_json::{Value, json};
use tokio::sync::Notify;

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
    sqlx::query_scalar("SELECT status FROM ai_requests WHERE message_id = $1")
        .bind(question["id"].as_str().unwrap())
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

on_both_stores! {
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
}

on_both_stores! {
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
}

/// What the fake model endpoint was sent: the Authorization header and the body.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// An OpenAI-compatible endpoint on a random port answering `status` with
/// `body`; returns its base URL and what it is sent.
async fn fake_model(status: StatusCode, body: &'static str) -> (String, Seen) {
    let gate = Arc::new(Notify::new());
    gate.notify_one();
    gated_fake_model(status, body, gate).await
}

/// As [`fake_model`], answering each request only once `gate` is notified.
async fn gated_fake_model(status: StatusCode, body: &'static str, gate: Arc<Notify>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, axum::Json(request): axum::Json<Value>| async move {
            let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
            log.lock().unwrap().push((auth.to_owned(), request));
            gate.notified().await;
            (status, [(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), seen)
}

/// An OpenAI-compatible endpoint that streams `first` at once and `rest`
/// once `gate` is notified: a model half-way through its answer.
async fn half_way_fake_model(first: &'static str, rest: &'static str, gate: Arc<Notify>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |axum::Json(request): axum::Json<Value>| async move {
            log.lock().unwrap().push((String::new(), request));
            let gate = gate.clone();
            let (mut writer, reader) = tokio::io::duplex(4096);
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                writer.write_all(first.as_bytes()).await.unwrap();
                gate.notified().await;
                writer.write_all(rest.as_bytes()).await.unwrap();
            });
            let chunks = tokio_util::io::ReaderStream::new(reader);
            ([(header::CONTENT_TYPE, "text/event-stream")], axum::body::Body::from_stream(chunks)).into_response()
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

const CHUNKS: &str = concat!(
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"Your parcel \"}}]}\n\n",
    ": a comment line\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\"ships today.\"}}]}\n\n",
    "data: [DONE]\n\n",
);

/// Cargo sets this for the tests it runs: a key the test need not set itself.
const KEY_ENV: &str = "CARGO_PKG_NAME";

on_both_stores! {
async fn the_openai_agent_streams_the_model_s_answer_with_the_conversation_as_context() {
    let (base_url, seen) = fake_model(StatusCode::OK, CHUNKS).await;
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
}

on_both_stores! {
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

    // An Arabic question: the visitor reads in Arabic that a person will answer.
    let (base_url, _) = fake_model(StatusCode::INTERNAL_SERVER_ERROR, "boom").await;
    let failing = agent(&app, openai(&base_url, KEY_ENV)).await;
    let arabic = ask(&app, &key, &conv, "هل يمكنك مساعدتي؟", &failing).await;
    let notice = reply(&app, &key, &conv.0, 3).await;
    assert_eq!(notice["parentId"], arabic["id"]);
    assert!(notice["content"]["ar"].as_str().unwrap().contains("سيرد عليك"), "{notice}");
    assert!(notice["content"]["en"].as_str().unwrap().contains("HTTP 500"), "{notice}");
}
}

/// Opens the AI stream and reads it to its end: its (event, data) pairs, or the error answer.
async fn stream(app: &TestApp, token: &str, input: Value) -> Result<Vec<(String, Value)>, Value> {
    let res = app.http.post(app.url(AI_STREAM_PATH)).bearer_auth(token).json(&input).send().await.unwrap();
    if !res.status().is_success() {
        return Err(res.json().await.unwrap());
    }
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let text = res.text().await.unwrap();
    assert!(text.ends_with("\n\n"), "{text:?}");
    Ok(text
        .split("\n\n")
        .filter(|frame| !frame.is_empty() && !frame.starts_with(':'))
        .map(|frame| {
            let (event, data) = frame.split_once('\n').unwrap();
            let data = data.strip_prefix("data: ").unwrap();
            (event.strip_prefix("event: ").unwrap().to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect())
}

on_both_stores! {
async fn the_stream_carries_deltas_then_the_stored_message_then_ends() {
    let gate = Arc::new(Notify::new());
    let (base_url, seen) = gated_fake_model(StatusCode::OK, CHUNKS, gate.clone()).await;
    let app = spawn_app().await;
    let key = app.key(Role::Read).await;
    let engage = app.key(Role::Engage).await;
    let agent = agent(&app, openai(&base_url, KEY_ENV)).await;
    let conv = conversation(&app, &engage).await;
    let question = ask(&app, &engage, &conv, "When does my parcel ship?", &agent).await;

    // The model is held until the stream watches, so that it sees every delta.
    let watching = tokio::spawn({
        let (url, key, conv) = (app.url(AI_STREAM_PATH), key.clone(), conv.0.clone());
        async move {
            let res = reqwest::Client::new().post(url).bearer_auth(key).json(&json!({"conversationId": conv})).send().await.unwrap();
            res.text().await.unwrap()
        }
    });
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    gate.notify_one();
    let text = watching.await.unwrap();
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert_eq!(frames[0], format!(r#"event: start
data: {{"sender":{{"type":"ai","id":"{agent}","name":"Nordwind assistant","image":null}}}}"#));
    assert_eq!(frames[1], r#"event: delta
data: {"text":"Your parcel "}"#);
    assert_eq!(frames[2], r#"event: delta
data: {"text":"ships today."}"#);
    let (name, data) = frames[3].split_once('\n').unwrap();
    assert_eq!(name, "event: message");
    let message: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(message["content"], json!({"en": "Your parcel ships today."}));
    assert_eq!(message["parentId"], question["id"]);
    assert_eq!(frames.len(), 4, "{text}");

    // Nothing pending: the newest reply at once, or idle when the caller has it.
    let events = stream(&app, &key, json!({"conversationId": conv.0})).await.unwrap();
    assert_eq!(events, vec![("message".to_owned(), message.clone())]);
    let events = stream(&app, &key, json!({"conversationId": conv.0, "lastMessageId": message["id"], "senderId": "x"})).await.unwrap();
    assert_eq!(events, vec![("idle".to_owned(), json!({}))]);
    let error = stream(&app, &key, json!({"conversationId": conv.0, "lastMessageId": "msg_nope"})).await.unwrap_err();
    assert_eq!(error["error"]["message"], "lastMessageId: not a message of this conversation");
}
}

/// Two guest visitors of a widget on example.com: each one's token and conversation.
async fn visitors(app: &TestApp) -> [(String, String); 2] {
    let mut sessions = Vec::new();
    for guest in common::guests(app, 2).await {
        let body = guest.session;
        assert_eq!(body["conversation"]["aiStoppedAt"], Value::Null, "AI replies are on at first");
        sessions.push((guest.token, guest.conversation_id));
    }
    sessions.try_into().unwrap()
}

on_both_stores! {
async fn a_visitor_streams_only_their_own_conversation() {
    let app = spawn_app().await;
    let [(alice, alice_conv), (bob, _)] = visitors(&app).await;

    let events = stream(&app, &alice, json!({"conversationId": alice_conv})).await.unwrap();
    assert_eq!(events, vec![("idle".to_owned(), json!({}))]);
    let error = stream(&app, &bob, json!({"conversationId": alice_conv})).await.unwrap_err();
    assert_eq!(error["error"]["data"]["code"], "NOT_FOUND");
    let error = stream(&app, "", json!({"conversationId": alice_conv})).await.unwrap_err();
    assert_eq!(error["error"]["data"]["code"], "UNAUTHORIZED");
    let error = stream(&app, &alice, json!({"conversation": alice_conv})).await.unwrap_err();
    assert_eq!(error["error"]["message"], "conversation: unknown field");
}
}

on_both_stores! {
async fn the_demo_seeds_one_faq_assistant_and_names_it_in_the_page() {
    let app = spawn_app().await;
    let first = connect360_server::demo::seed(app.store.as_ref()).await.unwrap();
    let again = connect360_server::demo::seed(app.store.as_ref()).await.unwrap();
    assert_eq!(first.ai_agent_id, again.ai_agent_id, "seeding twice keeps one assistant");
    assert!(again.page.contains(&format!("data-ai-agent=\"{}\"", again.ai_agent_id)));
    assert!(!again.page.contains("__DEMO_"));

    let key = app.key(Role::Engage).await;
    let conv = conversation(&app, &key).await;
    ask(&app, &key, &conv, "أين طلبي؟", &again.ai_agent_id).await;
    let answer = reply(&app, &key, &conv.0, 1).await;
    assert!(answer["content"]["ar"].as_str().unwrap().starts_with("بمجرد شحن"), "{answer}");
    assert_eq!(answer["sender"]["name"], "Nordwind assistant");
}
}

on_both_stores! {
async fn a_stop_ends_open_streams_instead_of_waiting_for_their_reply() {
    let app = spawn_app_with(|c| c.ai_runner = false).await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, faq()).await;
    let conv = conversation(&app, &key).await;
    ask(&app, &key, &conv, "returns?", &agent).await;
    let res = app.http.post(app.url(AI_STREAM_PATH)).bearer_auth(&key).json(&json!({"conversationId": conv.0})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    drop(app);
    let rest = tokio::time::timeout(Duration::from_secs(5), res.text()).await.expect("the stream ends with the server");
    assert!(!rest.unwrap_or_default().contains("event: message"));
}
}

on_both_stores! {
async fn a_slow_model_holds_up_no_other_conversation() {
    let gate = Arc::new(Notify::new());
    let (base_url, seen) = gated_fake_model(StatusCode::OK, CHUNKS, gate.clone()).await;
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let slow = agent(&app, openai(&base_url, KEY_ENV)).await;
    let fast = agent(&app, faq()).await;
    let (waiting, answered) = (conversation(&app, &key).await, conversation(&app, &key).await);
    ask(&app, &key, &waiting, "When does my parcel ship?", &slow).await;
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ask(&app, &key, &answered, "returns?", &fast).await;
    assert_eq!(reply(&app, &key, &answered.0, 1).await["content"], json!({"en": "Return any item within 30 days."}));
    assert!(ai_messages(&app, &key, &waiting.0).await.is_empty());
    gate.notify_one();
    assert_eq!(reply(&app, &key, &waiting.0, 1).await["content"], json!({"en": "Your parcel ships today."}));
}
}

/// Opens the AI stream; once its answer has begun (the server watches the
/// conversation from then on, whatever the load), reads it in the
/// background: its whole text once it ends.
async fn watch(app: &TestApp, key: &str, conv: &str) -> tokio::task::JoinHandle<String> {
    let res = reqwest::Client::new()
        .post(app.url(AI_STREAM_PATH))
        .bearer_auth(key)
        .json(&json!({"conversationId": conv}))
        .send()
        .await
        .unwrap();
    tokio::spawn(async move { res.text().await.unwrap() })
}

on_both_stores! {
async fn a_watcher_who_comes_late_gets_the_text_written_so_far_first() {
    let gate = Arc::new(Notify::new());
    let first = "data: {\"choices\":[{\"delta\":{\"content\":\"Your parcel \"}}]}\n\n";
    let rest = "data: {\"choices\":[{\"delta\":{\"content\":\"ships today.\"}}]}\n\ndata: [DONE]\n\n";
    let (base_url, seen) = half_way_fake_model(first, rest, gate.clone()).await;
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, openai(&base_url, KEY_ENV)).await;
    let conv = conversation(&app, &key).await;
    ask(&app, &key, &conv, "When does my parcel ship?", &agent).await;
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first words are written before anyone watches.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let watching = watch(&app, &key, &conv.0).await;
    gate.notify_one();
    let text = watching.await.unwrap();
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert!(frames[0].starts_with("event: start\n"), "{text}");
    assert_eq!(frames[1], "event: delta\ndata: {\"text\":\"Your parcel \"}", "{text}");
    assert_eq!(frames[2], "event: delta\ndata: {\"text\":\"ships today.\"}", "{text}");
    assert!(frames[3].starts_with("event: message\n"), "{text}");
    assert_eq!(frames.len(), 4, "{text}");
}
}

on_both_stores! {
async fn a_hand_off_drops_the_reply_being_written_and_stops_later_ones() {
    let gate = Arc::new(Notify::new());
    let (base_url, seen) = gated_fake_model(StatusCode::OK, CHUNKS, gate.clone()).await;
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let agent = agent(&app, openai(&base_url, KEY_ENV)).await;
    let conv = conversation(&app, &key).await;
    let question = ask(&app, &key, &conv, "When does my parcel ship?", &agent).await;
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let watching = watch(&app, &key, &conv.0).await;

    let handed = app.call::<HandOff>(&key, json!({"conversationId": conv.0})).await;
    let stopped_at = handed.data()["aiStoppedAt"].as_str().expect("the conversation says AI replies stopped").to_owned();
    let text = tokio::time::timeout(Duration::from_secs(5), watching).await.expect("the stream ends at the hand-off").unwrap();
    assert!(text.starts_with("event: start\n"), "{text}");
    assert!(text.ends_with("\n\nevent: idle\ndata: {}\n\n"), "{text}");
    assert_eq!(status(&app, &question).await, "cancelled");

    // The model finishes after all: its answer is dropped.
    gate.notify_one();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(ai_messages(&app, &key, &conv.0).await.is_empty());

    // Later questions ask nobody; a second hand-off changes nothing.
    let later = ask(&app, &key, &conv, "Anyone there?", &agent).await;
    let requests: Option<String> = sqlx::query_scalar("SELECT status FROM ai_requests WHERE message_id = $1")
        .bind(later["id"].as_str().unwrap())
        .fetch_optional(&app.db().await)
        .await
        .unwrap();
    assert_eq!(requests, None);
    let again = app.call::<HandOff>(&key, json!({"conversationId": conv.0})).await;
    assert_eq!(again.data()["aiStoppedAt"], stopped_at.as_str());
    assert_eq!(seen.lock().unwrap().len(), 1, "the model was asked once");
}
}

on_both_stores! {
async fn a_visitor_hands_off_only_their_own_conversation() {
    let app = spawn_app().await;
    let [(alice, alice_conv), (bob, _)] = visitors(&app).await;

    let refused = app.call::<HandOff>(&bob, json!({"conversationId": alice_conv})).await;
    assert_eq!(refused.error("NOT_FOUND"), format!("Conversation not found: {alice_conv}"));
    let reader = app.key(Role::Read).await;
    app.call::<HandOff>(&reader, json!({"conversationId": alice_conv})).await.error("FORBIDDEN");
    app.call::<HandOff>(&alice, json!({"conversation": alice_conv})).await.error("BAD_REQUEST");

    let handed = app.call::<HandOff>(&alice, json!({"conversationId": alice_conv})).await;
    assert!(handed.data()["aiStoppedAt"].is_string());
}
}

/// Waits until the model has been asked `n` times.
async fn asked(seen: &Seen, n: usize) {
    for _ in 0..400 {
        if seen.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the model was asked {} times, not {n}", seen.lock().unwrap().len());
}

async fn claimant(app: &TestApp, question: &Value) -> Option<String> {
    sqlx::query_scalar("SELECT claimed_by FROM ai_requests WHERE message_id = $1")
        .bind(question["id"].as_str().unwrap())
        .fetch_one(&app.db().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_never_answer_one_request() {
    StoreKind::Postgres
        .run(async {
            let gate = Arc::new(Notify::new());
            let (base_url, seen) = gated_fake_model(StatusCode::OK, CHUNKS, gate.clone()).await;
            let a = spawn_app().await;
            let b = a.another_instance(|_| {}).await;
            let key = a.key(Role::Engage).await;
            let agent = agent(&a, openai(&base_url, KEY_ENV)).await;
            let mut conversations = Vec::new();
            for i in 0..8 {
                // Asked through either instance: each one's runner is woken by its own sends.
                let app = if i % 2 == 0 { &a } else { &b };
                let conv = conversation(app, &key).await;
                ask(app, &key, &conv, "When does my parcel ship?", &agent).await;
                conversations.push(conv);
            }
            asked(&seen, 8).await;
            // Time for both runners to wake and sweep again: nobody asks twice.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(seen.lock().unwrap().len(), 8, "each request went to the model once");
            for _ in 0..8 {
                gate.notify_one();
            }
            for conv in &conversations {
                reply(&a, &key, &conv.0, 1).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            for conv in &conversations {
                assert_eq!(ai_messages(&b, &key, &conv.0).await.len(), 1, "one reply in {}", conv.0);
            }
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_an_instance_was_answering_when_it_died_is_answered_by_another() {
    StoreKind::Postgres
        .run(async {
            let lease = Duration::from_secs(2);
            let gate = Arc::new(Notify::new());
            let (base_url, seen) = gated_fake_model(StatusCode::OK, CHUNKS, gate.clone()).await;
            let a = spawn_app_with(|c| c.ai_claim_lease = lease).await;
            let key = a.key(Role::Engage).await;
            let agent = agent(&a, openai(&base_url, KEY_ENV)).await;
            let conv = conversation(&a, &key).await;
            let question = ask(&a, &key, &conv, "When does my parcel ship?", &agent).await;
            asked(&seen, 1).await;
            let dead = claimant(&a, &question).await.expect("A claimed the request");

            // A stops while the model writes: its claim is no longer renewed.
            let b = a.another_instance(|c| c.ai_claim_lease = lease).await;
            drop(a);
            asked(&seen, 2).await;
            // The model answers now, whoever waits (A's call went with it).
            let answer = loop {
                gate.notify_waiters();
                if let Some(message) = ai_messages(&b, &key, &conv.0).await.pop() {
                    break message;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert_eq!(answer["content"], json!({"en": "Your parcel ships today."}));
            assert_eq!(status(&b, &question).await, "done");
            let taker = claimant(&b, &question).await.expect("B claimed the request");
            assert_ne!(taker, dead, "answered by another instance");
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(ai_messages(&b, &key, &conv.0).await.len(), 1, "answered once");
        })
        .await
}
