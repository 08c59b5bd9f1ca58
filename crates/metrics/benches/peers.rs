//! zigquant-metrics against prometheus-client 0.26 and prometheus (tikv) 0.14 on the same work,
//! one line per case:
//! `<case> zigquant=<v> prometheus-client=<v> prometheus=<v> unit=<ns|ms|bytes|x>` (medians).
//!
//! Run: `cargo bench -p zigquant-metrics --bench peers`.
//!
//! Notes on fairness:
//! * `encode_*`: zigquant and prometheus write text 0.0.4; prometheus-client can only write
//!   OpenMetrics text, which is the same amount of work per sample. prometheus' time includes
//!   `gather()`, which is part of every scrape there. Each library appends into a reused buffer.
//! * `memory_per_series`: each library runs in a fresh child process (this binary re-executing
//!   itself); the label value strings are made before the baseline, so only the library's own
//!   memory is counted; RSS delta / 100k.
//! * `inc_lookup` / `observe_lookup`: prometheus-client gets its label set pre-built (it is
//!   looked up, not constructed, per call), which favours it. zigquant records through
//!   `Family::with` (the cached series is borrowed); prometheus-client's `get_or_create` hands
//!   out a read guard, prometheus' `with_label_values` a clone (a reference count up and down).
//! * `encode_protobuf_*`: the Prometheus protobuf format (length-delimited
//!   `io.prometheus.client.MetricFamily`) of the same registries; prometheus-client through its
//!   `prometheus_protobuf` feature (`encode_to_vec`, which builds the prost messages and encodes
//!   them). prometheus (tikv) is built without its `protobuf` feature (it would pull a second
//!   protobuf runtime into the build): `prometheus=NaN`.
//! * `observe_classic` / `observe_native`: one pre-resolved histogram handle, values spread over
//!   the buckets; native = classic buckets plus native buckets (factor 1.1, at most 160), against
//!   prometheus-client's `Histogram::new_classic_and_native` (tikv has no native histogram: NaN).

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::prometheus_protobuf::encode_to_vec as pc_encode_protobuf;
use prometheus_client::encoding::text::encode as pc_encode;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::gauge::Gauge as PcGauge;
use prometheus_client::metrics::histogram::{
    Histogram as PcHistogram, NativeHistogramConfig as PcNativeConfig,
};
use prometheus_client::registry::Registry as PcRegistry;
use std::sync::atomic::AtomicU64;
use zigquant_metrics::{
    Counter, Family, Format, Gauge, Histogram, LabelDomain, NativeConfig, Registry,
};

const LABELS: [&str; 3] = ["strategy", "pair", "venue"];
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

type PcLabels = Vec<(String, String)>;
type PcHistFamily = PcFamily<PcLabels, PcHistogram, fn() -> PcHistogram>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The three label values of series `i` of a family holding `per_family` series.
fn label_values(i: usize) -> [String; 3] {
    [
        format!("strat_{}", i % 10),
        format!("PAIR{}-USDT", (i / 10) % 10),
        format!("venue_{}", i / 100),
    ]
}

fn all_label_values(per_family: usize) -> Vec<[String; 3]> {
    (0..per_family).map(label_values).collect()
}

fn print_case(case: &str, z: f64, pc: f64, p: f64, unit: &str) {
    let fmt = |v: f64| match unit {
        "bytes" => format!("{v:.0}"),
        "x" => format!("{v:.2}"),
        "ms" => format!("{v:.2}"),
        _ => format!("{v:.1}"),
    };
    println!(
        "{case} zigquant={} prometheus-client={} prometheus={} unit={unit}",
        fmt(z),
        fmt(pc),
        fmt(p)
    );
}

// ---------------------------------------------------------------- registries of N series

