//! Localised message content: a map from locale to any JSON value.

use std::fmt;

use indexmap::IndexMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The locales Connect360 content may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    En,
    Ar,
    Tr,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::En, Locale::Ar, Locale::Tr];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ar => "ar",
            Locale::Tr => "tr",
        }
    }

    /// Parses a locale code, ignoring a region (`ar-EG` is `ar`) and case.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next().unwrap_or(tag);
        Locale::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Wire locales are exact codes; the message names what is accepted.
impl<'de> Deserialize<'de> for Locale {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Locale::ALL
            .into_iter()
            .find(|l| l.as_str() == code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown locale \"{code}\"; expected en, ar or tr")))
    }
}

/// `Partial<Record<"en" | "ar" | "tr", unknown>>`: each locale at most once,
/// in the order they were sent, so that a client reads back the bytes it stored.
pub type Content = IndexMap<Locale, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_locale_is_named_in_the_error() {
        let err = serde_json::from_str::<Content>(r#"{"fr":"Bonjour"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown locale \"fr\"; expected en, ar or tr"));
    }

    #[test]
    fn locales_keep_the_order_they_were_sent_in() {
        for json in [r#"{"en":"Hi","ar":"مرحبا","tr":"Merhaba"}"#, r#"{"tr":"Merhaba","ar":"مرحبا","en":"Hi"}"#]
        {
            let content: Content = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&content).unwrap(), json);
        }
    }

    #[test]
    fn tags_with_regions_map_to_locales() {
        assert_eq!(Locale::from_tag("ar-EG"), Some(Locale::Ar));
        assert_eq!(Locale::from_tag("TR"), Some(Locale::Tr));
        assert_eq!(Locale::from_tag("fr-FR"), None);
    }
}
