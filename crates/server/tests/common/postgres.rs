//! A throwaway PostgreSQL cluster for one test binary: initdb into a temp
//! folder, `pg_ctl start` on a free port (listening on 127.0.0.1 only), a
//! fresh database per test, and a watcher process that stops the cluster and
//! removes its folder once this test process has exited. PostgreSQL refuses
//! to run as root: as root, its commands run as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use connect360_server::store::PgUrl;
use sqlx::Connection;

/// Where Debian's postgresql-15 puts its programs; `CONNECT360_PG_BIN` overrides it.
fn bin_dir() -> PathBuf {
    std::env::var_os("CONNECT360_PG_BIN").map(PathBuf::from).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into())
}

pub struct Cluster {
    port: u16,
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// A command of the cluster's, as the `postgres` user when we are root.
fn pg_command(program: &str) -> Command {
    let path = bin_dir().join(program);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn start() -> Result<Cluster, String> {
    if !bin_dir().join("initdb").exists() {
        return Err(format!(
            "PostgreSQL is not installed ({} has no initdb): install it with `apt-get install postgresql-15` \
             (scripts/test does), or set CONNECT360_PG_BIN",
            bin_dir().display()
        ));
    }
    let dir = tempfile::Builder::new().prefix("connect360-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    let data = dir.join("data");
    // From here on the folder goes when we do, whatever fails below.
    watch(&dir, &data);
    if is_root() {
        run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown of the cluster folder")?;
    }
    run(
        pg_command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D"])
            .arg(&data),
        "initdb",
    )?;
    let port = free_port();
    let options =
        format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", dir.display());
    let started = run(
        pg_command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.join("log"))
            .args(["-w", "start"]),
        "pg_ctl start",
    );
    started.map_err(|e| format!("{e}\nlog: {}", std::fs::read_to_string(dir.join("log")).unwrap_or_default()))?;
    Ok(Cluster { port })
}

/// Stops the cluster and removes its folder once this process is gone.
fn watch(dir: &Path, data: &Path) {
    let stop = format!(
        "{} -D '{}' -m immediate stop",
        if is_root() {
            format!("runuser -u postgres -- {}", bin_dir().join("pg_ctl").display())
        } else {
            bin_dir().join("pg_ctl").display().to_string()
        },
        data.display()
    );
    super::after_exit(&format!("{stop}; rm -rf '{}'", dir.display()));
}

/// The cluster of this test binary, started on first use. Without
/// PostgreSQL the test fails, with how to install it.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster,
        Err(err) => panic!("the PostgreSQL half of this suite needs a cluster: {err}"),
    }
}

/// Whether the PostgreSQL half runs here (see [`super::installed_or_skipped`]).
pub fn available() -> bool {
    let missing = format!("no PostgreSQL at {}", bin_dir().display());
    super::installed_or_skipped(
        bin_dir().join("initdb").exists(),
        "PostgreSQL",
        &missing,
        "apt-get install postgresql-15",
    )
}

impl Cluster {
    /// A new, empty database of the cluster.
    pub async fn database(&self) -> PgUrl {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin =
            sqlx::PgConnection::connect(&self.url("postgres")).await.expect("the cluster accepts connections");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("a test database");
        self.url(&name).parse().expect("a PostgreSQL URL")
    }

    /// Removes a database of the cluster, ending its connections: a store that is gone.
    pub async fn drop_database(&self, url: &PgUrl) {
        let name = url.as_str().rsplit('/').next().expect("a database name");
        let mut admin =
            sqlx::PgConnection::connect(&self.url("postgres")).await.expect("the cluster accepts connections");
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("the database goes");
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}
