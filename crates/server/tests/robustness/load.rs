//! The load: `CLIENTS` keep-alive connections sending a fixed mix of answers while one scraper
//! fetches `/metrics` every `SCRAPE_EVERY`, checking every scrape and counting what was sent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::exposition::{
    api_requests, check_histograms, heap_bytes, is_monotonic, key, parse_exposition,
};
use crate::process::{Rss, Server};
use crate::{CLIENTS, SCRAPE_EVERY};

#[derive(Default)]
pub struct Sent {
    total: AtomicU64,
    by_status: std::sync::Mutex<BTreeMap<u16, u64>>,
}

/// What one client sends, in rotation: reads, an order, and every kind of refusal.
pub const MIX: &[(&str, &str, bool, Option<&str>)] = &[
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

pub struct Figures {
    pub requests: u64,
    pub secs: f64,
    pub scrapes: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// (second, RSS, live heap bytes from `zigquant_memory_bytes{type="heap"}`).
    pub rss: Vec<(u64, Rss, f64)>,
    pub series: usize,
}

pub async fn run_load(server: &Server, secs: u64) -> Figures {
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
    let mut rss = vec![(0, server.rss_kb(), heap_bytes(&first))];
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
            rss.push((s, server.rss_kb(), heap_bytes(&samples)));
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

pub fn report(f: &Figures) {
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
