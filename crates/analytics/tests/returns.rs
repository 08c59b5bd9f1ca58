//! Hand-checked cases for the batch statistics (docs/statistics.md §1–§5) and the §7 edge cases.
//! Each expected value is worked out from the formulas in the comment next to it.

use zigquant_analytics::returns::*;

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(close(actual, expected), "got {actual:e}, want {expected:e}");
}

/// `0.0` and not `-0.0`.
#[track_caller]
fn assert_pos_zero(v: f64) {
    assert!(v == 0.0 && v.is_sign_positive(), "got {v:e}, want +0.0");
}

#[test]
fn simple_returns_are_ratios_minus_one() {
    // 110/100 - 1 = 0.1; 99/110 - 1 = -0.1
    let r = simple_returns(&[100.0, 110.0, 99.0]);
    assert_eq!(r.len(), 2);
    assert_close(r[0], 0.1);
    assert_close(r[1], -0.1);
    assert!(simple_returns(&[100.0]).is_empty());
    assert!(simple_returns(&[]).is_empty());
    // A zero base gives a non-finite return, which the statistics drop.
    assert!(!simple_returns(&[0.0, 1.0])[0].is_finite());
}

#[test]
fn sharpe_is_mean_over_sample_sd_times_root_p() {
    // mean = 0.02; deviations ±0.01; sd = sqrt(2 * 0.0001 / 1) = 0.01·√2
    // sharpe = 0.02 / (0.01·√2) · √252 = √2 · √252 = √504
    assert_close(sharpe(&[0.01, 0.03], 252.0), 504f64.sqrt());
    // mean = (0.01 + 0.02 - 0.03 + 0.04) / 4 = 0.01
    // squared deviations: 0, 0.0001, 0.0016, 0.0009 → Σ = 0.0026; sd = sqrt(0.0026/3)
    let sd = (0.0026f64 / 3.0).sqrt();
    assert_close(
        sharpe(&[0.01, 0.02, -0.03, 0.04], 365.0),
        0.01 / sd * 365f64.sqrt(),
    );
}

#[test]
fn sharpe_edge_cases() {
    assert!(sharpe(&[], 252.0).is_nan());
    assert!(sharpe(&[0.01], 252.0).is_nan());
    // NaN and infinities are dropped first: the same as [0.01, 0.03].
    assert_close(sharpe(&[NAN, 0.01, INF, -INF, 0.03], 252.0), 504f64.sqrt());
    assert!(sharpe(&[NAN, 0.01, INF], 252.0).is_nan());
    // All equal: decided on max == min. For [0.1; 3] the float mean is
    // 0.30000000000000004 / 3 = 0.10000000000000002, so the float sd is ~1.6e-17 and a naive
    // mean/sd would give ~1e17: the spec forbids that huge round-off number.
    assert_eq!(sharpe(&[0.1, 0.1, 0.1], 252.0), INF);
    assert_eq!(sharpe(&[-0.1, -0.1, -0.1], 252.0), -INF);
    assert!(sharpe(&[0.0, 0.0, 0.0], 252.0).is_nan());
    assert_eq!(sharpe(&[0.1, NAN, 0.1], 252.0), INF);
}

#[test]
fn max_drawdown_counts_the_base_point_as_a_peak() {
    // E: 1, 1.1, 0.88, 0.924; peak 1.1; worst DD = 0.88/1.1 - 1 = -0.2
    assert_close(max_drawdown(&[0.1, -0.2, 0.05]), 0.2);
    // A loss in the first period is a drawdown from E_0 = 1.
    assert_close(max_drawdown(&[-0.1]), 0.1);
    // E: 1, 0.5, 1, 1.5, 0.9 → DD -0.5, 0, 0, -0.4 → 0.5
    assert_close(max_drawdown(&[-0.5, 1.0, 0.5, -0.4]), 0.5);
    assert_pos_zero(max_drawdown(&[0.01, 0.02]));
    assert_pos_zero(max_drawdown(&[0.0, 0.0]));
    assert_pos_zero(max_drawdown(&[0.1]));
    assert!(max_drawdown(&[]).is_nan());
    assert!(max_drawdown(&[NAN, INF]).is_nan());
    // A total loss: E goes to 0 → DD = -1.
    assert_close(max_drawdown(&[0.2, -1.0, 0.5]), 1.0);
}

