//! Pairs with a live source (`source = "binance"` / `"hyperliquid"`, docs/live.md) driven through
//! `Simulation::step` with pushed events, as the service's live feeds push them: the venue's link
//! is the real connection (down until the feed says up, no simulated outage), warm-up history
//! trains indicators without trading, and orders fill at the pushed candles' prices.

mod common;

use std::sync::Arc;

use common::*;
use zigquant_engine::config::{FeedSource, SyncMode};
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::market::PushedEvent;
use zigquant_engine::strategy::{Mode, StrategyParams};
use zigquant_engine::{
    bars::Bar, EngineConfig, EngineEvent, Input, OrderKind, OrderRequest, OrderSide, Output,
    PairId, RejectReason, Simulation, VenueId,
};

/// BTC-USDT on Binance's live klines, ETH-USDT synthetic; the default exchanges (binance keeps
/// its configured outages, which a live venue must ignore); one sma_cross on BTC-USDT/binance.
fn live_config() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = 200;
    c.noise.enabled = false;
    c.journal.synchronous = SyncMode::Normal;
    c.pairs[0].source = FeedSource::Binance;
    c.pairs[0].symbol = Some("BTCUSDT".into());
    for x in &mut c.exchanges {
        x.disconnect_rate_per_hour = 60.0;
        x.disconnect = vec![zigquant_engine::config::OutageConfig {
            at_secs: 0.0,
            for_secs: 1.0,
        }];
    }
    c.strategies.truncate(1);
    c.strategies[0].pair = "BTC-USDT".into();
    c.strategies[0].exchange = Some("binance".into());
    c.strategies[0].params = StrategyParams::SmaCross {
        fast: 2,
        slow: 3,
        mode: Mode::LongShort,
        qty: 0.01,
    };
    c.validate().unwrap();
    c
}

fn bar(i: i64, close: f64) -> Bar {
    Bar {
        time_ms: 1_764_547_200_000 + i * 60_000,
        open: close,
        high: close + 1.0,
        low: close - 1.0,
        close,
        volume: 1.0,
    }
}

fn binance_links(sink: &RecordingSink) -> Vec<bool> {
    sink.events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::ExchangeConnection {
                exchange,
                connected,
            } if exchange == "binance" => Some(*connected),
            _ => None,
        })
        .collect()
}

fn run_all(sim: &mut Simulation) {
    while sim.next_due().is_some() {
        sim.step(Input::Due, NOW);
    }
}

#[test]
fn a_live_venue_is_down_until_its_feed_says_up_and_has_no_simulated_outages() {
    let sink = Arc::new(RecordingSink::default());
    let mut sim = Simulation::restore(
        live_config(),
        Journal::open_in_memory().unwrap(),
        sink.clone(),
    )
    .unwrap();
    assert_eq!(binance_links(&sink), [false], "down from the start");
    assert!(
        !sink.events().iter().any(
            |e| matches!(e, EngineEvent::RiskAlert { message, .. } if message.contains("binance"))
        ),
        "starting down is not an outage: no alert"
    );
    // Warm-up history arrives before the link is up: it gives the venue a price.
    push(
        &mut sim,
        PushedEvent::WarmupCandle {
            venue: VenueId::from("binance"),
            pair: PairId::from("BTC-USDT"),
            bar: bar(0, 100.0),
        },
    );
    let req = OrderRequest {
        strategy: None,
        pair: "BTC-USDT".into(),
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        qty: 0.01,
        exchange: Some("binance".into()),
    };
    let o = match sim.step(Input::Place(req.clone()), NOW) {
        Output::Order(r) => r.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(o.reject_reason, Some(RejectReason::ExchangeDisconnected));
    let venue = VenueId::from("binance");
    push(
        &mut sim,
        PushedEvent::Link {
            venue: venue.clone(),
            up: true,
        },
    );
    // 200 synthetic ETH bars with a scheduled outage and 60 random outages per hour configured:
    // the simulated venue (hyperliquid) drops, the live one never does.
    run_all(&mut sim);
    assert_eq!(binance_links(&sink), [false, true]);
    assert!(sink.events().iter().any(|e| matches!(e,
        EngineEvent::ExchangeConnection { exchange, connected: false } if exchange == "hyperliquid")));
    push(&mut sim, PushedEvent::Link { venue, up: false });
    assert_eq!(binance_links(&sink), [false, true, false]);
}

#[test]
fn warm_up_history_trades_nothing_and_live_candles_fill_at_their_prices() {
    let sink = Arc::new(RecordingSink::default());
    let mut sim = Simulation::restore(
        live_config(),
        Journal::open_in_memory().unwrap(),
        sink.clone(),
    )
    .unwrap();
    let venue = VenueId::from("binance");
    let pair = PairId::from("BTC-USDT");
    push(
        &mut sim,
        PushedEvent::Link {
            venue: venue.clone(),
            up: true,
        },
    );
    // Falling history, then a rise: the 2/3 SMA cross happens on the live candles only.
    for (i, close) in [110.0, 105.0, 100.0, 95.0].into_iter().enumerate() {
        push(
            &mut sim,
            PushedEvent::WarmupCandle {
                venue: venue.clone(),
                pair: pair.clone(),
                bar: bar(i as i64, close),
            },
        );
    }
    assert!(
        !sink.events().iter().any(|e| matches!(
            e,
            EngineEvent::OrderAcknowledged { .. } | EngineEvent::Fill { .. }
        )),
        "history is not traded"
    );
    assert_eq!(sim.open_orders(), 0);
    for (i, close) in [120.0, 130.0].into_iter().enumerate() {
        push(
            &mut sim,
            PushedEvent::Candle {
                venue: venue.clone(),
                pair: pair.clone(),
                bar: bar(4 + i as i64, close),
            },
        );
    }
    let fills: Vec<f64> = {
        // Let the order's latency pass (market time moves with the synthetic ETH bars).
        let t = sim.now_ms() + 10_000;
        while sim.next_due().is_some_and(|d| d <= t) {
            sim.step(Input::Due, NOW);
        }
        sink.events()
            .iter()
            .filter_map(|e| match e {
                EngineEvent::Fill { price, .. } => Some(*price),
                _ => None,
            })
            .collect()
    };
    assert_eq!(fills.len(), 1, "one entry on the cross: {fills:?}");
    assert!(
        fills[0] == 120.0 || fills[0] == 130.0,
        "filled at a pushed candle's close (the venue's mark), got {}",
        fills[0]
    );
    let filled = sim
        .positions()
        .into_iter()
        .find(|p| p.pair == "BTC-USDT")
        .unwrap();
    assert!((filled.size - 0.01).abs() < 1e-12);
}
