//! The `backtest` command end to end: CSV → bars → strategy → fills → trades → statistics,
//! checked trade by trade against arithmetic done by hand (docs/statistics.md §6 and §10).

use zigquant_analytics::returns;
use zigquant_engine::backtest::{
    run, run_with_progress, BacktestConfig, BacktestError, BacktestReport,
};
use zigquant_engine::bars::{load_csv, load_csv_with_progress, parse_csv, CsvError};
use zigquant_engine::strategy::{Mode, StrategyParams};

/// 18 daily bars. Closes and the SMA(2) / SMA(3) of the close:
///
/// ```text
///  t  date        open  close  sma2   sma3    event at the close
///  0  2024-01-01  10    10
///  1  2024-01-02  10.5   9     9.5
///  2  2024-01-03   9.5   8     8.5    9
///  3  2024-01-04   8.5   9     8.5    8.667
///  4  2024-01-05   9.5  11    10      9.333   UP   (8.5 < 8.667, 10 > 9.333)
///  5  2024-01-06  11.5  12    11.5   10.667
///  6  2024-01-07  12.5   9    10.5   10.667   DOWN (11.5 > 10.667, 10.5 < 10.667)
///  7  2024-01-08   9.5   8     8.5    9.667
///  8  2024-01-09   8.5   7     7.5    8
///  9  2024-01-10   7.5   9     8      8       tie
/// 10  2024-01-11   9.5  12    10.5    9.333   no cross: the previous bar was a tie (strict)
/// 11  2024-01-12  12.5  13    12.5   11.333
/// 12  2024-01-13  13.5  10    11.5   11.667   DOWN
/// 13  2024-01-14  10.5   8     9     10.333
/// 14  2024-01-15   8.5   9     8.5    9
/// 15  2024-01-16   9.5  12    10.5    9.667   UP
/// 16  2024-01-17  12.5  11    11.5   10.667
/// 17  2024-01-18  14    12    12.5   11.667   last bar: everything closes at its open (14)
/// ```
const BARS: &str = "Date,Open,High,Low,Close,Volume
2024-01-01,10,11,9,10,100
2024-01-02,10.5,11.5,8,9,100
2024-01-03,9.5,10.5,7,8,100
2024-01-04,8.5,10,7.5,9,100
2024-01-05,9.5,12,8.5,11,100
2024-01-06,11.5,13,10.5,12,100
2024-01-07,12.5,13.5,8,9,100
2024-01-08,9.5,10.5,7,8,100
2024-01-09,8.5,9.5,6,7,100
2024-01-10,7.5,10,6.5,9,100
2024-01-11,9.5,13,8.5,12,100
2024-01-12,12.5,14,11.5,13,100
2024-01-13,13.5,14.5,9,10,100
2024-01-14,10.5,11.5,7,8,100
2024-01-15,8.5,10,7.5,9,100
2024-01-16,9.5,13,8.5,12,100
2024-01-17,12.5,13.5,10,11,100
2024-01-18,14,15,11,12,100
";

fn sma_config(mode: Mode) -> BacktestConfig {
    BacktestConfig {
        params: StrategyParams::SmaCross {
            fast: 2,
            slow: 3,
            mode,
            qty: 2.0,
        },
        cash: 1000.0,
        fee_rate: 0.01,
        periods_per_year: 365.0,
    }
}

#[track_caller]
fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "got {actual}, want {expected}"
    );
}

fn run_bars(config: &BacktestConfig) -> BacktestReport {
    let series = parse_csv(BARS).expect("fixture parses");
    assert_eq!(series.len(), 18);
    run(&series, config).expect("backtest runs")
}

