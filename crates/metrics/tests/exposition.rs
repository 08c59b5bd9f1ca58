//! The catalogue as exported: every docs/metrics.md family with its type and labels, the extras, the
//! differences between the two formats, and content negotiation.

mod common;

use zigquant_metrics::{Catalogue, CatalogueConfig, Format};

fn encode(c: &Catalogue, f: Format) -> String {
    let mut out = Vec::new();
    c.encode(f, &mut out);
    String::from_utf8(out).expect("utf8")
}

/// (text name, type, labels) of docs/metrics.md's catalogue and the extras.
const CONTRACT: &[(&str, &str, &[&str])] = &[
    (
        "zigquant_trades_total",
        "counter",
        &["strategy", "pair", "side"],
    ),
    ("zigquant_trade_pnl", "gauge", &["strategy", "pair"]),
    ("zigquant_win_rate", "gauge", &["strategy"]),
    ("zigquant_sharpe_ratio", "gauge", &["strategy"]),
    ("zigquant_calmar_ratio", "gauge", &["strategy"]),
    ("zigquant_orders_total", "counter", &["status"]),
    ("zigquant_order_latency_seconds", "histogram", &[]),
    ("zigquant_orders_active", "gauge", &[]),
    ("zigquant_position_size", "gauge", &["pair"]),
    ("zigquant_position_pnl", "gauge", &["pair"]),
    ("zigquant_max_drawdown", "gauge", &[]),
    ("zigquant_position_count", "gauge", &[]),
    (
        "zigquant_api_requests_total",
        "counter",
        &["method", "path", "status"],
    ),
    (
        "zigquant_api_latency_seconds",
        "histogram",
        &["method", "path"],
    ),
    ("zigquant_api_connections_active", "gauge", &[]),
    ("zigquant_memory_bytes", "gauge", &["type"]),
    ("zigquant_uptime_seconds", "gauge", &[]),
    ("zigquant_threads", "gauge", &[]),
    ("zigquant_exchange_connected", "gauge", &["exchange"]),
    ("zigquant_var_95", "gauge", &[]),
    ("zigquant_cvar_95", "gauge", &[]),
    ("zigquant_alerts_total", "counter", &["level"]),
    ("zigquant_build_info", "gauge", &["version"]),
    (
        "zigquant_instance_info",
        "gauge",
        &["name", "mode", "config_hash", "strategies"],
    ),
    ("zigquant_strategy_equity", "gauge", &["strategy"]),
    ("zigquant_strategy_running", "gauge", &["strategy"]),
    ("zigquant_portfolio_equity", "gauge", &[]),
    (
        "zigquant_market_data_last_update_timestamp_seconds",
        "gauge",
        &["pair"],
    ),
    ("zigquant_order_rejections_total", "counter", &["reason"]),
    ("zigquant_journal_write_errors_total", "counter", &[]),
    ("process_cpu_seconds_total", "counter", &[]),
    ("process_resident_memory_bytes", "gauge", &[]),
    ("process_virtual_memory_bytes", "gauge", &[]),
    ("process_open_fds", "gauge", &[]),
    ("process_max_fds", "gauge", &[]),
    ("process_start_time_seconds", "gauge", &[]),
];

