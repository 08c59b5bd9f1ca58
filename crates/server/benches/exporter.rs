//! The exporter targets of docs/metrics.md, measured on the real `zigquant` binary (default
//! configuration: simulated market, paced feed, every strategy trading), started as a child
//! process on a loopback port with a fresh data dir:
//!
//! * `export_latency_*`: wall time of `GET /metrics` (sent, whole body received) over one
//!   keep-alive connection, `ZQ_BENCH_SCRAPES` scrapes each, at the default series count and
//!   again after every API route was hit (the API families populated); target < 100 ms.
//! * `scrape_cpu_*`: CPU seconds of the zigquant process (utime + stime from `/proc/<pid>/stat`)
//!   over `ZQ_BENCH_CPU_SECS` wall seconds while scraped every second, every 15 s, or not at all,
//!   interleaved `ZQ_BENCH_CPU_REPS` times; and the CPU per scrape from a burst of back-to-back
//!   scrapes. Scrapes send Prometheus' own `Accept` and `Accept-Encoding: gzip`. Target < 1 % of
//!   a core.
//! * `memory_*`: RSS (`/proc/<pid>/status`) after startup and after the minutes of trading the
//!   run lasts, the allocator's live heap as zigquant reports it, and where the RSS lives
//!   (`/proc/<pid>/smaps`). Target < 10 MB.
//! * `update_latency`: in-process, an engine event handed to the metrics sink, then the
//!   exposition encoded and the new value found in it. Target < 1 s (ours: < 1 ms).
//!
//! Run: `cargo bench -p zigquant-server --bench exporter` (about 7 minutes with the defaults).

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use zigquant_engine::{EngineEvent, EventSink, OrderSide};
use zigquant_metrics::Format;
use zigquant_server::api::ROUTES;
use zigquant_server::config::Config;
use zigquant_server::serve::catalogue_for;
use zigquant_server::telemetry::MetricsSink;

use common::{cpus, env_f64, env_usize, get_request, load_average, median, percentile, Client};

const KEY: &str = "bench-key-0123456789abcdef";

/// What Prometheus sends when it scrapes (Prometheus 2.x defaults).
const PROMETHEUS_HEADERS: &str = "Accept: application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2\r\nAccept-Encoding: gzip\r\n";

