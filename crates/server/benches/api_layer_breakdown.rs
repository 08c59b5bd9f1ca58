//! Where the request-metrics layer's cost goes, in-process (`oneshot`, no socket), pinned to one
//! core, variants rotated every batch, medians of the batches:
//!
//! * `layer_alone`: the production layer around a service that answers at once, against that
//!   service alone: what the layer itself costs per request, with nothing else in the way.
//! * `placement`: `GET /health` on the bare routes; a tower layer that does nothing, once added
//!   with `Router::layer` (inside the router, where the earlier versions of the request metrics
//!   sat: every route wrapped and boxed again) and once around the router (where production sits
//!   now); and production (`api::with_request_metrics`).
//!
//! Run: `cargo bench -p zigquant-server --bench api_layer_breakdown`

mod common;

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::Request as HttpRequest;
use axum::response::Response;
use http_body_util::BodyExt;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};
use zigquant_server::api;
use zigquant_server::serve::build;

use common::{bench_config, cpus, env_usize, load_average, median, pin_to_cpu};

/// Every variant behind the same boxed service type, so each pays the same call overhead.
type Variant = BoxCloneSyncService<Request, Response, Infallible>;

/// A layer that does nothing: what merely being a layer costs, in each place.
#[derive(Clone)]
struct Noop;

impl<S> Layer<S> for Noop {
    type Service = NoopService<S>;

    fn layer(&self, inner: S) -> NoopService<S> {
        NoopService(inner)
    }
}

#[derive(Clone)]
struct NoopService<S>(S);

impl<S: Service<Request, Response = Response, Error = Infallible>> Service<Request>
    for NoopService<S>
{
    type Response = Response;
    type Error = Infallible;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        self.0.call(request)
    }
}

fn main() -> anyhow::Result<()> {
    let n = env_usize("ZQ_BENCH_REQUESTS", 100_000);
    let batches = env_usize("ZQ_BENCH_BATCHES", 9);
    let cpus = cpus();
    println!(
        "# api_layer_breakdown: cpus={cpus} load_before={} requests_per_batch={n} batches={batches}",
        load_average()
    );
    let config = bench_config("layers", 10)?;
    let service = build(&config)?;
    let limit = config.api.body_limit_bytes;
    let state = service.state.clone();
    let catalogue = state.catalogue.clone();
    if cpus >= 2 {
        // The engine's threads started above keep the other core.
        pin_to_cpu(1)?;
    }

    let answer_at_once = tower::service_fn(|_: Request| {
        std::future::ready(Ok::<_, Infallible>(Response::new(Body::empty())))
    });
    let layer = api::RequestMetricsLayer::new(catalogue.clone());
    let layer_alone = [
        ("inner_alone", Variant::new(answer_at_once)),
        (
            "inner_with_layer",
            Variant::new(layer.layer(answer_at_once)),
        ),
    ];
    let placement = [
        (
            "bare_routes",
            Variant::new(api::routes(state.clone(), limit)),
        ),
        (
            "noop_inside_router",
            Variant::new(api::routes(state.clone(), limit).layer(Noop)),
        ),
        (
            "noop_around_router",
            Variant::new(Noop.layer(api::routes(state.clone(), limit))),
        ),
        ("production", Variant::new(service.app.clone())),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for (group, variants) in [("layer_alone", &layer_alone[..]), ("placement", &placement[..])] {
            let ns = measure(variants, n, batches).await?;
            for ((name, _), m) in variants.iter().zip(&ns) {
                println!(
                    "api_layer_breakdown_{group}_{name} health={m:.0} over_first={:.0} unit=ns/request load={}",
                    m - ns[0],
                    load_average()
                );
            }
        }
        anyhow::Ok(())
    })?;
    let recorded = {
        let mut out = Vec::new();
        catalogue.encode(zigquant_metrics::Format::Text, &mut out);
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| l.starts_with("zigquant_api_requests_total{") && l.contains("/health"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    println!("# recorded by the layer (both groups): {recorded:?}");
    rt.shutdown_timeout(Duration::from_secs(1));
    service.state.engine.shutdown()?;
    let _ = std::fs::remove_dir_all(&config.server.data_dir);
    Ok(())
}

/// Median nanoseconds per `GET /health` of each variant over `batches` batches of `n`.
async fn measure(
    variants: &[(&str, Variant)],
    n: usize,
    batches: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for batch in 0..batches {
        for i in 0..variants.len() {
            // Rotate the order every batch so drift hits every variant alike.
            let v = (i + batch) % variants.len();
            let app = &variants[v].1;
            let start = Instant::now();
            for _ in 0..n {
                let request = HttpRequest::get("/health").body(Body::empty())?;
                let response = app.clone().oneshot(request).await?;
                anyhow::ensure!(response.status() == 200);
                std::hint::black_box(response.into_body().collect().await?);
            }
            ns[v].push(start.elapsed().as_nanos() as f64 / n as f64);
        }
    }
    Ok(ns.iter_mut().map(|v| median(v)).collect())
}
