//! The HTTP application: the resources' routers merged under the layers, and a server that stops cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use connect360_api::ErrorCode;
use tokio::net::TcpListener;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::ai::Ai;
use crate::assets::WidgetAssets;
use crate::attachments::location::FilesLocation;
use crate::attachments::upload::SpoolDir;
use crate::attachments::url::UrlSigner;
use crate::auth::Authenticator;
use crate::backend::{Backend, LocalBackend};
use crate::cors::CROSS_ORIGIN_RESOURCE_POLICY;
use crate::csrf::PublicOrigin;
use crate::demo::Demo;
use crate::domain::DEFAULT_WORKSPACE;
use crate::error::ApiError;
use crate::events::EventStreams;
use crate::events::limits::StreamLimits;
use crate::events::log::{ConversationLogs, StoreLog};
use crate::hub::{EventBus, InProcessHub};
use crate::inbox_page::InboxPage;
use crate::key_cache::KeyCache;
use crate::limits::{Limits, LimitsConfig};
use crate::pg_events::PgBus;
use crate::sign_in::SignInLimits;
use crate::state::{AppState, SharedState};
use crate::store::PgUrl;
use crate::upstream::UpstreamConfig;
use crate::upstream::backend::UpstreamBackend;
use crate::upstream::forward::Forwarder;
use crate::upstream::poller::UpstreamLogs;
use crate::visitor_token::TokenSigner;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// The SQLite store (unless `database_url`), uploads and their spool.
    pub data_dir: PathBuf,
    /// The PostgreSQL store, shared by every instance that names it.
    pub database_url: Option<PgUrl>,
    /// Where attachments are: by default the data directory's `files`.
    pub files: FilesLocation,
    /// Trunk's output: the widget bundle and its loader.
    pub widget_dir: PathBuf,
    /// Trunk's output of the team inbox, served at `/inbox`.
    pub inbox_dir: PathBuf,
    /// Seed and serve the demo shop.
    pub demo: bool,
    /// Uploads no message has used for this long are removed.
    pub unused_files_ttl: Duration,
    /// How often unused uploads are looked for.
    pub file_gc_interval: Duration,
    /// Answer AI requests; off, they stay pending (tests stop it to see that).
    pub ai_runner: bool,
    /// How long the runner's claim on an AI request holds unless renewed:
    /// how soon another instance answers the requests of one that died.
    pub ai_claim_lease: Duration,
    /// How long a request may take until its answer starts; uploads, which
    /// take as long as the client's connection needs, are not held to it.
    pub request_timeout: Duration,
    /// Record metrics and serve them at `GET /metrics` (see [`crate::telemetry`]).
    pub metrics: bool,
    /// A member's inbox session ends after this long without a request.
    pub session_idle: Duration,
    /// The URL browsers reach the server at, when a proxy is in front:
    /// its origin is the one signed-in requests must come from, and with
    /// https the session cookie is `Secure`.
    pub public_url: Option<String>,
    /// Events an event-stream subscriber may be behind by before it is ended.
    pub event_buffer: usize,
    /// Event streams a visitor may hold open at once.
    pub streams_per_visitor: usize,
    /// Visitors' event streams one client address may hold open at once.
    pub streams_per_ip: usize,
    /// Abuse limits, and where the client's address comes from.
    pub limits: LimitsConfig,
    /// Upstream mode: conversations live on this hosted API (see [`crate::upstream`]).
    pub upstream: Option<UpstreamConfig>,
}

pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl ServeConfig {
    pub fn new(addr: SocketAddr, data_dir: PathBuf, widget_dir: PathBuf) -> Self {
        ServeConfig {
            addr,
            files: FilesLocation::Dir(data_dir.join("files")),
            data_dir,
            database_url: None,
            widget_dir,
            inbox_dir: PathBuf::from(crate::inbox_page::DEFAULT_DIR),
            demo: false,
            unused_files_ttl: crate::attachments::gc::DEFAULT_UNUSED_TTL,
            file_gc_interval: crate::attachments::gc::DEFAULT_INTERVAL,
            ai_runner: true,
            ai_claim_lease: crate::ai::runner::DEFAULT_CLAIM_LEASE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            metrics: false,
            session_idle: crate::auth::DEFAULT_SESSION_IDLE,
            public_url: None,
            event_buffer: crate::hub::DEFAULT_BUFFER,
            streams_per_visitor: crate::events::limits::DEFAULT_PER_VISITOR,
            streams_per_ip: crate::events::limits::DEFAULT_PER_IP,
            limits: LimitsConfig::default(),
            upstream: None,
        }
    }
}

