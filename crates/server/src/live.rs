//! Live market data in the service (docs/live.md): one feed per venue that some pair takes its
//! prices from, run on the service's runtime, and the bridge from what the feeds report to the
//! engine and the metrics. Closed candles and link changes go into the engine's market inbox
//! (the engine journals them, marks the venue's price, runs the pair's strategies and drives the
//! venue's link state, hence `zigquant_exchange_connected` and the `exchange_disconnected`
//! rejects); message, error, reconnect and delay counts go straight into the catalogue. The
//! engine never sees tokio or a socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zigquant_engine::bars::Bar;
use zigquant_engine::config::{FeedSource, LiveEndpoints};
use zigquant_engine::{EngineConfig, MarketInbox, PairId, PushedEvent, VenueId};
use zigquant_live::{
    CandleOrigin, Feed, FeedError, FeedSpec, Interval, IntervalError, LiveEvent, LiveSink, Timing,
    Venue,
};

use crate::telemetry::MetricsSink;

/// Why live market data cannot start (a configuration error, reported before serving).
#[derive(Debug, thiserror::Error)]
pub enum LiveSetupError {
    /// The bar interval is not one the venues publish.
    #[error("engine.feed.{0}")]
    Interval(#[from] IntervalError),
    /// A URL or the CA file of a venue is unusable.
    #[error("engine.live.{0}")]
    Feed(#[from] FeedError),
}

/// Market time is wall time when any pair is live (docs/live.md): the clock runs at speed 1 from
/// now, paced, whatever `engine.feed` says (candles carry real times; orders and outages are
/// timed against them). Returns whether anything was changed.
pub fn use_wall_clock(engine: &mut EngineConfig) -> bool {
    if engine.live_venues().is_empty() {
        return false;
    }
    engine.feed.clock_speed = 1.0;
    engine.feed.pacing = true;
    engine.feed.start_time_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    true
}

/// The venue a pair source names, if it is a live one.
pub fn venue_of(source: FeedSource) -> Option<Venue> {
    match source {
        FeedSource::Hyperliquid => Some(Venue::Hyperliquid),
        FeedSource::Binance => Some(Venue::Binance),
        FeedSource::Synthetic | FeedSource::Csv => None,
    }
}

/// The live feeds a configuration asks for, and which pairs each venue symbol feeds.
pub struct LivePlan {
    feeds: Vec<FeedSpec>,
    routes: HashMap<(Venue, String), Vec<PairId>>,
}

impl LivePlan {
    /// Reads the pairs with a live source; checks the interval (allowed values named in the
    /// error). No pair with a live source: an empty plan, and nothing touches the network.
    pub fn from_config(engine: &EngineConfig) -> Result<LivePlan, LiveSetupError> {
        let mut symbols: HashMap<Venue, Vec<String>> = HashMap::new();
        let mut routes: HashMap<(Venue, String), Vec<PairId>> = HashMap::new();
        for pair in &engine.pairs {
            let Some(venue) = venue_of(pair.source) else {
                continue;
            };
            let symbol = normalized(venue, pair.symbol.as_deref().unwrap_or_default());
            let list = symbols.entry(venue).or_default();
            if !list.contains(&symbol) {
                list.push(symbol.clone());
            }
            routes
                .entry((venue, symbol))
                .or_default()
                .push(PairId::new(pair.name.clone()));
        }
        if symbols.is_empty() {
            return Ok(LivePlan {
                feeds: Vec::new(),
                routes,
            });
        }
        let interval = Interval::from_secs(engine.feed.bar_interval_secs)?;
        let feeds = Venue::ALL
            .into_iter()
            .filter_map(|venue| {
                let symbols = symbols.remove(&venue)?;
                let endpoints = endpoints(engine, venue);
                let timing = Timing {
                    heartbeat: Duration::from_secs_f64(endpoints.heartbeat_secs),
                    ..Timing::default()
                };
                Some(FeedSpec {
                    venue,
                    ws_url: endpoints.ws_url.clone(),
                    rest_url: endpoints.rest_url.clone(),
                    tls_ca_file: endpoints.tls_ca_file.clone(),
                    interval,
                    symbols,
                    warmup_bars: engine.feed.warmup_bars,
                    timing,
                })
            })
            .collect();
        Ok(LivePlan { feeds, routes })
    }

    /// The pairs a venue symbol feeds.
    pub fn pairs_of(&self, venue: Venue, symbol: &str) -> &[PairId] {
        self.routes
            .get(&(venue, normalized(venue, symbol)))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether any pair takes live prices.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// Builds every feed (reads CA files, checks URLs) and spawns it on the current runtime.
    /// The tasks run until the runtime shuts down.
    pub fn start(
        self,
        inbox: MarketInbox,
        metrics: Arc<MetricsSink>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, LiveSetupError> {
        let bridge = Arc::new(Bridge {
            routes: self.routes,
            inbox,
            metrics,
        });
        let mut feeds = Vec::new();
        for spec in self.feeds {
            tracing::info!(
                venue = %spec.venue,
                symbols = ?spec.symbols,
                "live market data from {}",
                spec.ws_url
            );
            feeds.push(Feed::new(spec, bridge.clone())?);
        }
        Ok(feeds.into_iter().map(|f| tokio::spawn(f.run())).collect())
    }
}

fn endpoints(engine: &EngineConfig, venue: Venue) -> &LiveEndpoints {
    match venue {
        Venue::Hyperliquid => &engine.live.hyperliquid,
        Venue::Binance => &engine.live.binance,
    }
}

/// Binance events spell symbols in upper case; Hyperliquid coins are case-sensitive.
fn normalized(venue: Venue, symbol: &str) -> String {
    match venue {
        Venue::Binance => symbol.to_ascii_uppercase(),
        Venue::Hyperliquid => symbol.to_owned(),
    }
}

/// Routes feed events to the engine's inbox and the catalogue.
struct Bridge {
    routes: HashMap<(Venue, String), Vec<PairId>>,
    inbox: MarketInbox,
    metrics: Arc<MetricsSink>,
}

impl Bridge {
    fn pairs(&self, venue: Venue, symbol: &str) -> &[PairId] {
        self.routes
            .get(&(venue, symbol.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    fn push(&self, event: PushedEvent) {
        if self.inbox.push(event).is_err() {
            tracing::debug!("engine stopped; live market event dropped");
        }
    }
}

impl LiveSink for Bridge {
    fn on_event(&self, event: LiveEvent) {
        self.metrics.on_live_event(&event);
        match event {
            LiveEvent::Candle {
                venue,
                symbol,
                candle,
                origin,
            } => {
                let bar = Bar {
                    time_ms: candle.open_time_ms,
                    open: candle.open,
                    high: candle.high,
                    low: candle.low,
                    close: candle.close,
                    volume: candle.volume,
                };
                for pair in self.pairs(venue, &symbol) {
                    let (venue, pair, bar) =
                        (VenueId::new(venue.as_str()), pair.clone(), bar.clone());
                    self.push(if origin == CandleOrigin::Warmup {
                        PushedEvent::WarmupCandle { venue, pair, bar }
                    } else {
                        PushedEvent::Candle { venue, pair, bar }
                    });
                }
            }
            LiveEvent::Link { venue, up } => self.push(PushedEvent::Link {
                venue: VenueId::new(venue.as_str()),
                up,
            }),
            LiveEvent::Update { venue, symbol } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                for pair in self.pairs(venue, &symbol) {
                    self.metrics.market_data_seen(pair.as_str(), now);
                }
            }
            LiveEvent::Message { .. }
            | LiveEvent::Error { .. }
            | LiveEvent::Reconnect { .. }
            | LiveEvent::Delay { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_feed_per_venue_with_its_symbols_and_nothing_for_simulated_pairs() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/examples/live.toml"
        );
        let config = crate::config::Config::load(
            Some(std::path::Path::new(example)),
            crate::config::Overrides::default(),
        )
        .unwrap();
        let plan = LivePlan::from_config(&config.engine).unwrap();
        let feeds: Vec<(Venue, &str, Vec<String>)> = plan
            .feeds
            .iter()
            .map(|f| (f.venue, f.ws_url.as_str(), f.symbols.clone()))
            .collect();
        assert_eq!(
            feeds,
            [
                (
                    Venue::Hyperliquid,
                    "wss://api.hyperliquid.xyz/ws",
                    vec!["BTC".to_owned()]
                ),
                (
                    Venue::Binance,
                    "wss://stream.binance.com:9443",
                    vec!["ETHUSDT".to_owned()]
                ),
            ]
        );
        assert_eq!(
            plan.pairs_of(Venue::Binance, "ETHUSDT"),
            [PairId::new("ETH-USDT")]
        );
        let default = crate::config::Config::embedded_default().unwrap();
        assert!(LivePlan::from_config(&default.engine).unwrap().is_empty());
    }
}
