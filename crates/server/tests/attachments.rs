//! Attachments against the real server: upload limits that leave nothing
//! behind, names and types decided by the server, private downloads for the
//! right people only, ranges and headers, attaching to messages, and the
//! removal of uploads nobody used.

mod common;

use std::time::Duration;

use common::{Answer, TestApp, spawn_app, spawn_app_with};
use connect360_api::{ATTACHMENTS_PATH, ListMessages, MAX_FILE_BYTES, SendMessage, WIDGET_SESSION_PATH};
use connect360_server::app::{Application, ServeConfig};
use connect360_server::attachments::location::FilesLocation;
use connect360_server::attachments::url::{Grantee, UrlSigner};
use connect360_server::domain::Domain;
use connect360_server::domain::Role;
use connect360_server::domain::files::asset_path;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const SVG: &[u8] = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
const SITE: &str = "https://shop.example.com";

/// A part: its Content-Disposition, the type the client claims, its bytes.
struct Part {
    disposition: String,
    claimed: &'static str,
    bytes: Vec<u8>,
}

fn part(file_name: &str, claimed: &'static str, bytes: impl Into<Vec<u8>>) -> Part {
    let disposition = format!("form-data; name=\"file\"; filename=\"{file_name}\"");
    Part { disposition, claimed, bytes: bytes.into() }
}

