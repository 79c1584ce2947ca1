//! What browsers are told and what names files get: the widget's URLs may be
//! embedded by other sites, nothing else; Windows device names are renamed.

mod common;

use common::{TestApp, spawn_app};
use connect360_api::{ATTACHMENTS_PATH, WIDGET_SESSION_PATH};
use connect360_server::domain::{Domain, Role};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const SITE: &str = "https://shop.example.com";

async fn upload(app: &TestApp, credential: &str, name: &str) -> Value {
    let form = Form::new().part("files", Part::bytes(b"hello".to_vec()).file_name(name.to_owned()));
    let req = app.http.post(app.url(ATTACHMENTS_PATH)).bearer_auth(credential).header("origin", SITE).multipart(form);
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["files"][0].clone()
}

async fn visitor_token(app: &TestApp) -> String {
    let ws = app.workspace("default").await;
    let widget =
        app.store.create_widget(&ws.id, None, &[Domain::parse("d", "shop.example.com").unwrap()], None).await.unwrap();
    let res = app
        .http
        .post(app.url(WIDGET_SESSION_PATH))
        .header("origin", SITE)
        .json(&json!({"widgetKey": widget.public_key}));
    let body: Value = res.send().await.unwrap().json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

fn resource_policy(res: &reqwest::Response) -> &str {
    res.headers().get("cross-origin-resource-policy").map_or("", |v| v.to_str().unwrap())
}

on_both_backends! {
    async fn only_the_widget_s_urls_may_be_embedded_by_other_sites() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        let token = visitor_token(&app).await;

        // A visitor's signed URL is shown in the site's page: another site.
        let mine = upload(&app, &token, "photo.txt").await;
        let signed = app.http.get(app.url(mine["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(signed.status(), StatusCode::OK);
        assert_eq!(resource_policy(&signed), "cross-origin");
        // Read with a key (a backend, the inbox): the server's own site only.
        let theirs = upload(&app, &key, "report.txt").await;
        let by_key = app.http.get(app.url(theirs["url"].as_str().unwrap())).bearer_auth(&key).send().await.unwrap();
        assert_eq!(by_key.status(), StatusCode::OK);
        assert_eq!(resource_policy(&by_key), "same-site");
        // Everything else too, errors included.
        for path in ["/healthz", "/api/trpc/v1.connect.listMessages?input=%7B%7D", "/nowhere"] {
            let res = app.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(resource_policy(&res), "same-site", "{path}");
        }
    }
}

on_both_backends! {
    async fn windows_device_names_are_renamed_on_upload() {
        let app = spawn_app().await;
        let key = app.key(Role::Engage).await;
        for (given, kept) in [("CON.txt", "_CON.txt"), ("nul", "_nul"), ("com1.txt", "_com1.txt"), ("console.txt", "console.txt")] {
            assert_eq!(upload(&app, &key, given).await["name"], kept, "{given}");
        }
    }
}
