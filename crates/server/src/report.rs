//! `zigquant backtest --report FILE.html`: one self-contained HTML file a user can open from
//! disk or mail: price with entries and exits, equity and drawdown, the statistics table and
//! the trade list, drawn by the dashboard's own chart code ([`crate::ui::asset`]) inlined with
//! the data. No external reference at all: a `file://` page has no server to load from, and its
//! own Content-Security-Policy forbids any network request.

use std::borrow::Cow;

use serde::Serialize;
use zigquant_engine::backtest::{BacktestReport, BacktestStats, TradeRow};
use zigquant_engine::bars::{parse_time, BarSeries};
use zigquant_engine::strategy::{registry, StrategyParams};

use crate::downsample::{self, Point};
use crate::ui;

/// Points per curve in the report: enough for any screen; min/max kept, so no trough is lost.
pub const MAX_CURVE_POINTS: usize = 4000;

/// What the report says about the run besides the engine's report.
pub struct ReportContext<'a> {
    /// The data file, as given on the command line.
    pub data_file: &'a str,
    /// The strategy and its parameters.
    pub params: &'a StrategyParams,
    /// Initial cash.
    pub cash: f64,
    /// Fee rate per fill.
    pub fee_rate: f64,
}

/// A trade with the bar times of its fills, for the markers.
#[derive(Serialize)]
struct ReportTrade<'a> {
    #[serde(flatten)]
    row: &'a TradeRow,
    entry_time_ms: Option<i64>,
    exit_time_ms: Option<i64>,
}

#[derive(Serialize)]
struct ReportData<'a> {
    data_file: &'a str,
    params: &'a StrategyParams,
    #[serde(serialize_with = "zigquant_engine::float::f64_or_str")]
    cash: f64,
    #[serde(serialize_with = "zigquant_engine::float::f64_or_str")]
    fee_rate: f64,
    bars: usize,
    first_bar: Option<Cow<'a, str>>,
    last_bar: Option<Cow<'a, str>>,
    /// `[time_ms, close]`, downsampled.
    price: Vec<Point>,
    /// `[time_ms, equity]`, downsampled.
    equity: Vec<Point>,
    trades: Vec<ReportTrade<'a>>,
    stats: &'a BacktestStats,
}

/// Why the report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The data could not be encoded.
    #[error("cannot encode the report data: {0}")]
    Encode(#[from] serde_json::Error),
    /// An embedded asset is missing (a build defect).
    #[error("the report asset {0} is not embedded in this binary")]
    MissingAsset(&'static str),
}

/// Renders the whole HTML document.
pub fn render(
    series: &BarSeries,
    report: &BacktestReport,
    context: &ReportContext<'_>,
) -> Result<String, ReportError> {
    let price: Vec<Point> = series.bars().map(|b| (b.time_ms, b.close)).collect();
    let equity: Vec<Point> = series
        .bars()
        .zip(&report.equity)
        .map(|(b, e)| (b.time_ms, *e))
        .collect();
    let data = ReportData {
        data_file: context.data_file,
        params: context.params,
        cash: context.cash,
        fee_rate: context.fee_rate,
        bars: series.len(),
        first_bar: series.label(0),
        last_bar: series.len().checked_sub(1).and_then(|i| series.label(i)),
        price: downsample::min_max(&price, MAX_CURVE_POINTS),
        equity: downsample::min_max(&equity, MAX_CURVE_POINTS),
        trades: report
            .trades
            .iter()
            .map(|row| ReportTrade {
                row,
                // The texts came from the file and parsed then: they parse again.
                entry_time_ms: parse_time(&row.entry_time).ok(),
                exit_time_ms: parse_time(&row.exit_time).ok(),
            })
            .collect(),
        stats: &report.stats,
    };
    // serde_json writes a non-finite curve value (there should be none) as null.
    let json = serde_json::to_string(&data)?;
    // Inside <script>, "</script>" or "<!--" in a string would end or confuse the element.
    let json = json.replace('<', "\\u003c");
    let asset = |name: &'static str| ui::asset(name).ok_or(ReportError::MissingAsset(name));
    let title = format!(
        "zigquant backtest: {} on {}",
        registry::kind(context.params),
        context.data_file
    );
    Ok(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'">
<meta name="generator" content="zigquant {version}">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body class="report">
<script type="application/json" id="report-data">{json}</script>
<header class="topbar"><div class="brand">zigquant <span class="muted">backtest report</span></div><div id="report-title" class="muted"></div></header>
<main id="report" class="report-main"></main>
<script>
{format_js}
</script>
<script>
{chart_js}
</script>
<script>
{report_js}
</script>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        title = html_escape(&title),
        css = asset("app.css")?,
        format_js = asset("format.js")?,
        chart_js = asset("chart.js")?,
        report_js = asset("report.js")?,
    ))
}

/// Escapes text for HTML element content and attribute values.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zigquant_engine::backtest::{run, BacktestConfig};
    use zigquant_engine::bars::parse_csv;
    use zigquant_engine::strategy::Mode;

    #[test]
    fn the_report_is_self_contained_and_carries_the_statistics() {
        let mut csv = String::from("Date,Open,High,Low,Close\n");
        for d in 1..=28 {
            let p = 100.0 + ((d * 37) % 11) as f64;
            csv.push_str(&format!("2024-02-{d:02},{p},{},{},{p}\n", p + 1.0, p - 1.0));
        }
        let series = parse_csv(&csv).expect("parses");
        let params = StrategyParams::SmaCross {
            fast: 2,
            slow: 4,
            mode: Mode::LongShort,
            qty: 1.0,
        };
        let report = run(
            &series,
            &BacktestConfig {
                params: params.clone(),
                cash: 1000.0,
                fee_rate: 0.0,
                periods_per_year: 252.0,
            },
        )
        .expect("runs");
        assert!(!report.trades.is_empty());
        let html = render(
            &series,
            &report,
            &ReportContext {
                data_file: "</script><b>x.csv",
                params: &params,
                cash: 1000.0,
                fee_rate: 0.0,
            },
        )
        .expect("renders");
        assert!(!html.contains("</script><b>"), "file name escaped");
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
        let start = html.find("id=\"report-data\">").expect("data") + 17;
        let end = start + html[start..].find("</script>").expect("end");
        let data: serde_json::Value = serde_json::from_str(&html[start..end]).expect("json");
        assert_eq!(
            data["stats"],
            serde_json::to_value(&report.stats).expect("stats")
        );
        assert_eq!(
            data["trades"].as_array().map(Vec::len),
            Some(report.trades.len())
        );
        assert!(data["trades"][0]["entry_time_ms"].is_i64());
        assert_eq!(data["price"].as_array().map(Vec::len), Some(28));
    }
}
