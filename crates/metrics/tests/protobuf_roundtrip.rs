//! The protobuf exposition decoded with the prost types generated from the official
//! `metrics.proto` ([`zigquant_metrics::proto`]) says exactly what the registry holds: every
//! family, sample, classic bucket, exemplar, native bucket and created timestamp. And it is
//! canonical: each message is as long as prost's own encoding of what was decoded.

use prost::Message;
use zigquant_metrics::proto::{self, MetricFamily, MetricType};
use zigquant_metrics::{
    Counter, ExemplarData, Family, Format, Gauge, Histogram, LabelDomain, NativeConfig,
    NativeSnapshot, Registry,
};

/// Decodes a whole protobuf scrape, checking each message is canonical (prost re-encodes it to
/// the same length).
fn decode(mut body: &[u8]) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let before = body.len();
        let mf = MetricFamily::decode_length_delimited(&mut body).expect("a MetricFamily");
        assert_eq!(
            before - body.len(),
            mf.encoded_len() + prost::length_delimiter_len(mf.encoded_len()),
            "family {:?} is not canonically encoded",
            mf.name
        );
        out.push(mf);
    }
    out
}

fn labels(m: &proto::Metric) -> Vec<(String, String)> {
    m.label
        .iter()
        .map(|l| (l.name().to_owned(), l.value().to_owned()))
        .collect()
}

