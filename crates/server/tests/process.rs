//! The binary as an operator runs it: admin commands, durability across
//! kill -9, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_connect360-server");

fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).arg("--data").arg(data).env("NO_COLOR", "1").output().expect("binary runs")
}

/// Starts `serve` on a free port; returns the child and its address.
fn serve(data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("server logs before exiting").expect("log line");
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn key(data: &std::path::Path, role: &str) -> String {
    let out = cli(data, &["api-key", "create", "--name", "ops", "--role", role]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn answer(req: reqwest::blocking::RequestBuilder, key: &str) -> Value {
    req.bearer_auth(key).send().and_then(|r| r.json()).expect("the server answers JSON")
}

fn call(addr: &str, key: &str, path: &str, input: Value) -> Value {
    answer(reqwest::blocking::Client::new().post(format!("http://{addr}/api/trpc/{path}")).json(&input), key)
}

fn query(addr: &str, key: &str, path: &str, input: Value) -> Value {
    let url = format!("http://{addr}/api/trpc/{path}");
    answer(reqwest::blocking::Client::new().get(url).query(&[("input", input.to_string())]), key)
}

#[test]
fn api_key_create_prints_the_key_alone() {
    let data = tempfile::tempdir().unwrap();
    let out = cli(data.path(), &["api-key", "create", "--name", "backend", "--role", "engage"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("c360_") && lines[0].len() == 5 + 64, "{stdout}");

    let out = cli(data.path(), &["api-key", "create", "--name", "x", "--role", "owner"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("owner"));
    let out = cli(data.path(), &["api-key", "create", "--name", "x", "--role", "read", "--member", "mem_nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Member not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn widget_create_prints_a_public_key_that_opens_sessions_on_its_domains() {
    let data = tempfile::tempdir().unwrap();
    let out = cli(
        data.path(),
        &["widget", "create", "--domain", "Shop.Example.com", "--domain", "localhost", "--identity-secret", "s3cret"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("wk_") && key.len() == 3 + 32, "{key}");

    let (mut server, addr) = serve(data.path());
    let session = |origin: &str, input: Value| {
        reqwest::blocking::Client::new()
            .post(format!("http://{addr}/api/v1/connect/widget/session"))
            .header("origin", origin)
            .json(&input)
            .send()
            .expect("the server answers")
    };
    // echo -n user_42 | openssl dgst -sha256 -hmac s3cret
    let hash = "3ef7f38be75e32c21a3751afc6ffeb80bcd28532a892f406137e4d288436cb57";
    let known =
        session("https://shop.example.com", json!({"widgetKey": key, "externalId": "user_42", "userHash": hash}));
    assert_eq!(known.status(), 200);
    assert_eq!(session("https://elsewhere.com", json!({"widgetKey": key})).status(), 403);
    server.kill().unwrap();
    server.wait().unwrap();

    for (args, complaint) in [
        (vec!["widget", "create"], "--domain"),
        (vec!["widget", "create", "--domain", "https://x.com/"], "must be a host name"),
    ] {
        let out = cli(data.path(), &args);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(complaint), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_acknowledged_send_survives_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let (key, (mut server, addr), conv) = serving_a_conversation(data.path());
    let mut acknowledged = Vec::new();
    for i in 0..200 {
        let answer =
            call(&addr, &key, "v1.connect.send", json!({"conversationId": conv, "content": {"en": format!("m{i}")}}));
        acknowledged.push(answer["result"]["data"]["id"].as_str().expect("stored").to_owned());
    }
    server.kill().expect("SIGKILL"); // std's kill is SIGKILL on unix
    server.wait().unwrap();

    let (mut server, addr) = serve(data.path());
    assert_eq!(stored_ids(&addr, &key, &conv), acknowledged);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A `full` key, the server, and a conversation to send into.
fn serving_a_conversation(data: &std::path::Path) -> (String, (Child, String), String) {
    let key = key(data, "full");
    let (server, addr) = serve(data);
    let conv = call(&addr, &key, "v1.connect.getOrCreateConversation", json!({"customer": {"externalId": "u"}}));
    let conv = conv["result"]["data"]["id"].as_str().expect("conversation").to_owned();
    (key, (server, addr), conv)
}

/// The ids of the conversation's messages, oldest first.
fn stored_ids(addr: &str, key: &str, conv: &str) -> Vec<String> {
    let mut stored = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = query(
            addr,
            key,
            "v1.connect.listMessages",
            json!({"conversationId": conv, "limit": 100, "cursor": cursor}),
        );
        let data = &page["result"]["data"];
        let ids: Vec<String> =
            data["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        stored.splice(0..0, ids);
        cursor = data["nextCursor"].clone();
        if cursor.is_null() {
            return stored;
        }
    }
}

/// Killed while batches of concurrent sends are being committed: whatever
/// was acknowledged is stored, in each writer's order.
#[test]
fn every_acknowledged_send_survives_kill_9_amid_concurrent_sends() {
    let data = tempfile::tempdir().unwrap();
    let (key, (mut server, addr), conv) = serving_a_conversation(data.path());
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let (addr, key, conv, acknowledged) = (addr.clone(), key.clone(), conv.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut mine = Vec::new();
                // Until the server is gone: a refused or cut request ends the loop.
                for i in 0..10_000 {
                    let sent = client
                        .post(format!("http://{addr}/api/trpc/v1.connect.send"))
                        .bearer_auth(&key)
                        .json(&json!({"conversationId": conv, "content": {"en": format!("{writer}-{i}")}}))
                        .send()
                        .and_then(|r| r.json::<Value>());
                    let Ok(answer) = sent else { break };
                    mine.push(answer["result"]["data"]["id"].as_str().expect("stored").to_owned());
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                mine
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::Relaxed) < 300 {
        assert!(std::time::Instant::now() < deadline, "300 sends were not acknowledged within 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    let by_writer: Vec<Vec<String>> = writers.into_iter().map(|w| w.join().expect("writer thread")).collect();

    let (mut server, addr) = serve(data.path());
    let stored = stored_ids(&addr, &key, &conv);
    for mine in by_writer {
        let positions: Vec<usize> = mine
            .iter()
            .map(|id| stored.iter().position(|s| s == id).expect("an acknowledged send is stored"))
            .collect();
        assert!(positions.is_sorted(), "{positions:?}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let (mut server, _addr) = serve(data.path());
    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill().unwrap();
    panic!("the server did not stop within 5 s of SIGTERM");
}

#[test]
fn agent_create_takes_a_knowledge_base_and_the_server_answers_from_it() {
    let data = tempfile::tempdir().unwrap();
    let kb = data.path().join("kb.md");
    std::fs::write(
        &kb,
        "# Returns\n## Returns {en}\nReturn within 30 days.\n# Shipping\n## Shipping {en}\nShips in 2 days.\n",
    )
    .unwrap();
    let out = cli(
        data.path(),
        &["agent", "create", "--name", "Helper", "--kind", "faq", "--knowledge", kb.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let agent = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(agent.starts_with("agent_"), "{agent}");
    let out = cli(data.path(), &["agent", "create", "--name", "Model", "--kind", "openai", "--model", "m"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--base-url"), "{}", String::from_utf8_lossy(&out.stderr));

    let key = key(data.path(), "engage");
    let (mut server, addr) = serve(data.path());
    let conv = call(&addr, &key, "v1.connect.getOrCreateConversation", json!({"customer": {"externalId": "c1"}}));
    let conv = conv["result"]["data"]["id"].as_str().unwrap().to_owned();
    let input = json!({"conversationId": conv, "sender": "customer", "customer": {"externalId": "c1"},
                       "content": {"en": "How do returns work?"}, "ai": {"agentId": agent}});
    assert!(call(&addr, &key, "v1.connect.send", input)["result"].is_object());
    let reply = (0..100)
        .find_map(|_| {
            let page = query(&addr, &key, "v1.connect.listMessages", json!({"conversationId": conv}));
            let reply =
                page["result"]["data"]["items"].as_array()?.iter().find(|m| m["sender"]["type"] == "ai").cloned();
            if reply.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            reply
        })
        .expect("the agent replies");
    assert_eq!(reply["content"], json!({"en": "Return within 30 days."}));
    server.kill().unwrap();
    server.wait().unwrap();
}
