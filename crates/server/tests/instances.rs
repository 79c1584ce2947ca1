//! Several instances of the server on one store and one attachments'
//! storage, as behind a load balancer: what one instance hands out works on
//! the others, work that must run once runs on one of them, and each tells
//! its health part by part.

mod common;

use std::time::Duration;

use common::{Backends, TestApp, guests, spawn_app, spawn_app_with};
use connect360_api::{ATTACHMENTS_PATH, ListMessages};
use connect360_server::app::ServeConfig;
use connect360_server::attachments::location::FilesLocation;
use connect360_server::domain::Role;
use connect360_server::store::Exclusive;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::Connection;

async fn upload(app: &TestApp, credential: &str, bytes: &[u8]) -> Value {
    let form = Form::new().part("files", Part::bytes(bytes.to_vec()).file_name("notes.txt"));
    let req = app.http.post(app.url(ATTACHMENTS_PATH)).bearer_auth(credential).header("origin", "https://example.com");
    let res = req.multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["files"][0].clone()
}

async fn health(app: &TestApp) -> (StatusCode, Value) {
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_token_a_signed_url_and_an_upload_of_one_instance_work_on_another() {
    Backends::SHARED
        .run(async {
            let a = spawn_app().await;
            let b = a.another_instance(|_| {}).await;
            let guest = guests(&a, 1).await.remove(0);

            // The token signed by A: B knows the key it was signed with.
            let answer = b.call::<ListMessages>(&guest.token, json!({ "conversationId": guest.conversation_id })).await;
            answer.data();
            // The visitor's upload through A, read through B by its signed URL.
            let file = upload(&a, &guest.token, b"from instance A").await;
            let url = file["url"].as_str().unwrap();
            assert!(url.contains("sig="), "a signed URL: {url}");
            let res = b.http.get(b.url(url)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.bytes().await.unwrap().as_ref(), b"from instance A");
            // A member's upload through B, read through A with a key.
            let key = a.key(Role::Engage).await;
            let file = upload(&b, &key, b"from instance B").await;
            let res = a.http.get(a.url(file["url"].as_str().unwrap())).bearer_auth(&key).send().await.unwrap();
            assert_eq!(res.bytes().await.unwrap().as_ref(), b"from instance B");
        })
        .await
}

on_both_backends! {
    async fn healthz_tells_each_part_s_state_and_503_when_one_is_down() {
        let app = spawn_app().await;
        let (status, body) = health(&app).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "ok", "database": "up", "files": "up"}));

        // The files go: the directory, or the bucket.
        let gone = match &app.files {
            FilesLocation::Dir(dir) => dir.clone(),
            FilesLocation::S3(location) => common::s3::server().bucket_dir(&location.bucket.name),
        };
        std::fs::remove_dir_all(&gone).unwrap();
        let (status, body) = health(&app).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, json!({"status": "unavailable", "database": "up", "files": "down"}));
        std::fs::create_dir_all(&gone).unwrap();
        assert_eq!(health(&app).await.0, StatusCode::OK, "up again");

        // The database goes (PostgreSQL's; SQLite's is a file the server holds open).
        if let Some(url) = &app.database_url {
            common::postgres::cluster().drop_database(url).await;
            let (status, body) = health(&app).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(body, json!({"status": "unavailable", "database": "down", "files": "up"}));
        }
    }
}

async fn file_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM files").fetch_one(&app.db().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_uploads_are_removed_by_one_instance_at_a_time() {
    Backends::SHARED
        .run(async {
            let collecting = |c: &mut ServeConfig| {
                c.unused_files_ttl = Duration::from_millis(500);
                c.file_gc_interval = Duration::from_millis(100);
            };
            let a = spawn_app_with(collecting).await;
            let b = a.another_instance(collecting).await;
            // Another instance is collecting: it holds the collector's lock.
            let url = a.database_url.clone().unwrap();
            let mut other = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
            let key = Exclusive::FileCollector.lock_key();
            sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut other).await.unwrap();

            let member = a.key(Role::Engage).await;
            upload(&a, &member, b"never sent").await;
            upload(&b, &member, b"never sent either").await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(file_rows(&a).await, 2, "neither instance collects while another does");
            assert_eq!(a.stored_files(), 2);

            sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut other).await.unwrap();
            for _ in 0..100 {
                if file_rows(&a).await == 0 && a.stored_files() == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the unused uploads were not removed once the lock was free");
        })
        .await
}
