//! When to poll for new messages: often while the conversation is active,
//! less and less often while it is idle.

/// The delay before the next poll, doubling from `min_ms` to `max_ms` while
/// polls bring nothing new, back to `min_ms` on any activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min_ms: u32,
    max_ms: u32,
    current_ms: u32,
}

/// What a poll (or the visitor) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New messages arrived, or the visitor sent one.
    Activity,
    /// Nothing new.
    Idle,
    /// The poll failed; wait as if idle.
    Failed,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(2_000, 30_000)
    }
}

impl Backoff {
    pub fn new(min_ms: u32, max_ms: u32) -> Self {
        assert!(0 < min_ms && min_ms <= max_ms);
        Backoff { min_ms, max_ms, current_ms: min_ms }
    }

    /// The delay after `outcome`.
    pub fn next(&mut self, outcome: Outcome) -> u32 {
        match outcome {
            Outcome::Activity => self.current_ms = self.min_ms,
            Outcome::Idle | Outcome::Failed => {}
        }
        let delay = self.current_ms;
        self.current_ms = self.current_ms.saturating_mul(2).min(self.max_ms);
        delay
    }

    /// Starts again from the shortest delay (e.g. the tab became visible).
    pub fn reset(&mut self) {
        self.current_ms = self.min_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_polls_back_off_up_to_the_maximum() {
        let mut b = Backoff::default();
        let delays: Vec<u32> = (0..7).map(|_| b.next(Outcome::Idle)).collect();
        assert_eq!(delays, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    }

    #[test]
    fn activity_starts_again_from_the_minimum() {
        let mut b = Backoff::default();
        b.next(Outcome::Idle);
        b.next(Outcome::Failed);
        assert_eq!(b.next(Outcome::Idle), 8_000);
        assert_eq!(b.next(Outcome::Activity), 2_000);
        assert_eq!(b.next(Outcome::Idle), 4_000);
        b.reset();
        assert_eq!(b.next(Outcome::Idle), 2_000);
    }
}