/// Every route: the API's resources (browsers may call them from a widget's
/// sites, see [`crate::cors`]), the widget's files and the demo. Each
/// request gets an `x-request-id` (or keeps the caller's), which its log
/// lines and its answer carry. With `metrics`, every request is counted and
/// `GET /metrics` answers, outside the CORS layer: no widget's page may read it.
pub fn router(
    state: AppState,
    assets: Option<Arc<WidgetAssets>>,
    inbox: Option<InboxPage>,
    demo: Option<Arc<Demo>>,
    timeout: Duration,
    metrics: bool,
    upstream: Option<Forwarder>,
) -> Router {
    let timed = |routes: Router<AppState>| {
        routes
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
            .layer(axum::middleware::map_response(timed_out))
    };
    let calls = Router::new().merge(crate::trpc::router()).merge(crate::session::router());
    // In upstream mode visitors' files and AI replies are the upstream's, and
    // the team works there: no inbox here.
    let (calls, uploads) = match upstream.clone() {
        Some(forwarder) => (
            calls.merge(crate::upstream::forward::calls(forwarder.clone())),
            crate::upstream::forward::uploads(forwarder),
        ),
        None => (
            calls
                .merge(crate::attachments::downloads())
                .merge(crate::ai::stream::router())
                .merge(crate::sign_in::router())
                .merge(crate::inbox_events::router()),
            crate::attachments::uploads(),
        ),
    };
    let api = Router::new()
        .merge(timed(calls))
        .merge(uploads)
        .layer(axum::middleware::from_fn_with_state(state.limits.clone(), crate::limits::per_api_key))
        .layer(axum::middleware::from_fn_with_state(state.origin.clone(), crate::csrf::same_origin))
        .layer(crate::cors::layer(state.store.clone()));
    // Its own CORS: the one route whose preflight allows `Last-Event-ID`.
    let api = api
        .merge(timed(crate::events::router()).layer(crate::cors::events_layer(state.store.clone())))
        .layer(axum::middleware::from_fn(crate::cors::preflight_status));
    let mut app = Router::new()
        .merge(api)
        .route("/healthz", axum::routing::get(crate::health::handle))
        .merge(crate::assets::router(assets))
        .merge(crate::inbox_page::router(inbox.filter(|_| upstream.is_none())))
        .merge(crate::demo::router(demo))
        .fallback(not_found);
    if metrics {
        app = app
            .route("/metrics", axum::routing::get(crate::telemetry::render))
            .layer(axum::middleware::from_fn(crate::telemetry::track));
    }
    // Only what other sites must embed (the widget's files, a visitor's
    // signed attachment URLs) says otherwise.
    app.layer(SetResponseHeaderLayer::if_not_present(
        CROSS_ORIGIN_RESOURCE_POLICY,
        HeaderValue::from_static("same-site"),
    ))
    .layer(TraceLayer::new_for_http().make_span_with(request_span))
    .layer(PropagateRequestIdLayer::x_request_id())
    .layer(SetRequestIdLayer::x_request_id(crate::telemetry::SequentialRequestIds::default()))
    .layer(tower::util::MapRequestLayer::new(crate::memory::note_request))
    .with_state(state)
}

fn request_span(req: &Request) -> tracing::Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
}

/// The timeout's answer (a bare 408) as the API's error envelope.
async fn timed_out(res: Response) -> Response {
    if res.status() != StatusCode::REQUEST_TIMEOUT {
        return res;
    }
    ApiError::new(ErrorCode::Timeout, "The server took too long to answer; try again.").into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("No such route.")
}

/// A bound, ready server. Build it, read its address, then run it.
pub struct Application {
    listener: TcpListener,
    router: Router,
    demo: Option<Arc<Demo>>,
    /// Removes unused uploads while the server runs.
    file_gc: BackgroundTask,
    /// Gives memory back each time the server goes quiet.
    trim: BackgroundTask,
    /// Answers AI requests while the server runs, unless configured off.
    ai_runner: Option<BackgroundTask>,
    /// Drains the metrics' histograms, when metrics are on.
    metrics_upkeep: Option<BackgroundTask>,
    ai: Ai,
    events: Arc<dyn EventBus>,
}

type BackgroundTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl Application {
    pub async fn build(config: &ServeConfig) -> anyhow::Result<Application> {
        let hub = InProcessHub::new(config.event_buffer);
        let store = crate::store::open(&config.data_dir, config.database_url.as_ref(), Arc::new(hub.clone())).await?;
        // Several instances on one database: events go across by LISTEN/NOTIFY.
        let events: Arc<dyn EventBus> = match &config.database_url {
            Some(url) => Arc::new(PgBus::start(url.as_str(), hub, store.clone()).await?),
            None => Arc::new(hub),
        };
        store
            // The demo names it: its support team shows as "Nordwind support".
            .ensure_workspace(DEFAULT_WORKSPACE, if config.demo { crate::demo::WORKSPACE_NAME } else { "Default" })
            .await
            .context("creating the default workspace")?;
        let token_key = store.token_key().await.context("reading the token key")?;
        let signer = TokenSigner::new(token_key);
        let files = config.files.open().await?;
        let spool_dir = config.data_dir.join("incoming");
        // What a crash left half-uploaded is of no use to anyone.
        match std::fs::remove_dir_all(&spool_dir) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("clearing {}", spool_dir.display()));
            }
            _ => {}
        }
        std::fs::create_dir_all(&spool_dir).with_context(|| format!("creating {}", spool_dir.display()))?;
        let assets = match WidgetAssets::load(&config.widget_dir) {
            Ok(assets) => {
                let sizes = assets.sizes();
                tracing::info!(widget_bytes = sizes.raw, widget_brotli = sizes.brotli, "widget bundle");
                Some(Arc::new(assets))
            }
            Err(err) if config.demo => return Err(err.context("the demo needs the widget built")),
            Err(err) => {
                tracing::warn!("serving the API without the widget: {err:#}");
                None
            }
        };
        let inbox = InboxPage::load(&config.inbox_dir)
            .inspect_err(|err| tracing::warn!("serving the API without the inbox: {err:#}"))
            .ok();
        let demo = match config.demo {
            true => Some(Arc::new(crate::demo::seed(store.as_ref()).await?)),
            false => None,
        };
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
        let file_gc = Box::pin(crate::attachments::gc::run(
            store.clone(),
            files.clone(),
            config.unused_files_ttl,
            config.file_gc_interval,
        ));
        let trim = Box::pin(crate::memory::trim_when_quiet(store.clone()));
        let ai = Ai::new(events.clone());
        let upstream = match &config.upstream {
            Some(upstream) => {
                let client = crate::upstream::connect(upstream).await?;
                Some(Arc::new(UpstreamBackend::new(client, events.clone(), ai.replies.clone())))
            }
            None => None,
        };
        let backend: Arc<dyn Backend> = match &upstream {
            Some(upstream) => upstream.clone(),
            None => Arc::new(LocalBackend(store.clone())),
        };
        // What an event stream missed: the store's, or the upstream's through the conversation's poller.
        let logs: Arc<dyn ConversationLogs> = match &upstream {
            Some(upstream) => Arc::new(UpstreamLogs { upstream: upstream.clone() }),
            None => Arc::new(StoreLog(store.clone())),
        };
        // In upstream mode the upstream answers AI requests.
        let ai_runner = (config.ai_runner && config.upstream.is_none()).then(|| {
            Box::pin(crate::ai::runner::run(store.clone(), ai.clone(), config.ai_claim_lease)) as BackgroundTask
        });
        let state = AppState::new(SharedState {
            auth: Authenticator {
                store: store.clone(),
                signer: signer.clone(),
                session_idle: config.session_idle,
                visitors_only: config.upstream.is_some(),
                keys: KeyCache::default(),
            },
            backend,
            sign_in_limits: SignInLimits::new(&config.limits),
            limits: Limits::new(&config.limits),
            origin: PublicOrigin::new(config.public_url.as_deref()),
            store,
            signer,
            files,
            spool: SpoolDir(Arc::new(spool_dir)),
            urls: UrlSigner::new(&token_key),
            ai: ai.clone(),
            events: events.clone(),
            streams: EventStreams {
                logs,
                limits: StreamLimits::new(config.streams_per_visitor, config.streams_per_ip),
                buffer: config.event_buffer,
            },
        });
        let metrics_upkeep = match config.metrics {
            true => {
                crate::telemetry::recorder()?;
                Some(Box::pin(crate::telemetry::upkeep()) as BackgroundTask)
            }
            false => None,
        };
        let forwarder = upstream.map(|upstream| Forwarder {
            upstream,
            auth: state.auth.clone(),
            urls: state.urls.clone(),
            limits: state.limits.clone(),
        });
        let router = router(state, assets, inbox, demo.clone(), config.request_timeout, config.metrics, forwarder);
        Ok(Application { listener, router, demo, file_gc, trim, ai_runner, metrics_upkeep, ai, events })
    }

    /// The hub the server's events go through (tests count its subscribers).
    pub fn events(&self) -> Arc<dyn EventBus> {
        self.events.clone()
    }

    pub fn demo(&self) -> Option<&Demo> {
        self.demo.as_deref()
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let file_gc = tokio::spawn(self.file_gc);
        // Stopped mid-reply, a request stays pending and is answered on the next start.
        let ai_runner = self.ai_runner.map(tokio::spawn);
        let metrics_upkeep = self.metrics_upkeep.map(tokio::spawn);
        let trim = tokio::spawn(self.trim);
        let ai = self.ai;
        // The client's address: sign-in attempts and the event streams' per-address caps.
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Open streams would otherwise hold the stop up until their reply or for ever.
                ai.close();
            })
            .await;
        file_gc.abort();
        trim.abort();
        for task in [ai_runner, metrics_upkeep].into_iter().flatten() {
            task.abort();
        }
        served
    }
}

/// Completes on ctrl-c or SIGTERM. The handlers are installed here, before
/// the server says it listens: installed on the future's first poll instead,
/// a SIGTERM sent right after start would kill the process outright.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("shutting down");
            }
        })
    }
}
