//! The recording hot paths: counter and histogram lookups and handles, classic and native
//! observe, and two threads on one counter.

use super::*;

// ---------------------------------------------------------------- observe, classic and native

pub(super) fn observe_cases() {
    const OPS: usize = 1_000_000;
    // Latencies from 0.1 ms to ~100 ms, spread over the buckets.
    let value = |i: usize| ((i & 1023) as f64 + 1.0) * 1e-4;
    let classic = Histogram::new(&BUCKETS).expect("bounds");
    let native = Histogram::with_native(&BUCKETS, NativeConfig::default()).expect("native");
    let pc_classic = PcHistogram::new(BUCKETS);
    let pc_native =
        PcHistogram::new_classic_and_native(BUCKETS, PcNativeConfig::new(1.1).max_buckets(160));
    let p_classic = prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new("h", "h").buckets(BUCKETS.to_vec()),
    )
    .expect("h");
    // The five take turns, round after round, so a busy machine slows them alike.
    let t = interleaved(
        OPS,
        &mut [
            &mut |n| (0..n).for_each(|i| black_box(&classic).observe(value(i))),
            &mut |n| (0..n).for_each(|i| black_box(&pc_classic).observe(value(i))),
            &mut |n| (0..n).for_each(|i| black_box(&p_classic).observe(value(i))),
            &mut |n| (0..n).for_each(|i| black_box(&native).observe(value(i))),
            &mut |n| (0..n).for_each(|i| black_box(&pc_native).observe(value(i))),
        ],
    );
    let (zc, pcc, pc, zn, pcn) = (t[0], t[1], t[2], t[3], t[4]);
    print_case("observe_classic", zc, pcc, pc, "ns");
    print_case("observe_native", zn, pcn, f64::NAN, "ns");
}

// ---------------------------------------------------------------- hot paths

fn ns_per_op(ops: usize, mut f: impl FnMut(usize)) -> f64 {
    f(ops / 10);
    median(
        (0..7)
            .map(|_| {
                let t = Instant::now();
                f(ops);
                t.elapsed().as_nanos() as f64 / ops as f64
            })
            .collect(),
    )
}

/// Median ns per operation of each of `cases`, run in turns (one round of `ops` each, 15
/// rounds after a warm-up round).
fn interleaved(ops: usize, cases: &mut [&mut dyn FnMut(usize)]) -> Vec<f64> {
    let mut samples = vec![Vec::new(); cases.len()];
    for round in 0..16 {
        for (i, case) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            case(ops);
            if round > 0 {
                samples[i].push(t.elapsed().as_nanos() as f64 / ops as f64);
            }
        }
    }
    samples.into_iter().map(median).collect()
}

