//! Rolling VaR/CVaR against a brute-force sort of the window (the batch §4/§5 functions over
//! the last `W` returns), across window boundaries, non-finite returns and restarts.

use proptest::prelude::*;
use zigquant_analytics::returns::{cvar_95, var_95};
use zigquant_analytics::rolling::RollingVar;

/// Bit-identical, NaN == NaN: the structure must give the very numbers a sort gives.
fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The last `w` returns of `xs`, as the brute force sees the window.
fn window(xs: &[f64], w: usize) -> &[f64] {
    &xs[xs.len().saturating_sub(w)..]
}

/// docs/statistics.md §4/§5 written out on a full sort of the window (independent of the crate's
/// selection-based batch functions): `(var, cvar)` gauges.
fn sorted_oracle(win: &[f64]) -> (f64, f64) {
    let mut s: Vec<f64> = win.iter().copied().filter(|v| v.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let h = (n - 1) as f64 * 0.05;
    let lo = h.floor() as usize;
    let t = h - h.floor();
    let q = if lo + 1 >= n {
        s[lo]
    } else if t < 0.5 {
        s[lo] + (s[lo + 1] - s[lo]) * t
    } else {
        s[lo + 1] - (s[lo + 1] - s[lo]) * (1.0 - t)
    };
    let k = ((n - 1) as f64 * 0.05) as usize;
    let tail = s[..=k].iter().sum::<f64>() / (k + 1) as f64;
    (-q, -tail)
}

fn check(r: &RollingVar, xs: &[f64], w: usize) -> Result<(), TestCaseError> {
    let win = window(xs, w);
    let (ov, oc) = sorted_oracle(win);
    prop_assert!(
        same_bits(r.var_95(), ov) || r.var_95() == ov,
        "var vs sort: {:e} {ov:e}",
        r.var_95()
    );
    prop_assert!(
        same_bits(r.cvar_95(), oc) || (r.cvar_95() - oc).abs() <= 1e-12 * oc.abs().max(1e-300),
        "cvar vs sort: {:e} {oc:e}",
        r.cvar_95()
    );
    let (v, c) = (var_95(win), cvar_95(win));
    prop_assert!(
        same_bits(r.var_95(), v),
        "var: rolling {:e} sort {v:e} (len {}, w {w})",
        r.var_95(),
        xs.len()
    );
    prop_assert!(
        same_bits(r.cvar_95(), c),
        "cvar: rolling {:e} sort {c:e} (len {}, w {w})",
        r.cvar_95(),
        xs.len()
    );
    prop_assert_eq!(r.len(), win.len());
    prop_assert_eq!(r.finite_len(), win.iter().filter(|v| v.is_finite()).count());
    Ok(())
}

/// Returns with many ties (a small grid, ±0.0), wide values and non-finite ones mixed in.
fn a_return() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -0.5f64..0.5,
        4 => prop::sample::select(vec![-0.02, -0.01, -0.0, 0.0, 0.01, 0.02]),
        1 => -0.99f64..3.0,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
    ]
}

proptest! {
    #[test]
    fn rolling_equals_a_sort_of_the_window_after_every_push(
        xs in prop::collection::vec(a_return(), 0..400),
        w in prop_oneof![1usize..5, 5usize..60, 60usize..500],
    ) {
        let mut r = RollingVar::new(w);
        check(&r, &[], w)?;
        for i in 0..xs.len() {
            r.push(xs[i]);
            check(&r, &xs[..=i], w)?;
        }
    }

    #[test]
    fn a_restart_that_pushes_the_window_again_continues_identically(
        xs in prop::collection::vec(a_return(), 1..300),
        w in 1usize..80,
        cut in 0usize..300,
    ) {
        let cut = cut % xs.len();
        let mut before = RollingVar::new(w);
        for x in &xs[..cut] {
            before.push(*x);
        }
        // A restart sees only the window's returns, not the history before them.
        let mut after = RollingVar::new(w);
        for x in before.returns() {
            after.push(x);
        }
        for i in cut..xs.len() {
            before.push(xs[i]);
            after.push(xs[i]);
            prop_assert!(same_bits(before.var_95(), after.var_95()));
            prop_assert!(same_bits(before.cvar_95(), after.cvar_95()));
            check(&after, &xs[..=i], w)?;
        }
    }
}

#[test]
fn a_window_of_only_non_finite_returns_is_nan_and_recovers() {
    let mut r = RollingVar::new(3);
    r.push(-0.1);
    for _ in 0..3 {
        r.push(f64::NAN);
    }
    assert_eq!((r.len(), r.finite_len()), (3, 0));
    assert!(r.var_95().is_nan() && r.cvar_95().is_nan());
    r.push(0.02);
    assert_eq!(r.var_95(), -0.02);
    assert_eq!(r.cvar_95(), -0.02);
}

#[test]
fn an_old_crash_leaves_the_window_after_w_returns() {
    // One -50 % return among small gains: it dominates VaR until W later returns push it out.
    let w = 100;
    let mut r = RollingVar::new(w);
    r.push(-0.5);
    for _ in 0..w - 1 {
        r.push(0.001);
    }
    // n = 100, k = trunc(99 · 0.05) = 4: the tail is -0.5 and four 0.001 → (0.5 - 0.004) / 5.
    assert!((r.cvar_95() - 0.0992).abs() < 1e-12, "{}", r.cvar_95());
    r.push(0.001);
    assert_eq!(r.var_95(), -0.001);
    assert_eq!(r.cvar_95(), -0.001);
}

#[test]
fn a_long_run_keeps_memory_at_the_window() {
    let w = 1000;
    let mut r = RollingVar::new(w);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut xs = Vec::new();
    for _ in 0..50_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = (state >> 11) as f64 / (1u64 << 53) as f64 * 0.02 - 0.01;
        r.push(x);
        xs.push(x);
    }
    assert_eq!(r.len(), w);
    assert_eq!(r.var_95(), var_95(&xs[xs.len() - w..]));
    assert_eq!(r.cvar_95(), cvar_95(&xs[xs.len() - w..]));
}
