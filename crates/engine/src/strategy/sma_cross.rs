//! Simple moving average crossover (ANALYTICS.md §10), decided at each bar's close.

use std::collections::VecDeque;

use super::{Mode, Strategy};
use crate::bars::Bar;

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
    closes: VecDeque<f64>,
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
            closes: VecDeque::with_capacity(fast.max(slow) + 1),
            prev: None,
        }
    }

    /// The mean of the last `window` closes, summed oldest first (no running-sum drift, so
    /// equal prices give exactly equal averages and never a spurious cross).
    fn sma(&self, window: usize) -> Option<f64> {
        if window == 0 || self.closes.len() < window {
            return None;
        }
        let sum: f64 = self.closes.iter().skip(self.closes.len() - window).sum();
        Some(sum / window as f64)
    }
}

impl Strategy for SmaCross {
    fn on_bar(&mut self, bar: &Bar, position: f64) -> Option<f64> {
        let keep = self.fast.max(self.slow);
        self.closes.push_back(bar.close);
        while self.closes.len() > keep {
            self.closes.pop_front();
        }
        let now = match (self.sma(self.fast), self.sma(self.slow)) {
            (Some(f), Some(s)) if f.is_finite() && s.is_finite() => (f, s),
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
