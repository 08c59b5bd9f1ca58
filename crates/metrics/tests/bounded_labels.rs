//! Hostile or unknown label values never create series beyond the domain's fallback.

use zigquant_metrics::{Catalogue, CatalogueConfig, Format, LabelDomain, Registry};

/// A deterministic stream of distinct, odd-looking strings.
fn random_values(n: usize) -> Vec<String> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!(
                "/api/v1/{i}/\"{x:x}\"\\\n{}",
                char::from_u32((x % 0x2000) as u32 + 0x100).unwrap_or('?')
            )
        })
        .collect()
}

#[test]
fn ten_thousand_unknown_values_add_no_series_beyond_the_fallback() {
    let r = Registry::new();
    let f = r
        .counter_family(
            "requests_total",
            "Requests.",
            vec![
                LabelDomain::new("method", ["GET", "POST"], "OTHER"),
                LabelDomain::new("path", ["/health"], "unmatched"),
            ],
        )
        .expect("family");
    f.get(&["GET", "/health"]).inc();
    for v in random_values(10_000) {
        f.get(&["GET", &v]).inc();
        f.get(&[&v, &v]).inc();
        f.get(&[&v]).inc(); // wrong arity
    }
    assert_eq!(
        f.series_count(),
        3,
        "GET /health, GET unmatched, OTHER unmatched"
    );
    assert_eq!(f.get(&["GET", "unmatched"]).get(), 10_000);
    assert_eq!(f.get(&["OTHER", "unmatched"]).get(), 20_000);
    let mut out = Vec::new();
    r.encode(Format::Text, &mut out);
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(
        text.lines().filter(|l| !l.starts_with('#')).count(),
        3,
        "{text}"
    );
}

#[test]
fn catalogue_maps_unknown_routes_strategies_pairs_and_statuses() {
    let c = Catalogue::new(CatalogueConfig {
        strategies: vec!["sma".into()],
        pairs: vec!["BTC-USDT".into()],
        routes: vec!["/api/v1/orders".into()],
        ..CatalogueConfig::default()
    });
    for v in random_values(10_000) {
        c.api_requests_total.untyped().get(&["GET", &v, &v]).inc();
        c.api_latency_seconds.untyped().get(&[&v, &v]).observe(0.1);
        c.trades_total.untyped().get(&[&v, &v, &v]).inc();
        c.position_size.untyped().get(&[&v]).set(1.0);
    }
    assert_eq!(c.api_requests_total.series_count(), 1);
    assert_eq!(
        c.api_requests_total
            .untyped()
            .get(&["GET", "unmatched", "other"])
            .get(),
        10_000
    );
    assert_eq!(c.api_latency_seconds.series_count(), 1);
    assert_eq!(
        c.api_latency_seconds
            .untyped()
            .get(&["OTHER", "unmatched"])
            .count(),
        10_000
    );
    assert_eq!(
        c.trades_total
            .untyped()
            .get(&["other", "other", "other"])
            .get(),
        10_000
    );
    assert_eq!(c.trades_total.series_count(), 1);
    assert_eq!(c.position_size.series_count(), 1);
    // Known values keep their own series; "manual" is always a strategy.
    c.trades_total
        .untyped()
        .get(&["manual", "BTC-USDT", "sell"])
        .inc();
    c.api_requests_total
        .untyped()
        .get(&["POST", "/api/v1/orders", "201"])
        .inc();
    assert_eq!(c.trades_total.series_count(), 2);
    assert_eq!(c.api_requests_total.series_count(), 2);
}
