//! `zigquant serve`: wires configuration, metrics, engine and HTTP server together and runs them.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;
use zigquant_engine::Engine;
use zigquant_metrics::{Catalogue, CatalogueConfig};

use crate::api::{self, AppState};
use crate::auth::{ApiKeys, KeySource};
use crate::config::Config;
use crate::listener::CountingListener;
use crate::telemetry::MetricsSink;

/// The journal's file name inside the data dir.
pub const JOURNAL_FILE: &str = "journal.sqlite";

/// Everything a running service is made of, before it starts listening (tests use this too).
pub struct Service {
    /// The router with its state.
    pub app: axum::Router,
    /// Shared state (engine handle, catalogue).
    pub state: AppState,
}

/// The metric catalogue for this configuration: label domains come from config, never from input.
pub fn catalogue_for(config: &Config) -> Catalogue {
    Catalogue::new(CatalogueConfig {
        strategies: config.engine.strategy_names(),
        pairs: config.engine.pair_names(),
        exchanges: config.engine.exchange_names(),
        routes: api::route_templates(),
        order_latency_buckets: config.metrics.order_latency_buckets.clone(),
        api_latency_buckets: config.metrics.api_latency_buckets.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// Opens the data dir and the journal, starts the engine and builds the router.
pub fn build(config: &Config) -> anyhow::Result<Service> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let (keys, source) =
        ApiKeys::load_or_create(&config.api.keys, data_dir).with_context(|| {
            format!(
                "cannot read or create the API key in {}",
                data_dir.display()
            )
        })?;
    match source {
        KeySource::Configured => tracing::info!("API keys: from configuration"),
        KeySource::File { path, created: true } => tracing::info!(
            "API key: generated and stored in {} (mode 0600); send it as `Authorization: Bearer <key>`",
            path.display()
        ),
        KeySource::File { path, created: false } => {
            tracing::info!("API key: read from {}", path.display())
        }
    }
    let catalogue = Arc::new(catalogue_for(config));
    let sink = Arc::new(MetricsSink::new(catalogue.clone()));
    let journal = data_dir.join(JOURNAL_FILE);
    let engine = Engine::start(config.engine.clone(), &journal, sink)
        .with_context(|| format!("cannot start the engine with journal {}", journal.display()))?;
    let state = AppState {
        engine,
        catalogue,
        keys,
        metrics_token: config.metrics.bearer_token.as_deref().map(Arc::from),
        max_page_size: config.api.max_page_size,
        started: Instant::now(),
    };
    let app = api::router(state.clone(), config.api.body_limit_bytes);
    Ok(Service { app, state })
}

/// Runs the service until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let service = tokio::task::block_in_place(|| build(&config))?;
        let addr = listener.local_addr()?;
        tracing::info!("zigquant listening on http://{addr} (metrics: http://{addr}/metrics)");
        let listener = CountingListener::new(
            listener,
            service.state.catalogue.api_connections_active.clone(),
        );
        axum::serve(listener, service.app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("HTTP server failed")?;
        tracing::info!("shutting down");
        let engine = service.state.engine.clone();
        tokio::task::spawn_blocking(move || engine.shutdown())
            .await
            .context("engine shutdown panicked")?
            .context("engine shutdown failed")?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
