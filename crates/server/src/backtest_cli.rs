//! `zigquant backtest`: loads the CSV, runs the engine's backtest and renders the report.

use std::io::Write;
use std::path::PathBuf;

use zigquant_engine::backtest::{self, BacktestConfig};
use zigquant_engine::bars;
use zigquant_engine::strategy::{registry, StrategyParams};

use crate::report::{self, ReportContext};

/// What the command line asked for.
pub struct Request {
    /// The OHLCV CSV file.
    pub data: PathBuf,
    /// Strategy and its parameters.
    pub params: StrategyParams,
    /// Initial cash.
    pub cash: f64,
    /// Fee per fill as a fraction of notional.
    pub fee_rate: f64,
    /// Periods per year for the annualized statistics.
    pub periods_per_year: f64,
    /// JSON (true) or a table for people (false).
    pub json: bool,
    /// Show a progress bar on stderr while loading (only on a terminal, never with JSON).
    pub progress: bool,
    /// Where to write the self-contained HTML report, if anywhere.
    pub report: Option<PathBuf>,
}

/// Why a backtest could not run; every message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum BacktestCliError {
    /// The CSV is missing or malformed (the message names the line).
    #[error("{0}")]
    Data(#[from] bars::CsvError),
    /// The parameters cannot be backtested.
    #[error("{0}")]
    Backtest(#[from] backtest::BacktestError),
    /// The data cannot give a single statistic.
    #[error("{path} has {bars} bar(s); a backtest needs at least 2 (statistics are computed over bar-to-bar returns)")]
    TooFewBars {
        /// The CSV file.
        path: String,
        /// Its data rows.
        bars: usize,
    },
    /// The report could not be serialized.
    #[error("cannot write the report: {0}")]
    Output(#[from] serde_json::Error),
    /// The report could not be written to standard output.
    #[error("cannot write the report: {0}")]
    Stdout(std::io::Error),
    /// The HTML report could not be rendered.
    #[error("{0}")]
    Html(#[from] report::ReportError),
    /// The HTML report could not be written.
    #[error("cannot write the HTML report {path}: {source}")]
    WriteReport {
        /// The report path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A `(done, total)` callback drawing `label [#####     ]  42%` on stderr, redrawn only when the
/// percentage changes.
fn progress_bar(label: &'static str) -> impl FnMut(u64, u64) {
    let mut last_percent = u64::MAX;
    move |done: u64, total: u64| {
        let percent = (done * 100).checked_div(total).unwrap_or(100).min(100);
        if percent != last_percent {
            last_percent = percent;
            let filled = (percent / 5) as usize;
            eprint!(
                "\r{label} [{}{}] {percent:3}%",
                "#".repeat(filled),
                " ".repeat(20 - filled)
            );
            let _ = std::io::stderr().flush();
        }
    }
}

/// What the user should know about a report that was written.
pub struct Outcome {
    /// Things that make the report less than it looks (print them on stderr).
    pub warnings: Vec<String>,
}

/// Why the data is too short for the strategy to trade, if it is.
fn too_short_to_trade(request: &Request, bars: usize) -> Option<String> {
    let needed = registry::bars_before_first_trade(&request.params);
    (bars < needed).then(|| {
        format!(
            "{} has {bars} bars; {} needs at least {needed} for a first trade (its {}-bar \
             window, then a decision and its fill at the next bar's open): the report has no \
             trades and its trade statistics are NaN",
            request.data.display(),
            registry::kind(&request.params),
            registry::warmup_bars(&request.params),
        )
    })
}

/// Runs the backtest and writes the report (JSON or a table) to `out`, streamed: a million-bar
/// run's JSON is ~10 MB that need not be held twice.
pub fn run(request: &Request, out: &mut dyn Write) -> Result<Outcome, BacktestCliError> {
    let series = if request.progress {
        let series = bars::load_csv_with_progress(&request.data, &mut progress_bar("loading"));
        eprintln!();
        series?
    } else {
        bars::load_csv(&request.data)?
    };
    if series.len() < 2 {
        return Err(BacktestCliError::TooFewBars {
            path: request.data.display().to_string(),
            bars: series.len(),
        });
    }
    let warnings: Vec<String> = too_short_to_trade(request, series.len())
        .into_iter()
        .collect();
    let config = BacktestConfig {
        params: request.params.clone(),
        cash: request.cash,
        fee_rate: request.fee_rate,
        periods_per_year: request.periods_per_year,
    };
    let report = if request.progress {
        let report = backtest::run_with_progress(&series, &config, &mut progress_bar("running"));
        eprintln!();
        report?
    } else {
        backtest::run(&series, &config)?
    };
    if let Some(path) = &request.report {
        let html = report::render(
            &series,
            &report,
            &ReportContext {
                data_file: &request.data.display().to_string(),
                params: &request.params,
                cash: request.cash,
                fee_rate: request.fee_rate,
            },
        )?;
        std::fs::write(path, html).map_err(|source| BacktestCliError::WriteReport {
            path: path.clone(),
            source,
        })?;
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    if request.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out).map_err(BacktestCliError::Stdout)?;
    } else {
        let mut table = report.render_table();
        if let Some(path) = &request.report {
            table.push_str(&format!("\nReport: {}\n", path.display()));
        }
        writeln!(out, "{table}").map_err(BacktestCliError::Stdout)?;
    }
    out.flush().map_err(BacktestCliError::Stdout)?;
    Ok(Outcome { warnings })
}
