//! `POST /api/v1/connect/attachments`: multipart/form-data, each file part
//! streamed to a spool file under the data directory chunk by chunk, its type
//! sniffed on the way. Only when the whole request is good are the files'
//! rows written, in one transaction, and the files moved into storage; any
//! error leaves nothing behind.
//!
//! Rows go before bytes: a crash in between leaves rows without bytes, which
//! no client was told of and which the removal of unused files takes away,
//! never bytes that no row names and nothing would ever remove.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::header::CONTENT_DISPOSITION;
use axum::http::{HeaderMap, StatusCode};
use connect360_api::{ErrorCode, MAX_FILE_BYTES, MAX_FILES_PER_UPLOAD, UploadResponse, UploadedFile};
use tokio::io::AsyncWriteExt;

use super::name;
use super::sniff::{OCTET_STREAM, Sniffed, Sniffer};
use super::storage::FileStorage;
use super::url::{Grantee, UrlSigner};
use crate::auth::Principal;
use crate::domain::Permission;
use crate::domain::files::asset_path;
use crate::error::ApiError;
use crate::ids;
use crate::limits::Limits;
use crate::store::{NewFile, Store, Uploader};

/// The request as a whole: every file at its largest, and room for the parts' headers.
/// A file name as the client gives it; stored names are shortened further (see [`name`]).
pub const MAX_CLIENT_NAME_BYTES: usize = 1024;
pub const BODY_LIMIT: usize = MAX_FILES_PER_UPLOAD * MAX_FILE_BYTES as usize + 1024 * 1024;

/// Where uploads are written until the whole request has arrived.
#[derive(Clone)]
pub struct SpoolDir(pub Arc<PathBuf>);

/// Where an upload's files go once it is whole: rows, bytes, and the URLs answered.
struct Destination<'a> {
    store: &'a dyn Store,
    files: &'a dyn FileStorage,
    urls: &'a UrlSigner,
    /// A visitor's uploads and bytes are counted.
    limits: &'a Limits,
}

pub(super) async fn handle(
    State(store): State<Arc<dyn Store>>,
    State(files): State<Arc<dyn FileStorage>>,
    State(SpoolDir(spool)): State<SpoolDir>,
    State(urls): State<UrlSigner>,
    State(limits): State<Limits>,
    principal: Principal,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<UploadResponse>, ApiError> {
    let to = Destination { store: store.as_ref(), files: files.as_ref(), urls: &urls, limits: &limits };
    let files = receive(&to, &spool, &principal, multipart).await?;
    Ok(Json(UploadResponse { files }))
}

/// A file part written to the spool; removed on drop unless it was moved into storage.
struct Spooled {
    id: String,
    path: PathBuf,
    client_name: String,
    sniffed: Sniffed,
    size: u64,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        // After a move into storage there is nothing here any more.
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn receive(
    to: &Destination<'_>,
    spool: &Path,
    principal: &Principal,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Vec<UploadedFile>, ApiError> {
    principal.require(Permission::Engage)?;
    let visitor = match principal {
        Principal::Visitor(v) => Some(v.customer_id.as_str()),
        Principal::Member(_) => None,
    };
    if let Some(customer_id) = visitor {
        to.limits.upload(customer_id)?;
    }
    let mut multipart =
        multipart.map_err(|_| ApiError::invalid("body", "must be multipart/form-data with a boundary"))?;
    let mut spooled = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        // Parts without a file name are form fields, not files: skipped.
        let extended = extended_file_name(field.headers());
        let Some(client_name) = extended.or_else(|| field.file_name().map(str::to_owned)) else { continue };
        if spooled.len() == MAX_FILES_PER_UPLOAD {
            return Err(ApiError::invalid("files", format!("at most {MAX_FILES_PER_UPLOAD} files per upload")));
        }
        let index = spooled.len();
        if client_name.len() > MAX_CLIENT_NAME_BYTES {
            return Err(ApiError::invalid(
                format!("files[{index}].name"),
                format!("at most {MAX_CLIENT_NAME_BYTES} bytes, got {}", client_name.len()),
            ));
        }
        spooled.push(spool_part(spool, &mut field, client_name, index).await?);
    }
    if spooled.is_empty() {
        return Err(ApiError::invalid("files", "no file in the upload: send file parts of multipart/form-data"));
    }
    if let Some(customer_id) = visitor {
        // Refused, the spooled files are removed as they drop: nothing is kept.
        to.limits.upload_bytes(customer_id, spooled.iter().map(|f| f.size).sum())?;
    }
    place(to, principal, spooled).await
}

async fn spool_part(dir: &Path, field: &mut Field<'_>, client_name: String, index: usize) -> Result<Spooled, ApiError> {
    let id = ids::new_id("file");
    let mut spooled = Spooled {
        path: dir.join(format!("{id}.part")),
        id,
        client_name,
        sniffed: Sniffed { media_type: OCTET_STREAM, extension: "bin" },
        size: 0,
    };
    let mut out = tokio::fs::File::create(&spooled.path).await.map_err(ApiError::internal)?;
    let mut sniffer = Sniffer::default();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        spooled.size += chunk.len() as u64;
        if spooled.size > MAX_FILE_BYTES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "files[{index}]: {} is larger than {} MB ({MAX_FILE_BYTES} bytes)",
                    name::normalise(&spooled.client_name, "bin"),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            ));
        }
        sniffer.feed(&chunk);
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    // On disk before the answer says it is stored.
    out.sync_all().await.map_err(ApiError::internal)?;
    spooled.sniffed = sniffer.finish();
    Ok(spooled)
}

