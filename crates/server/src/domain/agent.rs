//! How an AI agent answers: stored as the `kind` column and the `settings` JSON.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "settings", rename_all = "lowercase")]
pub enum AgentConfig {
    /// Embedded and offline: a Markdown knowledge base (see `ai::faq`).
    Faq(FaqSettings),
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai(OpenAiSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqSettings {
    pub knowledge: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenAiSettings {
    /// Up to `/v1`: `{baseUrl}/chat/completions` is called.
    pub base_url: String,
    pub model: String,
    /// The environment variable the key is read from when a reply is written.
    pub api_key_env: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
}
