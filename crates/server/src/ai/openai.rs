//! The `openai` agent: any OpenAI-compatible `POST {baseUrl}/chat/completions`,
//! streamed (`stream: true`), with the conversation's last messages as context.
//!
//! The answer is server-sent events: `data: {"choices":[{"delta":{"content":…}}]}`
//! lines until `data: [DONE]`.

use connect360_api::{Message, SenderType};
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

/// What one line of the event stream says.
#[derive(Debug, PartialEq)]
enum Line {
    Text(String),
    Done,
    /// Blank lines, comments, other fields, chunks without text.
    Nothing,
}

fn parse_line(line: &str) -> Result<Line, AgentError> {
    let Some(data) = line.strip_prefix("data:") else { return Ok(Line::Nothing) };
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Line::Done);
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|_| AgentError::Malformed)?;
    Ok(match chunk.choices.into_iter().find_map(|c| c.delta.content) {
        Some(text) if !text.is_empty() => Line::Text(text),
        _ => Line::Nothing,
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
    let mut response = http
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
    // Bytes of a line not yet complete: chunks split lines (and characters) anywhere.
    let mut pending: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(AgentError::Unreachable)? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = std::str::from_utf8(&line).map_err(|_| AgentError::Malformed)?;
            match parse_line(line.trim_end())? {
                Line::Text(delta) => {
                    on_delta(&delta);
                    text.push_str(&delta);
                }
                Line::Done => return finished(text),
                Line::Nothing => {}
            }
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
    fn data_lines_carry_text_until_done() {
        let line = r#"data: {"id":"x","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#;
        assert_eq!(parse_line(line).unwrap(), Line::Text("Hel".into()));
        assert_eq!(parse_line(r#"data:{"choices":[{"delta":{"role":"assistant"}}]}"#).unwrap(), Line::Nothing);
        assert_eq!(parse_line("data: [DONE]").unwrap(), Line::Done);
        assert_eq!(parse_line(": keep-alive").unwrap(), Line::Nothing);
        assert_eq!(parse_line("").unwrap(), Line::Nothing);
        assert!(matches!(parse_line("data: {oops"), Err(AgentError::Malformed)));
    }
}
