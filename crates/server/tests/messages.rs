//! send and listMessages: every input field, and paging that never skips or repeats.

mod common;

use std::collections::HashSet;

use common::{TestApp, send, spawn_app, spawn_app_with};
use connect360_api::{CreateTemplate, GetOrCreateConversation, ListMessages, SendMessage};
use connect360_server::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn send_json(app: &TestApp, key: &str, input: Value) -> Value {
    app.call::<SendMessage>(key, input).await.data().clone()
}

on_both_stores! {
    async fn send_as_workspace_returns_the_stored_message() {
        let app = spawn_app().await;
        let ws = app.workspace("default").await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let msg = send_json(&app, &key, json!({"conversationId": conv, "content": {"en": "Hello from the support team."}})).await;
        assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(msg["conversationId"], conv);
        assert_eq!(msg["content"], json!({"en": "Hello from the support team."}));
        assert_eq!(msg["attachments"], json!([]));
        assert_eq!(msg["sender"], json!({"type": "workspace", "id": ws.default_member_id, "name": "Default support", "image": null}));
        assert_eq!(msg["parentId"], json!(null));
        assert_eq!(msg["flags"], json!([]));
        assert_eq!(msg["templateId"], json!(null));
        assert_eq!(msg["channel"], json!(null));
        let created = msg["createdAt"].as_str().unwrap();
        assert_eq!(created.len(), "2026-11-24T16:20:01.500Z".len(), "{created}");
        assert!(created.ends_with('Z'));
        // It is what listMessages returns.
        let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
        assert_eq!(page.data()["items"], json!([msg]));
        assert_eq!(page.data()["nextCursor"], json!(null));
    }
}

on_both_stores! {
    async fn send_as_customer_finds_creates_and_updates_the_customer() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        // A conversation between members adopts the first customer who writes in it.
        let conv = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": []})).await.data()["id"].clone();
        let msg = send_json(&app, &key, json!({
            "conversationId": conv,
            "sender": "customer",
            "customer": {"externalId": "website_user_123", "name": "Jane Customer", "email": "jane@example.com"},
            "content": {"en": "I need help with my order."},
            "channelIdentifier": "example.com"
        }))
        .await;
        assert_eq!(msg["sender"]["type"], "customer");
        assert_eq!(msg["sender"]["name"], "Jane Customer");
        assert_eq!(msg["channel"]["identifier"], "example.com");
        let customer_id = msg["sender"]["id"].as_str().unwrap().to_owned();

        // By customerId and by customer.id: the same customer, updated.
        let again = send_json(&app, &key, json!({"conversationId": conv, "sender": "customer", "customerId": customer_id, "content": {"en": "2"}})).await;
        assert_eq!(again["sender"]["id"], customer_id);
        let renamed = send_json(&app, &key, json!({
            "conversationId": conv, "sender": "customer",
            "customer": {"id": customer_id, "name": "Jane C.", "phone": "+1 555 0100"}, "content": {"en": "3"}
        }))
        .await;
        assert_eq!(renamed["sender"]["name"], "Jane C.");

        // Another customer may not write in Jane's conversation.
        let message = app
            .call::<SendMessage>(&key, json!({"conversationId": conv, "sender": "customer", "customer": {"externalId": "intruder"}, "content": {"en": "x"}}))
            .await
            .error("BAD_REQUEST");
        assert_eq!(message, "customer: is not the customer of this conversation");
        let intruders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE external_id = 'intruder'")
            .fetch_one(&app.db().await)
            .await
            .unwrap();
        assert_eq!(intruders, 0, "the refused send created no customer");
        app.call::<SendMessage>(&key, json!({"conversationId": conv, "sender": "customer", "customerId": "cus_nope", "content": {"en": "x"}}))
            .await
            .error("NOT_FOUND");
    }
}