#[test]
fn max_drawdown_on_closed_trade_equity() {
    // E: 1000, 1100, 800, 850 → worst = 800/1100 - 1 = -3/11
    assert_close(
        max_drawdown_trade_equity(1000.0, &[100.0, -300.0, 50.0]),
        3.0 / 11.0,
    );
    // Same as feeding the returns E_k/E_{k-1} - 1.
    let r = simple_returns(&[1000.0, 1100.0, 800.0, 850.0]);
    assert_close(
        max_drawdown_trade_equity(1000.0, &[100.0, -300.0, 50.0]),
        max_drawdown(&r),
    );
    assert_pos_zero(max_drawdown_trade_equity(1000.0, &[10.0, 0.0]));
    assert!(max_drawdown_trade_equity(1000.0, &[]).is_nan());
    assert!(max_drawdown_trade_equity(0.0, &[1.0]).is_nan());
}

#[test]
fn cagr_uses_period_count_years() {
    // G = 1.1 · 1.1 = 1.21; P/n = 2/2 → 0.21
    assert_close(cagr(&[0.1, 0.1], 2.0), 0.21);
    // P/n = 1/2 → sqrt(1.21) - 1 = 0.1
    assert_close(cagr(&[0.1, 0.1], 1.0), 0.1);
    // NaN dropped: n = 2, not 3.
    assert_close(cagr(&[0.1, NAN, 0.1], 2.0), 0.21);
    assert!(cagr(&[], 252.0).is_nan());
    assert_pos_zero(cagr(&[0.0, 0.0], 252.0));
}

#[test]
fn calmar_is_cagr_over_max_drawdown() {
    // G = 1.1 · 0.8 · 1.05 = 0.924; P/n = 3/3 → CAGR = -0.076; MDD = 0.2 → -0.38
    assert_close(calmar(&[0.1, -0.2, 0.05], 3.0), -0.38);
    // One negative return a = -0.1 with P = 1: CAGR = 0.9 - 1 = -0.1, MDD 0.1 → -1
    assert_close(calmar(&[-0.1], 1.0), -1.0);
    // No drawdown → NaN (empyrical), never a division by zero.
    assert!(calmar(&[0.01, 0.02], 252.0).is_nan());
    assert!(calmar(&[0.1], 252.0).is_nan());
    assert!(calmar(&[], 252.0).is_nan());
    assert!(calmar(&[0.0, 0.0], 252.0).is_nan());
    // A non-finite quotient → NaN: G = 2 · 0.5^0 ... here G = 1e6, n = 2, P = 252 overflows.
    assert!(calmar(&[1e6, -0.5], 252.0).is_nan());
}

#[test]
fn var_95_interpolates_like_numpy() {
    // sorted [-0.02, 0.01, 0.03]; h = 2·0.05 = 0.1 → lo 0, t 0.1 (< 0.5)
    // q = -0.02 + (0.01 - -0.02)·0.1 = -0.017 → gauge 0.017
    assert_close(var_95(&[0.03, -0.02, 0.01]), 0.017);
    // r_i = (i - 10)/100, i = 0..30 (n = 31): h = 30·0.05 = 1.5 → lo 1, t 0.5 (lerp's 2nd form)
    // q = s_2 - (s_2 - s_1)·0.5 = -0.08 - 0.005 = -0.085
    let r: Vec<f64> = (0..31).rev().map(|i| (i as f64 - 10.0) / 100.0).collect();
    assert_close(var_95(&r), 0.085);
    // Not clamped: a tail of gains gives a negative gauge.
    // sorted [0.01, 0.02]; h = 0.05 → q = 0.01 + 0.01·0.05 = 0.0105
    assert_close(var_95(&[0.02, 0.01]), -0.0105);
    assert_close(var_95(&[-0.04]), 0.04);
    assert!(var_95(&[]).is_nan());
    assert!(var_95(&[NAN]).is_nan());
    assert_pos_zero(var_95(&[0.0, 0.0, 0.0]));
    assert_eq!(var_95(&[0.1; 50]), -0.1);
}

