//! The zigquant metric catalogue of docs/metrics.md: every family, its labels' bounded domains, its
//! HELP text. Names, types and labels here are a contract; do not rename or relabel.

use std::sync::Arc;

use crate::labels::{
    AlertLabels, AuthFailureLabels, AuthFailureReason, BuildLabels, ConfigDigest, ExchangeLabels,
    InstanceLabels, InstanceName, Level, Limit, LimitLabels, MarketDataErrorLabels, MarketDataKind,
    MarketDataMessageLabels, MarketDataReason, OrderStatusLabels, PairLabels, RejectionLabels,
    RequestLabels, RouteLabels, Side, StrategyCount, StrategyLabels, StrategyPairLabels,
    TerminalStatus, TradeLabels, TradingMode, Version,
};
use crate::{
    Counter, Format, Gauge, Histogram, LabelDomain, LabelKind, Labelled, Metric, MetricsError,
    NativeConfig, Registry,
};

/// What the catalogue needs to know about the deployment: the label values that are legitimate
/// (everything else maps to a fallback) and the histogram buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogueConfig {
    /// Strategy names (`manual` is always added; unknown -> `other`).
    pub strategies: Vec<String>,
    /// Trading pairs (unknown -> `other`).
    pub pairs: Vec<String>,
    /// Exchanges (unknown -> `other`).
    pub exchanges: Vec<String>,
    /// API route templates, e.g. `/api/v1/orders/{id}` (unknown -> `unmatched`).
    pub routes: Vec<String>,
    /// Order rejection reasons (unknown -> `other`). The engine's `RejectReason::ALL` is the one
    /// source: the server passes it here, so the metrics crate needs no engine dependency.
    pub rejection_reasons: Vec<String>,
    /// Buckets of `zigquant_order_latency_seconds`.
    pub order_latency_buckets: Vec<f64>,
    /// Buckets of `zigquant_api_latency_seconds`.
    pub api_latency_buckets: Vec<f64>,
    /// Buckets of `zigquant_market_data_delay_seconds`.
    pub market_data_delay_buckets: Vec<f64>,
    /// The `version` label of `zigquant_build_info`.
    pub version: String,
    /// Native bucket layout of the two latency histograms (protobuf scrapes).
    pub native_histograms: NativeConfig,
    /// Returns in the rolling window of `zigquant_var_95` / `zigquant_cvar_95`
    /// (`engine.risk.var_window`), named in their HELP text.
    pub var_window: usize,
    /// The labels of `zigquant_instance_info`: who this bot is in a fleet.
    pub instance: InstanceInfo,
}

/// The labels of `zigquant_instance_info{name,mode,config_hash,strategies}`: one series per
/// process, so a fleet's dashboards and alerts can join every series to its bot's name
/// (`* on (instance) group_left (name) zigquant_instance_info`, docs/fleet.md) without a `name`
/// label on every series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The bot's name (validated label-safe by the server's config).
    pub name: String,
    /// How it trades: `paper` (simulated fills) is the only mode today.
    pub mode: String,
    /// Short hash of the configuration document it runs.
    pub config_hash: String,
    /// How many strategies the configuration lists.
    pub strategies: usize,
}

impl Default for InstanceInfo {
    fn default() -> Self {
        Self {
            name: "zigquant".to_owned(),
            mode: "paper".to_owned(),
            config_hash: String::new(),
            strategies: 0,
        }
    }
}

impl CatalogueConfig {
    /// Default latency buckets in seconds, including the story's 0.01, 0.05, 0.1, 0.5 and 1.
    pub fn default_buckets() -> Vec<f64> {
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]
    }
}

