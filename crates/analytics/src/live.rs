//! Incremental statistics for live gauges.
//!
//! Each getter equals the batch function in [`crate::returns`] on the same history (relative
//! 1e-9; non-finite results exactly), but a push costs O(log n) and a read O(1), so a gauge can
//! be refreshed after every bar even with millions of samples of history:
//!
//! * Sharpe: an exact running sum (the same correctly rounded mean as the batch function, bit
//!   for bit, whatever the order) plus Welford's sum of squared deviations, and the running
//!   min/max for the all-equal rule.
//! * CAGR and drawdown: the running product and peak, the same operations in the same order as
//!   the batch functions (identical results).
//! * VaR/CVaR: two heaps split at the 5 % cut (the `k + 1` smallest returns in a max-heap, the
//!   rest in a min-heap) and an exact sum of the tail, so the order statistics and the tail mean
//!   are the same numbers the batch functions compute from a full sort.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::exact_sum::ExactSum;
use crate::returns::{
    cagr_from, calmar_from, cvar_from, cvar_k, mean_from, sharpe_from, var_from, var_index,
    Drawdown,
};

/// Statistics over per-period returns pushed one at a time (non-finite returns are dropped).
#[derive(Clone, Debug)]
pub struct ReturnStats {
    periods_per_year: f64,
    n: usize,
    /// Σ x_i, exactly.
    sum: ExactSum,
    /// Welford's running mean and sum of squared deviations from it.
    w_mean: f64,
    w_m2: f64,
    min: f64,
    max: f64,
    /// Π (1 + x_i) in input order.
    growth: f64,
    drawdown: Drawdown,
    tail: Tail,
}

impl ReturnStats {
    /// Empty state; `periods_per_year` is `P` of docs/statistics.md (252 or 365), used for Sharpe,
    /// CAGR and Calmar.
    pub fn new(periods_per_year: f64) -> Self {
        Self {
            periods_per_year,
            n: 0,
            sum: ExactSum::default(),
            w_mean: 0.0,
            w_m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            growth: 1.0,
            drawdown: Drawdown::new(1.0),
            tail: Tail::default(),
        }
    }

    /// Adds one per-period simple return; NaN and ±Inf are dropped (§0).
    pub fn push(&mut self, r: f64) {
        if !r.is_finite() {
            return;
        }
        self.n += 1;
        self.sum.add(r);
        let delta = r - self.w_mean;
        self.w_mean += delta / self.n as f64;
        self.w_m2 += delta * (r - self.w_mean);
        self.min = self.min.min(r);
        self.max = self.max.max(r);
        self.growth *= 1.0 + r;
        self.drawdown.push_return(r);
        self.tail.push(r, self.n);
    }

    /// Number of finite returns seen so far (`n` of docs/statistics.md).
    pub fn returns_len(&self) -> usize {
        self.n
    }

    /// The `P` this state annualizes with.
    pub fn periods_per_year(&self) -> f64 {
        self.periods_per_year
    }

    /// Same as [`crate::returns::sharpe`] over the history.
    pub fn sharpe(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let mean = mean_from(self.sum.value(), self.n, self.min, self.max);
        sharpe_from(
            self.n,
            mean,
            self.w_m2,
            self.min,
            self.max,
            self.periods_per_year,
        )
    }

    /// Same as [`crate::returns::cagr`] over the history.
    pub fn cagr(&self) -> f64 {
        cagr_from(self.n, self.growth, self.periods_per_year)
    }

    /// Same as [`crate::returns::calmar`] over the history.
    pub fn calmar(&self) -> f64 {
        calmar_from(self.cagr(), self.max_drawdown())
    }

    /// Same as [`crate::returns::max_drawdown`] over the history (positive loss fraction).
    pub fn max_drawdown(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        self.drawdown.gauge()
    }

    /// Same as [`crate::returns::var_95`] over the history (positive loss fraction).
    pub fn var_95(&self) -> f64 {
        match self.tail.low.peek() {
            None => f64::NAN,
            Some(s_lo) => var_from(s_lo.0, self.tail.high.peek().map(|v| v.0 .0), self.n),
        }
    }

