//! Incremental statistics for live gauges, built from the two bounded parts:
//!
//! * [`RunningStats`]: whole-history Sharpe, CAGR, Calmar and max drawdown in O(1) memory,
//!   equal to the batch functions in [`crate::returns`] (relative 1e-9; non-finite exactly).
//! * [`RollingVar`]: VaR/CVaR 95 % over the last `W` returns (docs/statistics.md §8, decided
//!   2026-12-01), exact over the window, O(log W) per push.
//!
//! [`EquityCurve`] turns an equity series into returns for the running part (a strategy's
//! curve: Sharpe and Calmar only); [`EquityStats`] adds the rolling VaR window (the portfolio's
//! curve). Memory does not grow with history: a service can run for months.

use crate::checkpoint::{StateError, StateReader, StateWriter};
use crate::rolling::RollingVar;
use crate::running::{RunningState, RunningStats};

/// The default VaR window: 7 days of 1-minute bars (`engine.risk.var_window`).
pub const DEFAULT_VAR_WINDOW: usize = 10_080;

/// Statistics over per-period returns pushed one at a time (non-finite returns are dropped):
/// whole-history running statistics plus a rolling VaR window.
#[derive(Clone, Debug)]
pub struct ReturnStats {
    running: RunningStats,
    tail: RollingVar,
}

impl ReturnStats {
    /// Empty state with the default VaR window; `periods_per_year` is `P` of docs/statistics.md.
    pub fn new(periods_per_year: f64) -> Self {
        Self::with_var_window(periods_per_year, DEFAULT_VAR_WINDOW)
    }

    /// Empty state whose VaR/CVaR cover the last `var_window` returns.
    pub fn with_var_window(periods_per_year: f64, var_window: usize) -> Self {
        Self {
            running: RunningStats::new(periods_per_year),
            tail: RollingVar::new(var_window),
        }
    }

    /// Adds one per-period simple return; NaN and ±Inf are dropped (§0).
    pub fn push(&mut self, r: f64) {
        self.running.push(r);
        self.tail.push(r);
    }

    /// Number of finite returns seen so far (`n` of docs/statistics.md).
    pub fn returns_len(&self) -> usize {
        self.running.returns_len() as usize
    }

    /// The whole-history part.
    pub fn running(&self) -> &RunningStats {
        &self.running
    }

    /// The rolling VaR window.
    pub fn rolling(&self) -> &RollingVar {
        &self.tail
    }

    /// Same as [`crate::returns::sharpe`] over the history.
    pub fn sharpe(&self) -> f64 {
        self.running.sharpe()
    }

    /// Same as [`crate::returns::cagr`] over the history.
    pub fn cagr(&self) -> f64 {
        self.running.cagr()
    }

    /// Same as [`crate::returns::calmar`] over the history.
    pub fn calmar(&self) -> f64 {
        self.running.calmar()
    }

    /// Same as [`crate::returns::max_drawdown`] over the history (positive loss fraction).
    pub fn max_drawdown(&self) -> f64 {
        self.running.max_drawdown()
    }

    /// [`crate::returns::var_95`] over the last `W` returns (positive loss fraction).
    pub fn var_95(&self) -> f64 {
        self.tail.var_95()
    }

    /// [`crate::returns::cvar_95`] over the last `W` returns (positive loss fraction).
    pub fn cvar_95(&self) -> f64 {
        self.tail.cvar_95()
    }
}

/// Whole-history statistics of an equity curve sampled one point at a time (e.g. a strategy's
/// mark-to-market equity at each bar close): the first point is the base, each later one adds
/// the return `V_t / V_{t-1} - 1` to a [`RunningStats`]. Constant memory; checkpointable.
#[derive(Clone, Debug)]
pub struct EquityCurve {
    running: RunningStats,
    last: Option<f64>,
    points: usize,
}

impl EquityCurve {
    /// Empty curve; see [`RunningStats::new`] for `periods_per_year`.
    pub fn new(periods_per_year: f64) -> Self {
        Self {
            running: RunningStats::new(periods_per_year),
            last: None,
            points: 0,
        }
    }

    /// Adds one equity point and returns the return it formed (none for the base point). A zero
    /// or non-finite point makes non-finite returns, which the statistics drop exactly as
    /// [`crate::returns::simple_returns`] followed by a batch function would.
    pub fn push(&mut self, equity: f64) -> Option<f64> {
        let r = self.last.map(|prev| equity / prev - 1.0);
        if let Some(r) = r {
            self.running.push(r);
        }
        self.last = Some(equity);
        self.points += 1;
        r
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
        self.running.returns_len() as usize
    }

