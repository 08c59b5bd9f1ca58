//! The O(1) running statistics: equal to the batch functions, and restored from a checkpoint
//! (through its byte encoding) bit-identically, so a restart never moves a gauge.

use proptest::prelude::*;
use zigquant_analytics::checkpoint::{StateReader, StateWriter};
use zigquant_analytics::returns::{cagr, calmar, max_drawdown, sharpe};
use zigquant_analytics::running::{RunningState, RunningStats};
use zigquant_analytics::trades::{FifoBook, Fill, Side, TradeStats};

fn same(a: f64, b: f64) -> bool {
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || a == b
    } else {
        a.is_nan() && b.is_nan() || a == b
    }
}

fn bits(s: &RunningStats) -> [u64; 4] {
    [s.sharpe(), s.cagr(), s.calmar(), s.max_drawdown()].map(f64::to_bits)
}

fn through_bytes(s: &RunningStats) -> RunningStats {
    let mut w = StateWriter::new();
    s.checkpoint().encode(&mut w);
    let bytes = w.into_bytes();
    let mut r = StateReader::new(&bytes);
    let state = RunningState::decode(&mut r).expect("decode");
    r.finish().expect("no trailing bytes");
    assert_eq!(state, s.checkpoint());
    RunningStats::restore(state).expect("restore")
}

fn a_return() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -0.5f64..0.5,
        3 => prop::sample::select(vec![-0.02, -0.01, 0.0, 0.01, 0.02, 0.1]),
        1 => -0.99f64..3.0,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0]),
    ]
}

proptest! {
    #[test]
    fn running_equals_batch_and_a_restore_continues_bit_identically(
        xs in prop::collection::vec(a_return(), 0..250),
        cut in 0usize..250,
        p in prop::sample::select(vec![252.0, 365.0]),
    ) {
        let cut = if xs.is_empty() { 0 } else { cut % xs.len() };
        let mut live = RunningStats::new(p);
        for x in &xs[..cut] {
            live.push(*x);
        }
        let mut restored = through_bytes(&live);
        prop_assert_eq!(bits(&live), bits(&restored));
        for i in cut..xs.len() {
            live.push(xs[i]);
            restored.push(xs[i]);
            prop_assert_eq!(bits(&live), bits(&restored));
            let h = &xs[..=i];
            for (name, l, b) in [
                ("sharpe", live.sharpe(), sharpe(h, p)),
                ("cagr", live.cagr(), cagr(h, p)),
                ("calmar", live.calmar(), calmar(h, p)),
                ("max_drawdown", live.max_drawdown(), max_drawdown(h)),
            ] {
                prop_assert!(same(l, b), "{name}: live {l:e} batch {b:e}");
            }
        }
        prop_assert_eq!(
            live.returns_len() as usize,
            xs.iter().filter(|v| v.is_finite()).count()
        );
    }

    #[test]
    fn a_checkpointed_book_and_trade_stats_close_the_same_trades(
        fills in prop::collection::vec((any::<bool>(), 0.1f64..3.0, 50.0f64..150.0), 1..40),
        cut in 0usize..40,
    ) {
        let cut = cut % fills.len();
        let fill = |t: usize| {
            let (buy, qty, price) = fills[t];
            Fill { side: if buy { Side::Buy } else { Side::Sell }, qty, price, fee: 0.001 * qty * price, time_ms: t as i64 }
        };
        let (mut book, mut stats) = (FifoBook::new(), TradeStats::default());
        for t in 0..cut {
            for c in book.apply(&fill(t)) {
                stats.record(&c);
            }
        }
        let mut w = StateWriter::new();
        book.encode(&mut w);
        stats.encode(&mut w);
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        let mut book2 = FifoBook::decode(&mut r).expect("book");
        let mut stats2 = TradeStats::decode(&mut r).expect("stats");
        r.finish().expect("no trailing bytes");
        prop_assert_eq!(&book, &book2);
        for t in cut..fills.len() {
            let (a, b) = (book.apply(&fill(t)), book2.apply(&fill(t)));
            prop_assert_eq!(&a, &b);
            for c in &a { stats.record(c); }
            for c in &b { stats2.record(c); }
        }
        prop_assert_eq!(stats, stats2);
    }
}

#[test]
fn corrupt_checkpoints_are_errors() {
    let mut s = RunningStats::new(365.0).checkpoint();
    s.periods_per_year = f64::NAN;
    assert!(RunningStats::restore(s).is_err());
    let mut s = RunningStats::new(365.0).checkpoint();
    s.sum_partials = vec![f64::INFINITY];
    assert!(RunningStats::restore(s).is_err());
    let mut w = StateWriter::new();
    w.u64(3);
    w.u64(1);
    w.u64(1);
    w.u64(0); // 1 + 1 + 0 != 3
    w.f64(0.0);
    w.f64(0.0);
    let bytes = w.into_bytes();
    assert!(TradeStats::decode(&mut StateReader::new(&bytes)).is_err());
}
