//! The command line: `serve`, and the admin commands that set a workspace up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderName;
use clap::{Args, Parser, Subcommand};

use crate::app::{Application, ServeConfig, shutdown_signal};
use crate::attachments::location::{FilesArg, FilesLocation};
use crate::auth::hash_key;
use crate::domain::{AgentConfig, DEFAULT_WORKSPACE, Domain, FaqSettings, OpenAiSettings, Role};
use crate::hub::InProcessHub;
use crate::limits::{LimitsConfig, Rate};
use crate::store::{NewMember, PgUrl, Store, Workspace};
use crate::upstream::UpstreamConfig;
use crate::upstream::client::{ApiKey, ClientConfig};
use crate::{password, validate};

/// `read`, `engage` or `full`: clap's parser for the api crate's [`Role`].
fn role_parser() -> impl clap::builder::TypedValueParser<Value = Role> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["read", "engage", "full"]).map(|word| match word.as_str() {
        "read" => Role::Read,
        "full" => Role::Full,
        _ => Role::Engage,
    })
}

#[derive(Debug, Parser)]
#[command(name = "connect360-server", version, about = "The Connect360 messages API with an embedded store")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The abuse limits of `serve` (README "Limits"), each COUNT/PERIOD such as
/// 30/1m (periods in ms, s, m, h or d).
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Visitor sessions one client address may open.
    #[arg(long, env = "CONNECT360_LIMIT_SESSIONS_PER_IP", default_value = "30/1m")]
    pub limit_sessions_per_ip: Rate,
    /// Visitor sessions one widget may open, all addresses together.
    #[arg(long, env = "CONNECT360_LIMIT_SESSIONS_PER_WIDGET", default_value = "1200/1m")]
    pub limit_sessions_per_widget: Rate,
    /// Messages one visitor may send.
    #[arg(long, env = "CONNECT360_LIMIT_SENDS_PER_VISITOR", default_value = "30/1m")]
    pub limit_sends_per_visitor: Rate,
    /// Upload requests one visitor may make.
    #[arg(long, env = "CONNECT360_LIMIT_UPLOADS_PER_VISITOR", default_value = "60/1h")]
    pub limit_uploads_per_visitor: Rate,
    /// MiB one visitor may upload.
    #[arg(long, env = "CONNECT360_LIMIT_UPLOAD_MIB_PER_VISITOR", default_value = "500/1d")]
    pub limit_upload_mib_per_visitor: Rate,
    /// Requests one API key may make.
    #[arg(long, env = "CONNECT360_LIMIT_API_KEY_REQUESTS", default_value = "1000/1s")]
    pub limit_api_key_requests: Rate,
    /// Inbox sign-in attempts for one email.
    #[arg(long, env = "CONNECT360_LIMIT_SIGN_INS_PER_EMAIL", default_value = "5/1m")]
    pub limit_sign_ins_per_email: Rate,
    /// Inbox sign-in attempts from one client address.
    #[arg(long, env = "CONNECT360_LIMIT_SIGN_INS_PER_IP", default_value = "20/1m")]
    pub limit_sign_ins_per_ip: Rate,
    /// Behind a reverse proxy: the header it writes the client's address to
    /// (e.g. x-forwarded-for; its last entry is taken). Off by default: the
    /// connection's address is the client's, and the header is ignored.
    #[arg(long, env = "CONNECT360_TRUSTED_PROXY_HEADER")]
    pub trusted_proxy_header: Option<HeaderName>,
}

impl LimitArgs {
    pub fn config(self) -> LimitsConfig {
        LimitsConfig {
            sessions_per_ip: self.limit_sessions_per_ip,
            sessions_per_widget: self.limit_sessions_per_widget,
            sends_per_visitor: self.limit_sends_per_visitor,
            uploads_per_visitor: self.limit_uploads_per_visitor,
            upload_mib_per_visitor: self.limit_upload_mib_per_visitor,
            api_key_requests: self.limit_api_key_requests,
            sign_ins_per_email: self.limit_sign_ins_per_email,
            sign_ins_per_ip: self.limit_sign_ins_per_ip,
            trusted_proxy_header: self.trusted_proxy_header,
        }
    }
}

