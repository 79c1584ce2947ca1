//! Starts the real server on a random port with its own store, and speaks
//! the tRPC wire protocol to it.
#![allow(dead_code)] // each test binary uses its own share of these helpers

pub mod postgres;
pub mod sse;

use std::net::SocketAddr;
use std::sync::Arc;

use connect360_api::Procedure;
use connect360_server::domain::{AgentConfig, FaqSettings};
use connect360_server::app::{Application, ServeConfig};
use connect360_server::auth::hash_key;
use connect360_server::domain::Role;
use connect360_server::hub::{EventBus, InProcessHub};
use connect360_server::store::{PgUrl, Store, Workspace};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// A second handle on the same store, for setting up keys and agents
    /// (its writes are not published to the server's streams).
    pub store: Arc<dyn Store>,
    /// The server's event hub, to see who watches.
    pub events: Arc<dyn EventBus>,
    /// Shared, so that a restarted server keeps the same store.
    pub data: Arc<TempDir>,
    /// The PostgreSQL store, when the test runs on it.
    pub database_url: Option<PgUrl>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The answer to one call: its HTTP status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "expected success, got {}", self.body);
        &self.body["result"]["data"]
    }

    /// Asserts a tRPC error of this code and returns its message.
    pub fn error(&self, code: &str) -> String {
        let error = &self.body["error"];
        assert_eq!(error["data"]["code"], code, "unexpected answer {}", self.body);
        assert_eq!(self.status.as_u16(), error["data"]["httpStatus"], "{}", self.body);
        error["message"].as_str().unwrap_or_default().to_owned()
    }
}

/// The store a test's servers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    /// A fresh database of this binary's throwaway cluster (see [`postgres`]).
    Postgres,
}

tokio::task_local! {
    static STORE_KIND: StoreKind;
}

impl StoreKind {
    /// Runs a test with its servers on this store. The PostgreSQL half is
    /// skipped, saying so, where PostgreSQL is not installed, unless CI=true.
    pub async fn run(self, test: impl std::future::Future<Output = ()>) {
        if self == StoreKind::Postgres && !postgres::available() {
            return;
        }
        STORE_KIND.scope(self, test).await
    }

    /// The store of the running test; SQLite outside [`StoreKind::run`].
    pub fn current() -> StoreKind {
        STORE_KIND.try_with(|kind| *kind).unwrap_or(StoreKind::Sqlite)
    }

    /// Where a new server's store is: `None` for SQLite in its data directory.
    pub async fn new_database(self) -> Option<PgUrl> {
        match self {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(postgres::cluster().database().await),
        }
    }
}

/// Each test, once on SQLite and once on PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($(#[$attr:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            async fn test() $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::StoreKind::Sqlite.run(test()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::StoreKind::Postgres.run(test()).await
            }
        }
    };
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The server with some of its configuration changed, e.g. how soon unused uploads go.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    spawn_app_in(Arc::new(tempfile::tempdir().expect("temp dir")), configure).await
}

/// A server on an existing data directory (and a new store of the test's kind).
pub async fn spawn_app_in(data: Arc<TempDir>, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let database_url = StoreKind::current().new_database().await;
    spawn_app_on(data, database_url, configure).await
}

/// A server on an existing data directory and store, as after a restart.
pub async fn spawn_app_on(data: Arc<TempDir>, database_url: Option<PgUrl>, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let mut config = ServeConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        data.path().to_owned(),
        data.path().join("no-widget-here"),
    );
    config.database_url = database_url.clone();
    configure(&mut config);
    let app = Application::build(&config).await.expect("server builds");
    let addr = app.local_addr().unwrap();
    let events = app.events();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let store = connect360_server::store::open(data.path(), database_url.as_ref(), Arc::new(InProcessHub::default()))
        .await
        .expect("store opens");
    TestApp { addr, http: reqwest::Client::new(), store, events, data, database_url, shutdown: Some(tx) }
}

