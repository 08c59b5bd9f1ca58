//! The same registry of N labelled series (4 counter, 3 gauge and 3 histogram families) built
//! in each library, for the encode and memory cases.

use super::*;

pub(super) fn zq_registry(values: &[[String; 3]]) -> Registry {
    let r = Registry::new();
    let domains = || -> Vec<LabelDomain> {
        (0..3)
            .map(|k| {
                let mut vs: Vec<&str> = values.iter().map(|v| v[k].as_str()).collect();
                vs.sort_unstable();
                vs.dedup();
                LabelDomain::new(LABELS[k], vs, "other")
            })
            .collect()
    };
    for f in 0..4 {
        let fam: Family<Counter> = r
            .counter_family(&format!("bench_counter_{f}_total"), "Counter.", domains())
            .expect("counter");
        for (i, v) in values.iter().enumerate() {
            fam.get(&[&v[0], &v[1], &v[2]]).inc_by(i as u64);
        }
    }
    for f in 0..3 {
        let fam: Family<Gauge> = r
            .gauge_family(&format!("bench_gauge_{f}"), "Gauge.", domains())
            .expect("gauge");
        for (i, v) in values.iter().enumerate() {
            fam.get(&[&v[0], &v[1], &v[2]]).set(i as f64 * 0.37);
        }
    }
    for f in 0..3 {
        let fam: Family<Histogram> = r
            .histogram_family(
                &format!("bench_hist_{f}_seconds"),
                "Histogram.",
                domains(),
                &BUCKETS,
            )
            .expect("hist");
        for (i, v) in values.iter().enumerate() {
            fam.get(&[&v[0], &v[1], &v[2]])
                .observe((i % 100) as f64 / 37.0);
        }
    }
    r
}

pub(super) fn pc_labels(v: &[String; 3]) -> PcLabels {
    LABELS
        .iter()
        .zip(v)
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(super) fn pc_hist() -> PcHistogram {
    PcHistogram::new(BUCKETS)
}

pub(super) fn pc_registry(values: &[[String; 3]]) -> PcRegistry {
    let mut r = PcRegistry::default();
    for f in 0..4 {
        let fam = PcFamily::<PcLabels, PcCounter>::default();
        r.register(format!("bench_counter_{f}"), "Counter.", fam.clone());
        for (i, v) in values.iter().enumerate() {
            fam.get_or_create(&pc_labels(v)).inc_by(i as u64);
        }
    }
    for f in 0..3 {
        let fam = PcFamily::<PcLabels, PcGauge<f64, AtomicU64>>::default();
        r.register(format!("bench_gauge_{f}"), "Gauge.", fam.clone());
        for (i, v) in values.iter().enumerate() {
            fam.get_or_create(&pc_labels(v)).set(i as f64 * 0.37);
        }
    }
    for f in 0..3 {
        let fam: PcHistFamily = PcFamily::new_with_constructor(pc_hist);
        r.register(format!("bench_hist_{f}_seconds"), "Histogram.", fam.clone());
        for (i, v) in values.iter().enumerate() {
            fam.get_or_create(&pc_labels(v))
                .observe((i % 100) as f64 / 37.0);
        }
    }
    r
}

pub(super) fn p_registry(values: &[[String; 3]]) -> prometheus::Registry {
    let r = prometheus::Registry::new();
    for f in 0..4 {
        let fam = prometheus::IntCounterVec::new(
            prometheus::Opts::new(format!("bench_counter_{f}_total"), "Counter."),
            &LABELS,
        )
        .expect("counter");
        r.register(Box::new(fam.clone())).expect("register");
        for (i, v) in values.iter().enumerate() {
            fam.with_label_values(&[&v[0], &v[1], &v[2]])
                .inc_by(i as u64);
        }
    }
    for f in 0..3 {
        let fam = prometheus::GaugeVec::new(
            prometheus::Opts::new(format!("bench_gauge_{f}"), "Gauge."),
            &LABELS,
        )
        .expect("gauge");
        r.register(Box::new(fam.clone())).expect("register");
        for (i, v) in values.iter().enumerate() {
            fam.with_label_values(&[&v[0], &v[1], &v[2]])
                .set(i as f64 * 0.37);
        }
    }
    for f in 0..3 {
        let fam = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(format!("bench_hist_{f}_seconds"), "Histogram.")
                .buckets(BUCKETS.to_vec()),
            &LABELS,
        )
        .expect("hist");
        r.register(Box::new(fam.clone())).expect("register");
        for (i, v) in values.iter().enumerate() {
            fam.with_label_values(&[&v[0], &v[1], &v[2]])
                .observe((i % 100) as f64 / 37.0);
        }
    }
    r
}
