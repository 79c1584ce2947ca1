//! Files in the composer: the limits checked before anything is uploaded,
//! each file's upload (pending → uploading → done or failed; cancelling
//! drops it), and how an attachment shows in a bubble.

use connect360_api::{Attachment, ErrorEnvelope, MAX_FILE_BYTES, MAX_FILES_PER_UPLOAD, UploadedFile};

use crate::i18n::Strings;
use crate::transport::json::{decode, decode_first_file};
use crate::transport::url;

/// Raster types the server serves inline; anything else is a download.
const INLINE_IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Whether an attachment shows as a thumbnail (else as a file chip).
pub fn is_image(media_type: &str) -> bool {
    let base = media_type.split(';').next().unwrap_or_default().trim();
    INLINE_IMAGE_TYPES.iter().any(|t| t.eq_ignore_ascii_case(base))
}

/// A size as people read it: `512 B`, `3.4 KB`, `25 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    while bytes >> (10 * (unit + 2)) > 0 && unit + 1 < UNITS.len() {
        unit += 1;
    }
    // Tenths of the unit, rounded half up; integers only (float formatting
    // would add kilobytes of tables to the widget).
    let shift = 10 * (unit + 1);
    let tenths = (bytes.saturating_mul(10) + (1 << (shift - 1))) >> shift;
    // One decimal while it says something (3.4 KB), none once it doesn't (25 MB).
    if tenths >= 100 || tenths.is_multiple_of(10) {
        format!("{} {}", (tenths + 5) / 10, UNITS[unit])
    } else {
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    }
}

/// Why picked files can't be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    TooMany,
    TooLarge { name: String, size: u64 },
}

impl LimitError {
    /// What the composer tells the visitor.
    pub fn message(&self, s: &Strings) -> String {
        let max_size = human_size(MAX_FILE_BYTES);
        match self {
            LimitError::TooMany => s.too_many_files.replace("{max}", &MAX_FILES_PER_UPLOAD.to_string()),
            LimitError::TooLarge { name, size } => s
                .file_too_large
                .replace("{name}", name)
                .replace("{size}", &human_size(*size))
                .replace("{max}", &max_size),
        }
    }
}

/// Checks `picked` (name, size) against the limits, counting the `held` files
/// already in the composer: all of them go, or none.
pub fn check_limits(held: usize, picked: &[(String, u64)]) -> Result<(), LimitError> {
    if held + picked.len() > MAX_FILES_PER_UPLOAD {
        return Err(LimitError::TooMany);
    }
    match picked.iter().find(|(_, size)| *size > MAX_FILE_BYTES) {
        Some((name, size)) => Err(LimitError::TooLarge { name: name.clone(), size: *size }),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    Pending,
    /// Percent sent.
    Uploading(u8),
    Done(Attachment),
    /// Why, for the visitor.
    Failed(String),
}

impl UploadState {
    /// Still being sent (or about to be): cancellable, and the message waits.
    pub fn on_its_way(&self) -> bool {
        matches!(self, UploadState::Pending | UploadState::Uploading(_))
    }
}

/// A file picked in the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub key: u32,
    pub name: String,
    pub size: u64,
    pub state: UploadState,
}

/// The composer's files, in the order they were picked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uploads {
    items: Vec<Upload>,
    next_key: u32,
}

impl Uploads {
    /// A new file, pending; its key.
    pub fn add(&mut self, name: String, size: u64) -> u32 {
        self.next_key += 1;
        self.items.push(Upload { key: self.next_key, name, size, state: UploadState::Pending });
        self.next_key
    }

    pub fn items(&self) -> &[Upload] {
        &self.items
    }

    /// Files that count against the limit: those that will be sent (a
    /// failed one only waits to be read and removed).
    pub fn held(&self) -> usize {
        self.items.iter().filter(|u| !matches!(u.state, UploadState::Failed(_))).count()
    }

    fn active(&mut self, key: u32) -> Option<&mut Upload> {
        self.items.iter_mut().find(|u| u.key == key).filter(|u| u.state.on_its_way())
    }

    /// `loaded` of `total` bytes sent.
    pub fn progress(&mut self, key: u32, loaded: f64, total: f64) {
        if let Some(u) = self.active(key) {
            let percent = if total > 0.0 { loaded / total * 100.0 } else { 0.0 };
            u.state = UploadState::Uploading(percent.clamp(0.0, 100.0) as u8);
        }
    }

