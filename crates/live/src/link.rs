//! The link supervisor's bookkeeping: whether a venue's link is up, how long to wait before the
//! next attempt (capped exponential backoff with jitter), and what to log. A venue that refuses
//! connections costs one attempt per backoff step, one warning when the link goes down, and a
//! reminder at most every `reminder_every`: it neither spins a core nor floods the log.

use std::time::{Duration, Instant};

use crate::venue::Venue;

/// Capped exponential backoff with jitter: attempt `n` waits a uniform time in
/// `[d/2, d]` with `d = min(max, initial * 2^n)` (jitter spreads the reconnects of many
/// clients after a venue-wide outage; the half floor keeps the cap meaningful).
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff from `initial` doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        Self {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32 << self.attempt.min(20);
        let ceiling = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64: jitter needs spread, not quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(0.5 + 0.5 * unit)
    }

    /// Back to `initial` (after a connection that delivered data).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Link state and its log lines.
#[derive(Debug)]
pub struct LinkLog {
    venue: Venue,
    up: Option<bool>,
    down_since: Instant,
    failures: u64,
    last_reminder: Instant,
    reminder_every: Duration,
}

impl LinkLog {
    /// A link that has not been judged yet.
    pub fn new(venue: Venue, reminder_every: Duration) -> Self {
        let now = Instant::now();
        Self {
            venue,
            up: None,
            down_since: now,
            failures: 0,
            last_reminder: now,
            reminder_every,
        }
    }

    /// Records that the link is up; returns whether that is a change.
    pub fn up(&mut self) -> bool {
        if self.up == Some(true) {
            return false;
        }
        if self.up == Some(false) {
            tracing::info!(
                venue = %self.venue,
                "market data link up again after {:.1} s and {} failed attempts",
                self.down_since.elapsed().as_secs_f64(),
                self.failures
            );
        } else {
            tracing::info!(venue = %self.venue, "market data link up");
        }
        self.up = Some(true);
        self.failures = 0;
        true
    }

    /// Records a failure (`why`); returns whether the link changed from up to down (a link that
    /// never came up is down from the start).
    pub fn down(&mut self, why: &str) -> bool {
        let now = Instant::now();
        if self.up != Some(false) {
            let changed = self.up == Some(true);
            if changed {
                tracing::warn!(venue = %self.venue, "market data link down: {why}; reconnecting with backoff");
            } else {
                tracing::warn!(venue = %self.venue, "market data link cannot connect: {why}; retrying with backoff");
            }
            self.up = Some(false);
            self.down_since = now;
            self.last_reminder = now;
            self.failures = 1;
            return changed;
        }
        self.failures += 1;
        if now.duration_since(self.last_reminder) >= self.reminder_every {
            self.last_reminder = now;
            tracing::warn!(
                venue = %self.venue,
                "market data link still down after {:.0} s and {} attempts; last error: {why}",
                now.duration_since(self.down_since).as_secs_f64(),
                self.failures
            );
        } else {
            tracing::debug!(venue = %self.venue, "market data link attempt failed: {why}");
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        let ceilings = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
        for (d, c) in delays.iter().zip(ceilings) {
            let c = Duration::from_millis(c);
            assert!(*d >= c / 2 && *d <= c, "{d:?} not in [{:?}, {c:?}]", c / 2);
        }
        assert!(delays[4..].windows(2).any(|w| w[0] != w[1]), "jitter");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn only_state_changes_are_reported() {
        let mut log = LinkLog::new(Venue::Binance, Duration::from_secs(60));
        assert!(!log.down("refused"), "down from the start");
        assert!(!log.down("refused"));
        assert!(log.up());
        assert!(!log.up());
        assert!(log.down("closed"));
    }
}
