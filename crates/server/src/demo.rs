//! `serve --demo`: a fictional shop that embeds the widget, with a workspace
//! ready to answer it.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::auth::hash_key;
use crate::domain::{AgentConfig, DEFAULT_WORKSPACE, Domain, FaqSettings, Role};
use crate::error::ApiError;
use crate::password;
use crate::store::{NewMember, Store};

const PAGE: &str = include_str!("../demo/shop.html");
const CSS: &str = include_str!("../demo/shop.css");
const KEY_PLACEHOLDER: &str = "__DEMO_WIDGET_KEY__";
const AGENT_PLACEHOLDER: &str = "__DEMO_AI_AGENT__";
/// Shipping, returns and order status, in English, Arabic and Turkish.
const KNOWLEDGE: &str = include_str!("../demo/knowledge.md");
pub const WORKSPACE_NAME: &str = "Nordwind";
/// The demo's support agent, who signs in to the inbox.
pub const MEMBER_EMAIL: &str = "demo@example.com";

#[derive(Debug, Clone)]
pub struct Demo {
    pub widget_key: String,
    /// A fresh key each start, printed once: the demo's support team uses it.
    pub support_key: String,
    /// The faq agent the page's widget asks (`data-ai-agent`).
    pub ai_agent_id: String,
    /// A fresh password of [`MEMBER_EMAIL`] each start, printed once.
    pub member_password: String,
    pub page: String,
}

/// Seeds the demo workspace: a widget for this machine, a support key, a
/// member to sign in to the inbox with and the shop's FAQ assistant.
pub async fn seed(store: &dyn Store) -> anyhow::Result<Demo> {
    let workspace = store.ensure_workspace(DEFAULT_WORKSPACE, WORKSPACE_NAME).await?;
    let domains = ["localhost", "127.0.0.1"].map(|d| Domain::parse("domain", d).expect("valid demo domains"));
    let widget =
        store.create_widget(&workspace.id, Some("demo"), &domains, None).await.context("creating the demo widget")?;
    let support_key = crate::ids::new_secret("c360", 32);
    store
        .create_api_key(
            &workspace.id,
            &workspace.default_member_id,
            "demo support",
            Role::Full,
            &hash_key(&support_key),
        )
        .await
        .context("creating the demo support key")?;
    let member_password = crate::ids::new_secret("demo", 8);
    if store.member_by_email(DEFAULT_WORKSPACE, MEMBER_EMAIL).await?.is_none() {
        let member = NewMember {
            workspace_id: workspace.id.clone(),
            name: "Demo support".into(),
            email: Some(MEMBER_EMAIL.into()),
            role: Role::Full,
        };
        store.create_member(&member).await.context("creating the demo member")?;
    }
    let to_hash = member_password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&to_hash))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing the demo member's password: {e}"))?;
    store.set_password(&workspace.id, MEMBER_EMAIL, &hash).await.context("setting the demo member's password")?;
    let knowledge = AgentConfig::Faq(FaqSettings { knowledge: KNOWLEDGE.to_owned() });
    let ai_agent_id = store
        .ensure_agent(&workspace.id, "Nordwind assistant", None, &knowledge)
        .await
        .context("creating the demo assistant")?;
    Ok(Demo {
        page: PAGE.replace(KEY_PLACEHOLDER, &widget.public_key).replace(AGENT_PLACEHOLDER, &ai_agent_id),
        ai_agent_id,
        widget_key: widget.public_key,
        support_key,
        member_password,
    })
}

/// The shop's page and style sheet; without `--demo` they are not found.
pub fn router<S>(demo: Option<Arc<Demo>>) -> Router<S> {
    Router::new().route("/", get(page)).route("/demo/shop.css", get(css)).with_state(demo)
}

fn running(demo: Option<Arc<Demo>>) -> Result<Arc<Demo>, ApiError> {
    demo.ok_or_else(|| ApiError::not_found("No such route."))
}

async fn page(State(demo): State<Option<Arc<Demo>>>) -> Result<impl IntoResponse, ApiError> {
    let demo = running(demo)?;
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], demo.page.clone()))
}

async fn css(State(demo): State<Option<Arc<Demo>>>) -> Result<impl IntoResponse, ApiError> {
    running(demo)?;
    Ok(([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS))
}

#[cfg(test)]
mod tests {
    use connect360_api::Locale;

    use super::KNOWLEDGE;
    use crate::ai::faq::KnowledgeBase;

    #[test]
    fn the_shop_s_assistant_knows_shipping_returns_and_orders_in_three_languages() {
        let kb = KnowledgeBase::parse(KNOWLEDGE);
        for (question, locale, answer_starts) in [
            ("How much is shipping to France?", Locale::En, "Orders ship within"),
            ("I want to return my jacket", Locale::En, "You can return"),
            ("Where is my order #1042?", Locale::En, "As soon as your order"),
            ("كم تكلفة الشحن؟", Locale::Ar, "نشحن الطلبات"),
            ("كيف أرجع المنتج وأسترد المبلغ؟", Locale::Ar, "يمكنك إرجاع"),
            ("أين طلبي؟", Locale::Ar, "بمجرد شحن"),
            ("Kargo ücreti ne kadar?", Locale::Tr, "Siparişler Hamburg"),
            ("Ürünü nasıl iade ederim?", Locale::Tr, "Kullanılmamış"),
            ("Siparişim nerede?", Locale::Tr, "Siparişiniz kargoya"),
        ] {
            let reply = kb.reply(question, Locale::En);
            assert_eq!(reply.locale, locale, "{question}");
            assert!(reply.text.starts_with(answer_starts), "{question} got {}", reply.text);
        }
        assert!(kb.reply("Do you have a store in Paris?", Locale::En).handoff);
    }
}
