//! Visitor sessions: a widget key and the page's Origin get a scoped token;
//! the token reaches only its own customer's conversation, from its own site.

mod common;

use common::{Answer, TestApp, send, spawn_app};
use connect360_api::{
    CreateSubConversation, DeleteConversation, GetOrCreateConversation, ListMessages, SendMessage, WIDGET_SESSION_PATH,
};
use connect360_server::domain::Domain;
use connect360_server::domain::Role;
use connect360_server::store::Widget;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn widget(app: &TestApp, domains: &[&str], secret: Option<&str>) -> Widget {
    let ws = app.workspace("default").await;
    let domains: Vec<Domain> = domains.iter().map(|d| Domain::parse("d", d).unwrap()).collect();
    app.store.create_widget(&ws.id, None, &domains, secret).await.unwrap()
}

async fn session(app: &TestApp, origin: &str, input: Value) -> Answer {
    send(app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", origin).json(&input)).await
}

/// A guest session on `origin`; returns (token, conversation id, externalId).
async fn guest(app: &TestApp, widget: &Widget, origin: &str) -> (String, String, String) {
    let answer = session(app, origin, json!({"widgetKey": widget.public_key})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let b = &answer.body;
    (
        b["token"].as_str().unwrap().to_owned(),
        b["conversation"]["id"].as_str().unwrap().to_owned(),
        b["customer"]["externalId"].as_str().unwrap().to_owned(),
    )
}

fn visitor_send(conversation: &str, external_id: &str, text: &str, domain: &str) -> Value {
    json!({
        "conversationId": conversation, "sender": "customer", "customer": {"externalId": external_id},
        "content": {"en": text}, "channelIdentifier": domain
    })
}

on_both_stores! {
    async fn a_guest_gets_a_token_a_customer_and_a_conversation_on_the_site_s_channel() {
        let app = spawn_app().await;
        let w = widget(&app, &["shop.example.com"], None).await;
        let answer = session(&app, "https://shop.example.com", json!({"widgetKey": w.public_key, "name": "Jane"})).await;
        let b = answer.body.clone();
        assert_eq!(answer.status, StatusCode::OK, "{b}");
        assert!(b["token"].as_str().unwrap().starts_with("vt_"));
        assert!(b["expiresAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(b["channelIdentifier"], "shop.example.com");
        assert!(b["customer"]["externalId"].as_str().unwrap().starts_with("guest_"));
        assert_eq!(b["customer"]["name"], "Jane");
        assert_eq!(b["conversation"]["customerId"], b["customer"]["id"]);
        assert_eq!(b["conversation"]["channels"][0]["identifier"], "shop.example.com");
        assert_eq!(b["conversation"]["memberIds"], json!([w.default_member_id]));

        // The token sends and lists, as the guest, on the site's channel.
        let token = b["token"].as_str().unwrap();
        let conv = b["conversation"]["id"].as_str().unwrap();
        let ext = b["customer"]["externalId"].as_str().unwrap();
        let msg = app.call::<SendMessage>(token, visitor_send(conv, ext, "I need help with my order.", "shop.example.com")).await;
        let msg = msg.data().clone();
        assert_eq!(msg["sender"]["type"], "customer");
        assert_eq!(msg["sender"]["id"], b["customer"]["id"]);
        assert_eq!(msg["channel"]["identifier"], "shop.example.com");
        // Without channelIdentifier the token's own site is recorded.
        let bare = json!({"conversationId": conv, "sender": "customer", "customerId": b["customer"]["id"], "content": {"en": "again"}});
        assert_eq!(app.call::<SendMessage>(token, bare).await.data()["channel"]["identifier"], "shop.example.com");
        let page = app.call::<ListMessages>(token, json!({"conversationId": conv})).await;
        assert_eq!(page.data()["items"].as_array().unwrap().len(), 2);

        // Support sees it and answers with an API key; the visitor sees the answer.
        let key = app.key(Role::Engage).await;
        app.send_text(&key, conv, "Happy to help!").await;
        let page = app.call::<ListMessages>(token, json!({"conversationId": conv})).await;
        assert_eq!(page.data()["items"][2]["sender"]["type"], "workspace");
    }
}

on_both_stores! {
    async fn a_guest_resumes_by_token_or_by_guest_id() {
        let app = spawn_app().await;
        let w = widget(&app, &["example.com"], None).await;
        let (token, conv, ext) = guest(&app, &w, "https://example.com").await;
        let by_token = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "token": token})).await;
        assert_eq!(by_token.body["conversation"]["id"], conv);
        let by_id = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "externalId": ext})).await;
        assert_eq!(by_id.body["conversation"]["id"], conv);
        // A token and a guest id that disagree: the guest id wins, its own conversation.
        let other_guest = "guest_0123456789abcdef0123456789abcdef";
        let switched = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "token": token, "externalId": other_guest})).await;
        assert_ne!(switched.body["conversation"]["id"], conv);
        assert_eq!(switched.body["customer"]["externalId"], other_guest);
        // A forged token is ignored, not trusted: a new guest.
        let forged = format!("{}x", &token[..token.len() - 1]);
        let fresh = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "token": forged})).await;
        assert_ne!(fresh.body["conversation"]["id"], conv);
    }
}

