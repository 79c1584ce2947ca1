//! A throwaway S3-compatible server for one test binary: `s3s-fs` (a real
//! S3 protocol server over a folder, with signature checks) on a free port
//! over a temp folder, a fresh bucket (a folder of it) per test, and a
//! watcher process that stops it and removes its folder once this test
//! process has exited.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use connect360_server::attachments::location::{Bucket, FilesLocation, S3Credentials, S3Location};

const ACCESS_KEY: &str = "connect360-test";

/// `CONNECT360_S3S_FS`, else `s3s-fs` in cargo's bin folder, else on PATH.
fn program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CONNECT360_S3S_FS") {
        return Some(path.into());
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin").join("s3s-fs"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("s3s-fs"));
    cargo_bin.into_iter().chain(on_path).find(|path| path.is_file())
}

const INSTALL: &str = "cargo install s3s-fs --version 0.14.1 --features binary --locked (scripts/test does)";

pub struct S3Server {
    endpoint: String,
    root: PathBuf,
    secret: String,
}

fn start() -> Result<S3Server, String> {
    let program = program().ok_or_else(|| format!("s3s-fs is not installed: {INSTALL}, or set CONNECT360_S3S_FS"))?;
    let dir = tempfile::Builder::new().prefix("connect360-s3-").tempdir().map_err(|e| e.to_string())?.keep();
    let root = dir.join("root");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let secret = format!("{:032x}", rand::random::<u128>());
    let child = Command::new(&program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", ACCESS_KEY, "--secret-key", &secret])
        .arg(&root)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", program.display()))?;
    // From here on the server and its folder go when we do, whatever fails below.
    watch(child.id(), &dir);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            return Err(format!("s3s-fs did not listen on port {port} within 20 s; its log: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(S3Server { endpoint: format!("http://127.0.0.1:{port}"), root, secret })
}

/// Stops the server and removes its folder once this process is gone.
fn watch(server: u32, dir: &Path) {
    super::after_exit(&format!("kill {server}; rm -rf '{}'", dir.display()));
}

/// The server of this test binary, started on first use.
pub fn server() -> &'static S3Server {
    static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(err) => panic!("the S3 half of this suite needs s3s-fs: {err}"),
    }
}

/// Whether the S3 half runs here (see [`super::installed_or_skipped`]).
pub fn available() -> bool {
    super::installed_or_skipped(program().is_some(), "S3", "no s3s-fs", INSTALL)
}

impl S3Server {
    /// A new, empty bucket, objects under a prefix as a deployment would have them.
    pub fn bucket(&self) -> FilesLocation {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        std::fs::create_dir(self.root.join(&name)).expect("a bucket folder");
        FilesLocation::S3(S3Location {
            bucket: Bucket { name, prefix: "chat/files".into() },
            endpoint: Some(self.endpoint.clone()),
            credentials: S3Credentials {
                access_key_id: ACCESS_KEY.into(),
                secret_access_key: self.secret.clone(),
                region: "us-east-1".into(),
            },
        })
    }

    /// The folder s3s-fs keeps a bucket's objects in.
    pub fn bucket_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}
