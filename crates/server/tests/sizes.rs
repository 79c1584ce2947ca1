//! Bounded inputs: a message's content, templateContext, metadata and
//! attachment names over their bounds are a BAD_REQUEST naming the field,
//! and nothing of the request is stored.

mod common;

use common::{TestApp, spawn_app};
use connect360_api::{ATTACHMENTS_PATH, CreateTemplate, GetOrCreateConversation, ListMessages, SendMessage};
use connect360_server::domain::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::json;

async fn stored(app: &TestApp, key: &str, conversation: &str) -> usize {
    let page = app.call::<ListMessages>(key, json!({"conversationId": conversation})).await;
    page.data()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn content_is_at_most_64_kib_of_json() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let conversation = app.conversation(&key).await;
    // {"en":"…"} is 9 bytes around the text.
    let fits = "x".repeat(64 * 1024 - 9);
    let sent = app.call::<SendMessage>(&key, json!({"conversationId": conversation, "content": {"en": fits}})).await;
    sent.data();
    let over = format!("{fits}x");
    let refused = app.call::<SendMessage>(&key, json!({"conversationId": conversation, "content": {"en": over}})).await;
    assert_eq!(refused.error("BAD_REQUEST"), "content: at most 65536 bytes of JSON");
    assert_eq!(stored(&app, &key, &conversation).await, 1);
}

#[tokio::test]
async fn template_context_and_metadata_are_bounded() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let conversation = app.conversation(&key).await;
    let template = app.call::<CreateTemplate>(&key, json!({"name": "hi", "content": {"en": "Hi {{name}}"}})).await;
    let template_id = template.data()["id"].as_str().unwrap().to_owned();
    let context = json!({"name": "Jane", "padding": "x".repeat(17_000)});
    let refused = app
        .call::<SendMessage>(
            &key,
            json!({"conversationId": conversation, "templateId": template_id, "templateContext": context}),
        )
        .await;
    assert_eq!(refused.error("BAD_REQUEST"), "templateContext: at most 16384 bytes of JSON");
    assert_eq!(stored(&app, &key, &conversation).await, 0);

    let customer = json!({"externalId": "big", "metadata": {"notes": "x".repeat(17_000)}});
    let refused = app.call::<GetOrCreateConversation>(&key, json!({"customer": customer})).await;
    assert_eq!(refused.error("BAD_REQUEST"), "customer.metadata: at most 16384 bytes of JSON");
}

#[tokio::test]
async fn an_attachment_name_over_1024_bytes_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let upload = |name: String| {
        let form = Form::new().part("files", Part::bytes(b"hello".to_vec()).file_name(name));
        app.http.post(app.url(ATTACHMENTS_PATH)).bearer_auth(&key).multipart(form).send()
    };
    let res = upload(format!("{}.txt", "n".repeat(1100))).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "files[0].name: at most 1024 bytes, got 1104");
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files").fetch_one(&app.db().await).await.unwrap();
    assert_eq!(files, 0);
    let res = upload(format!("{}.txt", "n".repeat(1000))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "a long name that fits is shortened, not refused");
}
