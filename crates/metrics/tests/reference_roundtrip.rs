//! Label values and sample values round-trip through the reference parsers (Python
//! `prometheus_client`, text and OpenMetrics), sample by sample.
//!
//! Each proptest case builds one registry holding a batch of series whose label values are
//! random strings (quotes, backslashes, newlines, non-ASCII, empty) and whose values are random
//! (NaN, ±Inf, huge, tiny, negative), encodes it in both formats, and has
//! `tests/reference_parse.py` parse both files. The test fails (never skips) when python3 or
//! prometheus_client is missing: run scripts/test, which installs them.

mod common;

use std::collections::BTreeMap;

use common::reference_parse;
use proptest::prelude::*;
use serde_json::Value;
use zigquant_metrics::{Format, LabelDomain, Registry};

/// A sample as both sides see it: name, sorted labels, value.
type Expected = (String, BTreeMap<String, String>, f64);

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z\"\\\\\n é日\u{1F600}{}=,\t]{0,12}",
        "\\PC{0,8}",
    ]
}

fn sample_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(-0.0),
        any::<f64>(),
        -1e6..1e6f64,
        (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
    ]
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn parsed_samples(v: &Value) -> Vec<Expected> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| {
            let name = s[0].as_str().expect("name").to_owned();
            let labels = s[1]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
                .collect();
            let value: f64 = s[2].as_str().expect("value").parse().expect("float repr");
            (name, labels, value)
        })
        .collect()
}

fn compare(format: &str, expected: &[Expected], parsed: &[Expected]) {
    assert_eq!(
        expected.len(),
        parsed.len(),
        "{format}: sample count differs\nexpected {expected:?}\nparsed {parsed:?}"
    );
    for (e, p) in expected.iter().zip(parsed) {
        assert_eq!(e.0, p.0, "{format}: name");
        assert_eq!(e.1, p.1, "{format}: labels of {}", e.0);
        assert!(
            same_value(e.2, p.2),
            "{format}: {} {:?}: wrote {} read {}",
            e.0,
            e.1,
            e.2,
            p.2
        );
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn labels_and_values_round_trip_through_the_reference_parsers(
        values in prop::collection::vec(label_value(), 1..12),
        gauges in prop::collection::vec(sample_value(), 12),
        counts in prop::collection::vec(prop_oneof![Just(0u64), Just(u64::MAX >> 11), any::<u32>().prop_map(u64::from)], 12),
        observations in prop::collection::vec(prop_oneof![0.0..10.0f64, Just(1e300), Just(0.0)], 0..6),
        case in any::<u64>(),
    ) {
        // Distinct values, in order: each becomes its own series.
        let mut distinct: Vec<String> = Vec::new();
        for v in values {
            if !distinct.contains(&v) {
                distinct.push(v);
            }
        }
        let domain = |name: &str| LabelDomain::new(name, distinct.iter().cloned(), "fallback-value");
        let r = Registry::new();
        let g = r.gauge_family("rt_gauge", "Gauge with \"odd\" help \\ text\nsecond line.", vec![domain("a"), domain("b")]).expect("gauge");
        let c = r.counter_family("rt_events_total", "Counter.", vec![domain("a")]).expect("counter");
        let h = r.histogram_family("rt_latency_seconds", "Histogram.", vec![domain("a")], &[0.5, 1.0, 2.5]).expect("histogram");

        let mut expected: Vec<Expected> = Vec::new();
        let mut expected_counters: Vec<Expected> = Vec::new();
        let mut expected_hist: Vec<Expected> = Vec::new();
        for (i, a) in distinct.iter().enumerate() {
            let b = &distinct[(i + 1) % distinct.len()];
            let v = gauges[i];
            g.get(&[a, b]).set(v);
            expected.push(("rt_gauge".into(), labels(&[("a", a), ("b", b)]), v));
        }
        for (i, a) in distinct.iter().enumerate() {
            c.get(&[a]).inc_by(counts[i]);
            expected_counters.push(("rt_events_total".into(), labels(&[("a", a)]), counts[i] as f64));
        }
        let a0 = &distinct[0];
        let series = h.get(&[a0]);
        for o in &observations {
            series.observe(*o);
        }
        let mut cum = [0u64; 4];
        for o in &observations {
            for (j, le) in [0.5, 1.0, 2.5, f64::INFINITY].iter().enumerate() {
                if o <= le { cum[j] += 1; }
            }
        }
        for (j, le) in ["0.5", "1", "2.5", "+Inf"].iter().enumerate() {
            expected_hist.push(("rt_latency_seconds_bucket".into(), labels(&[("a", a0), ("le", le)]), cum[j] as f64));
        }
        // The sum is accumulated in observation order, as the histogram does.
        let sum = observations.iter().fold(0.0, |s, o| s + o);
        expected_hist.push(("rt_latency_seconds_sum".into(), labels(&[("a", a0)]), sum));
        expected_hist.push(("rt_latency_seconds_count".into(), labels(&[("a", a0)]), observations.len() as f64));

        let mut text = Vec::new();
        r.encode(Format::Text, &mut text);
        let mut om = Vec::new();
        r.encode(Format::OpenMetrics, &mut om);
        let parsed = reference_parse(&text, &om, case);

        let mut all = expected.clone();
        all.extend(expected_counters.iter().cloned());
        all.extend(expected_hist.iter().cloned());
        compare("text", &all, &parsed_samples(&parsed["text"]));
        // OpenMetrics also carries each counter's and histogram's created timestamp, right
        // after the series' samples, in seconds.
        let created = |ms: i64| ms as f64 / 1000.0;
        let mut om_all = expected.clone();
        for (e, a) in expected_counters.iter().zip(&distinct) {
            om_all.push(e.clone());
            om_all.push(("rt_events_created".into(), labels(&[("a", a)]), created(c.get(&[a]).created_ms())));
        }
        om_all.extend(expected_hist.iter().cloned());
        om_all.push(("rt_latency_seconds_created".into(), labels(&[("a", a0)]), created(series.created_ms())));
        compare("openmetrics", &om_all, &parsed_samples(&parsed["openmetrics"]));
    }
}