#[test]
fn long_short_sma_cross_trade_by_trade() {
    let report = run_bars(&sma_config(Mode::LongShort));
    let t = &report.trades;
    assert_eq!(t.len(), 3, "{}", report.render_table());

    // UP at t4 → buy 2 at the open of t5 (11.5), fee 0.01·2·11.5 = 0.23.
    // DOWN at t6 → sell 4 at the open of t7 (9.5), fee 0.01·4·9.5 = 0.38: 0.19 closes the long,
    // 0.19 opens the short. Long: 2·(9.5 - 11.5) - (0.23 + 0.19) = -4.42
    assert_eq!(t[0].side, "long");
    assert_eq!(
        (t[0].entry_time.as_str(), t[0].exit_time.as_str()),
        ("2024-01-06", "2024-01-08")
    );
    assert_eq!(
        (t[0].entry_price, t[0].exit_price, t[0].qty),
        (11.5, 9.5, 2.0)
    );
    close(t[0].fees, 0.42);
    close(t[0].realized_pnl, -4.42);

    // DOWN at t12 while already short: nothing. UP at t15 → buy 4 at the open of t16 (12.5),
    // fee 0.01·4·12.5 = 0.5: 0.25 closes the short, 0.25 opens a long.
    // Short: -2·(12.5 - 9.5) - (0.19 + 0.25) = -6.44
    assert_eq!(t[1].side, "short");
    assert_eq!(
        (t[1].entry_time.as_str(), t[1].exit_time.as_str()),
        ("2024-01-08", "2024-01-17")
    );
    assert_eq!((t[1].entry_price, t[1].exit_price), (9.5, 12.5));
    close(t[1].fees, 0.44);
    close(t[1].realized_pnl, -6.44);

    // End of data: the long closes at the open of the last bar (14), fee 0.01·2·14 = 0.28.
    // Long: 2·(14 - 12.5) - (0.25 + 0.28) = 2.47
    assert_eq!(t[2].side, "long");
    assert_eq!(
        (t[2].entry_time.as_str(), t[2].exit_time.as_str()),
        ("2024-01-17", "2024-01-18")
    );
    assert_eq!((t[2].entry_price, t[2].exit_price), (12.5, 14.0));
    close(t[2].fees, 0.53);
    close(t[2].realized_pnl, 2.47);

    let s = &report.stats;
    assert_eq!(
        (s.closed_trades, s.wins, s.losses, s.breakevens),
        (3, 1, 2, 0)
    );
    close(s.win_rate, 1.0 / 3.0);
    close(s.total_realized_pnl, -8.39); // -4.42 - 6.44 + 2.47
    close(s.total_fees, 1.39); // 0.42 + 0.44 + 0.53
    close(s.final_equity, 991.61);

    // Equity: one point per bar, flat at the cash before the first fill.
    let e = &report.equity;
    assert_eq!(e.len(), 18);
    assert!(e[..5].iter().all(|v| *v == 1000.0));
    // t5 close 12: 1000 + 2·(12 - 11.5) - 0.23 (entry fee of the open long) = 1000.77
    close(e[5], 1000.77);
    // t16 close 11: 1000 - 10.86 realized + 2·(11 - 12.5) - 0.25 = 985.89
    close(e[16], 985.89);
    close(e[17], 991.61);

    // The statistics are analytics' functions of that curve (no second implementation).
    let r = returns::simple_returns(e);
    close(s.sharpe, returns::sharpe(&r, 365.0));
    close(s.max_drawdown, returns::max_drawdown(&r));
    close(s.var_95, returns::var_95(&r));
    close(s.cvar_95, returns::cvar_95(&r));
    close(s.cagr, returns::cagr(&r, 365.0));
    close(s.calmar, returns::calmar(&r, 365.0));
    // Closed-trade equity: 1000, 995.58, 989.14, 991.61 → worst 989.14/1000 - 1
    close(s.max_drawdown_closed_trades, 0.01086);
    // Mark-to-market drawdown is at least the closed-trade one here.
    assert!(s.max_drawdown >= s.max_drawdown_closed_trades);
}

#[test]
fn long_only_sma_cross_trade_by_trade() {
    let report = run_bars(&sma_config(Mode::LongOnly));
    let t = &report.trades;
    assert_eq!(t.len(), 2, "{}", report.render_table());
    // Buy 2 at 11.5 (t5), sell 2 at 9.5 (t7): fees 0.23 + 0.19; pnl -4 - 0.42 = -4.42
    assert_eq!(t[0].side, "long");
    close(t[0].fees, 0.42);
    close(t[0].realized_pnl, -4.42);
    // DOWN at t12 while flat: nothing. Buy 2 at 12.5 (t16), closed at 14 (last open):
    // fees 0.25 + 0.28; pnl 3 - 0.53 = 2.47
    assert_eq!(
        (t[1].entry_time.as_str(), t[1].exit_time.as_str()),
        ("2024-01-17", "2024-01-18")
    );
    close(t[1].realized_pnl, 2.47);
    let s = &report.stats;
    assert_eq!((s.closed_trades, s.wins, s.losses), (2, 1, 1));
    assert_eq!(s.win_rate, 0.5);
    close(s.total_realized_pnl, -1.95);
    close(s.total_fees, 0.95);
    close(s.final_equity, 998.05);
    // Flat from t7 (after the sell at its open) to t15: equity 1000 - 4.42
    assert!(report.equity[7..16]
        .iter()
        .all(|v| (v - 995.58).abs() < 1e-9));
    assert!(!t.iter().any(|t| t.side == "short"));
}

