//! `serve --demo`: a fictional shop that embeds the widget, with a workspace
//! ready to answer it.

use anyhow::Context;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::app::{AppState, DEFAULT_WORKSPACE};
use crate::auth::{Role, hash_key};
use crate::store::Store;
use crate::validate::Domain;

const PAGE: &str = include_str!("../demo/shop.html");
const CSS: &str = include_str!("../demo/shop.css");
const KEY_PLACEHOLDER: &str = "__DEMO_WIDGET_KEY__";
pub const WORKSPACE_NAME: &str = "Nordwind";

#[derive(Debug, Clone)]
pub struct Demo {
    pub widget_key: String,
    /// A fresh key each start, printed once: the demo's support team uses it.
    pub support_key: String,
    pub page: String,
}

/// Seeds the demo workspace: a widget for this machine and a support key.
pub async fn seed(store: &dyn Store) -> anyhow::Result<Demo> {
    let workspace = store.ensure_workspace(DEFAULT_WORKSPACE, WORKSPACE_NAME).await?;
    let domains = ["localhost", "127.0.0.1"].map(|d| Domain::parse("domain", d).expect("valid demo domains"));
    let widget = store
        .create_widget(&workspace.id, Some("demo"), &domains, None)
        .await
        .context("creating the demo widget")?;
    let support_key = crate::ids::new_secret("c360", 32);
    store
        .create_api_key(&workspace.id, &workspace.default_member_id, "demo support", Role::Full, &hash_key(&support_key))
        .await
        .context("creating the demo support key")?;
    Ok(Demo {
        page: PAGE.replace(KEY_PLACEHOLDER, &widget.public_key),
        widget_key: widget.public_key,
        support_key,
    })
}

pub async fn page(State(state): State<AppState>) -> Response {
    match &state.demo {
        Some(demo) => ([(CONTENT_TYPE, "text/html; charset=utf-8")], demo.page.clone()).into_response(),
        None => crate::app::not_found().await,
    }
}

pub async fn css(State(state): State<AppState>) -> Response {
    match &state.demo {
        Some(_) => ([(CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response(),
        None => crate::app::not_found().await,
    }
}
