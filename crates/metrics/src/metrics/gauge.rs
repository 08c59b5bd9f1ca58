//! A gauge: a value that goes up and down.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// An `f64` value that can be set or moved (NaN and ±Inf are allowed and encoded as Prometheus
/// spells them). Stored as the float's bits in one atomic, so reads are never torn.
pub struct Gauge {
    bits: AtomicU64,
}

impl Default for Gauge {
    fn default() -> Self {
        Self::new()
    }
}

impl Gauge {
    /// A gauge at 0.
    pub fn new() -> Self {
        Self {
            bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.bits.store(v.to_bits(), Relaxed);
    }

    /// Adds `delta` (negative to subtract), atomically with respect to other adds.
    #[inline]
    pub fn add(&self, delta: f64) {
        let mut cur = self.bits.load(Relaxed);
        loop {
            let next = (f64::from_bits(cur) + delta).to_bits();
            match self.bits.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Adds one (e.g. a connection opened).
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one (e.g. a connection closed).
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Relaxed))
    }
}

impl std::fmt::Debug for Gauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Gauge").field(&self.get()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_add_get() {
        let g = Gauge::new();
        assert_eq!(g.get(), 0.0);
        g.set(1.5);
        g.add(-2.0);
        assert_eq!(g.get(), -0.5);
        g.inc();
        g.inc();
        g.dec();
        assert_eq!(g.get(), 0.5);
        g.set(f64::NAN);
        assert!(g.get().is_nan());
    }
}
