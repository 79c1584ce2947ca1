//! Words for matching, the same way for English, Arabic and Turkish text.
//!
//! - Case: every i-like letter (`I`, `İ`, `ı`) folds to `i`, so that Turkish
//!   and English spellings meet whatever the keyboard; then Unicode lowercase.
//! - Arabic: diacritics (tashkeel, U+064B–U+0652, and the superscript alef)
//!   and tatweel go; alef variants become `ا`, ta marbuta `ه`, alef maqsura `ي`;
//!   a leading definite article (`ال`, `وال`, `بال`, `لل`…) is cut.
//! - Stems are the first [`STEM_CHARS`] letters: a prefix stem, which serves
//!   Turkish's suffixes (`siparişim`, `siparişiniz` → `sipar`) and English
//!   plurals and tenses (`returns`, `returned` → `retur`) alike.
//! - Punctuation separates words; a few very common words are dropped.

use connect360_api::Locale;

pub const STEM_CHARS: usize = 5;

/// Words too common to tell sections apart, after folding.
const STOP_WORDS: &[&str] = &[
    // English
    "a",
    "an",
    "the",
    "is",
    "are",
    "am",
    "i",
    "my",
    "me",
    "you",
    "your",
    "we",
    "our",
    "it",
    "to",
    "of",
    "in",
    "on",
    "for",
    "and",
    "or",
    "do",
    "does",
    "can",
    "how",
    "what",
    "when",
    "where",
    "with",
    "be",
    "this",
    "that",
    "please",
    "hi",
    "hello",
    // Turkish
    "bir",
    "ve",
    "bu",
    "ne",
    "mi",
    "mu",
    "mü",
    "ben",
    "benim",
    "siz",
    "sizin",
    "nasil",
    "nasıl",
    "için",
    "icin",
    "ile",
    "de",
    "da",
    "merhaba",
    "lutfen",
    "lütfen",
    // Arabic (folded)
    "في",
    "من",
    "علي",
    "الي",
    "عن",
    "هل",
    "ما",
    "كيف",
    "متي",
    "انا",
    "هذا",
    "هذه",
    "مرحبا",
    "او",
    "و",
];

fn is_arabic_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{0652}' | '\u{0670}' | '\u{0640}')
}

/// Folds one character into zero or more matching characters.
fn fold(c: char, out: &mut String) {
    match c {
        'I' | 'İ' | 'ı' => out.push('i'),
        // What `İ` decomposes to in lowercase: a dot above.
        '\u{0307}' => {}
        c if is_arabic_mark(c) => {}
        'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
        'ة' => out.push('ه'),
        'ى' => out.push('ي'),
        c => out.extend(c.to_lowercase()),
    }
}

/// The word with a leading Arabic definite article cut, if what remains is a word.
fn strip_article(word: &str) -> &str {
    for article in ["وال", "بال", "فال", "كال", "لل", "ال"] {
        if let Some(rest) = word.strip_prefix(article)
            && rest.chars().count() >= 2
        {
            return rest;
        }
    }
    word
}

/// The text's words, folded, without stop words, cut to their stems.
pub fn tokens(text: &str) -> Vec<String> {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        fold(c, &mut folded);
    }
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .map(|w| strip_article(w).chars().take(STEM_CHARS).collect())
        .collect()
}

/// The language a text is written in, by its letters: Arabic script, or the
/// letters only Turkish uses among the three; `None` when it could be English.
pub fn detect(text: &str) -> Option<Locale> {
    let arabic = text.chars().filter(|c| ('\u{0600}'..='\u{06FF}').contains(c)).count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    if arabic > 0 && arabic >= latin {
        return Some(Locale::Ar);
    }
    text.chars()
        .any(|c| matches!(c, 'ğ' | 'Ğ' | 'ş' | 'Ş' | 'ı' | 'İ' | 'ç' | 'Ç' | 'ö' | 'Ö' | 'ü' | 'Ü'))
        .then_some(Locale::Tr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_i_folds_and_suffixes_share_a_stem() {
        assert_eq!(tokens("SİPARİŞİM"), tokens("siparişim"));
        assert_eq!(tokens("IADE"), tokens("iade"));
        assert_eq!(tokens("Siparişimin durumu?"), vec!["sipar", "durum"]);
    }

    #[test]
    fn arabic_loses_diacritics_tatweel_and_the_article() {
        assert_eq!(tokens("الشَّحْن"), vec!["شحن"]);
        assert_eq!(tokens("شـــحن"), vec!["شحن"]);
        assert_eq!(tokens("أرجاع، إرجاع؟"), vec!["ارجاع", "ارجاع"]);
        assert_eq!(tokens("طلبية"), tokens("طلبيه"));
    }

    #[test]
    fn english_punctuation_splits_and_stop_words_go() {
        assert_eq!(tokens("How do I return my shoes?"), vec!["retur", "shoes"]);
        assert_eq!(tokens("Returns,refunds"), vec!["retur", "refun"]);
    }

    #[test]
    fn languages_are_told_apart_by_their_letters() {
        assert_eq!(detect("أين طلبي؟"), Some(Locale::Ar));
        assert_eq!(detect("Kargom nerede, ne zaman gelir? Çok geç"), Some(Locale::Tr));
        assert_eq!(detect("Where is my parcel?"), None);
    }
}
