//! Simple moving average crossover (docs/statistics.md §10), decided at each bar's close.

use super::window::{sum_oldest_first, Window};
use super::{Ctx, Intent, Mode, Strategy};
use crate::domain::bars::Bar;

/// Goes long when the fast SMA of the close crosses above the slow one and short (long-short)
/// or flat (long-only) when it crosses below.
///
/// A cross is strict on both sides: up means `fast[t-1] < slow[t-1]` and `fast[t] > slow[t]`.
/// An SMA has a value only once its window is full, so the first possible cross is at the bar
/// after the slow window first fills (backtesting.py's `crossover` on NaN-padded SMAs).
#[derive(Clone, Debug)]
pub struct SmaCross {
    fast: usize,
    slow: usize,
    mode: Mode,
    qty: f64,
    closes: Window,
    prev: Option<(f64, f64)>,
}

impl SmaCross {
    /// A fresh instance; `fast` and `slow` are window lengths in bars, `qty` the position size.
    pub fn new(fast: usize, slow: usize, mode: Mode, qty: f64) -> Self {
        Self {
            fast,
            slow,
            mode,
            qty,
            closes: Window::new(fast.max(slow)),
            prev: None,
        }
    }

    /// The fast and slow means of the last closes, each summed oldest first (no running-sum
    /// drift, so equal prices give exactly equal averages and never a spurious cross). The
    /// shorter window is the tail of the longer one, so one pass feeds both sums: their two
    /// chains of additions run side by side instead of one after the other.
    fn smas(&self) -> Option<(f64, f64)> {
        if self.fast == 0 || self.slow == 0 {
            return None;
        }
        let (long, short) = (self.fast.max(self.slow), self.fast.min(self.slow));
        let (head, tail) = self.closes.last(long)?.split_at(long - short);
        let mut long_sum = sum_oldest_first(head);
        let mut short_sum = -0.0;
        for close in tail {
            long_sum += close;
            short_sum += close;
        }
        let (fast_sum, slow_sum) = if self.fast <= self.slow {
            (short_sum, long_sum)
        } else {
            (long_sum, short_sum)
        };
        Some((fast_sum / self.fast as f64, slow_sum / self.slow as f64))
    }
}

impl Strategy for SmaCross {
    fn on_bar(&mut self, ctx: &Ctx, bar: &Bar) -> Vec<Intent> {
        self.decide(bar, ctx.position)
            .map(|qty| Intent::Target { qty })
            .into_iter()
            .collect()
    }
}

impl SmaCross {
    /// The position it wants to hold after `bar`, given the one it holds (`None`: no change).
    pub fn decide(&mut self, bar: &Bar, position: f64) -> Option<f64> {
        self.closes.push(bar.close);
        let now = match self.smas() {
            Some((f, s)) if f.is_finite() && s.is_finite() => (f, s),
            _ => {
                self.prev = None;
                return None;
            }
        };
        let prev = self.prev.replace(now);
        let (pf, ps) = prev?;
        let (f, s) = now;
        let target = if pf < ps && f > s {
            self.qty
        } else if pf > ps && f < s {
            match self.mode {
                Mode::LongShort => -self.qty,
                Mode::LongOnly if position > 0.0 => 0.0,
                Mode::LongOnly => return None,
            }
        } else {
            return None;
        };
        (target != position).then_some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &mut SmaCross, closes: &[f64]) -> Vec<Option<f64>> {
        let mut pos = 0.0;
        closes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let bar = Bar {
                    time_ms: i as i64,
                    open: *c,
                    high: *c,
                    low: *c,
                    close: *c,
                    volume: 0.0,
                };
                let d = s.decide(&bar, pos);
                if let Some(t) = d {
                    pos = t;
                }
                d
            })
            .collect()
    }

    #[test]
    fn no_cross_before_both_windows_are_full() {
        // fast 1, slow 3: the first comparison exists at t2, the first possible cross at t3.
        // t2: fast 1 < slow 2; t3: fast 9 > slow (2+1+9)/3 = 4 → up.
        let mut s = SmaCross::new(1, 3, Mode::LongShort, 1.0);
        assert_eq!(
            feed(&mut s, &[3.0, 2.0, 1.0, 9.0]),
            [None, None, None, Some(1.0)]
        );
        // Fast above slow at the first bar where both exist (t2: 9 > 19/3) is not a cross:
        // there is no earlier comparison to cross from.
        let mut s = SmaCross::new(1, 3, Mode::LongShort, 1.0);
        assert_eq!(feed(&mut s, &[1.0, 9.0, 9.0]), [None, None, None]);
    }

    #[test]
    fn a_touch_is_not_a_cross() {
        // fast 1, slow 2. t1: 2 > 1.5; t2: 2 == 2 (touch); t3: 1 < 1.5 but the previous bar
        // was equal, not above → no cross (strict on both sides).
        let mut s = SmaCross::new(1, 2, Mode::LongShort, 1.0);
        assert_eq!(
            feed(&mut s, &[1.0, 2.0, 2.0, 1.0]),
            [None, None, None, None]
        );
    }

    #[test]
    fn long_only_closes_instead_of_shorting() {
        // fast 1, slow 2 over closes 2, 1, 3, 1:
        // t1: 1 < 1.5; t2: 3 > 2 → up → +1; t3: 1 < 2 (prev 3 > 2) → down → 0 (long-short: -1).
        let mut s = SmaCross::new(1, 2, Mode::LongOnly, 1.0);
        assert_eq!(
            feed(&mut s, &[2.0, 1.0, 3.0, 1.0]),
            [None, None, Some(1.0), Some(0.0)]
        );
        let mut s = SmaCross::new(1, 2, Mode::LongShort, 1.0);
        assert_eq!(
            feed(&mut s, &[2.0, 1.0, 3.0, 1.0]),
            [None, None, Some(1.0), Some(-1.0)]
        );
        // A cross down while flat in long-only does nothing.
        let mut s = SmaCross::new(1, 2, Mode::LongOnly, 1.0);
        assert_eq!(feed(&mut s, &[1.0, 2.0, 1.0]), [None, None, None]);
    }
}
