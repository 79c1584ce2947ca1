//! How long ago something happened, as the conversation list says it.

/// An age, rounded down to the unit the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ago {
    /// Under a minute (or a clock a little ahead).
    Now,
    Minutes(u64),
    Hours(u64),
    Days(u64),
    /// A week or more: the date is shown.
    Long,
}

const MINUTE: f64 = 60_000.0;

/// The age of `then_ms` at `now_ms` (milliseconds since the epoch).
pub fn ago(now_ms: f64, then_ms: f64) -> Ago {
    let minutes = ((now_ms - then_ms) / MINUTE).floor();
    // NaN (an unreadable time) is no age either.
    if minutes.is_nan() || minutes < 1.0 {
        return Ago::Now;
    }
    match minutes {
        m if m < 60.0 => Ago::Minutes(m as u64),
        m if m < 60.0 * 24.0 => Ago::Hours((m / 60.0) as u64),
        m if m < 60.0 * 24.0 * 7.0 => Ago::Days((m / (60.0 * 24.0)) as u64),
        _ => Ago::Long,
    }
}

impl Ago {
    /// Short text for the list; `None` for [`Ago::Long`] (the date then).
    pub fn short(self) -> Option<String> {
        Some(match self {
            Ago::Now => "now".to_owned(),
            Ago::Minutes(n) => format!("{n} min"),
            Ago::Hours(n) => format!("{n} h"),
            Ago::Days(n) => format!("{n} d"),
            Ago::Long => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_round_down_to_their_unit() {
        let now = 1_000_000_000_000.0;
        assert_eq!(ago(now, now + 5_000.0), Ago::Now, "a clock ahead is now");
        assert_eq!(ago(now, now - 59_999.0), Ago::Now);
        assert_eq!(ago(now, now - 60_000.0), Ago::Minutes(1));
        assert_eq!(ago(now, now - 59.0 * MINUTE), Ago::Minutes(59));
        assert_eq!(ago(now, now - 60.0 * MINUTE), Ago::Hours(1));
        assert_eq!(ago(now, now - 47.0 * 60.0 * MINUTE), Ago::Days(1));
        assert_eq!(ago(now, now - 7.0 * 24.0 * 60.0 * MINUTE), Ago::Long);
        assert_eq!(ago(now, f64::NAN), Ago::Now, "an unreadable time is not an age");
        assert_eq!(Ago::Minutes(5).short().as_deref(), Some("5 min"));
        assert_eq!(Ago::Long.short(), None);
    }
}
