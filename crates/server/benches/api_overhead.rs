//! What the request-metrics layer costs (docs/benchmarks.md §3): the same router served with and without
//! `api::with_request_metrics`, loaded in one run over real loopback sockets.
//!
//! `with` is exactly what `zigquant serve` serves (`api::router`), `without` is `api::routes`;
//! both sit behind the connection-counting listener and the production accept loop
//! (`serve::serve_http`), each on a runtime of its own with one worker, so the layer is all that
//! differs. Both are loaded **at the same time**, both pinned to one core and the load
//! generator (one thread, `ZQ_BENCH_CONNECTIONS` keep-alive connections per server, raw
//! HTTP/1.1) to the other: the scheduler shares the server core between two always-busy
//! threads, so the ratio of their throughputs is the inverse ratio of their costs per request,
//! and whatever else the machine does hits both alike. (Taking turns instead, as an earlier
//! version did, left run-to-run differences as wide as the effect, because the machine's speed
//! drifts between turns.)
//!
//! Per round of `ZQ_BENCH_SECS` (after `ZQ_BENCH_WARMUP_SECS`) it counts each server's responses
//! per second and reads each server thread's own CPU time (`/proc/self/task/*/schedstat`); the
//! ratio reported is the median of `ZQ_BENCH_ROUNDS` per-round ratios. `ZQ_BENCH_NULL=1` gives
//! both servers the layer: the ratio it prints is this bench's own error. A second part calls
//! both in-process (`tower::ServiceExt::oneshot`, no socket): the layer's cost in ns per request.
//!
//! Endpoints: `GET /health` (no handler work, the worst case for the layer) and an
//! authenticated `GET /api/v1/positions` (a real handler: one engine query on the blocking
//! pool; the engine thread, shared by both servers, runs on the load generator's core).
//!
//! Run: `cargo bench -p zigquant-server --bench api_overhead`

mod common;

use std::convert::Infallible;
use std::future::pending;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tower::ServiceExt;
use zigquant_metrics::Gauge;
use zigquant_server::api;
use zigquant_server::listener::CountingListener;
use zigquant_server::serve::{build, serve_http};

use common::{
    bench_config, cpus, env_f64, env_usize, get_request, load_average, median, pin_to_cpu, Client,
    KEY,
};

/// The core both servers' threads run on, and the load generator's core.
const SERVER_CPU: usize = 0;
const CLIENT_CPU: usize = 1;

/// Thread names of the two servers' runtimes (workers and blocking pools), whose CPU time is
/// summed per server: `[with, without]`.
const SERVER_THREADS: [&str; 2] = ["zq-srv-with", "zq-srv-without"];

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

