//! A small, seedable, dependency-free PRNG (splitmix64) and the distributions the simulation needs.
//!
//! Every random draw in the engine is keyed by *what* it is for (seed, stream, index) rather than
//! by how many draws came before, so a restarted engine continues the same market path and the
//! same latencies as one that never stopped: determinism survives restarts.

/// The splitmix64 finaliser: a strong 64-bit mixing function.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a string into a stream id (FNV-1a), so streams can be named by pair or exchange.
pub fn stream_id(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A splitmix64 generator: tiny state, good statistical quality for simulation.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator for one keyed purpose: `(seed, stream, index)` always yields the same draws.
    pub fn keyed(seed: u64, stream: u64, index: u64) -> Self {
        let s = mix64(seed ^ mix64(stream ^ mix64(index)));
        Self { state: s }
    }

    /// Next raw 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal via Box–Muller (one of the pair; simplicity over speed).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Lognormal with the given median and 99th percentile (both > 0, p99 >= median).
    pub fn lognormal_median_p99(&mut self, median: f64, p99: f64) -> f64 {
        const Z99: f64 = 2.326_347_874_040_841;
        let mu = median.ln();
        let sigma = ((p99 / median).ln() / Z99).max(0.0);
        (mu + sigma * self.normal()).exp()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Uniform index in `0..n` (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_draws_repeat_and_normal_has_unit_scale() {
        let a: Vec<u64> = (0..4)
            .map(|i| SplitMix64::keyed(1, 2, i).next_u64())
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|i| SplitMix64::keyed(1, 2, i).next_u64())
            .collect();
        assert_eq!(a, b);
        let mut r = SplitMix64::keyed(7, 0, 0);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
        let mut r = SplitMix64::keyed(7, 1, 0);
        let mut ls: Vec<f64> = (0..n)
            .map(|_| r.lognormal_median_p99(20.0, 200.0))
            .collect();
        ls.sort_by(f64::total_cmp);
        assert!((ls[n / 2] / 20.0 - 1.0).abs() < 0.1);
    }
}
