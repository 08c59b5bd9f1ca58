//! The `backtest` command's engine: docs/statistics.md §10 semantics over OHLCV bars.
//!
//! * The strategy decides at each bar's close; a decision taken at bar `t` is a market order
//!   that fills at the **open of bar `t + 1`**, paying `fee_rate × qty × price`.
//! * At the end of the data an open position is closed at the **open of the last bar**, as if
//!   a close-all decision had been taken at the bar before it. Like backtesting.py (which closes
//!   the remaining trades and re-runs its broker on the last bar), the strategy's own order from
//!   that bar fills first and the close-all second, so a cross at the second-to-last bar makes a
//!   zero-length trade that only pays fees. Decisions at the last bar have no bar to fill on.
//! * The equity curve has one point per bar, marked at the bar's close:
//!   initial cash + realized PnL + unrealized PnL − entry fees paid on the open lots.
//!
//! Round trips, PnL and every statistic come from `zigquant-analytics` (FIFO book, trade
//! statistics, return statistics): nothing is computed twice.

use std::fmt::Write as _;

use serde::Serialize;
use thiserror::Error;
use zigquant_analytics::returns;
use zigquant_analytics::trades::{ClosedTrade, Direction, FifoBook, Fill, Side, TradeStats};

use crate::config::{check_fee_rate, check_positive};
use crate::domain::bars::Bar;
use crate::domain::bars::BarSeries;
use crate::domain::float::{f64_or_str, non_finite_name};
use crate::domain::ids::PairId;
use crate::strategy::sma_cross::means_in_blocks;
use crate::strategy::{self, Ctx, Intent, ParamsError, SmaCross, StrategyParams};

/// What to run and with how much money.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestConfig {
    /// The strategy and its parameters.
    pub params: StrategyParams,
    /// Initial cash, quote currency (> 0).
    pub cash: f64,
    /// Fee per fill as a fraction of notional (`0.001` = 0.1 %).
    pub fee_rate: f64,
    /// `P` of docs/statistics.md for Sharpe, CAGR and Calmar (252 equities, 365 crypto).
    pub periods_per_year: f64,
}

/// Why a backtest cannot run.
#[derive(Debug, Error)]
pub enum BacktestError {
    /// There is no bar to run on.
    #[error("no bars to backtest")]
    NoBars,
    /// The strategy parameters are invalid.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A configuration value is out of range; the message names it.
    #[error("invalid backtest configuration: {0}")]
    Config(String),
}

/// One closed round trip, as printed and serialized.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TradeRow {
    /// `"long"` or `"short"`.
    pub side: String,
    /// Base quantity.
    #[serde(serialize_with = "f64_or_str")]
    pub qty: f64,
    /// Entry bar time, as written in the CSV.
    pub entry_time: String,
    /// Entry fill price (that bar's open).
    #[serde(serialize_with = "f64_or_str")]
    pub entry_price: f64,
    /// Exit bar time, as written in the CSV.
    pub exit_time: String,
    /// Exit fill price (that bar's open).
    #[serde(serialize_with = "f64_or_str")]
    pub exit_price: f64,
    /// Entry and exit fees of these units.
    #[serde(serialize_with = "f64_or_str")]
    pub fees: f64,
    /// Gross PnL minus fees (docs/statistics.md §6).
    #[serde(serialize_with = "f64_or_str")]
    pub realized_pnl: f64,
}

