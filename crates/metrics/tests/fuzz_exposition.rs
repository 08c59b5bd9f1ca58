//! Exposition fuzzing: random label values, HELP texts, bucket bounds and sample values (NaN,
//! ±Inf, huge, tiny, subnormal, -0.0, u64::MAX counters) through both encoders; every scrape is
//! parsed back by the reference parsers (Python `prometheus_client`, text and OpenMetrics; the
//! script is `tests/reference_parse.py`, reading files byte-exact) and by `promtool check
//! metrics`; every value must come back bit-for-bit (NaN as NaN), every label value exactly.
//!
//! promtool 2.42 (Debian bookworm) only has the text 0.0.4 parser and misreads OpenMetrics (see
//! `promtool.rs`), so it checks the text scrape; the OpenMetrics scrape is checked by the Python
//! OpenMetrics parser, which is strict (it rejects anything the spec does not allow). Metric
//! names here avoid `_count` on non-histograms, the only lint the catalogue has to tolerate.
//!
//! A missing python3, prometheus_client or promtool fails the test with a message saying how
//! to install them (scripts/test does).

mod common;

use std::collections::BTreeMap;

use common::{promtool_check_metrics, reference_parse};
use proptest::prelude::*;
use serde_json::Value;
use zigquant_metrics::{Format, LabelDomain, Registry};

/// (name, labels with `le` normalised to its float's `{:?}`, value).
type Key = (String, BTreeMap<String, String>);

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\\".to_string()),
        Just("\"".to_string()),
        Just("\n".to_string()),
        Just("\\n".to_string()),
        Just("a\\\"b\n\"c\\".to_string()),
        "[a-z\"\\\\\n\r\t é日\u{1F600}{}=,#]{0,16}",
        "\\PC{0,12}",
        "[ -~]{100,300}",
        any::<String>(),
    ]
}

fn help_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Plain help.".to_string()),
        // Never empty: promtool lints an empty HELP ("no help text"), as it should.
        "[a-zA-Z \\\\\n{}=,é日]{0,40}".prop_map(|h| format!("H{h}")),
    ]
}

fn gauge_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(f64::EPSILON),
        Just(5e-324),
        Just(-5e-324),
        Just(2.225_073_858_507_201e-308), // largest subnormal
        Just(-0.0),
        Just(0.0),
        Just(1e21),
        Just(1e-7),
        Just(9_007_199_254_740_993.0),
        any::<f64>(),
        (-1e12..1e12f64),
        (i64::MIN..i64::MAX).prop_map(|v| v as f64),
    ]
}

fn counter_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1u64),
        Just(u64::MAX),
        Just(1u64 << 53),
        Just((1u64 << 53) + 1),
        any::<u64>(),
        any::<u32>().prop_map(u64::from),
    ]
}

fn observation() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(5e-324),
        Just(f64::MIN_POSITIVE),
        Just(1e300),
        (0.0..10.0f64),
        (0.0..1e-6f64),
    ]
}

fn bounds() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            Just(5e-324),
            Just(1e-300),
            Just(f64::MIN_POSITIVE),
            Just(0.1),
            Just(1.0),
            Just(1e300),
            Just(f64::MAX),
            (1e-9..1e9f64),
        ],
        1..8,
    )
    .prop_map(|mut b| {
        b.sort_by(f64::total_cmp);
        b.dedup();
        b
    })
}