#[test]
fn a_decision_on_the_bar_before_the_last_fills_then_everything_closes() {
    // Same bars but stop after t16: the UP at t15 fills at the open of t16 (12.5), the last bar,
    // and then everything closes at that same open (backtesting.py's end-of-run close).
    let text: String = BARS.lines().take(18).map(|l| format!("{l}\n")).collect();
    let series = parse_csv(&text).expect("parses");
    assert_eq!(series.len(), 17);
    let report = run(&series, &sma_config(Mode::LongShort)).expect("runs");
    let t = &report.trades;
    assert_eq!(t.len(), 3, "{}", report.render_table());
    // Buy 4 at 12.5 (fee 0.5): the short closes: -2·(12.5 - 9.5) - (0.19 + 0.25) = -6.44
    assert_eq!(
        (t[1].side.as_str(), t[1].exit_time.as_str()),
        ("short", "2024-01-17")
    );
    close(t[1].realized_pnl, -6.44);
    // ... and a long opens, then closes at the same price: 0 - (0.25 + 0.01·2·12.5) = -0.5
    assert_eq!(
        (t[2].side.as_str(), t[2].entry_time.as_str()),
        ("long", "2024-01-17")
    );
    assert_eq!((t[2].entry_price, t[2].exit_price), (12.5, 12.5));
    close(t[2].realized_pnl, -0.5);
    assert_eq!(report.stats.closed_trades, 3);
}

#[test]
fn mean_reversion_enters_on_z_and_exits_near_the_mean() {
    // window 3, entry 1, exit 0.5, no fees; opens equal closes.
    // t2 [10,10,10]: all equal → z undefined → hold.
    // t3 [10,10,13]: mean 11, sd = sqrt((1+1+4)/2) = √3, z = 2/√3 = 1.155 > 1 → short 1.
    // t4 [10,13,10]: z = -1/√3 = -0.577: hold (fills the short at the open of t4 = 10).
    // t5 [13,10,11]: mean 11.333, sd = sqrt((2.778+1.778+0.111)/2) = 1.528,
    //     z = -0.333/1.528 = -0.218, |z| < 0.5 → flat at the open of t6 (11).
    // Short: -1·(11 - 10) = -1.
    let csv = "timestamp,open,high,low,close\n\
               1704067200,10,10,10,10\n1704153600,10,10,10,10\n1704240000,10,10,10,10\n\
               1704326400,13,13,13,13\n1704412800,10,10,10,10\n1704499200,11,11,11,11\n\
               1704585600,11,11,11,11\n1704672000,11,11,11,11\n1704758400,11,11,11,11\n";
    let series = parse_csv(csv).expect("parses");
    let config = BacktestConfig {
        params: StrategyParams::MeanReversion {
            window: 3,
            entry_z: 1.0,
            exit_z: 0.5,
            qty: 1.0,
        },
        cash: 100.0,
        fee_rate: 0.0,
        periods_per_year: 252.0,
    };
    let report = run(&series, &config).expect("runs");
    assert_eq!(report.trades.len(), 1, "{}", report.render_table());
    let t = &report.trades[0];
    assert_eq!(t.side, "short");
    assert_eq!(
        (t.entry_time.as_str(), t.exit_time.as_str()),
        ("1704412800", "1704585600")
    );
    assert_eq!((t.entry_price, t.exit_price, t.fees), (10.0, 11.0, 0.0));
    assert_eq!(t.realized_pnl, -1.0);
    assert_eq!(report.stats.final_equity, 99.0);
}

