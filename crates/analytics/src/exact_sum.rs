//! Exact floating-point summation (Shewchuk's algorithm, as in Python's `math.fsum`).
//!
//! Used for the CVaR tail sum so that the batch function and the incremental state (which adds
//! and removes values in a different order) return the very same, correctly rounded, number.

/// An exact running sum of finite `f64` values that supports removal (add the negation).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ExactSum {
    /// Non-overlapping partial sums in increasing magnitude; their exact sum is the total.
    partials: Vec<f64>,
}

impl ExactSum {
    /// Adds `x` exactly. `x` must be finite (callers drop non-finite values first).
    pub(crate) fn add(&mut self, mut x: f64) {
        let mut i = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        self.partials.truncate(i);
        self.partials.push(x);
    }

    /// The partial sums that represent the exact total (for a checkpoint).
    pub(crate) fn partials(&self) -> &[f64] {
        &self.partials
    }

    /// Rebuilds a sum from [`ExactSum::partials`] of an earlier one; `None` when a partial is
    /// not finite (a corrupt checkpoint).
    pub(crate) fn from_partials(partials: Vec<f64>) -> Option<Self> {
        partials
            .iter()
            .all(|p| p.is_finite())
            .then_some(Self { partials })
    }

    /// The exact sum, correctly rounded to the nearest `f64` (ties to even).
    pub(crate) fn value(&self) -> f64 {
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        // Correct a half-way rounding when the remaining partials push it one way.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::ExactSum;

    #[test]
    fn cancels_exactly_where_naive_summation_does_not() {
        // Naive: (0.1 + 0.2) - 0.3 = 5.551115123125783e-17; the exact sum of the three
        // doubles is 2.7755575615628914e-17 (the representation errors), and removing what was
        // added gives exactly zero.
        let mut s = ExactSum::default();
        for v in [0.1, 0.2, -0.3] {
            s.add(v);
        }
        assert_eq!(s.value(), 2.7755575615628914e-17);
        for v in [-0.1, -0.2, 0.3] {
            s.add(v);
        }
        assert_eq!(s.value(), 0.0);
    }

    #[test]
    fn huge_and_tiny_terms_keep_every_bit() {
        let mut s = ExactSum::default();
        for v in [1e100, 1.0, -1e100] {
            s.add(v);
        }
        assert_eq!(s.value(), 1.0);
    }
}