fn populated() -> Catalogue {
    let c = Catalogue::new(CatalogueConfig {
        strategies: vec!["sma".into()],
        pairs: vec!["BTC-USDT".into()],
        exchanges: vec!["paper".into()],
        rejection_reasons: vec!["risk_limit".into()],
        routes: vec!["/api/v1/orders".into()],
        version: "1.2.3".into(),
        instance: zigquant_metrics::InstanceInfo {
            name: "bot-a".into(),
            mode: "paper".into(),
            config_hash: "0123456789ab".into(),
            strategies: 3,
        },
        ..CatalogueConfig::default()
    });
    c.trades_total
        .untyped()
        .get(&["sma", "BTC-USDT", "buy"])
        .inc();
    c.trade_pnl.untyped().get(&["sma", "BTC-USDT"]).set(1.0);
    for f in [
        &c.win_rate,
        &c.sharpe_ratio,
        &c.calmar_ratio,
        &c.strategy_equity,
        &c.strategy_running,
    ] {
        f.untyped().get(&["sma"]).set(1.0);
    }
    c.orders_total.untyped().get(&["filled"]).inc();
    c.position_size.untyped().get(&["BTC-USDT"]).set(1.0);
    c.position_pnl.untyped().get(&["BTC-USDT"]).set(1.0);
    c.market_data_last_update_timestamp_seconds
        .untyped()
        .get(&["BTC-USDT"])
        .set(1.0);
    c.api_requests_total
        .untyped()
        .get(&["GET", "/api/v1/orders", "200"])
        .inc();
    c.api_latency_seconds
        .untyped()
        .get(&["GET", "/api/v1/orders"])
        .observe(0.01);
    c.exchange_connected.untyped().get(&["paper"]).set(1.0);
    c.alerts_total.untyped().get(&["info"]).inc();
    c.order_rejections_total
        .untyped()
        .get(&["risk_limit"])
        .inc();
    c
}

#[test]
fn every_catalogue_family_is_exported_with_its_type_and_labels() {
    let text = encode(&populated(), Format::Text);
    let samples = common::parse(&text);
    for (name, kind, labels) in CONTRACT {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "missing TYPE of {name}"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "missing HELP of {name}"
        );
        let sample_name = if *kind == "histogram" {
            format!("{name}_count")
        } else {
            name.to_string()
        };
        let s = samples
            .iter()
            .find(|s| s.name == sample_name)
            .unwrap_or_else(|| panic!("no sample of {name}"));
        let got: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(&got, labels, "labels of {name}");
    }
    assert!(text.contains("zigquant_build_info{version=\"1.2.3\"} 1\n"));
    assert!(text.contains(
        "zigquant_instance_info{name=\"bot-a\",mode=\"paper\",config_hash=\"0123456789ab\",strategies=\"3\"} 1\n"
    ));
    assert!(text.contains("zigquant_memory_bytes{type=\"rss\"} "));
}

#[test]
fn label_less_families_always_appear_labelled_ones_once_they_have_a_series() {
    let c = Catalogue::new(CatalogueConfig::default());
    let text = encode(&c, Format::Text);
    for (name, kind, labels) in CONTRACT {
        let present = text.contains(&format!("# TYPE {name} {kind}\n"));
        let always = labels.is_empty()
            || *name == "zigquant_memory_bytes"
            || *name == "zigquant_build_info"
            || *name == "zigquant_instance_info";
        assert_eq!(present, always, "{name}");
    }
}

#[test]
fn risk_help_says_how_it_is_computed() {
    let text = encode(&populated(), Format::Text);
    for name in [
        "zigquant_max_drawdown",
        "zigquant_var_95",
        "zigquant_cvar_95",
    ] {
        let help = text
            .lines()
            .find(|l| l.starts_with(&format!("# HELP {name} ")))
            .expect("help");
        assert!(
            help.contains("mark-to-market equity sampled once per bar"),
            "{help}"
        );
        assert!(help.contains("positive loss fraction"), "{help}");
    }
    for name in ["zigquant_sharpe_ratio", "zigquant_calmar_ratio"] {
        let help = text
            .lines()
            .find(|l| l.starts_with(&format!("# HELP {name} ")))
            .expect("help");
        assert!(
            help.contains("mark-to-market equity")
                && help.contains("per bar")
                && help.contains("annualized"),
            "{help}"
        );
    }
}

