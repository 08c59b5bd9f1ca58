//! Load against the real `zigquant` binary over a real socket, with Prometheus-style scrapes.
//!
//! `load_counts_every_request_exactly_and_scrapes_stay_fast` (about 15 s): the binary runs on its
//! default configuration (trading, default series count). `CLIENTS` keep-alive connections
//! hammer the API (200s, 201s, 401s, 404s, 405s, 422s) for `LOAD_SECS` while a scraper fetches
//! `/metrics` every 100 ms. It proves:
//! * the sum of `zigquant_api_requests_total` grows by exactly the number of requests sent plus
//!   the scrapes (a request is counted before its response is written, and a scrape does not
//!   count itself), and each status' share grows by exactly what was sent with that status;
//! * every counter sample (`*_total`, histogram `_bucket`/`_count`/`_sum`) never decreases from
//!   one scrape to the next;
//! * every histogram in every scrape is cumulative: buckets non-decreasing in `le`, `+Inf` ==
//!   `_count`;
//! * scrapes are not starved by the load: p99 scrape latency (request written -> whole body
//!   read) under a generous 250 ms stall bound. The figure itself (p50/p99/max) is printed; the
//!   speed target belongs to benchmarks (`cargo bench -p zigquant-server --bench exporter`,
//!   docs/benchmarks.md), not to a timed test on a shared machine;
//! * RSS, sampled every second, is printed (the figures for docs/benchmarks.md).
//!
//! `soak` (ignored; `ZQ_SOAK_SECS`, default 600) is the same for longer, with an RSS bound after
//! warm-up and the 10 ms p99 scrape target (a measurement run on a quiet machine, not part of
//! `scripts/test`); see docs/soak.md.
//!
//! The binary is `$ZIGQUANT_BIN` when set, else the one cargo builds for this test.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "robustness-load-key-0123456789";
const CLIENTS: usize = 8;
const LOAD_SECS: u64 = 10;
const SCRAPE_EVERY: Duration = Duration::from_millis(100);
/// The soak's p99 scrape target (a measurement run, docs/soak.md).
const P99_SCRAPE_TARGET: Duration = Duration::from_millis(10);
/// The load test's bound: a scrape blocked behind the API load (a shared lock, a starved task)
/// takes seconds, a healthy one milliseconds; scheduler noise on a busy 2-core CI machine stays
/// well under this.
const P99_SCRAPE_STALL_BOUND: Duration = Duration::from_millis(250);

// ---------------------------------------------------------------- the process

struct Server {
    child: Child,
    addr: SocketAddr,
    dir: std::path::PathBuf,
    stderr_log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    fn binary() -> std::path::PathBuf {
        let path = std::env::var_os("ZIGQUANT_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_zigquant").into());
        assert!(
            path.is_file(),
            "zigquant binary not found at {} (ZIGQUANT_BIN); build it with `cargo build --release --bin zigquant`",
            path.display()
        );
        path
    }

    fn start(name: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("zq-robust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let stderr_log = dir.join("stderr.log");
        // The per-address limits are off: the load comes from one address on purpose and mixes
        // in unauthenticated requests; the limits have their own tests (tests/limits.rs).
        let config = dir.join("zigquant.toml");
        let toml = zigquant_server::config::default_toml()
            .replace(
                "auth_failures_per_minute = 10\n",
                "auth_failures_per_minute = 1000000\n",
            )
            .replace("requests_per_second = 1000\n", "requests_per_second = 0\n");
        assert!(
            toml.contains("requests_per_second = 0\n"),
            "default config changed"
        );
        std::fs::write(&config, toml).expect("config file");
        let child = Command::new(Self::binary())
            .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&config)
            .env("ZQ_API_KEY", KEY)
            .env("ZQ_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_log).expect("log file"))
            .spawn()
            .expect("zigquant starts");
        let server = Server {
            child,
            addr,
            dir,
            stderr_log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "zigquant did not listen within 30 s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.stderr_log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// (VmRSS, RssAnon, RssFile + RssShmem) in kB.
    fn rss_kb(&self) -> Rss {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in /proc/pid/status"))
        };
        Rss {
            total: field("VmRSS:"),
            anon: field("RssAnon:"),
            file: field("RssFile:") + field("RssShmem:"),
        }
    }
}

/// Resident memory, kB: total, anonymous (heap, stacks) and file-backed + shared (the binary's
/// pages, SQLite's WAL index).
#[derive(Clone, Copy, Debug)]
struct Rss {
    total: u64,
    anon: u64,
    file: u64,
}

// ---------------------------------------------------------------- a small HTTP/1.1 client

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    async fn request(&mut self, method: &str, path: &str, key: bool, body: Option<&str>) -> Answer {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if key {
            req.push_str(&format!("Authorization: Bearer {KEY}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ));
        } else {
            req.push_str("\r\n");
        }
        self.stream
            .write_all(req.as_bytes())
            .await
            .expect("write request");
        self.read_answer().await
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 32 * 1024];
        let n = self.stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed the connection mid-answer");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    async fn read_answer(&mut self) -> Answer {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            self.fill().await;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let body = if let Some(len) = header("content-length") {
            let len: usize = len.parse().expect("content-length");
            while self.buf.len() < len {
                self.fill().await;
            }
            self.buf.drain(..len).collect()
        } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let line_end = loop {
                    if let Some(i) = find(&self.buf, b"\r\n") {
                        break i;
                    }
                    self.fill().await;
                };
                let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size =
                    usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                        .expect("chunk size");
                self.buf.drain(..line_end + 2);
                while self.buf.len() < size + 2 {
                    self.fill().await;
                }
                body.extend(self.buf.drain(..size));
                self.buf.drain(..2);
                if size == 0 {
                    break body;
                }
            }
        } else {
            Vec::new()
        };
        Answer { status, body }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------- exposition checks