#[test]
fn no_trades_serializes_undefined_stats_as_strings() {
    // Flat prices: no cross, no trade, flat equity.
    let csv = "date,open,high,low,close\n2024-01-01,5,5,5,5\n2024-01-02,5,5,5,5\n2024-01-03,5,5,5,5\n2024-01-04,5,5,5,5\n";
    let report = run(
        &parse_csv(csv).expect("parses"),
        &sma_config(Mode::LongShort),
    )
    .expect("runs");
    let s = &report.stats;
    assert_eq!(s.closed_trades, 0);
    assert!(s.win_rate.is_nan());
    assert_eq!(s.total_realized_pnl, 0.0);
    assert!(s.sharpe.is_nan()); // all returns 0 → NaN
    assert_eq!(s.max_drawdown, 0.0);
    assert!(s.calmar.is_nan());
    assert!(s.max_drawdown_closed_trades.is_nan()); // no closed trade
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["stats"]["win_rate"], "NaN");
    assert_eq!(json["stats"]["sharpe"], "NaN");
    assert_eq!(json["stats"]["max_drawdown"], 0.0);
    assert_eq!(json["stats"]["final_equity"], 1000.0);
    assert_eq!(json["trades"].as_array().map(Vec::len), Some(0));
    assert!(json.get("equity").is_none());
    let table = report.render_table();
    assert!(
        table.contains("win_rate") && table.contains("NaN"),
        "{table}"
    );
}

#[test]
fn json_has_the_documented_fields() {
    let report = run_bars(&sma_config(Mode::LongShort));
    let json = serde_json::to_value(&report).expect("serializes");
    let trade = &json["trades"][0];
    for key in [
        "side",
        "qty",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "fees",
        "realized_pnl",
    ] {
        assert!(trade.get(key).is_some(), "trade lacks {key}");
    }
    for key in [
        "closed_trades",
        "wins",
        "losses",
        "breakevens",
        "win_rate",
        "total_realized_pnl",
        "total_fees",
        "final_equity",
        "sharpe",
        "cagr",
        "calmar",
        "max_drawdown",
        "var_95",
        "cvar_95",
        "max_drawdown_closed_trades",
    ] {
        assert!(json["stats"].get(key).is_some(), "stats lack {key}");
    }
    assert_eq!(trade["side"], "long");
    assert_eq!(trade["entry_time"], "2024-01-06");
    let table = report.render_table();
    assert!(
        table.contains("2024-01-06") && table.contains("-4.4200"),
        "{table}"
    );
}

#[test]
fn invalid_configurations_are_errors() {
    let series = parse_csv(BARS).expect("parses");
    let mut c = sma_config(Mode::LongShort);
    c.params = StrategyParams::SmaCross {
        fast: 3,
        slow: 3,
        mode: Mode::LongOnly,
        qty: 1.0,
    };
    assert!(matches!(run(&series, &c), Err(BacktestError::Params(_))));
    let mut c = sma_config(Mode::LongShort);
    c.cash = 0.0;
    assert!(matches!(run(&series, &c), Err(BacktestError::Config(_))));
    let mut c = sma_config(Mode::LongShort);
    c.fee_rate = f64::NAN;
    assert!(matches!(run(&series, &c), Err(BacktestError::Config(_))));
}

// ---- CSV loading ----

