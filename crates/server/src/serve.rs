//! `zigquant serve`: wires configuration, metrics, engine and HTTP server together and runs them.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;

use zigquant_engine::{Engine, RejectReason};
use zigquant_metrics::{Catalogue, CatalogueConfig, InstanceInfo};

use crate::api::{self, AppState};
use crate::auth::{ApiKeys, KeySource};
use crate::config::Config;
use crate::connection::{serve_guarded, Guard};
pub use crate::connection::{serve_http, HEADER_READ_TIMEOUT};
use crate::limits::ClientLimits;
use crate::listener::CountingListener;
use crate::live::{self, LivePlan};
use crate::live_view::{ArcSink, LiveFeed, Tee};
use crate::telemetry::MetricsSink;
use crate::web_config::LiveWebConfig;

/// The journal's file name inside the data dir.
pub const JOURNAL_FILE: &str = "journal.sqlite";

/// The lock file that keeps a second service off a data dir in use (holds the owner's pid).
pub const LOCK_FILE: &str = "zigquant.lock";

/// Everything a running service is made of, before it starts listening (tests use this too).
pub struct Service {
    /// The router with its state, inside the request metrics.
    pub app: api::App,
    /// Shared state (engine handle, catalogue).
    pub state: AppState,
    /// This process' hold on the data dir, for as long as the service lives.
    _data_dir_lock: File,
}

/// Takes the data dir for this process: an OS file lock on [`LOCK_FILE`], released when the
/// process ends however it ends (kill -9 included), so nothing stale is ever left to clean up.
/// Two services appending to one journal would interleave two histories that no restart could
/// replay; the second one is refused at start instead.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot use data dir {}: cannot create its lock file {LOCK_FILE}",
                data_dir.display()
            )
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            anyhow::bail!(
                "data dir {} is in use by another zigquant process{holder}; stop it or give this one its own --data-dir",
                data_dir.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot use data dir {}: cannot lock {}",
                    data_dir.display(),
                    path.display()
                )
            })
        }
    }
    // Best effort: the pid only makes the refusal above more helpful.
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(file)
}

/// The metric catalogue for this configuration: label domains come from config, never from input.
pub fn catalogue_for(config: &Config) -> Result<Catalogue, zigquant_metrics::MetricsError> {
    Catalogue::try_new(CatalogueConfig {
        strategies: config.engine.strategy_names(),
        pairs: config.engine.pair_names(),
        exchanges: config.engine.exchange_names(),
        routes: api::route_templates(),
        rejection_reasons: RejectReason::ALL
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        order_latency_buckets: config.metrics.order_latency_buckets.clone(),
        api_latency_buckets: config.metrics.api_latency_buckets.clone(),
        market_data_delay_buckets: config.metrics.market_data_delay_buckets.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        native_histograms: config.native_histograms(),
        var_window: config.engine.risk.var_window,
        instance: InstanceInfo {
            name: config.server.bot_name().to_string(),
            mode: TRADING_MODE.to_owned(),
            config_hash: config.document_hash.to_string(),
            strategies: config.engine.strategies.len(),
        },
    })
}

/// The `mode` label of `zigquant_instance_info`: every venue zigquant trades on is a paper
/// exchange (simulated fills), whatever the market data source.
pub const TRADING_MODE: &str = "paper";