#[derive(Debug, Args)]
pub struct DataArg {
    /// Directory of the SQLite store (unless --database-url) and of uploads (created if missing).
    #[arg(long = "data", env = "CONNECT360_DATA", default_value = "./data")]
    pub dir: PathBuf,
    /// The store on PostgreSQL instead of SQLite, e.g. postgres://user:pass@host/db:
    /// every instance given the same URL serves the same chats.
    #[arg(long = "database-url", env = "CONNECT360_DATABASE_URL")]
    pub database_url: Option<PgUrl>,
}

/// Where attachments are kept (README "Attachments on S3").
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// A directory, or s3://BUCKET[/prefix] (credentials and region from
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION); by default
    /// the data directory's files.
    #[arg(long = "files", env = "CONNECT360_FILES")]
    pub files: Option<FilesArg>,
    /// The S3-compatible server of --files s3://…, e.g. http://127.0.0.1:9000; AWS's by default.
    #[arg(long = "s3-endpoint", env = "CONNECT360_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkspaceArg {
    /// Slug of the workspace; `default` is the one `serve` creates.
    #[arg(long, default_value = DEFAULT_WORKSPACE)]
    pub workspace: String,
}

// Parsed once at start: the size of `serve`'s many flags costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, env = "CONNECT360_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        files: FilesArgs,
        /// Trunk's output directory: the widget bundle and its loader, widget.js.
        #[arg(long, env = "CONNECT360_WIDGET_DIR", default_value = "./dist")]
        widget_dir: PathBuf,
        /// Trunk's output directory of the team inbox, served at /inbox.
        #[arg(long, env = "CONNECT360_INBOX_DIR", default_value = crate::inbox_page::DEFAULT_DIR)]
        inbox_dir: PathBuf,
        /// Seed a demo workspace and serve the demo shop at /.
        #[arg(long)]
        demo: bool,
        /// Record metrics and serve them at /metrics (Prometheus text format;
        /// anyone who reaches the port can read them, see README "Metrics").
        #[arg(long, env = "CONNECT360_METRICS")]
        metrics: bool,
        /// The URL browsers reach the server at when a proxy is in front,
        /// e.g. https://chat.example.com: signed-in requests must come from
        /// its origin, and with https the session cookie is Secure.
        #[arg(long, env = "CONNECT360_PUBLIC_URL")]
        public_url: Option<String>,
        /// Minutes without a request after which an inbox session ends.
        #[arg(long, env = "CONNECT360_SESSION_IDLE_MINUTES", default_value_t = 12 * 60)]
        session_idle_minutes: u64,
        #[command(flatten)]
        streams: StreamArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        upstream: UpstreamArgs,
    },
    /// Website widgets: the public key a site embeds, and where it may run.
    Widget {
        #[command(subcommand)]
        command: WidgetCommand,
    },
    /// Workspaces: each one's data is invisible to the others.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    /// Workspace members: they sign in to the inbox, and API keys act as them.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// API keys for trusted backends.
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// AI agents that `send` can ask for a reply.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
}

/// Upstream mode (README "Upstream mode"): visitors' conversations live on a hosted Connect360 API.
#[derive(Debug, Args)]
pub struct UpstreamArgs {
    /// The hosted API's tRPC base, e.g. https://api.example.com/api/trpc.
    #[arg(long, env = "CONNECT360_UPSTREAM_URL", requires = "upstream_key_env", conflicts_with = "demo")]
    pub upstream_url: Option<String>,
    /// The name of the environment variable that holds the upstream's API key
    /// (the key itself is never a flag).
    #[arg(long, env = "CONNECT360_UPSTREAM_KEY_ENV", requires = "upstream_url")]
    pub upstream_key_env: Option<String>,
    /// Seconds an upstream call may take, retries (where safe) included, before the visitor is told.
    #[arg(long, env = "CONNECT360_UPSTREAM_TIMEOUT_SECS", default_value_t = crate::upstream::client::DEFAULT_TIMEOUT.as_secs())]
    pub upstream_timeout_secs: u64,
}

