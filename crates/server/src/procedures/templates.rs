//! createTemplate: message templates that `send` renders.

use connect360_api::{self as api, CreateTemplateInput, Template};

use super::{Ctx, Handle};
use crate::domain::Permission;
use crate::error::ApiError;
use crate::validate::{self, MAX_NAME};

impl Handle for api::CreateTemplate {
    const PERMISSION: Permission = Permission::Engage;

    async fn handle(ctx: &Ctx<'_>, input: CreateTemplateInput) -> Result<Template, ApiError> {
        let name = validate::text("name", &input.name, MAX_NAME)?;
        if input.content.is_empty() {
            return Err(ApiError::invalid("content", "needs at least one locale"));
        }
        validate::content("content", &input.content)?;
        Ok(ctx.store.create_template(&ctx.actor()?.workspace_id, &name, &input.content).await?)
    }
}