/// multipart/form-data written by hand, so that file names reach the server exactly as given.
fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = format!("----c360test{}", common::uuid_like());
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Disposition: {}\r\n", p.disposition).as_bytes());
        body.extend_from_slice(format!("Content-Type: {}\r\n\r\n", p.claimed).as_bytes());
        body.extend_from_slice(&p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, credential: &str, parts: &[Part]) -> Answer {
    let (content_type, body) = multipart(parts);
    let req = app
        .http
        .post(app.url(ATTACHMENTS_PATH))
        .bearer_auth(credential)
        .header("content-type", content_type)
        .header("origin", SITE)
        .body(body);
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let text = res.text().await.unwrap();
    Answer { status, body: serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")) }
}

/// Uploads one file and returns its entry of the answer.
async fn upload_one(app: &TestApp, credential: &str, name: &str, bytes: &[u8]) -> Value {
    let answer = upload(app, credential, &[part(name, "application/octet-stream", bytes)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["files"][0].clone()
}

async fn get(app: &TestApp, url: &str, credential: Option<&str>, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.http.get(app.url(url));
    if let Some(credential) = credential {
        req = req.bearer_auth(credential);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("the server answers")
}

async fn file_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM files").fetch_one(&app.db().await).await.unwrap()
}

/// The server's stored attachments (in its directory or bucket) and its upload spool's files.
fn files_on_disk(app: &TestApp) -> usize {
    app.stored_files() + common::count_files(&app.data.path().join("incoming"))
}

async fn assert_nothing_stored(app: &TestApp) {
    assert_eq!(file_rows(app).await, 0, "no rows");
    assert_eq!(files_on_disk(app), 0, "no bytes on disk");
}

/// A visitor of the default workspace's widget on shop.example.com.
struct Visitor {
    token: String,
    conversation: String,
    customer: String,
}

async fn visitor(app: &TestApp) -> Visitor {
    let ws = app.workspace("default").await;
    let widget = app
        .store
        .create_widget(&ws.id, Some("shop"), &[Domain::parse("d", "shop.example.com").unwrap()], None)
        .await
        .unwrap();
    let res = app
        .http
        .post(app.url(WIDGET_SESSION_PATH))
        .header("origin", SITE)
        .json(&json!({"widgetKey": widget.public_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    Visitor {
        token: body["token"].as_str().unwrap().to_owned(),
        conversation: body["conversation"]["id"].as_str().unwrap().to_owned(),
        customer: body["customer"]["id"].as_str().unwrap().to_owned(),
    }
}

fn visitor_send(v: &Visitor, attachment_ids: &[&str]) -> Value {
    json!({"conversationId": v.conversation, "sender": "customer", "customerId": v.customer,
           "content": {"en": "see attached"}, "attachmentIds": attachment_ids})
}

fn str_of<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}"))
}

on_both_backends! {
    async fn six_files_are_refused_and_nothing_is_stored() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let six: Vec<Part> = (0..6).map(|i| part(&format!("f{i}.txt"), "text/plain", format!("file {i}"))).collect();
        let answer = upload(&app, &key, &six).await;
        assert_eq!(answer.error("BAD_REQUEST"), "files: at most 5 files per upload");
        assert_nothing_stored(&app).await;

        let answer = upload(&app, &key, &six[..5]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["files"].as_array().unwrap().len(), 5);
        assert_eq!(file_rows(&app).await, 5);
        assert_eq!(files_on_disk(&app), 5);
    }
}

on_both_backends! {
    async fn a_file_one_byte_over_25_mb_is_refused_and_one_of_25_mb_is_taken() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let limit = MAX_FILE_BYTES as usize;
        assert_eq!(limit, 25 * 1024 * 1024);

        // A good file first: it goes too when a later one is refused.
        let too_big = [part("small.txt", "text/plain", "ok"), part("big.bin", "application/octet-stream", vec![0u8; limit + 1])];
        let message = upload(&app, &key, &too_big).await.error("PAYLOAD_TOO_LARGE");
        assert_eq!(message, "files[1]: big.bin is larger than 25 MB (26214400 bytes)");
        assert_nothing_stored(&app).await;
        // Far over: the answer still arrives while the client is sending.
        let far = [part("huge.bin", "application/octet-stream", vec![0u8; limit + 8 * 1024 * 1024])];
        upload(&app, &key, &far).await.error("PAYLOAD_TOO_LARGE");
        assert_nothing_stored(&app).await;

        let answer = upload(&app, &key, &[part("exact.bin", "application/octet-stream", vec![7u8; limit])]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let file = &answer.body["files"][0];
        assert_eq!(file["size"], limit as u64);
        assert_eq!(file_rows(&app).await, 1);
        assert_eq!(files_on_disk(&app), 1);
        let res = get(&app, str_of(file, "url"), Some(&key), &[("range", "bytes=-3")]).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(res.headers()["content-range"], format!("bytes {}-{}/{limit}", limit - 3, limit - 1));
        assert_eq!(res.bytes().await.unwrap().as_ref(), &[7u8, 7, 7]);
    }
}

on_both_backends! {
    async fn uploads_need_a_multipart_body_with_a_file_and_an_engage_credential() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let url = app.url(ATTACHMENTS_PATH);

        let json_body = app.http.post(&url).bearer_auth(&key).json(&json!({"file": "x"}));
        let message = common::send(json_body).await.error("BAD_REQUEST");
        assert_eq!(message, "body: must be multipart/form-data with a boundary");
        let only_fields = upload(&app, &key, &[Part { disposition: "form-data; name=\"note\"".into(), claimed: "text/plain", bytes: b"hello".to_vec() }]).await;
        assert!(only_fields.error("BAD_REQUEST").starts_with("files: no file in the upload"));
        let (content_type, _) = multipart(&[]);
        let truncated = app.http.post(&url).bearer_auth(&key).header("content-type", content_type).body("--nope");
        common::send(truncated).await.error("BAD_REQUEST");

        let (content_type, body) = multipart(&[part("a.txt", "text/plain", "a")]);
        let anonymous = app.http.post(&url).header("content-type", &content_type).body(body.clone());
        common::send(anonymous).await.error("UNAUTHORIZED");
        let reader = app.key(Role::Read).await;
        let read_only = app.http.post(&url).bearer_auth(&reader).header("content-type", &content_type).body(body);
        assert_eq!(common::send(read_only).await.error("FORBIDDEN"), "Unauthorized API key permissions.");
        assert_nothing_stored(&app).await;

        // Browsers on a widget's site may call it.
        visitor(&app).await;
        let preflight = app
            .http
            .request(Method::OPTIONS, &url)
            .header("origin", SITE)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert_eq!(preflight.headers()["access-control-allow-origin"], SITE);
    }
}

on_both_backends! {
    async fn file_names_are_normalised() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let ws = app.workspace("default").await;
        let long = format!("{}.pdf", "a".repeat(300));
        let parts = [
            part("../../etc/passwd", "text/plain", "root:x:0:0"),
            part(".htaccess", "text/plain", "Deny from all"),
            part("tab\there\u{85}and\u{202E}more.txt", "text/plain", "x"),
            part(&long, "application/pdf", "%PDF-1.4\n%\u{e2}\u{e3}"),
            part("", "image/png", PNG),
        ];
        let answer = upload(&app, &key, &parts).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let files = answer.body["files"].as_array().unwrap();
        let names: Vec<&str> = files.iter().map(|f| str_of(f, "name")).collect();
        assert_eq!(names[..3], ["passwd", "htaccess", "tabhereandmore.txt"]);
        assert_eq!(names[3].chars().count(), 120);
        assert!(names[3].ends_with("aaa.pdf"), "{}", names[3]);
        assert_eq!(names[4], "file.png");
        for file in files {
            let expected_key = format!("{}/{}/{}", ws.id, str_of(file, "id"), str_of(file, "name"));
            assert_eq!(str_of(file, "s3Key"), expected_key);
            assert_eq!(str_of(file, "url"), asset_path(&expected_key));
            assert!(str_of(file, "id").starts_with("file_"));
        }
        // RFC 5987 names win over plain ones, and are normalised like the rest.
        let extended = |encoded: &str| Part {
            disposition: format!("form-data; name=\"file\"; filename=\"fallback.png\"; filename*=UTF-8''{encoded}"),
            claimed: "image/png",
            bytes: PNG.to_vec(),
        };
        let answer = upload(&app, &key, &[extended("%C3%A9t%C3%A9.png"), extended("..%2F..%2F.x.png")]).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["files"][0]["name"], "été.png");
        assert_eq!(answer.body["files"][1]["name"], "x.png");
        // The stored name is the one served.
        let res = get(&app, str_of(&files[0], "url"), Some(&key), &[]).await;
        assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"passwd\"; filename*=UTF-8''passwd");
    }
}