impl UpstreamArgs {
    fn config(self) -> anyhow::Result<Option<UpstreamConfig>> {
        let (Some(url), Some(key_env)) = (self.upstream_url, self.upstream_key_env) else { return Ok(None) };
        let key = std::env::var(&key_env)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("--upstream-key-env {key_env}: that environment variable is not set"))?;
        let mut client = ClientConfig::new(url, ApiKey::new(key.trim()));
        client.timeout = std::time::Duration::from_secs(self.upstream_timeout_secs.max(1));
        Ok(Some(UpstreamConfig { client, key_env }))
    }
}

/// The event streams' caps (visitors only; API keys are not capped) and buffer.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Event streams one visitor may hold open at once (tabs, devices); beyond, 429.
    #[arg(long, env = "CONNECT360_MAX_STREAMS_PER_VISITOR", default_value_t = crate::events::limits::DEFAULT_PER_VISITOR)]
    pub max_streams_per_visitor: usize,
    /// Visitors' event streams one client address may hold open at once; beyond, 429.
    #[arg(long, env = "CONNECT360_MAX_STREAMS_PER_IP", default_value_t = crate::events::limits::DEFAULT_PER_IP)]
    pub max_streams_per_ip: usize,
    /// Events a stream's reader may be behind by before the stream is ended
    /// (the client then resumes with Last-Event-ID).
    #[arg(long, env = "CONNECT360_EVENT_BUFFER", default_value_t = crate::hub::DEFAULT_BUFFER)]
    pub event_buffer: usize,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace (or find it by slug); prints its id.
    Create {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WidgetCommand {
    /// Create a widget; prints its public key (wk_…).
    Create {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// A host name the widget runs on (repeat for more): example.com, shop.example.com.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
        /// Known visitors prove their externalId with hex HMAC-SHA256(secret, externalId).
        #[arg(long)]
        identity_secret: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member to a workspace; prints its id. An email is unique per workspace.
    Create {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        name: String,
        /// The email the member signs in to the inbox with.
        #[arg(long)]
        email: String,
        /// What the member may do in the workspace.
        #[arg(long, value_parser = role_parser(), default_value = "engage")]
        role: Role,
    },
    /// Set a member's password, read as one line from standard input (at least 10 characters).
    SetPassword {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; prints the key alone on stdout. It is stored hashed and shown only this once.
    Create {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = role_parser())]
        role: Role,
        /// The member the key acts as; the workspace's default member if absent.
        #[arg(long)]
        member: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an AI agent; prints its id.
    Create {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long)]
        name: String,
        /// URL of the agent's avatar.
        #[arg(long)]
        image: Option<String>,
        #[command(flatten)]
        kind: AgentKindArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AgentKind {
    /// Answers from a Markdown knowledge base, offline.
    Faq,
    /// Asks an OpenAI-compatible chat-completions endpoint.
    Openai,
}

#[derive(Debug, Args)]
pub struct AgentKindArgs {
    #[arg(long, value_enum, default_value = "faq")]
    pub kind: AgentKind,
    /// faq: the knowledge base, a Markdown file (format: `ai::faq`'s documentation).
    /// Without one the agent answers every question with a hand-off to a person.
    #[arg(long)]
    pub knowledge: Option<PathBuf>,
    /// openai: the API's base URL, up to `/v1` (http only: the server is built without TLS).
    #[arg(long, required_if_eq("kind", "openai"))]
    pub base_url: Option<String>,
    /// openai: the model name.
    #[arg(long, required_if_eq("kind", "openai"))]
    pub model: Option<String>,
    /// openai: the environment variable the server reads the API key from when it replies.
    #[arg(long, required_if_eq("kind", "openai"))]
    pub api_key_env: Option<String>,
    /// openai: instructions given to the model before the conversation.
    #[arg(long)]
    pub system_prompt: Option<String>,
}

impl AgentKindArgs {
    fn config(self) -> anyhow::Result<AgentConfig> {
        let required = |value: Option<String>, flag: &str| value.ok_or_else(|| anyhow::anyhow!("{flag} is required"));
        Ok(match self.kind {
            AgentKind::Faq => {
                let knowledge = match self.knowledge {
                    Some(path) => {
                        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
                    }
                    None => String::new(),
                };
                AgentConfig::Faq(FaqSettings { knowledge })
            }
            AgentKind::Openai => AgentConfig::Openai(OpenAiSettings {
                base_url: validate::http_url("--base-url", &required(self.base_url, "--base-url")?)
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .trim_end_matches('/')
                    .to_owned(),
                model: checked("--model", &required(self.model, "--model")?)?,
                api_key_env: checked("--api-key-env", &required(self.api_key_env, "--api-key-env")?)?,
                system_prompt: self.system_prompt,
            }),
        })
    }
}

/// The store for one admin command. Its writes are not messages, and no
/// stream of this process watches: its events go nowhere.
async fn admin_store(data: &DataArg) -> anyhow::Result<Arc<dyn Store>> {
    crate::store::open(&data.dir, data.database_url.as_ref(), Arc::new(InProcessHub::default())).await
}

/// Opens the store and finds (or creates) the named workspace.
async fn open(data: &DataArg, slug: &str) -> anyhow::Result<(Arc<dyn Store>, Workspace)> {
    let store = admin_store(data).await?;
    let workspace = store.ensure_workspace(slug, slug).await.with_context(|| format!("finding workspace {slug}"))?;
    Ok((store, workspace))
}

/// A sign-in email as stored: checked, lower-cased.
fn member_email(email: &str) -> anyhow::Result<String> {
    Ok(validate::email("--email", email).map_err(|e| anyhow::anyhow!(e.message))?.to_lowercase())
}

fn checked(field: &str, value: &str) -> anyhow::Result<String> {
    validate::text(field, value, validate::MAX_NAME).map_err(|e| anyhow::anyhow!(e.message))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            addr,
            data,
            files,
            widget_dir,
            inbox_dir,
            demo,
            metrics,
            public_url,
            session_idle_minutes,
            streams,
            limits,
            upstream,
        } => {
            let public_url = public_url
                .map(|u| validate::http_url("--public-url", &u).map_err(|e| anyhow::anyhow!(e.message)))
                .transpose()?;
            let config = ServeConfig {
                demo,
                metrics,
                public_url,
                session_idle: std::time::Duration::from_secs(session_idle_minutes.max(1) * 60),
                event_buffer: streams.event_buffer,
                streams_per_visitor: streams.max_streams_per_visitor,
                streams_per_ip: streams.max_streams_per_ip,
                inbox_dir,
                database_url: data.database_url.clone(),
                files: FilesLocation::from_args(files.files, files.s3_endpoint, data.dir.join("files"))?,
                limits: limits.config(),
                upstream: upstream.config()?,
                ..ServeConfig::new(addr, data.dir.clone(), widget_dir)
            };
            let app = Application::build(&config).await?;
            let shutdown = shutdown_signal().context("installing signal handlers")?;
            let addr = app.local_addr()?;
            if let Some(demo) = app.demo() {
                println!("Demo shop:       http://{addr}/");
                println!("Support API key: {}", demo.support_key);
                println!("AI assistant:    {} (faq; the page's data-ai-agent)", demo.ai_agent_id);
                println!(
                    "Inbox: http://{addr}/inbox  email {}  password {}",
                    crate::demo::MEMBER_EMAIL,
                    demo.member_password
                );
                println!("Reply as support to the newest conversation: see README.md, \"Reply from support\".");
            }
            tracing::info!(addr = %addr, data = %data.dir.display(), "listening");
            app.run_until(shutdown).await.context("serving")?;
        }
        Command::Widget { command: WidgetCommand::Create { data, workspace, domains, identity_secret } } => {
            let domains = domains
                .iter()
                .map(|d| Domain::parse("--domain", d).map_err(|e| anyhow::anyhow!(e)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let secret = identity_secret.map(|s| checked("--identity-secret", &s)).transpose()?;
            let (store, workspace) = open(&data, &workspace.workspace).await?;
            let widget = store.create_widget(&workspace.id, None, &domains, secret.as_deref()).await?;
            println!("{}", widget.public_key);
        }
        Command::Workspace { command: WorkspaceCommand::Create { data, slug, name } } => {
            let slug = checked("--slug", &slug)?;
            let store = admin_store(&data).await?;
            let workspace = store.ensure_workspace(&slug, &checked("--name", &name)?).await?;
            println!("{}", workspace.id);
        }
        Command::Member { command: MemberCommand::Create { data, workspace, name, email, role } } => {
            let (name, email) = (checked("--name", &name)?, member_email(&email)?);
            let (store, workspace) = open(&data, &workspace.workspace).await?;
            let member = NewMember { workspace_id: workspace.id, name, email: Some(email), role };
            println!("{}", store.create_member(&member).await?);
        }
        Command::Member { command: MemberCommand::SetPassword { data, workspace, email } } => {
            let email = member_email(&email)?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
            let new = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
            password::check_new(new).map_err(|rule| anyhow::anyhow!("{rule}; nothing was changed"))?;
            let hash = password::hash(new).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            let (store, workspace) = open(&data, &workspace.workspace).await?;
            store.set_password(&workspace.id, &email, &hash).await?;
            eprintln!("The password of {email} is set.");
        }
        Command::ApiKey { command: ApiKeyCommand::Create { data, workspace, name, role, member } } => {
            let (store, workspace) = open(&data, &workspace.workspace).await?;
            let member = member.unwrap_or(workspace.default_member_id);
            let key = crate::ids::new_secret("c360", 32);
            store.create_api_key(&workspace.id, &member, &checked("--name", &name)?, role, &hash_key(&key)).await?;
            println!("{key}");
        }
        Command::Agent { command: AgentCommand::Create { data, workspace, name, image, kind } } => {
            let image =
                image.map(|i| validate::http_url("--image", &i).map_err(|e| anyhow::anyhow!(e.message))).transpose()?;
            let name = checked("--name", &name)?;
            let config = kind.config()?;
            let (store, workspace) = open(&data, &workspace.workspace).await?;
            println!("{}", store.create_agent(&workspace.id, &name, image.as_deref(), &config).await?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_flags_default_to_the_servers_defaults() {
        let cli = Cli::try_parse_from(["connect360-server", "serve"]).unwrap();
        let Command::Serve { limits, .. } = cli.command else { panic!("not serve") };
        assert_eq!(limits.config(), LimitsConfig::default());
    }

    #[test]
    fn limit_flags_are_read() {
        let cli = Cli::try_parse_from([
            "connect360-server",
            "serve",
            "--limit-sends-per-visitor",
            "3/2s",
            "--trusted-proxy-header",
            "X-Forwarded-For",
        ])
        .unwrap();
        let Command::Serve { limits, .. } = cli.command else { panic!("not serve") };
        let config = limits.config();
        assert_eq!(config.sends_per_visitor, Rate::new(3, std::time::Duration::from_secs(2)));
        assert_eq!(config.trusted_proxy_header, Some(HeaderName::from_static("x-forwarded-for")));
        assert!(Cli::try_parse_from(["connect360-server", "serve", "--limit-sends-per-visitor", "3"]).is_err());
    }

    #[test]
    fn files_flags_are_read_and_a_bad_location_is_refused() {
        let cli = Cli::try_parse_from([
            "connect360-server",
            "serve",
            "--files",
            "s3://chat-files/a",
            "--s3-endpoint",
            "http://s3:9000",
        ])
        .unwrap();
        let Command::Serve { files, .. } = cli.command else { panic!("not serve") };
        assert!(
            matches!(files.files, Some(FilesArg::S3(ref bucket)) if bucket.name == "chat-files" && bucket.prefix == "a")
        );
        assert_eq!(files.s3_endpoint.as_deref(), Some("http://s3:9000"));
        let err = Cli::try_parse_from(["connect360-server", "serve", "--files", "gs://chat-files"]).unwrap_err();
        assert!(err.to_string().contains("unknown scheme gs://"), "{err}");
    }
}
