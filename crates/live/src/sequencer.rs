//! The candle sequencer: turns a venue's stream of candle updates into closed candles, each once,
//! in time order, and says what to do with everything else (a duplicate, one out of order, a
//! still-forming candle, a gap to be filled over REST). One per subscribed symbol; no I/O, so
//! every rule is tested here without a socket.

use crate::candle::Candle;

/// What became of one streamed candle update.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// A closed candle, next in order: hand it to the strategies.
    Emit(Candle),
    /// A closed candle after a hole: fetch the closed candles with open times `from_ms..=to_ms`
    /// over REST, pass them to [`Sequencer::accept_history`], then `then` the same way.
    Fill {
        /// First missing open time.
        from_ms: i64,
        /// Last missing open time.
        to_ms: i64,
        /// The candle that revealed the hole.
        then: Candle,
    },
    /// A candle still forming; nothing reaches a strategy.
    Partial,
    /// The closed candle that was already handed on.
    Duplicate,
    /// A candle older than the last one handed on (or not on the interval grid).
    OutOfOrder,
    /// Prices that do not make a candle (NaN, negative, high below low, ...).
    Malformed,
}

/// Sequences one symbol's candles.
#[derive(Clone, Debug)]
pub struct Sequencer {
    interval_ms: i64,
    /// Open time of the last candle handed on.
    last_emitted_ms: Option<i64>,
    /// For venues without a closed flag: the candle forming now.
    forming: Option<Candle>,
}

impl Sequencer {
    /// A sequencer for candles `interval_ms` apart.
    pub fn new(interval_ms: i64) -> Self {
        Self {
            interval_ms,
            last_emitted_ms: None,
            forming: None,
        }
    }

    /// Open time of the last candle handed on, if any.
    pub fn last_emitted_ms(&self) -> Option<i64> {
        self.last_emitted_ms
    }

    /// Forgets the forming candle (after a reconnect its last updates may be lost; REST history
    /// brings it back once it has closed).
    pub fn reset_forming(&mut self) {
        self.forming = None;
    }

    /// Judges one streamed update. `closed` is the venue's flag (`Some`) or `None` for a venue
    /// that closes a candle by sending a later one.
    pub fn on_stream(&mut self, candle: Candle, closed: Option<bool>) -> Verdict {
        if !candle.is_consistent() {
            return Verdict::Malformed;
        }
        match closed {
            Some(false) => Verdict::Partial,
            Some(true) => self.order(candle),
            None => {
                if self
                    .last_emitted_ms
                    .is_some_and(|last| candle.open_time_ms <= last)
                {
                    return self.order(candle);
                }
                match &self.forming {
                    None => {
                        self.forming = Some(candle);
                        Verdict::Partial
                    }
                    Some(f) if candle.open_time_ms == f.open_time_ms => {
                        self.forming = Some(candle);
                        Verdict::Partial
                    }
                    Some(f) if candle.open_time_ms > f.open_time_ms => {
                        match self.forming.replace(candle) {
                            Some(closed) => self.order(closed),
                            None => Verdict::Partial,
                        }
                    }
                    Some(_) => Verdict::OutOfOrder,
                }
            }
        }
    }

    fn order(&mut self, candle: Candle) -> Verdict {
        let t = candle.open_time_ms;
        let Some(last) = self.last_emitted_ms else {
            self.last_emitted_ms = Some(t);
            return Verdict::Emit(candle);
        };
        if t == last {
            Verdict::Duplicate
        } else if t < last || (t - last) % self.interval_ms != 0 {
            Verdict::OutOfOrder
        } else if t == last + self.interval_ms {
            self.last_emitted_ms = Some(t);
            Verdict::Emit(candle)
        } else {
            Verdict::Fill {
                from_ms: last + self.interval_ms,
                to_ms: t - self.interval_ms,
                then: candle,
            }
        }
    }