/// One sample: metric name, labels (in order written), value.
type Sample = (String, Vec<(String, String)>, f64);

fn parse_exposition(text: &str) -> Vec<Sample> {
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

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut k = name.to_string();
    for (n, v) in labels {
        k.push_str(&format!("|{n}={v:?}"));
    }
    k
}

/// Histograms are cumulative: per series (labels without `le`), buckets in `le` order never
/// decrease and `+Inf` equals `_count`. Returns the number of histogram series checked.
fn check_histograms(samples: &[Sample], scrape: usize) -> usize {
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

fn is_monotonic(name: &str) -> bool {
    name.ends_with("_total")
        || name.ends_with("_bucket")
        || name.ends_with("_count") && name != "zigquant_position_count"
        || name.ends_with("_sum")
        || name == "zigquant_uptime_seconds"
}

fn api_requests(samples: &[Sample]) -> (f64, BTreeMap<String, f64>) {
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

// ---------------------------------------------------------------- the load

#[derive(Default)]
struct Sent {
    total: AtomicU64,
    by_status: std::sync::Mutex<BTreeMap<u16, u64>>,
}

/// What one client sends, in rotation: reads, an order, and every kind of refusal.
const MIX: &[(&str, &str, bool, Option<&str>)] = &[
    ("GET", "/api/v1/strategies", true, None),
    ("GET", "/api/v1/positions", true, None),
    ("GET", "/api/v1/trades?limit=20", true, None),
    ("GET", "/api/v1/metrics", true, None),
    ("GET", "/api/v1/orders?limit=5", true, None),
    ("GET", "/health", false, None),
    ("GET", "/api/v1/positions", false, None),   // 401
    ("GET", "/no/such/route", true, None),       // 404, path="unmatched"
    ("DELETE", "/api/v1/positions", true, None), // 405
    (
        "POST",
        "/api/v1/orders",
        true,
        Some(r#"{"pair":"NOPE-USDT","side":"buy","qty":1}"#),
    ), // 422
    ("GET", "/api/v1/orders/999999999", true, None), // 404
    (
        "POST",
        "/api/v1/orders",
        true,
        Some(
            r#"{"pair":"BTC-USDT","side":"buy","type":"limit","price":1000,"qty":0.001,"time_in_force_secs":0.5}"#,
        ),
    ),
];

struct Figures {
    requests: u64,
    secs: f64,
    scrapes: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// (second, RSS, live heap bytes from `zigquant_memory_bytes{type="heap"}`).
    rss: Vec<(u64, Rss, f64)>,
    series: usize,
}

async fn run_load(server: &Server, secs: u64) -> Figures {
    let addr = server.addr;
    // Wait for the engine to be up and the API to answer.
    let mut c = Client::connect(addr).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if c.request("GET", "/ready", false, None).await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A warm-up, so that the first scrape below already has the default series set.
    for (m, p, k, b) in MIX {
        c.request(m, p, *k, *b).await;
    }
    drop(c);
    let mut scraper = Client::connect(addr).await;
    let first = scraper.request("GET", "/metrics", false, None).await;
    assert_eq!(first.status, 200);
    let first = parse_exposition(&String::from_utf8_lossy(&first.body));
    let series = first.len();
    let (total0, by_status0) = api_requests(&first);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Sent::default());
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let stop = stop.clone();
        let sent = sent.clone();
        clients.push(tokio::spawn(async move {
            let mut c = Client::connect(addr).await;
            let mut n = i;
            let mut local: BTreeMap<u16, u64> = BTreeMap::new();
            while !stop.load(Ordering::Relaxed) {
                let (m, p, k, b) = MIX[n % MIX.len()];
                n += 1;
                let a = c.request(m, p, k, b).await;
                *local.entry(a.status).or_insert(0) += 1;
                sent.total.fetch_add(1, Ordering::Relaxed);
            }
            let mut all = sent.by_status.lock().expect("lock");
            for (s, k) in local {
                *all.entry(s).or_insert(0) += k;
            }
        }));
    }

    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut previous: BTreeMap<String, f64> = first
        .iter()
        .filter(|(n, _, _)| is_monotonic(n))
        .map(|(n, l, v)| (key(n, l), *v))
        .collect();
    let heap = |samples: &[Sample]| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == "zigquant_memory_bytes" && l.iter().any(|(k, v)| k == "type" && v == "heap")
            })
            .map(|(_, _, v)| *v)
            .unwrap_or(f64::NAN)
    };
    let mut rss = vec![(0, server.rss_kb(), heap(&first))];
    let mut next = Instant::now();
    let mut scrapes = 0usize;
    while started.elapsed() < Duration::from_secs(secs) {
        next += SCRAPE_EVERY;
        tokio::time::sleep_until(next.into()).await;
        let t0 = Instant::now();
        let a = scraper.request("GET", "/metrics", false, None).await;
        latencies.push(t0.elapsed());
        scrapes += 1;
        assert_eq!(a.status, 200);
        let samples = parse_exposition(&String::from_utf8_lossy(&a.body));
        let hist = check_histograms(&samples, scrapes);
        assert!(hist >= 2, "expected the latency histograms in the scrape");
        for (n, l, v) in samples.iter().filter(|(n, _, _)| is_monotonic(n)) {
            let k = key(n, l);
            if let Some(before) = previous.get(&k) {
                assert!(
                    *v >= *before,
                    "scrape {scrapes}: {k} went down from {before} to {v}"
                );
            }
            previous.insert(k, *v);
        }
        let s = started.elapsed().as_secs();
        if rss.last().is_some_and(|(t, _, _)| *t < s) {
            rss.push((s, server.rss_kb(), heap(&samples)));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let last = scraper.request("GET", "/metrics", false, None).await;
    let last = parse_exposition(&String::from_utf8_lossy(&last.body));
    check_histograms(&last, scrapes + 1);
    let (total1, by_status1) = api_requests(&last);
    let n = sent.total.load(Ordering::Relaxed);
    // Counted: the load, the scrapes in the loop and the first scrape (the last one does not
    // count itself).
    assert_eq!(
        total1 - total0,
        (n + scrapes as u64 + 1) as f64,
        "api_requests_total grew by {} for {n} requests and {} scrapes",
        total1 - total0,
        scrapes + 1
    );
    let by_status = sent.by_status.lock().expect("lock").clone();
    for (status, k) in &by_status {
        let extra = if *status == 200 {
            scrapes as u64 + 1
        } else {
            0
        };
        let s = status.to_string();
        let grew =
            by_status1.get(&s).copied().unwrap_or(0.0) - by_status0.get(&s).copied().unwrap_or(0.0);
        assert_eq!(
            grew,
            (k + extra) as f64,
            "status {status}: counted {grew}, sent {k} (+{extra} scrapes)"
        );
    }
    for s in ["401", "404", "405", "422"] {
        assert!(
            by_status.contains_key(&s.parse().expect("status")),
            "the mix should have produced {s}: {by_status:?}"
        );
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "zigquant panicked:\n{log}");
    latencies.sort();
    let pct = |q: f64| {
        latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1]
    };
    Figures {
        requests: n,
        secs: elapsed,
        scrapes: scrapes + 2,
        p50: pct(0.5),
        p99: pct(0.99),
        max: *latencies.last().expect("scrapes"),
        rss,
        series,
    }
}