#[track_caller]
fn csv_err(text: &str) -> String {
    match parse_csv(text) {
        Ok(s) => panic!("expected an error, parsed {} bars", s.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn csv_headers_are_flexible() {
    // Case-insensitive, any order, extra columns ignored, volume optional, CRLF, empty time
    // header, quoted fields, unix milliseconds.
    let s = parse_csv("\u{feff},CLOSE,Low,High,Open,Adj Close\r\n\"1704067200000\",2,1,3,1.5,9\r\n1704067260000,2.5,1.5,3,2,9\r\n\r\n")
        .expect("parses");
    assert_eq!(s.len(), 2);
    let b = s.get(0).expect("a first bar");
    assert_eq!(
        (b.time_ms, b.open, b.high, b.low, b.close, b.volume),
        (1_704_067_200_000, 1.5, 3.0, 1.0, 2.0, 0.0)
    );
    assert_eq!(
        s.labels().collect::<Vec<_>>(),
        ["1704067200000", "1704067260000"]
    );
    let s = parse_csv("datetime,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,1,1,1,5\n2024-01-01 00:01:30.250,1,1,1,1,5\n").expect("parses");
    let time = |i| s.get(i).map_or(0, |b| b.time_ms);
    assert_eq!(time(1) - time(0), 90_250);
}

#[test]
fn malformed_csv_errors_name_the_line() {
    let h = "date,open,high,low,close,volume\n";
    assert!(csv_err("").contains("line 1"));
    let e = csv_err("date,open,high,low\n2024-01-01,1,1,1\n");
    assert!(e.contains("line 1") && e.contains("close"), "{e}");
    let e = csv_err("symbol,open,high,low,close\n");
    assert!(e.contains("line 1") && e.contains("first column"), "{e}");
    let e = csv_err("date,open,high,low,close\n");
    assert!(e.contains("line 2") && e.contains("no data"), "{e}");
    let e = csv_err(&format!("{h}2024-01-01,1,1,1,1,1\n2024-01-02,1,1,x,1,1\n"));
    assert!(
        e.contains("line 3") && e.contains("low") && e.contains("\"x\""),
        "{e}"
    );
    let e = csv_err(&format!("{h}2024-01-01,1,1,1,1,1\n2024-01-02,1,1,1,1\n"));
    assert!(
        e.contains("line 3") && e.contains("expected 6 fields") && e.contains("found 5"),
        "{e}"
    );
    let e = csv_err(&format!("{h}2024-01-02,1,1,1,1,1\n2024-01-02,1,1,1,1,1\n"));
    assert!(e.contains("line 3") && e.contains("not after"), "{e}");
    let e = csv_err(&format!("{h}2024-01-02,1,1,1,1,1\n2024-01-01,1,1,1,1,1\n"));
    assert!(e.contains("line 3") && e.contains("increasing"), "{e}");
    let e = csv_err(&format!("{h}2024-02-30,1,1,1,1,1\n"));
    assert!(e.contains("line 2") && e.contains("2024-02-30"), "{e}");
    let e = csv_err(&format!("{h}2024-01-01,1,1,1,NaN,1\n"));
    assert!(
        e.contains("line 2") && e.contains("close") && e.contains("finite"),
        "{e}"
    );
    let e = csv_err(&format!("{h}2024-01-01,1,1,1,1,-5\n"));
    assert!(e.contains("line 2") && e.contains("volume"), "{e}");
    // Blank lines are skipped but still counted.
    let e = csv_err(&format!(
        "{h}\n2024-01-01,1,1,1,1,1\n\n2024-01-01 junk,1,1,1,1,1\n"
    ));
    assert!(e.contains("line 5"), "{e}");
    let e = csv_err("date,open,high,low,close,close\n");
    assert!(e.contains("more than once"), "{e}");
}

#[test]
fn load_csv_reads_files_and_reports_progress() {
    let dir = std::env::temp_dir().join(format!("zigquant-backtest-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bars.csv");
    std::fs::write(&path, BARS).expect("write");
    let mut calls = Vec::new();
    let series =
        load_csv_with_progress(&path, &mut |read, total| calls.push((read, total))).expect("loads");
    assert_eq!(series.len(), 18);
    assert_eq!(calls.last(), Some(&(BARS.len() as u64, BARS.len() as u64)));
    assert_eq!(load_csv(&path).expect("loads"), series);
    std::fs::write(
        &path,
        b"date,open,high,low,close\n2024-01-01,1,1,1,1\n\xff\n",
    )
    .expect("write");
    let e = load_csv(&path).expect_err("not utf-8");
    assert!(matches!(e, CsvError::NotUtf8 { line: 3 }), "{e}");
    let e = load_csv(&dir.join("missing.csv")).expect_err("missing");
    assert!(e.to_string().contains("missing.csv"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn progress_is_reported_from_zero_to_every_bar_and_changes_nothing() {
    let series = parse_csv(BARS).expect("parses");
    let config = sma_config(Mode::LongShort);
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let with = run_with_progress(&series, &config, &mut |done, total| {
        calls.push((done, total))
    })
    .expect("runs");
    assert_eq!(calls.first(), Some(&(0, 18)));
    assert_eq!(calls.last(), Some(&(18, 18)));
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(with, run(&series, &config).expect("runs"));
}