impl TestApp {
    /// Stops this server and starts another on its data directory.
    pub async fn restart(self, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let (data, database_url) = (self.data.clone(), self.database_url.clone());
        drop(self);
        spawn_app_on(data, database_url, configure).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A connection to the store (read-only on SQLite), for what the API does not show.
    pub async fn db(&self) -> sqlx::AnyPool {
        self.any_pool("?mode=ro").await
    }

    /// A connection to the store that may write, for a state the API cannot make.
    pub async fn db_writable(&self) -> sqlx::AnyPool {
        self.any_pool("").await
    }

    async fn any_pool(&self, sqlite_options: &str) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = match &self.database_url {
            Some(url) => url.as_str().to_owned(),
            None => format!("sqlite://{}/connect360.db{sqlite_options}", self.data.path().display()),
        };
        sqlx::AnyPool::connect(&url).await.expect("the store opens")
    }

    pub async fn workspace(&self, slug: &str) -> Workspace {
        self.store.ensure_workspace(slug, slug).await.unwrap()
    }

    /// A key of the default member of workspace `slug`.
    pub async fn key_in(&self, slug: &str, role: Role) -> String {
        let ws = self.workspace(slug).await;
        self.key_for(&ws, &ws.default_member_id, role).await
    }

    pub async fn key_for(&self, ws: &Workspace, member_id: &str, role: Role) -> String {
        let key = format!("test_{}", uuid_like());
        self.store.create_api_key(&ws.id, member_id, "test", role, &hash_key(&key)).await.unwrap();
        key
    }

    /// A faq agent with an empty knowledge base: it always hands off.
    pub async fn agent(&self, workspace_id: &str, name: &str) -> String {
        let config = AgentConfig::Faq(FaqSettings { knowledge: String::new() });
        self.store.create_agent(workspace_id, name, None, &config).await.unwrap()
    }

    pub async fn key(&self, role: Role) -> String {
        self.key_in("default", role).await
    }

    /// Calls procedure `P` as `httpLink` would.
    pub async fn call<P: Procedure>(&self, key: &str, input: Value) -> Answer {
        self.raw_call(key, P::PATH, P::KIND, input).await
    }

    pub async fn raw_call(&self, key: &str, path: &str, kind: connect360_api::ProcedureKind, input: Value) -> Answer {
        let url = self.url(&format!("/api/trpc/{path}"));
        let req = match kind {
            connect360_api::ProcedureKind::Query => {
                self.http.get(url).query(&[("input", input.to_string())])
            }
            connect360_api::ProcedureKind::Mutation => self.http.post(url).json(&input),
        };
        send(req.bearer_auth(key)).await
    }

    pub async fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path_and_query))
    }

    /// A new conversation with a new customer; returns its id.
    pub async fn conversation(&self, key: &str) -> String {
        let answer = self
            .call::<connect360_api::GetOrCreateConversation>(
                key,
                json!({ "customer": { "externalId": format!("visitor-{}", uuid_like()) } }),
            )
            .await;
        answer.data()["id"].as_str().unwrap().to_owned()
    }

    pub async fn send_text(&self, key: &str, conversation_id: &str, text: &str) -> Value {
        self.call::<connect360_api::SendMessage>(key, json!({ "conversationId": conversation_id, "content": { "en": text } }))
            .await
            .data()
            .clone()
    }
}

/// A guest's widget session: its token, its conversation, and the whole answer.
pub struct Guest {
    pub token: String,
    pub conversation_id: String,
    pub session: Value,
}

/// `n` guest visitors of a new widget on example.com.
pub async fn guests(app: &TestApp, n: usize) -> Vec<Guest> {
    let ws = app.workspace("default").await;
    let domain = connect360_server::domain::Domain::parse("d", "example.com").unwrap();
    let widget = app.store.create_widget(&ws.id, None, &[domain], None).await.unwrap();
    let mut guests = Vec::new();
    for _ in 0..n {
        let res = app
            .http
            .post(app.url(connect360_api::WIDGET_SESSION_PATH))
            .header("origin", "https://example.com")
            .json(&json!({"widgetKey": widget.public_key}))
            .send()
            .await
            .unwrap();
        let session: Value = res.json().await.unwrap();
        guests.push(Guest {
            token: session["token"].as_str().unwrap().to_owned(),
            conversation_id: session["conversation"]["id"].as_str().unwrap().to_owned(),
            session,
        });
    }
    guests
}

pub async fn send(req: reqwest::RequestBuilder) -> Answer {
    let res = req.send().await.expect("request reaches the server");
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    Answer { status, body }
}

pub fn uuid_like() -> String {
    format!("{:032x}", rand::random::<u128>())
}