#[test]
fn cvar_95_takes_exactly_k_plus_one_smallest() {
    // n = 3 → k = trunc(0.1) = 0 → mean(-0.02) → 0.02
    assert_close(cvar_95(&[0.03, -0.02, 0.01]), 0.02);
    // n = 31 → k = trunc(1.5) = 1 → mean(-0.10, -0.09) = -0.095
    let r: Vec<f64> = (0..31).map(|i| (i as f64 - 10.0) / 100.0).collect();
    assert_close(cvar_95(&r), 0.095);
    // Ties at the cut are not widened: n = 21 → k = 1 → mean(-0.06, -0.04) = -0.05.
    // (quantstats would average every value ≤ VaR = -0.04: four values, -0.045.)
    let mut r = vec![-0.04, 0.01, -0.06, -0.04, -0.04];
    r.extend(std::iter::repeat_n(0.01, 16));
    assert_eq!(r.len(), 21);
    assert_close(cvar_95(&r), 0.05);
    assert_close(var_95(&r), 0.04);
    assert_close(cvar_95(&[-0.04]), 0.04);
    assert!(cvar_95(&[]).is_nan());
    assert_pos_zero(cvar_95(&[0.0; 30]));
    // All equal: exactly -a (no rounding from the mean's division).
    assert_eq!(cvar_95(&[0.1; 61]), -0.1);
    assert_eq!(cvar_95(&[-0.3; 61]), 0.3);
    // Gains only: negative gauge. n = 2 → k = 0 → 0.01 → -0.01
    assert_close(cvar_95(&[0.02, 0.01]), -0.01);
}

#[test]
fn edge_case_table_of_section_7() {
    let p = 252.0;
    // one return a
    for a in [0.05, 0.0, -0.05] {
        let x = [a];
        assert!(sharpe(&x, p).is_nan());
        // E_1 = 1 + a, so DD = (1 + a) - 1: equal to -a up to the rounding of 1 + a.
        assert_close(max_drawdown(&x), if a < 0.0 { -a } else { 0.0 });
        assert!(max_drawdown(&x).is_sign_positive());
        if a >= 0.0 {
            assert!(calmar(&x, p).is_nan());
        } else {
            assert_close(calmar(&x, p), cagr(&x, p) / a.abs());
        }
        assert_eq!(var_95(&x), -a + 0.0);
        assert_eq!(cvar_95(&x), -a + 0.0);
        assert!(var_95(&x).is_sign_positive() || a > 0.0);
    }
    // all equal
    let pos = [0.01; 10];
    assert_eq!(sharpe(&pos, p), INF);
    assert_pos_zero(max_drawdown(&pos));
    assert!(calmar(&pos, p).is_nan());
    assert_eq!(var_95(&pos), -0.01);
    assert_eq!(cvar_95(&pos), -0.01);
    let zero = [0.0; 10];
    assert!(sharpe(&zero, p).is_nan());
    assert_pos_zero(max_drawdown(&zero));
    assert!(calmar(&zero, p).is_nan());
    assert_pos_zero(var_95(&zero));
    assert_pos_zero(cvar_95(&zero));
    let neg = [-0.01; 10];
    assert_eq!(sharpe(&neg, p), -INF);
    // E_10 = 0.99^10 → DD = 0.99^10 - 1
    assert_close(max_drawdown(&neg), 1.0 - 0.99f64.powi(10));
    assert_close(
        calmar(&neg, p),
        (0.99f64.powi(10).powf(p / 10.0) - 1.0) / (1.0 - 0.99f64.powi(10)),
    );
    assert_eq!(var_95(&neg), 0.01);
    assert_eq!(cvar_95(&neg), 0.01);
    // contains NaN: dropped, then as above
    let with_nan = [NAN, 0.01, NAN, 0.01];
    assert_eq!(sharpe(&with_nan, p), INF);
    // empty
    for x in [&[][..], &[NAN, INF, -INF][..]] {
        assert!(sharpe(x, p).is_nan());
        assert!(max_drawdown(x).is_nan());
        assert!(calmar(x, p).is_nan());
        assert!(cagr(x, p).is_nan());
        assert!(var_95(x).is_nan());
        assert!(cvar_95(x).is_nan());
    }
}
