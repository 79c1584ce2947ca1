//! The tRPC wire protocol: methods, batching, envelopes, and bad requests.

mod common;

use common::{send, spawn_app};
use connect360_api::{ListMessages, SendMessage};
use connect360_server::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn success_is_wrapped_in_result_data() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;
    let answer = app.call::<SendMessage>(&key, json!({"conversationId": conv, "content": {"en": "hi"}})).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["result"]["data"]["content"]["en"], "hi");
}

#[tokio::test]
async fn a_mutation_sent_as_get_and_a_query_sent_as_post_are_refused() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;

    let input = json!({"conversationId": conv, "content": {"en": "hi"}}).to_string();
    let req = app.request(Method::GET, "/api/trpc/v1.connect.send").await.query(&[("input", input)]);
    let message = send(req.bearer_auth(&key)).await.error("METHOD_NOT_SUPPORTED");
    assert!(message.contains("mutation"), "{message}");

    let req =
        app.request(Method::POST, "/api/trpc/v1.connect.listMessages").await.json(&json!({"conversationId": conv}));
    let answer = send(req.bearer_auth(&key)).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    answer.error("METHOD_NOT_SUPPORTED");
    assert_eq!(answer.body["error"]["code"], -32005);
    assert_eq!(answer.body["error"]["data"]["path"], "v1.connect.listMessages");

    // Nothing was written by the refused GET.
    let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
    assert_eq!(page.data()["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn unknown_procedures_are_not_found() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let req = app.request(Method::POST, "/api/trpc/v1.connect.nope").await.json(&json!({}));
    let message = send(req.bearer_auth(&key)).await.error("NOT_FOUND");
    assert_eq!(message, "No procedure found on path \"v1.connect.nope\"");
}

#[tokio::test]
async fn malformed_json_is_a_parse_error_in_a_query_and_a_mutation() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let req = app.request(Method::GET, "/api/trpc/v1.connect.listMessages").await.query(&[("input", "{oops")]);
    let answer = send(req.bearer_auth(&key)).await;
    answer.error("PARSE_ERROR");
    assert_eq!(answer.body["error"]["code"], -32700);

    let req = app
        .request(Method::POST, "/api/trpc/v1.connect.send")
        .await
        .header("content-type", "application/json")
        .body("{\"conversationId\": ");
    send(req.bearer_auth(&key)).await.error("PARSE_ERROR");
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let message = app.call::<SendMessage>(&key, json!({"conversationId": 7})).await.error("BAD_REQUEST");
    assert!(message.starts_with("conversationId: invalid type"), "{message}");
    let message = app.call::<SendMessage>(&key, json!({"content": {"en": "x"}})).await.error("BAD_REQUEST");
    assert_eq!(message, "conversationId: required");
    let message = app.call::<ListMessages>(&key, json!("just a string")).await.error("BAD_REQUEST");
    assert_eq!(message, "input: must be a JSON object");
    let req = app.request(Method::GET, "/api/trpc/v1.connect.listMessages").await;
    let message = send(req.bearer_auth(&key)).await.error("BAD_REQUEST");
    assert_eq!(message, "input: required: a JSON object");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let req =
        app.request(Method::POST, "/api/trpc/v1.connect.send").await.header("content-type", "text/plain").body("hello");
    let answer = send(req.bearer_auth(&key)).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    answer.error("UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn an_oversize_body_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let req = app
        .request(Method::POST, "/api/trpc/v1.connect.send")
        .await
        .json(&json!({"conversationId": conv, "content": {"en": huge}}));
    let answer = send(req.bearer_auth(&key)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    answer.error("PAYLOAD_TOO_LARGE");

    // Under the body limit but over the content limit: a field error.
    let big = "x".repeat(100 * 1024);
    let message = app
        .call::<SendMessage>(&key, json!({"conversationId": conv, "content": {"en": big}}))
        .await
        .error("BAD_REQUEST");
    assert!(message.starts_with("content: at most"), "{message}");

    let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
    assert_eq!(page.data()["items"], json!([]));
}

#[tokio::test]
async fn a_get_batch_answers_an_array_in_order() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let a = app.conversation(&key).await;
    let b = app.conversation(&key).await;
    app.send_text(&key, &a, "in a").await;
    app.send_text(&key, &b, "in b").await;
    let input = json!({"0": {"conversationId": a}, "1": {"conversationId": b}}).to_string();
    let req = app
        .request(Method::GET, "/api/trpc/v1.connect.listMessages,v1.connect.listMessages")
        .await
        .query(&[("batch", "1"), ("input", input.as_str())]);
    let answer = send(req.bearer_auth(&key)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body[0]["result"]["data"]["items"][0]["content"]["en"], "in a");
    assert_eq!(answer.body[1]["result"]["data"]["items"][0]["content"]["en"], "in b");
}

#[tokio::test]
async fn a_post_batch_with_mixed_outcomes_is_207_and_each_call_answers_alone() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let conv = app.conversation(&key).await;
    let req = app
        .request(
            Method::POST,
            "/api/trpc/v1.connect.send,v1.connect.send,v1.connect.nope,v1.connect.listMessages?batch=1",
        )
        .await
        .json(&json!({
            "0": {"conversationId": conv, "content": {"en": "first"}},
            "1": {"conversationId": conv, "content": {"fr": "second"}},
            "2": {},
            "3": {"conversationId": conv},
        }));
    let answer = send(req.bearer_auth(&key)).await;
    assert_eq!(answer.status.as_u16(), 207);
    let calls = answer.body.as_array().unwrap();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0]["result"]["data"]["content"]["en"], "first");
    assert_eq!(calls[1]["error"]["data"]["code"], "BAD_REQUEST");
    assert_eq!(calls[1]["error"]["data"]["path"], "v1.connect.send");
    assert_eq!(calls[1]["error"]["message"], "content.fr: unknown locale \"fr\"; expected en, ar or tr");
    assert_eq!(calls[2]["error"]["data"]["code"], "NOT_FOUND");
    assert_eq!(calls[3]["error"]["data"]["code"], "METHOD_NOT_SUPPORTED");
    // Only the valid send was stored.
    let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
    let texts: Vec<&Value> = page.data()["items"].as_array().unwrap().iter().map(|m| &m["content"]["en"]).collect();
    assert_eq!(texts, vec!["first"]);
}

