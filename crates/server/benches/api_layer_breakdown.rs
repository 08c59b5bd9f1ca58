//! Where the request-metrics layer's cost goes, in-process (`oneshot`, no socket), `GET /health`:
//! the bare routes, the same two `middleware::from_fn` layers doing nothing, the production
//! layers, and a single hand-written tower layer that does the same recording (route template
//! read from `MatchedPath` inside `Router::layer`, which runs after routing; no `Arc<str>`
//! allocation, no response extension) — a candidate for a cheaper layer.
//!
//! Run: `cargo bench -p zigquant-server --bench api_layer_breakdown`

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::Request as HttpRequest;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};
use zigquant_metrics::Catalogue;
use zigquant_server::api::{self, UNMATCHED};
use zigquant_server::config::Config;
use zigquant_server::serve::build;

use common::{cpus, env_usize, load_average, median};

async fn noop(request: Request, next: Next) -> Response {
    next.run(request).await
}

/// Records exactly what `request_metrics::record` records, in one layer without boxing `Next`.
#[derive(Clone)]
struct RecordLayer(Arc<Catalogue>);

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;
    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            catalogue: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Record<S> {
    inner: S,
    catalogue: Arc<Catalogue>,
}

impl<S> Service<Request> for Record<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let catalogue = self.catalogue.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            let elapsed = started.elapsed().as_secs_f64();
            let path = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            catalogue
                .api_requests_total
                .get(&[method.as_str(), path, response.status().as_str()])
                .inc();
            catalogue
                .api_latency_seconds
                .get(&[method.as_str(), path])
                .observe(elapsed);
            Ok(response)
        })
    }
}

fn main() -> anyhow::Result<()> {
    let n = env_usize("ZQ_BENCH_REQUESTS", 100_000);
    let batches = env_usize("ZQ_BENCH_BATCHES", 7);
    println!(
        "# api_layer_breakdown: cpus={} load_before={} requests_per_batch={n} batches={batches}",
        cpus(),
        load_average()
    );
    let data_dir = std::env::temp_dir().join(format!("zq-bench-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = Config::embedded_default()?;
    config.server.data_dir = data_dir.clone();
    config.api.keys = vec!["bench-key-0123456789abcdef".to_string()];
    config.engine.feed.pacing = false;
    config.engine.feed.max_bars = 10;
    let service = build(&config)?;
    let limit = config.api.body_limit_bytes;
    let state = service.state.clone();
    let catalogue = state.catalogue.clone();
    let variants: Vec<(&str, Router)> = vec![
        ("bare_routes", api::routes(state.clone(), limit)),
        (
            "two_noop_from_fn",
            api::routes(state.clone(), limit)
                .route_layer(middleware::from_fn(noop))
                .layer(middleware::from_fn(noop)),
        ),
        ("production_layer", service.app.clone()),
        (
            "single_tower_layer",
            api::routes(state.clone(), limit).layer(RecordLayer(catalogue.clone())),
        ),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    rt.block_on(async {
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
        anyhow::Ok(())
    })?;
    let base = median(&mut ns[0].clone());
    for (i, (name, _)) in variants.iter().enumerate() {
        let m = median(&mut ns[i]);
        println!(
            "api_layer_breakdown_{name} health={m:.0} over_bare={:.0} unit=ns/request load={}",
            m - base,
            load_average()
        );
    }
    let recorded = {
        let mut out = Vec::new();
        catalogue.encode(zigquant_metrics::Format::Text, &mut out);
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| l.starts_with("zigquant_api_requests_total{") && l.contains("/health"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    println!("# recorded by the production and tower variants together: {recorded:?}");
    rt.shutdown_timeout(Duration::from_secs(1));
    service.state.engine.shutdown()?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
