//! Reading an event stream (`GET /api/v1/connect/events`) event by event.

use std::time::Duration;

use connect360_api::EVENTS_PATH;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::TestApp;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub event: String,
    pub id: String,
    pub data: Value,
}

/// An open stream, read event by event.
pub struct Events {
    pub res: reqwest::Response,
    pub text: String,
}

/// The answer to a refused open: status, headers and the error envelope.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Refused {
    pub fn code(&self) -> &str {
        self.body["error"]["data"]["code"].as_str().unwrap_or_default()
    }
}

pub async fn open(
    app: &TestApp,
    token: &str,
    conversation: &str,
    last_event_id: Option<&str>,
) -> Result<Events, Refused> {
    let mut req = app.http.get(app.url(EVENTS_PATH)).query(&[("conversationId", conversation)]).bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let res = req.send().await.unwrap();
    if !res.status().is_success() {
        let (status, headers) = (res.status(), res.headers().clone());
        return Err(Refused { status, headers, body: res.json().await.unwrap() });
    }
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut events = Events { res, text: String::new() };
    // The comment comes at once, before anything happens in the conversation.
    events.fill().await;
    assert!(events.text.starts_with(": connected\n\n"), "{:?}", events.text);
    events.text.drain(..": connected\n\n".len());
    Ok(events)
}

impl Events {
    /// Reads one more chunk; false at the stream's end.
    pub async fn fill(&mut self) -> bool {
        let chunk =
            tokio::time::timeout(Duration::from_secs(10), self.res.chunk()).await.expect("an event within 10 s");
        match chunk.unwrap() {
            Some(bytes) => {
                self.text.push_str(std::str::from_utf8(&bytes).unwrap());
                true
            }
            None => false,
        }
    }

    /// The next event (comments skipped); `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                if block.starts_with(':') {
                    continue;
                }
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                        .unwrap_or_default()
                };
                return Some(Frame {
                    event: field("event:"),
                    id: field("id:"),
                    data: serde_json::from_str(&field("data:")).unwrap(),
                });
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The next `n` events.
    pub async fn take(&mut self, n: usize) -> Vec<Frame> {
        let mut frames = Vec::new();
        for _ in 0..n {
            frames.push(self.next().await.expect("the stream goes on"));
        }
        frames
    }
}

pub fn ids(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.id.as_str()).collect()
}

/// Waits (up to 10 s) until `done` holds.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never: {what}");
}
