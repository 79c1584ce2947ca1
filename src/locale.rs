//! Which locale the visitor reads, and which of a message's contents to show.

use connect360_api::{Content, Locale};
use serde_json::Value;

/// The visitor's locale, the first of these that names one we have: the
/// site's `data-locale`, the page's language (`<html lang>`), the browser's
/// languages in order (`navigator.languages`); else English.
pub fn visitor_locale<'a>(
    configured: Option<&str>,
    page: Option<&str>,
    browser: impl IntoIterator<Item = &'a str>,
) -> Locale {
    configured
        .and_then(Locale::from_tag)
        .or_else(|| page.and_then(Locale::from_tag))
        .or_else(|| browser.into_iter().find_map(Locale::from_tag))
        .unwrap_or(Locale::En)
}

/// Right-to-left locales mirror the whole panel.
pub fn is_rtl(locale: Locale) -> bool {
    matches!(locale, Locale::Ar)
}

/// The text of `content` to show a reader of `locale`: that locale's, else
/// English, else any locale present. `None` when nothing shows as text.
pub fn display_text(content: &Content, locale: Locale) -> Option<String> {
    let preferred = [locale, Locale::En];
    preferred.iter().filter_map(|l| content.get(l)).chain(content.values()).find_map(value_text)
}

/// A content value as text: strings as they are, numbers and booleans
/// written out; null, empty strings, objects and arrays are not text.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The content of a visitor's message: their text under their locale.
pub fn content_for(locale: Locale, text: &str) -> Content {
    Content::from([(locale, Value::String(text.to_owned()))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn content(v: Value) -> Content {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn configured_locale_wins_then_browser_then_english() {
        assert_eq!(visitor_locale(Some("ar"), None, ["tr-TR"]), Locale::Ar);
        assert_eq!(visitor_locale(Some("fr"), None, ["fr-FR", "tr-TR", "en"]), Locale::Tr);
        assert_eq!(visitor_locale(None, None, ["de", "ar-EG"]), Locale::Ar);
        assert_eq!(visitor_locale(None, None, ["de"]), Locale::En);
        assert!(is_rtl(Locale::Ar) && !is_rtl(Locale::Tr));
    }

    #[test]
    fn data_locale_then_the_pages_language_then_the_browsers() {
        // data-locale beats <html lang>, which beats navigator.languages.
        assert_eq!(visitor_locale(Some("tr"), Some("ar"), ["en-US"]), Locale::Tr);
        assert_eq!(visitor_locale(None, Some("ar"), ["tr-TR", "en"]), Locale::Ar);
        assert_eq!(visitor_locale(None, Some("TR-tr"), ["ar"]), Locale::Tr);
        // A language we don't have is passed over, at every step.
        assert_eq!(visitor_locale(Some("fr"), Some("ar-SA"), ["tr"]), Locale::Ar);
        assert_eq!(visitor_locale(Some("fr"), Some("de"), ["de-AT", "tr"]), Locale::Tr);
        assert_eq!(visitor_locale(Some(""), Some(""), ["", "ar"]), Locale::Ar);
        assert_eq!(visitor_locale(None, Some("fr"), ["de"]), Locale::En);
        assert_eq!(visitor_locale(None, None, []), Locale::En);
    }

    #[test]
    fn shows_the_visitors_locale_first() {
        let c = content(json!({"en": "Hello", "ar": "مرحبا", "tr": "Merhaba"}));
        assert_eq!(display_text(&c, Locale::Tr).as_deref(), Some("Merhaba"));
        assert_eq!(display_text(&c, Locale::Ar).as_deref(), Some("مرحبا"));
    }

    #[test]
    fn falls_back_to_english_then_any_locale() {
        let c = content(json!({"en": "Hello", "ar": "مرحبا"}));
        assert_eq!(display_text(&c, Locale::Tr).as_deref(), Some("Hello"));
        let c = content(json!({"ar": "مرحبا"}));
        assert_eq!(display_text(&c, Locale::Tr).as_deref(), Some("مرحبا"));
    }

    #[test]
    fn non_text_values_are_skipped() {
        let c = content(json!({"en": {"card": 1}, "tr": "Merhaba"}));
        assert_eq!(display_text(&c, Locale::En).as_deref(), Some("Merhaba"));
        let c = content(json!({"en": 42}));
        assert_eq!(display_text(&c, Locale::Ar).as_deref(), Some("42"));
        let c = content(json!({"en": null, "ar": ["x"]}));
        assert_eq!(display_text(&c, Locale::En), None);
        assert_eq!(display_text(&Content::new(), Locale::En), None);
    }

    #[test]
    fn visitor_content_is_keyed_by_locale() {
        let c = content_for(Locale::Ar, "مرحبا");
        assert_eq!(serde_json::to_value(&c).unwrap(), json!({"ar": "مرحبا"}));
    }
}
