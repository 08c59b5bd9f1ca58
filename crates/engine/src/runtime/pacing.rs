//! Wall pacing of the market clock: when each queued event is due in wall time, what market
//! time a command arriving now takes effect at, and the clock slips when the engine falls
//! behind. The only place besides the thread loop that reads `Instant`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::report::events::{EngineEvent, EventSink};
use crate::sim::Now;

/// A paced event later than this (and than [`MAX_LAG_BARS`] bar intervals) means the engine
/// cannot keep up: the market clock slips instead of trying to catch up.
const MAX_LAG: Duration = Duration::from_secs(1);

/// See [`MAX_LAG`].
const MAX_LAG_BARS: f64 = 4.0;

/// At most one overload warning per this much wall time (the rest are summed into the next).
const OVERLOAD_WARN_EVERY: Duration = Duration::from_secs(10);

/// How often and how far the paced market clock slipped because the engine fell behind.
#[derive(Debug, Default)]
pub(crate) struct Overload {
    pub(crate) slips: u64,
    pub(crate) slipped_ms: i64,
    warned_at: Option<Instant>,
    unwarned_slips: u64,
    unwarned_ms: i64,
}

/// See the module header.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// Whether the market clock follows wall time at all (off: flat out).
    pub(crate) pacing: bool,
    speed_ms: f64,
    interval_ms: i64,
    start_market_ms: i64,
    start_wall: Instant,
    pub(crate) overload: Overload,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Pacer {
    /// Starts the wall clock at market time `start_market_ms`.
    pub(crate) fn new(pacing: bool, speed_ms: f64, interval_ms: i64, start_market_ms: i64) -> Self {
        Self {
            pacing,
            speed_ms,
            interval_ms,
            start_market_ms,
            start_wall: Instant::now(),
            overload: Overload::default(),
        }
    }

    /// The current time as the simulation needs it.
    pub(crate) fn now(&self) -> Now {
        Now {
            paced_market_ms: self.pacing.then(|| self.paced_market_ms()),
            wall_ms: wall_ms(),
        }
    }

    fn paced_market_ms(&self) -> i64 {
        self.start_market_ms + (self.start_wall.elapsed().as_secs_f64() * self.speed_ms) as i64
    }

    /// Wall instant at which market time `t` is due.
    pub(crate) fn deadline(&self, t: i64) -> Instant {
        let secs = ((t - self.start_market_ms) as f64 / self.speed_ms).max(0.0);
        self.start_wall + Duration::from_secs_f64(secs)
    }

    /// Market ms the event due at `next` trails the wall-paced clock (0 unpaced or on time).
    pub(crate) fn lag_ms(&self, next: Option<i64>) -> i64 {
        if !self.pacing {
            return 0;
        }
        match next {
            Some(next) => (self.paced_market_ms() - next).max(0),
            None => 0,
        }
    }

    /// Paced: if the event at market time `t` runs later than [`MAX_LAG`] (and
    /// [`MAX_LAG_BARS`] bars) behind its wall deadline, the engine is overloaded. Instead of
    /// catching up in a burst (and queueing ever more while it does), the market clock slips:
    /// the rest of the simulation moves later in wall time. What happens is unchanged, only
    /// when. Slips are counted and reported ([`EngineEvent::ClockSlipped`]) and logged as a
    /// warning at most every [`OVERLOAD_WARN_EVERY`].
    pub(crate) fn keep_up(&mut self, t: i64, sink: &dyn EventSink, queued: usize, open: usize) {
        let now = Instant::now();
        let Some(late) = now.checked_duration_since(self.deadline(t)) else {
            return;
        };
        let bars =
            Duration::from_secs_f64((self.interval_ms as f64 / self.speed_ms) * MAX_LAG_BARS);
        if late <= MAX_LAG.max(bars) {
            return;
        }
        self.start_wall += late;
        sink.on_event(&EngineEvent::ClockSlipped);
        let ms = (late.as_secs_f64() * self.speed_ms) as i64;
        let o = &mut self.overload;
        o.slips += 1;
        o.slipped_ms += ms;
        o.unwarned_slips += 1;
        o.unwarned_ms += ms;
        if o.warned_at
            .is_none_or(|w| w.elapsed() >= OVERLOAD_WARN_EVERY)
        {
            tracing::warn!(
                behind_wall_ms = late.as_millis() as u64,
                slips = o.unwarned_slips,
                slipped_market_ms = o.unwarned_ms,
                total_slipped_market_ms = o.slipped_ms,
                queued_events = queued,
                open_orders = open,
                "engine overloaded: it fell behind the wall clock, so the market clock slipped \
                 (bars come later than the configured clock speed; nothing is skipped)"
            );
            o.warned_at = Some(now);
            o.unwarned_slips = 0;
            o.unwarned_ms = 0;
        }
    }
}