/// Summary statistics of a backtest (docs/statistics.md definitions; loss gauges are positive
/// fractions).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestStats {
    /// Closed round trips.
    pub closed_trades: u64,
    /// Trades with realized PnL > 0.
    pub wins: u64,
    /// Trades with realized PnL < 0.
    pub losses: u64,
    /// Trades with realized PnL exactly 0.
    pub breakevens: u64,
    /// `wins / closed_trades` (NaN without trades).
    #[serde(serialize_with = "f64_or_str")]
    pub win_rate: f64,
    /// Σ realized PnL, net of fees.
    #[serde(serialize_with = "f64_or_str")]
    pub total_realized_pnl: f64,
    /// Σ fees of closed trades.
    #[serde(serialize_with = "f64_or_str")]
    pub total_fees: f64,
    /// Equity at the last bar's close.
    #[serde(serialize_with = "f64_or_str")]
    pub final_equity: f64,
    /// Sharpe of the per-bar mark-to-market equity returns.
    #[serde(serialize_with = "f64_or_str")]
    pub sharpe: f64,
    /// CAGR with years = bars / periods_per_year.
    #[serde(serialize_with = "f64_or_str")]
    pub cagr: f64,
    /// CAGR / max_drawdown.
    #[serde(serialize_with = "f64_or_str")]
    pub calmar: f64,
    /// Max drawdown of the mark-to-market equity curve (one point per bar).
    #[serde(serialize_with = "f64_or_str")]
    pub max_drawdown: f64,
    /// Historical one-bar VaR 95 % of the equity returns.
    #[serde(serialize_with = "f64_or_str")]
    pub var_95: f64,
    /// CVaR 95 % of the equity returns.
    #[serde(serialize_with = "f64_or_str")]
    pub cvar_95: f64,
    /// Max drawdown of the closed-trade equity curve (initial cash + cumulative realized PnL).
    #[serde(serialize_with = "f64_or_str")]
    pub max_drawdown_closed_trades: f64,
}

/// The result of a backtest: the trades, the statistics and the equity curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestReport {
    /// Closed round trips in close order.
    pub trades: Vec<TradeRow>,
    /// Summary statistics.
    pub stats: BacktestStats,
    /// Mark-to-market equity at each bar's close (one point per bar; not serialized, it can be
    /// as long as the data).
    #[serde(skip)]
    pub equity: Vec<f64>,
}

/// Runs `config`'s strategy over `series` with the §10 rules.
pub fn run(series: &BarSeries, config: &BacktestConfig) -> Result<BacktestReport, BacktestError> {
    run_with_progress(series, config, &mut |_, _| {})
}