    /// The server's answer arrived.
    pub fn finished(&mut self, key: u32, result: Result<Attachment, String>) {
        if let Some(u) = self.active(key) {
            u.state = match result {
                Ok(file) => UploadState::Done(file),
                Err(why) => UploadState::Failed(why),
            };
        }
    }

    /// The visitor cancelled it: it is dropped, and its answer ignored.
    /// Whether it was still on its way.
    pub fn cancel(&mut self, key: u32) -> bool {
        if self.active(key).is_none() {
            return false;
        }
        self.remove(key);
        true
    }

    pub fn remove(&mut self, key: u32) {
        self.items.retain(|u| u.key != key);
    }

    /// Whether file `key` is still on its way.
    pub fn on_its_way(&self, key: u32) -> bool {
        self.items.iter().any(|u| u.key == key && u.state.on_its_way())
    }

    /// Whether a file is still on its way (the message waits for it).
    pub fn busy(&self) -> bool {
        self.items.iter().any(|u| u.state.on_its_way())
    }

    /// The uploaded files, to send.
    pub fn done(&self) -> Vec<Attachment> {
        self.items
            .iter()
            .filter_map(|u| match &u.state {
                UploadState::Done(file) => Some(file.clone()),
                _ => None,
            })
            .collect()
    }

    /// Takes the uploaded files out for sending; failed ones stay to be seen.
    pub fn take_done(&mut self) -> Vec<Attachment> {
        let done = self.done();
        self.items.retain(|u| !matches!(u.state, UploadState::Done(_)));
        done
    }
}

/// The attachment an upload's answer describes (one file per request), or
/// why it failed, from the server's error envelope when there is one.
pub fn parse_upload(status: u16, body: &str, failed: &str) -> Result<Attachment, String> {
    if (200..300).contains(&status) {
        return decode_first_file(body).map(attachment_of).map_err(|_| failed.to_owned());
    }
    Err(decode::<ErrorEnvelope>(body)
        .map(|e| e.error.message)
        .ok()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| failed.to_owned()))
}

fn attachment_of(file: UploadedFile) -> Attachment {
    Attachment { id: file.id, name: file.name, media_type: file.media_type, size: file.size, url: file.url }
}

