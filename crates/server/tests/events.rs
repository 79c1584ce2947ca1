//! The event stream against the real server: resume from the store, live
//! messages and AI replies on one stream, who may watch, slow readers
//! dropped, and the caps.

mod common;

use std::time::Duration;

use common::sse::{Events, Frame, eventually, ids, open};
use common::{TestApp, spawn_app, spawn_app_with};
use connect360_api::{EVENTS_PATH, SendMessage};
use connect360_server::domain::{AgentConfig, FaqSettings, Role};
use connect360_server::hub::Topic;
use connect360_server::visitor_token::TokenSigner;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Guest visitors of a widget on example.com: each one's token and conversation.
async fn visitors(app: &TestApp, n: usize) -> Vec<(String, String)> {
    common::guests(app, n).await.into_iter().map(|g| (g.token, g.conversation_id)).collect()
}

#[tokio::test]
async fn a_resumed_stream_gets_exactly_what_it_missed_then_live_messages_once() {
    let app = spawn_app().await;
    let (read, engage) = (app.key(Role::Read).await, app.key(Role::Engage).await);
    let conv = app.conversation(&engage).await;
    let first = app.send_text(&engage, &conv, "one").await;
    let second = app.send_text(&engage, &conv, "two").await;

    // From the first on: the second from the store, then the third live.
    let mut events = open(&app, &read, &conv, first["id"].as_str()).await.unwrap();
    assert_eq!(
        events.next().await.unwrap(),
        Frame { event: "message".into(), id: second["id"].as_str().unwrap().into(), data: second.clone() }
    );
    let third = app.send_text(&engage, &conv, "three").await;
    assert_eq!(events.next().await.unwrap().data, third, "as send answered it, as listMessages lists it");
    drop(events);

    // Missed while away: exactly those, in order, then live; nothing twice.
    let mut missed = Vec::new();
    for text in ["four", "five", "six"] {
        missed.push(app.send_text(&engage, &conv, text).await["id"].as_str().unwrap().to_owned());
    }
    let mut events = open(&app, &read, &conv, third["id"].as_str()).await.unwrap();
    let seventh = app.send_text(&engage, &conv, "seven").await;
    // A retried send is the same message: it is not sent again.
    for _ in 0..2 {
        let req =
            app.http.post(app.url("/api/trpc/v1.connect.send")).bearer_auth(&engage).header("idempotency-key", "k1");
        common::send(req.json(&json!({"conversationId": conv, "content": {"en": "eight"}}))).await.data();
    }
    let frames = events.take(5).await;
    assert_eq!(ids(&frames[..3]), missed);
    assert_eq!(frames[3].id, seventh["id"]);
    assert_eq!(frames[4].data["content"], json!({"en": "eight"}));
    let ninth = app.send_text(&engage, &conv, "nine").await;
    assert_eq!(events.next().await.unwrap().id, ninth["id"], "the retried send came once");

    // Without Last-Event-ID: from the newest message on.
    let mut events = open(&app, &read, &conv, None).await.unwrap();
    let tenth = app.send_text(&engage, &conv, "ten").await;
    assert_eq!(events.next().await.unwrap().id, tenth["id"]);
}

