//! The media type of an upload, read from its bytes as they stream past:
//! what the client claims is never trusted.

/// How much of the start of a file the signatures and markup checks look at.
const HEAD_BYTES: usize = 8 * 1024;

pub const OCTET_STREAM: &str = "application/octet-stream";

/// A media type and the extension that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub media_type: &'static str,
    pub extension: &'static str,
}

/// Fed each chunk of a file in order; tells the type at the end.
#[derive(Debug)]
pub struct Sniffer {
    head: Vec<u8>,
    /// Valid UTF-8 without NUL so far.
    text: bool,
    /// The start of a UTF-8 sequence that a chunk boundary cut.
    carry: Vec<u8>,
}

impl Default for Sniffer {
    fn default() -> Self {
        Sniffer { head: Vec::with_capacity(HEAD_BYTES), text: true, carry: Vec::new() }
    }
}

impl Sniffer {
    pub fn feed(&mut self, chunk: &[u8]) {
        let room = HEAD_BYTES - self.head.len();
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        if !self.text {
            return;
        }
        if chunk.contains(&0) {
            self.text = false;
            return;
        }
        let joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            joined = [self.carry.as_slice(), chunk].concat();
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => self.carry.clear(),
            // Cut short at the end: the rest may come with the next chunk.
            Err(e) if e.error_len().is_none() => self.carry = bytes[e.valid_up_to()..].to_vec(),
            Err(_) => self.text = false,
        }
    }

    pub fn finish(self) -> Sniffed {
        if let Some(kind) = infer::get(&self.head).filter(|k| k.matcher_type() != infer::MatcherType::Text) {
            return Sniffed { media_type: kind.mime_type(), extension: kind.extension() };
        }
        if !self.text || !self.carry.is_empty() {
            return Sniffed { media_type: OCTET_STREAM, extension: "bin" };
        }
        // The head may end inside a character; markup checks only need ASCII.
        let head = String::from_utf8_lossy(&self.head).to_ascii_lowercase();
        let start = head.trim_start_matches('\u{feff}').trim_start();
        let html = start.starts_with("<!doctype html") || start.starts_with("<html");
        if !html && head.contains("<svg") {
            return Sniffed { media_type: "image/svg+xml", extension: "svg" };
        }
        let markup = ["<script", "<iframe", "<body", "<head", "<object", "<embed"];
        if html || markup.iter().any(|tag| head.contains(tag)) {
            return Sniffed { media_type: "text/html", extension: "html" };
        }
        Sniffed { media_type: "text/plain", extension: "txt" }
    }
}

/// Raster images a browser shows without running anything: the only types served inline.
pub fn is_safe_inline(media_type: &str) -> bool {
    matches!(media_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_chunks(chunks: &[&[u8]]) -> &'static str {
        let mut sniffer = Sniffer::default();
        for chunk in chunks {
            sniffer.feed(chunk);
        }
        sniffer.finish().media_type
    }

    fn sniff(bytes: &[u8]) -> &'static str {
        sniff_chunks(&[bytes])
    }

    pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

    #[test]
    fn signatures_win() {
        assert_eq!(sniff(PNG), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), "image/gif");
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "application/pdf");
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0"), "application/zip");
    }

    #[test]
    fn text_is_utf8_without_nul() {
        assert_eq!(sniff("Grüße, مرحبا\n".as_bytes()), "text/plain");
        assert_eq!(sniff(b""), "text/plain");
        assert_eq!(sniff(b"abc\0def"), OCTET_STREAM);
        assert_eq!(sniff(b"caf\xe9"), OCTET_STREAM);
        // A character cut by a chunk boundary is still text; one cut by the end is not.
        let e = "é".as_bytes();
        assert_eq!(sniff_chunks(&[b"caf", &e[..1], &e[1..], b"!"]), "text/plain");
        assert_eq!(sniff_chunks(&[b"caf", &e[..1]]), OCTET_STREAM);
        // Binary far past the head still makes it binary.
        let mut late = vec![b'a'; 100_000];
        late.push(0xff);
        assert_eq!(sniff(&late), OCTET_STREAM);
    }

    #[test]
    fn markup_is_told_apart() {
        assert_eq!(sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), "image/svg+xml");
        assert_eq!(sniff(b"  <SVG onload=alert(1)>"), "image/svg+xml");
        assert_eq!(sniff(b"<!DOCTYPE html><html><body><svg></svg></body></html>"), "text/html");
        assert_eq!(sniff(b"hello <script>alert(1)</script>"), "text/html");
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><note/>"), "text/plain");
    }

    #[test]
    fn only_plain_rasters_are_inline() {
        assert!(is_safe_inline("image/png"));
        assert!(is_safe_inline("image/webp"));
        assert!(!is_safe_inline("image/svg+xml"));
        assert!(!is_safe_inline("text/html"));
        assert!(!is_safe_inline("application/pdf"));
    }
}
