//! Whole-history statistics as O(1) running state that can be checkpointed.
//!
//! Sharpe, CAGR, Calmar and max drawdown are defined on the whole sample (docs/statistics.md §8), so a
//! service that runs for months must not keep the sample: [`RunningStats`] keeps a fixed handful
//! of numbers (count, exact sum, Welford mean and squared deviations, min, max, growth product,
//! drawdown curve) and reproduces the batch functions of [`crate::returns`] (the property tests
//! compare them after every push). [`RunningState`] is the same state as plain data, written to
//! the journal's checkpoint and read back bit-identically, so a restart never moves a gauge.

use crate::checkpoint::{StateError, StateReader, StateWriter};
use crate::exact_sum::ExactSum;
use crate::returns::{cagr_from, calmar_from, mean_from, sharpe_from, Drawdown};

/// Sharpe, CAGR, Calmar and max drawdown over every finite return pushed (non-finite ones are
/// dropped, §0), in constant memory.
#[derive(Clone, Debug)]
pub struct RunningStats {
    periods_per_year: f64,
    n: u64,
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
}

/// Everything [`RunningStats`] holds, as plain data (a checkpoint).
#[derive(Clone, Debug, PartialEq)]
pub struct RunningState {
    /// `P` of docs/statistics.md.
    pub periods_per_year: f64,
    /// Finite returns seen.
    pub n: u64,
    /// The exact sum's partials (their exact total is Σ x_i).
    pub sum_partials: Vec<f64>,
    /// Welford's running mean.
    pub mean: f64,
    /// Welford's sum of squared deviations.
    pub m2: f64,
    /// Smallest return (`+Inf` when none).
    pub min: f64,
    /// Largest return (`-Inf` when none).
    pub max: f64,
    /// Π (1 + x_i).
    pub growth: f64,
    /// Last point of the compounded curve (base 1).
    pub curve: f64,
    /// Its running peak.
    pub peak: f64,
    /// `min DD` so far (≤ 0).
    pub worst: f64,
}

impl RunningStats {
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
    }

    /// Number of finite returns seen so far (`n` of docs/statistics.md).
    pub fn returns_len(&self) -> u64 {
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
        let n = self.n as usize;
        let mean = mean_from(self.sum.value(), n, self.min, self.max);
        sharpe_from(
            n,
            mean,
            self.w_m2,
            self.min,
            self.max,
            self.periods_per_year,
        )
    }

    /// Same as [`crate::returns::cagr`] over the history.
    pub fn cagr(&self) -> f64 {
        cagr_from(self.n as usize, self.growth, self.periods_per_year)
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

    /// The whole state as plain data.
    pub fn checkpoint(&self) -> RunningState {
        let (curve, peak, worst) = self.drawdown.parts();
        RunningState {
            periods_per_year: self.periods_per_year,
            n: self.n,
            sum_partials: self.sum.partials().to_vec(),
            mean: self.w_mean,
            m2: self.w_m2,
            min: self.min,
            max: self.max,
            growth: self.growth,
            curve,
            peak,
            worst,
        }
    }

    /// The state a [`RunningStats::checkpoint`] was taken from: every getter and every later
    /// push give the same bits as the original would have.
    pub fn restore(s: RunningState) -> Result<Self, StateError> {
        if !(s.periods_per_year.is_finite() && s.periods_per_year > 0.0) {
            return Err(StateError::Invalid {
                field: "periods_per_year",
                why: "not a positive number",
            });
        }
        let sum = ExactSum::from_partials(s.sum_partials).ok_or(StateError::Invalid {
            field: "sum_partials",
            why: "a partial is not finite",
        })?;
        Ok(Self {
            periods_per_year: s.periods_per_year,
            n: s.n,
            sum,
            w_mean: s.mean,
            w_m2: s.m2,
            min: s.min,
            max: s.max,
            growth: s.growth,
            drawdown: Drawdown::from_parts(s.curve, s.peak, s.worst),
        })
    }
}

impl RunningState {
    /// Appends the state to a checkpoint.
    pub fn encode(&self, w: &mut StateWriter) {
        w.f64(self.periods_per_year);
        w.u64(self.n);
        w.f64s(&self.sum_partials);
        for v in [
            self.mean,
            self.m2,
            self.min,
            self.max,
            self.growth,
            self.curve,
            self.peak,
            self.worst,
        ] {
            w.f64(v);
        }
    }

    /// Reads a state written by [`RunningState::encode`].
    pub fn decode(r: &mut StateReader<'_>) -> Result<Self, StateError> {
        Ok(Self {
            periods_per_year: r.f64()?,
            n: r.u64()?,
            sum_partials: r.f64s()?,
            mean: r.f64()?,
            m2: r.f64()?,
            min: r.f64()?,
            max: r.f64()?,
            growth: r.f64()?,
            curve: r.f64()?,
            peak: r.f64()?,
            worst: r.f64()?,
        })
    }
}