/// The conversation's message ids, oldest first, as listMessages pages them.
async fn all_ids(app: &TestApp, key: &str, conv: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = app
            .call::<connect360_api::ListMessages>(key, json!({"conversationId": conv, "limit": 100, "cursor": cursor}))
            .await;
        let page = page.data().clone();
        let mut older: Vec<String> =
            page["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        older.append(&mut ids);
        ids = older;
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            return ids;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_opened_while_messages_are_stored_get_each_one_once_in_store_order() {
    let app = spawn_app().await;
    let (read, engage) = (app.key(Role::Read).await, app.key(Role::Engage).await);
    let conv = app.conversation(&engage).await;
    // More than a page of the catch-up behind.
    let mut first = String::new();
    for n in 0..150 {
        let id = app.send_text(&engage, &conv, &format!("before {n}")).await["id"].as_str().unwrap().to_owned();
        if n == 0 {
            first = id;
        }
    }
    let writer = tokio::spawn({
        let (url, engage, conv) = (app.url("/api/trpc/v1.connect.send"), engage.clone(), conv.clone());
        async move {
            let http = reqwest::Client::new();
            for n in 0..=100 {
                let text = if n == 100 { "end".to_owned() } else { format!("during {n}") };
                let body = json!({"conversationId": conv, "content": {"en": text}});
                assert!(http.post(&url).bearer_auth(&engage).json(&body).send().await.unwrap().status().is_success());
            }
        }
    });
    // Opened at different moments while the writer stores: each reads until "end".
    let readers = (0..6u64).map(|k| {
        let (app, read, conv, first) = (&app, &read, &conv, &first);
        async move {
            tokio::time::sleep(Duration::from_millis(40 * k)).await;
            let mut events = open(app, read, conv, Some(first)).await.unwrap();
            let mut ids = Vec::new();
            loop {
                let frame = events.next().await.unwrap();
                ids.push(frame.id);
                if frame.data["content"]["en"] == "end" {
                    return ids;
                }
            }
        }
    });
    let received = futures_util::future::join_all(readers).await;
    writer.await.unwrap();
    let stored = all_ids(&app, &read, &conv).await;
    assert_eq!(stored.len(), 251);
    for ids in received {
        assert_eq!(ids, stored[1..], "every message after the first, once, in store order");
    }
}

#[tokio::test]
async fn a_visitor_sees_the_support_reply_at_once_and_the_ai_reply_on_the_same_stream() {
    let app = spawn_app().await;
    let engage = app.key(Role::Engage).await;
    let (token, conv) = visitors(&app, 1).await.remove(0);
    let mut events = open(&app, &token, &conv, None).await.unwrap();
    let answer = app.send_text(&engage, &conv, "Happy to help!").await;
    assert_eq!(
        events.next().await.unwrap(),
        Frame { event: "message".into(), id: answer["id"].as_str().unwrap().into(), data: answer }
    );

    let ws = app.workspace("default").await;
    let knowledge = "# Shipping\n## Shipping {en}\nParcels leave within 2 business days.\n".to_owned();
    let agent =
        app.store.create_agent(&ws.id, "Assistant", None, &AgentConfig::Faq(FaqSettings { knowledge })).await.unwrap();
    let ask = json!({"conversationId": conv, "sender": "customer", "customerId": visitor_customer(&app, &token).await,
        "content": {"en": "When does shipping leave?"}, "ai": {"agentId": agent}});
    let question = app.call::<SendMessage>(&token, ask).await.data().clone();
    let question_id = question["id"].as_str().unwrap();

    let mut frames = vec![events.next().await.unwrap()];
    while frames.last().unwrap().event != "message" || frames.len() == 1 {
        frames.push(events.next().await.unwrap());
    }
    assert_eq!((frames[0].event.as_str(), &frames[0].data), ("message", &question));
    assert_eq!(frames[1].event, "start");
    assert_eq!(frames[1].data["sender"]["id"], agent);
    let (deltas, reply) = frames[2..].split_at(frames.len() - 3);
    assert!(deltas.iter().all(|f| f.event == "delta"), "{frames:?}");
    let text: String = deltas.iter().map(|f| f.data["text"].as_str().unwrap()).collect();
    assert_eq!(text, "Parcels leave within 2 business days.");
    assert!(
        frames[1..].iter().take(frames.len() - 2).all(|f| f.id == question_id),
        "AI events carry the newest message's id"
    );
    assert_eq!(reply[0].data["sender"]["type"], "ai");
    assert_eq!(reply[0].data["parentId"], question_id);
    assert_eq!(reply[0].id, reply[0].data["id"].as_str().unwrap());
}

#[tokio::test]
async fn a_visitor_s_stream_carries_attachment_urls_signed_for_them_as_list_messages_does() {
    let app = spawn_app().await;
    let engage = app.key(Role::Engage).await;
    let (token, conv) = visitors(&app, 1).await.remove(0);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"receipt".to_vec()).file_name("receipt.txt"));
    let res = app
        .http
        .post(app.url(connect360_api::ATTACHMENTS_PATH))
        .bearer_auth(&engage)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let uploaded: Value = res.json().await.unwrap();
    let file_id = uploaded["files"][0]["id"].as_str().unwrap().to_owned();

    let mut visitor = open(&app, &token, &conv, None).await.unwrap();
    let mut backend = open(&app, &engage, &conv, None).await.unwrap();
    let body = json!({"conversationId": conv, "content": {"en": "Your receipt"}, "attachmentIds": [file_id]});
    app.call::<SendMessage>(&engage, body).await.data();
    let seen = visitor.next().await.unwrap().data;
    let listed = app.call::<connect360_api::ListMessages>(&token, json!({"conversationId": conv})).await;
    assert_eq!(seen, listed.data()["items"][0], "as listMessages gives it to the visitor");
    let url = seen["attachments"][0]["url"].as_str().unwrap();
    assert!(url.contains("sig=") && url.contains("for=customer"), "{url}");
    // An API key's stream gets the plain path, fetched with the key.
    let plain = backend.next().await.unwrap().data;
    assert!(!plain["attachments"][0]["url"].as_str().unwrap().contains("sig="), "{plain}");
}

