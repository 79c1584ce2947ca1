//! The `faq` agent: answers from a Markdown knowledge base, offline.
//!
//! # Knowledge-base format
//!
//! ```markdown
//! # Returns
//! ## How do I return an order? {en}
//! Within 30 days, from your account's Orders page…
//! ## كيف أعيد طلبي؟ {ar}
//! …
//! ## Siparişimi nasıl iade ederim? {tr}
//! …
//! ```
//!
//! A `#` heading names a topic; each `##` heading under it starts a section,
//! one language version of the topic's answer, in the language its `{en}`,
//! `{ar}` or `{tr}` marker names, or else the one its letters show. The
//! section's text is the answer, sent as written. A `##` before any `#` is a
//! topic of its own.
//!
//! # Ranking
//!
//! BM25 (k1 1.2, b 0.75) of the question's words against each section's
//! heading and text (see [`super::tokenize`]). The best section's topic is
//! answered in the visitor's language: the one the question's letters show,
//! else the best section's own (the words matched it), else the message's
//! locale. A best score below [`MIN_MATCH`] times the score of one word found
//! in a single section means nothing matched well enough: the visitor is told,
//! in their language, that a person will answer ([`handoff_text`]).

use std::collections::HashMap;

use connect360_api::Locale;

use super::tokenize::{detect, tokens};

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The least score that answers, as a share of what one word found in a
/// single section scores: about one distinctive word in common, whatever the
/// base's size (BM25's scores grow with the number of sections). A word most
/// sections have, or one word in an overly long section, is not enough alone.
pub const MIN_MATCH: f64 = 0.6;

pub fn handoff_text(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "A team member will reply here shortly.",
        Locale::Ar => "سيرد عليك أحد أعضاء فريقنا هنا قريبًا.",
        Locale::Tr => "Bir ekip arkadaşımız kısa süre içinde buradan yanıt verecek.",
    }
}

struct Section {
    topic: usize,
    locale: Locale,
    answer: String,
    term_freq: HashMap<String, u32>,
    len: usize,
}

pub struct KnowledgeBase {
    sections: Vec<Section>,
    doc_freq: HashMap<String, u32>,
    avg_len: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub locale: Locale,
    pub text: String,
    /// Nothing matched: the text says a person will answer.
    pub handoff: bool,
}

/// `Returns {tr}` → (`Returns`, Turkish).
fn heading_locale(heading: &str) -> (&str, Option<Locale>) {
    let heading = heading.trim();
    if let Some(rest) = heading.strip_suffix('}')
        && let Some((title, tag)) = rest.rsplit_once('{')
        && let Some(locale) = Locale::from_tag(tag.trim())
    {
        return (title.trim(), Some(locale));
    }
    (heading, None)
}