on_both_stores! {
    async fn sessions_open_only_from_the_widget_s_domains_with_a_known_key() {
        let app = spawn_app().await;
        let w = widget(&app, &["example.com"], None).await;
        let message = session(&app, "https://evil.example.net", json!({"widgetKey": w.public_key})).await.error("FORBIDDEN");
        assert_eq!(message, "evil.example.net is not a domain of this widget.");
        let req = app.http.post(app.url(WIDGET_SESSION_PATH)).json(&json!({"widgetKey": w.public_key}));
        let message = send(req).await.error("FORBIDDEN");
        assert!(message.contains("no Origin"), "{message}");
        session(&app, "https://example.com", json!({"widgetKey": "wk_nope"})).await.error("UNAUTHORIZED");
        let message = session(&app, "https://example.com", json!({"widget": w.public_key})).await.error("BAD_REQUEST");
        assert_eq!(message, "widget: unknown field");
        let message = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "email": "nope"})).await.error("BAD_REQUEST");
        assert_eq!(message, "email: must be an email address");
        let req = app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", "https://example.com").body("{oops");
        send(req.header("content-type", "application/json")).await.error("PARSE_ERROR");
        // A port on the origin is fine: the domain is the host.
        let answer = session(&app, "http://example.com:8080", json!({"widgetKey": w.public_key})).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
}

on_both_stores! {
    async fn known_visitors_prove_their_id_with_the_identity_secret() {
        let app = spawn_app().await;
        let w = widget(&app, &["example.com"], Some("s3cret")).await;
        // echo -n user_42 | openssl dgst -sha256 -hmac s3cret
        let hash = "3ef7f38be75e32c21a3751afc6ffeb80bcd28532a892f406137e4d288436cb57";
        let known = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "externalId": "user_42", "userHash": hash, "name": "Known User"})).await;
        assert_eq!(known.status, StatusCode::OK, "{}", known.body);
        assert_eq!(known.body["customer"]["externalId"], "user_42");
        let by_api = app.call::<GetOrCreateConversation>(&app.key(Role::Engage).await, json!({"customer": {"externalId": "user_42"}})).await;
        assert_eq!(by_api.data()["id"], known.body["conversation"]["id"], "the site's backend and the widget share the conversation");

        let message = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "externalId": "user_42", "userHash": "00"})).await.error("FORBIDDEN");
        assert_eq!(message, "userHash: does not match externalId");
        let message = session(&app, "https://example.com", json!({"widgetKey": w.public_key, "externalId": "user_42"})).await.error("FORBIDDEN");
        assert!(message.starts_with("externalId: a known visitor needs userHash"), "{message}");
        // Without a secret, nobody can claim a known id.
        let open = widget(&app, &["open.example.com"], None).await;
        session(&app, "https://open.example.com", json!({"widgetKey": open.public_key, "externalId": "user_42"})).await.error("FORBIDDEN");
        let message = session(&app, "https://open.example.com", json!({"widgetKey": open.public_key, "externalId": "user_42", "userHash": hash})).await.error("BAD_REQUEST");
        assert_eq!(message, "userHash: this widget has no identity secret to check it with");
    }
}

