//! Historical VaR/CVaR 95 % over a rolling window of the last `W` returns (docs/statistics.md §8, the
//! 2026-12-01 decision): exact over the window, O(log W) per return, memory bounded by `W`.
//!
//! The window counts *periods*: it holds the last `W` returns as they came, and, as §0 says, the
//! non-finite ones among them are dropped before the §4/§5 formulas run over the `n ≤ W` finite
//! ones. (Counting periods keeps the window a fixed span of market time, "7 days of 1-minute
//! bars", and lets a restart rebuild it from exactly the last `W + 1` equity samples.) With fewer
//! than `W` returns so far, the window is the whole sample.
//!
//! The finite returns of the window are kept sorted in two counted multisets split at the 5 %
//! cut: `low` holds the `k + 1` smallest (`k = trunc((n - 1) · 0.05)`), `high` the rest, and an
//! exact sum of `low` gives the CVaR tail mean with the very bits a full sort would. A return
//! that leaves the window is found by value (it is in `low` exactly when it is not above `low`'s
//! largest), so no sort happens per bar.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};

use crate::exact_sum::ExactSum;
use crate::returns::{cvar_from, cvar_k, var_from, var_index};

/// VaR/CVaR 95 % over the last `window` returns.
#[derive(Clone, Debug)]
pub struct RollingVar {
    window: usize,
    /// The window's returns as pushed, oldest first (non-finite ones included: they hold a
    /// period of the window).
    recent: VecDeque<f64>,
    low: Multiset,
    high: Multiset,
    /// Σ of `low`, exactly.
    low_sum: ExactSum,
}

impl RollingVar {
    /// An empty window of `window` returns (at least 1; 0 is taken as 1).
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            recent: VecDeque::new(),
            low: Multiset::default(),
            high: Multiset::default(),
            low_sum: ExactSum::default(),
        }
    }

    /// The window length `W`.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Returns in the window (≤ `W`), non-finite ones included.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Whether no return was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    /// Finite returns in the window (`n` of §4/§5).
    pub fn finite_len(&self) -> usize {
        self.low.len + self.high.len
    }

    /// The window's returns as pushed, oldest first (what a restart must push again).
    pub fn returns(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.recent.iter().copied()
    }

    /// Adds the newest return; the oldest leaves once the window is full.
    pub fn push(&mut self, r: f64) {
        if self.recent.len() == self.window {
            if let Some(old) = self.recent.pop_front() {
                if old.is_finite() {
                    self.remove(old);
                }
            }
        }
        self.recent.push_back(r);
        if r.is_finite() {
            self.insert(r);
        }
        self.rebalance();
    }

    /// Historical VaR 95 % of the window (§4), positive loss fraction; NaN when the window has
    /// no finite return.
    pub fn var_95(&self) -> f64 {
        match self.low.last() {
            None => f64::NAN,
            Some(s_lo) => var_from(s_lo, self.high.first(), self.finite_len()),
        }
    }

    /// CVaR 95 % of the window (§5), positive loss fraction; NaN when the window has no finite
    /// return.
    pub fn cvar_95(&self) -> f64 {
        match (self.low.first(), self.low.last()) {
            (Some(s_0), Some(s_k)) => {
                cvar_from(self.low_sum.value(), cvar_k(self.finite_len()), s_0, s_k)
            }
            _ => f64::NAN,
        }
    }

    fn insert(&mut self, r: f64) {
        match self.low.last() {
            Some(top) if r.total_cmp(&top) == Ordering::Less => {
                self.low.insert(r);
                self.low_sum.add(r);
            }
            _ => self.high.insert(r),
        }
    }

    fn remove(&mut self, r: f64) {
        // Invariant: every value of `high` is >= every value of `low`, so a value not above
        // `low`'s largest is in `low`.
        let in_low = self
            .low
            .last()
            .is_some_and(|top| r.total_cmp(&top) != Ordering::Greater);
        if in_low && self.low.remove(r) {
            self.low_sum.add(-r);
        } else {
            self.high.remove(r);
        }
    }

    /// Moves values across the cut until `low` holds exactly the `k + 1` smallest.
    fn rebalance(&mut self) {
        let n = self.finite_len();
        let want = if n == 0 { 0 } else { var_index(n).0 + 1 };
        while self.low.len > want {
            let Some(v) = self.low.pop_last() else { break };
            self.low_sum.add(-v);
            self.high.insert(v);
        }
        while self.low.len < want {
            let Some(v) = self.high.pop_first() else {
                break;
            };
            self.low_sum.add(v);
            self.low.insert(v);
        }
    }
}

/// A finite `f64` ordered by `total_cmp` (the order a sort by `total_cmp` gives).
#[derive(Clone, Copy, Debug)]
struct Key(f64);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted multiset of floats: each distinct value once, with its count.
#[derive(Clone, Debug, Default)]
struct Multiset {
    counts: BTreeMap<Key, u32>,
    len: usize,
}

impl Multiset {
    fn insert(&mut self, v: f64) {
        *self.counts.entry(Key(v)).or_insert(0) += 1;
        self.len += 1;
    }

    /// Removes one copy of `v`; false when there is none.
    fn remove(&mut self, v: f64) -> bool {
        let key = Key(v);
        let Some(c) = self.counts.get_mut(&key) else {
            return false;
        };
        *c -= 1;
        if *c == 0 {
            self.counts.remove(&key);
        }
        self.len -= 1;
        true
    }

    fn first(&self) -> Option<f64> {
        self.counts.first_key_value().map(|(k, _)| k.0)
    }

    fn last(&self) -> Option<f64> {
        self.counts.last_key_value().map(|(k, _)| k.0)
    }

    fn pop_first(&mut self) -> Option<f64> {
        let v = self.first()?;
        self.remove(v);
        Some(v)
    }

    fn pop_last(&mut self) -> Option<f64> {
        let v = self.last()?;
        self.remove(v);
        Some(v)
    }
}
