//! claimGuestConversations, and the session endpoint's merge at sign-in: a
//! guest's conversations move (never copied) to the known customer, only for
//! a caller holding the guest's visitor token.

mod common;

use common::{Answer, TestApp, send, spawn_app};
use connect360_api::{
    ClaimGuestConversations, CreateSubConversation, GetOrCreateConversation, ListMessages, SendMessage,
    UpdateConversation, WIDGET_SESSION_PATH,
};
use connect360_server::domain::{Domain, Role};
use connect360_server::store::Widget;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ORIGIN: &str = "https://example.com";
// echo -n user_42 | openssl dgst -sha256 -hmac s3cret
const USER_42_HASH: &str = "3ef7f38be75e32c21a3751afc6ffeb80bcd28532a892f406137e4d288436cb57";

async fn widget(app: &TestApp) -> Widget {
    let ws = app.workspace("default").await;
    app.store.create_widget(&ws.id, None, &[Domain::parse("d", "example.com").unwrap()], Some("s3cret")).await.unwrap()
}

async fn session(app: &TestApp, input: Value) -> Answer {
    send(app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", ORIGIN).json(&input)).await
}

struct Guest {
    token: String,
    conversation: String,
    external_id: String,
    /// The ids of the guest's messages, oldest first.
    messages: Vec<String>,
}

/// A guest who wrote two messages.
async fn guest_who_chatted(app: &TestApp, w: &Widget) -> Guest {
    let answer = session(app, json!({"widgetKey": w.public_key})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let token = answer.body["token"].as_str().unwrap().to_owned();
    let conversation = answer.body["conversation"]["id"].as_str().unwrap().to_owned();
    let external_id = answer.body["customer"]["externalId"].as_str().unwrap().to_owned();
    let mut messages = Vec::new();
    for text in ["Hi, a question about my order", "It is #1042"] {
        let input = json!({"conversationId": conversation, "sender": "customer",
            "customer": {"externalId": external_id}, "content": {"en": text}});
        messages.push(app.call::<SendMessage>(&token, input).await.data()["id"].as_str().unwrap().to_owned());
    }
    Guest { token, conversation, external_id, messages }
}

async fn message_ids(app: &TestApp, key: &str, conversation: &str) -> Vec<(String, String)> {
    let page = app.call::<ListMessages>(key, json!({"conversationId": conversation})).await;
    page.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m["sender"]["id"].as_str().unwrap().to_owned()))
        .collect()
}

async fn conversation_of(app: &TestApp, key: &str, id: &str) -> Value {
    app.call::<UpdateConversation>(key, json!({"id": id})).await.data().clone()
}

#[tokio::test]
async fn a_claim_moves_the_guest_s_conversations_with_their_messages_and_is_idempotent() {
    let app = spawn_app().await;
    let w = widget(&app).await;
    let key = app.key(Role::Engage).await;
    let guest = guest_who_chatted(&app, &w).await;
    app.send_text(&key, &guest.conversation, "Let me check.").await;
    let sub =
        app.call::<CreateSubConversation>(&key, json!({"parentId": guest.conversation, "name": "Order #1042"})).await;
    let sub = sub.data()["id"].as_str().unwrap().to_owned();
    let before: Vec<String> =
        message_ids(&app, &key, &guest.conversation).await.into_iter().map(|(id, _)| id).collect();

    let input = json!({"fingerprint": guest.token, "guestExternalId": guest.external_id,
        "customer": {"externalId": "user_42", "name": "Jane"}, "claimMetadata": {"claimedFrom": "web"}});
    let claimed = app.call::<ClaimGuestConversations>(&key, input.clone()).await;
    assert_eq!(claimed.data(), &json!({"claimed": 2, "reparented": 0}));

    // The known customer's conversation is the guest's: same id, same messages in the same order.
    let known = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "user_42"}})).await;
    assert_eq!(known.data()["id"], guest.conversation.as_str());
    assert_eq!(known.data()["metadata"]["claimedFrom"], "web");
    let customer_id = known.data()["customerId"].as_str().unwrap().to_owned();
    let after = message_ids(&app, &key, &guest.conversation).await;
    assert_eq!(after.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), before);
    for (id, sender) in &after {
        if guest.messages.contains(id) {
            assert_eq!(*sender, customer_id, "the guest's messages are the known customer's now");
        }
    }
    assert_eq!(conversation_of(&app, &key, &sub).await["customerId"], customer_id.as_str());
    // The guest's token no longer reaches it.
    app.call::<ListMessages>(&guest.token, json!({"conversationId": guest.conversation})).await.error("NOT_FOUND");

    // Twice is harmless.
    let again = app.call::<ClaimGuestConversations>(&key, input).await;
    assert_eq!(again.data(), &json!({"claimed": 0, "reparented": 0}));
    assert_eq!(message_ids(&app, &key, &guest.conversation).await, after);
}

#[tokio::test]
async fn claimed_conversations_go_under_the_target_parent() {
    let app = spawn_app().await;
    let w = widget(&app).await;
    let key = app.key(Role::Engage).await;
    let known = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "user_42"}})).await;
    let parent = known.data()["id"].as_str().unwrap().to_owned();
    let guest = guest_who_chatted(&app, &w).await;
    let sub = app.call::<CreateSubConversation>(&key, json!({"parentId": guest.conversation})).await;
    let sub = sub.data()["id"].as_str().unwrap().to_owned();

    let input = json!({"fingerprint": guest.token, "customer": {"externalId": "user_42"},
        "targetParentId": parent, "guestLocalConversationId": guest.conversation});
    assert_eq!(app.call::<ClaimGuestConversations>(&key, input).await.data(), &json!({"claimed": 2, "reparented": 2}));
    for id in [&guest.conversation, &sub] {
        assert_eq!(conversation_of(&app, &key, id).await["parentId"], parent.as_str(), "{id}");
    }
    assert_eq!(message_ids(&app, &key, &guest.conversation).await.len(), 2);
}

