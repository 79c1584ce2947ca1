//! `Range: bytes=…` for one range, as players and resumed downloads ask.
//! Several ranges in one request are answered with the whole file, as RFC
//! 9110 allows.

/// What to send of a file of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    Full,
    /// Bytes `start..=end`.
    Partial {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

impl Ranged {
    /// `header` is the Range header's value, if any. A header that doesn't
    /// parse is ignored, as the RFC says.
    pub fn of(header: Option<&str>, size: u64) -> Ranged {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Ranged::Full };
        if spec.contains(',') {
            return Ranged::Full;
        }
        let Some((first, last)) = spec.trim().split_once('-') else { return Ranged::Full };
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
        };
        match (first.trim().is_empty(), last.trim().is_empty()) {
            // bytes=-n: the last n bytes.
            (true, false) => match number(last) {
                Some(0) => Ranged::Unsatisfiable,
                Some(_) if size == 0 => Ranged::Unsatisfiable,
                Some(n) => Ranged::Partial { start: size - n.min(size), end: size - 1 },
                None => Ranged::Full,
            },
            // bytes=a-: from a to the end.
            (false, true) => match number(first) {
                Some(start) if start >= size => Ranged::Unsatisfiable,
                Some(start) => Ranged::Partial { start, end: size - 1 },
                None => Ranged::Full,
            },
            (false, false) => match (number(first), number(last)) {
                (Some(start), Some(end)) if start > end => Ranged::Full,
                (Some(start), Some(_)) if start >= size => Ranged::Unsatisfiable,
                (Some(start), Some(end)) => Ranged::Partial { start, end: end.min(size - 1) },
                _ => Ranged::Full,
            },
            (true, true) => Ranged::Full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms() {
        assert_eq!(Ranged::of(Some("bytes=0-9"), 100), Ranged::Partial { start: 0, end: 9 });
        assert_eq!(Ranged::of(Some("bytes=90-"), 100), Ranged::Partial { start: 90, end: 99 });
        assert_eq!(Ranged::of(Some("bytes=-10"), 100), Ranged::Partial { start: 90, end: 99 });
        assert_eq!(Ranged::of(Some("bytes=95-200"), 100), Ranged::Partial { start: 95, end: 99 });
        assert_eq!(Ranged::of(Some("bytes=-500"), 100), Ranged::Partial { start: 0, end: 99 });
    }

    #[test]
    fn out_of_the_file_is_unsatisfiable() {
        assert_eq!(Ranged::of(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(Ranged::of(Some("bytes=100-200"), 100), Ranged::Unsatisfiable);
        assert_eq!(Ranged::of(Some("bytes=-0"), 100), Ranged::Unsatisfiable);
        assert_eq!(Ranged::of(Some("bytes=-5"), 0), Ranged::Unsatisfiable);
        assert_eq!(Ranged::of(Some("bytes=0-"), 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn what_does_not_parse_gets_the_whole_file() {
        for header in [
            None,
            Some("items=0-1"),
            Some("bytes=5-1"),
            Some("bytes=a-b"),
            Some("bytes=-"),
            Some("bytes=0-1,5-6"),
            Some("bytes=+1-2"),
        ] {
            assert_eq!(Ranged::of(header, 100), Ranged::Full, "{header:?}");
        }
    }
}