impl Default for CatalogueConfig {
    fn default() -> Self {
        Self {
            strategies: Vec::new(),
            pairs: Vec::new(),
            exchanges: Vec::new(),
            routes: Vec::new(),
            rejection_reasons: Vec::new(),
            order_latency_buckets: Self::default_buckets(),
            api_latency_buckets: Self::default_buckets(),
            market_data_delay_buckets: Self::default_buckets(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            native_histograms: NativeConfig::default(),
            var_window: 10_080,
            instance: InstanceInfo::default(),
        }
    }
}

/// HTTP methods the API metrics keep apart; anything else is `OTHER`.
pub const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Every metric zigquant exports, as typed handles, plus the registry that encodes them.
///
/// Trading code records through the public fields; the `/metrics` handler calls
/// [`Catalogue::encode`]. Labelled fields take a typed label set (see [`crate::labels`]).
pub struct Catalogue {
    registry: Registry,
    /// `zigquant_trades_total{strategy,pair,side}`: fills executed; exemplar `trade_id`.
    pub trades_total: Labelled<TradeLabels<'static>, Counter>,
    /// `zigquant_trade_pnl{strategy,pair}`: cumulative realized PnL, net of fees.
    pub trade_pnl: Labelled<StrategyPairLabels<'static>, Gauge>,
    /// `zigquant_win_rate{strategy}`: winning / closed round trips, 0..1.
    pub win_rate: Labelled<StrategyLabels<'static>, Gauge>,
    /// `zigquant_sharpe_ratio{strategy}`: annualized Sharpe.
    pub sharpe_ratio: Labelled<StrategyLabels<'static>, Gauge>,
    /// `zigquant_calmar_ratio{strategy}`: annualized return / max drawdown.
    pub calmar_ratio: Labelled<StrategyLabels<'static>, Gauge>,
    /// `zigquant_strategy_equity{strategy}`: a strategy's mark-to-market equity.
    pub strategy_equity: Labelled<StrategyLabels<'static>, Gauge>,
    /// `zigquant_strategy_running{strategy}`: 1 running, 0 stopped.
    pub strategy_running: Labelled<StrategyLabels<'static>, Gauge>,
    /// `zigquant_orders_total{status}`: orders reaching filled / cancelled / rejected.
    pub orders_total: Labelled<OrderStatusLabels, Counter>,
    /// `zigquant_order_latency_seconds`: submit -> acknowledgement/fill; also a native
    /// histogram; exemplars `order_id`, `exchange`.
    pub order_latency_seconds: Arc<Histogram>,
    /// `zigquant_orders_active`: open orders.
    pub orders_active: Arc<Gauge>,
    /// `zigquant_position_size{pair}`: signed base quantity.
    pub position_size: Labelled<PairLabels<'static>, Gauge>,
    /// `zigquant_position_pnl{pair}`: unrealized PnL.
    pub position_pnl: Labelled<PairLabels<'static>, Gauge>,
    /// `zigquant_max_drawdown`: portfolio max drawdown, positive fraction.
    pub max_drawdown: Arc<Gauge>,
    /// `zigquant_position_count`: pairs with a non-zero position.
    pub position_count: Arc<Gauge>,
    /// `zigquant_api_requests_total{method,path,status}`: path is the route template.
    pub api_requests_total: Labelled<RequestLabels<'static>, Counter>,
    /// `zigquant_api_latency_seconds{method,path}`: request latency; also a native histogram;
    /// exemplar `request_id`.
    pub api_latency_seconds: Labelled<RouteLabels<'static>, Histogram>,
    /// `zigquant_api_connections_active`: open client connections.
    pub api_connections_active: Arc<Gauge>,
    /// `zigquant_exchange_connected{exchange}`: 1 connected, 0 not.
    pub exchange_connected: Labelled<ExchangeLabels<'static>, Gauge>,
    /// `zigquant_var_95`: historical VaR 95% over the last `var_window` returns, positive loss
    /// fraction.
    pub var_95: Arc<Gauge>,
    /// `zigquant_cvar_95`: expected shortfall 95% over the last `var_window` returns, positive
    /// loss fraction.
    pub cvar_95: Arc<Gauge>,
    /// `zigquant_alerts_total{level}`: risk alerts raised.
    pub alerts_total: Labelled<AlertLabels, Counter>,
    /// `zigquant_portfolio_equity`: portfolio mark-to-market equity.
    pub portfolio_equity: Arc<Gauge>,
    /// `zigquant_market_data_last_update_timestamp_seconds{pair}`: staleness of market data.
    pub market_data_last_update_timestamp_seconds: Labelled<PairLabels<'static>, Gauge>,
    /// `zigquant_order_rejections_total{reason}`: rejected orders by reason.
    pub order_rejections_total: Labelled<RejectionLabels<'static>, Counter>,
    /// `zigquant_journal_write_errors_total`: failed journal writes.
    pub journal_write_errors_total: Arc<Counter>,
    /// `zigquant_engine_clock_slips_total`: times the overloaded engine let its market clock slip.
    pub engine_clock_slips_total: Arc<Counter>,
    /// `zigquant_market_data_messages_total{exchange,kind}`: messages from a live venue feed.
    pub market_data_messages_total: Labelled<MarketDataMessageLabels<'static>, Counter>,
    /// `zigquant_market_data_reconnects_total{exchange}`: reconnect attempts of a live feed.
    pub market_data_reconnects_total: Labelled<ExchangeLabels<'static>, Counter>,
    /// `zigquant_market_data_errors_total{exchange,reason}`: dropped data and broken links.
    pub market_data_errors_total: Labelled<MarketDataErrorLabels<'static>, Counter>,
    /// `zigquant_market_data_delay_seconds{exchange}`: venue event time -> receipt.
    pub market_data_delay_seconds: Labelled<ExchangeLabels<'static>, Histogram>,
    /// `zigquant_build_info{version}`: always 1.
    pub build_info: Labelled<BuildLabels<'static>, Gauge>,
    /// `zigquant_api_auth_failures_total{reason}`: failed or throttled authentications.
    pub api_auth_failures_total: Labelled<AuthFailureLabels, Counter>,
    /// `zigquant_api_limited_total{limit}`: requests and connections refused by a limit.
    pub api_limited_total: Labelled<LimitLabels, Counter>,
    /// `zigquant_instance_info{name,mode,config_hash,strategies}`: always 1.
    pub instance_info: Labelled<InstanceLabels<'static>, Gauge>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("registry", &self.registry)
            .finish()
    }
}