#[tokio::test]
async fn bad_claims_are_refused_and_move_nothing() {
    let app = spawn_app().await;
    let w = widget(&app).await;
    let key = app.key(Role::Engage).await;
    let guest = guest_who_chatted(&app, &w).await;
    let claim = |extra: Value| {
        let mut input = json!({"fingerprint": guest.token, "customer": {"externalId": "user_42"}});
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        input
    };
    let refused = |input: Value, key: String| {
        let app = &app;
        async move { app.call::<ClaimGuestConversations>(&key, input).await }
    };

    let short = refused(json!({"fingerprint": "vt_1", "customerId": "cus_1"}), key.clone()).await.error("BAD_REQUEST");
    assert_eq!(short, "fingerprint: at least 8 characters");
    let none = refused(json!({"fingerprint": guest.token}), key.clone()).await.error("BAD_REQUEST");
    assert_eq!(none, "customerId: one of customerId or customer is required");
    // A guessed or forged token proves nothing.
    let (payload, signature) = guest.token.split_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{payload}.{first}{}", &signature[1..]);
    let message = refused(claim(json!({"fingerprint": forged})), key.clone()).await.error("BAD_REQUEST");
    assert_eq!(message, "fingerprint: is not a visitor token of this server");
    let message = refused(claim(json!({"fingerprint": guest.external_id})), key.clone()).await.error("BAD_REQUEST");
    assert_eq!(message, "fingerprint: is not a visitor token of this server");
    // Another guest's external id with this token.
    refused(claim(json!({"guestExternalId": "guest_0123456789abcdef"})), key.clone()).await.error("NOT_FOUND");
    // Another workspace's key: that guest is not theirs.
    refused(claim(json!({})), app.key_in("other", Role::Engage).await).await.error("NOT_FOUND");
    // Read-only keys and visitor tokens may not claim.
    refused(claim(json!({})), app.key(Role::Read).await).await.error("FORBIDDEN");
    refused(claim(json!({})), guest.token.clone()).await.error("FORBIDDEN");
    // Someone else's conversation.
    let stranger = app.conversation(&key).await;
    refused(claim(json!({"guestLocalConversationId": stranger})), key.clone()).await.error("NOT_FOUND");
    let message = refused(claim(json!({"targetParentId": stranger})), key.clone()).await.error("BAD_REQUEST");
    assert_eq!(message, "targetParentId: is not a conversation of the customer");
    // Nothing moved: the guest still has its conversation and messages.
    let page = app.call::<ListMessages>(&guest.token, json!({"conversationId": guest.conversation})).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_known_visitor_s_token_is_not_a_guest_s_fingerprint() {
    let app = spawn_app().await;
    let w = widget(&app).await;
    let key = app.key(Role::Engage).await;
    let known =
        session(&app, json!({"widgetKey": w.public_key, "externalId": "user_42", "userHash": USER_42_HASH})).await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.body);
    let input = json!({"fingerprint": known.body["token"], "customer": {"externalId": "user_99"}});
    let message = app.call::<ClaimGuestConversations>(&key, input).await.error("BAD_REQUEST");
    assert_eq!(message, "fingerprint: names a known visitor, not a guest");
}

#[tokio::test]
async fn signing_in_with_the_guest_s_token_and_a_valid_hash_keeps_the_history() {
    let app = spawn_app().await;
    let w = widget(&app).await;
    let key = app.key(Role::Engage).await;
    let guest = guest_who_chatted(&app, &w).await;

    // A wrong hash: refused, nothing merged.
    let wrong = session(
        &app,
        json!({"widgetKey": w.public_key, "externalId": "user_42", "userHash": "00", "guestToken": guest.token}),
    )
    .await;
    assert_eq!(wrong.error("FORBIDDEN"), "userHash: does not match externalId");
    let page = app.call::<ListMessages>(&guest.token, json!({"conversationId": guest.conversation})).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 2);

    let known = session(
        &app,
        json!({"widgetKey": w.public_key, "externalId": "user_42", "userHash": USER_42_HASH,
        "name": "Jane", "guestToken": guest.token}),
    )
    .await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.body);
    assert_eq!(known.body["customer"]["externalId"], "user_42");
    assert_eq!(known.body["conversation"]["id"], guest.conversation.as_str(), "the guest's conversation carries on");
    let token = known.body["token"].as_str().unwrap();
    let ids: Vec<String> = message_ids(&app, token, &guest.conversation).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, guest.messages);
    // Support sees one conversation under the known customer.
    let by_api = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "user_42"}})).await;
    assert_eq!(by_api.data()["id"], guest.conversation.as_str());

    // A known visitor without a guest token merges nothing.
    let other = guest_who_chatted(&app, &w).await;
    let hash = hmac_hex("s3cret", "user_43");
    let fresh = session(&app, json!({"widgetKey": w.public_key, "externalId": "user_43", "userHash": hash})).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    assert_ne!(fresh.body["conversation"]["id"], other.conversation.as_str());
    let page = app.call::<ListMessages>(&other.token, json!({"conversationId": other.conversation})).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 2);
}

fn hmac_hex(secret: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