on_both_stores! {
    async fn a_visitor_token_reaches_only_its_own_conversation() {
        let app = spawn_app().await;
        let w = widget(&app, &["example.com"], None).await;
        let (alice, alice_conv, alice_ext) = guest(&app, &w, "https://example.com").await;
        let (bob, bob_conv, bob_ext) = guest(&app, &w, "https://example.com").await;
        app.call::<SendMessage>(&alice, visitor_send(&alice_conv, &alice_ext, "alice's secret", "example.com")).await.data();

        // Bob can't read or write Alice's conversation, nor pose as Alice.
        app.call::<ListMessages>(&bob, json!({"conversationId": alice_conv})).await.error("NOT_FOUND");
        app.call::<SendMessage>(&bob, visitor_send(&alice_conv, &bob_ext, "x", "example.com")).await.error("NOT_FOUND");
        let message = app.call::<SendMessage>(&bob, visitor_send(&bob_conv, &alice_ext, "x", "example.com")).await.error("FORBIDDEN");
        assert_eq!(message, "customer: not the visitor this token was issued to");
        // Nor write as the workspace, use templates, or send for another site.
        let as_workspace = json!({"conversationId": bob_conv, "content": {"en": "x"}});
        app.call::<SendMessage>(&bob, as_workspace).await.error("FORBIDDEN");
        let message = app.call::<SendMessage>(&bob, visitor_send(&bob_conv, &bob_ext, "x", "other.com")).await.error("FORBIDDEN");
        assert_eq!(message, "channelIdentifier: this token sends only for example.com");
        // Workspace-only procedures are forbidden.
        for answer in [
            app.call::<GetOrCreateConversation>(&bob, json!({"customer": {"externalId": bob_ext}})).await,
            app.call::<CreateSubConversation>(&bob, json!({"parentId": bob_conv})).await,
            app.call::<DeleteConversation>(&bob, json!({"id": bob_conv})).await,
        ] {
            assert_eq!(answer.error("FORBIDDEN"), "Visitor tokens may only send and list messages, and hand off to a person.");
        }
        // Alice still sees exactly her one message.
        let page = app.call::<ListMessages>(&alice, json!({"conversationId": alice_conv})).await;
        assert_eq!(page.data()["items"].as_array().unwrap().len(), 1);
    }
}

on_both_stores! {
    /// Expiry is covered by visitor_token's unit tests.
    async fn forged_and_foreign_tokens_are_refused() {
        let app = spawn_app().await;
        let w = widget(&app, &["example.com", "other.example.com"], None).await;
        let (token, conv, _) = guest(&app, &w, "https://example.com").await;
        // The signature's first character changed (always a different one: the
        // last could equal its replacement, or differ only in unused bits).
        let (payload, signature) = token.split_once('.').unwrap();
        let first = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{payload}.{first}{}", &signature[1..]);
        assert_ne!(forged, token);
        let message = app.call::<ListMessages>(&forged, json!({"conversationId": conv})).await.error("UNAUTHORIZED");
        assert_eq!(message, "Visitor token signature is invalid.");
        app.call::<ListMessages>("vt_garbage", json!({"conversationId": conv})).await.error("UNAUTHORIZED");
        // Used from a page of another site (even one of the same widget): refused.
        let req = app
            .request(Method::GET, "/api/trpc/v1.connect.listMessages")
            .await
            .query(&[("input", json!({"conversationId": conv}).to_string())])
            .header("origin", "https://other.example.com")
            .bearer_auth(&token);
        assert_eq!(send(req).await.error("FORBIDDEN"), "This visitor token belongs to another site.");
        // Signed by another server (another store): refused.
        let other = spawn_app().await;
        let w2 = widget(&other, &["example.com"], None).await;
        let (their_token, _, _) = guest(&other, &w2, "https://example.com").await;
        app.call::<ListMessages>(&their_token, json!({"conversationId": conv})).await.error("UNAUTHORIZED");
    }
}

on_both_stores! {
    async fn cors_allows_only_widget_domains() {
        let app = spawn_app().await;
        widget(&app, &["example.com"], None).await;
        let preflight = |origin: &'static str| {
            app.http
                .request(Method::OPTIONS, app.url("/api/trpc/v1.connect.send"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type")
                .send()
        };
        let ok = preflight("https://example.com").await.unwrap();
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()["access-control-allow-origin"], "https://example.com");
        let allowed_headers = ok.headers()["access-control-allow-headers"].to_str().unwrap();
        assert!(allowed_headers.contains("authorization") && !allowed_headers.contains("x-api-key"));
        let refused = preflight("https://evil.com").await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.headers().get("access-control-allow-origin").is_none());

        let res = app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", "https://evil.com").json(&json!({})).send().await.unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        let res = app.http.post(app.url(WIDGET_SESSION_PATH)).header("origin", "https://example.com").json(&json!({})).send().await.unwrap();
        assert_eq!(res.headers()["access-control-allow-origin"], "https://example.com");
    }
}
