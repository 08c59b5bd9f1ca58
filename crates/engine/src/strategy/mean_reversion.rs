//! Mean reversion on the z-score of the close against its rolling mean.

use super::window::{sum_oldest_first, Window};
use super::{Ctx, Intent, Strategy};
use crate::domain::bars::Bar;

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
    closes: Window,
}

impl MeanReversion {
    /// A fresh instance; `window` in bars (≥ 2), thresholds in standard deviations.
    pub fn new(window: usize, entry_z: f64, exit_z: f64, qty: f64) -> Self {
        Self {
            window,
            entry_z,
            exit_z,
            qty,
            closes: Window::new(window.max(2)),
        }
    }

    /// The z-score of the latest close, or `None` when it is undefined.
    fn z(&self) -> Option<f64> {
        let n = self.window.max(2);
        let closes = self.closes.last(n)?;
        let (min, max) = closes
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(*c), hi.max(*c))
            });
        if min == max {
            return None;
        }
        let mean = sum_oldest_first(closes) / n as f64;
        let m2 = closes
            .iter()
            .fold(-0.0, |acc, c| acc + (c - mean) * (c - mean));
        let sd = (m2 / (n - 1) as f64).sqrt();
        let last = *closes.last()?;
        let z = (last - mean) / sd;
        z.is_finite().then_some(z)
    }
}

impl Strategy for MeanReversion {
    fn on_bar(&mut self, ctx: &Ctx, bar: &Bar) -> Vec<Intent> {
        self.decide(bar, ctx.position)
            .map(|qty| Intent::Target { qty })
            .into_iter()
            .collect()
    }
}

impl MeanReversion {
    /// The position it wants to hold after `bar`, given the one it holds (`None`: no change).
    pub fn decide(&mut self, bar: &Bar, position: f64) -> Option<f64> {
        self.closes.push(bar.close);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(close: f64) -> Bar {
        Bar {
            time_ms: 0,
            open: close,
            high: close,
            low: close,
            close,
            volume: 0.0,
        }
    }

    #[test]
    fn equal_closes_never_trigger() {
        let mut s = MeanReversion::new(3, 1.0, 0.5, 1.0);
        for _ in 0..10 {
            assert_eq!(s.decide(&bar(0.1), 0.0), None);
        }
    }

    #[test]
    fn enters_below_and_above_and_exits_near_the_mean() {
        let mut s = MeanReversion::new(3, 1.0, 0.5, 2.0);
        s.decide(&bar(10.0), 0.0);
        s.decide(&bar(10.0), 0.0);
        // [10, 10, 7]: mean 9, sd √3, z = -2/√3 = -1.155 → long
        assert_eq!(s.decide(&bar(7.0), 0.0), Some(2.0));
        // [10, 7, 13]: mean 10, sd 3, z = 1 → neither beyond entry nor inside exit: hold
        assert_eq!(s.decide(&bar(13.0), 2.0), None);
        // [7, 13, 10]: mean 10, z = 0 → flat
        assert_eq!(s.decide(&bar(10.0), 2.0), Some(0.0));
        // [13, 10, 16]: mean 13, sd 3, z = 1 → hold; [10, 16, 20]: mean 15.33, sd 5.03, z = 0.93
        assert_eq!(s.decide(&bar(16.0), 0.0), None);
        // [16, 20, 30]: mean 22, sd 7.21, z = 1.109 → short
        s.decide(&bar(20.0), 0.0);
        assert_eq!(s.decide(&bar(30.0), 0.0), Some(-2.0));
    }
}
