//! The `openai` agent: any OpenAI-compatible `POST {baseUrl}/chat/completions`,
//! streamed (`stream: true`), with the conversation's last messages as context.
//!
//! The answer is server-sent events (read by `eventsource-stream`), each
//! `data: {"choices":[{"delta":{"content":…}}]}`, until `data: [DONE]`.

use connect360_api::{Message, SenderType};
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{AgentError, message_text};
use crate::domain::OpenAiSettings;

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    stream: bool,
    messages: Vec<ChatMessage>,
}

#[derive(Serialize)]
struct ChatMessage {
    role: &'static str,
    content: String,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// The model's view of the conversation: the visitor is the user, the
/// workspace and its agents the assistant.
fn chat_messages(settings: &OpenAiSettings, history: &[Message]) -> Vec<ChatMessage> {
    let prompt = settings.system_prompt.iter().map(|p| ChatMessage { role: "system", content: p.clone() });
    let turns = history.iter().filter_map(|m| {
        let (_, content) = message_text(m)?;
        let role = match m.sender.kind {
            SenderType::Customer => "user",
            SenderType::Workspace | SenderType::Ai => "assistant",
        };
        Some(ChatMessage { role, content })
    });
    prompt.chain(turns).collect()
}

/// What one event's data says.
#[derive(Debug, PartialEq)]
enum Data {
    Text(String),
    Done,
    /// A chunk without text (the role, a finish reason).
    Nothing,
}

fn parse_data(data: &str) -> Result<Data, AgentError> {
    let data = data.trim();
    match data {
        "[DONE]" => return Ok(Data::Done),
        "" => return Ok(Data::Nothing),
        _ => {}
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|_| AgentError::Malformed)?;
    Ok(match chunk.choices.into_iter().find_map(|c| c.delta.content) {
        Some(text) if !text.is_empty() => Data::Text(text),
        _ => Data::Nothing,
    })
}

/// Asks the model and returns its whole answer, handing each piece of text
/// to `on_delta` as it arrives.
pub async fn reply(
    http: &reqwest::Client,
    settings: &OpenAiSettings,
    history: &[Message],
    mut on_delta: impl FnMut(&str),
) -> Result<String, AgentError> {
    // Read now, not stored: a rotated key takes effect on the next reply.
    let key = std::env::var(&settings.api_key_env).map_err(|_| AgentError::MissingKey(settings.api_key_env.clone()))?;
    let request = ChatRequest { model: &settings.model, stream: true, messages: chat_messages(settings, history) };
    let response = http
        .post(format!("{}/chat/completions", settings.base_url))
        .bearer_auth(key)
        .json(&request)
        .send()
        .await
        .map_err(AgentError::Unreachable)?;
    if !response.status().is_success() {
        return Err(AgentError::Status(response.status().as_u16()));
    }
    let mut text = String::new();
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let event = event.map_err(|err| match err {
            EventStreamError::Transport(err) => AgentError::Unreachable(err),
            EventStreamError::Utf8(_) | EventStreamError::Parser(_) => AgentError::Malformed,
        })?;
        match parse_data(&event.data)? {
            Data::Text(delta) => {
                on_delta(&delta);
                text.push_str(&delta);
            }
            Data::Done => return finished(text),
            Data::Nothing => {}
        }
    }
    // Some servers close the stream without [DONE]; what came is the answer.
    finished(text)
}

fn finished(text: String) -> Result<String, AgentError> {
    match text.trim().is_empty() {
        true => Err(AgentError::Empty),
        false => Ok(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_data_carries_text_until_done() {
        let data = r#"{"id":"x","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#;
        assert_eq!(parse_data(data).unwrap(), Data::Text("Hel".into()));
        assert_eq!(parse_data(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#).unwrap(), Data::Nothing);
        assert_eq!(parse_data("[DONE]").unwrap(), Data::Done);
        assert_eq!(parse_data("").unwrap(), Data::Nothing);
        assert!(matches!(parse_data("{oops"), Err(AgentError::Malformed)));
    }
}
