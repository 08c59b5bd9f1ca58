//! Per-update cost of the live statistics: one `push` plus a read of all six getters, with
//! 1k, 100k and 1M samples of history already in the state, against a naive full recompute of
//! the batch functions over the same history. (VaR/CVaR cover the default rolling window of
//! 10,080 returns since issue 14; the naive side recomputes them over the whole history, as
//! the live state did before.)
//!
//! Run: `cargo bench -p zigquant-analytics --bench update`
//! Prints one line per case: `update_<size> zigquant=<ns> naive_recompute=<ns> unit=ns`.

use std::hint::black_box;
use std::time::Instant;

use zigquant_analytics::live::EquityStats;
use zigquant_analytics::returns;

const P: f64 = 365.0;

/// A deterministic equity random walk (xorshift64*), so runs are comparable.
struct Walk {
    state: u64,
    equity: f64,
}

impl Walk {
    fn new() -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
            equity: 10_000.0,
        }
    }

    fn next_equity(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let u = (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        self.equity *= 1.0 + (u - 0.5) * 0.04;
        self.equity
    }
}

fn read_all(s: &EquityStats) -> f64 {
    s.sharpe() + s.cagr() + s.calmar() + s.max_drawdown() + s.var_95() + s.cvar_95()
}

fn naive_all(equity: &[f64]) -> f64 {
    let r = returns::simple_returns(equity);
    returns::sharpe(&r, P)
        + returns::cagr(&r, P)
        + returns::calmar(&r, P)
        + returns::max_drawdown(&r)
        + returns::var_95(&r)
        + returns::cvar_95(&r)
}

/// Rounds of updates timed on fresh copies of the prefilled state, so the history stays at
/// (within 1 % of) the case's size while enough updates are timed.
struct Plan {
    rounds: usize,
    updates: usize,
}

fn case(name: &str, history: usize, live: Plan, naive: Plan) {
    let mut walk = Walk::new();
    let mut stats = EquityStats::new(P);
    let mut curve = Vec::with_capacity(history + 1);
    for _ in 0..history {
        let e = walk.next_equity();
        stats.push(e);
        curve.push(e);
    }
    let samples: Vec<f64> = (0..live.updates.max(naive.updates))
        .map(|_| walk.next_equity())
        .collect();
    let mut sink = 0.0;

    let mut live_total = 0u128;
    for _ in 0..live.rounds {
        let mut s = stats.clone();
        let start = Instant::now();
        for e in &samples[..live.updates] {
            s.push(black_box(*e));
            sink += read_all(black_box(&s));
        }
        live_total += start.elapsed().as_nanos();
    }
    let live_ns = live_total as f64 / (live.rounds * live.updates) as f64;

    let mut naive_total = 0u128;
    for _ in 0..naive.rounds {
        let mut c = curve.clone();
        c.reserve(naive.updates);
        let start = Instant::now();
        for e in &samples[..naive.updates] {
            c.push(black_box(*e));
            sink += naive_all(black_box(&c));
        }
        naive_total += start.elapsed().as_nanos();
    }
    let naive_ns = naive_total as f64 / (naive.rounds * naive.updates) as f64;
    black_box(sink);
    println!("{name} zigquant={live_ns:.0} naive_recompute={naive_ns:.0} unit=ns");
}

fn main() {
    let plan = |rounds, updates| Plan { rounds, updates };
    case("update_1k", 1_000, plan(2_000, 10), plan(200, 10));
    case("update_100k", 100_000, plan(20, 1_000), plan(4, 5));
    case("update_1m", 1_000_000, plan(5, 10_000), plan(1, 3));
}
