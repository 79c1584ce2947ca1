//! One store shared by several handles: on SQLite the server and an admin
//! command on one file; on SQLite and PostgreSQL alike, two instances (two
//! handles, two pools) writing at once.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::StoreKind;
use connect360_api::{ConversationType, Metadata};
use connect360_server::auth::hash_key;
use connect360_server::domain::{CustomerFields, CustomerKey, CustomerRef, Role};
use connect360_server::hub::{InProcessHub, Topic};
use connect360_server::store::{
    Actor, Author, ChannelRefs, Idempotency, NewConversation, NewMessage, PageRequest, SqliteStore, Store, Workspace,
};

/// Each create_api_key reads (the member) then writes; run from two handles at
/// once, a transaction that only took the write lock when it wrote would fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_writing_one_store_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path(), Arc::new(InProcessHub::default())).await.unwrap();
    let second = SqliteStore::open(dir.path(), Arc::new(InProcessHub::default())).await.unwrap();
    let ws = first.ensure_workspace("default", "Default").await.unwrap();
    let writers = [first, second].into_iter().enumerate().map(|(n, store)| {
        let ws = ws.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                let key = hash_key(&format!("key-{n}-{i}"));
                store.create_api_key(&ws.id, &ws.default_member_id, "k", Role::Read, &key).await?;
            }
            Ok::<_, connect360_server::store::StoreError>(())
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap().expect("every write of both handles succeeds");
    }
    let third = SqliteStore::open(dir.path(), Arc::new(InProcessHub::default())).await.unwrap();
    assert!(third.find_api_key(&hash_key("key-1-149")).await.unwrap().is_some());
}

/// A word in an enum column that the server does not know (a row written by
/// another version, by hand, past the schema's CHECK) fails the read loudly,
/// not as a default.
#[tokio::test]
async fn an_unknown_word_in_an_enum_column_fails_the_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path(), Arc::new(InProcessHub::default())).await.unwrap();
    let ws = store.ensure_workspace("default", "Default").await.unwrap();
    store.create_api_key(&ws.id, &ws.default_member_id, "k", Role::Read, &hash_key("known")).await.unwrap();
    let url = format!("sqlite://{}/connect360.db", dir.path().display());
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut db).await.unwrap();
    sqlx::query("UPDATE api_keys SET role = 'admin'").execute(&mut db).await.unwrap();
    let err = store.find_api_key(&hash_key("known")).await.unwrap_err();
    assert!(err.to_string().contains("invalid value \"admin\" for enum RoleColumn"), "{err}");
}

/// Two instances of the server on one store: two handles, each with its own pool.
async fn two_instances() -> (tempfile::TempDir, Arc<dyn Store>, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreKind::current().new_database().await;
    let open = || connect360_server::store::open(dir.path(), url.as_ref(), Arc::new(InProcessHub::default()));
    let (a, b) = (open().await.unwrap(), open().await.unwrap());
    (dir, a, b)
}

fn customer_conversation(ws: &Workspace, external_id: &str) -> NewConversation {
    NewConversation {
        actor: Actor { workspace_id: ws.id.clone(), member_id: ws.default_member_id.clone() },
        name: None,
        kind: ConversationType::Direct,
        customer: Some(CustomerRef {
            key: CustomerKey::ExternalId(external_id.into()),
            fields: CustomerFields::default(),
        }),
        member_ids: vec![],
        channels: ChannelRefs::default(),
        metadata: Metadata::new(),
    }
}

fn text_message(ws: &Workspace, conversation_id: &str, text: &str, idempotency: Option<Idempotency>) -> NewMessage {
    NewMessage {
        workspace_id: ws.id.clone(),
        conversation_id: conversation_id.to_owned(),
        author: Author::Member(ws.default_member_id.clone()),
        content: serde_json::from_value(serde_json::json!({ "en": text })).unwrap(),
        attachment_ids: vec![],
        flags: vec![],
        parent_id: None,
        template_id: None,
        channel: None,
        ai: None,
        idempotency,
        only_customer: None,
    }
}

/// Alternately on `a` and `b`, `n` tasks, released together.
fn on_both<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
    a: &Arc<dyn Store>,
    b: &Arc<dyn Store>,
    n: usize,
    task: impl Fn(usize, Arc<dyn Store>) -> F,
) -> Vec<tokio::task::JoinHandle<T>> {
    let start = Arc::new(tokio::sync::Barrier::new(n));
    (0..n)
        .map(|i| {
            let (start, work) = (start.clone(), task(i, if i % 2 == 0 { a.clone() } else { b.clone() }));
            tokio::spawn(async move {
                start.wait().await;
                work.await
            })
        })
        .collect()
}

on_both_stores! {
    /// The first visit of a customer reaching two instances at once (the
    /// widget retried): one workspace, one customer, one conversation.
    async fn one_customer_asked_of_two_instances_at_once_gets_one_conversation() {
        let (_dir, a, b) = two_instances().await;
        let (wa, wb) = tokio::join!(a.ensure_workspace("default", "Default"), b.ensure_workspace("default", "Default"));
        let ws = wa.unwrap();
        assert_eq!(ws, wb.unwrap(), "one workspace");
        for visitor in 0..20 {
            let asks = on_both(&a, &b, 8, |_, store| {
                let req = customer_conversation(&ws, &format!("visitor-{visitor}"));
                async move { store.get_or_create_conversation(req).await }
            });
            let mut ids = HashSet::new();
            let mut customers = HashSet::new();
            for ask in asks {
                let conversation = ask.await.unwrap().expect("every ask succeeds");
                customers.insert(conversation.customer_id.clone());
                ids.insert(conversation.id);
            }
            assert_eq!(ids.len(), 1, "one conversation: {ids:?}");
            assert_eq!(customers.len(), 1, "one customer: {customers:?}");
        }
    }
}

