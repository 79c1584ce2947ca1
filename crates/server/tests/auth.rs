//! API keys: both headers, roles, and workspaces that never see each other.

mod common;

use common::{send, spawn_app};
use connect360_api::{
    CreateTemplate, DeleteConversation, GetOrCreateConversation, ListMessages, SendMessage, UpdateConversation,
};
use connect360_server::domain::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn no_key_and_an_unknown_key_are_unauthorized() {
    let app = spawn_app().await;
    let req = app.request(Method::POST, "/api/trpc/v1.connect.send").await.json(&json!({}));
    let message = send(req).await.error("UNAUTHORIZED");
    assert!(message.starts_with("Missing API key"), "{message}");
    let message = app.call::<SendMessage>("c360_not_a_key", json!({})).await.error("UNAUTHORIZED");
    assert_eq!(message, "Invalid API key.");
    let req = app.request(Method::POST, "/api/trpc/v1.connect.send").await.header("authorization", "Basic abc");
    send(req).await.error("UNAUTHORIZED");
}

#[tokio::test]
async fn bearer_and_x_api_key_are_both_accepted() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;
    let input = json!({"conversationId": conv, "content": {"en": "by x-api-key"}});
    let req = app.request(Method::POST, "/api/trpc/v1.connect.send").await.header("x-api-key", &key).json(&input);
    let answer = send(req).await;
    assert_eq!(answer.data()["content"]["en"], "by x-api-key");
    let req = app.request(Method::POST, "/api/trpc/v1.connect.send").await.bearer_auth(&key).json(&input);
    send(req).await.data();
}

#[tokio::test]
async fn roles_limit_what_a_key_may_do() {
    let app = spawn_app().await;
    let full = app.key(Role::Full).await;
    let read = app.key(Role::Read).await;
    let engage = app.key(Role::Engage).await;
    let conv = app.conversation(&full).await;
    app.send_text(&full, &conv, "hello").await;

    // read: may list, may not write.
    app.call::<ListMessages>(&read, json!({"conversationId": conv})).await.data();
    for message in [
        app.call::<SendMessage>(&read, json!({"conversationId": conv, "content": {"en": "x"}})).await,
        app.call::<GetOrCreateConversation>(&read, json!({"customer": {"externalId": "r"}})).await,
        app.call::<UpdateConversation>(&read, json!({"id": conv, "name": "x"})).await,
        app.call::<CreateTemplate>(&read, json!({"name": "t", "content": {"en": "x"}})).await,
    ] {
        assert_eq!(message.error("FORBIDDEN"), "Unauthorized API key permissions.");
    }
    // engage: may write, may not delete.
    app.send_text(&engage, &conv, "from engage").await;
    app.call::<DeleteConversation>(&engage, json!({"id": conv})).await.error("FORBIDDEN");
    // The permission is checked before the input: a bad input still says FORBIDDEN.
    app.call::<DeleteConversation>(&engage, json!({})).await.error("FORBIDDEN");
    // full: may delete.
    app.call::<DeleteConversation>(&full, json!({"id": conv})).await.data();
}

#[tokio::test]
async fn a_key_never_sees_another_workspace() {
    let app = spawn_app().await;
    let ours = app.key(Role::Full).await;
    let theirs = app.key_in("acme", Role::Full).await;
    let conv = app.conversation(&ours).await;
    let msg = app.send_text(&ours, &conv, "private").await;

    app.call::<ListMessages>(&theirs, json!({"conversationId": conv})).await.error("NOT_FOUND");
    app.call::<SendMessage>(&theirs, json!({"conversationId": conv, "content": {"en": "x"}})).await.error("NOT_FOUND");
    app.call::<UpdateConversation>(&theirs, json!({"id": conv, "name": "stolen"})).await.error("NOT_FOUND");
    app.call::<DeleteConversation>(&theirs, json!({"id": conv})).await.error("NOT_FOUND");

    // Their own conversation can't reply to our message or use our customer.
    let their_conv = app.conversation(&theirs).await;
    let message = app
        .call::<SendMessage>(
            &theirs,
            json!({"conversationId": their_conv, "parentId": msg["id"], "content": {"en": "x"}}),
        )
        .await
        .error("BAD_REQUEST");
    assert_eq!(message, "parentId: not a message of this conversation");
    let ours_conv = app
        .call::<GetOrCreateConversation>(&ours, json!({"customer": {"externalId": "shared-id", "name": "Ours"}}))
        .await;
    let our_customer = ours_conv.data()["customerId"].as_str().unwrap().to_owned();
    app.call::<GetOrCreateConversation>(&theirs, json!({"customerId": our_customer})).await.error("NOT_FOUND");
    // The same external id in another workspace is another customer.
    let theirs_conv =
        app.call::<GetOrCreateConversation>(&theirs, json!({"customer": {"externalId": "shared-id"}})).await;
    assert_ne!(theirs_conv.data()["customerId"], our_customer);
    assert_ne!(theirs_conv.data()["id"], ours_conv.data()["id"]);
}

/// Keys are kept in memory a moment (`key_cache`): one taken out of the
/// store, here behind the server's back as another process would, stops
/// working once that moment is over.
#[tokio::test]
async fn a_key_removed_from_the_store_stops_working_within_a_second() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;
    app.send_text(&key, &conv, "while the key exists").await;
    sqlx::query("DELETE FROM api_keys").execute(&app.db_writable().await).await.unwrap();
    tokio::time::sleep(connect360_server::key_cache::DEFAULT_TTL).await;
    let message = app
        .call::<SendMessage>(&key, json!({"conversationId": conv, "content": {"en": "x"}}))
        .await
        .error("UNAUTHORIZED");
    assert_eq!(message, "Invalid API key.");
}