fn zq_registry(values: &[[String; 3]]) -> Registry {
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

fn pc_labels(v: &[String; 3]) -> PcLabels {
    LABELS
        .iter()
        .zip(v)
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn pc_hist() -> PcHistogram {
    PcHistogram::new(BUCKETS)
}

fn pc_registry(values: &[[String; 3]]) -> PcRegistry {
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

fn p_registry(values: &[[String; 3]]) -> prometheus::Registry {
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

// ---------------------------------------------------------------- encode

fn encode_case(n: usize, iters: usize) {
    let values = all_label_values(n / 10);
    let (z, pc, p) = (
        zq_registry(&values),
        pc_registry(&values),
        p_registry(&values),
    );
    let (mut buf, mut pb, mut s, mut ps) = (Vec::new(), Vec::new(), String::new(), String::new());
    let enc = prometheus::TextEncoder::new();
    let protobuf = n >= 10_000;
    // All encoders take turns, scrape after scrape, so a busy machine slows them alike.
    let t = time_ms_interleaved(
        iters,
        &mut [
            &mut || {
                buf.clear();
                z.encode(Format::Text, &mut buf);
                black_box(&buf);
            },
            &mut || {
                s.clear();
                pc_encode(&mut s, &pc).expect("encode");
                black_box(&s);
            },
            &mut || {
                ps.clear();
                enc.encode_utf8(&p.gather(), &mut ps).expect("encode");
                black_box(&ps);
            },
            &mut || {
                if protobuf {
                    pb.clear();
                    z.encode(Format::Protobuf, &mut pb);
                    black_box(&pb);
                }
            },
            &mut || {
                if protobuf {
                    black_box(pc_encode_protobuf(&pc).expect("encode"));
                }
            },
        ],
    );
    let label = match n {
        1_000 => "encode_1k",
        10_000 => "encode_10k",
        _ => "encode_100k",
    };
    print_case(label, t[0], t[1], t[2], "ms");
    if protobuf {
        let label = if n == 10_000 {
            "encode_protobuf_10k"
        } else {
            "encode_protobuf_100k"
        };
        print_case(label, t[3], t[4], f64::NAN, "ms");
    }
}

/// Median milliseconds of each of `cases`, run in turns `iters` times after a warm-up turn.
fn time_ms_interleaved(iters: usize, cases: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut samples = vec![Vec::new(); cases.len()];
    for round in 0..=iters {
        for (i, case) in cases.iter_mut().enumerate() {
            let t = Instant::now();
            case();
            if round > 0 {
                samples[i].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    samples.into_iter().map(median).collect()
}

// ---------------------------------------------------------------- observe, classic and native

fn observe_cases() {
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

// ---------------------------------------------------------------- memory (child processes)

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn memory_child(lib: &str) {
    const SERIES: usize = 100_000;
    let values = all_label_values(SERIES / 10);
    let before = rss_bytes();
    let delta = match lib {
        "zigquant" => {
            let r = zq_registry(&values);
            let d = rss_bytes() - before;
            black_box(&r);
            d
        }
        "prometheus-client" => {
            let r = pc_registry(&values);
            let d = rss_bytes() - before;
            black_box(&r);
            d
        }
        _ => {
            let r = p_registry(&values);
            let d = rss_bytes() - before;
            black_box(&r);
            d
        }
    };
    println!("{}", delta as f64 / SERIES as f64);
}

fn memory_case() {
    let exe = std::env::current_exe().expect("own path");
    let run = |lib: &str| -> f64 {
        let out = Command::new(&exe)
            .arg(format!("--memory-child={lib}"))
            .output()
            .expect("child runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("child prints bytes per series")
    };
    let (z, pc, p) = (run("zigquant"), run("prometheus-client"), run("prometheus"));
    print_case("memory_per_series", z, pc, p, "bytes");
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

fn lookup_cases() {
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

fn two_threads_case() {
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

fn main() {
    if let Some(lib) =
        std::env::args().find_map(|a| a.strip_prefix("--memory-child=").map(str::to_owned))
    {
        memory_child(&lib);
        return;
    }
    // `PEERS_ONLY=lookup` (or encode, memory, observe, threads) runs one group, for profiling.
    let only = std::env::var("PEERS_ONLY").unwrap_or_default();
    let run = |group: &str| only.is_empty() || only == group;
    // The two-thread case needs two idle cores; say how busy the machine was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("peers bench: {cores} cores, load average {}", load.trim());
    let start = Instant::now();
    if run("encode") {
        encode_case(1_000, 101);
        encode_case(10_000, 31);
        encode_case(100_000, 7);
    }
    if run("memory") {
        memory_case();
    }
    if run("lookup") {
        lookup_cases();
    }
    if run("observe") {
        observe_cases();
    }
    if run("threads") {
        two_threads_case();
    }
    eprintln!(
        "peers bench finished in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}
