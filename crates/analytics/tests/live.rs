//! The incremental state on small hand-checked histories (the property tests in `props.rs`
//! cover random ones).

use zigquant_analytics::live::{EquityStats, ReturnStats};
use zigquant_analytics::returns;

#[test]
fn empty_state_reports_nan_everywhere() {
    let s = ReturnStats::new(252.0);
    assert_eq!(s.returns_len(), 0);
    for v in [
        s.sharpe(),
        s.cagr(),
        s.calmar(),
        s.max_drawdown(),
        s.var_95(),
        s.cvar_95(),
    ] {
        assert!(v.is_nan());
    }
    let e = EquityStats::new(252.0);
    assert!(e.sharpe().is_nan() && e.var_95().is_nan() && e.max_drawdown().is_nan());
    assert_eq!(e.last_equity(), None);
}

#[test]
fn the_first_equity_point_is_the_base() {
    let mut e = EquityStats::new(2.0);
    e.push(100.0);
    // One point, no return yet.
    assert_eq!(e.returns_len(), 0);
    assert!(e.max_drawdown().is_nan());
    e.push(110.0); // +10 %
    e.push(99.0); // -10 %
    assert_eq!(
        (e.points(), e.returns_len(), e.last_equity()),
        (3, 2, Some(99.0))
    );
    // E: 1, 1.1, 0.99 → DD = 0.99/1.1 - 1 = -0.1 → 0.1
    assert!((e.max_drawdown() - 0.1).abs() < 1e-12);
    // G = 0.99, P/n = 1 → CAGR = -0.01; Calmar = -0.01 / 0.1 = -0.1
    assert!((e.cagr() + 0.01).abs() < 1e-12);
    assert!((e.calmar() + 0.1).abs() < 1e-9);
    // Sharpe of [0.1, -0.1]: mean 0 → 0.0 (not -0.0)
    assert!(e.sharpe().abs() < 1e-12);
    let r = returns::simple_returns(&[100.0, 110.0, 99.0]);
    assert_eq!(e.var_95(), returns::var_95(&r));
    assert_eq!(e.cvar_95(), returns::cvar_95(&r));
}

#[test]
fn non_finite_samples_are_dropped_like_the_batch_functions_do() {
    let mut s = ReturnStats::new(252.0);
    for r in [f64::NAN, 0.01, f64::INFINITY, 0.01, f64::NEG_INFINITY] {
        s.push(r);
    }
    assert_eq!(s.returns_len(), 2);
    assert_eq!(s.sharpe(), f64::INFINITY); // all equal and positive
    assert_eq!(s.var_95(), -0.01);
    assert_eq!(s.cvar_95(), -0.01);
    // A NaN equity point spoils the returns on both sides of it (V/NaN and NaN/V), exactly as
    // simple_returns + the batch functions would.
    let mut e = EquityStats::new(252.0);
    for v in [100.0, f64::NAN, 100.0, 101.0] {
        e.push(v);
    }
    assert_eq!(e.returns_len(), 1);
}

#[test]
fn all_equal_returns_never_give_a_round_off_sharpe() {
    let mut s = ReturnStats::new(252.0);
    for _ in 0..1000 {
        s.push(0.1);
    }
    assert_eq!(s.sharpe(), f64::INFINITY);
    assert_eq!(s.cvar_95(), -0.1);
    assert_eq!(s.var_95(), -0.1);
    let mut z = ReturnStats::new(252.0);
    for _ in 0..10 {
        z.push(0.0);
    }
    assert!(z.sharpe().is_nan());
    for v in [z.max_drawdown(), z.var_95(), z.cvar_95()] {
        assert!(v == 0.0 && v.is_sign_positive());
    }
}