#[tokio::test]
async fn a_batch_whose_calls_all_fail_alike_takes_their_status() {
    let app = spawn_app().await;
    let req = app
        .request(Method::POST, "/api/trpc/v1.connect.send,v1.connect.send?batch=1")
        .await
        .json(&json!({"0": {}, "1": {}}));
    let answer = send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.body[0]["error"]["data"]["code"], "UNAUTHORIZED");
    assert_eq!(answer.body[1]["error"]["data"]["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn a_batch_input_must_be_an_object_and_batches_are_bounded() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let req =
        app.request(Method::POST, "/api/trpc/v1.connect.send?batch=1").await.json(&json!([{"conversationId": "x"}]));
    let message = send(req.bearer_auth(&key)).await.error("BAD_REQUEST");
    assert_eq!(message, "input: needs to be an object when doing a batch call");

    let paths = vec!["v1.connect.listMessages"; 51].join(",");
    let req = app.request(Method::GET, &format!("/api/trpc/{paths}?batch=1&input=%7B%7D")).await;
    let message = send(req.bearer_auth(&key)).await.error("BAD_REQUEST");
    assert_eq!(message, "batch: at most 50 calls, got 51");
}

#[tokio::test]
async fn other_methods_and_routes_answer_clearly() {
    let app = spawn_app().await;
    let key = app.key(Role::Full).await;
    let req = app.request(Method::DELETE, "/api/trpc/v1.connect.send").await;
    send(req.bearer_auth(&key)).await.error("METHOD_NOT_SUPPORTED");
    let req = app.request(Method::GET, "/no/such/route").await;
    send(req).await.error("NOT_FOUND");
    let res = app.request(Method::HEAD, "/api/trpc/v1.connect.listMessages").await.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.request(Method::GET, "/healthz").await.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
