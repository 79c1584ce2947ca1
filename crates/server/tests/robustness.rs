//! Property tests: no input panics the server or gets a 500. The tRPC input
//! decoding of every procedure, whole tRPC requests (any query, any body),
//! multipart uploads of any bytes, and any Range header.

mod common;

use std::time::Duration;

use common::{TestApp, spawn_app_with};
use connect360_api::{self as api, ATTACHMENTS_PATH, ErrorCode, Procedure};
use connect360_server::attachments::range::Ranged;
use connect360_server::domain::Role;
use connect360_server::extract::decode;
use connect360_server::limits::Rate;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// JSON values with the API's field names among random ones.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,24}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        "[a-zA-Z]{1,12}",
        prop::sample::select(vec![
            "conversationId",
            "content",
            "customer",
            "customerId",
            "externalId",
            "fingerprint",
            "metadata",
            "attachmentIds",
            "templateId",
            "templateContext",
            "limit",
            "cursor",
            "parentId",
            "en",
            "ai",
            "agentId",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

macro_rules! decode_each {
    ($($(#[$doc:meta])* $name:ident = $path:literal, $kind:ident, $input:ty => $output:ty;)*) => {
        /// Decodes `value` as every procedure's input: a value or a BAD_REQUEST.
        fn decode_as_every_input(value: &Value) -> Result<(), TestCaseError> {
            // The text of the value, as the tRPC route hands it on.
            let raw = serde_json::value::to_raw_value(value).unwrap();
            $(
                if let Err(err) = decode::<<api::$name as Procedure>::Input>(Some(&raw)) {
                    prop_assert_eq!(err.code, ErrorCode::BadRequest, "{} {}", $path, err.message);
                }
            )*
            Ok(())
        }
    };
}
api::for_each_procedure!(decode_each);

proptest! {
    #[test]
    fn any_json_decodes_as_any_input_or_is_a_bad_request(value in json_value()) {
        decode_as_every_input(&value)?;
    }

    #[test]
    fn any_range_header_is_a_range_inside_the_file_or_none(header in "(bytes=)?[-0-9, ]{0,24}|.{0,32}", size in 0u64..5000) {
        match Ranged::of(Some(&header), size) {
            Ranged::Partial { start, end } => prop_assert!(start <= end && end < size, "{header} {size}: {start}-{end}"),
            Ranged::Full | Ranged::Unsatisfiable => {}
        }
    }
}

/// One server for a property's cases, driven from proptest's synchronous cases.
struct Harness {
    rt: tokio::runtime::Runtime,
    app: TestApp,
    key: String,
}

impl Harness {
    fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (app, key) = rt.block_on(async {
            // Every case reaches the routes, not the per-key limit.
            let app = spawn_app_with(|c| c.limits.api_key_requests = Rate::new(u32::MAX, Duration::from_secs(1))).await;
            let key = app.key(Role::Full).await;
            (app, key)
        });
        Harness { rt, app, key }
    }

    fn status(&self, req: reqwest::RequestBuilder) -> StatusCode {
        let status =
            self.rt.block_on(async { req.bearer_auth(&self.key).send().await.expect("the server answers").status() });
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "the limit is lifted here");
        status
    }
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, ..ProptestConfig::default() }
}

#[test]
fn no_trpc_request_is_answered_500() {
    let h = Harness::new();
    let paths = prop::sample::select(api::PROCEDURE_PATHS.to_vec());
    proptest!(config(), |(path in paths, batch in any::<bool>(), input in json_value(), raw in ".{0,64}", as_text in any::<bool>())| {
        let url = h.app.url(&format!("/api/trpc/{path}{}", if batch { "?batch=1" } else { "" }));
        let body = if as_text { raw.clone() } else { input.to_string() };
        let post = h.status(h.app.http.post(&url).header("content-type", "application/json").body(body.clone()));
        prop_assert!(!post.is_server_error(), "POST {url} {body}: {post}");
        let sep = if batch { '&' } else { '?' };
        let get = h.status(h.app.http.get(format!("{url}{sep}input={}", urlencode(&body))));
        prop_assert!(!get.is_server_error(), "GET {url} {body}: {get}");
    });
}

#[test]
fn no_multipart_upload_is_answered_500() {
    let h = Harness::new();
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (".{0,40}", prop::collection::vec(any::<u8>(), 0..64), "[ -~]{0,40}").prop_map(|(name, bytes, header)| {
            let mut body = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n{header}\r\n\r\n"
            )
            .into_bytes();
            body.extend(bytes);
            body.extend_from_slice(b"\r\n--XyZ--\r\n");
            body
        }),
    ];
    proptest!(config(), |(body in bodies, boundary in prop_oneof![Just("XyZ".to_owned()), "[a-zA-Z0-9'()+_,-./:=? ]{0,20}"])| {
        let req = h.app.http.post(h.app.url(ATTACHMENTS_PATH))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body.clone());
        let status = h.status(req);
        prop_assert!(!status.is_server_error(), "{status} for {:?}", String::from_utf8_lossy(&body));
    });
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
