//! JSON objects come back with their keys in the order they were sent, so a
//! client reads back the bytes it stored (serde_json's `preserve_order`, and
//! `Content`'s locales in an `IndexMap`).

mod common;

use common::spawn_app;
use connect360_api::Procedure;
use connect360_server::domain::Role;
use serde_json::Value;

/// Posts a mutation's raw JSON input; the raw answer text.
async fn post_raw<P: Procedure>(app: &common::TestApp, key: &str, input: &str) -> String {
    let res = app
        .http
        .post(app.url(&format!("/api/trpc/{}", P::PATH)))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(input.to_owned())
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).unwrap()["result"].is_object(), "{text}");
    text
}

#[tokio::test]
async fn metadata_round_trips_byte_identical_in_either_order() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    for (external_id, metadata) in [
        ("u-en-ar", r#"{"en":"Hello","ar":"مرحبا"}"#),
        ("u-ar-en", r#"{"ar":"مرحبا","en":"Hello"}"#),
        ("u-nested", r#"{"z":{"b":1,"a":[{"y":2,"x":3}]},"a":null}"#),
    ] {
        let input = format!(r#"{{"customer":{{"externalId":"{external_id}"}},"metadata":{metadata}}}"#);
        let created = post_raw::<connect360_api::GetOrCreateConversation>(&app, &key, &input).await;
        assert!(created.contains(&format!(r#""metadata":{metadata}"#)), "{created}");
        // Read back from the store, not only echoed.
        let id = serde_json::from_str::<Value>(&created).unwrap()["result"]["data"]["id"].as_str().unwrap().to_owned();
        let again = post_raw::<connect360_api::UpdateConversation>(&app, &key, &format!(r#"{{"id":"{id}"}}"#)).await;
        assert!(again.contains(&format!(r#""metadata":{metadata}"#)), "{again}");
    }
}

#[tokio::test]
async fn content_and_objects_inside_it_keep_their_order() {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let conv = app.conversation(&key).await;
    for content in [
        r#"{"en":{"title":"Order","body":"Shipped","actions":[{"label":"Track","href":"/t"}]}}"#,
        // Content's locales too, in either order.
        r#"{"en":"Hello","ar":"مرحبا"}"#,
        r#"{"tr":"Merhaba","ar":"مرحبا","en":"Hello"}"#,
    ] {
        assert_content_round_trips(&app, &key, &conv, content).await;
    }
}

async fn assert_content_round_trips(app: &common::TestApp, key: &str, conv: &str, content: &str) {
    let input = format!(r#"{{"conversationId":"{conv}","content":{content}}}"#);
    let sent = post_raw::<connect360_api::SendMessage>(app, key, &input).await;
    assert!(sent.contains(&format!(r#""content":{content}"#)), "{sent}");
    let listed = app
        .http
        .get(app.url("/api/trpc/v1.connect.listMessages"))
        .query(&[("input", format!(r#"{{"conversationId":"{conv}"}}"#))])
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains(&format!(r#""content":{content}"#)), "{listed}");
}
