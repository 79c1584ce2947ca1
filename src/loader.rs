//! The loader's share of the widget's constants. `loader/widget.js` draws a
//! stand-in launcher before the widget is loaded, as the widget will draw
//! it: same icon, label, side and text colour; and it loads the widget at
//! once for a returning visitor (a stored session). The build fills these
//! in from here (`examples/loader.rs`, run by `build_widget` in
//! scripts/lib.sh), so the two cannot drift.

use connect360_api::Locale;
use serde_json::{Map, Value, json};

use crate::i18n::strings;
use crate::icons;
use crate::locale::is_rtl;
use crate::session::{SESSION_KEY, storage_key};
use crate::theme::{INK, WHITE, luminance, parse_color};

/// Where the loader takes the constants.
pub const PLACEHOLDER: &str = "__CONNECT360_SHARED__";

/// What the loader needs, as a JSON object.
pub fn constants() -> Value {
    let code = |l: Locale| Value::from(l.as_str());
    let open_chat: Map<String, Value> =
        Locale::ALL.into_iter().map(|l| (l.as_str().to_owned(), strings(l).open_chat.into())).collect();
    json!({
        "icon": icons::CHAT,
        // The widget's locales; the first is the fallback (`visitor_locale`).
        "locales": Locale::ALL.map(code),
        "rtl": Locale::ALL.into_iter().filter(|l| is_rtl(*l)).map(code).collect::<Vec<_>>(),
        "openChat": open_chat,
        "session": storage_key("{widgetKey}", SESSION_KEY),
        // `theme::text_on`: white, or ink when ink's contrast is higher;
        // the relative luminance of ink plus 0.05, for the contrast ratio.
        "white": WHITE,
        "ink": INK,
        "inkLuminance": luminance(parse_color(INK).unwrap_or([0; 3])) + 0.05,
    })
}

/// `loader` with its placeholder replaced by [`constants`].
pub fn fill(loader: &str) -> Result<String, String> {
    if !loader.contains(PLACEHOLDER) {
        return Err(format!("the loader has no {PLACEHOLDER} to fill"));
    }
    Ok(loader.replace(PLACEHOLDER, &constants().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_gets_the_widgets_own_constants() {
        let filled = fill(include_str!("../loader/widget.js")).unwrap();
        assert!(!filled.contains(PLACEHOLDER));
        assert!(filled.contains("__CONNECT360_ASSETS__"), "the server fills in the bundle's names");
        for text in [icons::CHAT, "Open chat", "افتح المحادثة", "Sohbeti aç", "connect360:{widgetKey}:session", INK]
        {
            assert!(filled.contains(text), "{text}");
        }
        assert_eq!(constants()["locales"][0], "en", "the fallback");
        assert_eq!(constants()["rtl"], json!(["ar"]));
    }

    #[test]
    fn a_loader_without_the_placeholder_is_refused() {
        assert!(fill("var shared = {};").unwrap_err().contains(PLACEHOLDER));
    }
}
