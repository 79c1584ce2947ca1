//! The store file shared by two processes: the server and an admin command.

use connect360_server::auth::hash_key;
use connect360_server::domain::Role;
use connect360_server::store::{SqliteStore, Store};

/// Each create_api_key reads (the member) then writes; run from two handles at
/// once, a transaction that only took the write lock when it wrote would fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_writing_one_store_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).await.unwrap();
    let second = SqliteStore::open(dir.path()).await.unwrap();
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
    let third = SqliteStore::open(dir.path()).await.unwrap();
    assert!(third.find_api_key(&hash_key("key-1-149")).await.unwrap().is_some());
}