fn norm_labels(labels: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    labels
        .into_iter()
        .map(|(k, v)| {
            if k == "le" {
                let f: f64 = match v.as_str() {
                    "+Inf" => f64::INFINITY,
                    x => x.parse().unwrap_or_else(|e| panic!("le {x:?}: {e}")),
                };
                (k, format!("{f:?}"))
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Bit-exact equality (NaN equals NaN), except the sign of zero: -0.0 is exported as `0` by
/// contract (docs/statistics.md §0), so it comes back as +0.0; `negative_zero_is_exported_as_zero`
/// below pins that down.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

fn promtool_check(text: &[u8]) {
    let (code, report) = promtool_check_metrics(text);
    assert!(
        code == Some(0) && report.trim().is_empty(),
        "promtool check metrics (exit {code:?}): {report}\n--- exposition ---\n{}",
        String::from_utf8_lossy(text)
    );
}

fn parsed(v: &Value) -> BTreeMap<Key, f64> {
    let mut out = BTreeMap::new();
    for s in v.as_array().expect("array") {
        let name = s[0].as_str().expect("name").to_owned();
        let labels = norm_labels(
            s[1].as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned())),
        );
        let value: f64 = s[2]
            .as_str()
            .expect("value")
            .parse()
            .expect("python float repr");
        assert!(
            out.insert((name.clone(), labels.clone()), value).is_none(),
            "duplicate sample {name} {labels:?}"
        );
    }
    out
}

fn compare(format: &str, expected: &BTreeMap<Key, f64>, got: &BTreeMap<Key, f64>) {
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{format}: missing {missing:?}\nextra {extra:?}"
    );
    for (k, e) in expected {
        let g = got[k];
        assert!(
            same(*e, g),
            "{format}: {} {:?}: wrote {e:?} ({:#x}), read {g:?} ({:#x})",
            k.0,
            k.1,
            e.to_bits(),
            g.to_bits()
        );
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    norm_labels(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// 32 cases in CI; `PROPTEST_CASES=<n>` for a longer run (docs/soak.md).
fn fuzz_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_scrapes_parse_and_round_trip_in_both_formats_and_pass_promtool(
        values in prop::collection::vec(label_value(), 1..10),
        help in help_text(),
        gauges in prop::collection::vec(gauge_value(), 10),
        counters in prop::collection::vec(counter_value(), 10),
        bounds in bounds(),
        observations in prop::collection::vec(observation(), 0..12),
        single in gauge_value(),
        tag in any::<u64>(),
    ) {
        let mut distinct: Vec<String> = Vec::new();
        for v in values {
            if !distinct.contains(&v) && v != "fallback" {
                distinct.push(v);
            }
        }
        let domain = |name: &str| LabelDomain::new(name, distinct.iter().cloned(), "fallback");
        let r = Registry::new();
        let g = r.gauge_family("fz_level_ratio", &help, vec![domain("a"), domain("b")]).expect("gauge family");
        let c = r.counter_family("fz_events_total", &help, vec![domain("kind")]).expect("counter family");
        let h = r.histogram_family("fz_latency_seconds", &help, vec![domain("route")], &bounds).expect("histogram family");
        let lone = r.gauge("fz_lone_ratio", &help).expect("gauge");

        let mut expected: BTreeMap<Key, f64> = BTreeMap::new();
        for (i, a) in distinct.iter().enumerate() {
            let b = &distinct[(i + 1) % distinct.len()];
            g.get(&[a, b]).set(gauges[i]);
            expected.insert(("fz_level_ratio".into(), labels(&[("a", a), ("b", b)])), gauges[i]);
            c.get(&[a]).inc_by(counters[i]);
            expected.insert(("fz_events_total".into(), labels(&[("kind", a)])), counters[i] as f64);
        }
        // A value outside the domain lands on the fallback series.
        let outside = format!("{}-not-in-domain", distinct.join("|"));
        g.get(&[&outside, &outside]).set(single);
        expected.insert(("fz_level_ratio".into(), labels(&[("a", "fallback"), ("b", "fallback")])), single);
        lone.set(single);
        expected.insert(("fz_lone_ratio".into(), BTreeMap::new()), single);

        let route = &distinct[0];
        let series = h.get(&[route]);
        // Exemplars ride along (OpenMetrics only); the reference parser checks their syntax.
        // Its exemplar parser (prometheus_client 0.2x) rejects an escaped `\"` in an exemplar
        // label value, which OpenMetrics allows, so the exemplar values here have none.
        for (i, o) in observations.iter().enumerate() {
            let id = distinct[i % distinct.len()].replace('"', "'");
            series.observe_with_exemplar(*o, &[("trace_id", &id)]);
        }
        let mut les: Vec<f64> = bounds.clone();
        les.push(f64::INFINITY);
        for le in &les {
            let n = observations.iter().filter(|o| **o <= *le).count();
            expected.insert(
                ("fz_latency_seconds_bucket".into(), labels(&[("route", route), ("le", &format!("{le:?}"))])),
                n as f64,
            );
        }
        let sum = observations.iter().fold(0.0, |s, o| s + o);
        expected.insert(("fz_latency_seconds_sum".into(), labels(&[("route", route)])), sum);
        expected.insert(("fz_latency_seconds_count".into(), labels(&[("route", route)])), observations.len() as f64);

        let mut text = Vec::new();
        r.encode(Format::Text, &mut text);
        let mut om = Vec::new();
        r.encode(Format::OpenMetrics, &mut om);
        promtool_check(&text);
        let v = reference_parse(&text, &om, tag);
        compare("text", &expected, &parsed(&v["text"]));
        // OpenMetrics also carries the created timestamp of every counter and histogram series.
        let mut om_expected = expected.clone();
        for a in &distinct {
            let created = c.get(&[a]).created_ms() as f64 / 1000.0;
            om_expected.insert(("fz_events_created".into(), labels(&[("kind", a)])), created);
        }
        let created = series.created_ms() as f64 / 1000.0;
        om_expected.insert(("fz_latency_seconds_created".into(), labels(&[("route", route)])), created);
        compare("openmetrics", &om_expected, &parsed(&v["openmetrics"]));
    }
}

/// -0.0 is written as `0`, on purpose: docs/statistics.md §0 says a zero result is exported as 0.0,
/// never -0.0, and the encoder is the last place to guarantee it for every gauge.
#[test]
fn negative_zero_is_exported_as_zero() {
    let r = Registry::new();
    r.gauge("fz_zero_ratio", "Negative zero.")
        .expect("gauge")
        .set(-0.0);
    for format in [Format::Text, Format::OpenMetrics] {
        let mut out = Vec::new();
        r.encode(format, &mut out);
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.contains("fz_zero_ratio 0\n") && !text.contains("-0\n"),
            "{format:?}: -0.0 must be written as 0:\n{text}"
        );
    }
}