#[test]
fn openmetrics_names_counters_without_total_adds_units_and_ends_with_eof() {
    let om = encode(&populated(), Format::OpenMetrics);
    assert!(om.ends_with("# EOF\n"));
    assert_eq!(om.matches("# EOF").count(), 1);
    assert!(!om.contains("_total_total"));
    assert!(om.contains("# TYPE zigquant_trades counter\n"));
    assert!(
        om.contains("\nzigquant_trades_total{strategy=\"sma\",pair=\"BTC-USDT\",side=\"buy\"} 1\n")
    );
    assert!(om.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\n"));
    assert!(om.contains("# UNIT zigquant_order_latency_seconds seconds\n"));
    assert!(om.contains("# UNIT zigquant_memory_bytes bytes\n"));
    assert!(!om.contains("# UNIT zigquant_threads"));

    let text = encode(&populated(), Format::Text);
    assert!(!text.contains("# EOF") && !text.contains("# UNIT") && !text.contains("_total_total"));
    assert!(text.contains("# TYPE zigquant_trades_total counter\n"));
}

#[test]
fn nan_and_infinities_are_spelled_as_prometheus_does() {
    let c = populated();
    c.sharpe_ratio.untyped().get(&["sma"]).set(f64::NAN);
    c.calmar_ratio.untyped().get(&["sma"]).set(f64::INFINITY);
    c.position_pnl
        .untyped()
        .get(&["BTC-USDT"])
        .set(f64::NEG_INFINITY);
    for f in [Format::Text, Format::OpenMetrics] {
        let t = encode(&c, f);
        assert!(t.contains("zigquant_sharpe_ratio{strategy=\"sma\"} NaN\n"));
        assert!(t.contains("zigquant_calmar_ratio{strategy=\"sma\"} +Inf\n"));
        assert!(t.contains("zigquant_position_pnl{pair=\"BTC-USDT\"} -Inf\n"));
    }
}

#[test]
fn histogram_buckets_include_the_story_bounds_and_are_configurable() {
    let d = CatalogueConfig::default_buckets();
    for b in [0.01, 0.05, 0.1, 0.5, 1.0] {
        assert!(d.contains(&b), "{b}");
    }
    let c = Catalogue::new(CatalogueConfig {
        order_latency_buckets: vec![0.2, 0.4],
        ..CatalogueConfig::default()
    });
    for v in [0.1, 0.3, 0.3, 9.0] {
        c.order_latency_seconds.observe(v);
    }
    let text = encode(&c, Format::Text);
    assert!(
        text.contains(
            "zigquant_order_latency_seconds_bucket{le=\"0.2\"} 1\n\
         zigquant_order_latency_seconds_bucket{le=\"0.4\"} 3\n\
         zigquant_order_latency_seconds_bucket{le=\"+Inf\"} 4\n\
         zigquant_order_latency_seconds_sum 9.7\n\
         zigquant_order_latency_seconds_count 4\n"
        ),
        "{text}"
    );
    // Invalid buckets: try_new reports them, new falls back to the defaults.
    let bad = CatalogueConfig {
        api_latency_buckets: vec![1.0, 0.5],
        ..CatalogueConfig::default()
    };
    assert!(Catalogue::try_new(bad.clone()).is_err());
    let c = Catalogue::new(bad);
    assert_eq!(
        c.api_latency_seconds.untyped().get(&["GET", "x"]).bounds(),
        &d[..]
    );
}

#[test]
fn negotiation_picks_openmetrics_for_prometheus_and_text_otherwise() {
    let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(Format::negotiate(Some(prometheus_2)), Format::OpenMetrics);
    assert_eq!(Format::negotiate(None), Format::Text);
    assert_eq!(Format::negotiate(Some("not a media type")), Format::Text);
    assert_eq!(
        Format::negotiate(Some("text/plain;version=0.0.4")),
        Format::Text
    );
    assert_eq!(
        Format::negotiate(Some("text/plain;q=1,application/openmetrics-text;q=0.5")),
        Format::Text
    );
    assert_eq!(
        Format::Text.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(
        Format::OpenMetrics.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
fn handles_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Catalogue>();
    shared::<zigquant_metrics::Registry>();
    shared::<zigquant_metrics::Family<zigquant_metrics::Counter>>();
    shared::<zigquant_metrics::Family<zigquant_metrics::Histogram>>();
    shared::<std::sync::Arc<zigquant_metrics::Gauge>>();
}
