//! Shared helpers for the engine's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zigquant_engine::config::{FeedSource, SyncMode};
use zigquant_engine::events::RecordingSink;
use zigquant_engine::market::{PushedEvent, StampedEvent};
use zigquant_engine::{Engine, EngineConfig, EngineHandle, Input, Now, Output, Simulation};

/// The wall time the step-driven tests run at (no pacing: market time comes from the queue).
pub const NOW: Now = Now {
    paced_market_ms: None,
    wall_ms: 1_700_000_000_000,
};

/// Hands `event` to the simulation as a live feed would, received at [`NOW`].
pub fn push(sim: &mut Simulation, event: PushedEvent) {
    let ev = StampedEvent {
        received_wall_ms: NOW.wall_ms,
        event,
    };
    assert!(matches!(sim.step(Input::Pushed(ev), NOW), Output::Stepped));
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "zigquant-engine-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn journal(&self) -> PathBuf {
        self.0.join("journal.sqlite")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The default config, unpaced, stopping after `bars` bars, with a fast journal.
pub fn fast_config(bars: u64) -> EngineConfig {
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = bars;
    c.journal.synchronous = SyncMode::Normal;
    c
}

/// Candle open times of the live tests: a bar period boundary (2025-12-01 00:00 UTC), one minute
/// apart.
pub const CANDLE_T0_MS: i64 = 1_764_547_200_000;
/// One bar period of the live tests.
pub const MINUTE_MS: i64 = 60_000;

/// `deploy/examples/live.toml`'s shape: BTC-USDT on Binance candles, ETH-USDT on Hyperliquid
/// candles, 1-minute bars, unpaced, no noise trader, a fast journal; strategies as the default
/// configuration has them (not validated: callers adjust, then validate).
pub fn two_live_pairs_config() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.noise.enabled = false;
    c.journal.synchronous = SyncMode::Normal;
    c.pairs.truncate(2);
    c.pairs[0].name = "BTC-USDT".into();
    c.pairs[0].source = FeedSource::Binance;
    c.pairs[0].symbol = Some("BTCUSDT".into());
    c.pairs[1].name = "ETH-USDT".into();
    c.pairs[1].source = FeedSource::Hyperliquid;
    c.pairs[1].symbol = Some("ETH".into());
    c
}

/// Every statistic a restart must bring back bit for bit, as JSON text (f64 values print
/// shortest-round-trip): the summary, the strategies and the positions.
pub fn statistics(sim: &Simulation) -> String {
    format!(
        "{}\n{}\n{}",
        serde_json::to_string(&sim.summary()).unwrap(),
        serde_json::to_string(&sim.strategies()).unwrap(),
        serde_json::to_string(&sim.positions()).unwrap()
    )
}

/// Starts an engine and waits until it has simulated everything.
pub fn run_to_idle(cfg: EngineConfig, dir: &TempDir) -> (EngineHandle, Arc<RecordingSink>) {
    let sink = Arc::new(RecordingSink::default());
    let h = Engine::start(cfg, &dir.journal(), sink.clone()).unwrap();
    assert!(
        h.wait_idle(Duration::from_secs(120)).unwrap(),
        "engine never went idle"
    );
    (h, sink)
}

/// No noise, strategies configured but stopped, no outages: only the test's own orders trade.
fn only_the_tests_orders(c: &mut EngineConfig) {
    c.noise.enabled = false;
    for s in &mut c.strategies {
        s.enabled = false;
    }
    c.journal.synchronous = SyncMode::Normal;
    for x in &mut c.exchanges {
        x.disconnect.clear();
        x.disconnect_rate_per_hour = 0.0;
    }
}

/// [`fast_config`] (flat out, `bars` bars) where only the test's own orders trade.
pub fn quiet(bars: u64) -> EngineConfig {
    let mut c = fast_config(bars);
    only_the_tests_orders(&mut c);
    c
}

/// A paced engine with a fast clock (a bar every 25 ms), no noise, no faults, and its
/// strategies configured but stopped: only the test's own orders trade.
pub fn quiet_paced() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.feed.clock_speed = 2400.0;
    only_the_tests_orders(&mut c);
    c
}

/// Waits (up to 5 s) until the first pair has a price, so market orders can fill.
pub fn wait_for_first_price(h: &EngineHandle) {
    let until = Instant::now() + Duration::from_secs(5);
    while h.positions().unwrap()[0].mark_price.is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}
