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
//! * `store_only_*`: not a library: the bytes of our text scrape appended in 48-byte pieces
//!   in our text encoder's turn (a second pass), nothing formatted. It shows what the output's
//!   memory traffic alone costs when the peers' turns have pushed everything out of the caches.
//! * `observe_classic` / `observe_native`: one pre-resolved histogram handle, values spread over
//!   the buckets; native = classic buckets plus native buckets (factor 1.1, at most 160), against
//!   prometheus-client's `Histogram::new_classic_and_native` (tikv has no native histogram: NaN).

mod hot_paths;
mod registries;

use hot_paths::{lookup_cases, observe_cases, two_threads_case};
use registries::{p_registry, pc_hist, pc_labels, pc_registry, zq_registry};

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
    // Stores only: as many bytes as our text scrape, appended in sample-sized pieces (48 bytes)
    // to a reused buffer, nothing read or formatted, no prefetching. Measured in a second pass
    // in our text encoder's place, so it finds the caches as the peers' turns leave them: what
    // writing the output alone costs there (docs/benchmarks.md §8, "the output prefetched").
    let piece = [b'x'; 48];
    let mut stores_buf = Vec::new();
    let mut stores_pass = false;
    let (mut t, mut stores_only) = (Vec::new(), f64::NAN);
    for pass in 0..if protobuf { 2 } else { 1 } {
        // All encoders take turns, scrape after scrape, so a busy machine slows them alike.
        let times = time_ms_interleaved(
            iters,
            &mut [
                &mut || {
                    if stores_pass {
                        stores_buf.clear();
                        while stores_buf.len() < buf.len() {
                            stores_buf.extend_from_slice(&piece);
                        }
                        black_box(&stores_buf);
                    } else {
                        buf.clear();
                        z.encode(Format::Text, &mut buf);
                        black_box(&buf);
                    }
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
        if pass == 0 {
            t = times;
            stores_pass = true;
        } else {
            stores_only = times[0];
        }
    }
    let label = match n {
        1_000 => "encode_1k",
        10_000 => "encode_10k",
        _ => "encode_100k",
    };
    print_case(label, t[0], t[1], t[2], "ms");
    if protobuf {
        let (label, stores_label) = if n == 10_000 {
            ("encode_protobuf_10k", "store_only_10k")
        } else {
            ("encode_protobuf_100k", "store_only_100k")
        };
        print_case(label, t[3], t[4], f64::NAN, "ms");
        print_case(stores_label, stores_only, f64::NAN, f64::NAN, "ms");
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