    /// Same as [`crate::returns::cvar_95`] over the history (positive loss fraction).
    pub fn cvar_95(&self) -> f64 {
        match self.tail.low.peek() {
            None => f64::NAN,
            Some(s_k) => cvar_from(self.tail.sum.value(), cvar_k(self.n), self.min, s_k.0),
        }
    }
}

/// Statistics over an equity curve sampled one point at a time (e.g. mark-to-market equity at
/// each bar close): the first point is the base, each later one adds the return
/// `V_t / V_{t-1} - 1` to a [`ReturnStats`].
#[derive(Clone, Debug)]
pub struct EquityStats {
    returns: ReturnStats,
    last: Option<f64>,
    points: usize,
}

impl EquityStats {
    /// Empty state; see [`ReturnStats::new`] for `periods_per_year`.
    pub fn new(periods_per_year: f64) -> Self {
        Self {
            returns: ReturnStats::new(periods_per_year),
            last: None,
            points: 0,
        }
    }

    /// Adds one equity point. A zero or non-finite point makes non-finite returns, which are
    /// dropped exactly as [`crate::returns::simple_returns`] followed by a batch function would.
    pub fn push(&mut self, equity: f64) {
        if let Some(prev) = self.last {
            self.returns.push(equity / prev - 1.0);
        }
        self.last = Some(equity);
        self.points += 1;
    }

    /// The last equity point pushed, if any.
    pub fn last_equity(&self) -> Option<f64> {
        self.last
    }

    /// Number of equity points pushed (including the base point).
    pub fn points(&self) -> usize {
        self.points
    }

    /// Number of finite returns formed so far (`n` of docs/statistics.md).
    pub fn returns_len(&self) -> usize {
        self.returns.returns_len()
    }

    /// The return statistics behind this curve.
    pub fn returns(&self) -> &ReturnStats {
        &self.returns
    }

    /// Sharpe ratio of the curve's returns (§1).
    pub fn sharpe(&self) -> f64 {
        self.returns.sharpe()
    }

    /// CAGR of the curve's returns (§3).
    pub fn cagr(&self) -> f64 {
        self.returns.cagr()
    }

    /// Calmar ratio of the curve's returns (§3).
    pub fn calmar(&self) -> f64 {
        self.returns.calmar()
    }

    /// Max drawdown of the curve, positive loss fraction (§2).
    pub fn max_drawdown(&self) -> f64 {
        self.returns.max_drawdown()
    }

    /// Historical VaR 95 % of the curve's returns, positive loss fraction (§4).
    pub fn var_95(&self) -> f64 {
        self.returns.var_95()
    }

    /// CVaR 95 % of the curve's returns, positive loss fraction (§5).
    pub fn cvar_95(&self) -> f64 {
        self.returns.cvar_95()
    }
}

/// A finite `f64` ordered by `total_cmp` so it can live in a `BinaryHeap`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ord64(f64);

impl Eq for Ord64 {}

impl PartialOrd for Ord64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ord64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// The sorted returns split at the 5 % cut: `low` holds the `k + 1` smallest (max on top),
/// `high` the rest (min on top), and `sum` is the exact sum of `low`.
#[derive(Clone, Debug, Default)]
struct Tail {
    low: BinaryHeap<Ord64>,
    high: BinaryHeap<Reverse<Ord64>>,
    sum: ExactSum,
}

impl Tail {
    /// Inserts `r`, the `n`-th finite return, and restores `low.len() == k + 1`.
    fn push(&mut self, r: f64, n: usize) {
        match self.low.peek() {
            Some(top) if r < top.0 => {
                self.low.push(Ord64(r));
                self.sum.add(r);
            }
            _ => self.high.push(Reverse(Ord64(r))),
        }
        let want = var_index(n).0 + 1;
        while self.low.len() > want {
            if let Some(v) = self.low.pop() {
                self.sum.add(-v.0);
                self.high.push(Reverse(v));
            }
        }
        while self.low.len() < want {
            match self.high.pop() {
                Some(Reverse(v)) => {
                    self.sum.add(v.0);
                    self.low.push(v);
                }
                None => break,
            }
        }
    }
}