on_both_stores! {
    async fn sender_and_customer_must_agree() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let cases = [
            (json!({"conversationId": conv, "sender": "customer", "content": {"en": "x"}}),
             "customer: sender \"customer\" needs customerId, customer.id or customer.externalId"),
            (json!({"conversationId": conv, "customer": {"externalId": "u"}, "content": {"en": "x"}}),
             "customer: only with sender \"customer\""),
            (json!({"conversationId": conv, "sender": "robot", "content": {"en": "x"}}),
             "sender: unknown variant `robot`, expected `workspace` or `customer`"),
            (json!({"conversationId": conv, "sender": "customer", "customer": {"externalId": "u", "email": "x@"}, "content": {"en": "x"}}),
             "customer.email: must be an email address"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<SendMessage>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
    }
}

on_both_stores! {
    async fn content_is_a_map_of_locales_to_any_json() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let rich = json!({"en": "Hello", "ar": "مرحبا", "tr": {"blocks": [{"text": "Merhaba", "bold": true}]}});
        let msg = send_json(&app, &key, json!({"conversationId": conv, "content": rich})).await;
        assert_eq!(msg["content"], rich);
        let cases = [
            (json!({"conversationId": conv, "content": {"fr": "Bonjour"}}), "content.fr: unknown locale \"fr\"; expected en, ar or tr"),
            (json!({"conversationId": conv, "content": {"en": "  "}}), "content.en: must not be empty"),
            (json!({"conversationId": conv, "content": {"en": null}}), "content.en: must not be empty"),
            (json!({"conversationId": conv, "content": {}}), "content: one of content, attachmentIds or templateId is required"),
            (json!({"conversationId": conv}), "content: one of content, attachmentIds or templateId is required"),
            (json!({"conversationId": conv, "content": "Hello"}), "content: invalid type: string \"Hello\", expected a map"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<SendMessage>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
        app.call::<SendMessage>(&key, json!({"conversationId": "conv_nope", "content": {"en": "x"}})).await.error("NOT_FOUND");
    }
}

on_both_stores! {
    async fn replies_flags_and_channels_are_recorded() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app
            .call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "u"}, "channelIdentifier": "example.com"}))
            .await
            .data()
            .clone();
        let conv_id = conv["id"].as_str().unwrap();
        let channel_id = conv["channels"][0]["id"].as_str().unwrap();
        let first = app.send_text(&key, conv_id, "first").await;
        let reply = send_json(&app, &key, json!({
            "conversationId": conv_id, "parentId": first["id"], "content": {"en": "Following up on this message."},
            "flags": ["urgent", "order:1042"], "channelId": channel_id
        }))
        .await;
        assert_eq!(reply["parentId"], first["id"]);
        assert_eq!(reply["flags"], json!(["urgent", "order:1042"]));
        assert_eq!(reply["channel"], conv["channels"][0]);

        let other = app.conversation(&key).await;
        let other_msg = app.send_text(&key, &other, "elsewhere").await;
        let cases = [
            (json!({"conversationId": conv_id, "parentId": other_msg["id"], "content": {"en": "x"}}), "parentId: not a message of this conversation"),
            (json!({"conversationId": conv_id, "flags": ["a", "a"], "content": {"en": "x"}}), "flags[1]: listed twice"),
            (json!({"conversationId": conv_id, "flags": [""], "content": {"en": "x"}}), "flags[0]: must not be empty"),
            (json!({"conversationId": conv_id, "flags": ["x".repeat(65)], "content": {"en": "x"}}), "flags[0]: at most 64 characters"),
            (json!({"conversationId": conv_id, "channelId": "chan_nope", "content": {"en": "x"}}), "channelId: unknown channel"),
            (json!({"conversationId": conv_id, "channelId": channel_id, "channelIdentifier": "other.com", "content": {"en": "x"}}),
             &format!("channelIdentifier: differs from channel {channel_id}")),
            (json!({"conversationId": conv_id, "channelIdentifier": "not a domain", "content": {"en": "x"}}), "channelIdentifier: must be a host name like example.com"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<SendMessage>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
        // A new domain creates the website channel once.
        let a = send_json(&app, &key, json!({"conversationId": conv_id, "channelIdentifier": "shop.example.com", "content": {"en": "x"}})).await;
        let b = send_json(&app, &key, json!({"conversationId": conv_id, "channelIdentifier": "SHOP.example.com", "content": {"en": "y"}})).await;
        assert_eq!(a["channel"], b["channel"]);
    }
}

on_both_stores! {
    async fn attachments_must_be_files_of_the_workspace() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let message = app
            .call::<SendMessage>(&key, json!({"conversationId": conv, "attachmentIds": ["file_nope"]}))
            .await
            .error("BAD_REQUEST");
        assert_eq!(message, "attachmentIds[0]: unknown attachment");
        let message = app
            .call::<SendMessage>(&key, json!({"conversationId": conv, "attachmentIds": ["f", "f"], "content": {"en": "x"}}))
            .await
            .error("BAD_REQUEST");
        assert_eq!(message, "attachmentIds[1]: listed twice");
    }
}

