//! Statistics and risk when prices are pushed (live sources, docs/live.md): every applied closed
//! candle settles its bar close as a pulled tick does (equity sampled at the candle's close,
//! risk monitor run, gauges reported), at most once per bar period (docs/statistics.md §9).
//! Driven through `Simulation::step` with an in-memory journal: no thread, no sleep.

mod common;

use std::sync::Arc;

use common::*;
use zigquant_engine::config::{FeedSource, SyncMode};
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::market::PushedEvent;
use zigquant_engine::{
    bars::Bar, AlertLevel, EngineConfig, EngineEvent, Input, OrderKind, OrderRequest, OrderSide,
    Output, PairId, Simulation, VenueId,
};

/// Two live pairs, no strategy: only the test's manual order trades.
fn all_live_config() -> EngineConfig {
    let mut c = two_live_pairs_config();
    c.strategies.clear();
    c.validate().unwrap();
    c
}

fn candle(venue: &str, pair: &str, i: i64, close: f64) -> PushedEvent {
    PushedEvent::Candle {
        venue: VenueId::from(venue),
        pair: PairId::from(pair),
        bar: Bar {
            time_ms: CANDLE_T0_MS + i * MINUTE_MS,
            open: close,
            high: close + 0.5,
            low: close - 0.5,
            close,
            volume: 1.0,
        },
    }
}

fn link_up(sim: &mut Simulation, venue: &str) {
    push(
        sim,
        PushedEvent::Link {
            venue: VenueId::from(venue),
            up: true,
        },
    );
}

fn samples(sim: &Simulation) -> u64 {
    sim.summary().equity_samples
}

/// The equity of the last portfolio statistics event (the `zigquant_portfolio_*` gauges).
fn last_reported_equity(sink: &RecordingSink) -> f64 {
    sink.events()
        .iter()
        .rev()
        .find_map(|e| match e {
            EngineEvent::PortfolioStats { equity, .. } => Some(*equity),
            _ => None,
        })
        .expect("portfolio statistics reported")
}

fn drawdown_alerts(sink: &RecordingSink) -> Vec<AlertLevel> {
    sink.events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::RiskAlert { level, message } if message.contains("drawdown") => {
                Some(*level)
            }
            _ => None,
        })
        .collect()
}

/// Buys `qty` BTC-USDT on binance at market and lets the order arrive and fill.
fn buy_btc(sim: &mut Simulation, sink: &RecordingSink, qty: f64) {
    let req = OrderRequest {
        strategy: None,
        pair: "BTC-USDT".into(),
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        qty,
        exchange: Some("binance".into()),
    };
    let o = match sim.step(Input::Place(req), NOW) {
        Output::Order(r) => r.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(o.reject_reason, None);
    while sim.next_due().is_some() {
        sim.step(Input::Due, NOW);
    }
    let fills: Vec<f64> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Fill { price, .. } => Some(*price),
            _ => None,
        })
        .collect();
    assert_eq!(fills.len(), 1, "the buy filled: {fills:?}");
}

#[test]
fn every_live_candle_close_samples_equity_and_the_risk_monitor_alerts_on_drawdown() {
    let cfg = all_live_config();
    let warning = cfg.risk.drawdown_warning;
    let sink = Arc::new(RecordingSink::default());
    let mut sim =
        Simulation::restore(cfg, Journal::open_in_memory().unwrap(), sink.clone()).unwrap();
    assert!(
        sim.next_due().is_none(),
        "nothing is pulled: no tick is queued"
    );
    assert_eq!(samples(&sim), 0);
    link_up(&mut sim, "binance");
    link_up(&mut sim, "hyperliquid");

    // First bar period: both pairs close together; one sample for the period.
    push(&mut sim, candle("binance", "BTC-USDT", 0, 100.0));
    assert_eq!(samples(&sim), 1, "the first candle close is sampled");
    push(&mut sim, candle("hyperliquid", "ETH-USDT", 0, 50.0));
    assert_eq!(
        samples(&sim),
        1,
        "a second pair closing in the same period does not resample"
    );

    let qty = 10.0;
    buy_btc(&mut sim, &sink, qty);
    let after_fill = sim.summary().equity;

    // A noisy rise: equity is sampled at each candle close, valued at that close.
    let mut prev_close = 100.0;
    let mut prev_equity = after_fill;
    let rising = 30;
    for i in 1..=rising {
        let close = 100.0 + i as f64 + if i % 2 == 0 { 1.5 } else { -1.5 };
        push(&mut sim, candle("binance", "BTC-USDT", i, close));
        assert_eq!(samples(&sim), 1 + i as u64, "candle {i} sampled once");
        let equity = last_reported_equity(&sink);
        assert!(
            (equity - prev_equity - qty * (close - prev_close)).abs() < 1e-6,
            "candle {i}: equity {equity} is marked at its close {close}"
        );
        assert_eq!(sim.summary().equity, equity);
        push(&mut sim, candle("hyperliquid", "ETH-USDT", i, 50.0));
        assert_eq!(samples(&sim), 1 + i as u64, "same period: no second sample");
        prev_close = close;
        prev_equity = equity;
    }
    let manual = sim
        .strategies()
        .into_iter()
        .find(|s| s.name == "manual")
        .unwrap();
    assert!(
        manual.sharpe.is_finite() && manual.sharpe > 0.0,
        "Sharpe of a rising position: {}",
        manual.sharpe
    );
    assert!(manual.calmar.is_finite(), "Calmar: {}", manual.calmar);
    let s = sim.summary();
    assert!(
        s.max_drawdown.is_finite() && s.max_drawdown > 0.0 && s.max_drawdown < warning,
        "the dips are a small drawdown: {}",
        s.max_drawdown
    );
    assert!(s.var_95.is_finite(), "VaR 95: {}", s.var_95);
    assert!(drawdown_alerts(&sink).is_empty());

    // A slide: the warning fires on the candle whose close crosses the threshold, once.
    let mut crossed = false;
    for j in 1..=40 {
        let i = rising + j;
        push(
            &mut sim,
            candle("binance", "BTC-USDT", i, prev_close - j as f64),
        );
        let dd = sim.summary().max_drawdown;
        let alerts = drawdown_alerts(&sink);
        if dd >= warning {
            assert_eq!(
                alerts,
                [AlertLevel::Warning],
                "drawdown {dd} crossed {warning}"
            );
            crossed = true;
            break;
        }
        assert!(alerts.is_empty(), "drawdown {dd} below {warning}: no alert");
    }
    assert!(crossed, "the slide crossed the warning threshold");
}

