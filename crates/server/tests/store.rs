//! The store file shared by two processes: the server and an admin command.

use std::sync::Arc;

use connect360_server::auth::hash_key;
use connect360_server::domain::Role;
use connect360_server::hub::InProcessHub;
use connect360_server::store::{SqliteStore, Store};

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