const RISK_HELP_TAIL: &str = "computed on the portfolio's mark-to-market equity sampled once per bar, as a positive loss fraction (0.082 = 8.2%).";

/// Wraps a freshly registered family in its typed label set (checked to match).
fn typed<L: LabelKind, M: Metric>(
    family: Result<crate::Family<M>, MetricsError>,
) -> Result<Labelled<L, M>, MetricsError> {
    Labelled::new(family?)
}

impl Catalogue {
    /// Builds the catalogue. Invalid bucket lists in `config` are replaced by
    /// [`CatalogueConfig::default_buckets`]; use [`Catalogue::try_new`] to reject them instead.
    pub fn new(mut config: CatalogueConfig) -> Self {
        for b in [
            &mut config.order_latency_buckets,
            &mut config.api_latency_buckets,
            &mut config.market_data_delay_buckets,
        ] {
            if Histogram::new(b).is_err() {
                *b = CatalogueConfig::default_buckets();
            }
        }
        if config.native_histograms.validate().is_err() {
            config.native_histograms = NativeConfig::default();
        }
        match Self::try_new(config) {
            Ok(c) => c,
            // Unreachable: the names are constants checked by the tests and the buckets were
            // just validated; a panic here is a bug in this file, not bad input.
            Err(e) => panic!("zigquant catalogue is inconsistent: {e}"),
        }
    }