impl KnowledgeBase {
    pub fn parse(markdown: &str) -> KnowledgeBase {
        // (topic, heading, text) of each section, in order.
        let mut raw: Vec<(usize, String, String)> = Vec::new();
        let mut topic = 0;
        let mut in_topic = false;
        for line in markdown.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                if !in_topic {
                    topic += 1;
                }
                raw.push((topic, heading.to_owned(), String::new()));
            } else if line.starts_with("# ") {
                topic += 1;
                in_topic = true;
            } else if let Some((_, _, text)) = raw.last_mut() {
                text.push_str(line);
                text.push('\n');
            }
        }
        let sections: Vec<Section> = raw
            .into_iter()
            .map(|(topic, heading, text)| {
                let (title, marked) = heading_locale(&heading);
                let locale = marked.or_else(|| detect(title)).unwrap_or(Locale::En);
                let words = tokens(&format!("{title}\n{text}"));
                let mut term_freq = HashMap::new();
                for word in &words {
                    *term_freq.entry(word.clone()).or_insert(0) += 1;
                }
                Section { topic, locale, answer: text.trim().to_owned(), term_freq, len: words.len() }
            })
            .filter(|s| !s.answer.is_empty())
            .collect();
        let mut doc_freq = HashMap::new();
        for section in &sections {
            for word in section.term_freq.keys() {
                *doc_freq.entry(word.clone()).or_insert(0) += 1;
            }
        }
        let avg_len = sections.iter().map(|s| s.len as f64).sum::<f64>() / sections.len().max(1) as f64;
        KnowledgeBase { sections, doc_freq, avg_len }
    }

    fn idf(&self, doc_freq: u32) -> f64 {
        let (n, df) = (self.sections.len() as f64, f64::from(doc_freq));
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn score(&self, section: &Section, query: &[String]) -> f64 {
        query
            .iter()
            .filter_map(|word| {
                let tf = f64::from(*section.term_freq.get(word)?);
                let idf = self.idf(self.doc_freq.get(word).copied().unwrap_or(0));
                let norm = 1.0 - B + B * section.len as f64 / self.avg_len.max(1.0);
                Some(idf * tf * (K1 + 1.0) / (tf + K1 * norm))
            })
            .sum()
    }

    /// The answer to `question`; `fallback` is the message's locale, for
    /// when neither the question's letters nor a match tell the language.
    pub fn reply(&self, question: &str, fallback: Locale) -> Reply {
        let query = tokens(question);
        let written_in = detect(question);
        let best = self.sections.iter().map(|s| (s, self.score(s, &query))).fold(
            None,
            |best: Option<(&Section, f64)>, (s, score)| match best {
                Some((_, top)) if top >= score => best,
                _ => Some((s, score)),
            },
        );
        match best {
            Some((best, score)) if score >= MIN_MATCH * self.idf(1) => {
                let locale = written_in.unwrap_or(best.locale);
                let section =
                    self.sections.iter().find(|s| s.topic == best.topic && s.locale == locale).unwrap_or(best);
                Reply { locale: section.locale, text: section.answer.clone(), handoff: false }
            }
            _ => {
                let locale = written_in.unwrap_or(fallback);
                Reply { locale, text: handoff_text(locale).to_owned(), handoff: true }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: &str = "\
# Shipping
## Shipping times and costs {en}
Parcels ship within 2 business days. Delivery is free over 50 EUR.
## الشحن ومدة التوصيل {ar}
نشحن الطلبات خلال يومي عمل. التوصيل مجاني للطلبات فوق 50 يورو.
## Kargo ve teslimat süresi {tr}
Siparişler 2 iş günü içinde kargoya verilir. 50 EUR üzeri kargo ücretsizdir.

# Returns
## Returns and refunds {en}
Return any item within 30 days for a full refund from the Orders page.
## الإرجاع واسترداد المبلغ {ar}
يمكنك إرجاع أي منتج خلال 30 يومًا واسترداد المبلغ كاملًا من صفحة الطلبات.
## İade ve para iadesi {tr}
Ürünleri 30 gün içinde iade edebilir, ücretinizi Siparişlerim sayfasından geri alabilirsiniz.

# Order status
## Where is my order? {en}
Track your order with the tracking link in your confirmation email.
## أين طلبي؟ {ar}
تتبّع طلبك عبر رابط التتبع في بريد التأكيد الإلكتروني.
## Siparişim nerede? {tr}
Siparişinizi onay e-postasındaki takip bağlantısıyla izleyebilirsiniz.
";

    fn ask(question: &str, fallback: Locale) -> Reply {
        KnowledgeBase::parse(KB).reply(question, fallback)
    }

    #[test]
    fn english_questions_get_the_english_section() {
        let reply = ask("How much does shipping cost?", Locale::En);
        assert_eq!((reply.locale, reply.handoff), (Locale::En, false));
        assert!(reply.text.starts_with("Parcels ship"), "{}", reply.text);
        assert!(ask("I want to RETURN these shoes, refund please", Locale::En).text.starts_with("Return any item"));
        assert!(ask("tracking my order", Locale::En).text.starts_with("Track your order"));
    }

    #[test]
    fn arabic_questions_get_the_arabic_section_whatever_the_ui_locale() {
        let reply = ask("كيف يمكنني إرجاع المنتج؟", Locale::En);
        assert_eq!(reply.locale, Locale::Ar);
        assert!(reply.text.starts_with("يمكنك إرجاع"), "{}", reply.text);
        let reply = ask("متى يصل الشَّحن؟", Locale::Ar);
        assert!(reply.text.starts_with("نشحن"), "{}", reply.text);
    }

    #[test]
    fn turkish_questions_get_the_turkish_section_through_suffixes_and_capitals() {
        let reply = ask("SİPARİŞİM NEREDE?", Locale::En);
        assert_eq!(reply.locale, Locale::Tr);
        assert!(reply.text.starts_with("Siparişinizi"), "{}", reply.text);
        // No Turkish-only letters: the matching section tells the language.
        let reply = ask("iade etmek istiyorum", Locale::En);
        assert_eq!(reply.locale, Locale::Tr);
        assert!(reply.text.starts_with("Ürünleri 30 gün"), "{}", reply.text);
    }

    #[test]
    fn a_topic_without_the_visitor_s_language_answers_in_the_one_it_has() {
        let kb = KnowledgeBase::parse(&format!("{KB}\n# Gift cards\n## Gift cards {{en}}\nGift cards never expire.\n"));
        let reply = kb.reply("gift cards ne zaman geçersiz olur?", Locale::Tr);
        assert_eq!((reply.locale, reply.text.as_str()), (Locale::En, "Gift cards never expire."));
    }

    #[test]
    fn below_the_threshold_a_person_is_promised_in_the_visitor_s_language() {
        for (question, locale) in [
            ("Hello, how are you?", Locale::En),
            ("Do you sell bicycles?", Locale::En),
            ("هل تبيعون الدراجات؟", Locale::Ar),
            ("Bisiklet satıyor musunuz?", Locale::Tr),
        ] {
            let reply = ask(question, Locale::En);
            assert!(reply.handoff, "{question} matched: {}", reply.text);
            assert_eq!((reply.locale, reply.text.as_str()), (locale, handoff_text(locale)), "{question}");
        }
        assert!(KnowledgeBase::parse("").reply("shipping", Locale::Tr).handoff);
    }

    #[test]
    fn one_distinctive_word_answers_in_a_small_base_too() {
        let kb = KnowledgeBase::parse(
            "# A\n## Shipping {en}\nParcels leave in 2 days.\n# B\n## Returns {en}\nWithin 30 days.\n",
        );
        assert!(kb.reply("shipping?", Locale::En).text.starts_with("Parcels"));
        assert!(kb.reply("days", Locale::En).handoff, "a word every section has");
    }
}
