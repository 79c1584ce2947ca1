//! Message templates: stored per workspace, rendered by `send`.

use serde::{Deserialize, Serialize};

use crate::Content;

/// The input of `v1.connect.createTemplate`. String values of `content` may hold
/// `{{placeholders}}`, filled from `send`'s `templateContext`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTemplateInput {
    pub name: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub id: String,
    pub name: String,
    pub content: Content,
    pub created_at: String,
}