/// Records the spooled files and moves them into storage; on a failure to
/// move, rows and moved bytes are removed again.
async fn place(
    to: &Destination<'_>,
    principal: &Principal,
    spooled: Vec<Spooled>,
) -> Result<Vec<UploadedFile>, ApiError> {
    let workspace_id = principal.workspace_id().to_owned();
    let uploader = match principal {
        Principal::Member(m) => Uploader::Member(m.member_id.clone()),
        Principal::Visitor(v) => Uploader::Customer(v.customer_id.clone()),
    };
    let rows: Vec<NewFile> = spooled
        .iter()
        .map(|file| {
            let name = name::normalise(&file.client_name, file.sniffed.extension);
            NewFile {
                id: file.id.clone(),
                workspace_id: workspace_id.clone(),
                storage_key: format!("{workspace_id}/{}/{name}", file.id),
                name,
                media_type: file.sniffed.media_type.to_owned(),
                size: file.size,
                uploader: uploader.clone(),
            }
        })
        .collect();
    to.store.insert_files(&rows).await?;
    for (file, row) in spooled.iter().zip(&rows) {
        if let Err(err) = to.files.put_file(&row.storage_key, &file.path).await {
            discard(to, &rows).await;
            return Err(ApiError::internal(format!("storing an upload: {err}")));
        }
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    tracing::info!(count = rows.len(), workspace = %workspace_id, "files uploaded");
    Ok(rows
        .into_iter()
        .map(|row| UploadedFile {
            url: match principal {
                Principal::Member(_) => asset_path(&row.storage_key),
                Principal::Visitor(v) => {
                    to.urls.signed_url(&row.storage_key, &Grantee::Customer(v.customer_id.clone()), now)
                }
            },
            id: row.id,
            name: row.name,
            s3_key: row.storage_key,
            media_type: row.media_type,
            size: row.size,
        })
        .collect())
}

/// Undoes a failed upload; what can't be undone here is unused, so removed later.
async fn discard(to: &Destination<'_>, rows: &[NewFile]) {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    if let Err(err) = to.store.remove_unused_files(&ids).await {
        tracing::warn!(%err, "could not remove the rows of a failed upload");
    }
    for row in rows {
        if let Err(err) = to.files.delete(&row.storage_key).await {
            tracing::warn!(%err, key = row.storage_key, "could not remove the bytes of a failed upload");
        }
    }
}

/// RFC 5987's `filename*=UTF-8''<percent-encoded>`, which some clients send
/// for names beyond ASCII and which wins over a plain `filename`. multer reads
/// only the plain one.
fn extended_file_name(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_DISPOSITION)?.to_str().ok()?;
    let encoded = value.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("filename*").then(|| value.trim())
    })?;
    let (charset, rest) = encoded.split_once('\'')?;
    let (_language, text) = rest.split_once('\'')?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes: Vec<u8> = percent_decode(text)?;
    String::from_utf8(bytes).ok()
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(byte);
        }
    }
    Some(out)
}

fn multipart_error(err: MultipartError) -> ApiError {
    match err.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::PayloadTooLarge, format!("The upload is larger than {BODY_LIMIT} bytes in all."))
        }
        StatusCode::BAD_REQUEST => {
            ApiError::invalid("body", format!("malformed multipart/form-data: {}", err.body_text()))
        }
        // Mostly a client that went away mid-upload.
        _ => ApiError::internal(format!("reading an upload: {}", err.body_text())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disposition(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_DISPOSITION, value.parse().unwrap());
        headers
    }

    #[test]
    fn extended_file_names_are_decoded() {
        let name = |v: &str| extended_file_name(&disposition(v));
        assert_eq!(
            name("form-data; name=\"f\"; filename*=UTF-8''%D8%B5%D9%88%D8%B1%D8%A9.png").as_deref(),
            Some("صورة.png")
        );
        assert_eq!(
            name("form-data; name=\"f\"; filename=\"x.png\"; filename*=utf-8'en'a%20b.png").as_deref(),
            Some("a b.png")
        );
        assert_eq!(name("form-data; name=\"f\"; filename=\"x.png\""), None);
        assert_eq!(name("form-data; filename*=iso-8859-1''caf%E9.txt"), None);
        assert_eq!(name("form-data; filename*=UTF-8''bad%zz"), None);
    }
}
