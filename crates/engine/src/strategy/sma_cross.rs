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
        let means = self.smas();
        self.decide_on(means, position)
    }

    /// [`SmaCross::decide`] for a bar whose fast and slow means are already known (what the
    /// window would give after its close; [`means_ahead`] computes them for many bars at
    /// once). The window is left alone: use one way or the other for a run.
    pub fn decide_on(&mut self, means: Option<(f64, f64)>, position: f64) -> Option<f64> {
        let now = match means {
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

/// Bars per block of [`means_in_blocks`].
const AHEAD: usize = 4096;

/// The means [`SmaCross`] takes after each of `closes` (a run's closes from the first bar),
/// handed to `emit` a block of bars at a time (computed by [`means_ahead`]); stops early when
/// `emit` answers `false`.
pub fn means_in_blocks(
    fast: usize,
    slow: usize,
    closes: impl Iterator<Item = f64>,
    emit: impl FnMut(&[Option<(f64, f64)>]) -> bool,
) {
    means_in_blocks_of(AHEAD, fast, slow, closes, emit);
}

/// [`means_in_blocks`] with `block` bars per block.
fn means_in_blocks_of(
    block: usize,
    fast: usize,
    slow: usize,
    mut closes: impl Iterator<Item = f64>,
    mut emit: impl FnMut(&[Option<(f64, f64)>]) -> bool,
) {
    let history = fast.max(slow).saturating_sub(1);
    let (mut window, mut means) = (Vec::new(), Vec::new());
    loop {
        let keep = history.min(window.len());
        window.drain(..window.len() - keep);
        window.extend(closes.by_ref().take(block.max(1)));
        if window.len() == keep {
            return;
        }
        means_ahead(fast, slow, &window, keep, &mut means);
        if !emit(&means) {
            return;
        }
    }
}

/// Bars whose means [`means_ahead`] computes side by side.
const LANES: usize = 8;

/// The fast and slow means [`SmaCross`] takes after each of `closes[from..]` (the window's
/// `None` until it is full), into `out`. `closes` starts at the first bar or holds at least the
/// `max(fast, slow) - 1` closes before `from`. Each mean is summed oldest first from -0.0 as the
/// window sums it, so the bits are the same; only the sums of [`LANES`] consecutive bars are
/// computed side by side, independent chains of additions instead of one after the other.
pub fn means_ahead(
    fast: usize,
    slow: usize,
    closes: &[f64],
    from: usize,
    out: &mut Vec<Option<(f64, f64)>>,
) {
    out.clear();
    let (long, short) = (fast.max(slow), fast.min(slow));
    let first_full = if short == 0 {
        closes.len()
    } else {
        (long - 1).max(from).min(closes.len())
    };
    out.resize(first_full.saturating_sub(from), None);
    let mut i = first_full;
    while i < closes.len() {
        let window = &closes[i + 1 - long..];
        let (sums, lanes) = if closes.len() - i >= LANES {
            (lane_sums::<LANES>(window, long, short), LANES)
        } else {
            let [sum] = lane_sums::<1>(window, long, short);
            let mut one = [(0.0, 0.0); LANES];
            one[0] = sum;
            (one, 1)
        };
        out.extend(sums[..lanes].iter().map(|&(long_sum, short_sum)| {
            let (f, s) = if fast <= slow {
                (short_sum, long_sum)
            } else {
                (long_sum, short_sum)
            };
            Some((f / fast as f64, s / slow as f64))
        }));
        i += lanes;
    }
}

/// The long and short sums of the windows that start at `w[0..N]`, as [`SmaCross`] adds them:
/// the oldest `long - short` closes into the long sum, the rest into both.
fn lane_sums<const N: usize>(w: &[f64], long: usize, short: usize) -> [(f64, f64); N] {
    let (mut l, mut s) = ([-0.0f64; N], [-0.0f64; N]);
    for j in 0..long - short {
        let x: &[f64; N] = w[j..j + N].try_into().unwrap_or(&[0.0; N]);
        for k in 0..N {
            l[k] += x[k];
        }
    }
    for j in long - short..long {
        let x: &[f64; N] = w[j..j + N].try_into().unwrap_or(&[0.0; N]);
        for k in 0..N {
            l[k] += x[k];
            s[k] += x[k];
        }
    }
    std::array::from_fn(|k| (l[k], s[k]))
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
    fn means_ahead_are_the_window_means_bit_for_bit() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let closes: Vec<f64> = (0..300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 100_000) as f64 / 1e4 + 90.0
            })
            .collect();
        for (fast, slow) in [(10, 30), (30, 10), (1, 2), (5, 5), (3, 40), (0, 4)] {
            let mut s = SmaCross::new(fast, slow, Mode::LongShort, 1.0);
            let want: Vec<_> = closes
                .iter()
                .map(|&c| {
                    s.closes.push(c);
                    s.smas()
                })
                .collect();
            for block in [1, 7, 50, AHEAD] {
                let mut blocks = Vec::new();
                means_in_blocks_of(block, fast, slow, closes.iter().copied(), |b| {
                    blocks.extend_from_slice(b);
                    true
                });
                assert_eq!(blocks, want, "{fast}/{slow} by blocks of {block}");
            }
            let long = fast.max(slow);
            // From the start in one go, and in blocks that keep `long - 1` closes of history.
            let mut got = Vec::new();
            means_ahead(fast, slow, &closes, 0, &mut got);
            assert_eq!(got, want, "{fast}/{slow}");
            for block in [1, 7, 50] {
                let mut all = Vec::new();
                let mut start = 0;
                while start < closes.len() {
                    let from = start.min(long.saturating_sub(1));
                    let end = (start + block).min(closes.len());
                    means_ahead(fast, slow, &closes[start - from..end], from, &mut got);
                    all.extend_from_slice(&got);
                    start = end;
                }
                assert_eq!(all, want, "{fast}/{slow} in blocks of {block}");
            }
        }
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
