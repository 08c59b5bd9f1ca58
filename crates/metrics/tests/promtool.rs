//! `promtool check metrics` on the full catalogue.
//!
//! promtool 2.42 (Debian bookworm's, the one installed by scripts/test) has only the text-format
//! 0.0.4 parser. It does read an OpenMetrics exposition (`# EOF` and `# UNIT` are comments to
//! it), but misreads it: an OpenMetrics counter family `x` with its sample `x_total` looks like
//! an untyped sample without HELP. So the text exposition must be clean, and the OpenMetrics one
//! must show nothing beyond exactly those misreadings (a `\"` in HELP, legal in OpenMetrics,
//! would even be a parse error to it, so HELP texts avoid double quotes). The OpenMetrics output
//! is checked properly by the reference Python parser in `reference_roundtrip.rs`.

mod common;

use common::promtool_check_metrics;
use zigquant_metrics::{Catalogue, CatalogueConfig, Format};

/// Lint findings promtool reports on names docs/metrics.md fixes as a contract: the catalogue's
/// `zigquant_position_count` is a gauge whose name ends in `_count`, which promtool's naming lint
/// flags. Renaming it would break the contract, so exactly this finding is tolerated.
const CONTRACT_FINDINGS: &[&str] =
    &["zigquant_position_count non-histogram and non-summary metrics should not have \"_count\" suffix"];

fn full_catalogue() -> Catalogue {
    let c = Catalogue::new(CatalogueConfig {
        strategies: vec!["sma_cross".into(), "mean \"reversion\"".into()],
        pairs: vec!["BTC-USDT".into(), "ETH-USDT".into()],
        exchanges: vec!["paper".into()],
        rejection_reasons: vec!["risk_limit".into()],
        routes: vec!["/api/v1/orders".into(), "/api/v1/orders/{id}".into()],
        ..CatalogueConfig::default()
    });
    for s in ["sma_cross", "mean \"reversion\"", "manual"] {
        for p in ["BTC-USDT", "ETH-USDT"] {
            c.trades_total.untyped().get(&[s, p, "buy"]).inc();
            c.trades_total.untyped().get(&[s, p, "sell"]).inc_by(2);
            c.trade_pnl.untyped().get(&[s, p]).set(-12.5);
        }
        c.win_rate.untyped().get(&[s]).set(0.5);
        c.sharpe_ratio.untyped().get(&[s]).set(f64::NAN);
        c.calmar_ratio.untyped().get(&[s]).set(f64::INFINITY);
        c.strategy_equity.untyped().get(&[s]).set(10_000.0);
        c.strategy_running.untyped().get(&[s]).set(1.0);
    }
    for st in ["filled", "cancelled", "rejected"] {
        c.orders_total.untyped().get(&[st]).inc();
    }
    c.order_latency_seconds.observe(0.02);
    for p in ["BTC-USDT", "ETH-USDT", "unknown"] {
        c.position_size.untyped().get(&[p]).set(-0.25);
        c.position_pnl.untyped().get(&[p]).set(f64::NEG_INFINITY);
        c.market_data_last_update_timestamp_seconds
            .untyped()
            .get(&[p])
            .set(1.7e9);
    }
    c.api_requests_total
        .untyped()
        .get(&["GET", "/api/v1/orders", "200"])
        .inc();
    c.api_requests_total
        .untyped()
        .get(&["BREW", "/coffee", "418"])
        .inc();
    c.api_latency_seconds
        .untyped()
        .get(&["GET", "/api/v1/orders/{id}"])
        .observe(0.3);
    c.exchange_connected.untyped().get(&["paper"]).set(1.0);
    for l in ["critical", "warning", "info"] {
        c.alerts_total.untyped().get(&[l]).inc();
    }
    c.order_rejections_total
        .untyped()
        .get(&["risk_limit"])
        .inc();
    c.journal_write_errors_total.inc();
    c
}

#[test]
fn promtool_accepts_the_full_catalogue_in_text_format() {
    let c = full_catalogue();
    let mut out = Vec::new();
    c.encode(Format::Text, &mut out);
    let (code, report) = promtool_check_metrics(&out);
    let findings: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let unexpected: Vec<&&str> = findings
        .iter()
        .filter(|f| !CONTRACT_FINDINGS.contains(f))
        .collect();
    assert!(
        unexpected.is_empty(),
        "promtool findings (exit {code:?}):\n{report}\n--- exposition ---\n{}",
        String::from_utf8_lossy(&out)
    );
    // Exit 0 when clean, 3 when only lint findings; anything else is a parse error.
    assert!(
        matches!(code, Some(0) | Some(3)),
        "promtool exit {code:?}: {report}"
    );
}

#[test]
fn promtool_finds_nothing_in_openmetrics_beyond_its_text_parser_misreadings() {
    let c = full_catalogue();
    let mut out = Vec::new();
    c.encode(Format::OpenMetrics, &mut out);
    let text = String::from_utf8(out.clone()).expect("utf8");
    // What the text parser misreads: every counter sample `x_total` of family `x`, and the
    // `x_created` sample of every counter and histogram series (OpenMetrics created timestamps;
    // lines that exist only for the series that have one).
    let mut misread: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .map(|family| format!("{family}_total no help text"))
        .collect();
    misread.extend(
        text.lines()
            .filter_map(|l| l.split_once("_created"))
            .filter(|(name, _)| !name.starts_with('#'))
            .map(|(name, _)| format!("{name}_created no help text")),
    );
    assert!(misread.len() >= 5, "catalogue counters: {misread:?}");
    let (code, report) = promtool_check_metrics(&out);
    let unexpected: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !CONTRACT_FINDINGS.contains(l) && !misread.iter().any(|m| m == l))
        .collect();
    assert!(
        unexpected.is_empty(),
        "promtool findings on OpenMetrics (exit {code:?}):\n{report}\n--- exposition ---\n{text}"
    );
    assert!(
        matches!(code, Some(0) | Some(3)),
        "promtool exit {code:?}: {report}"
    );
}