    /// Takes a candle from REST history (warm-up, reconnect or gap fill) or the candle after a
    /// fill: returns it if it is closed at `now_ms`, consistent and later than the last one handed
    /// on (REST pages overlap; the overlap is not an error).
    pub fn accept_history(&mut self, candle: Candle, now_ms: i64) -> Option<Candle> {
        let t = candle.open_time_ms;
        let closed = t + self.interval_ms <= now_ms;
        let later = self.last_emitted_ms.is_none_or(|last| t > last);
        if closed && later && candle.is_consistent() {
            self.last_emitted_ms = Some(t);
            if self.forming.as_ref().is_some_and(|f| f.open_time_ms <= t) {
                self.forming = None;
            }
            Some(candle)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn c(i: i64, close: f64) -> Candle {
        Candle {
            open_time_ms: i * MIN,
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn flagged_candles_pass_once_in_order_and_the_rest_is_judged() {
        let mut s = Sequencer::new(MIN);
        assert_eq!(s.on_stream(c(1, 10.0), Some(false)), Verdict::Partial);
        assert_eq!(
            s.on_stream(c(1, 11.0), Some(true)),
            Verdict::Emit(c(1, 11.0))
        );
        assert_eq!(s.on_stream(c(1, 11.0), Some(true)), Verdict::Duplicate);
        assert_eq!(
            s.on_stream(c(2, 12.0), Some(true)),
            Verdict::Emit(c(2, 12.0))
        );
        assert_eq!(s.on_stream(c(1, 11.0), Some(true)), Verdict::OutOfOrder);
        assert_eq!(
            s.on_stream(c(6, 16.0), Some(true)),
            Verdict::Fill {
                from_ms: 3 * MIN,
                to_ms: 5 * MIN,
                then: c(6, 16.0)
            }
        );
        let mut nan = c(7, 1.0);
        nan.close = f64::NAN;
        assert_eq!(s.on_stream(nan, Some(true)), Verdict::Malformed);
    }

    #[test]
    fn a_candle_without_a_flag_closes_when_a_later_one_arrives() {
        let mut s = Sequencer::new(MIN);
        assert_eq!(s.on_stream(c(1, 10.0), None), Verdict::Partial);
        assert_eq!(s.on_stream(c(1, 10.5), None), Verdict::Partial);
        assert_eq!(s.on_stream(c(2, 11.0), None), Verdict::Emit(c(1, 10.5)));
        assert_eq!(s.on_stream(c(1, 10.7), None), Verdict::Duplicate);
        assert_eq!(s.on_stream(c(2, 11.5), None), Verdict::Partial);
        assert_eq!(s.on_stream(c(0, 9.0), None), Verdict::OutOfOrder);
        assert_eq!(s.on_stream(c(5, 14.0), None), Verdict::Emit(c(2, 11.5)));
        assert_eq!(
            s.on_stream(c(6, 15.0), None),
            Verdict::Fill {
                from_ms: 3 * MIN,
                to_ms: 4 * MIN,
                then: c(5, 14.0)
            }
        );
        assert_eq!(s.accept_history(c(3, 12.0), 10 * MIN), Some(c(3, 12.0)));
        assert_eq!(s.accept_history(c(4, 13.0), 10 * MIN), Some(c(4, 13.0)));
        assert_eq!(s.accept_history(c(5, 14.0), 10 * MIN), Some(c(5, 14.0)));
        // The forming candle (6) survives the fill and closes on the next one.
        assert_eq!(s.on_stream(c(7, 16.0), None), Verdict::Emit(c(6, 15.0)));
    }

    #[test]
    fn history_is_taken_when_closed_new_and_sane() {
        let c = |i, _| c(i, 10.0);
        let mut s = Sequencer::new(MIN);
        assert_eq!(s.accept_history(c(1, 1.0), 2 * MIN), Some(c(1, 1.0)));
        assert_eq!(s.accept_history(c(1, 1.0), 2 * MIN), None, "overlap");
        assert_eq!(
            s.accept_history(c(2, 1.0), 2 * MIN + 59_999),
            None,
            "still forming"
        );
        assert_eq!(s.accept_history(c(2, 1.0), 3 * MIN), Some(c(2, 1.0)));
        assert_eq!(s.last_emitted_ms(), Some(2 * MIN));
    }
}
