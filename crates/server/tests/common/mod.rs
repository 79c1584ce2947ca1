//! Starts the real server on a random port with its own store, and speaks
//! the tRPC wire protocol to it.
#![allow(dead_code)] // each test binary uses its own share of these helpers

pub mod postgres;
pub mod s3;
pub mod sse;

use std::net::SocketAddr;
use std::sync::Arc;

use connect360_api::Procedure;
use connect360_server::app::{Application, ServeConfig};
use connect360_server::attachments::location::FilesLocation;
use connect360_server::auth::hash_key;
use connect360_server::domain::Role;
use connect360_server::domain::{AgentConfig, FaqSettings};
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
    /// Where the server keeps attachments: the data directory's, or a bucket.
    pub files: FilesLocation,
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

impl StoreKind {
    /// Runs a test with its servers on this store and files on local disk.
    pub async fn run(self, test: impl std::future::Future<Output = ()>) {
        Backends { store: self, files: FilesKind::Local }.run(test).await
    }

    /// The store of the running test; SQLite outside [`Backends::run`].
    pub fn current() -> StoreKind {
        Backends::current().store
    }

    /// Where a new server's store is: `None` for SQLite in its data directory.
    pub async fn new_database(self) -> Option<PgUrl> {
        match self {
            StoreKind::Sqlite => None,
            StoreKind::Postgres => Some(postgres::cluster().database().await),
        }
    }
}

/// Each test once on each of the backends named: `name::half`.
#[macro_export]
macro_rules! on_backends {
    ($($half:ident: $backends:expr),+; $(#[$attr:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            async fn test() $body

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $half() {
                    ($backends).run(test()).await
                }
            )+
        }
    };
}

/// Each test, once on SQLite and once on PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($($test:tt)*) => {
        $crate::on_backends! {
            sqlite: $crate::common::StoreKind::Sqlite,
            postgres: $crate::common::StoreKind::Postgres;
            $($test)*
        }
    };
}

/// Where a test's servers keep attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesKind {
    /// The data directory's `files`, the default.
    Local,
    /// A fresh bucket of this binary's s3s-fs server (see [`s3`]).
    S3,
}

/// The store and the files of a test's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub store: StoreKind,
    pub files: FilesKind,
}

tokio::task_local! {
    static BACKENDS: Backends;
}

impl Backends {
    /// One server on its own: SQLite and files in its data directory.
    pub const EMBEDDED: Backends = Backends { store: StoreKind::Sqlite, files: FilesKind::Local };
    /// What several instances share: PostgreSQL and an S3 bucket.
    pub const SHARED: Backends = Backends { store: StoreKind::Postgres, files: FilesKind::S3 };

    /// Runs a test with its servers on these. A half whose server is not
    /// installed (PostgreSQL, s3s-fs) is skipped, saying so, unless CI=true.
    pub async fn run(self, test: impl std::future::Future<Output = ()>) {
        if (self.store == StoreKind::Postgres && !postgres::available())
            || (self.files == FilesKind::S3 && !s3::available())
        {
            return;
        }
        BACKENDS.scope(self, test).await
    }

    /// Those of the running test; [`Backends::EMBEDDED`] outside [`Backends::run`].
    pub fn current() -> Backends {
        BACKENDS.try_with(|backends| *backends).unwrap_or(Backends::EMBEDDED)
    }
}

impl FilesKind {
    /// The files of the running test.
    pub fn current() -> FilesKind {
        Backends::current().files
    }

    /// Where a new server on `data` keeps its files.
    pub fn new_location(self, data: &std::path::Path) -> FilesLocation {
        match self {
            FilesKind::Local => FilesLocation::Dir(data.join("files")),
            FilesKind::S3 => s3::server().bucket(),
        }
    }
}

/// Each test on the embedded backends (SQLite, files on local disk) and on
/// those several instances share (PostgreSQL, an S3 bucket):
/// `name::embedded` and `name::shared`.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:tt)*) => {
        $crate::on_backends! {
            embedded: $crate::common::Backends::EMBEDDED,
            shared: $crate::common::Backends::SHARED;
            $($test)*
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

/// A server on an existing data directory (and a new store and files of the test's kinds).
pub async fn spawn_app_in(data: Arc<TempDir>, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let database_url = StoreKind::current().new_database().await;
    let files = FilesKind::current().new_location(data.path());
    spawn_app_on(data, database_url, files, configure).await
}

/// A server on an existing data directory, store and files, as after a restart.
pub async fn spawn_app_on(
    data: Arc<TempDir>,
    database_url: Option<PgUrl>,
    files: FilesLocation,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestApp {
    let mut config =
        ServeConfig::new("127.0.0.1:0".parse().unwrap(), data.path().to_owned(), data.path().join("no-widget-here"));
    config.database_url = database_url.clone();
    config.files = files.clone();
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
    TestApp { addr, http: reqwest::Client::new(), store, events, data, database_url, files, shutdown: Some(tx) }
}

impl TestApp {
    /// Stops this server and starts another on its data directory.
    pub async fn restart(self, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let (data, database_url, files) = (self.data.clone(), self.database_url.clone(), self.files.clone());
        drop(self);
        spawn_app_on(data, database_url, files, configure).await
    }

    /// A second server on this one's store and files, with a data directory of its own.
    pub async fn another_instance(&self, configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
        let data = Arc::new(tempfile::tempdir().expect("temp dir"));
        spawn_app_on(data, self.database_url.clone(), self.files.clone(), configure).await
    }

    /// The attachments' bytes the server keeps: files in its directory, or objects in its bucket.
    pub fn stored_files(&self) -> usize {
        match &self.files {
            FilesLocation::Dir(dir) => count_files(dir),
            FilesLocation::S3(location) => count_files(&s3::server().bucket_dir(&location.bucket.name)),
        }
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
            connect360_api::ProcedureKind::Query => self.http.get(url).query(&[("input", input.to_string())]),
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
        self.call::<connect360_api::SendMessage>(
            key,
            json!({ "conversationId": conversation_id, "content": { "en": text } }),
        )
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

/// Whether a half of a suite can run here: outside CI a machine without
/// its server (`missing`) skips it, saying so; under CI (`CI=true`) it fails.
pub fn installed_or_skipped(installed: bool, half: &str, missing: &str, install: &str) -> bool {
    if !installed && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and the {half} half cannot run: {missing} ({install})");
    }
    if !installed {
        eprintln!("SKIPPED the {half} half: {missing} ({install})");
    }
    installed
}

/// Runs `commands` in the background once this test process has exited:
/// stopping the servers a test binary started and removing their folders.
pub fn after_exit(commands: &str) {
    let script = format!(
        "(while [ -d /proc/{pid} ]; do sleep 0.5; done; {commands}) >/dev/null 2>&1 &",
        pid = std::process::id()
    );
    // In the background of a shell that returns at once: the watcher outlives us.
    let started = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the clean-up watcher starts");
    assert!(started.success(), "the clean-up watcher starts: {started}");
}

/// Regular files under `dir`, at any depth; none when it doesn't exist.
pub fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
}

pub fn uuid_like() -> String {
    format!("{:032x}", rand::random::<u128>())
}