/// Kills the child on every exit path.
struct Service {
    child: Child,
    addr: SocketAddr,
    started: Instant,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() -> anyhow::Result<()> {
    let scrapes = env_usize("ZQ_BENCH_SCRAPES", 1000);
    let cpu_secs = env_f64("ZQ_BENCH_CPU_SECS", 60.0);
    let cpu_reps = env_usize("ZQ_BENCH_CPU_REPS", 2);
    let burst = env_usize("ZQ_BENCH_BURST", 2000);
    println!(
        "# exporter: cpus={} load_before={} scrapes={scrapes} cpu_secs={cpu_secs} cpu_reps={cpu_reps}",
        cpus(),
        load_average()
    );

    update_latency(scrapes)?;

    let data_dir = std::env::temp_dir().join(format!("zq-bench-exporter-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(against_binary(
        &data_dir, scrapes, cpu_secs, cpu_reps, burst,
    ));
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn against_binary(
    data_dir: &Path,
    scrapes: usize,
    cpu_secs: f64,
    cpu_reps: usize,
    burst: usize,
) -> anyhow::Result<()> {
    let service = start(data_dir).await?;
    let pid = service.child.id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    memory(&service, "after_startup").await?;

    let mut client = Client::connect(service.addr).await?;
    let variants = [
        ("text", ""),
        (
            "openmetrics",
            "Accept: application/openmetrics-text; version=1.0.0\r\n",
        ),
        ("prometheus_gzip", PROMETHEUS_HEADERS),
    ];
    for (name, headers) in variants {
        export_latency(&mut client, &format!("default_{name}"), headers, scrapes).await?;
    }
    let hit = populate_api(service.addr).await?;
    println!("# populated the API families with {hit} requests over every route");
    for (name, headers) in variants {
        export_latency(
            &mut client,
            &format!("api_populated_{name}"),
            headers,
            scrapes,
        )
        .await?;
    }
    memory(&service, "after_api_populated").await?;

    // Collection overhead: the same wall interval, scraped every 1 s, every 15 s, or never.
    let tick = clock_ticks_per_second();
    let mut cpu: HashMap<&str, Vec<f64>> = HashMap::new();
    for rep in 0..cpu_reps {
        for (name, every) in [
            ("none", None),
            ("every_15s", Some(15.0)),
            ("every_1s", Some(1.0)),
        ] {
            let before = cpu_seconds(pid, tick)?;
            let start = Instant::now();
            let n = scrape_for(
                &mut client,
                service.addr,
                every,
                Duration::from_secs_f64(cpu_secs),
            )
            .await?;
            let used = cpu_seconds(pid, tick)? - before;
            let wall = start.elapsed().as_secs_f64();
            let share = used / wall * 100.0;
            println!(
                "# scrape_cpu rep={rep} scenario={name} scrapes={n} cpu_seconds={used:.2} wall_seconds={wall:.1} process_cpu={share:.3}% load={}",
                load_average()
            );
            cpu.entry(name).or_default().push(share);
        }
        memory(&service, &format!("after_cpu_rep{rep}")).await?;
    }
    let none = median(cpu.get_mut("none").expect("scenario"));
    for name in ["every_15s", "every_1s"] {
        let with = median(cpu.get_mut(name).expect("scenario"));
        println!(
            "scrape_cpu_{name} process_cpu={with:.3}% not_scraped={none:.3}% scrape_cost={:.3}% unit=%_of_one_core load={}",
            with - none,
            load_average()
        );
    }
    // Per-scrape CPU from a burst, net of the idle rate just measured.
    let request = get_request("/metrics", PROMETHEUS_HEADERS);
    let before = cpu_seconds(pid, tick)?;
    let start = Instant::now();
    for _ in 0..burst {
        scrape(&mut client, service.addr, &request).await?;
    }
    let wall = start.elapsed().as_secs_f64();
    let used = cpu_seconds(pid, tick)? - before - none / 100.0 * wall;
    let per_scrape_ms = used / burst as f64 * 1000.0;
    println!(
        "scrape_cpu_per_scrape cpu={per_scrape_ms:.3}ms at_1s_interval={:.3}% at_15s_interval={:.4}% burst={burst} unit=%_of_one_core load={}",
        per_scrape_ms / 1000.0 * 100.0,
        per_scrape_ms / 15_000.0 * 100.0,
        load_average()
    );
    memory(&service, "end").await?;
    smaps_breakdown(pid)?;
    drop(service);
    Ok(())
}

/// Starts the real binary on a free loopback port and waits for `/health`.
async fn start(data_dir: &Path) -> anyhow::Result<Service> {
    let addr = {
        let probe = StdListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let log = std::fs::File::create(
        std::env::temp_dir().join(format!("zq-bench-exporter-{}.log", std::process::id())),
    )?;
    let child = Command::new(env!("CARGO_BIN_EXE_zigquant"))
        .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("ZQ_API_KEY", KEY)
        .env_remove("ZQ_LISTEN")
        .env_remove("ZQ_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start zigquant")?;
    let service = Service {
        child,
        addr,
        started: Instant::now(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut client) = Client::connect(addr).await {
            if let Ok(reply) = client.fetch(&get_request("/health", "")).await {
                if reply.status == 200 {
                    break;
                }
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "zigquant did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "# zigquant pid={} listening on {addr}, up in {:.0} ms",
        service.child.id(),
        service.started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(service)
}

/// `scrapes` sequential scrapes; prints median, p99 and max wall time and the body size.
async fn export_latency(
    client: &mut Client,
    name: &str,
    headers: &str,
    scrapes: usize,
) -> anyhow::Result<()> {
    let request = get_request("/metrics", headers);
    let first = client.fetch(&request).await?;
    anyhow::ensure!(first.status == 200, "scrape answered {}", first.status);
    let series = if headers.contains("gzip") {
        None
    } else {
        Some(
            String::from_utf8_lossy(&first.body)
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .count(),
        )
    };
    let mut ms = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        let start = Instant::now();
        let (status, _) = client.roundtrip(&request).await?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(status == 200, "scrape answered {status}");
    }
    let p99 = percentile(&mut ms, 0.99);
    let max = percentile(&mut ms, 1.0);
    println!(
        "export_latency_{name} median={:.3} p99={p99:.3} max={max:.3} unit=ms body_bytes={} samples={} load={}",
        median(&mut ms),
        first.body.len(),
        series.map_or("-".to_string(), |s| s.to_string()),
        load_average()
    );
    Ok(())
}

/// Hits every documented route with and without the key, plus unknown routes and methods and
/// bad bodies, so the API families hold the series a working service accumulates.
async fn populate_api(addr: SocketAddr) -> anyhow::Result<usize> {
    let config = Config::embedded_default()?;
    let strategy = config.engine.strategy_names()[0].clone();
    let pair = config.engine.pair_names()[0].clone();
    let order = format!(r#"{{"pair":"{pair}","side":"buy","type":"market","qty":0.01}}"#);
    let bad_qty = format!(r#"{{"pair":"{pair}","side":"buy","type":"market","qty":-1}}"#);
    let mut client = Client::connect(addr).await?;
    let mut hit = 0;
    let auth = format!("Authorization: Bearer {KEY}\r\n");
    let mut send = |method: &str, path: &str, authed: bool, body: &str| {
        let mut r = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if authed {
            r.push_str(&auth);
        }
        if !body.is_empty() {
            r.push_str("Content-Type: application/json\r\n");
        }
        r.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        hit += 1;
        r.into_bytes()
    };
    let mut requests = Vec::new();
    for route in ROUTES {
        let path = route.path.replace("{name}", &strategy).replace("{id}", "1");
        // Stopping a strategy would change what the service does for the rest of the run.
        if path.ends_with("/stop") {
            requests.push(send(route.method, &path, false, ""));
            continue;
        }
        requests.push(send(route.method, &path, false, ""));
        requests.push(send(route.method, &path, true, ""));
        if route.method == "POST" && route.path == "/api/v1/orders" {
            requests.push(send("POST", &path, true, &order));
            requests.push(send("POST", &path, true, &bad_qty));
            requests.push(send("POST", &path, true, "{not json"));
        }
        requests.push(send("PUT", &path, true, ""));
    }
    for path in ["/nope", "/api/v1/nope", "/api/v2/orders", "/metrics/x"] {
        requests.push(send("GET", path, true, ""));
        requests.push(send("PATCH", path, false, ""));
    }
    for request in &requests {
        client.roundtrip(request).await?;
    }
    Ok(hit)
}

/// Scrapes as Prometheus would, every `every` seconds (never when `None`), for `wall`.
async fn scrape_for(
    client: &mut Client,
    addr: SocketAddr,
    every: Option<f64>,
    wall: Duration,
) -> anyhow::Result<usize> {
    let Some(every) = every else {
        tokio::time::sleep(wall).await;
        return Ok(0);
    };
    let request = get_request("/metrics", PROMETHEUS_HEADERS);
    let start = tokio::time::Instant::now();
    let end = start + wall;
    let every = Duration::from_secs_f64(every);
    let mut n = 0u32;
    // Scrapes at start, start + every, ... strictly before the end; then waits out the interval.
    loop {
        let at = start + every * n;
        if at >= end {
            break;
        }
        tokio::time::sleep_until(at).await;
        scrape(client, addr, &request).await?;
        n += 1;
    }
    tokio::time::sleep_until(end).await;
    Ok(n as usize)
}

/// One scrape on the keep-alive connection; reconnects once if the server closed it while
/// idle, as Prometheus does.
async fn scrape(client: &mut Client, addr: SocketAddr, request: &[u8]) -> anyhow::Result<()> {
    let status = match client.roundtrip(request).await {
        Ok((status, _)) => status,
        Err(_) => {
            *client = Client::connect(addr).await?;
            client.roundtrip(request).await?.0
        }
    };
    anyhow::ensure!(status == 200, "scrape answered {status}");
    Ok(())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of `pid`, seconds (threads that already exited included).
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("bad stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields[11].parse()?;
    let stime: f64 = fields[12].parse()?;
    Ok((utime + stime) / ticks_per_second)
}

fn status_kb(pid: u32, key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{key} missing from /proc/{pid}/status"))
}

/// RSS (anon / file) from the OS, heap and threads as zigquant exports them.
async fn memory(service: &Service, when: &str) -> anyhow::Result<()> {
    let pid = service.child.id();
    let rss = status_kb(pid, "VmRSS")?;
    let anon = status_kb(pid, "RssAnon")?;
    let file = status_kb(pid, "RssFile")?;
    let threads = status_kb(pid, "Threads")?;
    let mut client = Client::connect(service.addr).await?;
    let body = client.fetch(&get_request("/metrics", "")).await?.body;
    let text = String::from_utf8_lossy(&body);
    let heap = text
        .lines()
        .find_map(|l| l.strip_prefix("zigquant_memory_bytes{type=\"heap\"} "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    println!(
        "memory_{when} rss={:.2} rss_anon={:.2} rss_file={:.2} heap_live={:.2} unit=MB threads={threads} uptime_s={:.0}",
        rss as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0,
        heap / 1_048_576.0,
        service.started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where the resident memory is: RSS by mapping, largest first.
fn smaps_breakdown(pid: u32) -> anyhow::Result<()> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut by_name: HashMap<String, (u64, usize)> = HashMap::new();
    let mut current = String::new();
    for line in smaps.lines() {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or("");
        if first.contains('-') && first.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) {
            // A mapping header: address perms offset dev inode [path].
            let path = line.split_whitespace().nth(5).unwrap_or("[anon]");
            current = Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string());
            by_name.entry(current.clone()).or_default().1 += 1;
        } else if first == "Rss:" {
            let kb: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            by_name.entry(current.clone()).or_default().0 += kb;
        }
    }
    let mut rows: Vec<_> = by_name.into_iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1 .0));
    for (name, (kb, maps)) in rows.iter().take(8) {
        println!("# rss_by_mapping {name} rss={kb} kB mappings={maps}");
    }
    Ok(())
}

/// Event -> visible in the exposition, in-process: the sink updates the catalogue synchronously,
/// so the delay is the sink call plus the next encode.
fn update_latency(n: usize) -> anyhow::Result<()> {
    let config = Config::embedded_default()?;
    let catalogue = Arc::new(catalogue_for(&config)?);
    let sink = MetricsSink::new(catalogue.clone());
    let strategy = config.engine.strategy_names()[0].clone();
    let pair = config.engine.pair_names()[0].clone();
    let exchange = config.engine.exchange_names()[0].clone();
    let event = EngineEvent::Fill {
        trade_id: 1,
        order_id: 1,
        strategy: strategy.clone(),
        pair: pair.clone(),
        exchange,
        side: OrderSide::Buy,
        qty: 0.01,
        price: 60_000.0,
        fee: 0.27,
    };
    let prefix =
        format!("zigquant_trades_total{{strategy=\"{strategy}\",pair=\"{pair}\",side=\"buy\"}} ");
    let mut apply_ns = Vec::with_capacity(n);
    let mut visible_us = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(64 * 1024);
    for i in 1..=n {
        let start = Instant::now();
        sink.on_event(&event);
        let applied = start.elapsed();
        out.clear();
        catalogue.encode(Format::Text, &mut out);
        let text = std::str::from_utf8(&out)?;
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .with_context(|| format!("{prefix} not in the exposition"))?;
        anyhow::ensure!(value.parse::<f64>()? == i as f64, "stale value {value}");
        visible_us.push(start.elapsed().as_secs_f64() * 1e6);
        apply_ns.push(applied.as_secs_f64() * 1e9);
    }
    let p99 = percentile(&mut visible_us, 0.99);
    println!(
        "update_latency event_applied_median={:.0}ns event_to_visible_median={:.1}us event_to_visible_p99={p99:.1}us events={n} load={}",
        median(&mut apply_ns),
        median(&mut visible_us),
        load_average()
    );
    Ok(())
}