on_both_stores! {
    /// A send retried with one idempotency key on both instances at once is stored once.
    async fn one_idempotency_key_sent_to_two_instances_at_once_stores_one_message() {
        let (_dir, a, b) = two_instances().await;
        let ws = a.ensure_workspace("default", "Default").await.unwrap();
        let conversation = a.get_or_create_conversation(customer_conversation(&ws, "visitor-1")).await.unwrap();
        for retry in 0..20 {
            let sends = on_both(&a, &b, 8, |_, store| {
                let key = Idempotency { key: format!("retry-{retry}"), request_hash: [7; 32] };
                let msg = text_message(&ws, &conversation.id, "once", Some(key));
                async move { store.send(msg).await }
            });
            let mut ids = HashSet::new();
            for send in sends {
                ids.insert(send.await.unwrap().expect("every send succeeds").id);
            }
            assert_eq!(ids.len(), 1, "one message: {ids:?}");
        }
        let page = b
            .list_messages(PageRequest {
                workspace_id: ws.id.clone(),
                conversation_id: conversation.id.clone(),
                limit: 100,
                cursor: None,
                only_customer: None,
            })
            .await
            .unwrap();
        assert_eq!(page.items.len(), 20, "one message per key");
    }
}

on_both_stores! {
    /// Store order is commit order: a reader that resumes "after the last
    /// message it saw" while two instances write sees every message once.
    /// (Were a later position committed before an earlier one, the reader
    /// would pass the earlier one and never see it.)
    async fn a_reader_resuming_after_the_last_seen_message_misses_none_while_two_instances_write() {
        const SENDS: usize = 300;
        let (_dir, a, b) = two_instances().await;
        let ws = a.ensure_workspace("default", "Default").await.unwrap();
        let mut conversations = vec![];
        for visitor in 0..4 {
            conversations.push(a.get_or_create_conversation(customer_conversation(&ws, &format!("v{visitor}"))).await.unwrap().id);
        }
        // Before the first message: the cursor starts at none.
        let mut cursor = b.message_cursor(&ws.id, &Topic::Workspace(ws.id.clone()), None, None).await.unwrap();
        let sends = on_both(&a, &b, SENDS, |i, store| {
            let msg = text_message(&ws, &conversations[i % conversations.len()], &format!("m{i}"), None);
            async move { store.send(msg).await }
        });
        let (mut seen, mut after) = (Vec::new(), 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while seen.len() < SENDS && tokio::time::Instant::now() < deadline {
            for stored in b.messages_after(&cursor, 50).await.unwrap() {
                assert!(stored.seq > after, "store order goes forward");
                after = stored.seq;
                cursor.advance(&stored);
                seen.push(stored.message.id);
            }
        }
        let mut sent = HashSet::new();
        for send in sends {
            sent.insert(send.await.unwrap().expect("every send succeeds").id);
        }
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no message seen twice");
        assert_eq!(unique, sent, "every message seen");
    }
}

/// On PostgreSQL too, a word in an enum column the server does not know fails the read.
#[tokio::test]
async fn an_unknown_word_in_an_enum_column_fails_the_read_on_postgres() {
    StoreKind::Postgres
        .run(async {
            let dir = tempfile::tempdir().unwrap();
            let url = StoreKind::Postgres.new_database().await.unwrap();
            let store = connect360_server::store::open(dir.path(), Some(&url), Arc::new(InProcessHub::default()))
                .await
                .unwrap();
            let ws = store.ensure_workspace("default", "Default").await.unwrap();
            store.create_api_key(&ws.id, &ws.default_member_id, "k", Role::Read, &hash_key("known")).await.unwrap();
            let db = sqlx::PgPool::connect(url.as_str()).await.unwrap();
            sqlx::query("ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check").execute(&db).await.unwrap();
            sqlx::query("UPDATE api_keys SET role = 'admin'").execute(&db).await.unwrap();
            let err = store.find_api_key(&hash_key("known")).await.unwrap_err();
            assert!(err.to_string().contains("invalid value \"admin\" for enum RoleColumn"), "{err}");
        })
        .await
}

/// The admin commands take `--database-url` (or `CONNECT360_DATABASE_URL`):
/// what they write is in the PostgreSQL store, not in a SQLite file of `--data`.
#[tokio::test]
async fn admin_commands_write_to_the_database_url() {
    StoreKind::Postgres
        .run(async {
            let dir = tempfile::tempdir().unwrap();
            let url = StoreKind::Postgres.new_database().await.unwrap();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_connect360-server"))
                .args(["workspace", "create", "--slug", "acme", "--name", "Acme"])
                .arg("--data")
                .arg(dir.path())
                .env("CONNECT360_DATABASE_URL", url.as_str())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let printed = String::from_utf8(out.stdout).unwrap();
            assert!(!dir.path().join("connect360.db").exists(), "no SQLite store was made");
            let store = connect360_server::store::open(dir.path(), Some(&url), Arc::new(InProcessHub::default()))
                .await
                .unwrap();
            assert_eq!(store.ensure_workspace("acme", "Acme").await.unwrap().id, printed.trim());

            let bad = std::process::Command::new(env!("CARGO_BIN_EXE_connect360-server"))
                .args(["workspace", "create", "--slug", "x", "--name", "X", "--database-url", "mysql://nope"])
                .output()
                .unwrap();
            assert!(!bad.status.success());
            assert!(String::from_utf8_lossy(&bad.stderr).contains("a PostgreSQL URL starts with postgres://"));
        })
        .await
}