fn main() -> anyhow::Result<()> {
    let rounds = env_usize("ZQ_BENCH_ROUNDS", 30);
    // The null test: both servers get the layer, so the ratio shows this bench's own error.
    let null_test = std::env::var_os("ZQ_BENCH_NULL").is_some();
    let secs = env_f64("ZQ_BENCH_SECS", 1.0);
    let warmup = env_f64("ZQ_BENCH_WARMUP_SECS", 0.3);
    let connections = env_usize("ZQ_BENCH_CONNECTIONS", 32);
    let inprocess_batches = env_usize("ZQ_BENCH_INPROCESS_BATCHES", 7);
    let cpus = cpus();
    anyhow::ensure!(
        cpus >= 2,
        "api_overhead needs two cores (servers on one, load generator on the other); found {cpus}"
    );
    // Everything started from here on (the engine's threads too) stays off the servers' core.
    pin_to_cpu(CLIENT_CPU)?;
    println!(
        "# api_overhead: cpus={cpus} load_before={} server_workers=1+1 (one core) connections={connections}+{connections} rounds={rounds} secs_per_round={secs} null_test={null_test}",
        load_average()
    );

    // A short unpaced run gives the engine positions to report, then it sits idle, so its own
    // work does not compete with the servers being measured.
    let config = bench_config("api", 300)?;
    let service = build(&config)?;
    let with_metrics = service.app.clone();
    let without_metrics = api::routes(service.state.clone(), config.api.body_limit_bytes);

    let server_runtime = |name: &'static str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .on_thread_start(|| {
                if let Err(e) = pin_to_cpu(SERVER_CPU) {
                    eprintln!("cannot pin a server thread to cpu {SERVER_CPU}: {e}");
                }
            })
            .enable_all()
            .build()
    };
    let with_rt = server_runtime(SERVER_THREADS[0])?;
    let without_rt = server_runtime(SERVER_THREADS[1])?;
    let with_addr = {
        let listener = with_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let listener = CountingListener::new(
            listener,
            service.state.catalogue.api_connections_active.clone(),
        );
        with_rt.spawn(serve_http(listener, with_metrics.clone(), pending()));
        addr
    };
    let without_addr = {
        let listener = without_rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        // The same listener type on both sides: the layer is all that differs.
        let listener = CountingListener::new(listener, Arc::new(Gauge::new()));
        if null_test {
            // Both sides identical: what the bench reads when there is nothing to find.
            without_rt.spawn(serve_http(listener, with_metrics.clone(), pending()));
        } else {
            without_rt.spawn(serve_http(listener, without_metrics.clone(), pending()));
        }
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
            // The connections stay open across rounds: no connect and close churn (nor sockets
            // in TIME_WAIT piling up) between or during measurements.
            let mut pools = [Vec::new(), Vec::new()];
            for (pool, addr) in pools.iter_mut().zip([with_addr, without_addr]) {
                for _ in 0..connections {
                    let mut client = Client::connect(addr).await?;
                    let reply = client.fetch(&request).await?;
                    anyhow::ensure!(
                        reply.status == 200,
                        "{} answered {} on {addr}: {}",
                        case.path,
                        reply.status,
                        String::from_utf8_lossy(&reply.body)
                    );
                    pool.push(client);
                }
            }
            let verbose = std::env::var_os("ZQ_BENCH_VERBOSE").is_some();
            let mut ratios = Vec::with_capacity(rounds);
            let mut rates = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
            let mut cpu = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
            for round in 0..rounds {
                let sides = load_both(
                    &mut pools,
                    &request,
                    Duration::from_secs_f64(warmup),
                    Duration::from_secs_f64(secs),
                )
                .await?;
                for (i, side) in sides.iter().enumerate() {
                    rates[i].push(side.rate);
                    cpu[i].push(side.cpu_ns_per_request);
                }
                ratios.push(sides[0].rate / sides[1].rate);
                if verbose {
                    println!(
                        "#   round {round}: req/s with={:.0} without={:.0} ratio={:.4}; cpu ns/request with={:.0} without={:.0}",
                        sides[0].rate,
                        sides[1].rate,
                        sides[0].rate / sides[1].rate,
                        sides[0].cpu_ns_per_request,
                        sides[1].cpu_ns_per_request
                    );
                }
            }
            let (lo, hi) = ratios
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    (lo.min(r), hi.max(r))
                });
            let ratio = median(&mut ratios);
            println!(
                "api_overhead_{} with_metrics={:.0} without_metrics={:.0} ratio={:.4} overhead={:.2}% round_ratios={lo:.4}..{hi:.4} unit=req/s load={}",
                case.name,
                median(&mut rates[0]),
                median(&mut rates[1]),
                ratio,
                (1.0 - ratio) * 100.0,
                load_average()
            );
            let (with, without) = (median(&mut cpu[0]), median(&mut cpu[1]));
            println!(
                "api_server_cpu_{} with_metrics={with:.0} without_metrics={without:.0} layer={:.0} ratio={:.4} unit=ns/request (each server thread's own CPU time) load={}",
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
                // Alternate which goes first, so drift hits both alike.
                if batch % 2 == 0 {
                    with_ns.push(inprocess_ns(&with_metrics, case).await?);
                    without_ns.push(inprocess_ns(&without_metrics, case).await?);
                } else {
                    without_ns.push(inprocess_ns(&without_metrics, case).await?);
                    with_ns.push(inprocess_ns(&with_metrics, case).await?);
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

    with_rt.shutdown_timeout(Duration::from_secs(2));
    without_rt.shutdown_timeout(Duration::from_secs(2));
    service.state.engine.shutdown()?;
    let _ = std::fs::remove_dir_all(&config.server.data_dir);
    Ok(())
}

/// One server's share of a round.
struct Side {
    /// Responses per second.
    rate: f64,
    /// The server threads' CPU nanoseconds per response.
    cpu_ns_per_request: f64,
}

/// Drives both servers at once through their keep-alive connections in `pools` (handed back
/// when done) and measures each over `measure`, after `warmup`. Every response must be a 200.
async fn load_both(
    pools: &mut [Vec<Client>; 2],
    request: &Arc<[u8]>,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<[Side; 2]> {
    let counts = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    // Start the two sides' connections interleaved, so neither gets a head start.
    let with: Vec<Client> = pools[0].drain(..).collect();
    let without: Vec<Client> = pools[1].drain(..).collect();
    for pair in with.into_iter().zip(without) {
        for (side, mut client) in [(0, pair.0), (1, pair.1)] {
            let (count, stop, request) = (counts[side].clone(), stop.clone(), request.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = client.roundtrip(&request).await?;
                    if status != 200 {
                        return Err(io::Error::other(format!("status {status}")));
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                }
                io::Result::Ok((side, client))
            }));
        }
    }
    tokio::time::sleep(warmup).await;
    let start_counts = counts.each_ref().map(|c| c.load(Ordering::Relaxed));
    let start_cpu = SERVER_THREADS.map(server_cpu_ns);
    let start = Instant::now();
    tokio::time::sleep(measure).await;
    let done = [0, 1].map(|i| counts[i].load(Ordering::Relaxed) - start_counts[i]);
    let cpu = [0, 1].map(|i| server_cpu_ns(SERVER_THREADS[i]) - start_cpu[i]);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let (side, client) = task.await??;
        pools[side].push(client);
    }
    Ok([0, 1].map(|i| Side {
        rate: done[i] as f64 / elapsed,
        cpu_ns_per_request: cpu[i] / done[i] as f64,
    }))
}

/// Nanoseconds on CPU of this process' threads named `name` (`/proc/self/task/*/schedstat`).
fn server_cpu_ns(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let mut total = 0.0;
    for task in tasks.flatten() {
        let path = task.path();
        let is_server =
            std::fs::read_to_string(path.join("comm")).is_ok_and(|comm| comm.trim_end() == name);
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

/// Mean nanoseconds per request of one in-process batch of `case` (response body collected).
async fn inprocess_ns<A>(app: &A, case: &Case) -> anyhow::Result<f64>
where
    A: tower::Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    let n = case.inprocess_batch;
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
