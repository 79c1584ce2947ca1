//! `GET /metrics`: what the server counts, scraped as Prometheus would.
//! One test, since the recorder (and so every series) is the process's.

mod common;

use std::time::Duration;

use common::{TestApp, spawn_app_with, uuid_like};
use connect360_api::{AI_STREAM_PATH, GetOrCreateConversation, ListMessages, Procedure, ProcedureKind, SendMessage};
use connect360_server::domain::{AgentConfig, FaqSettings, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn scrape(app: &TestApp) -> String {
    let res = app.request(Method::GET, "/metrics").await.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    res.text().await.unwrap()
}

/// The value of the series `name` whose labels include `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().unwrap())
    })
}

fn get(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
}

/// Scrapes until the series has `want`, or fails after a few seconds.
async fn eventually(app: &TestApp, name: &str, labels: &[(&str, &str)], want: f64) {
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(app).await;
        if value(&text, name, labels) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} {labels:?} never became {want}:\n{text}");
}

#[tokio::test]
async fn requests_calls_streams_and_commits_are_counted() {
    let app = spawn_app_with(|c| {
        c.metrics = true;
        c.ai_runner = false;
    })
    .await;
    let key = app.key(Role::Engage).await;
    let conv = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "metrics"}})).await;
    let conv = conv.data()["id"].as_str().unwrap().to_owned();
    for n in 0..3 {
        app.send_text(&key, &conv, &format!("hello {n}")).await;
    }
    app.call::<ListMessages>(&key, json!({"conversationId": conv})).await.data();
    app.call::<ListMessages>("not-a-key", json!({"conversationId": conv})).await.error("UNAUTHORIZED");
    app.raw_call(&key, "v1.connect.noSuchThing", ProcedureKind::Query, json!({})).await.error("NOT_FOUND");
    let missing = app.request(Method::GET, &format!("/no/such/{}", uuid_like())).await.send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    let calls = "connect360_trpc_calls_total";
    assert_eq!(get(&text, calls, &[("procedure", SendMessage::PATH), ("outcome", "OK")]), 3.0);
    assert_eq!(get(&text, calls, &[("procedure", ListMessages::PATH), ("outcome", "OK")]), 1.0);
    assert_eq!(get(&text, calls, &[("procedure", ListMessages::PATH), ("outcome", "UNAUTHORIZED")]), 1.0);
    // A path that is no procedure is counted, but not under its own name.
    assert_eq!(get(&text, calls, &[("procedure", "unknown"), ("outcome", "NOT_FOUND")]), 1.0);
    assert!(!text.contains("noSuchThing"), "{text}");

    let requests = "connect360_http_requests_total";
    let trpc = ("route", "/api/trpc/{*path}");
    assert_eq!(get(&text, requests, &[trpc, ("method", "POST"), ("outcome", "2xx")]), 4.0);
    assert_eq!(get(&text, requests, &[trpc, ("method", "GET"), ("outcome", "UNAUTHORIZED")]), 1.0);
    assert_eq!(get(&text, requests, &[trpc, ("method", "GET"), ("outcome", "NOT_FOUND")]), 1.0);
    assert_eq!(get(&text, requests, &[("route", "unmatched"), ("outcome", "NOT_FOUND")]), 1.0);
    assert!(!text.contains("/no/such/"), "raw paths make no series: {text}");

    // Histograms: every call falls in the +Inf bucket, and the calls took some time.
    let took = "connect360_trpc_call_duration_seconds";
    let send = ("procedure", SendMessage::PATH);
    assert_eq!(get(&text, &format!("{took}_bucket"), &[send, ("le", "+Inf")]), 3.0);
    assert_eq!(get(&text, &format!("{took}_count"), &[send]), 3.0);
    let sum = get(&text, &format!("{took}_sum"), &[send]);
    assert!(sum > 0.0 && sum < 30.0, "{sum}");
    assert!(get(&text, "connect360_http_request_duration_seconds_count", &[trpc]) >= 7.0);
    // Each send was committed in a batch of its own (they came one by one).
    let batches = get(&text, "connect360_store_commit_batch_size_count", &[]);
    let batched = get(&text, "connect360_store_commit_batch_size_sum", &[]);
    assert!(batches >= 3.0 && batched >= 3.0 && batched <= batches * 128.0, "{batches} batches of {batched}");
    assert!(get(&text, "connect360_store_commit_batch_size_bucket", &[("le", "1")]) >= 3.0);

    // An AI stream is counted while it is open; nobody answers, so it stays open.
    let ws = app.workspace("default").await;
    let agent = app
        .store
        .create_agent(&ws.id, "assistant", None, &AgentConfig::Faq(FaqSettings { knowledge: String::new() }))
        .await
        .unwrap();
    let input = json!({"conversationId": conv, "content": {"en": "returns?"}, "ai": {"agentId": agent}});
    app.call::<SendMessage>(&key, input).await.data();
    let stream = app.http.post(app.url(AI_STREAM_PATH)).bearer_auth(&key).json(&json!({"conversationId": conv}));
    let stream = stream.send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let open = [("stream", "ai")];
    eventually(&app, "connect360_event_streams_open", &open, 1.0).await;
    drop(stream);
    eventually(&app, "connect360_event_streams_open", &open, 0.0).await;

    // So is a conversation's event stream, under its own label.
    let events =
        app.http.get(app.url(connect360_api::EVENTS_PATH)).query(&[("conversationId", &conv)]).bearer_auth(&key);
    let events = events.send().await.unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let open = [("stream", "events")];
    eventually(&app, "connect360_event_streams_open", &open, 1.0).await;
    drop(events);
    eventually(&app, "connect360_event_streams_open", &open, 0.0).await;

    // The runner, started on the same store, finds the request pending and answers it.
    let app = app.restart(|c| c.metrics = true).await;
    // The store first: the gauge is the process's, and another test's runner
    // may set it to 0 while this one's request is still being answered.
    let db = app.db().await;
    let mut pending = i64::MAX;
    for _ in 0..200 {
        pending = sqlx::query_scalar("SELECT count(*) FROM ai_requests WHERE status = 'pending'")
            .fetch_one(&db)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0);
    eventually(&app, "connect360_ai_requests_pending", &[], 0.0).await;

    // Not offered to the widget's pages: no CORS answer.
    let res = app.request(Method::GET, "/metrics").await.header("origin", "https://shop.example").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_the_flag_there_is_no_metrics_route() {
    let app = spawn_app_with(|_| {}).await;
    let res = app.request(Method::GET, "/metrics").await.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