fn report(f: &Figures) {
    eprintln!(
        "load: {} requests in {:.1} s = {:.0} req/s over {CLIENTS} connections; {} scrapes of {} samples: \
p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        f.requests,
        f.secs,
        f.requests as f64 / f.secs,
        f.scrapes,
        f.series,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.max.as_secs_f64() * 1e3
    );
    // Every second for short runs, every 30 s for long ones.
    let step = if f.rss.len() > 60 { 30 } else { 1 };
    let rss: Vec<String> = f
        .rss
        .iter()
        .filter(|(t, _, _)| t % step == 0)
        .map(|(t, r, h)| {
            format!(
                "{t}s rss={}kB anon={}kB file+shm={}kB heap={:.0}kB",
                r.total,
                r.anon,
                r.file,
                h / 1024.0
            )
        })
        .collect();
    eprintln!("memory over time:\n  {}", rss.join("\n  "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_counts_every_request_exactly_and_scrapes_stay_fast() {
    let server = Server::start("load");
    let f = run_load(&server, LOAD_SECS).await;
    report(&f);
    assert!(
        f.requests > 1000,
        "too little load to prove anything: {}",
        f.requests
    );
    assert!(
        f.p99 < P99_SCRAPE_STALL_BOUND,
        "p99 scrape latency {:?} >= {:?} (p50 {:?}, max {:?})",
        f.p99,
        P99_SCRAPE_STALL_BOUND,
        f.p50,
        f.max
    );
}

/// The long version: `ZQ_SOAK_SECS` (default 600) of load and scrapes, memory printed over
/// time, then 60 s without load. Asserts the p99 scrape latency and that the live heap, once the
/// load is gone, comes back to within `ZQ_SOAK_HEAP_SLACK_KB` (default 4096) of where it was
/// after the first minute: what the load piles up (engine backlog, buffers) is released, nothing
/// leaks. Run: see docs/soak.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long; run explicitly (docs/soak.md)"]
async fn soak() {
    let secs: u64 = std::env::var("ZQ_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let slack_kb: f64 = std::env::var("ZQ_SOAK_HEAP_SLACK_KB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4096.0);
    let server = Server::start("soak");
    let f = run_load(&server, secs).await;
    report(&f);
    let (_, rss_warm, heap_warm) = *f
        .rss
        .iter()
        .find(|(t, _, _)| *t >= 60.min(secs / 2))
        .expect("memory samples");
    let peak = f
        .rss
        .iter()
        .map(|(_, r, _)| r.total)
        .max()
        .expect("memory samples");
    let mut heap_idle = f64::NAN;
    let mut rss_idle = rss_warm;
    for i in 1..=6 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        // A new connection each time: the server closes keep-alive connections idle for the
        // 10 s header-read timeout (serve.rs).
        let mut c = Client::connect(server.addr).await;
        let a = c.request("GET", "/metrics", false, None).await;
        let samples = parse_exposition(&String::from_utf8_lossy(&a.body));
        heap_idle = samples
            .iter()
            .find(|(n, l, _)| {
                n == "zigquant_memory_bytes" && l.iter().any(|(k, v)| k == "type" && v == "heap")
            })
            .map(|(_, _, v)| *v)
            .unwrap_or(f64::NAN);
        rss_idle = server.rss_kb();
        eprintln!(
            "idle +{}s: rss={}kB anon={}kB heap={:.0}kB",
            i * 10,
            rss_idle.total,
            rss_idle.anon,
            heap_idle / 1024.0
        );
    }
    eprintln!(
        "after the first minute: rss={}kB heap={:.0}kB; peak rss={peak}kB; after 60 s idle: rss={}kB heap={:.0}kB",
        rss_warm.total,
        heap_warm / 1024.0,
        rss_idle.total,
        heap_idle / 1024.0
    );
    assert!(
        f.p99 < P99_SCRAPE_TARGET,
        "p99 scrape latency {:?} (max {:?})",
        f.p99,
        f.max
    );
    assert!(
        (heap_idle - heap_warm) / 1024.0 < slack_kb,
        "live heap after the load {:.0} kB, after the first minute {:.0} kB: not released",
        heap_idle / 1024.0,
        heap_warm / 1024.0
    );
}
