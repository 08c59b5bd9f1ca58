//! Scrapes taken while other threads record are never torn: buckets cumulative, `+Inf ==
//! _count`, and no counter is ever lower than in an earlier scrape.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zigquant_metrics::{Format, LabelDomain, Registry};

#[test]
fn scrapes_under_concurrent_recording_are_consistent_and_monotonic() {
    let registry = Arc::new(Registry::new());
    let domain = || LabelDomain::new("worker", ["0", "1", "2", "3"], "other");
    let counters = registry
        .counter_family("jobs_total", "Jobs.", vec![domain()])
        .expect("counters");
    let hist = registry
        .histogram_family(
            "job_seconds",
            "Job latency.",
            vec![domain()],
            &[0.01, 0.05, 0.1, 0.5, 1.0],
        )
        .expect("histograms");
    let shared = registry
        .counter("shared_total", "Hit by all writers.")
        .expect("shared");

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (counters, hist, shared, stop) = (
                counters.clone(),
                hist.clone(),
                Arc::clone(&shared),
                Arc::clone(&stop),
            );
            thread::spawn(move || {
                let name = w.to_string();
                let own = counters.get(&[&name]);
                let h = hist.get(&[&name]);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    own.inc();
                    shared.inc();
                    // Also through lookups, and into a series other writers use too.
                    counters.get(&["3"]).inc_by(2);
                    h.observe((i % 150) as f64 / 100.0);
                    hist.get(&["3"]).observe(0.07);
                    i += 1;
                }
            })
        })
        .collect();

    // Let the writers get going (the machine may be busy), then scrape at least 400 times and
    // until a scrape has seen the counters move, within a generous deadline.
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.get() < 1_000 && Instant::now() < deadline {
        thread::yield_now();
    }
    let mut previous: HashMap<String, f64> = HashMap::new();
    let mut scrapes = 0;
    let mut saw_growth = false;
    let formats = [Format::Text, Format::OpenMetrics];
    while scrapes < 400 || (!saw_growth && Instant::now() < deadline) {
        let format = formats[scrapes % 2];
        let mut out = Vec::new();
        registry.encode(format, &mut out);
        let text = String::from_utf8(out).expect("utf8");
        let samples = common::parse(&text);
        for s in samples.iter().filter(|s| s.name.ends_with("_total")) {
            let key = format!("{}{:?}", s.name, s.labels);
            if let Some(&before) = previous.get(&key) {
                assert!(s.value >= before, "{key} went from {before} to {}", s.value);
                saw_growth |= s.value > before;
            }
            previous.insert(key, s.value);
        }
        for (labels, buckets, sum, count) in common::histograms(&samples, "job_seconds") {
            assert_eq!(buckets.len(), 6, "{labels:?}");
            assert!(
                buckets.windows(2).all(|w| w[0].0 < w[1].0),
                "le order {buckets:?}"
            );
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "not cumulative: {buckets:?}"
            );
            let inf = buckets.last().expect("+Inf");
            assert!(inf.0.is_infinite());
            assert_eq!(inf.1, count, "+Inf != _count for {labels:?}");
            assert!(sum >= 0.0);
        }
        scrapes += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(scrapes >= 400);
    assert!(saw_growth, "writers never ran during the scrapes");

    // After the writers stop, totals are exact.
    let per_worker: u64 = (0..3).map(|w| counters.get(&[&w.to_string()]).get()).sum();
    assert_eq!(shared.get(), per_worker);
    assert_eq!(counters.get(&["3"]).get(), 2 * per_worker);
}
