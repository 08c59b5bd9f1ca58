//! Message -> closed candle -> metric updated, at 1,000 messages/s: latency percentiles and the
//! CPU of the feed path, ours side by side with a peer in the same run.
//!
//! Ours: the Binance [`Feed`] (WebSocket framing, decode, sequencer, events) with a sink that
//! updates the catalogue exactly as the server's telemetry does (message counter, market-data
//! timestamp gauge). The peer: the naive client a hand-written bot would use, on the same
//! WebSocket library: read, parse into `serde_json::Value`, take `k.x` / `k.c`, update the same
//! metrics. Each runs on its own thread with its own single-threaded runtime, fed by its own
//! sender at the same rate; CPU is each thread's own CPU time (CLOCK_THREAD_CPUTIME_ID).
//! Latency is from the sender writing the message to the metric update returning (a scrape after
//! that sees it).
//!
//! `cargo bench -p zigquant-live --bench feed_path [-- SECONDS]` (default 10 s); figures in
//! docs/benchmarks.md.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use zigquant_live::{Feed, FeedSpec, Interval, LiveEvent, Timing, Venue};
use zigquant_metrics::labels::{
    Exchange, MarketDataKind, MarketDataMessageLabels, Pair, PairLabels,
};
use zigquant_metrics::{Catalogue, CatalogueConfig, Gauge};

const RATE_PER_SEC: u64 = 1000;
const MIN: i64 = 60_000;

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Send times by candle index, shared by a sender and its receiver.
type SendTimes = Arc<Mutex<Vec<Option<Instant>>>>;

fn kline(k: i64) -> String {
    let t = k * MIN;
    let close = 100.0 + (k % 100) as f64;
    format!(
        r#"{{"stream":"btcusdt@kline_1m","data":{{"e":"kline","E":{},"s":"BTCUSDT","k":{{"t":{t},"T":{},"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"{close}","c":"{close}","h":"{}","l":"{}","v":"12.5","n":3,"x":true,"q":"1.0","V":"0.5","Q":"0.5","B":"0"}}}}}}"#,
        wall_ms(),
        t + MIN - 1,
        close + 1.0,
        close - 1.0
    )
}

/// A sender thread: accepts one WebSocket client and sends `total` closed klines at the rate.
fn start_sender(total: usize, times: SendTimes) -> std::net::SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = std_listener.local_addr().expect("addr");
    std_listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            let (tcp, _) = listener.accept().await.expect("accept");
            let _ = tcp.set_nodelay(true);
            let ws = tokio_tungstenite::accept_async(tcp)
                .await
                .expect("handshake");
            let (mut tx, mut rx) = ws.split();
            // Keep reading so pings are answered.
            tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
            tokio::time::sleep(Duration::from_millis(300)).await;
            let start = tokio::time::Instant::now();
            let period = Duration::from_nanos(1_000_000_000 / RATE_PER_SEC);
            for k in 0..total {
                tokio::time::sleep_until(start + period * k as u32).await;
                let text = kline(k as i64 + 1);
                times.lock().expect("times")[k] = Some(Instant::now());
                if tx.send(Message::text(text)).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        });
    });
    addr
}

struct Run {
    latencies: Vec<Duration>,
    cpu: Duration,
    wall: Duration,
}

fn summarize(name: &str, run: &mut Run) -> (f64, f64) {
    run.latencies.sort();
    let pct = |p: f64| {
        let i = ((run.latencies.len() as f64 * p).ceil() as usize).clamp(1, run.latencies.len());
        run.latencies[i - 1].as_secs_f64() * 1e6
    };
    let cpu_pct = 100.0 * run.cpu.as_secs_f64() / run.wall.as_secs_f64();
    println!(
        "{name:>5}: {} candles, latency p50 {:.0} us, p99 {:.0} us, max {:.0} us; CPU {:.2} % of one core",
        run.latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        cpu_pct
    );
    (pct(0.99), cpu_pct)
}

fn collect(times: &SendTimes, seen: &[(usize, Instant)]) -> Vec<Duration> {
    let sent = times.lock().expect("times");
    seen.iter()
        .filter_map(|(k, at)| {
            sent.get(*k)
                .copied()
                .flatten()
                .map(|s| at.duration_since(s))
        })
        .collect()
}

