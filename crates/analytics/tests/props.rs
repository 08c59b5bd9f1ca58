//! Property tests: the incremental `live` state equals the batch functions after every push
//! (histories here are shorter than the VaR window, so the rolling VaR is the whole-sample one;
//! `rolling.rs` tests windows), and the FIFO book conserves money.

use proptest::prelude::*;
use zigquant_analytics::live::{EquityStats, ReturnStats};
use zigquant_analytics::returns::*;
use zigquant_analytics::trades::*;

/// Relative 1e-9 for finite values; non-finite values must be exactly equal (NaN == NaN).
fn same(a: f64, b: f64) -> bool {
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || a == b
    } else {
        a.is_nan() && b.is_nan() || a == b
    }
}

/// Returns with ties (a small grid), wide values, total losses and non-finite values mixed in.
fn a_return() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -0.5f64..0.5,
        3 => prop::sample::select(vec![-0.02, -0.01, 0.0, 0.01, 0.02, 0.1]),
        1 => -0.99f64..3.0,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0]),
    ]
}

/// The six live values, in the order `check` compares them.
struct Live([f64; 6], usize);

impl From<&ReturnStats> for Live {
    fn from(s: &ReturnStats) -> Self {
        Live(
            [
                s.sharpe(),
                s.cagr(),
                s.calmar(),
                s.max_drawdown(),
                s.var_95(),
                s.cvar_95(),
            ],
            s.returns_len(),
        )
    }
}

impl From<&EquityStats> for Live {
    fn from(s: &EquityStats) -> Self {
        Live(
            [
                s.sharpe(),
                s.cagr(),
                s.calmar(),
                s.max_drawdown(),
                s.var_95(),
                s.cvar_95(),
            ],
            s.returns_len(),
        )
    }
}

fn check_live(live: impl Into<Live>, hist: &[f64], p: f64) -> Result<(), TestCaseError> {
    let Live(v, len) = live.into();
    let pairs = [
        ("sharpe", v[0], sharpe(hist, p)),
        ("cagr", v[1], cagr(hist, p)),
        ("calmar", v[2], calmar(hist, p)),
        ("max_drawdown", v[3], max_drawdown(hist)),
        ("var_95", v[4], var_95(hist)),
        ("cvar_95", v[5], cvar_95(hist)),
    ];
    for (name, l, b) in pairs {
        prop_assert!(
            same(l, b),
            "{name}: live {l:e} batch {b:e} n={}",
            hist.len()
        );
        prop_assert!(!(l == 0.0 && l.is_sign_negative()), "{name} is -0.0");
    }
    prop_assert_eq!(len, hist.iter().filter(|v| v.is_finite()).count());
    Ok(())
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.

    #[test]
    fn live_returns_equal_batch_after_every_push(
        xs in prop::collection::vec(a_return(), 0..250),
        p in prop::sample::select(vec![252.0, 365.0]),
    ) {
        let mut live = ReturnStats::new(p);
        check_live(&live, &[], p)?;
        for i in 0..xs.len() {
            live.push(xs[i]);
            check_live(&live, &xs[..=i], p)?;
        }
    }

    #[test]
    fn live_equity_equals_batch_on_simple_returns(
        eq in prop::collection::vec(prop_oneof![
            8 => 50.0f64..150.0,
            2 => prop::sample::select(vec![100.0, 101.0, 99.0]),
            1 => prop::sample::select(vec![0.0, f64::NAN, f64::INFINITY]),
        ], 0..200),
    ) {
        let mut live = EquityStats::new(365.0);
        for i in 0..eq.len() {
            live.push(eq[i]);
            let r = simple_returns(&eq[..=i]);
            check_live(&live, &r, 365.0)?;
            prop_assert!(same(live.sharpe(), sharpe(&r, 365.0)));
        }
    }

    #[test]
    fn long_live_series_stays_in_agreement(
        xs in prop::collection::vec(-0.05f64..0.05, 2000..4000),
    ) {
        let mut live = ReturnStats::new(252.0);
        for x in &xs {
            live.push(*x);
        }
        check_live(&live, &xs, 252.0)?;
    }

    #[test]
    fn cvar_is_at_least_var_and_drawdown_is_a_fraction(
        xs in prop::collection::vec(a_return(), 0..300),
    ) {
        let (v, c, d) = (var_95(&xs), cvar_95(&xs), max_drawdown(&xs));
        if !v.is_nan() {
            prop_assert!(c >= v, "cvar {c} < var {v}");
            prop_assert!((0.0..=1.0).contains(&d), "drawdown {d}");
        }
    }

    #[test]
    fn fifo_pnl_plus_open_value_equals_cash_accounting(
        fills in prop::collection::vec((
            any::<bool>(),
            prop::sample::select(vec![0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0]),
            50.0f64..150.0,
        ), 0..60),
        fee_rate in prop::sample::select(vec![0.0, 0.001, 0.01]),
        mark in 50.0f64..150.0,
    ) {
        let mut book = FifoBook::new();
        let mut stats = TradeStats::default();
        let (mut cash, mut position, mut fees_paid) = (0.0, 0.0, 0.0);
        for (t, (buy, qty, price)) in fills.iter().enumerate() {
            let side = if *buy { Side::Buy } else { Side::Sell };
            let fee = fee_rate * qty * price;
            for trade in book.apply(&Fill { side, qty: *qty, price: *price, fee, time_ms: t as i64 }) {
                prop_assert!(trade.qty > 0.0);
                stats.record(&trade);
            }
            cash -= side.sign() * qty * price + fee;
            position += side.sign() * qty;
            fees_paid += fee;
        }
        let scale = 1e-9 * (1.0 + fills.iter().map(|f| f.1 * f.2).sum::<f64>());
        prop_assert!((book.position() - position).abs() <= 1e-9, "{} vs {}", book.position(), position);
        let books = stats.total_realized_pnl() + book.unrealized_pnl(mark) - book.open_entry_fees();
        let cash_equity = cash + position * mark;
        prop_assert!((books - cash_equity).abs() <= scale, "{books} vs {cash_equity}");
        prop_assert!((stats.total_fees() + book.open_entry_fees() - fees_paid).abs() <= scale);
        prop_assert_eq!(stats.closed(), stats.wins() + stats.losses() + stats.breakevens());
    }
}

/// Welford's variance against the two-pass formula where it is hardest: a long series whose
/// mean is a thousand times its spread (the sd is small next to the values).
#[test]
fn welford_agrees_with_two_pass_on_a_long_drifting_series() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut xs = Vec::with_capacity(300_000);
    for _ in 0..300_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        xs.push(0.001 + 1e-6 * u);
    }
    let mut live = ReturnStats::new(252.0);
    for x in &xs {
        live.push(*x);
    }
    let (l, b) = (live.sharpe(), sharpe(&xs, 252.0));
    assert!((l - b).abs() <= 1e-9 * b.abs(), "live {l} batch {b}");
    // VaR/CVaR cover the last DEFAULT_VAR_WINDOW returns only (docs/statistics.md §8).
    let window = &xs[xs.len() - zigquant_analytics::live::DEFAULT_VAR_WINDOW..];
    assert_eq!(live.var_95(), var_95(window));
    assert_eq!(live.cvar_95(), cvar_95(window));
    assert_eq!(live.max_drawdown(), max_drawdown(&xs));
    assert_eq!(live.cagr(), cagr(&xs, 252.0));
}
