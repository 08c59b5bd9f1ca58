//! Batch statistics over per-period simple returns (docs/statistics.md §0–§5, §7).
//!
//! These are the reference definitions: each function recomputes from the whole series. Every
//! function first drops non-finite returns (NaN, ±Inf) and works on the `n` finite ones that
//! remain. `max_drawdown`, `var_95` and `cvar_95` use the *exported* sign convention: positive
//! loss fractions, and a zero result is `0.0`, never `-0.0`. Undefined results are NaN.

use std::borrow::Cow;

use crate::exact_sum::ExactSum;

/// The quantile cut of VaR/CVaR (95 % confidence, the 5 % left tail).
pub(crate) const TAIL: f64 = 0.05;

/// Per-period simple returns `V_t / V_{t-1} - 1` of an equity (or price) series.
///
/// Exists so callers never build returns by hand (log returns or percentages are wrong here).
/// The result has `equity.len() - 1` entries (none for fewer than two points); a zero or
/// non-finite equity value yields a non-finite return, which the statistics then drop.
pub fn simple_returns(equity: &[f64]) -> Vec<f64> {
    equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// Annualized Sharpe ratio with rf = 0: `mean / sample_sd * sqrt(P)` (§1).
///
/// `n < 2` → NaN; all returns exactly equal → `+Inf`, `-Inf` or NaN by the sign of the mean
/// (decided on `max == min`, never on a round-off standard deviation).
pub fn sharpe(returns: &[f64], periods_per_year: f64) -> f64 {
    let x = finite(returns);
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let (min, max) = min_max(&x);
    let mut sum = ExactSum::default();
    for v in x.iter() {
        sum.add(*v);
    }
    let mean = mean_from(sum.value(), n, min, max);
    let m2: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    sharpe_from(n, mean, m2, min, max, periods_per_year)
}

/// Compound annual growth rate `(Π(1 + x_i))^(P/n) - 1` (§3); `n == 0` → NaN.
pub fn cagr(returns: &[f64], periods_per_year: f64) -> f64 {
    let x = finite(returns);
    let growth = x.iter().fold(1.0, |g, v| g * (1.0 + v));
    cagr_from(x.len(), growth, periods_per_year)
}

/// Calmar ratio `CAGR / max_drawdown` (§3); NaN when empty, when there is no drawdown, or when
/// the quotient is not finite.
pub fn calmar(returns: &[f64], periods_per_year: f64) -> f64 {
    calmar_from(cagr(returns, periods_per_year), max_drawdown(returns))
}

/// Maximum drawdown of the compounded curve that starts at a base point `E_0 = 1` (§2), as a
/// positive loss fraction (`0.082` = 8.2 %). `n == 0` → NaN; never below a peak → `0.0`.
pub fn max_drawdown(returns: &[f64]) -> f64 {
    let x = finite(returns);
    if x.is_empty() {
        return f64::NAN;
    }
    let mut dd = Drawdown::new(1.0);
    for v in x.iter() {
        dd.push_return(*v);
    }
    dd.gauge()
}

/// Maximum drawdown of the closed-trade equity curve `E_0 = initial_capital`,
/// `E_k = E_0 + Σ_{j≤k} pnl_j` (§2, one point per closed trade in close order), as a positive
/// loss fraction.
///
/// Exists because a drawdown on realized PnL is a different (usually smaller) number than the
/// mark-to-market one, and reports must say which is which. No trades → NaN; a non-positive or
/// non-finite capital → NaN; non-finite PnL values are dropped.
pub fn max_drawdown_trade_equity(initial_capital: f64, realized_pnls: &[f64]) -> f64 {
    let pnls = finite(realized_pnls);
    if pnls.is_empty() || !(initial_capital.is_finite() && initial_capital > 0.0) {
        return f64::NAN;
    }
    let mut dd = Drawdown::new(initial_capital);
    let mut equity = initial_capital;
    for p in pnls.iter() {
        equity += p;
        dd.push_equity(equity);
    }
    dd.gauge()
}

/// Historical one-period VaR 95 %: the 5th percentile with linear interpolation (numpy's
/// default, Hyndman–Fan type 7), negated to a positive loss fraction (§4). Not clamped: a tail
/// of gains gives a negative value. `n == 0` → NaN.
pub fn var_95(returns: &[f64]) -> f64 {
    tail_95(returns).0
}

/// Historical CVaR / expected shortfall 95 %: the mean of exactly the `k + 1` smallest returns,
/// `k = trunc((n - 1) * 0.05)` (empyrical's definition, ties not widened), negated (§5).
/// `n == 0` → NaN. Always `≥ var_95`.
pub fn cvar_95(returns: &[f64]) -> f64 {
    tail_95(returns).1
}

/// `(var_95, cvar_95)` from one selection (a report that needs both pays for one copy and one
/// O(n) pass, not two sorts). The VaR position `lo = floor((n - 1) · 0.05)` and the CVaR cut
/// `k = trunc((n - 1) · 0.05)` are the same index: selecting it puts `s_lo = s_k` in place, the
/// `k` smaller values before it (their exact sum does not depend on order), and `s_{lo+1}` is
/// the smallest value after it.
pub fn tail_95(returns: &[f64]) -> (f64, f64) {
    let mut x = finite(returns).into_owned();
    let n = x.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let k = cvar_k(n);
    debug_assert_eq!(k, var_index(n).0);
    let (below, s_k, above) = x.select_nth_unstable_by(k, f64::total_cmp);
    let s_k = *s_k;
    let var = var_from(s_k, above.iter().copied().min_by(f64::total_cmp), n);
    let mut sum = ExactSum::default();
    sum.add(s_k);
    let mut s_0 = s_k;
    for v in below.iter() {
        sum.add(*v);
        if v.total_cmp(&s_0).is_lt() {
            s_0 = *v;
        }
    }
    (var, cvar_from(sum.value(), k, s_0, s_k))
}

// ---- shared kernels: the batch functions above and `live` both finish through these ----

/// The finite values of `xs`, in input order (§0): `xs` itself when all are finite (the usual
/// case: no copy of a million returns per statistic).
fn finite(xs: &[f64]) -> Cow<'_, [f64]> {
    if xs.iter().all(|v| v.is_finite()) {
        Cow::Borrowed(xs)
    } else {
        Cow::Owned(xs.iter().copied().filter(|v| v.is_finite()).collect())
    }
}