    /// The running statistics of the curve's returns.
    pub fn running(&self) -> &RunningStats {
        &self.running
    }

    /// Sharpe ratio of the curve's returns (§1).
    pub fn sharpe(&self) -> f64 {
        self.running.sharpe()
    }

    /// CAGR of the curve's returns (§3).
    pub fn cagr(&self) -> f64 {
        self.running.cagr()
    }

    /// Calmar ratio of the curve's returns (§3).
    pub fn calmar(&self) -> f64 {
        self.running.calmar()
    }

    /// Max drawdown of the curve, positive loss fraction (§2).
    pub fn max_drawdown(&self) -> f64 {
        self.running.max_drawdown()
    }

    /// Appends the whole state to a checkpoint.
    pub fn encode(&self, w: &mut StateWriter) {
        self.running.checkpoint().encode(w);
        w.bool(self.last.is_some());
        w.f64(self.last.unwrap_or(f64::NAN));
        w.u64(self.points as u64);
    }

    /// Reads a curve written by [`EquityCurve::encode`]: it continues bit-identically.
    pub fn decode(r: &mut StateReader<'_>) -> Result<Self, StateError> {
        let running = RunningStats::restore(RunningState::decode(r)?)?;
        let has_last = r.bool()?;
        let last = r.f64()?;
        Ok(Self {
            running,
            last: has_last.then_some(last),
            points: usize::try_from(r.u64()?).map_err(|_| StateError::Invalid {
                field: "points",
                why: "too large",
            })?,
        })
    }
}

/// An equity curve with both the whole-history statistics and the rolling VaR/CVaR window (the
/// portfolio's curve, docs/statistics.md §9).
#[derive(Clone, Debug)]
pub struct EquityStats {
    curve: EquityCurve,
    tail: RollingVar,
}

impl EquityStats {
    /// Empty state with the default VaR window; see [`RunningStats::new`] for
    /// `periods_per_year`.
    pub fn new(periods_per_year: f64) -> Self {
        Self::with_var_window(periods_per_year, DEFAULT_VAR_WINDOW)
    }

    /// Empty state whose VaR/CVaR cover the last `var_window` returns.
    pub fn with_var_window(periods_per_year: f64, var_window: usize) -> Self {
        Self::from_parts(
            EquityCurve::new(periods_per_year),
            RollingVar::new(var_window),
        )
    }

    /// Joins a restored curve and a rebuilt VaR window (a restart: the checkpoint plus the
    /// window's returns pushed again into a fresh [`RollingVar`]).
    pub fn from_parts(curve: EquityCurve, tail: RollingVar) -> Self {
        Self { curve, tail }
    }

    /// Adds one equity point; see [`EquityCurve::push`].
    pub fn push(&mut self, equity: f64) -> Option<f64> {
        let r = self.curve.push(equity);
        if let Some(r) = r {
            self.tail.push(r);
        }
        r
    }

    /// The whole-history part (what a checkpoint stores).
    pub fn curve(&self) -> &EquityCurve {
        &self.curve
    }

    /// The rolling VaR window.
    pub fn rolling(&self) -> &RollingVar {
        &self.tail
    }

    /// The last equity point pushed, if any.
    pub fn last_equity(&self) -> Option<f64> {
        self.curve.last_equity()
    }

    /// Number of equity points pushed (including the base point).
    pub fn points(&self) -> usize {
        self.curve.points()
    }

    /// Number of finite returns formed so far (`n` of docs/statistics.md).
    pub fn returns_len(&self) -> usize {
        self.curve.returns_len()
    }

    /// Sharpe ratio of the curve's returns (§1).
    pub fn sharpe(&self) -> f64 {
        self.curve.sharpe()
    }

    /// CAGR of the curve's returns (§3).
    pub fn cagr(&self) -> f64 {
        self.curve.cagr()
    }

    /// Calmar ratio of the curve's returns (§3).
    pub fn calmar(&self) -> f64 {
        self.curve.calmar()
    }

    /// Max drawdown of the curve, positive loss fraction (§2).
    pub fn max_drawdown(&self) -> f64 {
        self.curve.max_drawdown()
    }

    /// Historical VaR 95 % of the last `W` returns, positive loss fraction (§4, §8).
    pub fn var_95(&self) -> f64 {
        self.tail.var_95()
    }

    /// CVaR 95 % of the last `W` returns, positive loss fraction (§5, §8).
    pub fn cvar_95(&self) -> f64 {
        self.tail.cvar_95()
    }
}