on_both_stores! {
    async fn templates_render_into_the_stored_content() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let template = app
            .call::<CreateTemplate>(&key, json!({"name": "shipped", "content": {"en": "Hi {{name}}, order {{ order.id }} has shipped.", "tr": "Merhaba {{name}}"}}))
            .await
            .data()
            .clone();
        let msg = send_json(&app, &key, json!({
            "conversationId": conv, "templateId": template["id"], "templateContext": {"name": "Jane", "order": {"id": 1042}}
        }))
        .await;
        assert_eq!(msg["content"], json!({"en": "Hi Jane, order 1042 has shipped.", "tr": "Merhaba Jane"}));
        assert_eq!(msg["templateId"], template["id"]);

        let cases = [
            (json!({"conversationId": conv, "templateId": template["id"], "templateContext": {"name": "J"}}), "templateContext.order.id: missing; the template uses it"),
            (json!({"conversationId": conv, "templateId": template["id"], "content": {"en": "x"}}), "templateId: give content or templateId, not both"),
            (json!({"conversationId": conv, "templateId": "tpl_nope"}), "templateId: unknown template"),
            (json!({"conversationId": conv, "templateContext": {"a": 1}, "content": {"en": "x"}}), "templateContext: only with templateId"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<SendMessage>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
        let message = app
            .call::<CreateTemplate>(&key, json!({"name": "shipped", "content": {"en": "again"}}))
            .await
            .error("CONFLICT");
        assert_eq!(message, "name: a template named \"shipped\" exists already");
        let other_ws = app.key_in("acme", Role::Engage).await;
        let theirs = app.conversation(&other_ws).await;
        let message = app
            .call::<SendMessage>(&other_ws, json!({"conversationId": theirs, "templateId": template["id"], "templateContext": {}}))
            .await
            .error("BAD_REQUEST");
        assert_eq!(message, "templateId: unknown template");
    }
}

on_both_stores! {
    async fn an_ai_request_is_validated_and_recorded_as_pending() {
        // With the runner off, the request stays as send left it.
        let app = spawn_app_with(|c| c.ai_runner = false).await;
        let ws = app.workspace("default").await;
        let key = app.key(Role::Engage).await;
        let agent = app.agent(&ws.id, "Shop assistant").await;
        let conv = app.conversation(&key).await;
        let msg = send_json(&app, &key, json!({"conversationId": conv, "content": {"en": "Can you help?"}, "ai": {"agentId": agent}})).await;
        let pending: Vec<(String, String)> = sqlx::query_as("SELECT agent_id, status FROM ai_requests WHERE message_id = $1")
            .bind(msg["id"].as_str().unwrap())
            .fetch_all(&app.db().await)
            .await
            .unwrap();
        assert_eq!(pending, vec![(agent.clone(), "pending".to_owned())]);

        let acme = app.workspace("acme").await;
        let foreign_agent = app.agent(&acme.id, "Theirs").await;
        let cases = [
            (json!({"conversationId": conv, "content": {"en": "x"}, "ai": {"agentId": "agent_nope"}}), "ai.agentId: unknown agent"),
            (json!({"conversationId": conv, "content": {"en": "x"}, "ai": {"agentId": foreign_agent}}), "ai.agentId: unknown agent"),
            (json!({"conversationId": conv, "content": {"en": "x"}, "ai": {"agentId": agent, "channelId": "chan_nope"}}), "ai.channelId: unknown channel"),
            (json!({"conversationId": conv, "content": {"en": "x"}, "ai": {}}), "ai.agentId: required"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<SendMessage>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&app.db().await).await.unwrap();
        assert_eq!(total, 1, "refused sends stored nothing");
    }
}

on_both_stores! {
    async fn a_retried_send_with_the_same_idempotency_key_is_stored_once() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let input = json!({"conversationId": conv, "content": {"en": "only once"}});
        let post = |body: Value, idem: &str| {
            let req = app.http.post(app.url("/api/trpc/v1.connect.send")).bearer_auth(&key).header("idempotency-key", idem).json(&body);
            send(req)
        };
        let first = post(input.clone(), "client-msg-1").await.data().clone();
        let second = post(input.clone(), "client-msg-1").await.data().clone();
        assert_eq!(first, second);
        let message = post(json!({"conversationId": conv, "content": {"en": "changed"}}), "client-msg-1").await.error("CONFLICT");
        assert_eq!(message, "Idempotency-Key was already used for a different message.");
        post(input.clone(), "client-msg-2").await.data();
        post(input.clone(), "bad key with spaces").await.error("BAD_REQUEST");
        let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
        assert_eq!(page.data()["items"].as_array().unwrap().len(), 2);
    }
}

on_both_stores! {
    async fn list_messages_validates_limit_and_cursor() {
        let app = spawn_app().await;
        let key = app.key(Role::Read).await;
        let writer = app.key(Role::Engage).await;
        let conv = app.conversation(&writer).await;
        let other = app.conversation(&writer).await;
        let foreign = app.send_text(&writer, &other, "x").await;
        let cases = [
            (json!({"conversationId": conv, "limit": 0}), "limit: must be between 1 and 100"),
            (json!({"conversationId": conv, "limit": 101}), "limit: must be between 1 and 100"),
            (json!({"conversationId": conv, "limit": -1}), "limit: invalid value: integer `-1`, expected u32"),
            (json!({"conversationId": conv, "cursor": foreign["id"]}), "cursor: not a message of this conversation"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<ListMessages>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
    }
}

on_both_stores! {
    async fn pages_run_newest_first_with_oldest_to_newest_inside() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        for i in 0..120 {
            app.send_text(&key, &conv, &i.to_string()).await;
        }
        let texts = |page: &Value| -> Vec<String> {
            page["items"].as_array().unwrap().iter().map(|m| m["content"]["en"].as_str().unwrap().to_owned()).collect()
        };
        let first = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await.data().clone();
        assert_eq!(texts(&first), (70..120).map(|i| i.to_string()).collect::<Vec<_>>(), "default limit 50, newest");
        let second = app
            .call::<ListMessages>(&key, json!({"conversationId": conv, "limit": 50, "cursor": first["nextCursor"]}))
            .await
            .data()
            .clone();
        assert_eq!(texts(&second), (20..70).map(|i| i.to_string()).collect::<Vec<_>>());
        let last = app
            .call::<ListMessages>(&key, json!({"conversationId": conv, "limit": 50, "cursor": second["nextCursor"]}))
            .await
            .data()
            .clone();
        assert_eq!(texts(&last), (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(last["nextCursor"], json!(null));
        // A page that ends exactly at the oldest message has no cursor either.
        let exact = app.call::<ListMessages>(&key, json!({"conversationId": conv, "limit": 100, "cursor": first["nextCursor"]})).await;
        assert_eq!(exact.data()["items"].as_array().unwrap().len(), 70);
        assert_eq!(exact.data()["nextCursor"], json!(null));
    }
}

on_both_stores! {
    /// 10,000 messages paged back 100 at a time while new ones keep arriving:
    /// every old message is seen exactly once, in order.
    async fn paging_back_through_ten_thousand_messages_with_sends_interleaved() {
        const TOTAL: usize = 10_000;
        const BATCH: usize = 50;
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        // Seed through the API, batched as httpBatchLink would send them.
        for chunk in 0..TOTAL / BATCH {
            let inputs: serde_json::Map<String, Value> = (0..BATCH)
                .map(|i| (i.to_string(), json!({"conversationId": conv, "content": {"en": format!("old {}", chunk * BATCH + i)}})))
                .collect();
            let paths = vec!["v1.connect.send"; BATCH].join(",");
            let req = app.http.post(app.url(&format!("/api/trpc/{paths}?batch=1"))).bearer_auth(&key).json(&inputs);
            let answer = send(req).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }

        let mut seen: Vec<String> = Vec::with_capacity(TOTAL);
        let mut cursor = Value::Null;
        let mut interleaved = 0;
        loop {
            let page = app
                .call::<ListMessages>(&key, json!({"conversationId": conv, "limit": 100, "cursor": cursor}))
                .await
                .data()
                .clone();
            // Pages come newest first; within a page, oldest to newest.
            let texts: Vec<String> =
                page["items"].as_array().unwrap().iter().map(|m| m["content"]["en"].as_str().unwrap().to_owned()).collect();
            seen.splice(0..0, texts);
            // A new message lands between every two page reads.
            app.send_text(&key, &conv, &format!("new {interleaved}")).await;
            interleaved += 1;
            cursor = page["nextCursor"].clone();
            if cursor.is_null() {
                break;
            }
            // The first page (no cursor) may hold new messages only if sent before it; it was not.
        }
        assert_eq!(seen.len(), TOTAL, "no gap, no repeat");
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), TOTAL);
        for (i, text) in seen.iter().enumerate() {
            assert_eq!(text, &format!("old {i}"), "in order at {i}");
        }
        // And the newest page now starts with the interleaved ones.
        let newest = app.call::<ListMessages>(&key, json!({"conversationId": conv, "limit": 1})).await;
        assert_eq!(newest.data()["items"][0]["content"]["en"], format!("new {}", interleaved - 1));
    }
}

on_both_stores! {
    async fn a_get_with_unencoded_unicode_content_round_trips() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let text = "مرحبا — ğüşiöç & 100% + \"quotes\"";
        app.send_text(&key, &conv, text).await;
        let req = app.request(Method::GET, "/api/trpc/v1.connect.listMessages").await;
        let answer = send(req.bearer_auth(&key).query(&[("input", json!({"conversationId": conv}).to_string())])).await;
        assert_eq!(answer.data()["items"][0]["content"]["en"], text);
    }
}