on_both_backends! {
    async fn the_type_comes_from_the_bytes_not_the_claim() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let answer = upload(
            &app,
            &key,
            &[
                part("x.pdf", "application/pdf", PNG),
                part("logo.png", "image/png", SVG),
                part("page.txt", "text/plain", "<!DOCTYPE html><html><script>alert(1)</script></html>"),
                part("notes.bin", "application/octet-stream", "Grüße\n"),
                part("blob.txt", "text/plain", b"\x00\x01\x02\xff".to_vec()),
            ],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let files = answer.body["files"].as_array().unwrap();
        let types: Vec<&str> = files.iter().map(|f| str_of(f, "type")).collect();
        assert_eq!(types, ["image/png", "image/svg+xml", "text/html", "text/plain", "application/octet-stream"]);

        let png = get(&app, str_of(&files[0], "url"), Some(&key), &[]).await;
        assert_eq!(png.headers()["content-type"], "image/png");
        assert_eq!(png.headers()["content-disposition"], "inline; filename=\"x.pdf\"; filename*=UTF-8''x.pdf");
        // SVG and HTML can run script: never inline, and sandboxed if opened anyway.
        for (file, content_type) in [(&files[1], "image/svg+xml; charset=utf-8"), (&files[2], "text/html; charset=utf-8")] {
            let res = get(&app, str_of(file, "url"), Some(&key), &[]).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], content_type);
            assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            assert_eq!(res.headers()["content-security-policy"], "default-src 'none'; sandbox");
        }
    }
}

