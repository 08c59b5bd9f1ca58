//! Mean reversion on the z-score of the close against its rolling mean.

use std::collections::VecDeque;

use super::Strategy;
use crate::bars::Bar;

/// Buys when the close is far below its rolling mean, sells short when far above, and goes
/// flat once it is back near the mean.
///
/// `z = (close - mean) / sd` over the last `window` closes (including this one), with the
/// sample standard deviation. `z < -entry_z` → long `qty`; `z > entry_z` → short `qty`;
/// `|z| < exit_z` → flat; otherwise hold. Until the window is full, or when the window's closes
/// are all equal (sd is 0, z undefined), it holds: it never acts on a NaN.
#[derive(Clone, Debug)]
pub struct MeanReversion {
    window: usize,
    entry_z: f64,
    exit_z: f64,
    qty: f64,
    closes: VecDeque<f64>,
}

impl MeanReversion {
    /// A fresh instance; `window` in bars (≥ 2), thresholds in standard deviations.
    pub fn new(window: usize, entry_z: f64, exit_z: f64, qty: f64) -> Self {
        Self {
            window,
            entry_z,
            exit_z,
            qty,
            closes: VecDeque::with_capacity(window + 1),
        }
    }

    /// The z-score of the latest close, or `None` when it is undefined.
    fn z(&self) -> Option<f64> {
        let n = self.closes.len();
        if n < self.window.max(2) {
            return None;
        }
        let (min, max) = self
            .closes
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(*c), hi.max(*c))
            });
        if min == max {
            return None;
        }
        let mean = self.closes.iter().sum::<f64>() / n as f64;
        let m2: f64 = self.closes.iter().map(|c| (c - mean) * (c - mean)).sum();
        let sd = (m2 / (n - 1) as f64).sqrt();
        let last = *self.closes.back()?;
        let z = (last - mean) / sd;
        z.is_finite().then_some(z)
    }
}

impl Strategy for MeanReversion {
    fn on_bar(&mut self, bar: &Bar, position: f64) -> Option<f64> {
        self.closes.push_back(bar.close);
        while self.closes.len() > self.window.max(2) {
            self.closes.pop_front();
        }
        let z = self.z()?;
        let target = if z < -self.entry_z {
            self.qty
        } else if z > self.entry_z {
            -self.qty
        } else if z.abs() < self.exit_z {
            0.0
        } else {
            return None;
        };
        (target != position).then_some(target)
    }
}
