//! The configuration the loader passes to `mount` (from the script tag).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    #[default]
    Right,
    Left,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetConfig {
    /// `data-widget-key`, `wk_…`.
    pub widget_key: String,
    /// The origin the loader script came from.
    pub api_base: String,
    /// `data-locale`.
    #[serde(default)]
    pub locale: Option<String>,
    /// `data-position`; anything but `left` is `right`.
    #[serde(default, deserialize_with = "lenient_position")]
    pub position: Position,
    /// `data-title`.
    #[serde(default)]
    pub title: Option<String>,
    /// `data-color`, the accent colour.
    #[serde(default)]
    pub color: Option<String>,
    /// `data-ai-agent`: the visitor's messages ask this agent for a reply.
    #[serde(default)]
    pub ai_agent: Option<String>,
}

fn lenient_position<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Position, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(match s.as_deref().map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("left") => Position::Left,
        _ => Position::Right,
    })
}

impl WidgetConfig {
    pub fn parse(json: &str) -> Result<WidgetConfig, String> {
        let config: WidgetConfig = crate::protocol::from_json(json).map_err(|e| e.to_string())?;
        if config.widget_key.trim().is_empty() {
            return Err("data-widget-key is missing".into());
        }
        Ok(config)
    }

    /// The accent colour, when it is one (and nothing that could end a declaration).
    pub fn accent(&self) -> Option<&str> {
        self.color.as_deref().and_then(safe_color)
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
            && args.strip_suffix(')').is_some_and(|a| {
                a.chars().all(|ch| ch.is_ascii_digit() || " .,%/-deg".contains(ch))
            })
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
        assert_eq!(c.position, Position::Left);
        assert_eq!(c.accent(), Some("#0a7"));
        let c = WidgetConfig::parse(r#"{"widgetKey":"wk_1","apiBase":"https://h","position":null}"#)
            .unwrap();
        assert_eq!((c.position, c.locale, c.title), (Position::Right, None, None));
        assert!(WidgetConfig::parse(r#"{"widgetKey":" ","apiBase":"https://h"}"#).is_err());
        assert!(WidgetConfig::parse(r#"{"apiBase":"https://h"}"#).is_err());
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