fn run_ours(total: usize, catalogue: Arc<Catalogue>) -> Run {
    let times: SendTimes = Arc::new(Mutex::new(vec![None; total]));
    let addr = start_sender(total, times.clone());
    let seen: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let (messages, stamp): (Arc<zigquant_metrics::Counter>, Arc<Gauge>) = (
        catalogue
            .market_data_messages_total
            .get(&MarketDataMessageLabels {
                exchange: Exchange("binance"),
                kind: MarketDataKind::Candle,
            }),
        catalogue
            .market_data_last_update_timestamp_seconds
            .get(&PairLabels {
                pair: Pair("BTC-USDT"),
            }),
    );
    let sink_seen = seen.clone();
    let sink = Arc::new(move |e: LiveEvent| match e {
        LiveEvent::Message { .. } => messages.inc(),
        LiveEvent::Candle { candle, .. } => {
            stamp.set(wall_ms() as f64 / 1000.0);
            let k = (candle.open_time_ms / MIN - 1) as usize;
            sink_seen.lock().expect("seen").push((k, Instant::now()));
        }
        _ => {}
    });
    let spec = FeedSpec {
        venue: Venue::Binance,
        ws_url: format!("ws://{addr}"),
        rest_url: "http://127.0.0.1:9".into(),
        tls_ca_file: None,
        interval: Interval::M1,
        symbols: vec!["BTCUSDT".into()],
        warmup_bars: 0,
        timing: Timing::default(),
    };
    let feed = Feed::new(spec, sink).expect("feed");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        rt.block_on(async {
            let task = tokio::spawn(feed.run());
            while seen.lock().expect("seen").len() < total
                && t0.elapsed() < Duration::from_secs(600)
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            task.abort();
        });
        let run = Run {
            latencies: collect(&times, &seen.lock().expect("seen")),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        };
        run
    })
    .join()
    .expect("ours")
}

fn run_peer(total: usize, catalogue: Arc<Catalogue>) -> Run {
    let times: SendTimes = Arc::new(Mutex::new(vec![None; total]));
    let addr = start_sender(total, times.clone());
    let messages = catalogue
        .market_data_messages_total
        .get(&MarketDataMessageLabels {
            exchange: Exchange("hyperliquid"),
            kind: MarketDataKind::Candle,
        });
    let stamp = catalogue
        .market_data_last_update_timestamp_seconds
        .get(&PairLabels {
            pair: Pair("ETH-USDT"),
        });
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let mut seen = Vec::with_capacity(total);
        rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let _ = tcp.set_nodelay(true);
            let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/stream"), tcp)
                .await
                .expect("handshake");
            while seen.len() < total {
                let Some(Ok(Message::Text(text))) = ws.next().await else {
                    break;
                };
                messages.inc();
                let v: serde_json::Value = serde_json::from_str(text.as_str()).expect("json");
                let k = &v["data"]["k"];
                if k["x"].as_bool() == Some(true) {
                    let _close: f64 = k["c"].as_str().and_then(|c| c.parse().ok()).expect("close");
                    stamp.set(wall_ms() as f64 / 1000.0);
                    let idx = (k["t"].as_i64().expect("t") / MIN - 1) as usize;
                    seen.push((idx, Instant::now()));
                }
            }
        });
        Run {
            latencies: collect(&times, &seen),
            cpu: thread_cpu() - cpu0,
            wall: t0.elapsed(),
        }
    })
    .join()
    .expect("peer")
}

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let total = (seconds * RATE_PER_SEC) as usize;
    let catalogue = Arc::new(Catalogue::new(CatalogueConfig {
        pairs: vec!["BTC-USDT".into(), "ETH-USDT".into()],
        exchanges: vec!["binance".into(), "hyperliquid".into()],
        ..CatalogueConfig::default()
    }));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "feed_path: {total} closed klines at {RATE_PER_SEC}/s, ours and the peer at once; load average {}",
        load.split_whitespace().next().unwrap_or("?")
    );
    let (c1, c2) = (catalogue.clone(), catalogue.clone());
    let ours = std::thread::spawn(move || run_ours(total, c1));
    let peer = std::thread::spawn(move || run_peer(total, c2));
    let mut ours = ours.join().expect("ours");
    let mut peer = peer.join().expect("peer");
    let (our_p99, our_cpu) = summarize("ours", &mut ours);
    let (peer_p99, peer_cpu) = summarize("peer", &mut peer);
    println!(
        "ratio ours/peer: p99 {:.2}, CPU {:.2}; targets: p99 < 1000 us ({}), CPU < 2 % ({})",
        our_p99 / peer_p99,
        our_cpu / peer_cpu,
        if our_p99 < 1000.0 { "met" } else { "NOT met" },
        if our_cpu < 2.0 { "met" } else { "NOT met" }
    );
}