/// The customer id a visitor token was issued to.
async fn visitor_customer(app: &TestApp, token: &str) -> String {
    let signer = TokenSigner::new(app.store.token_key().await.unwrap());
    signer.verify(token, 0).unwrap().customer_id
}

#[tokio::test]
async fn only_the_conversation_s_own_visitor_and_valid_credentials_may_watch() {
    let app = spawn_app().await;
    let sessions = visitors(&app, 2).await;
    let [(alice, alice_conv), (bob, _)] = [sessions[0].clone(), sessions[1].clone()];
    assert!(open(&app, &alice, &alice_conv, None).await.is_ok());
    assert_eq!(open(&app, &bob, &alice_conv, None).await.err().unwrap().status, StatusCode::NOT_FOUND);

    let (payload, signature) = alice.split_once('.').unwrap();
    let forged = format!("{payload}.{}{}", if signature.starts_with('A') { 'B' } else { 'A' }, &signature[1..]);
    let refused = open(&app, &forged, &alice_conv, None).await.err().unwrap();
    assert_eq!((refused.status, refused.code()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    let signer = TokenSigner::new(app.store.token_key().await.unwrap());
    let mut claims = signer.verify(&alice, 0).unwrap();
    claims.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let refused = open(&app, &signer.sign(&claims), &alice_conv, None).await.err().unwrap();
    assert_eq!(
        (refused.status, refused.body["error"]["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Visitor token has expired."))
    );
    assert_eq!(open(&app, "", &alice_conv, None).await.err().unwrap().status, StatusCode::UNAUTHORIZED);

    // An id that is not a message of this conversation is refused, not replayed from anywhere.
    let refused = open(&app, &alice, &alice_conv, Some("msg_nope")).await.err().unwrap();
    assert_eq!(
        (refused.status, refused.body["error"]["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Last-Event-ID: not a message of this conversation"))
    );
    let res = app
        .http
        .get(app.url(EVENTS_PATH))
        .query(&[("conversation", &alice_conv)])
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_reader_that_never_reads_is_dropped_and_the_others_go_on() {
    let app = spawn_app_with(|config| config.event_buffer = 4).await;
    let (read, engage) = (app.key(Role::Read).await, app.key(Role::Engage).await);
    let conv = app.conversation(&engage).await;
    let topic = Topic::Conversation(conv.clone());
    let mut reader = open(&app, &read, &conv, None).await.unwrap();

    // A client with a small receive window that sends its request and never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr).await.unwrap();
    let request =
        format!("GET {EVENTS_PATH}?conversationId={conv} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {read}\r\n\r\n");
    stalled.write_all(request.as_bytes()).await.unwrap();
    eventually("both watch", async || app.events.subscribers(&topic) == 2).await;

    // Large messages fill the stalled connection's buffers, then its queue.
    let text = "x".repeat(32 * 1024);
    let mut sent = 0;
    while app.events.subscribers(&topic) == 2 {
        assert!(sent < 500, "the stalled reader was never dropped");
        app.send_text(&engage, &conv, &text).await;
        sent += 1;
        // The reader that reads keeps up.
        assert_eq!(reader.next().await.unwrap().data["content"]["en"].as_str().map(str::len), Some(text.len()));
    }
    assert_eq!(app.events.subscribers(&topic), 1, "only the stalled reader went");
    let last = app.send_text(&engage, &conv, "still here").await;
    assert_eq!(reader.next().await.unwrap().id, last["id"]);
    drop(stalled);
}

#[tokio::test]
async fn each_cap_answers_429_with_retry_after_and_a_closed_stream_frees_its_slot() {
    let app = spawn_app_with(|config| {
        config.streams_per_visitor = 2;
        config.streams_per_ip = 3;
    })
    .await;
    let sessions = visitors(&app, 2).await;
    let [(alice, alice_conv), (bob, bob_conv)] = [sessions[0].clone(), sessions[1].clone()];
    let first = open(&app, &alice, &alice_conv, None).await.unwrap();
    let _second = open(&app, &alice, &alice_conv, None).await.unwrap();
    let refused = open(&app, &alice, &alice_conv, None).await.err().unwrap();
    assert_eq!((refused.status, refused.code()), (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS"));
    assert_eq!(refused.headers[RETRY_AFTER], "10");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("this visitor"), "{:?}", refused.body);

    // Another visitor at the same address: the address's cap.
    let _bob = open(&app, &bob, &bob_conv, None).await.unwrap();
    let refused = open(&app, &bob, &bob_conv, None).await.err().unwrap();
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("this address"), "{:?}", refused.body);

    // A closed stream gives its slot back, to the visitor and to the address.
    drop(first);
    eventually("the slot is free", async || open(&app, &bob, &bob_conv, None).await.is_ok()).await;

    // API keys are trusted backends: not capped.
    let read = app.key(Role::Read).await;
    let mut keyed = Vec::new();
    for _ in 0..5 {
        keyed.push(open(&app, &read, &alice_conv, None).await.unwrap());
    }
}

#[tokio::test]
async fn a_widget_s_site_may_send_last_event_id() {
    let app = spawn_app().await;
    visitors(&app, 1).await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url(EVENTS_PATH))
        .header("origin", "https://example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization, last-event-id")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let allowed = res.headers()["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("last-event-id") && allowed.contains("authorization"), "{allowed}");
}

/// Two servers on one PostgreSQL database (issue 15): what one stores, and
/// the replies it writes, reach the streams open on the other.
mod across_instances {
    use std::time::Instant;

    use common::StoreKind;
    use connect360_api::{INBOX_EVENTS_PATH, Sender, SenderType};
    use connect360_server::hub::{Event, ReplyEvent};
    use connect360_server::pg_events::APPLICATION_NAME;

    use super::*;

    /// Two servers on one database, and on A a conversation's stream and
    /// the inbox's, open with a read key.
    struct Watching {
        a: TestApp,
        b: TestApp,
        engage: String,
        conv: String,
        events: Events,
        inbox: Events,
    }

    async fn watching_on_a() -> Watching {
        let a = spawn_app().await;
        let b = a.another_instance(|_| {}).await;
        let (read, engage) = (a.key(Role::Read).await, a.key(Role::Engage).await);
        let conv = a.conversation(&engage).await;
        let events = open(&a, &read, &conv, None).await.unwrap();
        let inbox = watch_inbox(&a, &read).await;
        Watching { a, b, engage, conv, events, inbox }
    }

    /// The inbox's member stream, open with an API key.
    async fn watch_inbox(app: &TestApp, key: &str) -> Events {
        let res = app.http.get(app.url(INBOX_EVENTS_PATH)).bearer_auth(key).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut events = Events { res, text: String::new() };
        events.fill().await;
        events
    }

    fn ids(frames: &[Frame]) -> Vec<String> {
        frames.iter().map(|f| f.id.clone()).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_message_sent_through_one_server_reaches_the_streams_open_on_the_other_within_a_second() {
        StoreKind::Postgres
            .run(async {
                // A is bound (not `_`), so that it keeps serving.
                let Watching { a: _a, b, engage, conv, mut events, mut inbox } = watching_on_a().await;

                let started = Instant::now();
                let sent = b.send_text(&engage, &conv, "through b").await;
                let (frame, in_inbox) = (events.next().await.unwrap(), inbox.next().await.unwrap());
                let took = started.elapsed();
                assert_eq!((frame.event.as_str(), frame.data.clone()), ("message", sent.clone()));
                assert_eq!((in_inbox.event.as_str(), in_inbox.data), ("message", sent));
                assert!(took < Duration::from_secs(1), "reached the other server's streams in {took:?}");

                // A reply being written on B, in order, its long text in pieces.
                let agent =
                    Sender { kind: SenderType::Ai, id: "agent_1".into(), name: Some("Assistant".into()), image: None };
                let long = "ü".repeat(2500);
                for event in [
                    ReplyEvent::Start(agent.clone()),
                    ReplyEvent::Delta("Orders ship ".into()),
                    ReplyEvent::Delta(long.clone()),
                    ReplyEvent::Stopped,
                ] {
                    b.events.publish(Event::Reply { conversation_id: conv.clone(), event });
                }
                let frames = events.take(6).await;
                let names: Vec<&str> = frames.iter().map(|f| f.event.as_str()).collect();
                assert_eq!(names, ["start", "delta", "delta", "delta", "delta", "idle"]);
                assert_eq!(frames[0].data["sender"]["name"], "Assistant");
                let text: String = frames[1..5].iter().map(|f| f.data["text"].as_str().unwrap()).collect();
                assert_eq!(text, format!("Orders ship {long}"));
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_listener_whose_connection_is_killed_listens_again_and_nothing_is_lost_or_sent_twice() {
        StoreKind::Postgres
            .run(async {
                let Watching { a, b, engage, conv, mut events, mut inbox } = watching_on_a().await;

                let db = a.db_writable().await;
                let listeners = "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%' AND datname = current_database() ORDER BY pid";
                let before: Vec<i32> = sqlx::query_scalar(listeners).bind(APPLICATION_NAME).fetch_all(&db).await.unwrap();
                assert_eq!(before.len(), 2, "one listener per server");
                let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%' AND datname = current_database()";
                let killed: Vec<bool> = sqlx::query_scalar(kill).bind(APPLICATION_NAME).fetch_all(&db).await.unwrap();
                assert_eq!(killed, [true, true], "both servers' listeners");
                // Sent while the listeners are away, and after.
                let mut sent = Vec::new();
                for n in 0..10 {
                    sent.push(b.send_text(&engage, &conv, &format!("m{n}")).await["id"].as_str().unwrap().to_owned());
                }
                assert_eq!(ids(&events.take(10).await), sent);
                assert_eq!(ids(&inbox.take(10).await), sent);
                let later = b.send_text(&engage, &conv, "later").await;
                assert_eq!(events.next().await.unwrap().data, later, "nothing twice, and live again");
                assert_eq!(inbox.next().await.unwrap().data, later);

                let after: Vec<i32> = sqlx::query_scalar(listeners).bind(APPLICATION_NAME).fetch_all(&db).await.unwrap();
                assert_eq!(after.len(), 2, "each server listens again");
                assert!(after.iter().all(|pid| !before.contains(pid)), "on new connections: {before:?} then {after:?}");
            })
            .await
    }
}
