//! Splits message text into plain text and links. Only `http` and `https`
//! URLs become links; everything else (`javascript:`, `data:`, …) stays text.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Link(String),
}

/// The text as segments; adjacent text is one segment.
pub fn linkify(text: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    while i < text.len() {
        if let Some(len) = link_at(text, i) {
            if plain_from < i {
                segments.push(Segment::Text(text[plain_from..i].to_owned()));
            }
            segments.push(Segment::Link(text[i..i + len].to_owned()));
            i += len;
            plain_from = i;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if plain_from < text.len() {
        segments.push(Segment::Text(text[plain_from..].to_owned()));
    }
    segments
}

/// The length of the link starting at byte `start`, if one does.
fn link_at(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let scheme =
        ["https://", "http://"].into_iter().find(|s| rest.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)))?;
    // A link starts a word: not glued to letters before it (`xhttp://`).
    if text[..start].chars().next_back().is_some_and(|c| alphanumeric(c) || c == '/' || c == '@') {
        return None;
    }
    let end = rest.find(|c: char| c.is_whitespace() || c.is_control() || "<>\"`".contains(c)).unwrap_or(rest.len());
    let len = trim_trailing(&rest[..end]);
    // Something must follow the scheme: a host.
    let host = &rest[scheme.len()..len];
    (host.chars().next().is_some_and(|c| alphanumeric(c) || c == '[')).then_some(len)
}

/// `char::is_alphanumeric`, asked of the browser's Unicode tables for
/// non-ASCII letters: Rust's would add theirs to the widget (1.6 KB brotli).
fn alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    #[cfg(target_arch = "wasm32")]
    return js_sys::RegExp::new(r"^[\p{Alphabetic}\p{N}]$", "u").test(c.encode_utf8(&mut [0; 4]));
    #[cfg(not(target_arch = "wasm32"))]
    return c.is_alphanumeric();
}

/// Drops the punctuation that ends a sentence rather than the URL, and closing
/// brackets that have no opening one inside the URL.
fn trim_trailing(url: &str) -> usize {
    let mut end = url.len();
    loop {
        let Some(last) = url[..end].chars().next_back() else {
            return end;
        };
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '،' | '؟' => true,
            ')' | ']' | '}' => {
                let open = match last {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                let s = &url[..end];
                s.matches(last).count() > s.matches(open).count()
            }
            _ => false,
        };
        if !drop {
            return end;
        }
        end -= last.len_utf8();
    }
}

/// `url` when it is an absolute `http(s)` URL, safe for `href` and `src`.
pub fn safe_url(url: &str) -> Option<&str> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let ok = (lower.starts_with("https://") && url.len() > 8) || (lower.starts_with("http://") && url.len() > 7);
    (ok && !url.chars().any(|c| c.is_whitespace() || c.is_control())).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::Segment::{Link, Text};
    use super::*;

    fn t(s: &str) -> Segment {
        Text(s.into())
    }
    fn l(s: &str) -> Segment {
        Link(s.into())
    }

    #[test]
    fn plain_text_is_one_segment() {
        assert_eq!(linkify("hello <b>world</b>"), vec![t("hello <b>world</b>")]);
        assert_eq!(linkify(""), vec![]);
    }

    #[test]
    fn finds_links_among_text() {
        assert_eq!(
            linkify("see https://example.com/a?b=1#c and http://x.io"),
            vec![t("see "), l("https://example.com/a?b=1#c"), t(" and "), l("http://x.io")]
        );
        assert_eq!(linkify("HTTPS://EXAMPLE.COM"), vec![l("HTTPS://EXAMPLE.COM")]);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_link() {
        assert_eq!(
            linkify("Go to https://example.com/help."),
            vec![t("Go to "), l("https://example.com/help"), t(".")]
        );
        assert_eq!(
            linkify("(see https://example.com/x), ok?"),
            vec![t("(see "), l("https://example.com/x"), t("), ok?")]
        );
        assert_eq!(
            linkify("https://en.wikipedia.org/wiki/Rust_(language)!"),
            vec![l("https://en.wikipedia.org/wiki/Rust_(language)"), t("!")]
        );
        assert_eq!(linkify("https://a.com/?q=1…"), vec![l("https://a.com/?q=1…")]);
    }

    #[test]
    fn only_http_and_https_become_links() {
        for s in [
            "javascript:alert(1)",
            "JavaScript://x.com/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://example.com",
            "https://",
            "http:// spaced",
            "xhttps://glued.com",
        ] {
            assert!(linkify(s).iter().all(|seg| matches!(seg, Text(_))), "{s} became a link");
        }
    }

    #[test]
    fn links_stop_at_quotes_and_angle_brackets() {
        assert_eq!(
            linkify(r#"<a href="https://e.com/">x</a>"#),
            vec![t("<a href=\""), l("https://e.com/"), t("\">x</a>")]
        );
    }

    #[test]
    fn works_next_to_right_to_left_text() {
        assert_eq!(
            linkify("زوروا https://example.com، شكرا"),
            vec![t("زوروا "), l("https://example.com"), t("، شكرا")]
        );
    }

    #[test]
    fn safe_urls_are_http_or_https_only() {
        assert_eq!(safe_url(" https://cdn.x/a.png "), Some("https://cdn.x/a.png"));
        assert_eq!(safe_url("http://x"), Some("http://x"));
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("data:image/png;base64,AAA"), None);
        assert_eq!(safe_url("//evil.com/x"), None);
        assert_eq!(safe_url("https://a b"), None);
        assert_eq!(safe_url("https://"), None);
    }
}
