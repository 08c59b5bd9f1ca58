//! What the request-metrics layer costs (issue 5): the same router served with and without
//! `api::with_request_metrics`, loaded in one run over real loopback sockets.
//!
//! Two servers share one runtime (2 workers, as in production): `with` is exactly what
//! `zigquant serve` runs (`api::router` behind the connection-counting listener), `without` is
//! `api::routes` behind a plain listener with the same `TCP_NODELAY`. A raw HTTP/1.1 keep-alive
//! load generator (one thread, `ZQ_BENCH_CONNECTIONS` connections) drives one server at a time,
//! alternating A/B then B/A for `ZQ_BENCH_ROUNDS` rounds of `ZQ_BENCH_SECS` seconds, so drift in
//! machine load hits both sides alike. The reported ratio is the median of per-round ratios.
//! Because the load generator and other processes share the cores, the server threads' own CPU
//! time per request (`/proc/self/task/*/schedstat`) over the same runs is printed too: it is
//! less sensitive to what else the machine is doing.
//!
//! A second part calls both routers in-process (`tower::ServiceExt::oneshot`, no socket) and
//! prints the layer's cost in nanoseconds per request.
//!
//! Run: `cargo bench -p zigquant-server --bench api_overhead`

mod common;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::serve::ListenerExt;
use axum::Router;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tower::ServiceExt;
use zigquant_server::api;
use zigquant_server::config::Config;
use zigquant_server::listener::CountingListener;
use zigquant_server::serve::build;

use common::{cpus, env_f64, env_usize, get_request, load_average, median, Client};

const KEY: &str = "bench-key-0123456789abcdef";

/// Name of the server runtime's threads (workers and blocking pool), whose CPU time is summed.
const SERVER_THREAD: &str = "zq-bench-srv";

/// One endpoint under load.
struct Case {
    name: &'static str,
    path: &'static str,
    authenticated: bool,
    /// Requests per in-process batch.
    inprocess_batch: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "health",
        path: "/health",
        authenticated: false,
        inprocess_batch: 100_000,
    },
    Case {
        name: "positions",
        path: "/api/v1/positions",
        authenticated: true,
        inprocess_batch: 20_000,
    },
];

#[derive(Clone, Copy, PartialEq)]
enum Side {
    With,
    Without,
}