fn min_max(x: &[f64]) -> (f64, f64) {
    x.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// Maps `-0.0` to `0.0` (exported gauges never show a negative zero).
pub(crate) fn no_neg_zero(v: f64) -> f64 {
    if v == 0.0 {
        0.0
    } else {
        v
    }
}

/// The mean from the exact sum: correctly rounded sum, then clamped to `[min, max]` (where the
/// true mean lies), so the mean never depends on summation order and all-equal values give
/// exactly that value.
pub(crate) fn mean_from(exact_sum: f64, n: usize, min: f64, max: f64) -> f64 {
    (exact_sum / n as f64).clamp(min, max)
}

/// Sharpe from the count, mean, sum of squared deviations and the extremes of the sample.
pub(crate) fn sharpe_from(n: usize, mean: f64, m2: f64, min: f64, max: f64, p: f64) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    if max == min {
        // All returns equal: the true sd is 0, whatever the float sd says.
        return if mean > 0.0 {
            f64::INFINITY
        } else if mean < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::NAN
        };
    }
    let sd = (m2 / (n - 1) as f64).sqrt();
    no_neg_zero(mean / sd * p.sqrt())
}

/// CAGR from the count and the total growth factor `Π(1 + x_i)`.
pub(crate) fn cagr_from(n: usize, growth: f64, p: f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    no_neg_zero(growth.powf(p / n as f64) - 1.0)
}

/// Calmar from CAGR and the max drawdown gauge: [`calmar`] for a caller that has both already
/// (a backtest computes them anyway, and each is a pass over every return).
pub fn calmar_from(cagr: f64, max_drawdown: f64) -> f64 {
    if max_drawdown.is_nan() || max_drawdown == 0.0 {
        return f64::NAN;
    }
    let q = cagr / max_drawdown.abs();
    if q.is_finite() {
        no_neg_zero(q)
    } else {
        f64::NAN
    }
}

/// `(lo, t)`: the interpolation position of the 5th percentile among `n` sorted values.
pub(crate) fn var_index(n: usize) -> (usize, f64) {
    let h = n.saturating_sub(1) as f64 * TAIL;
    let lo = h.floor();
    (lo as usize, h - lo)
}

/// The VaR gauge from `s_lo` and `s_{lo+1}` (absent when `lo + 1 == n`), numpy's lerp form.
pub(crate) fn var_from(s_lo: f64, s_next: Option<f64>, n: usize) -> f64 {
    let (_, t) = var_index(n);
    let q = match s_next {
        None => s_lo,
        Some(s_hi) if t < 0.5 => s_lo + (s_hi - s_lo) * t,
        Some(s_hi) => s_hi - (s_hi - s_lo) * (1.0 - t),
    };
    no_neg_zero(-q)
}

/// The CVaR cut: the tail is the `k + 1` smallest of `n` returns.
pub(crate) fn cvar_k(n: usize) -> usize {
    (n.saturating_sub(1) as f64 * TAIL) as usize
}

/// The CVaR gauge from the exact tail sum, `k`, and the tail's smallest and largest values.
pub(crate) fn cvar_from(tail_sum: f64, k: usize, s_0: f64, s_k: f64) -> f64 {
    // The mean of values in [s_0, s_k] lies in that range; clamping only removes the rounding
    // of the division (so all-equal tails give exactly `-a`, and CVaR >= VaR always holds).
    let mean = (tail_sum / (k + 1) as f64).clamp(s_0, s_k);
    no_neg_zero(-mean)
}

/// Running drawdown over a curve that starts at a base point, which is itself a peak (§2).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Drawdown {
    equity: f64,
    peak: f64,
    /// `min_i (E_i / M_i - 1)`, ≤ 0.
    worst: f64,
}

impl Drawdown {
    pub(crate) fn new(base: f64) -> Self {
        Self {
            equity: base,
            peak: base,
            worst: 0.0,
        }
    }

    /// Compounds one finite return onto the curve.
    pub(crate) fn push_return(&mut self, r: f64) {
        self.push_equity(self.equity * (1.0 + r));
    }

    /// Appends one equity point.
    pub(crate) fn push_equity(&mut self, e: f64) {
        self.equity = e;
        if e > self.peak {
            self.peak = e;
        }
        let dd = e / self.peak - 1.0;
        if dd < self.worst {
            self.worst = dd;
        }
    }

    /// `(equity, peak, worst)`: the whole state, for a checkpoint.
    pub(crate) fn parts(&self) -> (f64, f64, f64) {
        (self.equity, self.peak, self.worst)
    }

    /// Rebuilds the state from [`Drawdown::parts`].
    pub(crate) fn from_parts(equity: f64, peak: f64, worst: f64) -> Self {
        Self {
            equity,
            peak,
            worst,
        }
    }

    /// The exported gauge `-min DD` (≥ 0, never `-0.0`).
    pub(crate) fn gauge(&self) -> f64 {
        no_neg_zero(-self.worst)
    }
}
