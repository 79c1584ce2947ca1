//! The configuration the loader passes to `mount` (from the script tag).

use serde::{Deserialize, Deserializer};

use crate::theme::Theme;
use crate::transport::json::decode;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Position {
    #[default]
    Right,
    Left,
}

/// Read from the loader's JSON (camelCase keys; unknown keys ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    /// `data-widget-key`, `wk_…`.
    pub widget_key: String,
    /// The origin the loader script came from.
    pub api_base: String,
    /// `data-locale`.
    pub locale: Option<String>,
    /// `data-position`: `left` or `right`; without it (or anything else),
    /// the end of the reading direction (right, left in Arabic).
    #[serde(default, deserialize_with = "position")]
    pub position: Option<Position>,
    /// `data-title`.
    pub title: Option<String>,
    /// `data-color`, the accent colour.
    pub color: Option<String>,
    /// `data-ai-agent`: the visitor's messages ask this agent for a reply.
    pub ai_agent: Option<String>,
    /// `data-theme`: `light`, `dark`, or `auto` (the system's, the default).
    pub theme: Option<String>,
    /// `data-sound="on"`: a short tone when a reply arrives unread.
    pub sound: Option<String>,
}

/// `position`: anything but `left` or `right` (any case) is no position.
fn position<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Position>, D::Error> {
    let position = Option::<String>::deserialize(d)?;
    Ok(match position.as_deref().map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("left") => Some(Position::Left),
        Some(p) if p.eq_ignore_ascii_case("right") => Some(Position::Right),
        _ => None,
    })
}

impl WidgetConfig {
    pub fn parse(json: &str) -> Result<WidgetConfig, String> {
        let config: WidgetConfig = decode(json)?;
        if config.widget_key.trim().is_empty() {
            return Err("data-widget-key is missing".into());
        }
        Ok(config)
    }

    /// The accent colour, when it is one (and nothing that could end a declaration).
    pub fn accent(&self) -> Option<&str> {
        self.color.as_deref().and_then(safe_color)
    }

    /// Whether the launcher and panel sit on the left: as `data-position`
    /// says, else at the end of the reading direction.
    pub fn on_left(&self, rtl: bool) -> bool {
        match self.position {
            Some(p) => p == Position::Left,
            None => rtl,
        }
    }

    pub fn theme(&self) -> Theme {
        Theme::parse(self.theme.as_deref())
    }

    /// `data-sound="on"` (or `true`); off otherwise.
    pub fn sound(&self) -> bool {
        self.sound
            .as_deref()
            .map(str::trim)
            .is_some_and(|s| s.eq_ignore_ascii_case("on") || s.eq_ignore_ascii_case("true"))
    }
}

/// `#rgb`, `#rrggbb`, `#rrggbbaa`, a named colour, or `rgb()/hsl()`-style
/// functions of numbers; anything else is refused.
pub fn safe_color(color: &str) -> Option<&str> {
    let c = color.trim();
    let ok = if let Some(hex) = c.strip_prefix('#') {
        matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
    } else if let Some((name, args)) = c.split_once('(') {
        ["rgb", "rgba", "hsl", "hsla", "oklch", "oklab"].contains(&name)
            && args
                .strip_suffix(')')
                .is_some_and(|a| a.chars().all(|ch| ch.is_ascii_digit() || " .,%/-deg".contains(ch)))
    } else {
        !c.is_empty() && c.len() <= 32 && c.chars().all(|ch| ch.is_ascii_alphabetic())
    };
    ok.then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_loaders_config() {
        let c = WidgetConfig::parse(
            r##"{"widgetKey":"wk_1","apiBase":"https://chat.example.com","locale":"ar",
                "position":"LEFT","title":"Help","color":"#0a7"}"##,
        )
        .unwrap();
        assert_eq!(c.position, Some(Position::Left));
        assert_eq!(c.accent(), Some("#0a7"));
        let c = WidgetConfig::parse(r#"{"widgetKey":"wk_1","apiBase":"https://h","position":null}"#).unwrap();
        assert_eq!((c.theme(), c.sound()), (Theme::Auto, false));
        assert_eq!((c.position, c.locale, c.title), (None, None, None));
        assert!(WidgetConfig::parse(r#"{"widgetKey":" ","apiBase":"https://h"}"#).is_err());
        assert!(WidgetConfig::parse(r#"{"apiBase":"https://h"}"#).is_err());
    }

    #[test]
    fn the_side_follows_data_position_else_the_reading_direction() {
        let with = |position: &str| {
            WidgetConfig::parse(&format!(r#"{{"widgetKey":"wk_1","apiBase":"https://h","position":{position}}}"#))
                .unwrap()
        };
        for (position, ltr, rtl) in [
            ("null", false, true),
            (r#""middle""#, false, true),
            (r#""left""#, true, true),
            (r#"" Right ""#, false, false),
        ] {
            let c = with(position);
            assert_eq!((c.on_left(false), c.on_left(true)), (ltr, rtl), "{position}");
        }
    }

    #[test]
    fn theme_and_sound_options() {
        let c =
            WidgetConfig::parse(r#"{"widgetKey":"wk_1","apiBase":"https://h","theme":"Dark","sound":"on"}"#).unwrap();
        assert_eq!((c.theme(), c.sound()), (Theme::Dark, true));
        let c =
            WidgetConfig::parse(r#"{"widgetKey":"wk_1","apiBase":"https://h","theme":"light","sound":"off"}"#).unwrap();
        assert_eq!((c.theme(), c.sound()), (Theme::Light, false));
    }

    #[test]
    fn colours_cannot_inject_css() {
        for ok in ["#fff", "#12ab34", "#12ab34cc", "rebeccapurple", "rgb(10, 20, 30)", "hsl(210deg 50% 40% / .5)"] {
            assert_eq!(safe_color(ok), Some(ok), "{ok}");
        }
        for bad in ["#ggg", "red;background:url(x)", "url(https://x)", "rgb(1,2,3);x", "expression(alert(1))", ""] {
            assert_eq!(safe_color(bad), None, "{bad}");
        }
    }
}
