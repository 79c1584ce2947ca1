//! When the conversation's event stream is opened again, and when the
//! widget polls instead: a stream that ends is reopened at once (jittered,
//! so that a restarted server is not met by every widget in the same
//! instant); failures back off; a stream that can't be held (failing again
//! and again, or silent: a proxy that buffers) gives way to polling for a
//! while, then is tried again.

/// No byte this long after asking: something buffers the stream (the
/// server starts every stream with a comment at once).
pub const FIRST_BYTE_MS: u32 = 5_000;
/// A hidden tab keeps its stream this long, then closes it (reopened, from
/// where it was, when the tab is shown).
pub const HIDDEN_CLOSE_MS: u32 = 60_000;
/// While polling instead, the stream is tried again after this long.
pub const RETRY_STREAM_MS: u32 = 60_000;
/// A stream held this long counted as held: failures start again from none.
const HELD_MS: f64 = 10_000.0;
/// Failures in a row before polling instead.
const MAX_FAILURES: u32 = 3;
/// The delay before reopening, doubling with each failure up to the maximum.
const MIN_DELAY_MS: u32 = 1_000;
const MAX_DELAY_MS: u32 = 30_000;

/// How a stream ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ended {
    /// Its first bytes came; it was held this long, then it ended or broke.
    Held { ms: f64 },
    /// It failed before its first byte (unreachable, refused).
    Failed,
    /// The answer came, or not, but no byte in [`FIRST_BYTE_MS`].
    Silent,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Open the stream again after this many ms, from the last event.
    Reopen(u32),
    /// Poll instead; try the stream again after this many ms.
    Poll(u32),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconnect {
    failures: u32,
}

impl Reconnect {
    /// The plan after a stream `ended`; `jitter` in `[0, 1)` picks the delay
    /// within the upper half of the current one.
    pub fn next(&mut self, ended: Ended, jitter: f64) -> Plan {
        match ended {
            Ended::Held { ms } if ms >= HELD_MS => self.failures = 0,
            // Cut short again and again is as bad as never held.
            Ended::Held { .. } | Ended::Failed => self.failures += 1,
            Ended::Silent => self.failures = MAX_FAILURES,
        }
        if self.failures >= MAX_FAILURES {
            self.failures = 0;
            return Plan::Poll(RETRY_STREAM_MS);
        }
        let delay = MIN_DELAY_MS.saturating_mul(1 << self.failures).min(MAX_DELAY_MS);
        let jitter = jitter.clamp(0.0, 1.0);
        Plan::Reopen(delay / 2 + (f64::from(delay / 2) * jitter) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELD: Ended = Ended::Held { ms: 60_000.0 };

    #[test]
    fn a_held_stream_that_ends_reopens_within_a_second_spread_by_jitter() {
        let mut r = Reconnect::default();
        assert_eq!(r.next(HELD, 0.0), Plan::Reopen(500));
        assert_eq!(r.next(HELD, 0.999), Plan::Reopen(999));
        assert_eq!(r.next(HELD, 0.5), Plan::Reopen(750), "held: no failure counted");
    }

    #[test]
    fn failures_back_off_then_polling_takes_over_and_the_stream_is_tried_again() {
        let mut r = Reconnect::default();
        assert_eq!(r.next(Ended::Failed, 1.0), Plan::Reopen(2_000));
        assert_eq!(r.next(Ended::Failed, 0.0), Plan::Reopen(2_000));
        assert_eq!(r.next(Ended::Failed, 0.0), Plan::Poll(RETRY_STREAM_MS));
        // The next try starts from the shortest delay again.
        assert_eq!(r.next(Ended::Failed, 0.0), Plan::Reopen(1_000));
        assert_eq!(r.next(HELD, 0.0), Plan::Reopen(500));
    }

    #[test]
    fn a_stream_cut_short_again_and_again_counts_as_failing() {
        let mut r = Reconnect::default();
        let short = Ended::Held { ms: 200.0 };
        assert_eq!(r.next(short, 0.0), Plan::Reopen(1_000));
        assert_eq!(r.next(short, 0.0), Plan::Reopen(2_000));
        assert_eq!(r.next(short, 0.0), Plan::Poll(RETRY_STREAM_MS));
    }

    #[test]
    fn a_silent_stream_means_a_proxy_buffers_it_so_polling_at_once() {
        let mut r = Reconnect::default();
        assert_eq!(r.next(Ended::Silent, 0.3), Plan::Poll(RETRY_STREAM_MS));
        assert_eq!(r.next(Ended::Failed, 0.0), Plan::Reopen(1_000));
    }

    #[test]
    fn jitter_out_of_range_is_clamped() {
        let mut r = Reconnect::default();
        assert_eq!(r.next(HELD, -3.0), Plan::Reopen(500));
        assert_eq!(r.next(HELD, 7.0), Plan::Reopen(1_000));
    }
}