fn ts_ms(t: &prost_types::Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

fn exemplar_of(e: &proto::Exemplar) -> ExemplarData {
    ExemplarData {
        labels: e
            .label
            .iter()
            .map(|l| (l.name().to_owned(), l.value().to_owned()))
            .collect(),
        value: e.value(),
        timestamp_ms: ts_ms(e.timestamp.as_ref().expect("exemplar timestamp")),
    }
}

/// Expands spans + deltas into `(index, count)`.
fn native_side(spans: &[proto::BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let mut index = 0i32;
    let mut count = 0i64;
    let mut d = deltas.iter();
    for (k, s) in spans.iter().enumerate() {
        index = if k == 0 {
            s.offset()
        } else {
            index + s.offset()
        };
        for _ in 0..s.length() {
            count += d.next().expect("a delta per bucket");
            out.push((index, count as u64));
            index += 1;
        }
    }
    assert!(d.next().is_none(), "more deltas than buckets");
    out
}

fn check_histogram(h: &Histogram, m: &proto::Metric, created: bool) {
    let ph = m.histogram.as_ref().expect("histogram");
    let mut native = NativeSnapshot::default();
    let has_native = h.native_snapshot_into(&mut native);
    let mut cumulative = Vec::new();
    let sum = h.snapshot_into(&mut cumulative);
    assert_eq!(ph.sample_count(), h.count());
    assert_eq!(ph.sample_sum().to_bits(), sum.to_bits());
    let exemplars = h.exemplars();
    let finite: Vec<&proto::Bucket> = ph
        .bucket
        .iter()
        .filter(|b| b.upper_bound().is_finite())
        .collect();
    assert_eq!(finite.len(), h.bounds().len());
    for (i, b) in finite.iter().enumerate() {
        assert_eq!(b.upper_bound(), h.bounds()[i]);
        assert_eq!(b.cumulative_count(), cumulative[i]);
        assert_eq!(b.exemplar.as_ref().map(exemplar_of), exemplars[i]);
        if let Some(e) = &exemplars[i] {
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.bounds()[i - 1]
            };
            // The first bucket is (-Inf, bound]: -Inf itself belongs there.
            let above = e.value > lower || i == 0;
            assert!(
                above && e.value <= h.bounds()[i],
                "exemplar {e:?} outside bucket {i}"
            );
        }
    }
    let inf = ph.bucket.iter().find(|b| b.upper_bound() == f64::INFINITY);
    assert_eq!(
        inf.and_then(|b| b.exemplar.as_ref()).map(exemplar_of),
        exemplars[h.bounds().len()].clone()
    );
    assert_eq!(
        ph.created_timestamp.as_ref().map(ts_ms),
        created.then(|| h.created_ms())
    );
    if has_native {
        assert_eq!(ph.schema(), native.schema);
        assert!(ph.zero_threshold() > 0.0);
        assert_eq!(ph.zero_count(), native.zero_count);
        assert_eq!(
            native_side(&ph.positive_span, &ph.positive_delta),
            native.positive
        );
        assert_eq!(
            native_side(&ph.negative_span, &ph.negative_delta),
            native.negative
        );
        let total: u64 = native.zero_count
            + native.positive.iter().map(|b| b.1).sum::<u64>()
            + native.negative.iter().map(|b| b.1).sum::<u64>();
        assert!(total <= ph.sample_count());
    } else {
        assert!(ph.schema.is_none() && ph.positive_span.is_empty());
    }
}

struct Fixture {
    registry: Registry,
    trades: Family<Counter>,
    pnl: Family<Gauge>,
    api: Family<Histogram>,
    order: std::sync::Arc<Histogram>,
    plain: std::sync::Arc<Histogram>,
}

fn fixture() -> Fixture {
    let r = Registry::new();
    let trades = r
        .counter_family(
            "t_trades_total",
            "Fills, \"quoted\" and\\escaped\nhelp.",
            vec![
                LabelDomain::new("pair", ["BTC-USDT", "ETH-USDT"], "other"),
                LabelDomain::new("side", ["buy", "sell"], "other"),
            ],
        )
        .expect("counter");
    let pnl = r
        .gauge_family(
            "t_pnl",
            "PnL.",
            vec![LabelDomain::new("pair", ["BTC-USDT", "é\"\n"], "other")],
        )
        .expect("gauge");
    let api = r
        .histogram_family_native(
            "t_api_latency_seconds",
            "API latency.",
            vec![LabelDomain::new("method", ["GET", "POST"], "OTHER")],
            &[0.01, 0.1, 1.0],
            NativeConfig::default(),
        )
        .expect("native family");
    let order = r
        .histogram_native(
            "t_order_latency_seconds",
            "Orders.",
            &[0.05, 0.5],
            NativeConfig {
                bucket_factor: 1.1,
                max_buckets: 8,
            },
        )
        .expect("native");
    let plain = r
        .histogram("t_plain", "Classic only.", &[1.0, 2.0])
        .expect("classic");
    let lifetime = r
        .counter_family("t_lifetime_total", "No created.", vec![])
        .expect("c");
    lifetime.without_created_timestamps();
    lifetime.get(&[]).inc_by(7);
    r.register_process_metrics().expect("process");
    Fixture {
        registry: r,
        trades,
        pnl,
        api,
        order,
        plain,
    }
}

fn record(f: &Fixture) {
    f.trades
        .get(&["BTC-USDT", "buy"])
        .inc_with_exemplar(&[("trade_id", "T-1")]);
    f.trades
        .get(&["BTC-USDT", "buy"])
        .inc_with_exemplar(&[("trade_id", "T-2")]);
    f.trades.get(&["ETH-USDT", "sell"]).inc_by(5);
    f.trades.get(&["DOGE", "sell"]).inc(); // fallback series
    f.pnl.get(&["BTC-USDT"]).set(-12.5);
    f.pnl.get(&["é\"\n"]).set(f64::NAN);
    for (i, v) in [0.003, 0.02, 0.02, 0.4, 3.0, 0.0, 1e-30].iter().enumerate() {
        let id = format!("req-{i}");
        f.api
            .get(&["GET"])
            .observe_with_exemplar(*v, &[("request_id", &id)]);
    }
    f.api.get(&["POST"]).observe(0.25);
    // Spread over many octaves: more buckets than 8, so the schema is reduced.
    let mut v = 1e-5;
    let mut n = 0;
    while v < 100.0 {
        let id = n.to_string();
        f.order
            .observe_with_exemplar(v, &[("order_id", &id), ("exchange", "sim")]);
        v *= 1.3;
        n += 1;
    }
    f.order.observe(-0.5);
    f.order.observe(f64::NAN);
    f.plain.observe(1.5);
}

fn check(f: &Fixture, families: &[MetricFamily]) {
    let by_name = |n: &str| {
        families
            .iter()
            .find(|m| m.name() == n)
            .unwrap_or_else(|| panic!("family {n}"))
    };
    let trades = by_name("t_trades_total");
    assert_eq!(trades.r#type(), MetricType::Counter);
    assert_eq!(trades.help(), "Fills, \"quoted\" and\\escaped\nhelp.");
    assert_eq!(trades.metric.len(), f.trades.series_count());
    for m in &trades.metric {
        let l = labels(m);
        let values: Vec<&str> = l.iter().map(|(_, v)| v.as_str()).collect();
        let c = f.trades.get(&values);
        let pc = m.counter.as_ref().expect("counter");
        assert_eq!(pc.value(), c.get() as f64);
        assert_eq!(pc.exemplar.as_ref().map(exemplar_of), c.exemplar());
        assert_eq!(
            pc.created_timestamp.as_ref().map(ts_ms),
            Some(c.created_ms())
        );
    }
    let btc = trades
        .metric
        .iter()
        .find(|m| labels(m)[0].1 == "BTC-USDT")
        .expect("btc");
    let e = exemplar_of(
        btc.counter
            .as_ref()
            .and_then(|c| c.exemplar.as_ref())
            .expect("ex"),
    );
    assert_eq!(e.labels, vec![("trade_id".to_owned(), "T-2".to_owned())]);
    assert_eq!(e.value, 1.0);

    let pnl = by_name("t_pnl");
    assert_eq!(pnl.r#type(), MetricType::Gauge);
    for m in &pnl.metric {
        let l = labels(m);
        let g = f.pnl.get(&[&l[0].1]);
        assert_eq!(
            m.gauge.as_ref().expect("gauge").value().to_bits(),
            g.get().to_bits()
        );
    }
    assert!(pnl.metric.iter().any(|m| labels(m)[0].1 == "é\"\n"));

    let api = by_name("t_api_latency_seconds");
    assert_eq!(api.r#type(), MetricType::Histogram);
    assert_eq!(api.unit(), "seconds");
    assert_eq!(api.metric.len(), 2);
    for m in &api.metric {
        let l = labels(m);
        check_histogram(&f.api.get(&[&l[0].1]), m, true);
    }
    let order = by_name("t_order_latency_seconds");
    check_histogram(&f.order, &order.metric[0], true);
    let oh = order.metric[0].histogram.as_ref().expect("h");
    assert!(
        oh.schema() < 3,
        "reduced to fit 8 buckets: schema {}",
        oh.schema()
    );
    assert!(oh.positive_delta.len() + oh.negative_delta.len() <= 8);
    check_histogram(&f.plain, &by_name("t_plain").metric[0], true);

    let lifetime = by_name("t_lifetime_total");
    let lc = lifetime.metric[0].counter.as_ref().expect("counter");
    assert_eq!(lc.value(), 7.0);
    assert!(lc.created_timestamp.is_none());

    let cpu = by_name("process_cpu_seconds_total");
    assert_eq!(cpu.r#type(), MetricType::Counter);
    let mem = by_name("zigquant_memory_bytes");
    assert!(mem
        .metric
        .iter()
        .any(|m| labels(m) == [("type".into(), "rss".into())]));
}

#[test]
fn protobuf_scrape_decodes_to_the_registry_state() {
    let f = fixture();
    // Before any observation: native histograms still say they are native (no-op span).
    let mut out = Vec::new();
    f.registry.encode(Format::Protobuf, &mut out);
    let first = decode(&out);
    let order = first
        .iter()
        .find(|m| m.name() == "t_order_latency_seconds")
        .expect("order family");
    let h = order.metric[0].histogram.as_ref().expect("h");
    assert_eq!(h.positive_span.len(), 1);
    assert_eq!(
        (h.positive_span[0].offset(), h.positive_span[0].length()),
        (0, 0)
    );
    assert_eq!(h.schema(), 3);

    record(&f);
    // Twice: the second scrape starts from the first one's length-prefix guesses.
    for _ in 0..2 {
        let mut out = Vec::new();
        f.registry.encode(Format::Protobuf, &mut out);
        check(&f, &decode(&out));
    }
}

#[test]
fn big_families_have_multi_byte_length_prefixes() {
    let r = Registry::new();
    let fam = r
        .counter_family(
            "big_total",
            "h",
            vec![LabelDomain::new(
                "id",
                (0..3000).map(|i| i.to_string()),
                "x",
            )],
        )
        .expect("c");
    for i in 0..3000 {
        fam.get(&[&i.to_string()]).inc_by(i);
    }
    for _ in 0..3 {
        let mut out = Vec::new();
        r.encode(Format::Protobuf, &mut out);
        let fams = decode(&out);
        assert_eq!(fams[0].metric.len(), 3000);
        let total: f64 = fams[0]
            .metric
            .iter()
            .map(|m| m.counter.as_ref().map_or(0.0, |c| c.value()))
            .sum();
        assert_eq!(total, (0..3000u64).sum::<u64>() as f64);
    }
}

/// Exemplars appear in OpenMetrics text (with `_created`), never in text 0.0.4.
#[test]
fn exemplars_only_in_formats_that_define_them() {
    let f = fixture();
    record(&f);
    let mut text = Vec::new();
    f.registry.encode(Format::Text, &mut text);
    let text = String::from_utf8(text).expect("utf8");
    assert!(!text.contains(" # {"), "no exemplar in text 0.0.4");
    assert!(!text.contains("_created"), "no _created in text 0.0.4");
    let mut om = Vec::new();
    f.registry.encode(Format::OpenMetrics, &mut om);
    let om = String::from_utf8(om).expect("utf8");
    assert!(om.contains("t_trades_total{pair=\"BTC-USDT\",side=\"buy\"} 2 # {trade_id=\"T-2\"} 1 "));
    assert!(om.contains(
        "t_api_latency_seconds_bucket{method=\"GET\",le=\"0.1\"} 5 # {request_id=\"req-2\"} 0.02 "
    ));
    assert!(om.contains("t_trades_created{pair=\"BTC-USDT\",side=\"buy\"} "));
    assert!(!om.contains("t_lifetime_created"));
    assert!(om.contains("t_order_latency_seconds_created "));
}

#[test]
fn oversized_or_invalid_exemplars_are_dropped_not_the_observation() {
    let h = Histogram::with_native(&[1.0], NativeConfig::default()).expect("h");
    let long = "x".repeat(121);
    assert!(!h.observe_with_exemplar(0.5, &[("order_id", &long)]));
    assert!(!h.observe_with_exemplar(0.5, &[("bad name", "1")]));
    assert!(!h.observe_with_exemplar(f64::NAN, &[("order_id", "1")]));
    assert_eq!(h.count(), 3);
    assert!(h.exemplars().iter().all(Option::is_none));
    assert!(h.observe_with_exemplar(0.5, &[("order_id", &"x".repeat(120))]));
    assert!(h.exemplars()[0].is_some());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// Any observations, any bucket factor and limit: the decoded histogram is the registry's,
    /// the native buckets fit the limit (unless even schema -4 cannot), and every observation
    /// but NaN is in exactly one native bucket.
    #[test]
    fn random_native_histograms_round_trip(
        values in proptest::collection::vec(proptest::prelude::prop_oneof![
            proptest::num::f64::ANY,
            -1e3..1e3f64,
            1e-6..10.0f64,
        ], 0..200),
        factor in 1.0001..20.0f64,
        max_buckets in 1u32..200,
    ) {
        let r = Registry::new();
        let h = r
            .histogram_native("p_seconds", "h", &[0.001, 0.1, 10.0], NativeConfig { bucket_factor: factor, max_buckets })
            .expect("native");
        for v in &values {
            h.observe_with_exemplar(*v, &[("id", "x")]);
        }
        let mut out = Vec::new();
        r.encode(Format::Protobuf, &mut out);
        let fams = decode(&out);
        check_histogram(&h, &fams[0].metric[0], true);
        let ph = fams[0].metric[0].histogram.as_ref().expect("h");
        let native_total: i64 = ph.positive_delta.iter().scan(0i64, |c, d| { *c += d; Some(*c) }).sum::<i64>()
            + ph.negative_delta.iter().scan(0i64, |c, d| { *c += d; Some(*c) }).sum::<i64>()
            + ph.zero_count() as i64;
        let not_nan = values.iter().filter(|v| !v.is_nan()).count() as i64;
        proptest::prop_assert_eq!(native_total, not_nan);
        let buckets = ph.positive_delta.len() + ph.negative_delta.len();
        proptest::prop_assert!(buckets <= max_buckets as usize || ph.schema() == -4, "{} buckets at schema {}", buckets, ph.schema());
    }
}
