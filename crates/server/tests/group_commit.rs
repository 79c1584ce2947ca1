//! Concurrent sends, committed together in batches: each is stored once, in
//! order, and one that fails takes nothing else with it.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{Answer, TestApp, send, spawn_app};
use connect360_api::{ListMessages, SendMessage};
use connect360_server::domain::Role;
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// Every message of the conversation, oldest first.
async fn all_messages(app: &TestApp, key: &str, conv: &str) -> Vec<Value> {
    let mut stored = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = app.call::<ListMessages>(key, json!({"conversationId": conv, "limit": 100, "cursor": cursor})).await;
        let data = page.data();
        stored.splice(0..0, data["items"].as_array().unwrap().iter().cloned());
        cursor = data["nextCursor"].clone();
        if cursor.is_null() {
            return stored;
        }
    }
}

/// A server, an `engage` key, and a conversation to send into.
async fn app_with_conversation() -> (Arc<TestApp>, String, String) {
    let app = spawn_app().await;
    let key = app.key(Role::Engage).await;
    let conv = app.conversation(&key).await;
    (Arc::new(app), key, conv)
}

async fn send_with_key(app: &TestApp, key: &str, idempotency_key: &str, input: Value) -> Answer {
    let req =
        app.http.post(app.url("/api/trpc/v1.connect.send")).bearer_auth(key).header("idempotency-key", idempotency_key);
    send(req.json(&input)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_are_each_stored_once_in_order_per_conversation() {
    let app = Arc::new(spawn_app().await);
    let key = app.key(Role::Engage).await;
    let convs = [app.conversation(&key).await, app.conversation(&key).await];
    let mut clients = JoinSet::new();
    for client in 0..32 {
        let (app, key, conv) = (app.clone(), key.clone(), convs[client % 2].clone());
        clients.spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..8 {
                let message = app.send_text(&key, &conv, &format!("{client}-{i}")).await;
                acknowledged.push(message["id"].as_str().unwrap().to_owned());
            }
            (client, acknowledged)
        });
    }
    let acknowledged = clients.join_all().await;
    for (n, conv) in convs.iter().enumerate() {
        let stored = all_messages(&app, &key, conv).await;
        let ids: Vec<&str> = stored.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 16 * 8);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "no message is stored twice");
        for (client, sent) in acknowledged.iter().filter(|(client, _)| client % 2 == n) {
            let positions: Vec<usize> = sent
                .iter()
                .map(|id| ids.iter().position(|stored| stored == id).expect("acknowledged is stored"))
                .collect();
            assert!(positions.is_sorted(), "client {client}'s sends are stored in the order sent: {positions:?}");
            for (i, &at) in positions.iter().enumerate() {
                assert_eq!(stored[at]["content"], json!({"en": format!("{client}-{i}")}));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_send_in_a_concurrent_burst_fails_alone() {
    let (app, key, conv) = app_with_conversation().await;
    let mut burst = JoinSet::new();
    for i in 0..32 {
        let input = match i {
            7 => json!({"conversationId": conv, "content": {"en": "x"}, "parentId": "msg_nope"}),
            19 => json!({"conversationId": "conv_nope", "content": {"en": "x"}}),
            _ => json!({"conversationId": conv, "content": {"en": format!("m{i}")}}),
        };
        let (app, key) = (app.clone(), key.clone());
        burst.spawn(async move { (i, app.call::<SendMessage>(&key, input).await) });
    }
    let mut acknowledged = HashSet::new();
    for (i, answer) in burst.join_all().await {
        match i {
            7 => assert_eq!(answer.error("BAD_REQUEST"), "parentId: not a message of this conversation"),
            19 => assert_eq!(answer.error("NOT_FOUND"), "Conversation not found: conv_nope"),
            _ => {
                acknowledged.insert(answer.data()["id"].as_str().unwrap().to_owned());
            }
        }
    }
    let stored: HashSet<String> =
        all_messages(&app, &key, &conv).await.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(acknowledged.len(), 30);
    assert_eq!(stored, acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_idempotency_key_sent_concurrently_stores_one_message() {
    let (app, key, conv) = app_with_conversation().await;
    let mut burst = JoinSet::new();
    for _ in 0..16 {
        let (app, key, input) = (app.clone(), key.clone(), json!({"conversationId": conv, "content": {"en": "once"}}));
        burst.spawn(async move { send_with_key(&app, &key, "client-msg-1", input).await.data().clone() });
    }
    let answers = burst.join_all().await;
    let stored = all_messages(&app, &key, &conv).await;
    assert_eq!(stored.len(), 1);
    for answer in answers {
        assert_eq!(answer, stored[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_for_another_message_in_the_same_burst_is_a_conflict() {
    let (app, key, conv) = app_with_conversation().await;
    let mut burst = JoinSet::new();
    for i in 0..16 {
        let text = if i % 2 == 0 { "a" } else { "b" };
        let (app, key, input) = (app.clone(), key.clone(), json!({"conversationId": conv, "content": {"en": text}}));
        burst.spawn(async move { (text, send_with_key(&app, &key, "client-msg-1", input).await) });
    }
    let answers = burst.join_all().await;
    let stored = all_messages(&app, &key, &conv).await;
    assert_eq!(stored.len(), 1, "whichever came first is stored, alone");
    for (text, answer) in answers {
        if stored[0]["content"] == json!({"en": text}) {
            assert_eq!(answer.data(), &stored[0]);
        } else {
            assert_eq!(answer.error("CONFLICT"), "Idempotency-Key was already used for a different message.");
        }
    }
}