/// [`run`], calling `progress(bars_done, bars_total)` every 4096 bars and at the end (the
/// command line draws a progress bar with it).
pub fn run_with_progress(
    series: &BarSeries,
    config: &BacktestConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BacktestReport, BacktestError> {
    validate(series, config)?;
    let Sim {
        stats,
        closed,
        fill_labels,
        equity,
    } = match config.params {
        StrategyParams::SmaCross {
            fast,
            slow,
            mode,
            qty,
        } => std::thread::scope(|scope| {
            // The means do not depend on the position: a second core computes them, a block
            // of bars at a time, while this one runs the bars.
            let (blocks, means) = std::sync::mpsc::sync_channel(MEAN_BLOCKS_AHEAD);
            scope.spawn(move || {
                let closes = series.bars().map(|bar| bar.close);
                means_in_blocks(fast, slow, closes, |block| {
                    blocks.send(block.to_vec()).is_ok()
                });
            });
            let mut means = means.into_iter().flatten();
            let mut sma = SmaCross::new(fast, slow, mode, qty);
            simulate(series, config, progress, |_, _, position| {
                sma.decide_on(means.next().flatten(), position)
            })
        }),
        ref params => {
            let mut strategy = strategy::build(params);
            let pair = PairId::new("backtest");
            simulate(series, config, progress, |t, bar, position| {
                let positions = |_: &PairId| position;
                let ctx = Ctx {
                    tick: t as u64,
                    pair: &pair,
                    position,
                    market: &[],
                    venues: &[],
                    positions: &positions,
                };
                // Registry strategies answer targets; the backtest fills the last one at the
                // next open.
                strategy
                    .on_bar(&ctx, bar)
                    .into_iter()
                    .rev()
                    .find_map(|i| match i {
                        Intent::Target { qty } => Some(qty),
                        Intent::Order(_) => None,
                    })
            })
        }
    };

    let r = returns::simple_returns(&equity);
    let p = config.periods_per_year;
    // The tail statistics (a selection over every return) on a second core while this one
    // makes the passes of the others.
    let ((var_95, cvar_95), (sharpe, cagr, max_drawdown)) = std::thread::scope(|scope| {
        let tail = scope.spawn(|| returns::tail_95(&r));
        let others = (
            returns::sharpe(&r, p),
            returns::cagr(&r, p),
            returns::max_drawdown(&r),
        );
        let tail = tail
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (tail, others)
    });
    let pnls: Vec<f64> = closed.iter().map(|t| t.realized_pnl).collect();
    let report_stats = BacktestStats {
        closed_trades: stats.closed(),
        wins: stats.wins(),
        losses: stats.losses(),
        breakevens: stats.breakevens(),
        win_rate: stats.win_rate(),
        total_realized_pnl: stats.total_realized_pnl(),
        total_fees: stats.total_fees(),
        final_equity: equity.last().copied().unwrap_or(config.cash),
        sharpe,
        cagr,
        calmar: returns::calmar_from(cagr, max_drawdown),
        max_drawdown,
        var_95,
        cvar_95,
        max_drawdown_closed_trades: returns::max_drawdown_trade_equity(config.cash, &pnls),
    };
    let label = |time_ms: i64| {
        let found = fill_labels.binary_search_by_key(&time_ms, |(time, _)| *time);
        found.map_or_else(|_| String::new(), |i| fill_labels[i].1.clone())
    };
    let trades = closed
        .iter()
        .map(|t| TradeRow {
            side: match t.direction {
                Direction::Long => "long",
                Direction::Short => "short",
            }
            .to_string(),
            qty: t.qty,
            entry_time: label(t.entry_time_ms),
            entry_price: t.entry_price,
            exit_time: label(t.exit_time_ms),
            exit_price: t.exit_price,
            fees: t.fees,
            realized_pnl: t.realized_pnl,
        })
        .collect();
    Ok(BacktestReport {
        trades,
        stats: report_stats,
        equity,
    })
}

/// Blocks of SMA means the second core may compute ahead of the bars run.
const MEAN_BLOCKS_AHEAD: usize = 4;

/// What running the bars leaves for the report.
struct Sim {
    stats: TradeStats,
    closed: Vec<ClosedTrade>,
    /// The time text of every fill's bar (see [`simulate`]).
    fill_labels: Vec<(i64, String)>,
    equity: Vec<f64>,
}

/// Runs the bars with the §10 rules; `decide(t, bar, position)` is the strategy's target
/// after bar `t`'s close (`None`: no change), asked once per bar in order.
fn simulate(
    series: &BarSeries,
    config: &BacktestConfig,
    progress: &mut dyn FnMut(u64, u64),
    mut decide: impl FnMut(usize, &Bar, f64) -> Option<f64>,
) -> Sim {
    let last = series.len() - 1;
    let mut book = FifoBook::new();
    let mut stats = TradeStats::default();
    let mut closed: Vec<ClosedTrade> = Vec::new();
    // The time text of every fill's bar, taken while the bar is at hand: trades start and end
    // at fills, so their labels are found in this short list afterwards instead of a search
    // over every bar (a cache miss per step).
    let mut fill_labels: Vec<(i64, String)> = Vec::new();
    let mut equity = Vec::with_capacity(series.len());
    let mut pending: Option<f64> = None;

    let total = series.len() as u64;
    // Realized PnL and the entry fees of the open lots change only with a fill.
    let mut realized = stats.total_realized_pnl();
    let mut entry_fees = book.open_entry_fees();
    for (t, bar) in series.bars().enumerate() {
        if t % 4096 == 0 {
            progress(t as u64, total);
        }
        // Orders decided at the previous close fill at this open; at the last bar everything
        // still open is then closed at the same open.
        let close_all = (t == last && t > 0).then_some(0.0);
        for target in [pending.take(), close_all].into_iter().flatten() {
            let delta = target - book.position();
            if delta != 0.0 && delta.is_finite() {
                let qty = delta.abs();
                let fill = Fill {
                    side: if delta > 0.0 { Side::Buy } else { Side::Sell },
                    qty,
                    price: bar.open,
                    fee: config.fee_rate * qty * bar.open,
                    time_ms: bar.time_ms,
                };
                if fill_labels.last().map(|(time, _)| *time) != Some(bar.time_ms) {
                    let label = series.label(t).unwrap_or_default().into_owned();
                    fill_labels.push((bar.time_ms, label));
                }
                for trade in book.apply(&fill) {
                    stats.record(&trade);
                    closed.push(trade);
                }
                realized = stats.total_realized_pnl();
                entry_fees = book.open_entry_fees();
            }
        }
        pending = decide(t, bar, book.position());
        equity.push(config.cash + realized + book.unrealized_pnl(bar.close) - entry_fees);
    }
    progress(total, total);
    Sim {
        stats,
        closed,
        fill_labels,
        equity,
    }
}

fn validate(series: &BarSeries, config: &BacktestConfig) -> Result<(), BacktestError> {
    if series.is_empty() {
        return Err(BacktestError::NoBars);
    }
    config.params.validate()?;
    // The live configuration's rules for the same quantities (config/validate.rs).
    let named = |name: &str, m: String| BacktestError::Config(format!("{name}: {m}"));
    check_positive(config.cash).map_err(|m| named("cash", m))?;
    check_fee_rate(config.fee_rate).map_err(|m| named("fee_rate", m))?;
    check_positive(config.periods_per_year).map_err(|m| named("periods_per_year", m))?;
    Ok(())
}

/// A float for people: fixed decimals, or `NaN` / `+Inf` / `-Inf`.
fn fmt_num(v: f64, decimals: usize) -> String {
    match non_finite_name(v) {
        None => format!("{v:.decimals$}"),
        Some(name) => name.to_string(),
    }
}

impl BacktestReport {
    /// A plain-text table of the trades followed by the statistics, for the terminal.
    pub fn render_table(&self) -> String {
        let mut rows: Vec<[String; 9]> = vec![[
            "#".into(),
            "side".into(),
            "qty".into(),
            "entry_time".into(),
            "entry_price".into(),
            "exit_time".into(),
            "exit_price".into(),
            "fees".into(),
            "realized_pnl".into(),
        ]];
        for (i, t) in self.trades.iter().enumerate() {
            rows.push([
                (i + 1).to_string(),
                t.side.clone(),
                fmt_num(t.qty, 6),
                t.entry_time.clone(),
                fmt_num(t.entry_price, 4),
                t.exit_time.clone(),
                fmt_num(t.exit_price, 4),
                fmt_num(t.fees, 4),
                fmt_num(t.realized_pnl, 4),
            ]);
        }
        let mut widths = [0usize; 9];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "Trades ({})", self.trades.len());
        for (r, row) in rows.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(c, (cell, w))| {
                    // Text columns left-aligned, numbers right-aligned.
                    if matches!(c, 1 | 3 | 5) {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
            if r == 0 {
                let total = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                let _ = writeln!(out, "{}", "-".repeat(total));
            }
        }
        let s = &self.stats;
        let _ = writeln!(out);
        let _ = writeln!(out, "Statistics");
        let lines: [(&str, String); 15] = [
            ("closed_trades", s.closed_trades.to_string()),
            ("wins", s.wins.to_string()),
            ("losses", s.losses.to_string()),
            ("breakevens", s.breakevens.to_string()),
            ("win_rate", fmt_num(s.win_rate, 4)),
            ("total_realized_pnl", fmt_num(s.total_realized_pnl, 4)),
            ("total_fees", fmt_num(s.total_fees, 4)),
            ("final_equity", fmt_num(s.final_equity, 4)),
            ("sharpe", fmt_num(s.sharpe, 4)),
            ("cagr", fmt_num(s.cagr, 6)),
            ("calmar", fmt_num(s.calmar, 4)),
            ("max_drawdown (mark-to-market)", fmt_num(s.max_drawdown, 6)),
            (
                "max_drawdown (closed trades)",
                fmt_num(s.max_drawdown_closed_trades, 6),
            ),
            ("var_95", fmt_num(s.var_95, 6)),
            ("cvar_95", fmt_num(s.cvar_95, 6)),
        ];
        let w = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in lines {
            let _ = writeln!(out, "  {k:<w$}  {v}");
        }
        out
    }
}