/// The absolute address of a file: the server hands visitors relative URLs.
pub fn file_url(api_base: &str, url: &str) -> Option<String> {
    if url.starts_with('/') && !url.starts_with("//") {
        Some(url::join(api_base, url))
    } else if url.starts_with("https://") || url.starts_with("http://") {
        Some(url.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::strings;
    use connect360_api::Locale;

    fn file(id: &str) -> Attachment {
        Attachment {
            id: id.into(),
            name: "a.png".into(),
            media_type: "image/png".into(),
            size: 3,
            url: "/api/v1/connect/assets/w/f/a.png?sig=1".into(),
        }
    }

    #[test]
    fn safe_rasters_are_images_everything_else_a_file() {
        for t in ["image/png", "image/JPEG", "image/gif", "image/webp; q=1"] {
            assert!(is_image(t), "{t}");
        }
        for t in ["image/svg+xml", "text/html", "application/pdf", ""] {
            assert!(!is_image(t), "{t}");
        }
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(3_500), "3.4 KB");
        assert_eq!(human_size(150_000), "147 KB");
        assert_eq!(human_size(MAX_FILE_BYTES), "25 MB");
        assert_eq!(human_size(MAX_FILE_BYTES + 1), "25 MB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5 GB");
    }

    #[test]
    fn limits_count_the_held_files_and_name_the_large_one() {
        let small = |n: &str| (n.to_owned(), 10);
        assert_eq!(check_limits(0, &vec![small("a"); 5]), Ok(()));
        assert_eq!(check_limits(3, &vec![small("a"); 3]), Err(LimitError::TooMany));
        assert_eq!(
            check_limits(0, &[small("a"), ("big.mov".into(), MAX_FILE_BYTES + 1)]),
            Err(LimitError::TooLarge { name: "big.mov".into(), size: MAX_FILE_BYTES + 1 })
        );
        assert_eq!(check_limits(0, &[("edge.bin".into(), MAX_FILE_BYTES)]), Ok(()));
    }

    #[test]
    fn limit_messages_say_which_and_why() {
        let s = strings(Locale::En);
        assert_eq!(LimitError::TooMany.message(s), "You can attach up to 5 files to a message. Nothing was uploaded.");
        let big = LimitError::TooLarge { name: "video.mov".into(), size: 30 * 1024 * 1024 };
        assert_eq!(big.message(s), "“video.mov” is 30 MB; files can be up to 25 MB. Nothing was uploaded.");
        for l in Locale::ALL {
            let m = big.message(strings(l));
            assert!(m.contains("video.mov") && m.contains("30 MB") && m.contains("25 MB"), "{m}");
        }
    }

    #[test]
    fn an_upload_goes_pending_uploading_done() {
        let mut up = Uploads::default();
        let k = up.add("a.png".into(), 3);
        assert_eq!(up.items()[0].state, UploadState::Pending);
        assert!(up.busy());
        up.progress(k, 1.0, 4.0);
        assert_eq!(up.items()[0].state, UploadState::Uploading(25));
        up.finished(k, Ok(file("f1")));
        assert!(!up.busy());
        up.progress(k, 4.0, 4.0);
        assert_eq!(up.items()[0].state, UploadState::Done(file("f1")), "a late event changes nothing");
        assert_eq!(up.take_done(), vec![file("f1")]);
        assert!(up.items().is_empty());
    }

    #[test]
    fn cleared_files_are_gone_and_a_late_answer_for_one_finds_nothing() {
        let mut up = Uploads::default();
        let done = up.add("a.png".into(), 3);
        up.finished(done, Ok(file("f1")));
        let on_its_way = up.add("b.png".into(), 3);
        assert!(up.on_its_way(on_its_way) && !up.on_its_way(done));
        // As the composer is cleared: the file on its way is cancelled, the other removed.
        assert!(up.cancel(on_its_way));
        up.remove(done);
        assert!(up.items().is_empty() && !up.busy());
        assert!(!up.on_its_way(on_its_way));
        let next = up.add("c.png".into(), 3);
        assert!(next != done && next != on_its_way, "keys are not used again");
        up.finished(on_its_way, Ok(file("f2")));
        assert_eq!(up.take_done(), vec![], "the old conversation's file is not sent");
    }

    #[test]
    fn failed_files_stay_until_removed_and_cancelled_ones_go() {
        let mut up = Uploads::default();
        let a = up.add("a.pdf".into(), 3);
        let b = up.add("b.pdf".into(), 3);
        up.finished(a, Err("too large".into()));
        assert_eq!(up.items()[0].state, UploadState::Failed("too large".into()));
        assert!(up.cancel(b));
        assert!(!up.cancel(a), "a finished upload has nothing to cancel");
        up.finished(b, Ok(file("f2")));
        assert_eq!(up.take_done(), vec![], "an answer after cancel is dropped");
        assert_eq!(up.items().len(), 1);
        assert_eq!(up.held(), 0, "a failed file is not sent, so it does not count");
        up.remove(a);
        assert!(up.items().is_empty());
    }

    #[test]
    fn answers_become_an_attachment_or_the_servers_reason() {
        let ok =
            r#"{"files":[{"id":"f1","name":"a.png","s3Key":"w/f1/a.png","type":"image/png","url":"/u","size":3}]}"#;
        assert_eq!(parse_upload(200, ok, "Upload failed").unwrap().id, "f1");
        let shape = connect360_api::ErrorShape::new(
            connect360_api::ErrorCode::PayloadTooLarge,
            "a.bin is larger than 25 MB",
            None,
        );
        let err = &serde_json::to_string(&ErrorEnvelope { error: shape }).unwrap();
        assert_eq!(parse_upload(413, err, "Upload failed"), Err("a.bin is larger than 25 MB".into()));
        assert_eq!(parse_upload(502, "<html>", "Upload failed"), Err("Upload failed".into()));
        assert_eq!(parse_upload(200, "{}", "Upload failed"), Err("Upload failed".into()));
    }

    #[test]
    fn file_urls_are_prefixed_with_the_api_origin() {
        assert_eq!(
            file_url("https://chat.example/", "/api/v1/connect/assets/k?sig=1").as_deref(),
            Some("https://chat.example/api/v1/connect/assets/k?sig=1")
        );
        assert_eq!(file_url("https://c", "//evil.example/x"), None);
        assert_eq!(file_url("https://c", "javascript:alert(1)"), None);
        assert_eq!(file_url("https://c", "https://cdn.example/a.png").as_deref(), Some("https://cdn.example/a.png"));
    }
}
