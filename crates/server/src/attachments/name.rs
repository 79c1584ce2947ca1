//! File names as uploaded are the client's to choose: they are made safe to
//! show, to store in a key and to send back in Content-Disposition.

/// Longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest extension kept when a long name is shortened.
const MAX_EXTENSION_CHARS: usize = 16;

/// Characters that Windows and shells give a meaning to.
const RESERVED: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// The base name only, without control or bidi-override characters, reserved
/// characters replaced by `_`, no leading dots (no hidden files), trimmed, at
/// most [`MAX_NAME_CHARS`] with its extension kept, and a Windows device name
/// (`CON`, `NUL`, `COM1`…) prefixed with `_`. When nothing is left:
/// `file.<extension>`.
pub fn normalise(raw: &str, fallback_extension: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .map(|c| if RESERVED.contains(&c) { '_' } else { c })
        .collect();
    // Trailing dots and spaces vanish on Windows; leading dots hide a file.
    let trimmed =
        cleaned.trim_matches(|c: char| c.is_whitespace()).trim_start_matches('.').trim_end_matches(['.', ' ']).trim();
    if trimmed.is_empty() {
        return format!("file.{fallback_extension}");
    }
    not_a_device(shorten(trimmed))
}

/// Names Windows opens as devices whatever their extension: `nul.txt` is `NUL`.
const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];

/// A saved download named `CON.txt` or `com1.pdf` would not be a file on
/// Windows: such names get a `_` in front.
fn not_a_device(name: String) -> String {
    let stem = name.split('.').next().unwrap_or_default().trim_end().to_ascii_uppercase();
    let numbered = |prefix: &str| {
        stem.strip_prefix(prefix)
            .is_some_and(|n| matches!(n, "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"))
    };
    if DEVICES.contains(&stem.as_str()) || numbered("COM") || numbered("LPT") { format!("_{name}") } else { name }
}

/// Bidi overrides and zero-width characters let `evil\u{202E}fdp.exe` pose as `evilexe.pdf`.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_NAME_CHARS {
        return name.to_owned();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= MAX_EXTENSION_CHARS && !ext.contains(' '));
    match extension {
        Some(ext) => {
            let stem_chars = MAX_NAME_CHARS - ext.chars().count() - 1;
            let stem: String = name.chars().take(stem_chars).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => name.chars().take(MAX_NAME_CHARS).collect::<String>().trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_device_names_are_renamed() {
        for (raw, kept) in [
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("Com1.pdf", "_Com1.pdf"),
            ("lpt9.tar.gz", "_lpt9.tar.gz"),
            ("AUX .png", "_AUX .png"),
            ("COM¹.txt", "_COM¹.txt"),
        ] {
            assert_eq!(normalise(raw, "bin"), kept, "{raw}");
        }
        for fine in ["CONTRACT.pdf", "com10.txt", "nullable.rs", "LPT.txt", "my con.txt", "COM0.txt"] {
            assert_eq!(normalise(fine, "bin"), fine);
        }
    }

    #[test]
    fn paths_lose_their_directories() {
        assert_eq!(normalise("../../etc/passwd", "txt"), "passwd");
        assert_eq!(normalise("C:\\Users\\me\\report.pdf", "pdf"), "report.pdf");
        assert_eq!(normalise("dir/", "bin"), "file.bin");
    }

    #[test]
    fn hidden_and_empty_names_become_visible() {
        assert_eq!(normalise(".htaccess", "txt"), "htaccess");
        assert_eq!(normalise("...", "png"), "file.png");
        assert_eq!(normalise("..", "png"), "file.png");
        assert_eq!(normalise("", "pdf"), "file.pdf");
        assert_eq!(normalise("  \t ", "txt"), "file.txt");
        assert_eq!(normalise("report. ", "txt"), "report");
    }

    #[test]
    fn control_reserved_and_invisible_characters_go() {
        assert_eq!(normalise("a\tb\u{0}c\u{85}.txt", "txt"), "abc.txt");
        assert_eq!(normalise("what?<now>:\"x\"|*.txt", "txt"), "what__now___x___.txt");
        assert_eq!(normalise("evil\u{202E}fdp.exe", "bin"), "evilfdp.exe");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let short = normalise(&long, "pdf");
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(short.ends_with("é.pdf"), "{short}");
        let no_ext = "x".repeat(500);
        assert_eq!(normalise(&no_ext, "bin").chars().count(), MAX_NAME_CHARS);
        // An "extension" too long to be one is cut like the rest.
        let odd = format!("a.{}", "b".repeat(200));
        assert_eq!(normalise(&odd, "bin").chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn ordinary_names_are_kept() {
        assert_eq!(normalise("Invoice 1042 (copy).pdf", "pdf"), "Invoice 1042 (copy).pdf");
        assert_eq!(normalise("صورة.png", "png"), "صورة.png");
    }
}
