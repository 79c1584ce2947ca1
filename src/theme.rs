//! Light or dark, and a readable text colour on the site's brand colour.

/// `data-theme` / `Connect360Chat.setTheme()`: the system's (`auto`), or forced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Auto,
    Light,
    Dark,
}

impl Theme {
    /// `light`, `dark`; anything else is `auto`.
    pub fn parse(value: Option<&str>) -> Theme {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::Auto,
        }
    }

    /// Whether the panel is dark, given whether the system prefers dark.
    pub fn is_dark(self, system_prefers_dark: bool) -> bool {
        match self {
            Theme::Auto => system_prefers_dark,
            Theme::Light => false,
            Theme::Dark => true,
        }
    }
}

/// White text.
pub const WHITE: &str = "#fff";
/// Near-black text: dark enough that, for every brand colour, white or it
/// has a contrast of at least 4.5:1 (`#111` would leave mid-tones at 4.35).
pub const INK: &str = "#040506";

/// The text colour (white or near-black) with the higher contrast on `rgb`.
pub fn text_on(rgb: [u8; 3]) -> &'static str {
    let l = luminance(rgb);
    if contrast(l, luminance([255; 3])) >= contrast(l, luminance(ink())) { WHITE } else { INK }
}

fn ink() -> [u8; 3] {
    parse_color(INK).unwrap_or([0; 3])
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { pow((c + 0.055) / 1.055, 2.4) }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// `x^y`; in the browser, its own (Rust's `powf` would add libm's to the bundle).
fn pow(x: f64, y: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    return js_sys::Math::pow(x, y);
    #[cfg(not(target_arch = "wasm32"))]
    return x.powf(y);
}

/// WCAG 2 contrast ratio of two luminances, 1 to 21.
pub fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

/// An opaque colour from `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`,
/// `rgba()`, `hsl()` or `hsla()` (comma or space syntax; alpha is ignored).
/// Named colours and other functions are `None` (the browser resolves them).
pub fn parse_color(color: &str) -> Option<[u8; 3]> {
    let c = color.trim().to_ascii_lowercase();
    if let Some(hex) = c.strip_prefix('#') {
        if !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok();
        let pair = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        return match hex.len() {
            3 | 4 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
            6 | 8 => Some([pair(0)?, pair(2)?, pair(4)?]),
            _ => None,
        };
    }
    let (name, rest) = c.split_once('(')?;
    let args = rest.strip_suffix(')')?;
    let args: Vec<&str> =
        args.split(|ch: char| ch == ',' || ch == '/' || ch.is_whitespace()).filter(|a| !a.is_empty()).collect();
    if !(3..=4).contains(&args.len()) {
        return None;
    }
    match name.trim() {
        "rgb" | "rgba" => {
            let channel = |a: &str| -> Option<u8> {
                let v = match a.strip_suffix('%') {
                    Some(p) => number(p)? / 100.0 * 255.0,
                    None => number(a)?,
                };
                Some(v.round().clamp(0.0, 255.0) as u8)
            };
            Some([channel(args[0])?, channel(args[1])?, channel(args[2])?])
        }
        "hsl" | "hsla" => {
            let h = number(args[0].strip_suffix("deg").unwrap_or(args[0]))?;
            let pct = |a: &str| Some((number(a.strip_suffix('%').unwrap_or(a))? / 100.0).clamp(0.0, 1.0));
            let (s, l) = (pct(args[1])?, pct(args[2])?);
            Some(hsl_to_rgb(h.rem_euclid(360.0), s, l))
        }
        _ => None,
    }
}

/// A plain decimal number: `12`, `-0.5`, `.5` (no exponent). By hand:
/// `str::parse::<f64>` would add its tables to the bundle.
fn number(s: &str) -> Option<f64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v = int.bytes().fold(0.0, |v, b| v * 10.0 + f64::from(b - b'0'));
    let mut scale = 1.0;
    for b in frac.bytes() {
        scale /= 10.0;
        v += f64::from(b - b'0') * scale;
    }
    Some(if negative { -v } else { v })
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> [u8; 3] {
    let a = s * l.min(1.0 - l);
    let f = |n: f64| {
        let k = (n + h / 30.0) % 12.0;
        let v = l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
        (v * 255.0).round().clamp(0.0, 255.0) as u8
    };
    [f(0.0), f(8.0), f(4.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
        contrast(luminance(a), luminance(b))
    }

    #[test]
    fn themes_parse_leniently_and_auto_follows_the_system() {
        assert_eq!(Theme::parse(Some("dark")), Theme::Dark);
        assert_eq!(Theme::parse(Some(" LIGHT ")), Theme::Light);
        for auto in [Some("auto"), Some("purple"), Some(""), None] {
            assert_eq!(Theme::parse(auto), Theme::Auto);
        }
        assert!(Theme::Auto.is_dark(true) && !Theme::Auto.is_dark(false));
        assert!(Theme::Dark.is_dark(false) && !Theme::Light.is_dark(true));
    }

    #[test]
    fn parses_hex_rgb_and_hsl() {
        assert_eq!(parse_color("#fff"), Some([255, 255, 255]));
        assert_eq!(parse_color("#0a7"), Some([0, 0xaa, 0x77]));
        assert_eq!(parse_color("#0a7c"), Some([0, 0xaa, 0x77]));
        assert_eq!(parse_color("#123456"), Some([0x12, 0x34, 0x56]));
        assert_eq!(parse_color(" #FFEB3B "), Some([0xff, 0xeb, 0x3b]));
        assert_eq!(parse_color("#12345680"), Some([0x12, 0x34, 0x56]));
        assert_eq!(parse_color("rgb(10, 20, 30)"), Some([10, 20, 30]));
        assert_eq!(parse_color("rgba(10,20,30,0.5)"), Some([10, 20, 30]));
        assert_eq!(parse_color("rgb(10 20 30 / 50%)"), Some([10, 20, 30]));
        assert_eq!(parse_color("rgb(100%, 0%, 50%)"), Some([255, 0, 128]));
        assert_eq!(parse_color("RGB(300, -5, 7.6)"), Some([255, 0, 8]));
        assert_eq!(parse_color("hsl(0, 100%, 50%)"), Some([255, 0, 0]));
        assert_eq!(parse_color("hsl(120deg 100% 25%)"), Some([0, 128, 0]));
        assert_eq!(parse_color("hsla(240, 100%, 50%, .3)"), Some([0, 0, 255]));
        assert_eq!(parse_color("rgb(.5, +20.25, 0030)"), Some([1, 20, 30]));
        assert_eq!(parse_color("hsl(-120, 100%, 50%)"), Some([0, 0, 255]));
        for no in [
            "red",
            "#ggg",
            "#12345",
            "rgb(1,2)",
            "rgb(a,b,c)",
            "oklch(0.7 0.1 200)",
            "",
            "#",
            "rgb(1e2, 0, 0)",
            "rgb(., 0, 0)",
            "rgb(1.2.3, 0, 0)",
            "rgb(--1, 0, 0)",
        ] {
            assert_eq!(parse_color(no), None, "{no}");
        }
    }

    #[test]
    fn contrast_ratios_are_wcags() {
        assert!((ratio([0; 3], [255; 3]) - 21.0).abs() < 1e-9);
        assert!((ratio([255; 3], [255; 3]) - 1.0).abs() < 1e-9);
        // #777 on white is the classic just-below-AA grey.
        let grey = ratio([0x77; 3], [255; 3]);
        assert!((4.47..4.49).contains(&grey), "{grey}");
        assert_eq!(ratio([1, 2, 3], [200, 100, 50]), ratio([200, 100, 50], [1, 2, 3]));
    }

    #[test]
    fn text_on_a_brand_colour_is_white_or_near_black_whichever_reads_better() {
        assert_eq!(text_on(parse_color("#ffeb3b").unwrap()), INK);
        assert_eq!(text_on(parse_color("#123456").unwrap()), WHITE);
        assert_eq!(text_on(parse_color("#2f5bea").unwrap()), WHITE);
        assert_eq!(text_on(parse_color("#fff").unwrap()), INK);
        assert_eq!(text_on(parse_color("rgb(0, 170, 119)").unwrap()), INK);
        assert_eq!(text_on(parse_color("#c62828").unwrap()), WHITE);
    }

    #[test]
    fn every_brand_colour_gets_text_of_at_least_4_5_to_1() {
        let ink = parse_color(INK).unwrap();
        let mut worst = f64::MAX;
        for r in (0..=255).step_by(5) {
            for g in (0..=255).step_by(5) {
                for b in (0..=255).step_by(5) {
                    let bg = [r as u8, g as u8, b as u8];
                    let text = if text_on(bg) == WHITE { [255; 3] } else { ink };
                    let chosen = ratio(bg, text);
                    assert!(chosen >= ratio(bg, [255; 3]).max(ratio(bg, ink)) - 1e-12);
                    worst = worst.min(chosen);
                }
            }
        }
        assert!(worst >= 4.5, "worst contrast {worst}");
    }
}
