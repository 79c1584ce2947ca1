//! Timestamps as the store and the wire carry them.

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC with exactly three fraction digits, so that text order is time order.
const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

pub fn format(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(RFC3339_MILLIS).expect("every UTC date of this era formats")
}

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_in_utc() {
        let at = time::macros::datetime!(2026-11-24 16:20:01.5 +02:00);
        assert_eq!(format(at), "2026-11-24T14:20:01.500Z");
    }
}
