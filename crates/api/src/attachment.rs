//! Attachments: the upload endpoint's answer and its limits.
//!
//! `POST /api/v1/connect/attachments` (multipart/form-data, plain HTTP, not
//! tRPC) takes up to [`MAX_FILES_PER_UPLOAD`] file parts of at most
//! [`MAX_FILE_BYTES`] each and answers an [`UploadResponse`], or an
//! [`crate::ErrorEnvelope`]: 413 for a file too large, 400 for too many files
//! or none. The ids go into `attachmentIds` of `send`.
//!
//! Files are private: `GET /api/v1/connect/assets/{s3Key}` serves them to the
//! file's workspace (API key) and to the visitor who uploaded them or whose
//! conversation holds them. URLs handed to a visitor carry a short-lived
//! signature, so that `<img src>` works without an Authorization header.

use serde::{Deserialize, Serialize};

pub const ATTACHMENTS_PATH: &str = "/api/v1/connect/attachments";
/// A file's URL is this prefix and its storage key, percent-encoded.
pub const ASSETS_PATH_PREFIX: &str = "/api/v1/connect/assets/";
pub const MAX_FILES_PER_UPLOAD: usize = 5;
/// 25 MB: a file of exactly this size is accepted, one byte more is not.
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedFile {
    /// Goes into `attachmentIds` of `send`.
    pub id: String,
    /// The normalised file name.
    pub name: String,
    /// The storage key: `<workspace id>/<file id>/<name>`.
    pub s3_key: String,
    /// The media type sniffed from the bytes; what the client claimed is ignored.
    #[serde(rename = "type")]
    pub media_type: String,
    pub url: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    pub files: Vec<UploadedFile>,
}

impl UploadResponse {
    /// Where the first (with one file per request, the only) file sits in
    /// the JSON, for a client that reads it in place.
    pub const FIRST_FILE_PATH: [&str; 2] = ["files", "0"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_file_speaks_the_documented_field_names() {
        let file = UploadedFile {
            id: "file_1".into(),
            name: "a.png".into(),
            s3_key: "ws_1/file_1/a.png".into(),
            media_type: "image/png".into(),
            url: "/api/v1/connect/assets/ws_1/file_1/a.png".into(),
            size: 3,
        };
        let json = serde_json::to_value(UploadResponse { files: vec![file] }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"files": [{"id": "file_1", "name": "a.png", "s3Key": "ws_1/file_1/a.png",
                "type": "image/png", "url": "/api/v1/connect/assets/ws_1/file_1/a.png", "size": 3}]})
        );
        let [field, index] = UploadResponse::FIRST_FILE_PATH;
        assert_eq!(json[field][index.parse::<usize>().unwrap()]["id"], "file_1");
    }
}
