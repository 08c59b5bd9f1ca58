//! Where the request-metrics layer's cost goes, in-process (`oneshot`, no socket), `GET /health`:
//! the bare routes, two `middleware::from_fn` layers doing nothing (what the first version of
//! the layer was built from, and most of its cost), and the production layer (one hand-written
//! tower layer, `api::with_request_metrics`).
//!
//! Run: `cargo bench -p zigquant-server --bench api_layer_breakdown`

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::Request as HttpRequest;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;
use zigquant_server::api;
use zigquant_server::config::Config;
use zigquant_server::serve::build;

use common::{cpus, env_usize, load_average, median};

async fn noop(request: Request, next: Next) -> Response {
    next.run(request).await
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
    println!("# recorded by the production variant: {recorded:?}");
    rt.shutdown_timeout(Duration::from_secs(1));
    service.state.engine.shutdown()?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