    /// Builds the catalogue, or says which bucket list is invalid.
    pub fn try_new(config: CatalogueConfig) -> Result<Self, MetricsError> {
        let r = Registry::new();
        let mut strategies = config.strategies.clone();
        strategies.push("manual".to_owned());
        let strategy = || LabelDomain::new("strategy", strategies.iter().cloned(), "other");
        let pair = || LabelDomain::new("pair", config.pairs.iter().cloned(), "other");
        let method = || LabelDomain::new("method", HTTP_METHODS, "OTHER");
        let path = || LabelDomain::new("path", config.routes.iter().cloned(), "unmatched");
        let status = LabelDomain::new("status", (100..600).map(|s| s.to_string()), "other");

        let trades_total = typed(r.counter_family(
            "zigquant_trades_total",
            "Fills executed, by strategy, pair and side (buy/sell).",
            vec![strategy(), pair(), Side::domain("side")],
        ))?;
        let trade_pnl = typed(r.gauge_family(
            "zigquant_trade_pnl",
            "Cumulative realized PnL in quote currency, net of fees, by strategy and pair.",
            vec![strategy(), pair()],
        ))?;
        let win_rate = typed(r.gauge_family(
            "zigquant_win_rate",
            "Winning closed round trips / closed round trips (0..1), by strategy.",
            vec![strategy()],
        ))?;
        let sharpe_ratio = typed(r.gauge_family(
            "zigquant_sharpe_ratio",
            "Sharpe ratio of the strategy's mark-to-market equity returns per bar, annualized.",
            vec![strategy()],
        ))?;
        let calmar_ratio = typed(r.gauge_family(
            "zigquant_calmar_ratio",
            "Calmar ratio (annualized return / max drawdown) of the strategy's mark-to-market equity per bar, annualized.",
            vec![strategy()],
        ))?;
        let strategy_equity = typed(r.gauge_family(
            "zigquant_strategy_equity",
            "Mark-to-market equity of the strategy in quote currency.",
            vec![strategy()],
        ))?;
        let strategy_running = typed(r.gauge_family(
            "zigquant_strategy_running",
            "1 when the strategy is running, 0 when stopped.",
            vec![strategy()],
        ))?;
        let orders_total = typed(r.counter_family(
            "zigquant_orders_total",
            "Orders reaching a terminal state, by status (filled, cancelled, rejected).",
            vec![TerminalStatus::domain("status")],
        ))?;
        let order_latency_seconds = r.histogram_native(
            "zigquant_order_latency_seconds",
            "Seconds from order submission to exchange acknowledgement or fill.",
            &config.order_latency_buckets,
            config.native_histograms,
        )?;
        let orders_active = r.gauge("zigquant_orders_active", "Orders open right now.")?;
        let position_size = typed(r.gauge_family(
            "zigquant_position_size",
            "Signed position in base currency by pair (negative = short).",
            vec![pair()],
        ))?;
        let position_pnl = typed(r.gauge_family(
            "zigquant_position_pnl",
            "Unrealized PnL in quote currency by pair, marked to the last price.",
            vec![pair()],
        ))?;
        let max_drawdown = r.gauge(
            "zigquant_max_drawdown",
            &format!("Portfolio maximum drawdown, {RISK_HELP_TAIL}"),
        )?;
        let position_count =
            r.gauge("zigquant_position_count", "Pairs with a non-zero position.")?;
        let api_requests_total = typed(r.counter_family(
            "zigquant_api_requests_total",
            "API requests by method, route template and status code.",
            vec![method(), path(), status],
        ))?;
        let api_latency_seconds = typed(r.histogram_family_native(
            "zigquant_api_latency_seconds",
            "API request latency in seconds by method and route template.",
            vec![method(), path()],
            &config.api_latency_buckets,
            config.native_histograms,
        ))?;
        let api_connections_active = r.gauge(
            "zigquant_api_connections_active",
            "Open client connections to the API.",
        )?;
        let exchange = || LabelDomain::new("exchange", config.exchanges.iter().cloned(), "other");
        let exchange_connected = typed(r.gauge_family(
            "zigquant_exchange_connected",
            "1 when the exchange link is connected, 0 when not. For a venue with live market data: the market-data connection is open and its heartbeat answered.",
            vec![exchange()],
        ))?;
        let var_95 = r.gauge(
            "zigquant_var_95",
            &format!(
                "Portfolio historical value at risk at 95% over a rolling window of the last {} returns, {RISK_HELP_TAIL}",
                config.var_window
            ),
        )?;
        let cvar_95 = r.gauge(
            "zigquant_cvar_95",
            &format!(
                "Portfolio conditional VaR (expected shortfall) at 95% over a rolling window of the last {} returns, {RISK_HELP_TAIL}",
                config.var_window
            ),
        )?;
        let alerts_total = typed(r.counter_family(
            "zigquant_alerts_total",
            "Risk alerts raised, by level (critical, warning, info).",
            vec![Level::domain("level")],
        ))?;
        let portfolio_equity = r.gauge(
            "zigquant_portfolio_equity",
            "Portfolio mark-to-market equity in quote currency.",
        )?;
        let market_data_last_update_timestamp_seconds = typed(r.gauge_family(
            "zigquant_market_data_last_update_timestamp_seconds",
            "Unix time in seconds of the last market data update, by pair.",
            vec![pair()],
        ))?;
        let order_rejections_total = typed(r.counter_family(
            "zigquant_order_rejections_total",
            "Orders rejected, by reason.",
            vec![LabelDomain::new(
                "reason",
                config.rejection_reasons.iter().cloned(),
                "other",
            )],
        ))?;
        let journal_write_errors_total = r.counter(
            "zigquant_journal_write_errors_total",
            "Failed writes to the trade journal.",
        )?;
        let engine_clock_slips_total = r.counter(
            "zigquant_engine_clock_slips_total",
            "Times the engine fell more than a second (and 4 bars) behind the wall clock and let the paced market clock slip: overload; bars then come later than the configured speed, none is skipped.",
        )?;
        let market_data_messages_total = typed(r.counter_family(
            "zigquant_market_data_messages_total",
            "Messages received from a live venue's market-data feed, by exchange and kind (candle = a closed candle, candle_partial = one still forming, pong, ping, subscription_response, server_shutdown, unknown, malformed).",
            vec![
                exchange(),
                MarketDataKind::domain("kind"),
            ],
        ))?;
        let market_data_reconnects_total = typed(r.counter_family(
            "zigquant_market_data_reconnects_total",
            "Reconnect attempts of a live venue's market-data feed (successful or not).",
            vec![exchange()],
        ))?;
        let market_data_errors_total = typed(r.counter_family(
            "zigquant_market_data_errors_total",
            "Live market data dropped or links judged broken, by exchange and reason (malformed, duplicate, out_of_order, gap, rest_failed, heartbeat_timeout).",
            vec![
                exchange(),
                MarketDataReason::domain("reason"),
            ],
        ))?;
        let market_data_delay_seconds = typed(r.histogram_family(
            "zigquant_market_data_delay_seconds",
            "Seconds from a live venue's event time to its receipt here (venues that stamp events: Binance).",
            vec![exchange()],
            &config.market_data_delay_buckets,
        ))?;
        let build_info = typed(r.gauge_family(
            "zigquant_build_info",
            "Build information; the value is always 1.",
            vec![LabelDomain::new(
                "version",
                [config.version.clone()],
                "unknown",
            )],
        ))?;
        build_info
            .get(&BuildLabels {
                version: Version(&config.version),
            })
            .set(1.0);
        let api_auth_failures_total = typed(r.counter_family(
            "zigquant_api_auth_failures_total",
            "Failed authentications on /api/v1 and /metrics, by reason (missing, malformed, invalid_key, invalid_basic_auth, throttled: refused unchecked after too many failures from the address).",
            vec![AuthFailureReason::domain("reason")],
        ))?;
        let api_limited_total = typed(r.counter_family(
            "zigquant_api_limited_total",
            "Requests (429) and connections (503) refused by a per-address or server-wide limit, by limit (request_rate, connections, server_rate).",
            vec![Limit::domain("limit")],
        ))?;
        // Every series from the start, so the first failure is an increase Prometheus can see.
        for &reason in AuthFailureReason::ALL {
            api_auth_failures_total.get(&AuthFailureLabels { reason });
        }
        for &limit in Limit::ALL {
            api_limited_total.get(&LimitLabels { limit });
        }
        // Lifetime counters continue from the journal after a restart (docs/metrics.md): they
        // did not start at zero when this process made them, so they carry no created timestamp.
        for lifetime in [
            trades_total.untyped(),
            orders_total.untyped(),
            alerts_total.untyped(),
            order_rejections_total.untyped(),
        ] {
            lifetime.without_created_timestamps();
        }
        let instance = &config.instance;
        let strategies_count = instance.strategies.to_string();
        // Each label's domain is the one value this process has: the family has one series.
        let instance_info = typed(r.gauge_family(
            "zigquant_instance_info",
            "Who this bot is in a fleet (name, trading mode, config hash, number of strategies); the value is always 1. Join on it: * on (instance) group_left (name) zigquant_instance_info.",
            vec![
                LabelDomain::new("name", [instance.name.clone()], "unknown"),
                LabelDomain::new("mode", [instance.mode.clone()], "unknown"),
                LabelDomain::new("config_hash", [instance.config_hash.clone()], "unknown"),
                LabelDomain::new("strategies", [strategies_count.clone()], "unknown"),
            ],
        ))?;
        instance_info
            .get(&InstanceLabels {
                name: InstanceName(&instance.name),
                mode: TradingMode(&instance.mode),
                config_hash: ConfigDigest(&instance.config_hash),
                strategies: StrategyCount(&strategies_count),
            })
            .set(1.0);
        r.register_process_metrics()?;
        Ok(Self {
            registry: r,
            trades_total,
            trade_pnl,
            win_rate,
            sharpe_ratio,
            calmar_ratio,
            strategy_equity,
            strategy_running,
            orders_total,
            order_latency_seconds,
            orders_active,
            position_size,
            position_pnl,
            max_drawdown,
            position_count,
            api_requests_total,
            api_latency_seconds,
            api_connections_active,
            exchange_connected,
            var_95,
            cvar_95,
            alerts_total,
            portfolio_equity,
            market_data_last_update_timestamp_seconds,
            order_rejections_total,
            journal_write_errors_total,
            engine_clock_slips_total,
            market_data_messages_total,
            market_data_reconnects_total,
            market_data_errors_total,
            market_data_delay_seconds,
            build_info,
            api_auth_failures_total,
            api_limited_total,
            instance_info,
        })
    }

    /// The registry behind the catalogue, to register extra metrics beside it.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Appends the whole exposition (process metrics read fresh) in `format` to `out`.
    pub fn encode(&self, format: Format, out: &mut Vec<u8>) {
        self.registry.encode(format, out);
    }
}