fn main() -> anyhow::Result<()> {
    let rounds = env_usize("ZQ_BENCH_ROUNDS", 10);
    let secs = env_f64("ZQ_BENCH_SECS", 1.5);
    let warmup = env_f64("ZQ_BENCH_WARMUP_SECS", 0.3);
    let connections = env_usize("ZQ_BENCH_CONNECTIONS", 32);
    let server_threads = env_usize("ZQ_BENCH_SERVER_THREADS", 2);
    let inprocess_batches = env_usize("ZQ_BENCH_INPROCESS_BATCHES", 7);
    println!(
        "# api_overhead: cpus={} load_before={} server_workers={server_threads} connections={connections} rounds={rounds} secs_per_run={secs}",
        cpus(),
        load_average()
    );

    let data_dir = std::env::temp_dir().join(format!("zq-bench-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = Config::embedded_default()?;
    config.server.data_dir = data_dir.clone();
    config.api.keys = vec![KEY.to_string()];
    // A short unpaced run gives the engine positions to report, then it sits idle, so its own
    // work does not compete with the servers being measured.
    config.engine.feed.pacing = false;
    config.engine.feed.max_bars = 300;
    let service = build(&config)?;
    let with_metrics = service.app.clone();
    let without_metrics = api::routes(service.state.clone(), config.api.body_limit_bytes);

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()?;
    let with_addr = {
        let listener = server_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let listener = CountingListener::new(
            listener,
            service.state.catalogue.api_connections_active.clone(),
        );
        let app = with_metrics.clone();
        server_rt.spawn(async move { axum::serve(listener, app).await });
        addr
    };
    let without_addr = {
        let listener = server_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        let app = without_metrics.clone();
        server_rt.spawn(async move { axum::serve(listener, app).await });
        addr
    };
    // Let the unpaced feed finish its bars.
    std::thread::sleep(Duration::from_millis(500));

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    client_rt.block_on(async {
        for case in CASES {
            let headers = if case.authenticated {
                format!("Authorization: Bearer {KEY}\r\n")
            } else {
                String::new()
            };
            let request: Arc<[u8]> = get_request(case.path, &headers).into();
            for addr in [with_addr, without_addr] {
                let mut client = Client::connect(addr).await?;
                let reply = client.fetch(&request).await?;
                anyhow::ensure!(
                    reply.status == 200,
                    "{} answered {} on {addr}: {}",
                    case.path,
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                );
            }
            let mut ratios = Vec::with_capacity(rounds);
            let mut with_rates = Vec::with_capacity(rounds);
            let mut without_rates = Vec::with_capacity(rounds);
            let mut with_cpu = Vec::with_capacity(rounds);
            let mut without_cpu = Vec::with_capacity(rounds);
            for round in 0..rounds {
                let order = if round % 2 == 0 {
                    [Side::With, Side::Without]
                } else {
                    [Side::Without, Side::With]
                };
                let mut pair = [0.0; 2];
                let mut cpu = [0.0; 2];
                for side in order {
                    let addr = if side == Side::With {
                        with_addr
                    } else {
                        without_addr
                    };
                    let (rate, cpu_ns) = load(
                        addr,
                        request.clone(),
                        connections,
                        Duration::from_secs_f64(warmup),
                        Duration::from_secs_f64(secs),
                    )
                    .await?;
                    pair[usize::from(side == Side::Without)] = rate;
                    cpu[usize::from(side == Side::Without)] = cpu_ns;
                }
                with_rates.push(pair[0]);
                without_rates.push(pair[1]);
                with_cpu.push(cpu[0]);
                without_cpu.push(cpu[1]);
                ratios.push(pair[0] / pair[1]);
            }
            let (lo, hi) = ratios
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    (lo.min(r), hi.max(r))
                });
            let ratio = median(&mut ratios);
            println!(
                "api_overhead_{} with_metrics={:.0} without_metrics={:.0} ratio={:.4} overhead={:.2}% round_ratios={lo:.3}..{hi:.3} unit=req/s load={}",
                case.name,
                median(&mut with_rates),
                median(&mut without_rates),
                ratio,
                (1.0 - ratio) * 100.0,
                load_average()
            );
            let (with, without) = (median(&mut with_cpu), median(&mut without_cpu));
            println!(
                "api_server_cpu_{} with_metrics={with:.0} without_metrics={without:.0} layer={:.0} ratio={:.4} unit=ns/request (server threads' CPU time over the same runs) load={}",
                case.name,
                with - without,
                without / with,
                load_average()
            );
        }

        for case in CASES {
            let mut with_ns = Vec::with_capacity(inprocess_batches);
            let mut without_ns = Vec::with_capacity(inprocess_batches);
            for batch in 0..inprocess_batches {
                let order = if batch % 2 == 0 {
                    [Side::With, Side::Without]
                } else {
                    [Side::Without, Side::With]
                };
                for side in order {
                    let (app, out) = if side == Side::With {
                        (&with_metrics, &mut with_ns)
                    } else {
                        (&without_metrics, &mut without_ns)
                    };
                    out.push(inprocess_ns(app, case, case.inprocess_batch).await?);
                }
            }
            let with = median(&mut with_ns);
            let without = median(&mut without_ns);
            println!(
                "api_layer_cost_{} with_metrics={with:.0} without_metrics={without:.0} layer={:.0} unit=ns/request (in-process, no socket) load={}",
                case.name,
                with - without,
                load_average()
            );
        }
        anyhow::Ok(())
    })?;

    server_rt.shutdown_timeout(Duration::from_secs(2));
    service.state.engine.shutdown()?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

/// Drives `addr` with `connections` keep-alive connections; returns responses per second over
/// `measure`, counted after `warmup`, and the server threads' CPU nanoseconds per response over
/// the same window. Every response must be a 200.
async fn load(
    addr: SocketAddr,
    request: Arc<[u8]>,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<(f64, f64)> {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (count, stop, request) = (count.clone(), stop.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await?;
            while !stop.load(Ordering::Relaxed) {
                let (status, _) = client.roundtrip(&request).await?;
                if status != 200 {
                    return Err(io::Error::other(format!("status {status}")));
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
            io::Result::Ok(())
        }));
    }
    tokio::time::sleep(warmup).await;
    let start_count = count.load(Ordering::Relaxed);
    let start_cpu = server_cpu_ns();
    let start = Instant::now();
    tokio::time::sleep(measure).await;
    let done = count.load(Ordering::Relaxed) - start_count;
    let cpu = server_cpu_ns() - start_cpu;
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok((done as f64 / elapsed, cpu / done as f64))
}

/// Nanoseconds on CPU of this process' server threads (`/proc/self/task/*/schedstat`).
fn server_cpu_ns() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut total = 0.0;
    for task in tasks.flatten() {
        let path = task.path();
        let is_server = std::fs::read_to_string(path.join("comm"))
            .is_ok_and(|comm| comm.trim_end() == SERVER_THREAD);
        if !is_server {
            continue;
        }
        if let Some(ns) = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| {
                s.split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
            })
        {
            total += ns;
        }
    }
    total
}

/// Mean nanoseconds per request of `n` in-process requests (response body collected).
async fn inprocess_ns(app: &Router, case: &Case, n: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    for _ in 0..n {
        let mut request = Request::get(case.path);
        if case.authenticated {
            request = request.header("authorization", format!("Bearer {KEY}"));
        }
        let response = app.clone().oneshot(request.body(Body::empty())?).await?;
        anyhow::ensure!(response.status() == 200, "{} in-process", case.path);
        let body = response.into_body().collect().await?;
        std::hint::black_box(body);
    }
    Ok(start.elapsed().as_nanos() as f64 / n as f64)
}