#[test]
fn a_mixed_config_samples_once_per_bar_period_whichever_source_closes_first() {
    // BTC-USDT live on Binance, ETH-USDT synthetic (pulled), ticks on the same minute boundaries
    // as the candles (the default start time is a minute boundary).
    let mut c = all_live_config();
    c.pairs[1].source = FeedSource::Synthetic;
    c.pairs[1].symbol = None;
    for x in &mut c.exchanges {
        x.disconnect.clear();
        x.disconnect_rate_per_hour = 0.0;
    }
    c.feed.max_bars = 10;
    let start = c.feed.start_time_ms;
    assert_eq!(start % MINUTE_MS, 0);
    let sink = Arc::new(RecordingSink::default());
    let mut sim = Simulation::restore(c, Journal::open_in_memory().unwrap(), sink.clone()).unwrap();
    link_up(&mut sim, "binance");
    let btc = |k: i64, close: f64| PushedEvent::Candle {
        venue: VenueId::from("binance"),
        pair: PairId::from("BTC-USDT"),
        bar: Bar {
            time_ms: start + k * MINUTE_MS,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        },
    };

    // Tick 0 (ETH bar 0 closes at start + 1 min) samples; BTC's candle of that minute does not.
    sim.step(Input::Due, NOW);
    assert_eq!(samples(&sim), 1);
    push(&mut sim, btc(0, 100.0));
    assert_eq!(samples(&sim), 1, "tick first, then the candle: one sample");
    // BTC's next candle closes first this time; tick 1 (the same minute) does not resample.
    push(&mut sim, btc(1, 101.0));
    assert_eq!(samples(&sim), 2, "candle first, then the tick: one sample");
    sim.step(Input::Due, NOW);
    assert_eq!(samples(&sim), 2);
    sim.step(Input::Due, NOW);
    assert_eq!(samples(&sim), 3, "the next period samples again");
    // A late candle of an earlier period (already sampled) settles without a sample.
    push(&mut sim, btc(1, 102.0));
    assert_eq!(samples(&sim), 3);
}

#[test]
fn a_restart_does_not_sample_a_bar_period_twice() {
    let dir = TempDir::new("sampled-period");
    let open = || {
        let journal = Journal::open(&dir.journal(), SyncMode::Normal).unwrap();
        Simulation::restore(
            all_live_config(),
            journal,
            Arc::new(RecordingSink::default()),
        )
        .unwrap()
    };
    let mut sim = open();
    link_up(&mut sim, "binance");
    push(&mut sim, candle("binance", "BTC-USDT", 0, 100.0));
    assert_eq!(samples(&sim), 1, "the first close samples");
    drop(sim);

    // The venue re-sends the last closed candle after the reconnect, and the other pair closes
    // in the same bar period: both were settled before the restart, neither samples again.
    let mut sim = open();
    link_up(&mut sim, "binance");
    link_up(&mut sim, "hyperliquid");
    push(&mut sim, candle("binance", "BTC-USDT", 0, 100.0));
    push(&mut sim, candle("hyperliquid", "ETH-USDT", 0, 10.0));
    assert_eq!(samples(&sim), 1, "no second sample in a settled bar period");
    push(&mut sim, candle("binance", "BTC-USDT", 1, 101.0));
    assert_eq!(samples(&sim), 2, "the next bar period samples");
}
