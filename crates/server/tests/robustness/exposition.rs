//! Checks on a scraped text exposition: a minimal parser, the cumulative-histogram rule, which
//! samples are counters, and the API request counts by status.

use std::collections::BTreeMap;

/// One sample: metric name, labels (in order written), value.
pub type Sample = (String, Vec<(String, String)>, f64);

pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = match line.find('{') {
            Some(open) => {
                let mut labels = Vec::new();
                let mut s = &line[open + 1..];
                loop {
                    if let Some(r) = s.strip_prefix('}') {
                        s = r;
                        break;
                    }
                    let s2 = s.strip_prefix(',').unwrap_or(s);
                    let eq = s2
                        .find("=\"")
                        .unwrap_or_else(|| panic!("bad label: {line}"));
                    let key = s2[..eq].to_string();
                    let mut value = String::new();
                    let mut it = s2[eq + 2..].char_indices();
                    let end = loop {
                        let (i, c) = it.next().unwrap_or_else(|| panic!("open label: {line}"));
                        match c {
                            '\\' => match it.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(c) => value.push(c),
                                None => panic!("bad escape: {line}"),
                            },
                            '"' => break i,
                            c => value.push(c),
                        }
                    };
                    labels.push((key, value));
                    s = &s2[eq + 2 + end + 1..];
                }
                (line[..open].to_string(), labels, s)
            }
            None => {
                let sp = line.find(' ').unwrap_or_else(|| panic!("no value: {line}"));
                (line[..sp].to_string(), Vec::new(), &line[sp..])
            }
        };
        let value = rest.trim().split(' ').next().unwrap_or("");
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("bad value {v:?} ({e}): {line}")),
        };
        out.push((name, labels, value));
    }
    out
}

pub fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut k = name.to_string();
    for (n, v) in labels {
        k.push_str(&format!("|{n}={v:?}"));
    }
    k
}

/// Histograms are cumulative: per series (labels without `le`), buckets in `le` order never
/// decrease and `+Inf` equals `_count`. Returns the number of histogram series checked.
pub fn check_histograms(samples: &[Sample], scrape: usize) -> usize {
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for (name, labels, v) in samples {
        if let Some(base) = name.strip_suffix("_bucket") {
            let le = labels
                .iter()
                .find(|(k, _)| k == "le")
                .map(|(_, v)| match v.as_str() {
                    "+Inf" => f64::INFINITY,
                    x => x.parse().expect("le"),
                })
                .expect("bucket without le");
            let rest: Vec<_> = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
            buckets.entry(key(base, &rest)).or_default().push((le, *v));
        } else if let Some(base) = name.strip_suffix("_count") {
            counts.insert(key(base, labels), *v);
        }
    }
    for (series, bs) in &buckets {
        for w in bs.windows(2) {
            assert!(
                w[0].0 < w[1].0,
                "scrape {scrape}: {series}: le out of order"
            );
            assert!(
                w[0].1 <= w[1].1,
                "scrape {scrape}: {series}: bucket le={} has {} > le={} with {}",
                w[0].0,
                w[0].1,
                w[1].0,
                w[1].1
            );
        }
        let (last_le, inf) = *bs.last().expect("buckets");
        assert!(last_le.is_infinite(), "scrape {scrape}: {series}: no +Inf");
        let count = counts
            .get(series)
            .unwrap_or_else(|| panic!("scrape {scrape}: {series}: no _count"));
        assert_eq!(inf, *count, "scrape {scrape}: {series}: +Inf != _count");
    }
    buckets.len()
}

pub fn is_monotonic(name: &str) -> bool {
    name.ends_with("_total")
        || name.ends_with("_bucket")
        || name.ends_with("_count") && name != "zigquant_position_count"
        || name.ends_with("_sum")
        || name == "zigquant_uptime_seconds"
}

pub fn api_requests(samples: &[Sample]) -> (f64, BTreeMap<String, f64>) {
    let mut total = 0.0;
    let mut by_status = BTreeMap::new();
    for (name, labels, v) in samples {
        if name == "zigquant_api_requests_total" {
            total += v;
            let status = labels
                .iter()
                .find(|(k, _)| k == "status")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            *by_status.entry(status).or_insert(0.0) += v;
        }
    }
    (total, by_status)
}

/// The live heap, `zigquant_memory_bytes{type="heap"}`, NaN when absent.
pub fn heap_bytes(samples: &[Sample]) -> f64 {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == "zigquant_memory_bytes" && l.iter().any(|(k, v)| k == "type" && v == "heap")
        })
        .map(|(_, _, v)| *v)
        .unwrap_or(f64::NAN)
}