pub(super) fn lookup_cases() {
    let values = all_label_values(100);
    let z = zq_registry(&values);
    let _ = z;
    // A family of 100 series; every call looks up the same label set.
    let zdom = |k: usize| {
        let mut vs: Vec<&str> = values.iter().map(|v| v[k].as_str()).collect();
        vs.sort_unstable();
        vs.dedup();
        LabelDomain::new(LABELS[k], vs, "other")
    };
    let zr = Registry::new();
    let zc = zr
        .counter_family("lookup_total", "c", (0..3).map(zdom).collect())
        .expect("c");
    let pcc = PcFamily::<PcLabels, PcCounter>::default();
    let pc = prometheus::IntCounterVec::new(prometheus::Opts::new("lookup_total", "c"), &LABELS)
        .expect("c");
    for v in &values {
        zc.get(&[&v[0], &v[1], &v[2]]).inc();
        pcc.get_or_create(&pc_labels(v)).inc();
        pc.with_label_values(&[&v[0], &v[1], &v[2]]).inc();
    }
    let v = &values[42];
    let (a, b, c) = (v[0].as_str(), v[1].as_str(), v[2].as_str());
    let pl = pc_labels(v);
    const OPS: usize = 2_000_000;
    // `Family::with` is how a label lookup records: the cached series is borrowed, not cloned.
    let zt = ns_per_op(OPS, |n| {
        for _ in 0..n {
            zc.with(black_box(&[a, b, c]), |c| c.inc());
        }
    });
    let pct = ns_per_op(OPS, |n| {
        for _ in 0..n {
            pcc.get_or_create(black_box(&pl)).inc();
        }
    });
    let pt = ns_per_op(OPS, |n| {
        for _ in 0..n {
            pc.with_label_values(black_box(&[a, b, c])).inc();
        }
    });
    print_case("inc_lookup", zt, pct, pt, "ns");

    // Pre-resolved handles.
    let zh = zc.get(&[a, b, c]);
    let pch = pcc.get_or_create(&pl).clone();
    let ph = pc.with_label_values(&[a, b, c]);
    const HOPS: usize = 20_000_000;
    let zt = ns_per_op(HOPS, |n| {
        for _ in 0..n {
            black_box(&*zh).inc();
        }
    });
    let pct = ns_per_op(HOPS, |n| {
        for _ in 0..n {
            black_box(&pch).inc();
        }
    });
    let pt = ns_per_op(HOPS, |n| {
        for _ in 0..n {
            black_box(&ph).inc();
        }
    });
    print_case("inc_handle", zt, pct, pt, "ns");

    // Histogram with method,path labels.
    let methods = ["GET", "POST", "PUT", "DELETE"];
    let paths: Vec<String> = (0..20)
        .map(|i| format!("/api/v1/route{i}/{{id}}"))
        .collect();
    let zh = zr
        .histogram_family(
            "http_seconds",
            "h",
            vec![
                LabelDomain::new("method", methods, "OTHER"),
                LabelDomain::new("path", paths.iter().cloned(), "unmatched"),
            ],
            &BUCKETS,
        )
        .expect("h");
    let pch: PcFamily<PcLabels, PcHistogram, fn() -> PcHistogram> =
        PcFamily::new_with_constructor(pc_hist);
    let ph = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("http_seconds", "h").buckets(BUCKETS.to_vec()),
        &["method", "path"],
    )
    .expect("h");
    for m in methods {
        for p in &paths {
            zh.get(&[m, p]).observe(0.1);
            pch.get_or_create(&vec![
                ("method".into(), m.into()),
                ("path".into(), p.clone()),
            ])
            .observe(0.1);
            ph.with_label_values(&[m, p.as_str()]).observe(0.1);
        }
    }
    let (m, p) = ("POST", paths[7].as_str());
    let pl: PcLabels = vec![("method".into(), m.into()), ("path".into(), p.into())];
    let zt = ns_per_op(OPS, |n| {
        for i in 0..n {
            zh.with(black_box(&[m, p]), |h| h.observe((i & 1023) as f64 * 0.001));
        }
    });
    let pct = ns_per_op(OPS, |n| {
        for i in 0..n {
            pch.get_or_create(black_box(&pl))
                .observe((i & 1023) as f64 * 0.001);
        }
    });
    let pt = ns_per_op(OPS, |n| {
        for i in 0..n {
            ph.with_label_values(black_box(&[m, p]))
                .observe((i & 1023) as f64 * 0.001);
        }
    });
    print_case("observe_lookup", zt, pct, pt, "ns");
}

/// Throughput with two threads on one series / throughput with one thread.
fn scaling<H: Send + Sync + 'static>(make: impl Fn() -> Arc<H>, inc: fn(&H)) -> f64 {
    const OPS: usize = 20_000_000;
    let one = |h: Arc<H>| {
        let t = Instant::now();
        for _ in 0..OPS {
            inc(black_box(&h));
        }
        OPS as f64 / t.elapsed().as_secs_f64()
    };
    let two = |h: Arc<H>| {
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let t = Instant::now();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (h, barrier) = (Arc::clone(&h), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..OPS {
                        inc(black_box(&h));
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().expect("thread");
        }
        2.0 * OPS as f64 / t.elapsed().as_secs_f64()
    };
    median((0..7).map(|_| two(make()) / one(make())).collect())
}

pub(super) fn two_threads_case() {
    let values = all_label_values(10);
    let v = &values[3];
    let z = scaling(
        || {
            let r = Registry::new();
            let dom = |k: usize| LabelDomain::new(LABELS[k], [v[k].clone()], "other");
            let f = r
                .counter_family("c_total", "c", (0..3).map(dom).collect())
                .expect("c");
            f.get(&[&v[0], &v[1], &v[2]])
        },
        |c: &Counter| c.inc(),
    );
    let pc = scaling(
        || {
            let f = PcFamily::<PcLabels, PcCounter>::default();
            let c = f.get_or_create(&pc_labels(v)).clone();
            Arc::new(c)
        },
        |c: &PcCounter| {
            c.inc();
        },
    );
    let p = scaling(
        || {
            let f = prometheus::IntCounterVec::new(prometheus::Opts::new("c_total", "c"), &LABELS)
                .expect("c");
            Arc::new(f.with_label_values(&[&v[0], &v[1], &v[2]]))
        },
        |c: &prometheus::IntCounter| c.inc(),
    );
    print_case("inc_2threads_same_series", z, pc, p, "x");
}