on_both_backends! {
    async fn only_the_workspace_and_the_visitors_concerned_may_download() {
        let app = spawn_app().await;
        let engage = app.key(Role::Engage).await;
        let reader = app.key(Role::Read).await;
        let other_workspace = app.key_in("other", Role::Full).await;
        let alice = visitor(&app).await;
        let bob = visitor(&app).await;

        // Support sends a file into Alice's conversation; Alice uploads one of her own.
        let sent = upload_one(&app, &engage, "terms.pdf", b"%PDF-1.4 terms").await;
        let message = app
            .call::<SendMessage>(&engage, json!({"conversationId": alice.conversation, "content": {"en": "Our terms"}, "attachmentIds": [sent["id"]]}))
            .await;
        assert_eq!(message.data()["attachments"][0]["url"], sent["url"], "API keys get the plain path");
        let own = upload_one(&app, &alice.token, "photo.png", PNG).await;
        let own_path = asset_path(str_of(&own, "s3Key"));
        let signed = str_of(&own, "url");
        assert!(signed.starts_with(&format!("{own_path}?")), "a visitor's upload answer is signed: {signed}");

        let unknown = get(&app, "/api/v1/connect/assets/nope/file_x/a.png", Some(&engage), &[]).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let not_found_body = unknown.text().await.unwrap();

        let status_of = |res: reqwest::Response| res.status();
        for path in [str_of(&sent, "url"), own_path.as_str()] {
            assert_eq!(status_of(get(&app, path, Some(&engage), &[]).await), StatusCode::OK, "{path}");
            assert_eq!(status_of(get(&app, path, Some(&reader), &[]).await), StatusCode::OK, "{path}");
            for (who, credential) in [("other workspace", Some(other_workspace.as_str())), ("Bob", Some(&bob.token)), ("nobody", None), ("a bad key", Some("c360_nope"))] {
                let res = get(&app, path, credential, &[]).await;
                assert_eq!(res.status(), StatusCode::NOT_FOUND, "{who} on {path}");
                assert_eq!(res.text().await.unwrap(), not_found_body, "{who} learns nothing more than for an unknown key");
            }
        }
        // Alice, by token: her upload and the file in her conversation.
        assert_eq!(status_of(get(&app, &own_path, Some(&alice.token), &[("origin", SITE)]).await), StatusCode::OK);
        assert_eq!(status_of(get(&app, str_of(&sent, "url"), Some(&alice.token), &[]).await), StatusCode::OK);
        // Alice, by signed URL with no header at all, as <img src> does.
        assert_eq!(status_of(get(&app, signed, None, &[]).await), StatusCode::OK);
        let page = app.call::<ListMessages>(&alice.token, json!({"conversationId": alice.conversation})).await;
        let listed = str_of(&page.data()["items"][0]["attachments"][0], "url").to_owned();
        assert!(listed.starts_with(&format!("{}?", str_of(&sent, "url"))), "{listed}");
        let res = get(&app, &listed, None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().as_ref(), b"%PDF-1.4 terms");

        // Signatures: tampered, for someone else, for another file, expired.
        let flipped = {
            let last = signed.chars().last().unwrap();
            format!("{}{}", &signed[..signed.len() - 1], if last == '0' { '1' } else { '0' })
        };
        let for_bob = signed.replace(&alice.customer, &bob.customer);
        let other_file = listed.replace(str_of(&sent, "url"), &own_path);
        let signer = UrlSigner::new(&app.store.token_key().await.unwrap());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expired = signer.signed_url(str_of(&own, "s3Key"), &Grantee::Customer(alice.customer.clone()), now - 2 * 60 * 60);
        // A genuine signature for Bob, who has no business with Alice's file.
        let bob_signed = signer.signed_url(str_of(&own, "s3Key"), &Grantee::Customer(bob.customer.clone()), now);
        for (what, url) in [("tampered", &flipped), ("moved to Bob", &for_bob), ("another file", &other_file), ("expired", &expired), ("Bob's", &bob_signed)] {
            let res = get(&app, url, None, &[]).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{what}: {url}");
            assert_eq!(res.text().await.unwrap(), not_found_body);
        }
        // Bob's own signed URLs for his own file work, for him only.
        let bobs = upload_one(&app, &bob.token, "b.txt", b"bob").await;
        assert_eq!(status_of(get(&app, str_of(&bobs, "url"), None, &[]).await), StatusCode::OK);
        assert_eq!(status_of(get(&app, &asset_path(str_of(&bobs, "s3Key")), Some(&alice.token), &[]).await), StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    async fn ranges_caching_and_security_headers() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let file = upload_one(&app, &key, "data.bin", &bytes).await;
        let url = str_of(&file, "url");

        let whole = get(&app, url, Some(&key), &[]).await;
        assert_eq!(whole.status(), StatusCode::OK);
        let h = whole.headers().clone();
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(h["content-length"], "1000");
        assert_eq!(h["content-type"], "application/octet-stream");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
        assert_eq!(h["content-disposition"], "attachment; filename=\"data.bin\"; filename*=UTF-8''data.bin");
        assert_eq!(h["cache-control"], "private, max-age=3600");
        let etag = h["etag"].to_str().unwrap().to_owned();
        assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice());

        for (range, start, end) in [("bytes=10-19", 10usize, 19usize), ("bytes=990-", 990, 999), ("bytes=-5", 995, 999), ("bytes=900-5000", 900, 999)] {
            let res = get(&app, url, Some(&key), &[("range", range)]).await;
            assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(res.headers()["content-range"], format!("bytes {start}-{end}/1000"), "{range}");
            assert_eq!(res.headers()["content-length"], (end - start + 1).to_string(), "{range}");
            assert_eq!(res.bytes().await.unwrap().as_ref(), &bytes[start..=end], "{range}");
        }
        for range in ["bytes=1000-", "bytes=2000-3000", "bytes=-0"] {
            let res = get(&app, url, Some(&key), &[("range", range)]).await;
            assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
            assert_eq!(res.headers()["content-range"], "bytes */1000");
        }
        // A range the server doesn't do (several at once) gets the whole file; so does a stale If-Range.
        let res = get(&app, url, Some(&key), &[("range", "bytes=0-1,5-6")]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = get(&app, url, Some(&key), &[("range", "bytes=0-1"), ("if-range", "\"old\"")]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = get(&app, url, Some(&key), &[("range", "bytes=0-1"), ("if-range", &etag)]).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);

        let cached = get(&app, url, Some(&key), &[("if-none-match", &etag)]).await;
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(cached.headers()["etag"], etag.as_str());
        assert!(cached.bytes().await.unwrap().is_empty());
        let changed = get(&app, url, Some(&key), &[("if-none-match", "\"other\"")]).await;
        assert_eq!(changed.status(), StatusCode::OK);
        // A cache check tells a stranger nothing either.
        let stranger = get(&app, url, None, &[("if-none-match", &etag)]).await;
        assert_eq!(stranger.status(), StatusCode::NOT_FOUND);

        let head = app.http.head(app.url(url)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-length"], "1000");
    }
}

on_both_backends! {
    async fn send_attaches_files_once_and_visitors_only_their_own() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let a = upload_one(&app, &key, "a.png", PNG).await;
        let b = upload_one(&app, &key, "b.txt", b"bee").await;

        let msg = app
            .call::<SendMessage>(&key, json!({"conversationId": conv, "attachmentIds": [a["id"], b["id"]]}))
            .await;
        let attachments = msg.data()["attachments"].clone();
        assert_eq!(
            attachments,
            json!([
                {"id": a["id"], "name": "a.png", "type": "image/png", "size": PNG.len(), "url": a["url"]},
                {"id": b["id"], "name": "b.txt", "type": "text/plain", "size": 3, "url": b["url"]},
            ])
        );
        let page = app.call::<ListMessages>(&key, json!({"conversationId": conv})).await;
        assert_eq!(page.data()["items"][0]["attachments"], attachments);

        let again = app
            .call::<SendMessage>(&key, json!({"conversationId": conv, "content": {"en": "again"}, "attachmentIds": [b["id"]]}))
            .await;
        assert_eq!(again.error("BAD_REQUEST"), "attachmentIds[0]: already attached to a message");
        // Deleting the message's conversation doesn't free the file for reuse.
        let other_conv = app.conversation(&key).await;
        app.call::<connect360_api::DeleteConversation>(&app.key(Role::Full).await, json!({"id": conv})).await.data();
        let after_delete = app
            .call::<SendMessage>(&key, json!({"conversationId": other_conv, "attachmentIds": [a["id"]]}))
            .await;
        assert_eq!(after_delete.error("BAD_REQUEST"), "attachmentIds[0]: already attached to a message");

        // Another workspace's key can't use the file.
        let foreign = app.key_in("other", Role::Engage).await;
        let foreign_conv = app.conversation(&foreign).await;
        let c = upload_one(&app, &key, "c.txt", b"sea").await;
        let refused = app
            .call::<SendMessage>(&foreign, json!({"conversationId": foreign_conv, "attachmentIds": [c["id"]]}))
            .await;
        assert_eq!(refused.error("BAD_REQUEST"), "attachmentIds[0]: unknown attachment");

        // Visitors: Bob can't attach Alice's upload, nor support's; Alice can attach hers.
        let alice = visitor(&app).await;
        let bob = visitor(&app).await;
        let hers = upload_one(&app, &alice.token, "hers.png", PNG).await;
        let hers_id = str_of(&hers, "id");
        let stolen = app.call::<SendMessage>(&bob.token, visitor_send(&bob, &[hers_id])).await;
        assert_eq!(stolen.error("BAD_REQUEST"), "attachmentIds[0]: unknown attachment");
        let supports = app.call::<SendMessage>(&bob.token, visitor_send(&bob, &[str_of(&c, "id")])).await;
        assert_eq!(supports.error("BAD_REQUEST"), "attachmentIds[0]: unknown attachment");
        let sent = app.call::<SendMessage>(&alice.token, visitor_send(&alice, &[hers_id])).await;
        let attachment = &sent.data()["attachments"][0];
        assert_eq!(attachment["id"], hers["id"]);
        let url = str_of(attachment, "url");
        assert!(url.starts_with(&format!("{}?", asset_path(str_of(&hers, "s3Key")))), "{url}");
        let res = get(&app, url, None, &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
        // Support reads the visitor's attachment with its key.
        let page = app.call::<ListMessages>(&key, json!({"conversationId": alice.conversation})).await;
        let plain = str_of(&page.data()["items"][0]["attachments"][0], "url");
        assert_eq!(plain, asset_path(str_of(&hers, "s3Key")));
        assert_eq!(get(&app, plain, Some(&key), &[]).await.status(), StatusCode::OK);
    }
}

on_both_backends! {
    async fn uploads_no_message_used_are_removed_rows_and_bytes() {
        let app = spawn_app_with(|config| {
            config.unused_files_ttl = Duration::from_secs(1);
            config.file_gc_interval = Duration::from_millis(200);
        })
        .await;
        let key = app.key(Role::Engage).await;
        let conv = app.conversation(&key).await;
        let used = upload_one(&app, &key, "used.txt", b"keep me").await;
        let unused = upload_one(&app, &key, "unused.txt", b"drop me").await;
        app.call::<SendMessage>(&key, json!({"conversationId": conv, "attachmentIds": [used["id"]]})).await.data();
        assert_eq!(file_rows(&app).await, 2);

        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while file_rows(&app).await > 1 {
            assert!(std::time::Instant::now() < deadline, "the unused upload was never removed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let left: Vec<String> = sqlx::query_scalar("SELECT id FROM files").fetch_all(&app.db().await).await.unwrap();
        assert_eq!(left, [str_of(&used, "id")]);
        assert_eq!(files_on_disk(&app), 1, "the unused file's bytes are gone");
        assert_eq!(get(&app, str_of(&unused, "url"), Some(&key), &[]).await.status(), StatusCode::NOT_FOUND);
        let kept = get(&app, str_of(&used, "url"), Some(&key), &[]).await;
        assert_eq!(kept.status(), StatusCode::OK);
        assert_eq!(kept.bytes().await.unwrap().as_ref(), b"keep me");
        // Too late to attach the removed one.
        let late = app.call::<SendMessage>(&key, json!({"conversationId": conv, "attachmentIds": [unused["id"]]})).await;
        assert_eq!(late.error("BAD_REQUEST"), "attachmentIds[0]: unknown attachment");
    }
}

/// What `serve` says, started on this storage, when it refuses to start.
async fn refused_start(files: FilesLocation) -> Option<String> {
    let data = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), data.path().to_owned(), data.path().join("none"));
    config.files = files;
    Application::build(&config).await.err().map(|err| format!("{err:#}"))
}

#[tokio::test]
async fn a_missing_bucket_wrong_credentials_or_an_unreachable_store_stop_the_start() {
    if !common::s3::available() {
        return;
    }
    let FilesLocation::S3(good) = common::s3::server().bucket() else { panic!("a bucket") };
    let endpoint = good.endpoint.clone().unwrap();

    let mut missing = good.clone();
    missing.bucket.name = "no-such-bucket".into();
    let err = refused_start(FilesLocation::S3(missing)).await.expect("a missing bucket is refused");
    assert!(
        err.starts_with(&format!("reaching the attachments' storage, s3://no-such-bucket/chat/files at {endpoint}: ")),
        "{err}"
    );

    let mut wrong = good.clone();
    wrong.credentials.secret_access_key = "wrong".into();
    let err = refused_start(FilesLocation::S3(wrong)).await.expect("a wrong secret is refused");
    assert!(err.starts_with("reaching the attachments' storage, s3://"), "{err}");

    let mut unreachable = good.clone();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    unreachable.endpoint = Some(format!("http://127.0.0.1:{closed}"));
    let err = refused_start(FilesLocation::S3(unreachable)).await.expect("an unreachable store is refused");
    assert!(
        err.starts_with(&format!(
            "reaching the attachments' storage, s3://{}/chat/files at http://127.0.0.1:{closed}: ",
            good.bucket.name
        )),
        "{err}"
    );

    let mut not_http = good.clone();
    not_http.endpoint = Some("127.0.0.1:9000".into());
    let err = refused_start(FilesLocation::S3(not_http)).await.expect("an endpoint that is no URL is refused");
    assert_eq!(err, "--s3-endpoint 127.0.0.1:9000 is not an http:// or https:// URL");

    assert_eq!(refused_start(FilesLocation::S3(good)).await, None, "the bucket itself is taken");
}