/// Opens the data dir and the journal, starts the engine and builds the router.
pub fn build(config: &Config) -> anyhow::Result<Service> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir).with_context(|| {
        // EEXIST / ENOTDIR alone do not say that a file is in the way, nor which.
        match data_dir
            .ancestors()
            .find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir()))
        {
            Some(p) if p == data_dir.as_path() => format!(
                "cannot use data dir {}: it exists and is not a directory",
                data_dir.display()
            ),
            Some(p) => format!(
                "cannot create data dir {}: {} is not a directory",
                data_dir.display(),
                p.display()
            ),
            None => format!("cannot create data dir {}", data_dir.display()),
        }
    })?;
    let data_dir_lock = lock_data_dir(data_dir)?;
    let web = match &config.server.web_config_file {
        Some(path) => {
            let web = LiveWebConfig::load(path)?;
            let current = web.current();
            tracing::info!(
                file = %path.display(),
                tls = current.tls.is_some(),
                basic_auth_users = !current.users.is_empty(),
                "web config loaded; it is re-read when it or the files it names change"
            );
            if current.tls.is_none() && !current.users.is_empty() {
                tracing::warn!("basic auth without TLS: passwords cross the network in clear text");
            }
            Some(Arc::new(web))
        }
        None => None,
    };
    let (keys, source) = ApiKeys::open(&config.api.keys, data_dir).with_context(|| {
        format!(
            "cannot open or create the API key store in {}",
            data_dir.display()
        )
    })?;
    match source {
        KeySource::Configured => tracing::info!("API keys: from configuration"),
        KeySource::Stored { count } => {
            tracing::info!(
                "API keys: {count} in the key store (`zigquant keys list`), plus any configured"
            )
        }
        KeySource::Generated { path } => tracing::info!(
            "API key: generated; its hash is in the key store and the key itself in {} (mode 0600) \
             to copy once (delete the file after); send it as `Authorization: Bearer <key>`",
            path.display()
        ),
        KeySource::Migrated { path } => tracing::info!(
            "API key: the plain key in {} is now hashed in the key store as `generated`; \
             the file is no longer needed by the server",
            path.display()
        ),
    }
    let catalogue = Arc::new(catalogue_for(config).context("invalid metrics configuration")?);
    let metrics_sink = Arc::new(MetricsSink::new(catalogue.clone()));
    let live_view = Arc::new(LiveFeed::new(config.engine.strategy_names()));
    let sink = Arc::new(Tee(
        ArcSink(metrics_sink.clone()),
        ArcSink(live_view.clone()),
    ));
    let journal = data_dir.join(JOURNAL_FILE);
    let live = LivePlan::from_config(&config.engine).context("invalid live market data")?;
    let mut engine_config = config.engine.clone();
    if live::use_wall_clock(&mut engine_config) {
        tracing::info!("live market data: market time is wall time (clock_speed 1, paced)");
    }
    let engine = Engine::start(engine_config, &journal, sink)
        .with_context(|| "cannot start the engine".to_string())?;
    // Feed tasks live as long as the runtime; with no live pair nothing is spawned and nothing
    // touches the network.
    if !live.is_empty() {
        live.start(engine.market_inbox(), metrics_sink)
            .context("cannot start live market data")?;
    }
    let state = AppState {
        engine,
        catalogue,
        keys,
        metrics_token: config.metrics.bearer_token.as_deref().map(Arc::from),
        limits: Arc::new(ClientLimits::new(&config.limits)),
        web,
        max_page_size: config.api.max_page_size,
        started: Instant::now(),
        live_view,
    };
    let app = api::router(state.clone(), config.api.body_limit_bytes);
    Ok(Service {
        app,
        state,
        _data_dir_lock: data_dir_lock,
    })
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
        let scheme = match service
            .state
            .web
            .as_ref()
            .map(|w| w.current().tls.is_some())
        {
            Some(true) => "https",
            _ => "http",
        };
        tracing::info!(
            "zigquant {} listening on {scheme}://{addr} (metrics: {scheme}://{addr}/metrics, config {})",
            config.server.bot_name(),
            config.document_hash
        );
        let listener = CountingListener::new(
            listener,
            service.state.catalogue.api_connections_active.clone(),
        );
        let state = &service.state;
        let guard = Guard::new(
            state.limits.clone(),
            state.web.clone(),
            state.catalogue.clone(),
        );
        let live_view = state.live_view.clone();
        let shutdown = async move {
            shutdown_signal().await;
            // Event streams never end on their own; end them so shutdown does not wait.
            live_view.close();
        };
        serve_guarded(listener, service.app, shutdown, Some(Arc::new(guard))).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_toml;
    use crate::identity::{BotName, ConfigHash};
    use zigquant_metrics::Format;

    #[test]
    fn the_instance_info_names_the_bot_its_config_and_strategies() {
        let mut config = Config::embedded_default().expect("default config");
        config.server.name = Some(BotName::new("bot-7").expect("valid name"));
        let catalogue = catalogue_for(&config).expect("catalogue");
        let mut out = Vec::new();
        catalogue.encode(Format::Text, &mut out);
        let text = String::from_utf8(out).expect("utf-8");
        let want = format!(
            "zigquant_instance_info{{name=\"bot-7\",mode=\"paper\",config_hash=\"{}\",strategies=\"{}\"}} 1\n",
            ConfigHash::of(&default_toml()),
            config.engine.strategies.len()
        );
        assert!(text.contains(&want), "{want} not in:\n{text}");
        assert_eq!(
            text.matches("zigquant_instance_info{").count(),
            1,
            "one series"
        );
    }
}
